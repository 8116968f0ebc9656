//! The error every Staunch-native ingest parser returns: one entry per bad field, each named
//! by its JSON path (`alerts[3].labels`, `payload.severity`), so a sender can fix them all at once.

use std::fmt;

/// One bad field. `field` is a JSON path from the document root; `body` names the document
/// itself (not JSON, or not an object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in one document, in document order. Never empty when returned by a parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid payload: {}", join_field_errors(.errors))]
pub struct IngestError {
    pub errors: Vec<FieldError>,
}

impl IngestError {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> IngestError {
        IngestError { errors: vec![FieldError { field: field.into(), message: message.into() }] }
    }
}

fn join_field_errors(errors: &[FieldError]) -> String {
    let rendered: Vec<String> = errors.iter().map(FieldError::to_string).collect();
    rendered.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_every_field_error() {
        let error = IngestError {
            errors: vec![
                FieldError { field: "version".into(), message: "is required".into() },
                FieldError { field: "alerts[0].labels".into(), message: "must be an object".into() },
            ],
        };
        assert_eq!(error.to_string(), "invalid payload: version: is required; alerts[0].labels: must be an object");
    }
}
