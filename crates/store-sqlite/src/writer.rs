//! The one connection that writes, and the statements run on it.
//!
//! Reads go through sqlx's pool, where every statement is a message to the connection's own
//! thread and a wake-up back. For writes that hand-off was most of the cost of a small
//! transaction (about a third of the CPU at one alert per request, most of it waking a thread
//! on the other core), so the write connection is a plain SQLite connection owned by the
//! store and used on whichever thread holds its lock: a whole transaction runs without
//! leaving the thread of the task that began it.
//!
//! [`Query`] keeps the shape of the sqlx calls it replaced (`query(..).bind(..).execute(..)`)
//! so statements read the same in both halves of the backend; rows come back owned
//! ([`Row`]), read through the shared codec like sqlx's.

use crate::alert_keys::{RecentKeys, TxKeys};
use crate::checkpoint::{Checkpointer, WAL_AUTOCHECKPOINT_PAGES};
use crate::{Durability, backend};
use rusqlite::types::{FromSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use staunch_store::codec::{ColumnReader, corrupt_column};
use staunch_store::{StoreError, StoreResult};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Prepared statements kept per connection: room for every bulk statement shape at every
/// chunk size (see [`statement_chunks`]).
const STATEMENT_CACHE: usize = 512;

/// The most rows one multi-row statement carries: far below SQLite's 32,766 bound variables
/// even for the widest table (alerts, 19 columns).
const LARGEST_CHUNK: usize = 256;

/// Splits `items` into chunks whose sizes are powers of two (largest first). Every distinct
/// row count is a distinct statement to parse; with these sizes a handful of statements per
/// query shape serve every batch and stay prepared in the connection's statement cache.
pub(crate) fn statement_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = LARGEST_CHUNK.min(1 << rest.len().ilog2());
        let (chunk, remaining) = rest.split_at(size);
        rest = remaining;
        Some(chunk)
    })
}

/// The write connection and what the writer keeps in memory beside it.
pub(crate) struct Writer {
    pub(crate) connection: Connection,
    /// Keys of recent alerts not yet in `alert_keys` (see `alert_keys.rs`).
    pub(crate) keys: RecentKeys,
    /// Told of every commit, so the WAL is copied back as it grows (see `checkpoint.rs`).
    pub(crate) checkpointer: Checkpointer,
}

/// Opens the writer on an already migrated database: the connection (see [`connect`]) and the
/// keys of recent alerts, written out at once when far more are missing from `alert_keys`
/// than memory holds (the first open after the migration that made the table).
pub(crate) fn open(path: &Path, durability: Durability, cache_kib: &str, key_memory: usize) -> StoreResult<Writer> {
    let connection = connect(path, durability, cache_kib)?;
    let checkpointer = Checkpointer::start(&connection, path)?;
    // Without an fsync per commit, growing the file costs a commit nothing worth the 16 MiB
    // of zeros written at every open.
    if durability == Durability::Full {
        preallocate_wal(&connection, path)?;
    }
    let mut keys = RecentKeys::load(&connection, key_memory)?;
    let buckets = keys.buckets_to_write(&TxKeys::default());
    if buckets.len() > 1 {
        tracing::info!(keys = keys.len(), "writing the dedup keys of alerts");
        connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let written = crate::alert_keys::write(&connection, &keys, &TxKeys::default(), &buckets);
        match written.and_then(|()| connection.execute_batch("COMMIT").map_err(backend)) {
            Ok(()) => keys.committed(TxKeys::default(), &buckets),
            Err(error) => {
                let _ = connection.execute_batch("ROLLBACK");
                return Err(error);
            }
        }
    }
    Ok(Writer { connection, keys, checkpointer })
}

/// Gives the WAL file the room it is written in between two restarts, as zeros on disk, so a
/// commit's fsync (`Durability::Full`) writes its pages only: a commit that grows the file also makes the file
/// system allocate blocks and journal the new size, which took a quarter to a half more per
/// fsync on this kind of disk. Only the bytes past the file's end are written, under the write
/// lock, so no frame SQLite wrote is touched; zeros are never a valid frame, so recovery stops
/// at them as it does at the stale frames a restarted WAL leaves behind.
fn preallocate_wal(connection: &Connection, path: &Path) -> StoreResult<()> {
    let page_size: i64 = connection.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(backend)?;
    let page_size = page_size.unsigned_abs();
    let wanted = 32 + (WAL_AUTOCHECKPOINT_PAGES.unsigned_abs() as u64 + 96) * (24 + page_size);
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let extended = extend_with_zeros(Path::new(&wal_path), wanted);
    connection.execute_batch("ROLLBACK").map_err(backend)?;
    extended.map_err(|error| backend(format!("cannot preallocate the wal: {error}")))
}

fn extend_with_zeros(path: &Path, wanted: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(file) => file,
        // No WAL yet: SQLite creates it at the first write, and it grows from there.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let length = file.metadata()?.len();
    if length >= wanted {
        return Ok(());
    }
    file.seek(SeekFrom::Start(length))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = wanted - length;
    while left > 0 {
        let chunk = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..chunk])?;
        left -= chunk as u64;
    }
    file.sync_data()
}

/// Opens the write connection on an already migrated database, with the settings its commits
/// rely on:
/// - `journal_size_limit`: the WAL is started over after the checkpoints of `checkpoint.rs`;
///   the file is then cut back to this size.
/// - `temp_store`: multi-row inserts into tables with unique keys keep a statement journal; in
///   memory it costs no file writes.
fn connect(path: &Path, durability: Durability, cache_kib: &str) -> StoreResult<Connection> {
    // NO_MUTEX: the store's lock already makes sure one thread at a time uses it.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // Gathering a commit's WAL writes needs the sync before the commit is published: only
    // with full durability (see `wal_writes.rs`).
    let connection = match durability {
        Durability::Full => match crate::wal_writes::register() {
            Ok(()) => Connection::open_with_flags_and_vfs(path, flags, crate::wal_writes::VFS_NAME),
            Err(error) => {
                tracing::warn!(%error, "wal writes are made one by one");
                Connection::open_with_flags(path, flags)
            }
        },
        Durability::Normal => Connection::open_with_flags(path, flags),
    }
    .map_err(backend)?;
    connection.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA cache_size = {cache_kib}; \
             PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY; \
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(backend)?;
    Ok(connection)
}

/// One statement and its parameters, built like sqlx's `query(..).bind(..)` and
/// `QueryBuilder` (`push`, `push_bind`).
pub(crate) struct Query {
    sql: Cow<'static, str>,
    parameters: Vec<Value>,
    /// A parameter that could not be turned into an SQLite value, reported when the statement runs.
    unbindable: Option<rusqlite::Error>,
}

pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query { sql: sql.into(), parameters: Vec::new(), unbindable: None }
}

/// What a statement that returns no rows did.
pub(crate) struct Done {
    rows_affected: u64,
    last_insert_rowid: i64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }

    pub(crate) fn last_insert_rowid(&self) -> i64 {
        self.last_insert_rowid
    }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl ToSql) -> Query {
        self.add(value);
        self
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Query {
        self.sql.to_mut().push_str(text);
        self
    }

    /// Appends a placeholder and its value.
    pub(crate) fn push_bind(&mut self, value: impl ToSql) -> &mut Query {
        self.sql.to_mut().push('?');
        self.add(value)
    }

    /// Appends `(?, ?, ...), (...)` with one row of values per item, given by `row`.
    pub(crate) fn push_values<T>(&mut self, items: &[T], mut row: impl FnMut(&mut Values<'_>, &T)) -> &mut Query {
        self.push("VALUES ");
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            self.push("(");
            row(&mut Values { query: self, first: true }, item);
            self.push(")");
        }
        self
    }

    /// Appends `(?, ?, ...)` with one placeholder per value, for `IN` lists.
    pub(crate) fn push_list(&mut self, values: &[i64]) -> &mut Query {
        self.push("(");
        for (index, value) in values.iter().enumerate() {
            self.push(if index == 0 { "" } else { ", " }).push_bind(*value);
        }
        self.push(")")
    }

    fn add(&mut self, value: impl ToSql) -> &mut Query {
        match value.to_sql().and_then(owned_value) {
            Ok(value) => self.parameters.push(value),
            Err(error) => {
                self.unbindable.get_or_insert(error);
            }
        }
        self
    }

    fn statement<'c>(&self, connection: &'c Connection) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
        if let Some(error) = &self.unbindable {
            return Err(rusqlite::Error::ToSqlConversionFailure(error.to_string().into()));
        }
        connection.prepare_cached(&self.sql)
    }

    pub(crate) fn execute(&self, connection: &Connection) -> rusqlite::Result<Done> {
        let rows_affected = self.statement(connection)?.execute(rusqlite::params_from_iter(&self.parameters))?;
        Ok(Done { rows_affected: rows_affected as u64, last_insert_rowid: connection.last_insert_rowid() })
    }

    pub(crate) fn fetch_all(&self, connection: &Connection) -> rusqlite::Result<Vec<Row>> {
        self.fetch_at_most(connection, usize::MAX)
    }

    /// The first row. A statement that changes rows (`... RETURNING`) makes all its changes
    /// at its first step, so stopping there leaves none undone.
    pub(crate) fn fetch_optional(&self, connection: &Connection) -> rusqlite::Result<Option<Row>> {
        Ok(self.fetch_at_most(connection, 1)?.pop())
    }

    fn fetch_at_most(&self, connection: &Connection, limit: usize) -> rusqlite::Result<Vec<Row>> {
        let mut statement = self.statement(connection)?;
        let names: Arc<[String]> = statement.column_names().into_iter().map(str::to_string).collect();
        let mut rows = statement.query(rusqlite::params_from_iter(&self.parameters))?;
        let mut owned = Vec::new();
        while owned.len() < limit
            && let Some(row) = rows.next()?
        {
            let values =
                (0..names.len()).map(|index| row.get_ref(index).and_then(owned_value_ref)).collect::<rusqlite::Result<_>>()?;
            owned.push(Row { names: names.clone(), values });
        }
        Ok(owned)
    }

    /// The first column of the first row (`None` when there is no row).
    pub(crate) fn fetch_scalar<T: FromSql>(&self, connection: &Connection) -> StoreResult<Option<T>> {
        self.fetch_optional(connection).map_err(backend)?.map(|row| row.get(0)).transpose()
    }
}

/// One row of `(?, ?, ...)` in [`Query::push_values`].
pub(crate) struct Values<'q> {
    query: &'q mut Query,
    first: bool,
}

impl Values<'_> {
    pub(crate) fn push_bind(&mut self, value: impl ToSql) -> &mut Self {
        if !self.first {
            self.query.push(", ");
        }
        self.first = false;
        self.query.push_bind(value);
        self
    }
}

fn owned_value(output: ToSqlOutput<'_>) -> rusqlite::Result<Value> {
    match output {
        ToSqlOutput::Borrowed(value) => owned_value_ref(value),
        ToSqlOutput::Owned(value) => Ok(value),
        _ => Err(rusqlite::Error::ToSqlConversionFailure("unsupported parameter kind".into())),
    }
}

fn owned_value_ref(value: ValueRef<'_>) -> rusqlite::Result<Value> {
    Value::try_from(value).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

/// A row read off the write connection, owning its values.
pub(crate) struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of the column at `index`.
    pub(crate) fn get<T: FromSql>(&self, index: usize) -> StoreResult<T> {
        let value = self.values.get(index).ok_or_else(|| StoreError::Backend(format!("no column {index}")))?;
        T::column_result(ValueRef::from(value)).map_err(|error| StoreError::Corrupt(format!("column {index}: {error}")))
    }

    fn value(&self, column: &str) -> StoreResult<ValueRef<'_>> {
        let index = self
            .names
            .iter()
            .position(|name| name == column)
            .ok_or_else(|| StoreError::Backend(format!("no column {column}")))?;
        Ok(ValueRef::from(&self.values[index]))
    }

    fn named<T: FromSql>(&self, column: &str) -> StoreResult<T> {
        T::column_result(self.value(column)?).map_err(|error| corrupt_column(column, error))
    }
}

impl ColumnReader for Row {
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.named(column)
    }
    fn optional_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.named(column)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        self.named(column)
    }
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.named(column)
    }
    fn boolean(&self, column: &str) -> StoreResult<bool> {
        self.named(column)
    }
    /// JSON columns are TEXT in SQLite.
    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let text = self.value(column)?.as_str().map_err(|error| corrupt_column(column, error))?;
        crate::codec::json_column(text, column)
    }
}

/// A unique-key violation as the conflict it reports to the caller; anything else as a
/// backend failure.
pub(crate) fn insert_error(error: rusqlite::Error, what: &str) -> StoreError {
    let unique = error.sqlite_error().is_some_and(|sqlite| {
        sqlite.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || sqlite.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    });
    if unique {
        return StoreError::Conflict { what: what.to_string() };
    }
    backend(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_chunks_are_powers_of_two_and_cover_everything() {
        let sizes = |count: usize| statement_chunks(&vec![0u8; count]).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(7), vec![4, 2, 1]);
        assert_eq!(sizes(940), vec![256, 256, 256, 128, 32, 8, 4]);
    }
}
