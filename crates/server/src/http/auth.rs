//! API authentication: `Authorization: Bearer <token>`. Tokens are looked up by their SHA-256,
//! which decides the organisation every later query is scoped to.

use super::AppState;
use super::errors::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use staunch_store::{Actor, OrgId, Role};

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org: OrgId,
    pub role: Role,
    pub actor: Actor,
}

impl Caller {
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
        Ok(Caller { org: token.org, role: token.role, actor })
    }
}
