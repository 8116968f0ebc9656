//! `services[].noise` in `staunch.yaml`: what a service does with alerts the noise model
//! judges likely noise. Every alert is scored whatever this says; the default only records it.
//!
//! ```yaml
//! services:
//!   - id: api
//!     noise:
//!       action: ticket     # open a ticket instead of paging; `page` (the default) only scores
//!       threshold: auto    # learnt from history to keep 99% recall; or a fixed 0.97
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use staunch_domain::noise::ThresholdChoice;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceNoise {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    threshold: Option<RawThreshold>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawThreshold {
    Number(f64),
    Word(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseAction {
    /// Score and record only.
    #[default]
    Page,
    /// Open a ticket (an incident that pages nobody) for an alert judged likely noise.
    Ticket,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceNoise {
    pub action: NoiseAction,
    pub threshold: ThresholdChoice,
}

impl Default for ServiceNoise {
    fn default() -> ServiceNoise {
        ServiceNoise { action: NoiseAction::Page, threshold: ThresholdChoice::Auto }
    }
}

/// The checked `noise:` settings of one organisation's services.
#[derive(Debug, Clone, Default)]
pub struct NoiseSettings {
    services: BTreeMap<String, ServiceNoise>,
}

impl NoiseSettings {
    pub fn for_service(&self, service_id: &str) -> ServiceNoise {
        self.services.get(service_id).copied().unwrap_or_default()
    }
}

/// Checks each service's `noise:`; `field` names the service (`services.api`) in messages.
pub(crate) fn build_noise(raw: Vec<(String, RawServiceNoise)>, problems: &mut Vec<String>) -> NoiseSettings {
    let mut services = BTreeMap::new();
    for (service_id, raw) in raw {
        let field = format!("services.{service_id}.noise");
        let action = match raw.action.as_deref() {
            None | Some("page") => NoiseAction::Page,
            Some("ticket") => NoiseAction::Ticket,
            Some(other) => {
                problems.push(format!("{field}.action: {other:?} is not one of ticket, page"));
                continue;
            }
        };
        let threshold = match raw.threshold {
            None => ThresholdChoice::Auto,
            Some(RawThreshold::Word(word)) if word == "auto" => ThresholdChoice::Auto,
            Some(RawThreshold::Number(number)) if number > 0.0 && number < 1.0 => ThresholdChoice::Fixed(number),
            Some(RawThreshold::Number(number)) => {
                problems.push(format!("{field}.threshold: {number} must be between 0 and 1 (exclusive)"));
                continue;
            }
            Some(RawThreshold::Word(word)) => {
                problems.push(format!("{field}.threshold: {word:?} must be auto or a number between 0 and 1"));
                continue;
            }
        };
        services.insert(service_id, ServiceNoise { action, threshold });
    }
    NoiseSettings { services }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_config;

    fn config(noise: &str) -> Result<crate::Config, String> {
        let yaml = format!("services:\n  - id: api\n    noise: {noise}\n  - id: web\n");
        parse_config(&yaml, "staunch.yaml").map_err(|error| error.to_string())
    }

    #[test]
    fn service_noise_settings_are_read_and_checked_by_field() {
        // (noise: value, expected settings of `api`, or the message expected)
        let cases: &[(&str, Result<ServiceNoise, &str>)] = &[
            ("{}", Ok(ServiceNoise::default())),
            ("{ action: ticket }", Ok(ServiceNoise { action: NoiseAction::Ticket, threshold: ThresholdChoice::Auto })),
            ("{ action: page, threshold: auto }", Ok(ServiceNoise::default())),
            (
                "{ action: ticket, threshold: 0.97 }",
                Ok(ServiceNoise { action: NoiseAction::Ticket, threshold: ThresholdChoice::Fixed(0.97) }),
            ),
            ("{ action: mute }", Err("services.api.noise.action: \"mute\" is not one of ticket, page")),
            ("{ threshold: 1.5 }", Err("services.api.noise.threshold: 1.5 must be between 0 and 1")),
            ("{ threshold: 0 }", Err("services.api.noise.threshold: 0 must be between 0 and 1")),
            ("{ threshold: high }", Err("services.api.noise.threshold: \"high\" must be auto or a number")),
        ];
        for (noise, expected) in cases {
            match (config(noise), expected) {
                (Ok(config), Ok(expected)) => {
                    let settings = &config.organisations[0].noise;
                    assert_eq!(settings.for_service("api"), *expected, "{noise}");
                    assert_eq!(settings.for_service("web"), ServiceNoise::default(), "{noise}");
                }
                (Err(message), Err(expected)) => assert!(message.contains(expected), "{noise}: {message}"),
                (got, expected) => panic!("{noise}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
