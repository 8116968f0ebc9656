//! What handlers can ask the engine to do, what it answers, and the dispatch between them.

use super::intake::{self, IngestRequest};
use super::state_change;
use jiff::Timestamp;
use serde::Serialize;
use staunch_config::Config;
use staunch_domain::alert::{AlertEvent, SourceFormat};
use staunch_domain::incident::StateChange;
use staunch_domain::severity::Severity;
use staunch_store::{
    Actor, Incident, NewAuditEntry, NewChangeEvent, NewSilence, NewTimelineEntry, OrgId, Silence, StoreResult, StoreTx,
    StoredInvestigation,
};

#[derive(Debug)]
pub enum Command {
    /// Alert events that arrived through one integration of `service_id`.
    Ingest {
        org: OrgId,
        service_id: String,
        format: SourceFormat,
        events: Vec<AlertEvent>,
        truncated_alerts: u64,
    },
    RecordChange {
        event: NewChangeEvent,
    },
    Incident {
        org: OrgId,
        incident_id: i64,
        actor: Actor,
        action: IncidentAction,
    },
    CreateSilence {
        silence: NewSilence,
    },
    ExpireSilence {
        org: OrgId,
        silence_id: i64,
    },
    ActionItem {
        org: OrgId,
        actor: Actor,
        action: super::action_items::ActionItemAction,
    },
    /// Makes `entities` the organisation's whole service catalog.
    ReplaceCatalog {
        org: OrgId,
        entities: Vec<staunch_domain::catalog::CatalogEntity>,
    },
    /// A refreshed investigation, with its timeline entry when the leads changed, and the end
    /// of its lease (see `investigation::refresh`).
    SaveInvestigation {
        org: OrgId,
        investigation: StoredInvestigation,
        entry: Option<NewTimelineEntry>,
        lease_id: i64,
    },
}

impl Command {
    /// The organisation the command acts for.
    pub fn org(&self) -> OrgId {
        match self {
            Command::Ingest { org, .. }
            | Command::Incident { org, .. }
            | Command::ExpireSilence { org, .. }
            | Command::ActionItem { org, .. }
            | Command::ReplaceCatalog { org, .. }
            | Command::SaveInvestigation { org, .. } => *org,
            Command::RecordChange { event } => event.org,
            Command::CreateSilence { silence } => silence.org,
        }
    }

    /// Its share of a transaction, for fair queueing: the number of alert events it carries,
    /// and 1 for everything else.
    pub fn cost(&self) -> u64 {
        match self {
            Command::Ingest { events, .. } => events.len().max(1) as u64,
            _ => 1,
        }
    }

    /// The command as one request of an intake run, when it is an ingest command.
    pub(crate) fn as_ingest(&self) -> Option<IngestRequest<'_>> {
        match self {
            Command::Ingest { org, service_id, format, events, truncated_alerts } => {
                Some(IngestRequest { org: *org, service_id, format: *format, events, truncated_alerts: *truncated_alerts })
            }
            _ => None,
        }
    }
}

/// A change asked for through the API or the CLI. It goes into the audit log in the same
/// transaction as the change, and only when the change is made.
#[derive(Debug, Clone)]
pub struct Audit {
    pub org: OrgId,
    pub actor: Actor,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

impl Audit {
    /// The entry for a command that answered `reply`, or `None` when it changed nothing.
    pub(crate) fn entry(&self, at: Timestamp, reply: &Reply) -> Option<NewAuditEntry> {
        let target = match reply {
            Reply::Incident(_) | Reply::ChangeRecorded { .. } | Reply::SilenceExpired { found: true } => self.target.clone(),
            Reply::SilenceCreated { id } => format!("silence/{id}"),
            Reply::ActionItem(item) => format!("action-item/{}", item.id),
            Reply::CatalogReplaced(sync) if sync.added.is_empty() && sync.updated.is_empty() && sync.removed.is_empty() => {
                return None;
            }
            Reply::CatalogReplaced(_) => self.target.clone(),
            Reply::Ingested(_)
            | Reply::InvestigationSaved
            | Reply::IncidentNotFound
            | Reply::ActionItemNotFound
            | Reply::Rejected { .. }
            | Reply::SilenceExpired { found: false } => {
                return None;
            }
        };
        Some(NewAuditEntry {
            org: self.org,
            at,
            actor: self.actor.clone(),
            origin: self.origin.clone(),
            action: self.action.clone(),
            target,
            details: self.details.clone(),
        })
    }
}

#[derive(Debug, Clone)]
pub enum IncidentAction {
    Change(StateChange),
    Reassign { user_id: String },
    SetSeverity { severity: Severity },
    AddNote { text: String },
}

#[derive(Debug)]
pub enum Reply {
    Ingested(IngestReceipt),
    ChangeRecorded { id: i64 },
    Incident(Box<Incident>),
    IncidentNotFound,
    Rejected { message: String },
    SilenceCreated { id: i64 },
    SilenceExpired { found: bool },
    ActionItem(Box<staunch_store::ActionItem>),
    ActionItemNotFound,
    CatalogReplaced(staunch_store::CatalogSync),
    InvestigationSaved,
}

/// What happened to each event of an ingest command.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReceipt {
    pub incidents_opened: Vec<i64>,
    pub alerts_stored: u32,
    pub deduplicated: u32,
    pub resolved: u32,
    pub silenced: u32,
    pub ignored: u32,
}

/// State shared by the commands of one transaction.
pub(crate) struct ApplyContext<'a> {
    pub config: &'a Config,
    pub now: Timestamp,
    /// Deliveries enqueued leased to this process's outbox, handed to it after commit.
    pub handed_over: Vec<staunch_store::Delivery>,
    /// Active silences per org, read at most once per transaction.
    pub silences: std::collections::HashMap<OrgId, Vec<(Silence, Vec<staunch_domain::matcher::Matcher>)>>,
    /// Timeline entries waiting to be appended before commit (see `timeline`).
    pub timeline: Vec<NewTimelineEntry>,
    /// The earliest `run_at` of the jobs this transaction scheduled.
    pub earliest_job: Option<Timestamp>,
    /// The trained alert-noise models new alerts are scored with.
    pub noise: &'a crate::noise::NoiseModels,
    /// Counters to add to once the transaction commits.
    pub counts: Counts,
}

/// What a transaction adds to the process's counters, reported only once it commits: a
/// transaction that rolls back (an error, or giving way to another organisation) and is
/// applied again must not count twice.
#[derive(Default)]
pub(crate) struct Counts {
    alert_events: Vec<(&'static str, u64)>,
    incidents_opened: u64,
    incident_changes: Vec<(&'static str, u64)>,
}

impl Counts {
    pub fn alert_events(&mut self, format: &'static str, events: u64) {
        add(&mut self.alert_events, format, events);
    }

    pub fn incident_opened(&mut self) {
        self.incidents_opened += 1;
    }

    pub fn incident_changed(&mut self, change: &'static str) {
        add(&mut self.incident_changes, change, 1);
    }

    pub fn report(&self) {
        for (format, events) in &self.alert_events {
            metrics::counter!("staunch_alert_events_total", "format" => *format).increment(*events);
        }
        if self.incidents_opened > 0 {
            metrics::counter!("staunch_incidents_opened_total").increment(self.incidents_opened);
        }
        for (change, count) in &self.incident_changes {
            metrics::counter!("staunch_incident_changes_total", "change" => *change).increment(*count);
        }
    }
}

fn add(counts: &mut Vec<(&'static str, u64)>, label: &'static str, amount: u64) {
    match counts.iter_mut().find(|(counted, _)| *counted == label) {
        Some((_, count)) => *count += amount,
        None => counts.push((label, amount)),
    }
}

impl<'a> ApplyContext<'a> {
    pub fn new(config: &'a Config, noise: &'a crate::noise::NoiseModels, now: Timestamp) -> ApplyContext<'a> {
        ApplyContext {
            config,
            noise,
            now,
            handed_over: Vec::new(),
            silences: Default::default(),
            timeline: Vec::new(),
            earliest_job: None,
            counts: Counts::default(),
        }
    }
}

pub(crate) async fn apply(tx: &mut dyn StoreTx, context: &mut ApplyContext<'_>, command: &Command) -> StoreResult<Reply> {
    match command {
        Command::Ingest { .. } => {
            let requests: Vec<IngestRequest<'_>> = command.as_ingest().into_iter().collect();
            let receipt = intake::ingest_run(tx, context, &requests).await?.into_iter().next().unwrap_or_default();
            Ok(Reply::Ingested(receipt))
        }
        Command::RecordChange { event } => {
            let id = tx.insert_change_event(event).await?;
            super::deploys::pipeline_after_change(tx, context, event).await?;
            Ok(Reply::ChangeRecorded { id })
        }
        Command::Incident { org, incident_id, actor, action } => {
            let Some(incident) = tx.incident(*org, *incident_id).await? else {
                return Ok(Reply::IncidentNotFound);
            };
            match state_change::act(tx, context, incident, actor, action).await? {
                Ok(incident) => Ok(Reply::Incident(Box::new(incident))),
                Err(message) => Ok(Reply::Rejected { message }),
            }
        }
        Command::CreateSilence { silence } => {
            context.silences.remove(&silence.org);
            Ok(Reply::SilenceCreated { id: tx.insert_silence(silence).await? })
        }
        Command::ExpireSilence { org, silence_id } => {
            context.silences.remove(org);
            Ok(Reply::SilenceExpired { found: tx.expire_silence(*org, *silence_id, context.now).await? })
        }
        Command::ActionItem { org, actor, action } => super::action_items::apply(tx, context, *org, actor, action).await,
        Command::ReplaceCatalog { org, entities } => {
            Ok(Reply::CatalogReplaced(tx.replace_catalog(*org, entities, context.now).await?))
        }
        Command::SaveInvestigation { org, investigation, entry, lease_id } => {
            tx.save_investigation(*org, investigation).await?;
            if let Some(entry) = entry {
                tx.append_timeline(entry).await?;
            }
            tx.delete_job(*lease_id).await?;
            Ok(Reply::InvestigationSaved)
        }
    }
}
