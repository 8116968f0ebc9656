//! The PostgreSQL side of SLO event buckets: one row per (organisation, SLO, minute), added to
//! by an upsert so pushes for the same minute accumulate.

use crate::backend;
use crate::codec::micros;
use jiff::Timestamp;
use sqlx::{PgConnection, PgPool, Row};
use staunch_store::{OrgId, SloBucket, StoreResult, timestamp_from_micros};

pub(crate) async fn read(pool: &PgPool, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>> {
    let rows = sqlx::query(
        "SELECT minute_start, good, total FROM slo_buckets \
         WHERE org_id = $1 AND slo_id = $2 AND minute_start >= $3 ORDER BY minute_start",
    )
    .bind(org.0)
    .bind(slo_id)
    .bind(micros(SloBucket::minute_start(from)))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let minute: i64 = row.try_get("minute_start").map_err(backend)?;
            let good: i64 = row.try_get("good").map_err(backend)?;
            let total: i64 = row.try_get("total").map_err(backend)?;
            Ok(SloBucket { minute: timestamp_from_micros(minute)?, good: good.max(0) as u64, total: total.max(0) as u64 })
        })
        .collect()
}

pub(crate) async fn add(connection: &mut PgConnection, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
    for count in counts {
        sqlx::query(
            "INSERT INTO slo_buckets (org_id, slo_id, minute_start, good, total) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, slo_id, minute_start) DO UPDATE SET good = slo_buckets.good + excluded.good, total = slo_buckets.total + excluded.total",
        )
        .bind(org.0)
        .bind(slo_id)
        .bind(micros(SloBucket::minute_start(count.minute)))
        .bind(i64::try_from(count.good).unwrap_or(i64::MAX))
        .bind(i64::try_from(count.total).unwrap_or(i64::MAX))
        .execute(&mut *connection)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

pub(crate) async fn prune(connection: &mut PgConnection, org: OrgId, slo_id: &str, before: Timestamp) -> StoreResult<u64> {
    let result = sqlx::query("DELETE FROM slo_buckets WHERE org_id = $1 AND slo_id = $2 AND minute_start < $3")
        .bind(org.0)
        .bind(slo_id)
        .bind(micros(SloBucket::minute_start(before)))
        .execute(&mut *connection)
        .await
        .map_err(backend)?;
    Ok(result.rows_affected())
}
