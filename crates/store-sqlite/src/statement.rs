//! Statements on a plain SQLite connection, and the rows they return, for the writer and the
//! readers alike.
//!
//! [`Query`] keeps the shape of the sqlx calls it replaced (`query(..).bind(..)`,
//! `QueryBuilder`'s `push` and `push_bind`), so statements read the same on both halves of
//! the backend. Rows are decoded where the statement holds them ([`Query::fetch_decoded`]), so
//! each value is copied once, into its record; they come back owned ([`Row`]) where values are
//! read by position (scalars, `RETURNING` ids) or kept past the statement (the delivery claim
//! decodes its rows after its commit).

use crate::backend;
use rusqlite::types::{FromSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ToSql};
use staunch_store::codec::{ColumnReader, corrupt_column};
use staunch_store::{StoreError, StoreResult};
use std::borrow::Cow;
use std::sync::Arc;

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

    /// Every row, each decoded by `decode` while the statement holds it, so a value is copied
    /// once, into the record.
    pub(crate) fn fetch_decoded<T>(
        &self,
        connection: &Connection,
        decode: impl FnMut(&Held<'_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.decode_at_most(connection, usize::MAX, decode)
    }

    /// The first row, decoded in place (see [`Query::fetch_decoded`]).
    pub(crate) fn fetch_one_decoded<T>(
        &self,
        connection: &Connection,
        decode: impl FnMut(&Held<'_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.decode_at_most(connection, 1, decode)?.pop())
    }

    fn decode_at_most<T>(
        &self,
        connection: &Connection,
        limit: usize,
        mut decode: impl FnMut(&Held<'_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut statement = self.statement(connection).map_err(backend)?;
        let mut rows = statement.query(rusqlite::params_from_iter(&self.parameters)).map_err(backend)?;
        let mut records = Vec::new();
        while records.len() < limit
            && let Some(row) = rows.next().map_err(backend)?
        {
            records.push(decode(&Held(row))?);
        }
        Ok(records)
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

/// A row read off a connection, owning its values.
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
}

/// A row as the statement holds it, read in place by the shared codec.
pub(crate) struct Held<'row, 'statement>(&'row rusqlite::Row<'statement>);

impl Held<'_, '_> {
    /// The value of `column`; a value of another type is corrupt data, named by column.
    pub(crate) fn get<T: FromSql>(&self, column: &str) -> StoreResult<T> {
        named(self.value(column)?, column)
    }

    fn value(&self, column: &str) -> StoreResult<ValueRef<'_>> {
        self.0.get_ref(column).map_err(|_| StoreError::Backend(format!("no column {column}")))
    }
}

/// [`ColumnReader`] for a row type with `value(column)`: JSON columns are TEXT in SQLite,
/// parsed where the row holds them.
macro_rules! read_columns_by_name {
    ($row:ty) => {
        impl ColumnReader for $row {
            fn int(&self, column: &str) -> StoreResult<i64> {
                named(self.value(column)?, column)
            }
            fn optional_int(&self, column: &str) -> StoreResult<Option<i64>> {
                named(self.value(column)?, column)
            }
            fn text(&self, column: &str) -> StoreResult<String> {
                named(self.value(column)?, column)
            }
            fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
                named(self.value(column)?, column)
            }
            fn boolean(&self, column: &str) -> StoreResult<bool> {
                named(self.value(column)?, column)
            }
            fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
                let text = self.value(column)?.as_str().map_err(|error| corrupt_column(column, error))?;
                crate::codec::json_column(text, column)
            }
        }
    };
}

read_columns_by_name!(Row);
read_columns_by_name!(Held<'_, '_>);

fn named<T: FromSql>(value: ValueRef<'_>, column: &str) -> StoreResult<T> {
    T::column_result(value).map_err(|error| corrupt_column(column, error))
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
