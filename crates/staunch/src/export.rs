//! `staunch export` and `staunch import`: moving an installation to another database (from
//! the embedded SQLite file to PostgreSQL, typically) without losing a row or an id. The file
//! format and the transfer live in `staunch_store::dump`; this is files, locks and messages.
//!
//! On SQLite both commands hold the engine lock, so they refuse while a server runs on the
//! file. On PostgreSQL an export reads one consistent snapshot even while replicas write; an
//! import locks the tables until it commits.

use crate::migrate::open_for;
use crate::serve::without_credentials;
use anyhow::Context;
use jiff::Timestamp;
use staunch_store::dump::{self, ImportAudit, TABLES};
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

pub async fn export(config_path: &Path, db: Option<&str>, out: &str) -> anyhow::Result<()> {
    let url = crate::serve::database_url(config_path, db);
    let opened = open_for(&url, "export").await?;
    let mut writer: Box<dyn Write> = if out == "-" {
        Box::new(BufWriter::new(std::io::stdout()))
    } else {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {out}"))?;
        Box::new(BufWriter::new(file))
    };
    let summary = dump::export_to(opened.store.as_ref(), &mut writer, Timestamp::now())
        .await
        .with_context(|| format!("the export to {out} failed; do not import it"))?;
    drop(writer);
    // Standard output may be the export itself: the report goes to standard error.
    eprintln!(
        "exported {} rows of {} (schema version {}) to {out}: {}",
        total(&summary.rows),
        without_credentials(&url),
        summary.header.schema_version,
        per_table(&summary.rows)
    );
    Ok(())
}

pub async fn import(db: &str, input: &str) -> anyhow::Result<()> {
    let opened = open_for(db, "import into").await?;
    let audit = ImportAudit { actor: crate::token::local_actor(), origin: "cli".into(), at: Timestamp::now() };
    let result = if input == "-" {
        dump::import_from(opened.store.as_ref(), &mut std::io::stdin().lock(), Some(audit)).await
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
        dump::import_from(opened.store.as_ref(), &mut BufReader::new(file), Some(audit)).await
    };
    let summary = result.with_context(|| format!("nothing was imported into {}", without_credentials(db)))?;
    eprintln!(
        "imported {} rows exported from {} at {} into {}: {}",
        total(&summary.rows),
        summary.header.source_backend,
        summary.header.exported_at,
        without_credentials(db),
        per_table(&summary.rows)
    );
    Ok(())
}

fn total(rows: &BTreeMap<String, u64>) -> u64 {
    rows.values().sum()
}

/// `organisations 2, incidents 10, ...` in the export's table order.
fn per_table(rows: &BTreeMap<String, u64>) -> String {
    TABLES
        .iter()
        .map(|table| format!("{} {}", table.name, rows.get(table.name).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}
