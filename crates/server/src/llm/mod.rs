//! The optional language model: OpenAI-compatible chat completions, used only to summarise an
//! investigation for humans and to re-rank its top candidates. Off unless `llm:` names a
//! provider; when it is off or every provider fails, callers get `None` and carry on.
//!
//! - `chat` — the `ChatModel` trait and its OpenAI-compatible client (`POST
//!   {base_url}/chat/completions`, bearer key, timeout), with failures sorted by kind.
//! - `prompt` — the facts handed in (`InvestigationFacts`, `RerankCandidate`) and the prompts
//!   built from them: evidence is untrusted data, fenced and labelled as such, with the fence
//!   characters escaped inside it so no evidence can close the fence.
//! - `service` — `LanguageModel`: providers tried in order, every prompt and answer (or
//!   failure) kept in `llm_exchanges` for audit; `summarise` and `rerank` (which accepts only a
//!   permutation of the ids it was given).

mod chat;
mod prompt;
mod service;

pub use chat::{ApiKey, ChatError, ChatMessage, ChatModel, OpenAiCompatible};
pub use prompt::{HypothesisFacts, InvestigationFacts, RerankCandidate};
pub use service::LanguageModel;
