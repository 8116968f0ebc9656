//! Writes a whole database as an export file, page by page from one consistent snapshot, so
//! memory stays flat whatever the size of the database.

use super::DumpError;
use super::format::{FORMAT_NAME, FORMAT_VERSION, Header, RowTally, TrailerLine};
use super::tables::TABLES;
use crate::Store;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::io::Write;

/// Rows read per query.
pub const EXPORT_PAGE_ROWS: u32 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub header: Header,
    pub rows: BTreeMap<String, u64>,
    pub sha256: String,
}

/// Writes every row of `store` to `out` (see [`super::format`]) and flushes it.
pub async fn export_to<W: Write>(store: &dyn Store, out: &mut W, exported_at: Timestamp) -> Result<ExportSummary, DumpError> {
    let mut snapshot = store.begin_export().await?;
    let header = Header {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        schema_version: store.schema_version().await?,
        source_backend: store.backend_name().to_string(),
        exported_at,
    };
    write_line(out, &to_json(&header)?)?;
    let mut tally = RowTally::default();
    for table in TABLES {
        let mut after_id = 0;
        loop {
            let rows = snapshot.export_rows(table, after_id, EXPORT_PAGE_ROWS).await?;
            for row in &rows {
                let id = row.get("id").and_then(serde_json::Value::as_i64);
                let Some(id) = id.filter(|id| *id > after_id) else {
                    return Err(crate::StoreError::Corrupt(format!(
                        "table {}: rows out of id order after id {after_id}",
                        table.name
                    ))
                    .into());
                };
                after_id = id;
                let line = to_json(&RowLine { table: table.name, row })?;
                tally.add(table.name, &line);
                write_line(out, &line)?;
            }
            if rows.len() < EXPORT_PAGE_ROWS as usize {
                break;
            }
        }
    }
    let trailer = tally.trailer();
    write_line(out, &to_json(&TrailerLine { trailer: trailer.clone() })?)?;
    out.flush().map_err(|source| DumpError::Io { action: "write the export", source })?;
    Ok(ExportSummary { header, rows: trailer.rows, sha256: trailer.sha256 })
}

/// `{"table":"incidents","row":{...}}`, the table first so a reader sees it before the row.
#[derive(serde::Serialize)]
struct RowLine<'a> {
    table: &'a str,
    row: &'a serde_json::Value,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DumpError> {
    serde_json::to_string(value).map_err(|error| crate::StoreError::Corrupt(format!("cannot encode a row: {error}")).into())
}

fn write_line<W: Write>(out: &mut W, line: &str) -> Result<(), DumpError> {
    out.write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|source| DumpError::Io { action: "write the export", source })
}
