//! SQLite rows to records: typed column reads for the shared codec (`staunch_store::codec`), and
//! the encodings this backend writes (microsecond timestamps, JSON as text).

use crate::backend;
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
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
    /// JSON columns are TEXT in SQLite, parsed where the row holds it.
    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        json_column(self.get::<&str>(column)?, column)
    }
}

/// A JSON column's text, parsed; text that is not a `T` is corrupt data, named by column.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| codec::corrupt_column(column, error))
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

/// Decodes rows as the driver hands them over, so a result's rows are never all held at once:
/// each row holds SQLite's copy of every value (about 1.8 MiB for a listing of 1,000 alerts of 20
/// columns, under heaptrack).
pub(crate) async fn decode_each<T>(
    mut rows: BoxStream<'_, sqlx::Result<SqliteRow>>,
    decode: impl Fn(&SqliteRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut records = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(backend)? {
        records.push(decode(&row)?);
    }
    Ok(records)
}
