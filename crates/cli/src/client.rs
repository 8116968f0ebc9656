//! A small blocking-free API client: one method per request shape, errors that carry the
//! server's own message.

use serde_json::Value;

pub struct Client {
    base_url: String,
    token: Option<String>,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("server sent something that is not JSON: {0}")]
    NotJson(String),
}

impl Client {
    pub fn new(base_url: &str, token: Option<String>) -> Client {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("staunch-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client { base_url: base_url.trim_end_matches('/').to_string(), token, http }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ClientError> {
        let request = self.http.get(self.url(path)).query(query);
        self.send(request, path).await
    }

    /// A GET whose answer is text (Markdown, HTML) rather than JSON; errors still carry the
    /// server's JSON message.
    pub async fn get_text(&self, path: &str, query: &[(&str, String)]) -> Result<String, ClientError> {
        let mut request = self.http.get(self.url(path)).query(query);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response =
            request.send().await.map_err(|error| ClientError::Unreachable { url: self.url(path), message: error.to_string() })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut message = value["error"].as_str().unwrap_or("request failed").to_string();
        if let Some(field) = value["field"].as_str() {
            message = format!("{field}: {message}");
        }
        Err(ClientError::Server { status: status.as_u16(), message })
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ClientError> {
        let request = self.http.post(self.url(path)).json(&body);
        self.send(request, path).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, ClientError> {
        let request = self.http.put(self.url(path)).json(&body);
        self.send(request, path).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        let request = self.http.delete(self.url(path));
        self.send(request, path).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder, path: &str) -> Result<Value, ClientError> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response =
            request.send().await.map_err(|error| ClientError::Unreachable { url: self.url(path), message: error.to_string() })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let value: Value = serde_json::from_str(&text).map_err(|_| ClientError::NotJson(text.chars().take(200).collect()))?;
        if !status.is_success() {
            let mut message = value["error"].as_str().unwrap_or("request failed").to_string();
            if let Some(field) = value["field"].as_str() {
                message = format!("{field}: {message}");
            }
            return Err(ClientError::Server { status: status.as_u16(), message });
        }
        Ok(value)
    }
}
