//! The SQLite side of action items: one row per follow-up, read per incident.

use crate::backend;
use crate::codec::micros;
use crate::statement::query;
use rusqlite::Connection;
use staunch_store::codec;
use staunch_store::{ActionItem, NewActionItem, OrgId, StoreError, StoreResult};

const COLUMNS: &str = "id, org_id, incident_id, text, owner, due, status, actor_kind, actor_id, created_at, updated_at";

pub(crate) fn list(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
    let sql = format!("SELECT {COLUMNS} FROM action_items WHERE org_id = ? AND incident_id = ? ORDER BY id");
    query(sql).bind(org.0).bind(incident_id).fetch_decoded(connection, |row| codec::action_item(row))
}

/// One item, on a reading connection or inside the write transaction.
pub(crate) fn one(connection: &Connection, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
    let sql = format!("SELECT {COLUMNS} FROM action_items WHERE org_id = ? AND id = ?");
    query(sql).bind(org.0).bind(action_item_id).fetch_one_decoded(connection, |row| codec::action_item(row))
}

pub(crate) fn insert(connection: &rusqlite::Connection, item: &NewActionItem) -> StoreResult<ActionItem> {
    let sql = format!(
        "INSERT INTO action_items (org_id, incident_id, text, owner, due, status, actor_kind, actor_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
    );
    query(sql)
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
        .fetch_one_decoded(connection, |row| codec::action_item(row))?
        .ok_or_else(|| StoreError::Backend("inserted action item missing from RETURNING".into()))
}

pub(crate) fn update(connection: &rusqlite::Connection, item: &ActionItem) -> StoreResult<()> {
    query("UPDATE action_items SET text = ?, owner = ?, due = ?, status = ?, updated_at = ? WHERE org_id = ? AND id = ?")
        .bind(&item.text)
        .bind(&item.owner)
        .bind(item.due.map(|due| due.to_string()))
        .bind(item.status.as_str())
        .bind(micros(item.updated_at))
        .bind(item.org.0)
        .bind(item.id)
        .execute(connection)
        .map_err(backend)?;
    Ok(())
}
