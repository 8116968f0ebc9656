//! `staunch serve`: the first start creates a working installation (config, database, an
//! admin API token); every start checks the config, takes the database's engine lock and runs.

use crate::args::ServeArgs;
use crate::client_commands::TOKEN_FILE;
use crate::init::{print_integration_keys, write_example, write_private};
use anyhow::Context;
use staunch_server::{ServerOptions, SystemClock};
use staunch_store::{OrgId, OrgSlug, Role, Store};
use staunch_store_sqlite::{Durability, SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database a config uses when `--db` is not given: `staunch.db` beside the config file.
pub fn database_url(config_path: &Path, db: Option<&str>) -> String {
    if let Some(db) = db {
        return db.to_string();
    }
    beside(config_path, "staunch.db").display().to_string()
}

fn beside(config_path: &Path, name: &str) -> PathBuf {
    match config_path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        Some(parent) => parent.join(name),
        None => PathBuf::from(name),
    }
}

/// The file a database's lock lives in: one engine per SQLite database, ever.
fn lock_path(database_url: &str) -> anyhow::Result<PathBuf> {
    let mut path = staunch_store_sqlite::database_path(database_url)?.into_os_string();
    path.push(".lock");
    Ok(PathBuf::from(path))
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    if !args.config.exists() {
        let written = write_example(&args.config)?;
        println!("no config found: created {} from the example", args.config.display());
        print_integration_keys(&written);
        println!(
            "  try it: curl -X POST http://{}/v2/enqueue -H 'Content-Type: application/json' \\\n    -d '{{\"routing_key\":\"{}\",\"event_action\":\"trigger\",\"payload\":{{\"summary\":\"Checkout is failing\",\"source\":\"web-1\",\"severity\":\"critical\"}}}}'",
            args.listen, written.events_key
        );
    }
    let mut config = staunch_config::load_config(&args.config)?;
    let url = database_url(&args.config, args.db.as_deref());

    let durability = if args.durability == "normal" { Durability::Normal } else { Durability::Full };
    let opened = open_store(&url, durability).await?;
    let store = opened.store.clone();
    if opened.only_engine {
        // The SQLite engine lock makes this the only sender for the database.
        let released = store.release_delivery_leases().await?;
        if released > 0 {
            tracing::warn!(released, "pages that were being sent when the last run stopped go out again (same idempotency keys)");
        }
    }
    bind_organisations(&mut config, store.as_ref()).await?;
    let config = Arc::new(config);
    if store.api_token_count().await? == 0 {
        let minter = crate::token::Minter { actor: staunch_store::Actor::system(), origin: "first start" };
        let token = crate::token::insert_token(store.as_ref(), OrgId::DEFAULT, "admin", Role::Admin, None, minter).await?;
        let token_path = beside(&args.config, TOKEN_FILE);
        write_private(&token_path, &format!("{token}\n"))?;
        println!("created an admin API token in {} (the CLI reads it from there)", token_path.display());
    }

    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(staunch_server::tls::server_config(cert, key)?),
        _ => None,
    };
    let options = ServerOptions { listen: args.listen, tls };
    let on_listening = |base_url: String| {
        println!("staunch listening on {base_url} (database {})", without_credentials(&url));
        tracing::info!(%base_url, "listening");
    };
    staunch_server::serve(options, store, config, Arc::new(SystemClock), on_listening, crate::shutdown_signal()).await?;
    drop(opened);
    Ok(())
}

/// Numbers the config's organisations in the database (creating new ones) so their integration
/// keys and tokens resolve.
pub(crate) async fn bind_organisations(config: &mut staunch_config::Config, store: &dyn Store) -> anyhow::Result<()> {
    let wanted: Vec<(OrgSlug, String)> =
        config.organisations.iter().map(|organisation| (organisation.slug.clone(), organisation.name.clone())).collect();
    let ids = store.ensure_organisations(&wanted).await?;
    let bound: Vec<(OrgSlug, OrgId)> = wanted.into_iter().map(|(slug, _)| slug).zip(ids).collect();
    config.bind_org_ids(&bound);
    Ok(())
}

/// An open store, and whether this process is the only engine on it.
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    /// SQLite: the lock file guarantees one engine per database. PostgreSQL: replicas share it.
    pub only_engine: bool,
    /// Held for as long as the store is used (SQLite only).
    _lock_file: Option<std::fs::File>,
}

/// The URL with any `user:password@` removed: secrets never reach the output or the logs.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_string(),
    }
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the database `url` names: PostgreSQL for `postgres://` URLs, else an SQLite file
/// (taking its engine lock).
pub async fn open_store(url: &str, durability: Durability) -> anyhow::Result<OpenedStore> {
    if is_postgres(url) {
        let store = staunch_store_postgres::PostgresStore::connect(url)
            .await
            .map_err(|error| anyhow::anyhow!("cannot open the PostgreSQL database: {error}"))?;
        return Ok(OpenedStore { store: Arc::new(store), only_engine: false, _lock_file: None });
    }
    let lock_file_path = lock_path(url)?;
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file_path)
        .with_context(|| format!("cannot open lock file {}", lock_file_path.display()))?;
    if lock_file.try_lock().is_err() {
        anyhow::bail!("another staunch serve is running on {url} (its lock {} is held)", lock_file_path.display());
    }
    let store = SqliteStore::open(url, durability).await.with_context(|| format!("cannot open database {url}"))?;
    Ok(OpenedStore { store: Arc::new(store), only_engine: true, _lock_file: Some(lock_file) })
}

pub(crate) fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("STAUNCH_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_not_printed() {
        assert_eq!(without_credentials("postgres://staunch:s3cret@db:5432/staunch"), "postgres://***@db:5432/staunch");
        assert_eq!(without_credentials("postgres://db/staunch"), "postgres://db/staunch");
        assert_eq!(without_credentials("staunch.db"), "staunch.db");
    }
}
