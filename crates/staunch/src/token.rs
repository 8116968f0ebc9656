//! `staunch token create`: mints an API token. Only its SHA-256 is stored; the token is
//! printed once and cannot be recovered.

use crate::serve::database_url;
use jiff::Timestamp;
use staunch_store::{Actor, NewApiToken, NewAuditEntry, OrgId, OrgSlug, Role, Store};
use staunch_store_sqlite::Durability;
use std::path::Path;

/// API tokens start with a recognisable prefix so secret scanners can find leaked ones.
pub fn new_token() -> String {
    format!("stn_{}", hex::encode(rand::random::<[u8; 24]>()))
}

/// Who minted a token, for the audit log.
pub struct Minter {
    pub actor: Actor,
    pub origin: &'static str,
}

pub async fn insert_token(
    store: &dyn Store,
    org: OrgId,
    name: &str,
    role: Role,
    user: Option<String>,
    minter: Minter,
) -> anyhow::Result<String> {
    let token = new_token();
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let id = tx
        .insert_api_token(&NewApiToken {
            org,
            name: name.to_string(),
            user_id: user.clone(),
            role,
            token_sha256: staunch_config::secret_digest(&token),
            created_at: now,
        })
        .await?;
    tx.append_audit(&NewAuditEntry {
        org,
        at: now,
        actor: minter.actor,
        origin: minter.origin.to_string(),
        action: "token.create".to_string(),
        target: format!("token/{id}"),
        details: serde_json::json!({ "name": name, "role": role.as_str(), "user": user }),
    })
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The account running the command, as the audit log names a local actor.
pub fn local_actor() -> Actor {
    let account = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_string());
    Actor { kind: "cli".into(), id: account }
}

pub struct CreateToken<'a> {
    pub config_path: &'a Path,
    pub db: Option<&'a str>,
    pub org: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub user: Option<String>,
}

pub async fn create(request: CreateToken<'_>) -> anyhow::Result<()> {
    let role = Role::parse(request.role).ok_or_else(|| anyhow::anyhow!("unknown role {:?}", request.role))?;
    let slug = OrgSlug::parse(request.org).map_err(|error| anyhow::anyhow!("--org: {error}"))?;
    // The default organisation needs no config file unless a user is named.
    let needs_config = slug.as_str() != staunch_domain::tenant::DEFAULT_ORG_SLUG || request.user.is_some();
    let mut name_of_org = slug.as_str().to_string();
    if needs_config {
        let config = staunch_config::load_config(request.config_path)?;
        let Some(organisation) = config.organisation(slug.as_str()) else {
            anyhow::bail!("--org: no organisation {:?} in {}", slug.as_str(), request.config_path.display());
        };
        if let Some(user) = &request.user
            && !organisation.directory.users.contains_key(user)
        {
            anyhow::bail!("--user: unknown user {user:?} in organisation {:?}", slug.as_str());
        }
        name_of_org = organisation.name.clone();
    }
    let url = database_url(request.config_path, request.db);
    let opened = crate::serve::open_store(&url, Durability::Full).await?;
    let store = opened.store.as_ref();
    let org = store.ensure_organisations(&[(slug, name_of_org)]).await?[0];
    let minter = Minter { actor: local_actor(), origin: "cli" };
    let token = insert_token(store, org, request.name, role, request.user, minter).await?;
    println!("{token}");
    Ok(())
}
