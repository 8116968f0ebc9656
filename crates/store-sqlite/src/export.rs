//! Whole-table reads and writes for `staunch export` and `staunch import`: the SQLite half of
//! `staunch_store::dump`. Table and column names come from its static list, never from input.

use crate::codec::json_text;
use crate::statement::query;
use crate::{backend, database_path};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use staunch_store::dump::{Cell, TABLES, Table, row_to_json};
use staunch_store::{ExportSnapshot, StoreResult};
use std::sync::{Arc, Mutex};

/// A read transaction on a connection of its own: SQLite's WAL keeps the snapshot of its
/// first read until it ends, which is when the connection closes.
pub(crate) struct SqliteExport {
    /// Shared with the blocking task each read runs on.
    connection: Arc<Mutex<Connection>>,
}

impl SqliteExport {
    /// Starts the transaction and reads once, so the snapshot is the database as it is now.
    pub(crate) fn begin(connection: Connection) -> StoreResult<SqliteExport> {
        connection.execute_batch("BEGIN; SELECT count(*) FROM sqlite_schema;").map_err(backend)?;
        Ok(SqliteExport { connection: Arc::new(Mutex::new(connection)) })
    }
}

#[async_trait]
impl ExportSnapshot for SqliteExport {
    async fn export_rows(&mut self, table: &'static Table, after_id: i64, limit: u32) -> StoreResult<Vec<serde_json::Value>> {
        let sql = format!("SELECT {} FROM {} WHERE id > ? ORDER BY id LIMIT ?", table.column_list(), table.name);
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().map_err(|_| backend("the export's connection was poisoned"))?;
            query(sql).bind(after_id).bind(i64::from(limit)).fetch_decoded(&connection, |row| row_to_json(table, row))
        })
        .await
        .map_err(|error| backend(format!("export read failed: {error}")))?
    }
}

pub(crate) fn tables_with_rows(connection: &rusqlite::Connection) -> StoreResult<Vec<&'static str>> {
    let mut occupied = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {}{})", table.name, unseeded_rows_clause(table));
        let has_rows: Option<bool> = query(sql).fetch_scalar(connection)?;
        if has_rows == Some(true) {
            occupied.push(table.name);
        }
    }
    Ok(occupied)
}

pub(crate) fn import_rows(connection: &rusqlite::Connection, table: &Table, rows: &[Vec<Cell>]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query = query(format!("INSERT INTO {} ({}) ", table.name, table.column_list()));
    query.push_values(rows, |values, cells| {
        for cell in cells {
            match cell {
                Cell::Int(value) => values.push_bind(*value),
                Cell::Text(value) => values.push_bind(value),
                Cell::Bool(value) => values.push_bind(*value),
                Cell::Json(value) => values.push_bind(json_text(value)),
            };
        }
    });
    if !table.seeded_ids.is_empty() {
        query.push(&upsert_on_id(table));
    }
    query.execute(connection).map_err(backend)?;
    Ok(())
}

/// The (org, service, dedup key, id) of imported alert rows, whose keys the writer indexes.
pub(crate) fn alert_keys_of(table: &Table, rows: &[Vec<Cell>]) -> StoreResult<Vec<(i64, String, String, i64)>> {
    let position = |name: &str| {
        table.columns.iter().position(|column| column.name == name).ok_or_else(|| backend(format!("alerts have no {name}")))
    };
    let (id, org, service, dedup) = (position("id")?, position("org_id")?, position("service_id")?, position("dedup_key")?);
    let int = |cells: &[Cell], index: usize| match cells.get(index) {
        Some(Cell::Int(Some(value))) => Ok(*value),
        _ => Err(backend(format!("imported alert column {} is not a number", table.columns[index].name))),
    };
    let text = |cells: &[Cell], index: usize| match cells.get(index) {
        Some(Cell::Text(Some(value))) => Ok(value.clone()),
        _ => Err(backend(format!("imported alert column {} is not text", table.columns[index].name))),
    };
    rows.iter().map(|cells| Ok((int(cells, org)?, text(cells, service)?, text(cells, dedup)?, int(cells, id)?))).collect()
}

/// ` WHERE id NOT IN (1)` for a table the migrations seed rows into, else nothing.
fn unseeded_rows_clause(table: &Table) -> String {
    if table.seeded_ids.is_empty() {
        return String::new();
    }
    let seeded: Vec<String> = table.seeded_ids.iter().map(i64::to_string).collect();
    format!(" WHERE id NOT IN ({})", seeded.join(", "))
}

/// ` ON CONFLICT (id) DO UPDATE SET a = excluded.a, ...`: an imported row replaces the seeded
/// row with its id.
fn upsert_on_id(table: &Table) -> String {
    let assignments: Vec<String> =
        table.columns.iter().skip(1).map(|column| format!("{0} = excluded.{0}", column.name)).collect();
    format!(" ON CONFLICT (id) DO UPDATE SET {}", assignments.join(", "))
}

/// AUTOINCREMENT never hands out an id at or below `sqlite_sequence.seq`; explicit ids already
/// raise it, but saying so keeps the guarantee independent of that detail.
pub(crate) fn reset_id_sequences(connection: &rusqlite::Connection) -> StoreResult<()> {
    for table in TABLES {
        let name = table.name;
        let update = format!(
            "UPDATE sqlite_sequence SET seq = (SELECT MAX(id) FROM {name}) \
             WHERE name = '{name}' AND seq < (SELECT MAX(id) FROM {name})"
        );
        let insert = format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT '{name}', MAX(id) FROM {name} \
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{name}') HAVING MAX(id) IS NOT NULL"
        );
        for sql in [update, insert] {
            query(sql).execute(connection).map_err(backend)?;
        }
    }
    Ok(())
}

/// The schema version of the database at `url` without migrating it (0 when the file does
/// not exist yet), for `staunch migrate` to report where it started.
pub async fn schema_version_at(url: &str) -> StoreResult<i64> {
    let path = database_path(url)?;
    if !path.exists() {
        return Ok(0);
    }
    let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)?;
    connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend)
}

#[cfg(test)]
mod tests {
    use crate::statement::query;
    use crate::{Durability, SqliteStore};
    use staunch_store::dump::{NOT_EXPORTED, TABLES};

    /// A migration that adds a table or a column must add it to the export too, or an import
    /// would silently lose it.
    #[tokio::test]
    async fn the_export_names_every_table_and_column_of_the_schema() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("staunch.db");
        let store = SqliteStore::open(path.to_str().unwrap(), Durability::Normal).await.unwrap();
        let names = |sql: String| async {
            store
                .readers
                .read(move |connection| query(sql).fetch_decoded(connection, |row| row.get::<String>("name")))
                .await
                .unwrap()
        };
        let mut tables = names(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'incident_search%' AND name NOT LIKE 'alert_key%' ORDER BY name"
                .to_string(),
        )
        .await;
        tables.retain(|table| !NOT_EXPORTED.contains(&table.as_str()));
        let mut exported: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
        exported.sort_unstable();
        assert_eq!(tables, exported);
        for table in TABLES {
            let columns = names(format!("SELECT name FROM pragma_table_info('{}')", table.name)).await;
            let named: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
            assert_eq!(columns, named, "columns of {}", table.name);
        }
    }
}
