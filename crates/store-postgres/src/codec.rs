//! PostgreSQL rows to records: typed column reads for the shared codec (`staunch_store::codec`),
//! and the encodings this backend writes (BIGINT microsecond timestamps, JSONB).

use crate::backend;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::JsonRawValue;
use staunch_store::codec::{self, ColumnReader};
/// How this backend writes what the shared codec reads back.
pub(crate) use staunch_store::codec::{json_text, micros, optional_micros};
use staunch_store::*;

/// The driver's row, read through the shared codec (`staunch_store::codec`).
pub(crate) struct Columns<'a>(pub(crate) &'a PgRow);

impl Columns<'_> {
    fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(&'r self, column: &str) -> StoreResult<T> {
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
    /// Parsed from the row's JSON text into `T`; text of another shape is corrupt data.
    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let text: &JsonRawValue = self.get(column)?;
        serde_json::from_str(text.get()).map_err(|error| codec::corrupt_column(column, error))
    }
}

pub(crate) fn alert(row: &PgRow) -> StoreResult<Alert> {
    codec::alert(&Columns(row))
}

pub(crate) fn incident(row: &PgRow) -> StoreResult<Incident> {
    codec::incident(&Columns(row))
}

pub(crate) fn timeline_entry(row: &PgRow) -> StoreResult<TimelineEntry> {
    codec::timeline_entry(&Columns(row))
}

pub(crate) fn job(row: &PgRow) -> StoreResult<Job> {
    codec::job(&Columns(row))
}

pub(crate) fn delivery(row: &PgRow) -> StoreResult<Delivery> {
    codec::delivery(&Columns(row))
}

pub(crate) fn change_event(row: &PgRow) -> StoreResult<ChangeEvent> {
    codec::change_event(&Columns(row))
}

pub(crate) fn silence(row: &PgRow) -> StoreResult<Silence> {
    codec::silence(&Columns(row))
}

pub(crate) fn api_token(row: &PgRow) -> StoreResult<ApiToken> {
    codec::api_token(&Columns(row))
}

pub(crate) fn audit_entry(row: &PgRow) -> StoreResult<AuditEntry> {
    codec::audit_entry(&Columns(row))
}

pub(crate) fn collect<T>(rows: Vec<PgRow>, map: fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}
