//! The export's list of tables and columns (`staunch_store::dump::TABLES`) against the schema
//! the migrations build: a migration that adds a table or a column must add it to the export
//! too, or an import would silently lose it.

mod support;

use sqlx::{Connection, PgConnection};
use staunch_store::dump::{NOT_EXPORTED, TABLES};

#[tokio::test]
async fn the_export_names_every_table_and_column_of_the_schema() {
    let url = support::fresh_database_url().await;
    let store = staunch_store_postgres::PostgresStore::connect(&url).await.expect("migrate");
    store.close().await;
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let mut tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations', 'incident_search', 'incident_search_texts') ORDER BY table_name",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    tables.retain(|table| !NOT_EXPORTED.contains(&table.as_str()));
    let mut exported: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
    exported.sort_unstable();
    assert_eq!(tables, exported);
    for table in TABLES {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table.name)
        .fetch_all(&mut connection)
        .await
        .unwrap();
        let named: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
        assert_eq!(columns, named, "columns of {}", table.name);
    }
}
