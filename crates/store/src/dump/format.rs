//! The export file: JSON Lines. The first line is the [`Header`]; then one line per row,
//! `{"table":"incidents","row":{...}}`, tables in [`super::TABLES`] order and rows in id order
//! within a table; the last line is the [`Trailer`], holding each table's row count and the
//! SHA-256 of the row lines (each with its `\n`), so a file cut short or edited is detected.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const FORMAT_NAME: &str = "staunch-export";
/// Bumped when the file's shape changes (not when the schema gains a table: that is
/// `schema_version`).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The schema version of the database the rows came from; an import wants the same.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub source_backend: String,
    pub exported_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// Row lines per table; tables without rows may be left out.
    pub rows: BTreeMap<String, u64>,
    /// Hex SHA-256 over every row line, each followed by `\n`.
    pub sha256: String,
}

/// The trailer line wraps the trailer so it cannot be mistaken for a row.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrailerLine {
    pub trailer: Trailer,
}

/// Row counts and checksum of the row lines written or read so far.
#[derive(Default)]
pub(super) struct RowTally {
    hasher: Sha256,
    pub rows: BTreeMap<String, u64>,
    pub row_lines: u64,
}

impl RowTally {
    /// Counts one row line (without its `\n`).
    pub fn add(&mut self, table: &str, line: &str) {
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        *self.rows.entry(table.to_string()).or_default() += 1;
        self.row_lines += 1;
    }

    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    pub fn trailer(&self) -> Trailer {
        Trailer { rows: self.rows.clone(), sha256: self.sha256() }
    }

    /// What differs between this tally and the trailer a file ends with, if anything.
    pub fn differences(&self, trailer: &Trailer) -> Option<String> {
        let mut differences = Vec::new();
        let tables: std::collections::BTreeSet<&String> = self.rows.keys().chain(trailer.rows.keys()).collect();
        for table in tables {
            let read = self.rows.get(table).copied().unwrap_or(0);
            let promised = trailer.rows.get(table).copied().unwrap_or(0);
            if read != promised {
                differences.push(format!("{table}: {read} rows read, the trailer says {promised}"));
            }
        }
        if differences.is_empty() && self.sha256() != trailer.sha256 {
            differences.push(format!("row lines hash to sha256 {}, the trailer says {}", self.sha256(), trailer.sha256));
        }
        (!differences.is_empty()).then(|| differences.join("; "))
    }
}
