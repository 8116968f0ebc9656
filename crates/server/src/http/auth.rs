//! API authentication: `Authorization: Bearer <token>`. Tokens are looked up by their SHA-256,
//! which decides the organisation: the caller gets a store confined to it ([`Scoped`]) and
//! handlers never name an organisation themselves.

use super::AppState;
use super::errors::ApiError;
use crate::engine::Audit;
use crate::server::PeerAddress;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use staunch_store::{Actor, OrgId, Role, Scoped};

/// The authenticated caller of an API request.
#[derive(Clone)]
pub struct Caller {
    pub role: Role,
    pub actor: Actor,
    /// Reads confined to the caller's organisation.
    pub store: Scoped,
    /// Where the request came from, for the audit log.
    pub origin: String,
}

impl Caller {
    pub fn org(&self) -> OrgId {
        self.store.org()
    }

    /// What the audit log records if the change this request asks for is made.
    pub fn audit(&self, action: &str, target: String, details: serde_json::Value) -> Audit {
        Audit {
            org: self.org(),
            actor: self.actor.clone(),
            origin: self.origin.clone(),
            action: action.to_string(),
            target,
            details,
        }
    }

    /// Refuses callers below `role` (viewer < responder < admin).
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        let rank = |role: Role| match role {
            Role::Viewer => 0,
            Role::Responder => 1,
            Role::Admin => 2,
        };
        if rank(self.role) >= rank(role) {
            return Ok(());
        }
        Err(ApiError::new(StatusCode::FORBIDDEN, format!("this needs the {} role", role.as_str())))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let unauthorized = |message: &str| ApiError::field(StatusCode::UNAUTHORIZED, "authorization", message);
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(unauthorized("missing Authorization header: send `Authorization: Bearer <api token>`"));
        };
        let Some(token) = header.to_str().ok().and_then(|value| value.strip_prefix("Bearer ")) else {
            return Err(unauthorized("Authorization header must be `Bearer <api token>`"));
        };
        let digest = staunch_config::secret_digest(token.trim());
        let Some(token) = state.store.api_token_by_hash(&digest).await? else {
            return Err(unauthorized("unknown api token"));
        };
        let actor = match &token.user_id {
            Some(user_id) => Actor { kind: "user".into(), id: user_id.clone() },
            None => Actor { kind: "token".into(), id: token.name.clone() },
        };
        Ok(Caller { role: token.role, actor, store: Scoped::new(state.store.clone(), token.org), origin: origin(parts) })
    }
}

/// The client's address, and what a proxy in front says it forwarded for.
fn origin(parts: &Parts) -> String {
    let peer = parts
        .extensions
        .get::<ConnectInfo<PeerAddress>>()
        .map_or_else(|| "unknown".to_string(), |ConnectInfo(PeerAddress(address))| address.ip().to_string());
    match parts.headers.get("x-forwarded-for").and_then(|value| value.to_str().ok()) {
        Some(forwarded) => format!("{peer} (x-forwarded-for {})", forwarded.chars().take(200).collect::<String>()),
        None => peer,
    }
}
