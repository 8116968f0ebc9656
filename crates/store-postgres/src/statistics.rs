//! Keeps the planner's statistics on `alerts` in step with a table that grows faster than
//! autovacuum analyses it.
//!
//! Autovacuum looks at a table about once a minute and analyses it after a fifth of its rows
//! have changed. A storm into a new (or small) installation outruns that: with statistics
//! that call the table tiny, PostgreSQL looked alerts up by (service, dedup key) through
//! `alerts_by_service`, reading every alert of the service per key, and a batch of 100 alerts
//! took 250–535 ms instead of a few. So this process counts the alerts it commits and runs
//! `ANALYZE alerts` on a pooled connection, off the writer's path, once that count passes a
//! fifth of what the last analysis saw (and at least `MIN_NEW_ROWS`). Replicas count each on
//! their own; an extra ANALYZE costs a sample of the table, not a lock writers wait on.

use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// New rows before the first analysis, and the least between two.
const MIN_NEW_ROWS: u64 = 1_000;

pub(crate) struct AlertGrowth {
    pool: PgPool,
    new_rows: AtomicU64,
    rows_at_last_analysis: AtomicU64,
    analysing: AtomicBool,
}

impl AlertGrowth {
    pub(crate) fn new(pool: PgPool) -> Arc<AlertGrowth> {
        Arc::new(AlertGrowth {
            pool,
            new_rows: AtomicU64::new(0),
            rows_at_last_analysis: AtomicU64::new(0),
            analysing: AtomicBool::new(false),
        })
    }

    /// Called after a commit that inserted `rows` alerts.
    pub(crate) fn committed(self: &Arc<Self>, rows: u64) {
        if rows == 0 {
            return;
        }
        let new_rows = self.new_rows.fetch_add(rows, Ordering::Relaxed) + rows;
        let due = MIN_NEW_ROWS.max(self.rows_at_last_analysis.load(Ordering::Relaxed) / 5);
        if new_rows < due || self.analysing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.new_rows.store(0, Ordering::Relaxed);
        let growth = self.clone();
        tokio::spawn(async move {
            match growth.analyse().await {
                Ok(rows) => growth.rows_at_last_analysis.store(rows, Ordering::Relaxed),
                Err(error) => tracing::warn!(%error, "cannot analyse the alerts table; the planner keeps older statistics"),
            }
            growth.analysing.store(false, Ordering::Release);
        });
    }

    /// Analyses `alerts` and returns how many rows the analysis counted.
    async fn analyse(&self) -> Result<u64, sqlx::Error> {
        sqlx::query("ANALYZE alerts").execute(&self.pool).await?;
        let rows: f32 =
            sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = 'alerts'::regclass").fetch_one(&self.pool).await?;
        Ok(rows.max(0.0) as u64)
    }
}
