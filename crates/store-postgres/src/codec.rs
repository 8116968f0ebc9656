//! Conversions between records and PostgreSQL rows: BIGINT microsecond timestamps, JSONB columns.

use crate::backend;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use staunch_domain::alert::SourceFormat;
use staunch_domain::incident::IncidentState;
use staunch_domain::severity::Severity;
use staunch_store::*;

pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) fn optional_micros(at: Option<Timestamp>) -> Option<i64> {
    at.map(micros)
}

fn timestamp(value: i64) -> StoreResult<Timestamp> {
    Timestamp::from_microsecond(value).map_err(|error| StoreError::Corrupt(format!("timestamp {value}: {error}")))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(row: &'r PgRow, column: &str) -> StoreResult<T> {
    row.try_get(column).map_err(backend)
}

fn get_timestamp(row: &PgRow, column: &str) -> StoreResult<Timestamp> {
    timestamp(get(row, column)?)
}

fn get_optional_timestamp(row: &PgRow, column: &str) -> StoreResult<Option<Timestamp>> {
    get::<Option<i64>>(row, column)?.map(timestamp).transpose()
}

/// JSON as text, bound as `$n::jsonb` (and as `text[]` cast to JSONB in bulk statements).
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// JSONB is decoded as a generic value first, so a row that does not fit the record's shape is
/// reported as corrupt data (naming the column), not as a driver error.
fn get_json<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
    let Json(value): Json<serde_json::Value> = get(row, column)?;
    serde_json::from_value(value).map_err(|error| StoreError::Corrupt(format!("column {column}: {error}")))
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

fn counter(row: &PgRow, column: &str) -> StoreResult<u32> {
    let value: i64 = get(row, column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("column {column}: {value} out of range")))
}

pub(crate) fn alert(row: &PgRow) -> StoreResult<Alert> {
    Ok(Alert {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        service_id: get(row, "service_id")?,
        dedup_key: get(row, "dedup_key")?,
        firing: get(row, "firing")?,
        summary: get(row, "summary")?,
        severity: severity(&get::<String>(row, "severity")?)?,
        labels: get_json(row, "labels")?,
        annotations: get_json(row, "annotations")?,
        details: get_json(row, "details")?,
        links: get_json(row, "links")?,
        images: get_json(row, "images")?,
        format: source_format(&get::<String>(row, "format")?)?,
        incident_id: get(row, "incident_id")?,
        silenced_by: get(row, "silenced_by")?,
        first_seen: get_timestamp(row, "first_seen")?,
        last_seen: get_timestamp(row, "last_seen")?,
        starts_at: get_optional_timestamp(row, "starts_at")?,
        resolved_at: get_optional_timestamp(row, "resolved_at")?,
        event_count: get(row, "event_count")?,
    })
}

pub(crate) fn incident(row: &PgRow) -> StoreResult<Incident> {
    let state: String = get(row, "state")?;
    Ok(Incident {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        title: get(row, "title")?,
        service_id: get(row, "service_id")?,
        severity: severity(&get::<String>(row, "severity")?)?,
        state: IncidentState::parse(&state).ok_or_else(|| corrupt("incident state", &state))?,
        group_key: get(row, "group_key")?,
        assignee: get(row, "assignee")?,
        escalation_policy_id: get(row, "escalation_policy_id")?,
        escalation_level: counter(row, "escalation_level")?,
        escalation_cycle: counter(row, "escalation_cycle")?,
        auto_resolve: get(row, "auto_resolve")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        acknowledged_at: get_optional_timestamp(row, "acknowledged_at")?,
        mitigated_at: get_optional_timestamp(row, "mitigated_at")?,
        resolved_at: get_optional_timestamp(row, "resolved_at")?,
    })
}

pub(crate) fn timeline_entry(row: &PgRow) -> StoreResult<TimelineEntry> {
    Ok(TimelineEntry {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        incident_id: get(row, "incident_id")?,
        at: get_timestamp(row, "at")?,
        actor: Actor { kind: get(row, "actor_kind")?, id: get(row, "actor_id")? },
        kind: get(row, "kind")?,
        data: get_json(row, "data")?,
    })
}

pub(crate) fn job(row: &PgRow) -> StoreResult<Job> {
    let kind: String = get(row, "kind")?;
    Ok(Job {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        kind: JobKind::parse(&kind).ok_or_else(|| corrupt("job kind", &kind))?,
        incident_id: get(row, "incident_id")?,
        run_at: get_timestamp(row, "run_at")?,
        payload: get_json(row, "payload")?,
    })
}

pub(crate) fn delivery(row: &PgRow) -> StoreResult<Delivery> {
    let state: String = get(row, "state")?;
    Ok(Delivery {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        incident_id: get(row, "incident_id")?,
        idempotency_key: get(row, "idempotency_key")?,
        user_id: get(row, "user_id")?,
        contact_method_id: get(row, "contact_method_id")?,
        channel: get(row, "channel")?,
        event: get(row, "event")?,
        payload: get_json(row, "payload")?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state", &state))?,
        attempts: counter(row, "attempts")?,
        next_attempt_at: get_timestamp(row, "next_attempt_at")?,
        lease_until: get_optional_timestamp(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        created_at: get_timestamp(row, "created_at")?,
        sent_at: get_optional_timestamp(row, "sent_at")?,
    })
}

pub(crate) fn change_event(row: &PgRow) -> StoreResult<ChangeEvent> {
    Ok(ChangeEvent {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        service_id: get(row, "service_id")?,
        summary: get(row, "summary")?,
        source: get(row, "source")?,
        at: get_timestamp(row, "at")?,
        received_at: get_timestamp(row, "received_at")?,
        details: get_json(row, "details")?,
        links: get_json(row, "links")?,
    })
}

pub(crate) fn silence(row: &PgRow) -> StoreResult<Silence> {
    Ok(Silence {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        matchers: get(row, "matchers")?,
        starts_at: get_timestamp(row, "starts_at")?,
        ends_at: get_timestamp(row, "ends_at")?,
        created_by: get_json(row, "created_by")?,
        comment: get(row, "comment")?,
    })
}

pub(crate) fn api_token(row: &PgRow) -> StoreResult<ApiToken> {
    let role: String = get(row, "role")?;
    Ok(ApiToken {
        id: get(row, "id")?,
        org: OrgId(get(row, "org_id")?),
        name: get(row, "name")?,
        user_id: get(row, "user_id")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: get_timestamp(row, "created_at")?,
    })
}

pub(crate) fn collect<T>(rows: Vec<PgRow>, map: fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}
