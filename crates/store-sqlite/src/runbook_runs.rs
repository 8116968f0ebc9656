//! The SQLite side of runbook runs: one row per run, its progress as JSON text, and the
//! per-symptom outcome counts computed in SQL.

use crate::backend;
use crate::codec::{json_text, micros, optional_micros};
use crate::statement::query;
use rusqlite::Connection;
use staunch_store::codec;
use staunch_store::*;

const COLUMNS: &str = "id, org_id, incident_id, runbook, definition, symptom, dry_run, started_by_kind, started_by_id, \
    state, progress, created_at, updated_at, finished_at";

pub(crate) fn for_incident(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Vec<RunbookRun>> {
    query(format!("SELECT {COLUMNS} FROM runbook_runs WHERE org_id = ? AND incident_id = ? ORDER BY id"))
        .bind(org.0)
        .bind(incident_id)
        .fetch_decoded(connection, |row| codec::runbook_run(row))
}

const ONE: &str = "WHERE org_id = ? AND id = ?";

/// One run, on a reading connection or inside the write transaction.
pub(crate) fn one(connection: &Connection, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
    query(format!("SELECT {COLUMNS} FROM runbook_runs {ONE}"))
        .bind(org.0)
        .bind(run_id)
        .fetch_one_decoded(connection, |row| codec::runbook_run(row))
}

pub(crate) fn active(connection: &Connection) -> StoreResult<Vec<RunbookRun>> {
    query(format!("SELECT {COLUMNS} FROM runbook_runs WHERE state IN ('running', 'undoing') ORDER BY id"))
        .fetch_decoded(connection, |row| codec::runbook_run(row))
}

pub(crate) fn outcomes(connection: &Connection, org: OrgId) -> StoreResult<Vec<RunbookOutcomes>> {
    query(
        "SELECT r.symptom AS symptom, r.runbook AS runbook, COUNT(*) AS attempts, \
         SUM(CASE WHEN r.state = 'recovered' OR (r.state = 'finished' AND i.state IN ('mitigated', 'resolved')) \
         THEN 1 ELSE 0 END) AS successes \
         FROM runbook_runs r JOIN incidents i ON i.id = r.incident_id AND i.org_id = r.org_id \
         WHERE r.org_id = ? AND r.dry_run = 0 AND r.symptom IS NOT NULL \
         AND r.state IN ('recovered', 'finished', 'failed', 'interrupted', 'undone') \
          GROUP BY r.symptom, r.runbook ORDER BY r.symptom, r.runbook",
    )
    .bind(org.0)
    .fetch_decoded(connection, |row| codec::runbook_outcomes(row))
}

pub(crate) fn insert(connection: &rusqlite::Connection, new: &NewRunbookRun) -> StoreResult<i64> {
    let result = query(
        "INSERT INTO runbook_runs (org_id, incident_id, runbook, definition, symptom, dry_run, started_by_kind, \
         started_by_id, state, progress, created_at, updated_at, finished_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(micros(new.created_at))
    .bind(new.progress.state.is_stopped().then(|| micros(new.created_at)))
    .execute(connection)
    .map_err(backend)?;
    Ok(result.last_insert_rowid())
}

pub(crate) fn update(connection: &rusqlite::Connection, run: &RunbookRun) -> StoreResult<()> {
    let result =
        query("UPDATE runbook_runs SET state = ?, progress = ?, updated_at = ?, finished_at = ? WHERE org_id = ? AND id = ?")
            .bind(run.progress.state.as_str())
            .bind(json_text(&run.progress))
            .bind(micros(run.updated_at))
            .bind(optional_micros(run.finished_at))
            .bind(run.org.0)
            .bind(run.id)
            .execute(connection)
            .map_err(backend)?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Backend(format!("runbook run {} does not exist", run.id)));
    }
    Ok(())
}
