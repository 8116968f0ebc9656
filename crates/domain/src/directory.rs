//! The directory: who can be paged and how, and which service owns which alerts.
//!
//! Built once from configuration (by the config crate) and shared read-only by the engine.
//! Lookups are by id; integration keys are looked up by their SHA-256 so the secret itself is
//! never compared byte by byte.

use crate::alert::SourceFormat;
use crate::escalation::EscalationPolicy;
use crate::routing::RoutingTree;
use crate::schedule::Schedule;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub contact_methods: Vec<ContactMethod>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactMethod {
    /// Unique across the directory, e.g. `alice/webhook-1`.
    pub id: String,
    pub channel: Channel,
}

#[derive(Clone, PartialEq)]
pub enum Channel {
    Email {
        address: String,
    },
    /// JSON POST, signed with HMAC-SHA256 over `timestamp.body` when a secret is set.
    Webhook {
        url: String,
        secret: Option<String>,
    },
    /// A Slack incoming webhook.
    Slack {
        webhook_url: String,
    },
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Email { .. } => "email",
            Channel::Webhook { .. } => "webhook",
            Channel::Slack { .. } => "slack",
        }
    }
}

// Secrets stay out of logs and debug output.
impl std::fmt::Debug for Channel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Email { address } => formatter.debug_struct("Email").field("address", address).finish(),
            Channel::Webhook { url, secret } => formatter
                .debug_struct("Webhook")
                .field("url", url)
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .finish(),
            Channel::Slack { .. } => formatter.debug_struct("Slack").field("webhook_url", &"<redacted>").finish(),
        }
    }
}

/// A group of people who own services together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// The team that owns the service, when one is named.
    pub team_id: Option<String>,
    pub escalation_policy_id: Option<String>,
    /// Labels whose values split alerts into separate incidents; empty means one open incident
    /// per service.
    pub group_by: Vec<String>,
    /// Resolve the incident when all of its alerts have resolved.
    pub auto_resolve: bool,
    /// Sends alerts that arrive through this service's integrations on to other services;
    /// receivers are service ids. `None` keeps every alert here.
    pub routes: Option<RoutingTree>,
    /// Every service `routes` can send to, this one first. Where a resolve that carries no
    /// labels (PagerDuty's) looks for the alert its dedup key names.
    pub route_receivers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub name: String,
    pub service_id: String,
    /// The format this key accepts; a key for one format is refused by the other endpoint.
    pub format: SourceFormat,
    /// How many alert events per second this key may send; beyond it senders get 429.
    pub rate_limit: Option<crate::rate_limit::RateLimit>,
    /// The secret a sender signs its requests with (GitHub's `X-Hub-Signature-256`, Slack's
    /// signing secret).
    pub signing_secret: Option<SigningSecret>,
    /// A Slack integration's people: Slack user id (per workspace) → directory user id. Only
    /// they may act through it.
    pub slack_users: BTreeMap<String, String>,
}

/// A shared secret for checking request signatures. Never printed.
#[derive(Clone, PartialEq)]
pub struct SigningSecret(pub String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SigningSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub users: BTreeMap<String, User>,
    pub teams: BTreeMap<String, Team>,
    pub schedules: BTreeMap<String, Schedule>,
    pub escalation_policies: BTreeMap<String, EscalationPolicy>,
    pub services: BTreeMap<String, Service>,
    /// Keyed by the hex SHA-256 of the integration key.
    pub integrations_by_key_sha256: HashMap<String, Integration>,
}

impl Directory {
    pub fn integration(&self, key_sha256: &str) -> Option<&Integration> {
        self.integrations_by_key_sha256.get(key_sha256)
    }

    pub fn contact_method(&self, user_id: &str, contact_method_id: &str) -> Option<&ContactMethod> {
        self.users.get(user_id)?.contact_methods.iter().find(|method| method.id == contact_method_id)
    }

    /// Users on call for `schedule_id` at `at`; empty for an unknown schedule.
    pub fn on_call(&self, schedule_id: &str, at: jiff::Timestamp) -> Vec<String> {
        match self.schedules.get(schedule_id) {
            Some(schedule) => schedule.on_call_at(at),
            None => Vec::new(),
        }
    }

    /// The services an alert arriving at `service_id` belongs to, after that service's routes.
    pub fn route(&self, service_id: &str, labels: &crate::labels::Labels) -> Vec<String> {
        let Some(service) = self.services.get(service_id) else {
            return Vec::new();
        };
        let Some(tree) = &service.routes else {
            return vec![service_id.to_string()];
        };
        let mut targets: Vec<String> = Vec::new();
        for matched in tree.matching(labels) {
            let receiver = matched.receiver.to_string();
            if !targets.contains(&receiver) {
                targets.push(receiver);
            }
        }
        targets
    }
}
