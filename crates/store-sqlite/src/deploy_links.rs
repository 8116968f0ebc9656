//! The SQLite side of deploy links: one row per linked incident, the deploy as JSON text, and
//! the rollback settled by a conditional update (one writer anyway).

use crate::backend;
use crate::codec::{json_text, micros};
use crate::statement::query;
use rusqlite::Connection;
use staunch_store::codec::{self, DEPLOY_LINK_COLUMNS};
use staunch_store::*;

pub(crate) fn for_incident(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Option<DeployLink>> {
    let sql = format!("SELECT {DEPLOY_LINK_COLUMNS} FROM deploy_links WHERE org_id = ? AND incident_id = ?");
    query(sql).bind(org.0).bind(incident_id).fetch_one_decoded(connection, |row| codec::deploy_link(row))
}

pub(crate) fn pending(connection: &Connection, limit: u32) -> StoreResult<Vec<DeployLink>> {
    let sql = format!("SELECT {DEPLOY_LINK_COLUMNS} FROM deploy_links WHERE rollback_state = 'pending' ORDER BY id LIMIT ?");
    query(sql).bind(i64::from(limit)).fetch_decoded(connection, |row| codec::deploy_link(row))
}

pub(crate) fn recent_changes(
    connection: &rusqlite::Connection,
    org: OrgId,
    service_id: &str,
    limit: u32,
) -> StoreResult<Vec<ChangeEvent>> {
    query(
        "SELECT id, org_id, service_id, summary, source, at, received_at, details, links FROM change_events \
         WHERE org_id = ? AND service_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind(org.0)
    .bind(service_id)
    .bind(i64::from(limit))
    .fetch_decoded(connection, |row| codec::change_event(row))
}

pub(crate) fn insert(connection: &rusqlite::Connection, new: &NewDeployLink) -> StoreResult<bool> {
    let result = query(
        "INSERT INTO deploy_links (org_id, incident_id, service_id, change_id, deploy, linked_at, rollback_runbook, \
         rollback_approval, rollback_state, rollback_run_id, rollback_note, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?) ON CONFLICT (org_id, incident_id) DO NOTHING",
    )
    .bind(new.org.0)
    .bind(new.incident_id)
    .bind(&new.service_id)
    .bind(new.change_id)
    .bind(json_text(&new.deploy))
    .bind(micros(new.linked_at))
    .bind(&new.rollback_runbook)
    .bind(new.rollback_approval)
    .bind(new.rollback_state.as_str())
    .bind(micros(new.linked_at))
    .execute(connection)
    .map_err(backend)?;
    Ok(result.rows_affected() == 1)
}

pub(crate) fn settle(
    connection: &rusqlite::Connection,
    org: OrgId,
    incident_id: i64,
    settlement: &RollbackSettlement,
) -> StoreResult<bool> {
    let result = query(
        "UPDATE deploy_links SET rollback_state = ?, rollback_run_id = ?, rollback_note = ?, updated_at = ? \
         WHERE org_id = ? AND incident_id = ? AND rollback_state = 'pending'",
    )
    .bind(settlement.state.as_str())
    .bind(settlement.run_id)
    .bind(&settlement.note)
    .bind(micros(settlement.at))
    .bind(org.0)
    .bind(incident_id)
    .execute(connection)
    .map_err(backend)?;
    Ok(result.rows_affected() == 1)
}
