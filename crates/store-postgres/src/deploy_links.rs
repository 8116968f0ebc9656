//! The PostgreSQL side of deploy links: one row per linked incident, the deploy as JSONB, and
//! the rollback settled by a conditional update: a concurrent one waits for the row lock, then finds it settled.

use crate::backend;
use crate::codec::{Columns, json_text, micros};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use staunch_store::codec::{self, DEPLOY_LINK_COLUMNS};
use staunch_store::*;

fn link(row: &PgRow) -> StoreResult<DeployLink> {
    codec::deploy_link(&Columns(row))
}

pub(crate) async fn for_incident(pool: &PgPool, org: OrgId, incident_id: i64) -> StoreResult<Option<DeployLink>> {
    let sql = format!("SELECT {DEPLOY_LINK_COLUMNS} FROM deploy_links WHERE org_id = $1 AND incident_id = $2");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(org.0).bind(incident_id).fetch_optional(pool).await.map_err(backend)?;
    row.as_ref().map(link).transpose()
}

pub(crate) async fn pending(pool: &PgPool, limit: u32) -> StoreResult<Vec<DeployLink>> {
    let sql = format!("SELECT {DEPLOY_LINK_COLUMNS} FROM deploy_links WHERE rollback_state = 'pending' ORDER BY id LIMIT $1");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(link).collect()
}

pub(crate) async fn recent_changes(
    connection: &mut PgConnection,
    org: OrgId,
    service_id: &str,
    limit: u32,
) -> StoreResult<Vec<ChangeEvent>> {
    let rows = sqlx::query(
        "SELECT id, org_id, service_id, summary, source, at, received_at, details, links FROM change_events \
         WHERE org_id = $1 AND service_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(org.0)
    .bind(service_id)
    .bind(i64::from(limit))
    .fetch_all(connection)
    .await
    .map_err(backend)?;
    rows.iter().map(|row| codec::change_event(&Columns(row))).collect()
}

pub(crate) async fn insert(connection: &mut PgConnection, new: &NewDeployLink) -> StoreResult<bool> {
    let result = sqlx::query(
        "INSERT INTO deploy_links (org_id, incident_id, service_id, change_id, deploy, linked_at, rollback_runbook, \
         rollback_approval, rollback_state, rollback_run_id, rollback_note, updated_at) \
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, NULL, NULL, $10) ON CONFLICT (org_id, incident_id) DO NOTHING",
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
    .await
    .map_err(backend)?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn settle(
    connection: &mut PgConnection,
    org: OrgId,
    incident_id: i64,
    settlement: &RollbackSettlement,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE deploy_links SET rollback_state = $1, rollback_run_id = $2, rollback_note = $3, updated_at = $4 \
         WHERE org_id = $5 AND incident_id = $6 AND rollback_state = 'pending'",
    )
    .bind(settlement.state.as_str())
    .bind(settlement.run_id)
    .bind(&settlement.note)
    .bind(micros(settlement.at))
    .bind(org.0)
    .bind(incident_id)
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(result.rows_affected() == 1)
}
