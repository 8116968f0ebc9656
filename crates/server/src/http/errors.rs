//! Every error leaves as JSON naming what was wrong: `{"error": "...", "field": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: None }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: Some(field.into()) }
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(field) = self.field {
            body["field"] = serde_json::json!(field);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<staunch_store::StoreError> for ApiError {
    fn from(error: staunch_store::StoreError) -> ApiError {
        tracing::error!(%error, "storage error while serving a request");
        ApiError::unavailable("storage is unavailable, try again")
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::field(status, "body", format!("request body is larger than {} bytes", super::MAX_BODY_BYTES));
        }
        ApiError::field(status, "body", format!("cannot read request body: {}", rejection.body_text()))
    }
}

/// Parses a JSON body, naming the field at fault (`severity`, `matchers[1]`) on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = if path.is_empty() || path == "." { "body".to_string() } else { path };
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::field(
                StatusCode::BAD_REQUEST,
                field,
                format!("invalid JSON: {}", strip_position(&inner.to_string())),
            );
        }
        ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, strip_position(&inner.to_string()))
    })
}

/// Parses a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let query = query.unwrap_or("");
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path.is_empty() || path == "." { "query".to_string() } else { path };
        ApiError::field(StatusCode::BAD_REQUEST, field, error.into_inner().to_string())
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// serde_json appends " at line 1 column 12"; keep the message, the field says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// A positive id from the path, or a 400 naming `field`; `what` completes "… is not", e.g.
/// "an incident id".
pub fn positive_id(raw: &str, field: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, field, format!("{raw:?} is not {what}")))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}
