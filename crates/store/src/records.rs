//! The records that cross the storage boundary. Backends map them to rows; nothing here
//! knows SQL.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use staunch_domain::alert::{AlertImage, AlertLink, SourceFormat};
use staunch_domain::incident::IncidentState;
use staunch_domain::labels::Labels;
use staunch_domain::severity::Severity;

pub use staunch_domain::tenant::OrgId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    pub org: OrgId,
    pub service_id: String,
    pub dedup_key: String,
    pub firing: bool,
    pub summary: String,
    pub severity: Severity,
    pub labels: Labels,
    pub annotations: Labels,
    pub details: serde_json::Value,
    pub links: Vec<AlertLink>,
    pub images: Vec<AlertImage>,
    pub format: SourceFormat,
    pub incident_id: Option<i64>,
    pub silenced_by: Option<i64>,
    pub received_at: Timestamp,
    pub starts_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub org: OrgId,
    pub service_id: String,
    pub dedup_key: String,
    pub firing: bool,
    pub summary: String,
    pub severity: Severity,
    pub labels: Labels,
    pub annotations: Labels,
    pub details: serde_json::Value,
    pub links: Vec<AlertLink>,
    pub images: Vec<AlertImage>,
    pub format: SourceFormat,
    pub incident_id: Option<i64>,
    pub silenced_by: Option<i64>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub starts_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// How many events (including duplicates) named this alert.
    pub event_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    pub service_id: Option<String>,
    pub firing: Option<bool>,
    pub incident_id: Option<i64>,
    /// Only alerts with an id below this (for paging backwards).
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIncident {
    pub org: OrgId,
    pub title: String,
    pub service_id: String,
    pub severity: Severity,
    pub group_key: String,
    pub escalation_policy_id: Option<String>,
    pub auto_resolve: bool,
    pub created_at: Timestamp,
    /// The probability that the alert opening it is noise, when it was scored.
    pub noise_probability: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub org: OrgId,
    pub title: String,
    pub service_id: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub group_key: String,
    pub assignee: Option<String>,
    pub escalation_policy_id: Option<String>,
    pub escalation_level: u32,
    pub escalation_cycle: u32,
    pub auto_resolve: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// The probability that the alert opening it was noise, as scored then (alert-noise triage).
    pub noise_probability: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFilter {
    pub states: Vec<IncidentState>,
    pub service_id: Option<String>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Who did something: a person, an integration, or Staunch itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `token`, `integration` or `system`.
    pub kind: String,
    pub id: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { kind: "system".into(), id: "staunch".into() }
    }
    pub fn integration(service_id: &str, format: SourceFormat) -> Actor {
        Actor { kind: "integration".into(), id: format!("{service_id}/{}", format.as_str()) }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}", self.kind, self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTimelineEntry {
    pub org: OrgId,
    pub incident_id: i64,
    pub at: Timestamp,
    pub actor: Actor,
    /// A stable, dotted name such as `incident.opened` or `notification.sent`.
    pub kind: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: i64,
    pub at: Timestamp,
    pub actor: Actor,
    pub kind: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Page the next escalation level of an incident if it is still triggered.
    Escalate,
    /// Compute (or refresh) the incident's investigation. At most one waits per incident:
    /// scheduling one replaces the one waiting, so a burst of alerts and notes runs it once.
    Investigate,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Escalate => "escalate",
            JobKind::Investigate => "investigate",
        }
    }
    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "escalate" => Some(JobKind::Escalate),
            "investigate" => Some(JobKind::Investigate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub org: OrgId,
    pub kind: JobKind,
    pub incident_id: Option<i64>,
    pub run_at: Timestamp,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub org: OrgId,
    pub kind: JobKind,
    pub incident_id: Option<i64>,
    pub run_at: Timestamp,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
    pub fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "sending" => Some(DeliveryState::Sending),
            "sent" => Some(DeliveryState::Sent),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDelivery {
    pub org: OrgId,
    pub incident_id: i64,
    /// Unique per (incident, escalation step, user, contact method) so retries and replays
    /// never page twice; sent to receivers as `Idempotency-Key`.
    pub idempotency_key: String,
    pub user_id: String,
    pub contact_method_id: String,
    /// `webhook`, `email` or `slack`.
    pub channel: String,
    /// `page`, `acknowledged` or `resolved`.
    pub event: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    /// Enqueue it already leased (state `sending`) until then: the enqueuing process sends it
    /// itself right after commit, saving a second commit before the page goes out. If that
    /// process dies, the lease runs out and any sender takes it, as for any other lease.
    pub leased_until: Option<Timestamp>,
}

impl NewDelivery {
    /// The stored delivery this becomes once inserted with `id`.
    pub fn into_delivery(self, id: i64) -> Delivery {
        Delivery {
            id,
            org: self.org,
            incident_id: self.incident_id,
            idempotency_key: self.idempotency_key,
            user_id: self.user_id,
            contact_method_id: self.contact_method_id,
            channel: self.channel,
            event: self.event,
            payload: self.payload,
            state: if self.leased_until.is_some() { DeliveryState::Sending } else { DeliveryState::Pending },
            attempts: 0,
            next_attempt_at: self.created_at,
            lease_until: self.leased_until,
            last_error: None,
            created_at: self.created_at,
            sent_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: i64,
    pub idempotency_key: String,
    pub user_id: String,
    pub contact_method_id: String,
    pub channel: String,
    pub event: String,
    pub payload: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// How one send attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeliveryOutcome {
    Sent { at: Timestamp },
    Retry { error: String, next_attempt_at: Timestamp },
    Failed { error: String, at: Timestamp },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewChangeEvent {
    pub org: OrgId,
    pub service_id: String,
    pub summary: String,
    pub source: Option<String>,
    pub at: Timestamp,
    pub received_at: Timestamp,
    pub details: serde_json::Value,
    pub links: Vec<AlertLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub id: i64,
    pub org: OrgId,
    pub service_id: String,
    pub summary: String,
    pub source: Option<String>,
    pub at: Timestamp,
    pub received_at: Timestamp,
    pub details: serde_json::Value,
    pub links: Vec<AlertLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSilence {
    pub org: OrgId,
    /// Matchers in Alertmanager's syntax, e.g. `{env="staging",alertname=~"Disk.*"}`.
    pub matchers: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: Actor,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: i64,
    pub org: OrgId,
    pub matchers: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: Actor,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "responder" => Some(Role::Responder),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub org: OrgId,
    pub name: String,
    /// The user this token acts as, when it belongs to a person.
    pub user_id: Option<String>,
    pub role: Role,
    /// Hex SHA-256 of the token secret. The secret itself is never stored.
    pub token_sha256: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub org: OrgId,
    pub name: String,
    pub user_id: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
}

/// One change made through the API or the CLI, as the audit log keeps it. The log is
/// append-only: no method of the storage trait changes or removes an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub org: OrgId,
    pub at: Timestamp,
    pub actor: Actor,
    /// Where the change came from: the client's address for the API, `cli` for local commands.
    pub origin: String,
    /// What was done, e.g. `incident.acknowledge`.
    pub action: String,
    /// What it was done to, e.g. `incident/42`.
    pub target: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub org: OrgId,
    pub at: Timestamp,
    pub actor: Actor,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFilter {
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// The good and total events of one SLO within one minute (`minute` is the minute's start;
/// writers may pass any instant inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SloBucket {
    pub minute: Timestamp,
    pub good: u64,
    pub total: u64,
}

impl SloBucket {
    /// The start of the minute containing `at`, as bucket tables key it.
    pub fn minute_start(at: Timestamp) -> Timestamp {
        let second = at.as_second();
        Timestamp::from_second(second - second.rem_euclid(60)).unwrap_or(at)
    }
}

/// A follow-up of an incident, tracked until done or cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActionItem {
    pub org: OrgId,
    pub incident_id: i64,
    pub text: String,
    /// A user id of the directory.
    pub owner: Option<String>,
    pub due: Option<jiff::civil::Date>,
    pub status: staunch_domain::action_item::ActionItemStatus,
    pub created_by: Actor,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: i64,
    pub text: String,
    pub owner: Option<String>,
    pub due: Option<jiff::civil::Date>,
    pub status: staunch_domain::action_item::ActionItemStatus,
    pub created_by: Actor,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One language-model exchange kept for audit: the prompt, and the answer or the failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLlmExchange {
    pub org: OrgId,
    pub incident_id: Option<i64>,
    /// `summarise` or `rerank`.
    pub purpose: String,
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub response: Option<String>,
    pub error: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmExchange {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: Option<i64>,
    pub purpose: String,
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub response: Option<String>,
    pub error: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

/// Probabilities are stored as integer millionths, so every backend and the export hold them
/// exactly alike.
pub fn probability_to_ppm(probability: f64) -> i64 {
    (probability.clamp(0.0, 1.0) * 1_000_000.0).round() as i64
}

pub fn ppm_to_probability(ppm: i64) -> f64 {
    ppm.clamp(0, 1_000_000) as f64 / 1_000_000.0
}
