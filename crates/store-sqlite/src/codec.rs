//! SQLite rows to records: typed column reads for the shared codec (`staunch_store::codec`), and
//! the encodings this backend writes (microsecond timestamps, JSON as text).

use crate::backend;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use staunch_store::codec::{self, ColumnReader};
/// How this backend writes what the shared codec reads back.
pub(crate) use staunch_store::codec::{json_text, micros, optional_micros};
use staunch_store::*;

/// The driver's row, read through the shared codec (`staunch_store::codec`).
pub(crate) struct Columns<'a>(pub(crate) &'a SqliteRow);

impl Columns<'_> {
    fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(&'r self, column: &str) -> StoreResult<T> {
        self.0.try_get(column).map_err(backend)
    }
}

impl ColumnReader for Columns<'_> {
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.get(column)
    }
    fn optional_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.get(column)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        self.get(column)
    }
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }
    fn boolean(&self, column: &str) -> StoreResult<bool> {
        self.get(column)
    }
    /// JSON columns are TEXT in SQLite.
    fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        json_column(&self.get::<String>(column)?, column)
    }
}

/// A JSON column's text, parsed; text that is not JSON is corrupt data, named by column.
pub(crate) fn json_column(text: &str, column: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("column {column}: {error}")))
}

pub(crate) fn alert(row: &SqliteRow) -> StoreResult<Alert> {
    codec::alert(&Columns(row))
}

pub(crate) fn incident(row: &SqliteRow) -> StoreResult<Incident> {
    codec::incident(&Columns(row))
}

pub(crate) fn timeline_entry(row: &SqliteRow) -> StoreResult<TimelineEntry> {
    codec::timeline_entry(&Columns(row))
}

pub(crate) fn delivery(row: &SqliteRow) -> StoreResult<Delivery> {
    codec::delivery(&Columns(row))
}

pub(crate) fn change_event(row: &SqliteRow) -> StoreResult<ChangeEvent> {
    codec::change_event(&Columns(row))
}

pub(crate) fn silence(row: &SqliteRow) -> StoreResult<Silence> {
    codec::silence(&Columns(row))
}

pub(crate) fn api_token(row: &SqliteRow) -> StoreResult<ApiToken> {
    codec::api_token(&Columns(row))
}

pub(crate) fn audit_entry(row: &SqliteRow) -> StoreResult<AuditEntry> {
    codec::audit_entry(&Columns(row))
}

pub(crate) fn collect<T>(rows: Vec<SqliteRow>, map: fn(&SqliteRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}
