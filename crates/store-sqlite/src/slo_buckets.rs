//! The SQLite side of SLO event buckets: one row per (organisation, SLO, minute), added to
//! by an upsert so pushes for the same minute accumulate.

use crate::backend;
use crate::codec::micros;
use crate::statement::query;
use jiff::Timestamp;
use rusqlite::Connection;
use staunch_store::{OrgId, SloBucket, StoreResult, timestamp_from_micros};

pub(crate) fn read(connection: &Connection, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>> {
    query(
        "SELECT minute_start, good, total FROM slo_buckets \
         WHERE org_id = ? AND slo_id = ? AND minute_start >= ? ORDER BY minute_start",
    )
    .bind(org.0)
    .bind(slo_id)
    .bind(micros(SloBucket::minute_start(from)))
    .fetch_decoded(connection, |row| {
        let minute: i64 = row.get("minute_start")?;
        let good: i64 = row.get("good")?;
        let total: i64 = row.get("total")?;
        Ok(SloBucket { minute: timestamp_from_micros(minute)?, good: good.max(0) as u64, total: total.max(0) as u64 })
    })
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
