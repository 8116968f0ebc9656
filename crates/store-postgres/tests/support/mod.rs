//! Shared by this crate's integration tests: a fresh database per test on the server named by
//! `STAUNCH_TEST_POSTGRES_URL`, and the skip rule when it is unset.
//!
//! Each call creates its own uniquely named database through that URL's (maintenance)
//! database, so tests run in parallel and never see each other's rows. The databases are left
//! behind; they die with the throwaway cluster `scripts/postgres-for-tests` starts.
//!
//! Without the variable the tests are skipped — unless `STAUNCH_REQUIRE_TOOLS=1`, when they
//! fail. `conformance_tests!` always wants a store, so skipping has no way back into the
//! harness: the first test to find the variable unset prints why and ends the test process
//! with success (none of its tests has anything to run against anyway).

#![allow(dead_code)]

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use staunch_store_postgres::PostgresStore;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

const URL_VARIABLE: &str = "STAUNCH_TEST_POSTGRES_URL";

/// A URL of a new, empty database (not yet migrated).
pub async fn fresh_database_url() -> String {
    let Some(server_url) = std::env::var(URL_VARIABLE).ok().filter(|url| !url.is_empty()) else {
        skip();
    };
    let name = unique_database_name();
    let mut maintenance = PgConnection::connect(&server_url).await.expect("connect to STAUNCH_TEST_POSTGRES_URL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut maintenance).await.expect("create database");
    maintenance.close().await.expect("close maintenance connection");
    with_database(&server_url, &name)
}

/// A migrated store on a new, empty database.
pub async fn fresh_store() -> PostgresStore {
    PostgresStore::connect(&fresh_database_url().await).await.expect("connect store")
}

pub fn skip() -> ! {
    let message = format!("skipped: {URL_VARIABLE} not set (scripts/postgres-for-tests starts one)");
    if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{message}, and STAUNCH_REQUIRE_TOOLS=1");
    }
    // Straight to the process's stdout: the harness captures `println!` of a passing test.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{message}");
    let _ = stdout.flush();
    std::process::exit(0);
}

fn unique_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|since| since.as_nanos()).unwrap_or(0);
    format!("staunch_test_{}_{}_{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `url` with its database (the path) replaced by `database`, keeping any `?query`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|index| index + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[test]
fn database_is_replaced_in_the_url() {
    assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"), "postgres://postgres@127.0.0.1:5432/x");
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
}
