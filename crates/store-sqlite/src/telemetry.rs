//! The SQLite side of pushed telemetry: inserts row by row through one prepared statement
//! inside the caller's transaction, window reads on `(org_id, time)` with the service set
//! passed as one JSON array (`json_each`) so the statement stays prepared whatever its size,
//! and pruning in bounded batches.

use crate::backend;
use crate::codec::micros;
use crate::statement::{Held, query};
use rusqlite::Connection;
use staunch_store::{
    LogLine, MetricPoint, OrgId, Span, StoreResult, TelemetryQuery, attributes_from_json, span_status, timestamp_from_micros,
};

/// `?` placeholders 2–5 of every read: the window, the service filter and the limit.
const WINDOW_AND_SERVICES: &str = "org_id = ? AND {time} >= ? AND {time} < ? AND (? = 0 OR service IN (SELECT value FROM json_each(?))) ORDER BY {time}, id LIMIT ?";

fn window_clause(time: &str) -> String {
    WINDOW_AND_SERVICES.replace("{time}", time)
}

fn fetch<T>(
    connection: &Connection,
    columns: &str,
    table: &str,
    time: &str,
    org: OrgId,
    window: &TelemetryQuery,
    decode: impl FnMut(&Held<'_, '_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!("SELECT {columns} FROM {table} WHERE {}", window_clause(time));
    let services = serde_json::to_string(&window.services).unwrap_or_else(|_| "[]".into());
    query(sql)
        .bind(org.0)
        .bind(micros(window.from))
        .bind(micros(window.to))
        .bind(window.services.len() as i64)
        .bind(services)
        .bind(i64::from(window.limit))
        .fetch_decoded(connection, decode)
}

pub(crate) fn logs(connection: &Connection, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>> {
    fetch(connection, "service, at, level, message, pod, attributes", "telemetry_logs", "at", org, query, |row| {
        let attributes: Option<String> = row.get("attributes")?;
        let attributes = attributes.map(|text| serde_json::from_str(&text)).transpose().map_err(backend)?;
        Ok(LogLine {
            service: row.get("service")?,
            at: timestamp_from_micros(row.get("at")?)?,
            level: row.get("level")?,
            message: row.get("message")?,
            pod: row.get("pod")?,
            attributes: attributes_from_json(attributes)?,
        })
    })
}

pub(crate) fn spans(connection: &Connection, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<Span>> {
    let columns = "trace_id, span_id, parent_span_id, service, operation, start_at, duration_ms, status";
    fetch(connection, columns, "telemetry_spans", "start_at", org, query, |row| {
        let status: String = row.get("status")?;
        Ok(Span {
            trace_id: row.get("trace_id")?,
            span_id: row.get("span_id")?,
            parent_span_id: row.get("parent_span_id")?,
            service: row.get("service")?,
            operation: row.get("operation")?,
            start: timestamp_from_micros(row.get("start_at")?)?,
            duration_ms: row.get("duration_ms")?,
            status: span_status(&status)?,
        })
    })
}

pub(crate) fn metrics(connection: &Connection, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>> {
    fetch(connection, "service, name, at, value, pod", "telemetry_metrics", "at", org, query, |row| {
        Ok(MetricPoint {
            service: row.get("service")?,
            name: row.get("name")?,
            at: timestamp_from_micros(row.get("at")?)?,
            value: row.get("value")?,
            pod: row.get("pod")?,
        })
    })
}

pub(crate) fn insert_logs(connection: &rusqlite::Connection, org: OrgId, lines: &[LogLine]) -> StoreResult<()> {
    for line in lines {
        let attributes = line.attributes.as_ref().map(|attributes| serde_json::Value::Object(attributes.clone()).to_string());
        query("INSERT INTO telemetry_logs (org_id, service, at, level, message, pod, attributes) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(org.0)
            .bind(&line.service)
            .bind(micros(line.at))
            .bind(&line.level)
            .bind(&line.message)
            .bind(&line.pod)
            .bind(attributes)
            .execute(connection)
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn insert_spans(connection: &rusqlite::Connection, org: OrgId, spans: &[Span]) -> StoreResult<()> {
    for span in spans {
        query(
            "INSERT INTO telemetry_spans (org_id, trace_id, span_id, parent_span_id, service, operation, start_at, duration_ms, status) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org.0)
        .bind(&span.trace_id)
        .bind(&span.span_id)
        .bind(&span.parent_span_id)
        .bind(&span.service)
        .bind(&span.operation)
        .bind(micros(span.start))
        .bind(span.duration_ms)
        .bind(span.status.as_str())
        .execute(connection)
        .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn insert_metrics(connection: &rusqlite::Connection, org: OrgId, points: &[MetricPoint]) -> StoreResult<()> {
    for point in points {
        query("INSERT INTO telemetry_metrics (org_id, service, name, at, value, pod) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(org.0)
            .bind(&point.service)
            .bind(&point.name)
            .bind(micros(point.at))
            .bind(point.value)
            .bind(&point.pod)
            .execute(connection)
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn prune(connection: &rusqlite::Connection, org: OrgId, before: jiff::Timestamp, limit: u32) -> StoreResult<u64> {
    let mut deleted = 0;
    for (table, time) in [("telemetry_logs", "at"), ("telemetry_spans", "start_at"), ("telemetry_metrics", "at")] {
        let sql = format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE org_id = ? AND {time} < ? LIMIT ?)");
        let result = query(sql).bind(org.0).bind(micros(before)).bind(i64::from(limit)).execute(connection).map_err(backend)?;
        deleted += result.rows_affected();
    }
    Ok(deleted)
}
