//! The `llm:` section of `staunch.yaml`: OpenAI-compatible chat-completions providers, tried
//! in order, for summaries and re-ranking. Absent, nothing calls a language model.
//!
//! ```yaml
//! llm:
//!   timeout: 20s
//!   providers:
//!     - name: primary
//!       base_url: https://llm.internal/v1
//!       model: small-model
//!       api_key_env: STAUNCH_LLM_KEY   # the key is read from this variable, never from the file
//! ```

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;

const DEFAULT_TIMEOUT: HumanDuration = HumanDuration::from_secs(20);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLlm {
    #[serde(default)]
    timeout: Option<HumanDuration>,
    #[serde(default)]
    providers: Vec<RawProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: String,
    base_url: String,
    model: String,
    #[serde(default)]
    api_key_env: Option<String>,
}

/// One provider as configured: where, which model, and the name of the variable holding its
/// key (the key itself is read by the server at start and never kept here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmProvider {
    pub name: String,
    pub base_url: String,
    pub model: String,
    pub api_key_env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlmSettings {
    /// Empty: the language model is off.
    pub providers: Vec<LlmProvider>,
    pub timeout: HumanDuration,
}

pub(crate) fn build_llm(raw: Option<RawLlm>, problems: &mut Vec<String>) -> LlmSettings {
    let Some(raw) = raw else {
        return LlmSettings { providers: Vec::new(), timeout: DEFAULT_TIMEOUT };
    };
    let timeout = raw.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if timeout.as_millis() == 0 {
        problems.push("llm.timeout: must be more than 0".into());
    }
    if raw.providers.is_empty() {
        problems.push("llm.providers: name at least one provider, or leave llm: out".into());
    }
    let mut providers: Vec<LlmProvider> = Vec::new();
    for (index, provider) in raw.providers.into_iter().enumerate() {
        let field = format!("llm.providers[{index}]");
        if provider.name.trim().is_empty() {
            problems.push(format!("{field}.name: must not be empty"));
        } else if providers.iter().any(|other| other.name == provider.name) {
            problems.push(format!("{field}.name: {:?} is used twice", provider.name));
        }
        if !(provider.base_url.starts_with("http://") || provider.base_url.starts_with("https://")) {
            problems.push(format!("{field}.base_url: {:?} must start with http:// or https://", provider.base_url));
        }
        if provider.model.trim().is_empty() {
            problems.push(format!("{field}.model: must not be empty"));
        }
        if let Some(variable) = &provider.api_key_env {
            let valid = !variable.is_empty()
                && !variable.starts_with(|character: char| character.is_ascii_digit())
                && variable.chars().all(|character| character.is_ascii_alphanumeric() || character == '_');
            if !valid {
                // The value is not repeated: it may be a key pasted in by mistake.
                problems.push(format!(
                    "{field}.api_key_env: not an environment variable name (letters, digits, _); the key itself belongs in the environment"
                ));
            }
        }
        providers.push(LlmProvider {
            name: provider.name,
            base_url: provider.base_url.trim_end_matches('/').to_string(),
            model: provider.model,
            api_key_env: provider.api_key_env,
        });
    }
    LlmSettings { providers, timeout }
}

#[cfg(test)]
mod tests {
    use crate::parse_config;

    #[test]
    fn the_language_model_is_off_unless_providers_are_named() {
        let config = parse_config("services: []\n", "staunch.yaml").unwrap();
        assert!(config.llm.providers.is_empty());
        let yaml = "llm:\n  timeout: 5s\n  providers:\n    - { name: primary, base_url: 'http://127.0.0.1:9/v1/', model: m, api_key_env: STAUNCH_LLM_KEY }\n    - { name: backup, base_url: 'https://backup.test', model: m2 }\n";
        let config = parse_config(yaml, "staunch.yaml").unwrap();
        let names: Vec<&str> = config.llm.providers.iter().map(|provider| provider.name.as_str()).collect();
        assert_eq!(names, ["primary", "backup"]);
        assert_eq!(config.llm.providers[0].base_url, "http://127.0.0.1:9/v1");
        assert_eq!(config.llm.timeout.as_millis(), 5000);
    }

    #[test]
    fn bad_providers_are_named_by_field() {
        let cases: &[(&str, &str)] = &[
            ("llm:\n  providers: []\n", "llm.providers: name at least one provider"),
            ("llm:\n  providers:\n    - { name: a, base_url: 'ftp://x', model: m }\n", "llm.providers[0].base_url"),
            ("llm:\n  providers:\n    - { name: a, base_url: 'http://x', model: '' }\n", "llm.providers[0].model"),
            (
                "llm:\n  providers:\n    - { name: a, base_url: 'http://x', model: m }\n    - { name: a, base_url: 'http://y', model: m }\n",
                "llm.providers[1].name: \"a\" is used twice",
            ),
            (
                "llm:\n  providers:\n    - { name: a, base_url: 'http://x', model: m, api_key_env: 'sk-123 secret' }\n",
                "llm.providers[0].api_key_env: not an",
            ),
            ("llm:\n  providers:\n    - { name: a, base_url: 'http://x', model: m, api_key: sk-1 }\n", "api_key"),
        ];
        for (yaml, expected) in cases {
            let message = parse_config(yaml, "staunch.yaml").unwrap_err().to_string();
            assert!(message.contains(expected), "{yaml}: {message}");
            assert!(!message.contains("sk-123"), "a mistaken key is never echoed: {message}");
        }
    }
}
