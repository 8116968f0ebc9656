//! The PostgreSQL side of action items: one row per follow-up, read per incident.

use crate::backend;
use crate::codec::{Columns, micros};
use sqlx::{PgConnection, PgPool};
use staunch_store::codec;
use staunch_store::{ActionItem, NewActionItem, OrgId, StoreResult};

const COLUMNS: &str = "id, org_id, incident_id, text, owner, due, status, actor_kind, actor_id, created_at, updated_at";

fn read(row: &sqlx::postgres::PgRow) -> StoreResult<ActionItem> {
    codec::action_item(&Columns(row))
}

pub(crate) async fn list(pool: &PgPool, org: OrgId, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
    let sql = format!("SELECT {COLUMNS} FROM action_items WHERE org_id = $1 AND incident_id = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(incident_id).fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(read).collect()
}

pub(crate) async fn one(pool: &PgPool, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
    let sql = format!("SELECT {COLUMNS} FROM action_items WHERE org_id = $1 AND id = $2");
    let row =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(action_item_id).fetch_optional(pool).await.map_err(backend)?;
    row.as_ref().map(read).transpose()
}

pub(crate) async fn one_in(connection: &mut PgConnection, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
    let sql = format!("SELECT {COLUMNS} FROM action_items WHERE org_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(action_item_id)
        .fetch_optional(&mut *connection)
        .await
        .map_err(backend)?;
    row.as_ref().map(read).transpose()
}

pub(crate) async fn insert(connection: &mut PgConnection, item: &NewActionItem) -> StoreResult<ActionItem> {
    let sql = format!(
        "INSERT INTO action_items (org_id, incident_id, text, owner, due, status, actor_kind, actor_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(item.org.0)
        .bind(item.incident_id)
        .bind(&item.text)
        .bind(&item.owner)
        .bind(item.due.map(|due| due.to_string()))
        .bind(item.status.as_str())
        .bind(&item.created_by.kind)
        .bind(&item.created_by.id)
        .bind(micros(item.created_at))
        .bind(micros(item.created_at))
        .fetch_one(&mut *connection)
        .await
        .map_err(backend)?;
    read(&row)
}

pub(crate) async fn update(connection: &mut PgConnection, item: &ActionItem) -> StoreResult<()> {
    sqlx::query(
        "UPDATE action_items SET text = $1, owner = $2, due = $3, status = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
    )
    .bind(&item.text)
    .bind(&item.owner)
    .bind(item.due.map(|due| due.to_string()))
    .bind(item.status.as_str())
    .bind(micros(item.updated_at))
    .bind(item.org.0)
    .bind(item.id)
    .execute(&mut *connection)
    .await
    .map_err(backend)?;
    Ok(())
}
