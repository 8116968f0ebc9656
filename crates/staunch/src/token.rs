//! `staunch token create`: mints an API token. Only its SHA-256 is stored; the token is
//! printed once and cannot be recovered.

use crate::serve::database_url;
use jiff::Timestamp;
use staunch_store::{NewApiToken, OrgId, Role, Store};
use staunch_store_sqlite::Durability;
use std::path::Path;

/// API tokens start with a recognisable prefix so secret scanners can find leaked ones.
pub fn new_token() -> String {
    format!("stn_{}", hex::encode(rand::random::<[u8; 24]>()))
}

pub async fn insert_token(store: &dyn Store, name: &str, role: Role, user: Option<String>) -> anyhow::Result<String> {
    let token = new_token();
    let mut tx = store.begin().await?;
    tx.insert_api_token(&NewApiToken {
        org: OrgId::DEFAULT,
        name: name.to_string(),
        user_id: user,
        role,
        token_sha256: staunch_config::secret_digest(&token),
        created_at: Timestamp::now(),
    })
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn create(config_path: &Path, db: Option<&str>, name: &str, role: &str, user: Option<String>) -> anyhow::Result<()> {
    let role = Role::parse(role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
    if let Some(user) = &user {
        let config = staunch_config::load_config(config_path)?;
        if !config.directory.users.contains_key(user) {
            anyhow::bail!("unknown user {user:?} in {}", config_path.display());
        }
    }
    let url = database_url(config_path, db);
    let opened = crate::serve::open_store(&url, Durability::Full).await?;
    let token = insert_token(opened.store.as_ref(), name, role, user).await?;
    println!("{token}");
    Ok(())
}
