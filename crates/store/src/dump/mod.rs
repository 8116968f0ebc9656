//! Moving a whole installation between databases: `staunch export` writes every row of every
//! table as JSON Lines, `staunch import` loads such a file into an empty database of either
//! backend, keeping every id.
//!
//! `tables` is the one list of tables and columns both backends agree on; `format` is the
//! file (a header line, one line per row, a trailer with counts and a SHA-256 so a truncated or
//! edited file is refused); `export` and `import` drive a [`crate::Store`] through them. Only
//! the SQL that reads and writes rows lives in the backends.

mod export;
mod format;
mod import;
mod tables;

pub use export::{EXPORT_PAGE_ROWS, ExportSummary, export_to};
pub use format::{FORMAT_NAME, FORMAT_VERSION, Header, Trailer};
pub use import::{IMPORT_BATCH_ROWS, ImportAudit, ImportSummary, import_from};
pub use tables::{Cell, Column, ColumnKind, NOT_EXPORTED, TABLES, Table, row_cells, row_to_json, table_named};

/// Why an export or an import stopped. An import that stops has changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    #[error("cannot {action}: {source}")]
    Io { action: &'static str, source: std::io::Error },
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("the file is truncated: it ends after {row_lines} rows, without its trailer line")]
    Truncated { row_lines: u64 },
    #[error("the file does not match its trailer ({0}); it was cut short or changed after export")]
    Mismatch(String),
    #[error("the target database is not empty (rows in {}); import only into a new database", .0.join(", "))]
    NotEmpty(Vec<&'static str>),
    #[error(
        "the file holds schema version {file}, the target database is at version {database}; export and import with the same staunch version"
    )]
    SchemaVersion { file: i64, database: i64 },
}
