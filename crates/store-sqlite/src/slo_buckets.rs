//! The SQLite side of SLO event buckets: one row per (organisation, SLO, minute), added to
//! by an upsert so pushes for the same minute accumulate.

use crate::backend;
use crate::codec::micros;
use crate::writer::query;
use jiff::Timestamp;
use sqlx::{Row, SqlitePool};
use staunch_store::{OrgId, SloBucket, StoreError, StoreResult};

pub(crate) async fn read(pool: &SqlitePool, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>> {
    let rows = sqlx::query(
        "SELECT minute_start, good, total FROM slo_buckets \
         WHERE org_id = ? AND slo_id = ? AND minute_start >= ? ORDER BY minute_start",
    )
    .bind(org.0)
    .bind(slo_id)
    .bind(micros(SloBucket::minute_start(from)))
    .fetch(pool);
    crate::codec::decode_each(rows, |row| {
        let minute: i64 = row.try_get("minute_start").map_err(backend)?;
        let good: i64 = row.try_get("good").map_err(backend)?;
        let total: i64 = row.try_get("total").map_err(backend)?;
        Ok(SloBucket {
            minute: Timestamp::from_microsecond(minute).map_err(|error| StoreError::Corrupt(error.to_string()))?,
            good: good.max(0) as u64,
            total: total.max(0) as u64,
        })
    })
    .await
}

pub(crate) fn add(connection: &rusqlite::Connection, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
    for count in counts {
        query(
            "INSERT INTO slo_buckets (org_id, slo_id, minute_start, good, total) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (org_id, slo_id, minute_start) DO UPDATE SET good = good + excluded.good, total = total + excluded.total",
        )
        .bind(org.0)
        .bind(slo_id)
        .bind(micros(SloBucket::minute_start(count.minute)))
        .bind(i64::try_from(count.good).unwrap_or(i64::MAX))
        .bind(i64::try_from(count.total).unwrap_or(i64::MAX))
        .execute(connection)
        .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn prune(connection: &rusqlite::Connection, org: OrgId, slo_id: &str, before: Timestamp) -> StoreResult<u64> {
    let result = query("DELETE FROM slo_buckets WHERE org_id = ? AND slo_id = ? AND minute_start < ?")
        .bind(org.0)
        .bind(slo_id)
        .bind(micros(SloBucket::minute_start(before)))
        .execute(connection)
        .map_err(backend)?;
    Ok(result.rows_affected())
}
