//! The normalized alert event: what every ingest format is parsed into before routing.

use crate::labels::Labels;
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a sender asks Staunch to do with the alert identified by a dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertAction {
    /// The condition holds (Alertmanager `firing`, PagerDuty `trigger`).
    Trigger,
    /// A sender-side acknowledgement (PagerDuty `acknowledge`); acknowledges the incident.
    Acknowledge,
    /// The condition no longer holds (Alertmanager `resolved`, PagerDuty `resolve`).
    Resolve,
}

impl AlertAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Trigger => "trigger",
            AlertAction::Acknowledge => "acknowledge",
            AlertAction::Resolve => "resolve",
        }
    }
}

/// Which wire format an alert arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Alertmanager,
    EventsV2,
    /// Opsgenie's Alert API v2, as Alertmanager's `opsgenie_configs` and others send it.
    Opsgenie,
    /// Grafana Alerting's webhook (the Grafana OnCall contact point sends the same).
    Grafana,
    Api,
    /// GitHub webhooks: changes (pushes, deployments, merges), never alerts.
    GitHub,
    /// Slack slash commands: responders acting on incidents, never alerts.
    Slack,
}

impl SourceFormat {
    pub fn parse(text: &str) -> Option<SourceFormat> {
        match text {
            "alertmanager" => Some(SourceFormat::Alertmanager),
            "events_v2" => Some(SourceFormat::EventsV2),
            "opsgenie" => Some(SourceFormat::Opsgenie),
            "grafana" => Some(SourceFormat::Grafana),
            "api" => Some(SourceFormat::Api),
            "github" => Some(SourceFormat::GitHub),
            "slack" => Some(SourceFormat::Slack),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Alertmanager => "alertmanager",
            SourceFormat::EventsV2 => "events_v2",
            SourceFormat::Opsgenie => "opsgenie",
            SourceFormat::Grafana => "grafana",
            SourceFormat::Api => "api",
            SourceFormat::GitHub => "github",
            SourceFormat::Slack => "slack",
        }
    }
}

/// The identity of an alert within a service: Alertmanager's fingerprint or PagerDuty's
/// `dedup_key`. Non-empty and at most 255 characters (PagerDuty's limit, which counts
/// characters, not bytes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DedupKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DedupKeyError {
    #[error("dedup key is empty")]
    Empty,
    #[error("dedup key is longer than 255 characters")]
    TooLong,
}

impl DedupKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(text: impl Into<String>) -> Result<DedupKey, DedupKeyError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Err(DedupKeyError::Empty);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(DedupKeyError::TooLong);
        }
        Ok(DedupKey(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DedupKey {
    type Error = DedupKeyError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        DedupKey::parse(text)
    }
}

impl From<DedupKey> for String {
    fn from(key: DedupKey) -> String {
        key.0
    }
}

impl std::fmt::Display for DedupKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A link attached to an alert (PagerDuty `links`, Alertmanager `generatorURL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLink {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An image attached to an alert (PagerDuty `images`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertImage {
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// The label that makes an alert a ticket: `staunch_page="false"` opens (or joins) an
/// incident that pages nobody. SLO ticket rules set it; any sender may.
pub const PAGE_LABEL: &str = "staunch_page";

/// One alert event, normalized from any ingest format.
///
/// Invariant: for `Trigger`, `summary` is non-empty. `Acknowledge` and `Resolve` only need
/// the dedup key; their other fields may be empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub action: AlertAction,
    pub dedup_key: DedupKey,
    pub summary: String,
    pub severity: Severity,
    /// Labels used for routing, grouping and silences. PagerDuty's `source`, `component`,
    /// `group` and `class` become labels of the same names.
    pub labels: Labels,
    /// Alertmanager annotations; empty for other formats.
    pub annotations: Labels,
    /// Free-form details (PagerDuty `custom_details`); `null` when absent.
    pub details: serde_json::Value,
    pub links: Vec<AlertLink>,
    pub images: Vec<AlertImage>,
    /// When the sender says the condition started, if it says.
    pub starts_at: Option<Timestamp>,
    /// When the sender says the condition ended, if it says.
    pub ends_at: Option<Timestamp>,
    pub format: SourceFormat,
}

impl AlertEvent {
    /// Whether the incident this alert opens pages anyone (see [`PAGE_LABEL`]).
    pub fn pages(&self) -> bool {
        self.labels.get(PAGE_LABEL).map(String::as_str) != Some("false")
    }
}
