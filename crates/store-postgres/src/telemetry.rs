//! The PostgreSQL side of pushed telemetry: a whole batch inserted as one statement over
//! column arrays (`UNNEST`), window reads on `(org_id, time)` with the service set as one
//! `text[]`, and pruning in bounded batches.

use crate::backend;
use crate::codec::micros;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use staunch_store::{
    LogLine, MetricPoint, OrgId, Span, StoreResult, TelemetryQuery, attributes_from_json, span_status, timestamp_from_micros,
};

async fn fetch(
    pool: &PgPool,
    columns: &str,
    table: &str,
    time: &str,
    org: OrgId,
    query: &TelemetryQuery,
) -> StoreResult<Vec<PgRow>> {
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE org_id = $1 AND {time} >= $2 AND {time} < $3 \
         AND (cardinality($4::text[]) = 0 OR service = ANY($4::text[])) ORDER BY {time}, id LIMIT $5"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(micros(query.from))
        .bind(micros(query.to))
        .bind(&query.services)
        .bind(i64::from(query.limit))
        .fetch_all(pool)
        .await
        .map_err(backend)
}

pub(crate) async fn logs(pool: &PgPool, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>> {
    let rows = fetch(pool, "service, at, level, message, pod, attributes", "telemetry_logs", "at", org, query).await?;
    rows.iter()
        .map(|row| {
            Ok(LogLine {
                service: row.try_get("service").map_err(backend)?,
                at: timestamp_from_micros(row.try_get("at").map_err(backend)?)?,
                level: row.try_get("level").map_err(backend)?,
                message: row.try_get("message").map_err(backend)?,
                pod: row.try_get("pod").map_err(backend)?,
                attributes: attributes_from_json(row.try_get("attributes").map_err(backend)?)?,
            })
        })
        .collect()
}

pub(crate) async fn spans(pool: &PgPool, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<Span>> {
    let columns = "trace_id, span_id, parent_span_id, service, operation, start_at, duration_ms, status";
    let rows = fetch(pool, columns, "telemetry_spans", "start_at", org, query).await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status").map_err(backend)?;
            Ok(Span {
                trace_id: row.try_get("trace_id").map_err(backend)?,
                span_id: row.try_get("span_id").map_err(backend)?,
                parent_span_id: row.try_get("parent_span_id").map_err(backend)?,
                service: row.try_get("service").map_err(backend)?,
                operation: row.try_get("operation").map_err(backend)?,
                start: timestamp_from_micros(row.try_get("start_at").map_err(backend)?)?,
                duration_ms: row.try_get("duration_ms").map_err(backend)?,
                status: span_status(&status)?,
            })
        })
        .collect()
}

pub(crate) async fn metrics(pool: &PgPool, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>> {
    let rows = fetch(pool, "service, name, at, value, pod", "telemetry_metrics", "at", org, query).await?;
    rows.iter()
        .map(|row| {
            Ok(MetricPoint {
                service: row.try_get("service").map_err(backend)?,
                name: row.try_get("name").map_err(backend)?,
                at: timestamp_from_micros(row.try_get("at").map_err(backend)?)?,
                value: row.try_get("value").map_err(backend)?,
                pod: row.try_get("pod").map_err(backend)?,
            })
        })
        .collect()
}

pub(crate) async fn insert_logs(connection: &mut PgConnection, org: OrgId, lines: &[LogLine]) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let services: Vec<&str> = lines.iter().map(|line| line.service.as_str()).collect();
    let ats: Vec<i64> = lines.iter().map(|line| micros(line.at)).collect();
    let levels: Vec<&str> = lines.iter().map(|line| line.level.as_str()).collect();
    let messages: Vec<&str> = lines.iter().map(|line| line.message.as_str()).collect();
    let pods: Vec<Option<&str>> = lines.iter().map(|line| line.pod.as_deref()).collect();
    let attributes: Vec<Option<serde_json::Value>> =
        lines.iter().map(|line| line.attributes.clone().map(serde_json::Value::Object)).collect();
    sqlx::query(
        "INSERT INTO telemetry_logs (org_id, service, at, level, message, pod, attributes) \
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::jsonb[])",
    )
    .bind(org.0)
    .bind(services)
    .bind(ats)
    .bind(levels)
    .bind(messages)
    .bind(pods)
    .bind(attributes)
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn insert_spans(connection: &mut PgConnection, org: OrgId, spans: &[Span]) -> StoreResult<()> {
    if spans.is_empty() {
        return Ok(());
    }
    let trace_ids: Vec<&str> = spans.iter().map(|span| span.trace_id.as_str()).collect();
    let span_ids: Vec<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    let parents: Vec<Option<&str>> = spans.iter().map(|span| span.parent_span_id.as_deref()).collect();
    let services: Vec<&str> = spans.iter().map(|span| span.service.as_str()).collect();
    let operations: Vec<&str> = spans.iter().map(|span| span.operation.as_str()).collect();
    let starts: Vec<i64> = spans.iter().map(|span| micros(span.start)).collect();
    let durations: Vec<f64> = spans.iter().map(|span| span.duration_ms).collect();
    let statuses: Vec<&str> = spans.iter().map(|span| span.status.as_str()).collect();
    sqlx::query(
        "INSERT INTO telemetry_spans (org_id, trace_id, span_id, parent_span_id, service, operation, start_at, duration_ms, status) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::float8[], $9::text[])",
    )
    .bind(org.0)
    .bind(trace_ids)
    .bind(span_ids)
    .bind(parents)
    .bind(services)
    .bind(operations)
    .bind(starts)
    .bind(durations)
    .bind(statuses)
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn insert_metrics(connection: &mut PgConnection, org: OrgId, points: &[MetricPoint]) -> StoreResult<()> {
    if points.is_empty() {
        return Ok(());
    }
    let services: Vec<&str> = points.iter().map(|point| point.service.as_str()).collect();
    let names: Vec<&str> = points.iter().map(|point| point.name.as_str()).collect();
    let ats: Vec<i64> = points.iter().map(|point| micros(point.at)).collect();
    let values: Vec<f64> = points.iter().map(|point| point.value).collect();
    let pods: Vec<Option<&str>> = points.iter().map(|point| point.pod.as_deref()).collect();
    sqlx::query(
        "INSERT INTO telemetry_metrics (org_id, service, name, at, value, pod) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::float8[], $6::text[])",
    )
    .bind(org.0)
    .bind(services)
    .bind(names)
    .bind(ats)
    .bind(values)
    .bind(pods)
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn prune(connection: &mut PgConnection, org: OrgId, before: jiff::Timestamp, limit: u32) -> StoreResult<u64> {
    let mut deleted = 0;
    for (table, time) in [("telemetry_logs", "at"), ("telemetry_spans", "start_at"), ("telemetry_metrics", "at")] {
        let sql = format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE org_id = $1 AND {time} < $2 LIMIT $3)");
        let result = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(micros(before))
            .bind(i64::from(limit))
            .execute(&mut *connection)
            .await
            .map_err(backend)?;
        deleted += result.rows_affected();
    }
    Ok(deleted)
}
