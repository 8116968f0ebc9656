//! PostgreSQL rows to records: typed column reads for the shared codec (`staunch_store::codec`),
//! and the encodings this backend writes (BIGINT microsecond timestamps, JSONB).

use crate::backend;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use staunch_store::codec::{self, ColumnReader};
use staunch_store::*;

pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) fn optional_micros(at: Option<Timestamp>) -> Option<i64> {
    at.map(micros)
}

/// JSON as text, bound as `$n::jsonb` (and as `text[]` cast to JSONB in bulk statements).
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// The driver's row, read through the shared codec (`staunch_store::codec`).
struct Columns<'a>(&'a PgRow);

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
    fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        let Json(value): Json<serde_json::Value> = self.get(column)?;
        Ok(value)
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

pub(crate) fn collect<T>(rows: Vec<PgRow>, map: fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}
