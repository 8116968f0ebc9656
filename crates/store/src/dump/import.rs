//! Loads an export file into an empty database, in one transaction that commits only once the
//! trailer's counts and checksum match what was read. Rows go in batches, so memory stays flat
//! whatever the size of the file.

use super::DumpError;
use super::format::{FORMAT_NAME, FORMAT_VERSION, Header, RowTally, Trailer, TrailerLine};
use super::tables::{Cell, TABLES, Table, row_cells, table_named};
use crate::{Actor, NewAuditEntry, OrgId, Store, StoreTx};
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::BufRead;

/// Rows handed to the backend at once.
pub const IMPORT_BATCH_ROWS: usize = 500;

/// Who imports, for the audit log of the default organisation.
#[derive(Debug, Clone)]
pub struct ImportAudit {
    pub actor: Actor,
    pub origin: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    pub header: Header,
    pub rows: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowLine {
    table: String,
    row: serde_json::Value,
}

/// Loads the export file `input` into `store`, which must be empty. Nothing is committed
/// unless every line is well formed, every row is accepted and the trailer matches.
pub async fn import_from<R: BufRead>(
    store: &dyn Store,
    input: &mut R,
    audit: Option<ImportAudit>,
) -> Result<ImportSummary, DumpError> {
    let mut lines = Lines { input, number: 0 };
    let header = read_header(&mut lines)?;
    let database_version = store.schema_version().await?;
    if header.schema_version != database_version {
        return Err(DumpError::SchemaVersion { file: header.schema_version, database: database_version });
    }

    let mut tx = store.begin().await?;
    let occupied = tx.tables_with_rows().await?;
    if !occupied.is_empty() {
        return Err(DumpError::NotEmpty(occupied));
    }
    let mut tally = RowTally::default();
    let mut batch = Batch { table: &TABLES[0], rows: Vec::with_capacity(IMPORT_BATCH_ROWS), last_line: 0 };
    let trailer = loop {
        let Some(line) = lines.next()? else {
            return Err(DumpError::Truncated { row_lines: tally.row_lines });
        };
        let at_line = |message: String| DumpError::Line { line: line.number, message };
        let value: serde_json::Value = match serde_json::from_str(&line.text) {
            Ok(value) => value,
            // A last line cut off in the middle is a truncated file, not a malformed one.
            Err(_) if !line.terminated => return Err(DumpError::Truncated { row_lines: tally.row_lines }),
            Err(error) => return Err(at_line(format!("not a JSON line: {error}"))),
        };
        if value.get("trailer").is_some() {
            let trailer: TrailerLine = serde_json::from_value(value).map_err(|error| at_line(format!("bad trailer: {error}")))?;
            break trailer.trailer;
        }
        let row_line: RowLine =
            serde_json::from_value(value).map_err(|error| at_line(format!("expected {{\"table\":…,\"row\":{{…}}}}: {error}")))?;
        let Some(table) = table_named(&row_line.table) else {
            return Err(at_line(format!("unknown table {:?}", row_line.table)));
        };
        if table_position(table) < table_position(batch.table) {
            return Err(at_line(format!(
                "rows of table {} after rows of table {}: tables must come in export order",
                table.name, batch.table.name
            )));
        }
        let cells = row_cells(table, row_line.row).map_err(|error| at_line(error.to_string()))?;
        if !std::ptr::eq(table, batch.table) || batch.rows.len() >= IMPORT_BATCH_ROWS {
            batch.load(tx.as_mut()).await?;
            batch.table = table;
        }
        tally.add(table.name, &line.text);
        batch.rows.push(cells);
        batch.last_line = line.number;
    };
    if let Some(extra) = lines.next()? {
        return Err(DumpError::Line { line: extra.number, message: "more lines after the trailer".into() });
    }
    batch.load(tx.as_mut()).await?;
    check_trailer(&tally, &trailer)?;

    tx.reset_id_sequences().await?;
    // The search of past incidents is not in the file: rebuilt here (notes by their trigger).
    tx.index_every_incident_text().await?;
    if let Some(audit) = audit {
        tx.append_audit(&NewAuditEntry {
            org: OrgId::DEFAULT,
            at: audit.at,
            actor: audit.actor,
            origin: audit.origin,
            action: "database.import".into(),
            target: "database".into(),
            details: serde_json::json!({
                "source_backend": header.source_backend,
                "exported_at": header.exported_at,
                "rows": tally.rows,
            }),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(ImportSummary { header, rows: tally.rows })
}

fn check_trailer(tally: &RowTally, trailer: &Trailer) -> Result<(), DumpError> {
    match tally.differences(trailer) {
        Some(differences) => Err(DumpError::Mismatch(differences)),
        None => Ok(()),
    }
}

fn read_header<R: BufRead>(lines: &mut Lines<'_, R>) -> Result<Header, DumpError> {
    let Some(line) = lines.next()? else {
        return Err(DumpError::Line { line: 1, message: "the file is empty".into() });
    };
    let at_line = |message: String| DumpError::Line { line: line.number, message };
    let header: Header =
        serde_json::from_str(&line.text).map_err(|error| at_line(format!("not a {FORMAT_NAME} header: {error}")))?;
    if header.format != FORMAT_NAME {
        return Err(at_line(format!("format {:?} is not {FORMAT_NAME:?}", header.format)));
    }
    if header.version != FORMAT_VERSION {
        return Err(at_line(format!("format version {} is not {FORMAT_VERSION}, the one this staunch reads", header.version)));
    }
    Ok(header)
}

fn table_position(table: &Table) -> usize {
    TABLES.iter().position(|known| known.name == table.name).unwrap_or(usize::MAX)
}

/// Rows of one table waiting to be handed to the backend.
struct Batch {
    table: &'static Table,
    rows: Vec<Vec<Cell>>,
    last_line: u64,
}

impl Batch {
    async fn load(&mut self, tx: &mut dyn StoreTx) -> Result<(), DumpError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        tx.import_rows(self.table, &self.rows).await.map_err(|error| DumpError::Line {
            line: self.last_line,
            message: format!("loading table {} (the rows up to this line): {error}", self.table.name),
        })?;
        self.rows.clear();
        Ok(())
    }
}

struct Line {
    number: u64,
    /// Without its line ending.
    text: String,
    /// Whether the line ended with `\n` (the last line of a truncated file does not).
    terminated: bool,
}

struct Lines<'a, R> {
    input: &'a mut R,
    number: u64,
}

impl<R: BufRead> Lines<'_, R> {
    /// The next line, or `None` at the end of the input. Blank lines are skipped.
    fn next(&mut self) -> Result<Option<Line>, DumpError> {
        loop {
            let mut bytes = Vec::new();
            let read =
                self.input.read_until(b'\n', &mut bytes).map_err(|source| DumpError::Io { action: "read the export", source })?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            let terminated = bytes.ends_with(b"\n");
            let text = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(error) if terminated => {
                    return Err(DumpError::Line {
                        line: self.number,
                        message: format!("not UTF-8 text: {}", error.utf8_error()),
                    });
                }
                // Cut off inside a character: the caller sees an unparsable, unterminated line.
                Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if !text.is_empty() {
                return Ok(Some(Line { number: self.number, text: text.to_string(), terminated }));
            }
        }
    }
}
