//! Whole-table reads and writes for `staunch export` and `staunch import`: the PostgreSQL half
//! of `staunch_store::dump`. Table and column names come from its static list, never from input.

use crate::backend;
use crate::codec::Columns;
use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres, QueryBuilder, Transaction};
use staunch_store::dump::{Cell, TABLES, Table, row_to_json};
use staunch_store::{ExportSnapshot, StoreResult};

/// PostgreSQL takes at most this many bound parameters in one statement.
const MAX_PARAMETERS: usize = 65_535;

/// A REPEATABLE READ, READ ONLY transaction: every page comes from the snapshot its first
/// query took, while replicas go on writing.
pub(crate) struct PostgresExport {
    tx: Transaction<'static, Postgres>,
}

impl PostgresExport {
    pub(crate) async fn begin(pool: &sqlx::PgPool) -> StoreResult<PostgresExport> {
        let mut tx = pool.begin().await.map_err(backend)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await.map_err(backend)?;
        Ok(PostgresExport { tx })
    }
}

#[async_trait]
impl ExportSnapshot for PostgresExport {
    async fn export_rows(&mut self, table: &'static Table, after_id: i64, limit: u32) -> StoreResult<Vec<serde_json::Value>> {
        let sql = format!("SELECT {} FROM {} WHERE id > $1 ORDER BY id LIMIT $2", table.column_list(), table.name);
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        rows.iter().map(|row| row_to_json(table, &Columns(row))).collect()
    }
}

/// Also locks every table against writers until the transaction ends, so a replica started
/// meanwhile cannot slip rows in between this check and the import's commit.
pub(crate) async fn tables_with_rows(tx: &mut Transaction<'static, Postgres>) -> StoreResult<Vec<&'static str>> {
    let names: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
    let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "));
    sqlx::query(AssertSqlSafe(lock)).execute(&mut **tx).await.map_err(backend)?;
    let mut occupied = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {}{})", table.name, unseeded_rows_clause(table));
        let has_rows: bool = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **tx).await.map_err(backend)?;
        if has_rows {
            occupied.push(table.name);
        }
    }
    Ok(occupied)
}

pub(crate) async fn import_rows(tx: &mut Transaction<'static, Postgres>, table: &Table, rows: &[Vec<Cell>]) -> StoreResult<()> {
    for chunk in rows.chunks((MAX_PARAMETERS / table.columns.len()).max(1)) {
        // Identity columns refuse explicit ids unless told to take them.
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE ",
            table.name,
            table.column_list()
        ));
        query.push_values(chunk, |mut values, cells| {
            for cell in cells {
                match cell {
                    Cell::Int(value) => values.push_bind(*value),
                    Cell::Text(value) => values.push_bind(value.clone()),
                    Cell::Bool(value) => values.push_bind(*value),
                    Cell::Json(value) => values.push_bind(Json(value.clone())),
                };
            }
        });
        if !table.seeded_ids.is_empty() {
            query.push(upsert_on_id(table));
        }
        query.build().execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

/// ` WHERE id NOT IN (1)` for a table the migrations seed rows into, else nothing.
fn unseeded_rows_clause(table: &Table) -> String {
    if table.seeded_ids.is_empty() {
        return String::new();
    }
    let seeded: Vec<String> = table.seeded_ids.iter().map(i64::to_string).collect();
    format!(" WHERE id NOT IN ({})", seeded.join(", "))
}

/// ` ON CONFLICT (id) DO UPDATE SET a = excluded.a, ...`: an imported row replaces the seeded
/// row with its id.
fn upsert_on_id(table: &Table) -> String {
    let assignments: Vec<String> =
        table.columns.iter().skip(1).map(|column| format!("{0} = excluded.{0}", column.name)).collect();
    format!(" ON CONFLICT (id) DO UPDATE SET {}", assignments.join(", "))
}

pub(crate) async fn reset_id_sequences(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
    for table in TABLES {
        let name = table.name;
        let sql =
            format!("SELECT setval(pg_get_serial_sequence('{name}', 'id'), MAX(id)) FROM {name} HAVING MAX(id) IS NOT NULL");
        sqlx::query(AssertSqlSafe(sql)).execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

pub(crate) async fn schema_version(executor: impl sqlx::PgExecutor<'_>) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetch_one(executor).await.map_err(backend)
}

/// The schema version of the database at `url` without migrating it (0 before the first
/// migration), for `staunch migrate` to report where it started.
pub async fn schema_version_at(url: &str) -> StoreResult<i64> {
    let mut connection = PgConnection::connect(url).await.map_err(backend)?;
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('schema_migrations') IS NOT NULL")
        .fetch_one(&mut connection)
        .await
        .map_err(backend)?;
    let version = if migrated { schema_version(&mut connection).await? } else { 0 };
    connection.close().await.map_err(backend)?;
    Ok(version)
}
