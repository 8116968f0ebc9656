//! One chat-completions provider behind the `ChatModel` trait.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

/// A provider's key. Never printed: `Debug` shows `<redacted>`, and nothing else formats it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(secret: String) -> ApiKey {
        ApiKey(secret)
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `system` or `user`.
    pub role: &'static str,
    pub content: String,
}

/// Why a provider gave no usable answer. Every kind moves on to the next provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("rate limited (429)")]
    RateLimited,
    #[error("server error ({0})")]
    Server(u16),
    #[error("refused ({0})")]
    Refused(u16),
    #[error("unparsable answer: {0}")]
    Unparsable(String),
    #[error("transport: {0}")]
    Transport(String),
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The provider's name in `staunch.yaml`, for the audit rows.
    fn provider(&self) -> &str;
    fn model(&self) -> &str;
    /// The text of the first choice.
    async fn complete(&self, messages: &[ChatMessage]) -> Result<String, ChatError>;
}

/// An OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    pub name: String,
    /// Up to and without `/chat/completions`, e.g. `https://llm.internal/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub timeout: Duration,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    pub fn new(name: String, base_url: String, model: String, api_key: Option<ApiKey>, timeout: Duration) -> OpenAiCompatible {
        // No redirects: a provider that redirects is misconfigured, and the key must not follow.
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(timeout).build().unwrap_or_default();
        OpenAiCompatible { name, base_url: base_url.trim_end_matches('/').to_string(), model, api_key, timeout, client }
    }
}

/// Only the parts of the answer read; anything else may come and go.
#[derive(serde::Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(serde::Deserialize)]
struct Choice {
    message: AnswerMessage,
}

#[derive(serde::Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[async_trait]
impl ChatModel for OpenAiCompatible {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        let body = serde_json::json!({ "model": self.model, "messages": messages, "temperature": 0 });
        let mut request = self.client.post(format!("{}/chat/completions", self.base_url)).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|error| self.transport_error(&error))?;
        let status = response.status();
        if status.as_u16() == 429 {
            return Err(ChatError::RateLimited);
        }
        if status.is_server_error() {
            return Err(ChatError::Server(status.as_u16()));
        }
        if !status.is_success() {
            return Err(ChatError::Refused(status.as_u16()));
        }
        let text = response.text().await.map_err(|error| self.transport_error(&error))?;
        let completion: Completion =
            serde_json::from_str(&text).map_err(|error| ChatError::Unparsable(format!("not a chat completion: {error}")))?;
        let content = completion.choices.into_iter().next().and_then(|choice| choice.message.content);
        match content {
            Some(content) if !content.trim().is_empty() => Ok(content),
            _ => Err(ChatError::Unparsable("no choices[0].message.content".into())),
        }
    }
}

impl OpenAiCompatible {
    /// reqwest's error text can carry the URL; never the headers, so never the key.
    fn transport_error(&self, error: &reqwest::Error) -> ChatError {
        if error.is_timeout() {
            return ChatError::Timeout(self.timeout);
        }
        ChatError::Transport(error.to_string())
    }
}
