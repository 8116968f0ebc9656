//! The PostgreSQL side of runbook runs: one row per run, its progress as JSONB, read `FOR
//! UPDATE` inside a transaction so replicas never interleave two writes of one run, and the
//! per-symptom outcome counts computed in SQL.

use crate::backend;
use crate::codec::{Columns, json_text, micros, optional_micros};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use staunch_store::codec;
use staunch_store::*;

const COLUMNS: &str = "id, org_id, incident_id, runbook, definition, symptom, dry_run, started_by_kind, started_by_id, \
    state, progress, created_at, updated_at, finished_at";

fn run(row: &PgRow) -> StoreResult<RunbookRun> {
    codec::runbook_run(&Columns(row))
}

pub(crate) async fn for_incident(pool: &PgPool, org: OrgId, incident_id: i64) -> StoreResult<Vec<RunbookRun>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM runbook_runs WHERE org_id = $1 AND incident_id = $2 ORDER BY id"
    )))
    .bind(org.0)
    .bind(incident_id)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter().map(run).collect()
}

pub(crate) async fn one(pool: &PgPool, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM runbook_runs WHERE org_id = $1 AND id = $2")))
        .bind(org.0)
        .bind(run_id)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(run).transpose()
}

pub(crate) async fn one_for_update(connection: &mut PgConnection, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM runbook_runs WHERE org_id = $1 AND id = $2 FOR UPDATE")))
        .bind(org.0)
        .bind(run_id)
        .fetch_optional(connection)
        .await
        .map_err(backend)?;
    row.as_ref().map(run).transpose()
}

pub(crate) async fn active(pool: &PgPool) -> StoreResult<Vec<RunbookRun>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM runbook_runs WHERE state IN ('running', 'undoing') ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter().map(run).collect()
}

pub(crate) async fn outcomes(pool: &PgPool, org: OrgId) -> StoreResult<Vec<RunbookOutcomes>> {
    let rows = sqlx::query(
        "SELECT r.symptom AS symptom, r.runbook AS runbook, COUNT(*)::BIGINT AS attempts, \
         SUM(CASE WHEN r.state = 'recovered' OR (r.state = 'finished' AND i.state IN ('mitigated', 'resolved')) \
         THEN 1 ELSE 0 END)::BIGINT AS successes \
         FROM runbook_runs r JOIN incidents i ON i.id = r.incident_id AND i.org_id = r.org_id \
         WHERE r.org_id = $1 AND NOT r.dry_run AND r.symptom IS NOT NULL \
         AND r.state IN ('recovered', 'finished', 'failed', 'interrupted', 'undone') \
         GROUP BY r.symptom, r.runbook ORDER BY r.symptom, r.runbook",
    )
    .bind(org.0)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter().map(|row| codec::runbook_outcomes(&Columns(row))).collect()
}

pub(crate) async fn insert(connection: &mut PgConnection, new: &NewRunbookRun) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO runbook_runs (org_id, incident_id, runbook, definition, symptom, dry_run, started_by_kind, \
         started_by_id, state, progress, created_at, updated_at, finished_at) \
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb, $11, $11, $12) RETURNING id",
    )
    .bind(new.org.0)
    .bind(new.incident_id)
    .bind(&new.runbook)
    .bind(json_text(&new.definition))
    .bind(&new.symptom)
    .bind(new.dry_run)
    .bind(&new.started_by.kind)
    .bind(&new.started_by.id)
    .bind(new.progress.state.as_str())
    .bind(json_text(&new.progress))
    .bind(micros(new.created_at))
    .bind(new.progress.state.is_stopped().then(|| micros(new.created_at)))
    .fetch_one(connection)
    .await
    .map_err(backend)?;
    Ok(id)
}

pub(crate) async fn update(connection: &mut PgConnection, run: &RunbookRun) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE runbook_runs SET state = $1, progress = $2::jsonb, updated_at = $3, finished_at = $4 \
         WHERE org_id = $5 AND id = $6",
    )
    .bind(run.progress.state.as_str())
    .bind(json_text(&run.progress))
    .bind(micros(run.updated_at))
    .bind(optional_micros(run.finished_at))
    .bind(run.org.0)
    .bind(run.id)
    .execute(connection)
    .await
    .map_err(backend)?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Backend(format!("runbook run {} does not exist", run.id)));
    }
    Ok(())
}
