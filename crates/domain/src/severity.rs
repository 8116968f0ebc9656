//! Incident severity (sev1 is the worst) and how sender vocabularies map onto it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
        }
    }

    /// Parses Staunch's own names (`sev1`..`sev3`).
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "sev1" => Some(Severity::Sev1),
            "sev2" => Some(Severity::Sev2),
            "sev3" => Some(Severity::Sev3),
            _ => None,
        }
    }

    /// Maps a PagerDuty Events v2 `payload.severity`.
    pub fn from_pagerduty(text: &str) -> Option<Severity> {
        match text {
            "critical" => Some(Severity::Sev1),
            "error" => Some(Severity::Sev2),
            "warning" | "info" => Some(Severity::Sev3),
            _ => None,
        }
    }

    /// Maps the free-form `severity` label that Prometheus alerting rules conventionally carry.
    /// Unknown or missing values are sev2: loud enough to page, not loud enough to wake everyone.
    pub fn from_label(text: Option<&str>) -> Severity {
        let Some(text) = text else {
            return Severity::Sev2;
        };
        match text.to_ascii_lowercase().as_str() {
            "critical" | "page" | "sev1" | "p1" | "emergency" | "fatal" => Severity::Sev1,
            "warning" | "warn" | "info" | "low" | "minor" | "sev3" | "p3" | "p4" | "p5" | "ticket" => Severity::Sev3,
            _ => Severity::Sev2,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}
