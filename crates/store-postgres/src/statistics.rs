//! Keeps the planner's statistics on `alerts` and `incident_search` in step with tables that
//! grow faster than autovacuum analyses them.
//!
//! Autovacuum looks at a table about once a minute and analyses it after a fifth of its rows
//! have changed. A storm into a new (or small) installation outruns that: with statistics
//! that call the table tiny, PostgreSQL looked alerts up by (service, dedup key) through
//! `alerts_by_service`, reading every alert of the service per key, and a batch of 100 alerts
//! took 250–535 ms instead of a few. So this process counts the alerts it commits and runs
//! `ANALYZE alerts` on a pooled connection, off the writer's path, once that count passes a
//! fifth of what the last analysis saw (and at least `MIN_NEW_ROWS`). Replicas count each on
//! their own; an extra ANALYZE costs a sample of the table, not a lock writers wait on.
//!
//! `incident_search` is analysed the same way, counted in the texts indexed: its statistics
//! are not only the planner's, the search reads the share of rows holding each word from them
//! to leave out common words (see `investigation::similar`), so a history imported or indexed
//! in a burst is searched as the SQLite backend would search it within a second, not after
//! autovacuum's next look.

use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// New rows before the first analysis, and the least between two.
const MIN_NEW_ROWS: u64 = 1_000;

/// Both tables' growth, shared by every transaction of one store.
pub(crate) struct Growth {
    pub(crate) alerts: Arc<TableGrowth>,
    pub(crate) search: Arc<TableGrowth>,
}

impl Growth {
    pub(crate) fn new(pool: &PgPool) -> Arc<Growth> {
        Arc::new(Growth {
            alerts: TableGrowth::new(pool.clone(), "alerts"),
            search: TableGrowth::new(pool.clone(), "incident_search"),
        })
    }
}

pub(crate) struct TableGrowth {
    pool: PgPool,
    /// A constant name, never input: it is spliced into `ANALYZE`.
    table: &'static str,
    new_rows: AtomicU64,
    rows_at_last_analysis: AtomicU64,
    analysing: AtomicBool,
}

impl TableGrowth {
    fn new(pool: PgPool, table: &'static str) -> Arc<TableGrowth> {
        Arc::new(TableGrowth {
            pool,
            table,
            new_rows: AtomicU64::new(0),
            rows_at_last_analysis: AtomicU64::new(0),
            analysing: AtomicBool::new(false),
        })
    }

    /// Called after a commit that inserted `rows` rows into the table.
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
                Err(error) => {
                    tracing::warn!(%error, table = growth.table, "cannot analyse a table; the planner keeps older statistics")
                }
            }
            growth.analysing.store(false, Ordering::Release);
        });
    }

    /// Analyses the table and returns how many rows the analysis counted.
    async fn analyse(&self) -> Result<u64, sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {}", self.table))).execute(&self.pool).await?;
        let rows: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = $1::regclass")
            .bind(self.table)
            .fetch_one(&self.pool)
            .await?;
        Ok(rows.max(0.0) as u64)
    }
}
