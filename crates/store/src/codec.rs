//! Rows to records, once for every backend. A backend reads typed columns (`ColumnReader`,
//! implemented for its driver's row type); everything else — timestamps as microseconds, JSON
//! columns into records, names of states and kinds — is decided here, so both backends read
//! their rows the same way.

use crate::*;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use staunch_domain::alert::SourceFormat;
use staunch_domain::incident::IncidentState;
use staunch_domain::severity::Severity;

/// Typed reads of one row's columns, by name.
pub trait ColumnReader {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn optional_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn boolean(&self, column: &str) -> StoreResult<bool>;
    /// A JSON column, whatever the backend stores it as (TEXT, JSONB), read straight into `T`
    /// (not through a `serde_json::Value` first: listings read five such columns a row).
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T>;
}

/// Instants are stored as microseconds since the Unix epoch, in every backend.
pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn optional_micros(at: Option<Timestamp>) -> Option<i64> {
    at.map(micros)
}

/// A stored microsecond count as a timestamp; one out of range is corrupt data.
pub fn timestamp_from_micros(micros: i64) -> StoreResult<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|error| StoreError::Corrupt(format!("timestamp {micros}: {error}")))
}

/// Records' JSON columns as text (SQLite stores it so; PostgreSQL casts it to JSONB).
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

fn timestamp<R: ColumnReader + ?Sized>(row: &R, column: &str) -> StoreResult<Timestamp> {
    timestamp_from_micros(row.int(column)?)
}

fn optional_timestamp<R: ColumnReader + ?Sized>(row: &R, column: &str) -> StoreResult<Option<Timestamp>> {
    row.optional_int(column)?.map(timestamp_from_micros).transpose()
}

/// A column whose value does not fit its record (a JSON column of another shape, an integer
/// out of range) is corrupt data, named by column.
pub fn corrupt_column(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {error}"))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn severity(text: &str) -> StoreResult<Severity> {
    Severity::parse(text).ok_or_else(|| corrupt("severity", text))
}

fn source_format(text: &str) -> StoreResult<SourceFormat> {
    SourceFormat::parse(text).ok_or_else(|| corrupt("source format", text))
}

fn counter<R: ColumnReader + ?Sized>(row: &R, column: &str) -> StoreResult<u32> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| corrupt_column(column, format_args!("{value} out of range")))
}

pub fn alert<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<Alert> {
    Ok(Alert {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        service_id: row.text("service_id")?,
        dedup_key: row.text("dedup_key")?,
        firing: row.boolean("firing")?,
        summary: row.text("summary")?,
        severity: severity(&row.text("severity")?)?,
        labels: row.json("labels")?,
        annotations: row.json("annotations")?,
        details: row.json("details")?,
        links: row.json("links")?,
        images: row.json("images")?,
        format: source_format(&row.text("format")?)?,
        incident_id: row.optional_int("incident_id")?,
        silenced_by: row.optional_int("silenced_by")?,
        first_seen: timestamp(row, "first_seen")?,
        last_seen: timestamp(row, "last_seen")?,
        starts_at: optional_timestamp(row, "starts_at")?,
        resolved_at: optional_timestamp(row, "resolved_at")?,
        event_count: row.int("event_count")?,
    })
}

pub fn incident<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<Incident> {
    let state = row.text("state")?;
    Ok(Incident {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        title: row.text("title")?,
        service_id: row.text("service_id")?,
        severity: severity(&row.text("severity")?)?,
        state: IncidentState::parse(&state).ok_or_else(|| corrupt("incident state", &state))?,
        group_key: row.text("group_key")?,
        assignee: row.optional_text("assignee")?,
        escalation_policy_id: row.optional_text("escalation_policy_id")?,
        escalation_level: counter(row, "escalation_level")?,
        escalation_cycle: counter(row, "escalation_cycle")?,
        auto_resolve: row.boolean("auto_resolve")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
        acknowledged_at: optional_timestamp(row, "acknowledged_at")?,
        mitigated_at: optional_timestamp(row, "mitigated_at")?,
        resolved_at: optional_timestamp(row, "resolved_at")?,
        noise_probability: row.optional_int("noise_ppm")?.map(ppm_to_probability),
    })
}

pub fn timeline_entry<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<TimelineEntry> {
    Ok(TimelineEntry {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.int("incident_id")?,
        at: timestamp(row, "at")?,
        actor: Actor { kind: row.text("actor_kind")?, id: row.text("actor_id")? },
        kind: row.text("kind")?,
        data: row.json("data")?,
    })
}

pub fn job<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<Job> {
    let kind = row.text("kind")?;
    Ok(Job {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        kind: JobKind::parse(&kind).ok_or_else(|| corrupt("job kind", &kind))?,
        incident_id: row.optional_int("incident_id")?,
        run_at: timestamp(row, "run_at")?,
        payload: row.json("payload")?,
    })
}

pub fn delivery<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<Delivery> {
    let state = row.text("state")?;
    Ok(Delivery {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.int("incident_id")?,
        idempotency_key: row.text("idempotency_key")?,
        user_id: row.text("user_id")?,
        contact_method_id: row.text("contact_method_id")?,
        channel: row.text("channel")?,
        event: row.text("event")?,
        payload: row.json("payload")?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state", &state))?,
        attempts: counter(row, "attempts")?,
        next_attempt_at: timestamp(row, "next_attempt_at")?,
        lease_until: optional_timestamp(row, "lease_until")?,
        last_error: row.optional_text("last_error")?,
        created_at: timestamp(row, "created_at")?,
        sent_at: optional_timestamp(row, "sent_at")?,
    })
}

pub fn change_event<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<ChangeEvent> {
    Ok(ChangeEvent {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        service_id: row.text("service_id")?,
        summary: row.text("summary")?,
        source: row.optional_text("source")?,
        at: timestamp(row, "at")?,
        received_at: timestamp(row, "received_at")?,
        details: row.json("details")?,
        links: row.json("links")?,
    })
}

pub fn silence<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<Silence> {
    Ok(Silence {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        matchers: row.text("matchers")?,
        starts_at: timestamp(row, "starts_at")?,
        ends_at: timestamp(row, "ends_at")?,
        created_by: row.json("created_by")?,
        comment: row.text("comment")?,
    })
}

pub fn api_token<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<ApiToken> {
    let role = row.text("role")?;
    Ok(ApiToken {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        name: row.text("name")?,
        user_id: row.optional_text("user_id")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: timestamp(row, "created_at")?,
    })
}

pub fn audit_entry<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        at: timestamp(row, "at")?,
        actor: Actor { kind: row.text("actor_kind")?, id: row.text("actor_id")? },
        origin: row.text("origin")?,
        action: row.text("action")?,
        target: row.text("target")?,
        details: row.json("details")?,
    })
}

pub fn action_item<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<ActionItem> {
    let status = row.text("status")?;
    let due = match row.optional_text("due")? {
        Some(text) => {
            Some(text.parse::<jiff::civil::Date>().map_err(|error| StoreError::Corrupt(format!("column due: {error}")))?)
        }
        None => None,
    };
    Ok(ActionItem {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.int("incident_id")?,
        text: row.text("text")?,
        owner: row.optional_text("owner")?,
        due,
        status: staunch_domain::action_item::ActionItemStatus::parse(&status)
            .ok_or_else(|| corrupt("action item status", &status))?,
        created_by: Actor { kind: row.text("actor_kind")?, id: row.text("actor_id")? },
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub fn runbook_run<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<RunbookRun> {
    let progress: staunch_domain::runbook::RunProgress = row.json("progress")?;
    let state = row.text("state")?;
    if progress.state.as_str() != state {
        return Err(StoreError::Corrupt(format!("runbook run state {state:?} disagrees with its progress")));
    }
    Ok(RunbookRun {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.int("incident_id")?,
        runbook: row.text("runbook")?,
        definition: row.json("definition")?,
        symptom: row.optional_text("symptom")?,
        dry_run: row.boolean("dry_run")?,
        started_by: Actor { kind: row.text("started_by_kind")?, id: row.text("started_by_id")? },
        progress,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
        finished_at: optional_timestamp(row, "finished_at")?,
    })
}

pub fn runbook_outcomes<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<RunbookOutcomes> {
    Ok(RunbookOutcomes {
        symptom: row.text("symptom")?,
        runbook: row.text("runbook")?,
        attempts: row.int("attempts")?.max(0) as u64,
        successes: row.int("successes")?.max(0) as u64,
    })
}

pub fn deploy_link<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<DeployLink> {
    let state = row.text("rollback_state")?;
    Ok(DeployLink {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.int("incident_id")?,
        service_id: row.text("service_id")?,
        change_id: row.int("change_id")?,
        deploy: row.json("deploy")?,
        linked_at: timestamp(row, "linked_at")?,
        rollback_runbook: row.optional_text("rollback_runbook")?,
        rollback_approval: row.boolean("rollback_approval")?,
        rollback_state: RollbackState::parse(&state).ok_or_else(|| corrupt("rollback state", &state))?,
        rollback_run_id: row.optional_int("rollback_run_id")?,
        rollback_note: row.optional_text("rollback_note")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

/// The columns of `deploy_links`, in the order backends select them.
pub const DEPLOY_LINK_COLUMNS: &str = "id, org_id, incident_id, service_id, change_id, deploy, linked_at, rollback_runbook, \
    rollback_approval, rollback_state, rollback_run_id, rollback_note, updated_at";

pub fn llm_exchange<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<LlmExchange> {
    Ok(LlmExchange {
        id: row.int("id")?,
        org: OrgId(row.int("org_id")?),
        incident_id: row.optional_int("incident_id")?,
        purpose: row.text("purpose")?,
        provider: row.text("provider")?,
        model: row.text("model")?,
        prompt: row.text("prompt")?,
        response: row.optional_text("response")?,
        error: row.optional_text("error")?,
        started_at: timestamp(row, "started_at")?,
        finished_at: timestamp(row, "finished_at")?,
    })
}

/// One incident opening of the noise history: the incident's columns, the `incident.opened`
/// entry (`opened_by`, `opened_data`: its labels) and the first human action and resolution
/// before the read's cut (`first_human_action_at`, `resolved_at`).
pub fn historical_alert<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<staunch_domain::noise::HistoricalAlert> {
    let opened_at = timestamp(row, "created_at")?;
    let opened_data = row.optional_text("opened_data")?.and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let labels = opened_data
        .as_ref()
        .and_then(|data| data.get("labels"))
        .and_then(|labels| serde_json::from_value(labels.clone()).ok())
        .unwrap_or_default();
    // `integration:<service>/<format>`: the format is what follows the last slash.
    let format = row
        .optional_text("opened_by")?
        .and_then(|actor| actor.rsplit_once('/').map(|(_, format)| format.to_string()))
        .unwrap_or_else(|| "unknown".to_string());
    Ok(staunch_domain::noise::HistoricalAlert {
        incident_id: row.int("id")?,
        features: staunch_domain::noise::AlertFeatures {
            service: row.text("service_id")?,
            format,
            // As the alert had it when it opened the incident (a worse alert may raise it later).
            severity: opened_data
                .as_ref()
                .and_then(|data| data.get("severity")?.as_str().and_then(Severity::parse))
                .map(|severity| severity.as_str().to_string())
                .unwrap_or(row.text("severity")?),
            labels,
            summary: row.text("title")?,
            at: opened_at,
        },
        opened_at,
        first_human_action_at: optional_timestamp(row, "first_human_action_at")?,
        resolved_at: optional_timestamp(row, "resolved_at")?,
    })
}

/// A catalog row's entity (column `entity`, JSON).
pub fn catalog_entity<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<staunch_domain::catalog::CatalogEntity> {
    let value = row.json("entity")?;
    serde_json::from_value(value).map_err(|error| StoreError::Corrupt(format!("column entity: {error}")))
}

/// Columns `incident_id`, `computed_at`, `result`.
pub fn stored_investigation<R: ColumnReader + ?Sized>(row: &R) -> StoreResult<StoredInvestigation> {
    Ok(StoredInvestigation {
        incident_id: row.int("incident_id")?,
        computed_at: timestamp(row, "computed_at")?,
        result: row.json("result")?,
    })
}

pub const CHANGE_EVENT_COLUMNS: &str = "id, org_id, service_id, summary, source, at, received_at, details, links";
