//! `LanguageModel`: the configured providers, tried in order, and the audit trail.

use std::sync::Arc;

use staunch_config::llm::LlmSettings;
use staunch_store::{NewLlmExchange, OrgId, Store};

use super::chat::{ApiKey, ChatMessage, ChatModel, OpenAiCompatible};
use super::prompt::{self, InvestigationFacts, RerankCandidate};
use crate::clock::Clock;

#[derive(Clone)]
pub struct LanguageModel {
    providers: Vec<Arc<dyn ChatModel>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LanguageModel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let providers: Vec<(&str, &str)> =
            self.providers.iter().map(|provider| (provider.provider(), provider.model())).collect();
        formatter.debug_struct("LanguageModel").field("providers", &providers).finish()
    }
}

impl LanguageModel {
    /// The providers `llm:` names, each with its key read from its variable; `None` when the
    /// section names none (the model is off).
    pub fn from_config(settings: &LlmSettings, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Option<LanguageModel> {
        let providers: Vec<Arc<dyn ChatModel>> = settings
            .providers
            .iter()
            .map(|provider| {
                let api_key = provider.api_key_env.as_ref().and_then(|variable| match std::env::var(variable) {
                    Ok(key) if !key.is_empty() => Some(ApiKey::new(key)),
                    _ => {
                        tracing::warn!(
                            provider = provider.name,
                            variable,
                            "llm provider key variable is unset; calling without a key"
                        );
                        None
                    }
                });
                let client = OpenAiCompatible::new(
                    provider.name.clone(),
                    provider.base_url.clone(),
                    provider.model.clone(),
                    api_key,
                    settings.timeout.as_std(),
                );
                Arc::new(client) as Arc<dyn ChatModel>
            })
            .collect();
        LanguageModel::new(providers, store, clock)
    }

    /// `None` with no providers: callers then never reach a model.
    pub fn new(providers: Vec<Arc<dyn ChatModel>>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Option<LanguageModel> {
        if providers.is_empty() {
            return None;
        }
        Some(LanguageModel { providers, store, clock })
    }

    /// A short summary of the investigation for humans, or `None` when no provider answered.
    pub async fn summarise(&self, org: OrgId, incident_id: Option<i64>, facts: &InvestigationFacts) -> Option<String> {
        let messages = prompt::summary_prompt(facts);
        self.ask(org, incident_id, "summarise", &messages, prompt::clean_summary).await
    }

    /// The candidates' ids in the model's order — always a permutation of the ids given — or
    /// `None` (keep the original order) when no provider gave one.
    pub async fn rerank(&self, org: OrgId, incident_id: Option<i64>, candidates: &[RerankCandidate]) -> Option<Vec<String>> {
        if candidates.len() < 2 {
            return None;
        }
        let ids: Vec<String> = candidates.iter().map(|candidate| candidate.id.clone()).collect();
        let messages = prompt::rerank_prompt(candidates);
        self.ask(org, incident_id, "rerank", &messages, |answer| prompt::parse_permutation(answer, &ids)).await
    }

    /// Tries each provider in order until one gives an answer `accept` takes. Every attempt is
    /// kept (the answer, and the reason it was not used), whatever became of it.
    async fn ask<T>(
        &self,
        org: OrgId,
        incident_id: Option<i64>,
        purpose: &str,
        messages: &[ChatMessage],
        accept: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let transcript = prompt::transcript(messages);
        for provider in &self.providers {
            let started_at = self.clock.now();
            let outcome = provider.complete(messages).await;
            let finished_at = self.clock.now();
            let (response, accepted, error) = match outcome {
                Ok(answer) => match accept(&answer) {
                    Ok(value) => (Some(answer), Some(value), None),
                    Err(reason) => {
                        tracing::warn!(provider = provider.provider(), purpose, reason, "llm answer ignored");
                        (Some(answer), None, Some(format!("answer ignored: {reason}")))
                    }
                },
                Err(error) => {
                    tracing::warn!(provider = provider.provider(), purpose, %error, "llm provider failed");
                    (None, None, Some(error.to_string()))
                }
            };
            let exchange = NewLlmExchange {
                org,
                incident_id,
                purpose: purpose.into(),
                provider: provider.provider().into(),
                model: provider.model().into(),
                prompt: transcript.clone(),
                response,
                error,
                started_at,
                finished_at,
            };
            if let Err(error) = self.store.insert_llm_exchange(&exchange).await {
                // An answer that cannot be audited is not used.
                tracing::warn!(%error, purpose, "cannot keep the llm exchange; its answer is not used");
                continue;
            }
            if accepted.is_some() {
                return accepted;
            }
        }
        None
    }
}
