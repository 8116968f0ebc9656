//! Opsgenie's Alert API v2, read as Opsgenie reads it, so that senders configured for Opsgenie
//! (Alertmanager's `opsgenie_configs`, Grafana's Opsgenie contact point, the Opsgenie SDKs,
//! scripts) work by changing only the base URL. This module reads the requests: create
//! (`POST /v2/alerts`), close and acknowledge (`POST /v2/alerts/{identifier}/close` and
//! `/acknowledge`) and the message and description updates Alertmanager sends with
//! `update_alerts: true` (`PUT /v2/alerts/{identifier}/message` and `/description`). The HTTP
//! layer authenticates (`Authorization: GenieKey <key>`) and answers in Opsgenie's shape.
//!
//! How a create request becomes a trigger [`AlertEvent`]:
//! - dedup key: `alias`. Without one the shell generates a key and returns it (Opsgenie then
//!   uses the alert's id as its alias, which is the same thing here; see identifiers below).
//! - summary: `message`, trimmed. Opsgenie documents at most 130 characters and its senders
//!   already cut there (Alertmanager and Grafana truncate); Staunch keeps up to
//!   [`MESSAGE_MAX_CHARACTERS`] and cuts beyond, as it does PagerDuty summaries.
//! - severity, from `priority`: P1 → sev1, P2 and P3 → sev2, P4 and P5 → sev3. An absent or
//!   unknown priority is P3, as in Opsgenie ("If an unknown value is assigned or the tool does
//!   not carry a priority information, the alert will have the default priority value, P3",
//!   Opsgenie docs, Priority Field), so it is accepted, never rejected.
//! - labels: every `details` entry, then Opsgenie's own fields over them: `entity`, `source`,
//!   `priority` (the effective P1..P5, always set) and `tags` (comma-joined in the order sent,
//!   repeats dropped). Alertmanager puts the group's common labels into `details`, so routing
//!   and grouping on `alertname`, `severity`, ... work as for its webhook.
//! - annotations: `description`, `note`, `user`.
//! - details: `{"details", "responders", "visibleTo", "actions"}`, only those sent. Staunch
//!   pages through its own escalation policies, so Opsgenie's routing hints are kept to read,
//!   not obeyed; `details` is kept whole here because a label it shares a name with is
//!   overwritten by Opsgenie's own field.
//!
//! Identifiers: an alert has one identity in Staunch, its dedup key. `identifierType=alias`
//! and `identifierType=id` (Opsgenie's default when the parameter is absent) both name it: the
//! id of an alert created through this API *is* its dedup key (the alias, or the generated key,
//! which the create response returns as `data.alertId`). `tiny` (Opsgenie's short numeric ids)
//! has no counterpart and is rejected.
//!
//! Where Staunch is stricter than Opsgenie: keys the API does not define are rejected, as for
//! the PagerDuty parser, so a misspelt `alais` cannot silently open a second alert; and an alias
//! longer than 255 characters is rejected (Opsgenie allows 512, Staunch's dedup keys stop at
//! 255; every sender seen uses far shorter ones: Alertmanager's and Grafana's are 64 hex digits).

use crate::alert::{AlertAction, AlertEvent, DedupKey, DedupKeyError, SourceFormat};
use crate::ingest::error::{FieldError, IngestError};
use crate::ingest::walk::{Field, JsonObject, Problem, ProblemKind, Problems, index_path, quoted_excerpt};
use crate::labels::Labels;
use crate::severity::Severity;
use serde_json::{Map, Value};

/// The longest summary kept; longer messages are cut here (Staunch's limit for PagerDuty
/// summaries too).
pub const MESSAGE_MAX_CHARACTERS: usize = 1024;

/// Opsgenie's documented limit for `alias`.
pub const OPSGENIE_ALIAS_MAX_CHARACTERS: usize = 512;

/// Why a request was refused. Opsgenie answers the first with 400 ("Invalid JSON body", its
/// only use of 400) and the second with 422 ("Semantic errors in request body").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsgenieError {
    #[error("invalid json body: {0}")]
    NotJson(String),
    #[error(transparent)]
    Invalid(IngestError),
}

/// Opsgenie's alert priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Priority {
    /// What Opsgenie uses when a request names none, or one it does not know.
    pub const DEFAULT: Priority = Priority::P3;

    /// Exactly `P1`..`P5`, as Opsgenie spells them.
    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "P1" => Some(Priority::P1),
            "P2" => Some(Priority::P2),
            "P3" => Some(Priority::P3),
            "P4" => Some(Priority::P4),
            "P5" => Some(Priority::P5),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
            Priority::P5 => "P5",
        }
    }

    /// P1 pages as the worst; P3, Opsgenie's default, is Staunch's default sev2; P4 and P5
    /// ("low", "informational") are sev3.
    pub fn severity(self) -> Severity {
        match self {
            Priority::P1 => Severity::Sev1,
            Priority::P2 | Priority::P3 => Severity::Sev2,
            Priority::P4 | Priority::P5 => Severity::Sev3,
        }
    }
}

/// A team, user, escalation or schedule named in `responders` or `visibleTo`. Kept as sent:
/// Staunch does not resolve Opsgenie's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responder {
    /// `type`: team, user, escalation or schedule (not checked: Staunch does not use it).
    pub kind: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
}

impl Responder {
    fn to_json(&self) -> Value {
        let mut fields = Map::new();
        let members = [("type", &self.kind), ("id", &self.id), ("name", &self.name), ("username", &self.username)];
        for (key, value) in members {
            if let Some(value) = value {
                fields.insert(key.to_string(), Value::String(value.clone()));
            }
        }
        Value::Object(fields)
    }
}

/// One parsed `POST /v2/alerts` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAlertRequest {
    /// Trimmed, non-empty, at most [`MESSAGE_MAX_CHARACTERS`] characters.
    pub message: String,
    /// `None` when absent or blank; the shell then generates a key.
    pub alias: Option<DedupKey>,
    pub description: Option<String>,
    pub responders: Vec<Responder>,
    pub visible_to: Vec<Responder>,
    pub actions: Vec<String>,
    pub tags: Vec<String>,
    pub details: Labels,
    pub entity: Option<String>,
    pub source: Option<String>,
    /// The effective priority: as sent when it is one of P1..P5, otherwise P3.
    pub priority: Priority,
    pub user: Option<String>,
    pub note: Option<String>,
}

impl CreateAlertRequest {
    /// The trigger event. `generated_dedup_key` is used only when the request had no alias.
    pub fn into_alert_event(self, generated_dedup_key: DedupKey) -> AlertEvent {
        let dedup_key = self.alias.unwrap_or(generated_dedup_key);
        let mut labels = self.details.clone();
        // Opsgenie's own fields win over a detail of the same name; the detail stays in `details`.
        if let Some(entity) = self.entity {
            labels.insert("entity".to_string(), entity);
        }
        if let Some(source) = self.source {
            labels.insert("source".to_string(), source);
        }
        labels.insert("priority".to_string(), self.priority.as_str().to_string());
        if !self.tags.is_empty() {
            labels.insert("tags".to_string(), self.tags.join(","));
        }

        let mut annotations = Labels::new();
        let annotation_fields = [("description", self.description), ("note", self.note), ("user", self.user)];
        for (name, value) in annotation_fields {
            if let Some(value) = value {
                annotations.insert(name.to_string(), value);
            }
        }

        let mut details = Map::new();
        if !self.details.is_empty() {
            let entries = self.details.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
            details.insert("details".to_string(), Value::Object(entries));
        }
        if !self.responders.is_empty() {
            details.insert("responders".to_string(), self.responders.iter().map(Responder::to_json).collect());
        }
        if !self.visible_to.is_empty() {
            details.insert("visibleTo".to_string(), self.visible_to.iter().map(Responder::to_json).collect());
        }
        if !self.actions.is_empty() {
            details.insert("actions".to_string(), self.actions.into_iter().map(Value::String).collect());
        }
        let details = if details.is_empty() { Value::Null } else { Value::Object(details) };

        AlertEvent {
            action: AlertAction::Trigger,
            dedup_key,
            summary: self.message,
            severity: self.priority.severity(),
            labels,
            annotations,
            details,
            links: Vec::new(),
            images: Vec::new(),
            starts_at: None,
            ends_at: None,
            format: SourceFormat::Opsgenie,
        }
    }
}

/// Which alert a path identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierType {
    /// Opsgenie's default. Here, the id Staunch gave the alert: its dedup key.
    Id,
    Alias,
}

impl IdentifierType {
    /// The `identifierType` query parameter; absent or empty means `id`, as in Opsgenie.
    fn parse(text: Option<&str>, problems: &mut Problems) -> Option<IdentifierType> {
        match text.map(str::trim) {
            None | Some("") | Some("id") => Some(IdentifierType::Id),
            Some("alias") => Some(IdentifierType::Alias),
            Some("tiny") => {
                problems.invalid(
                    "identifierType",
                    "tiny ids are not supported by staunch, identify the alert by \"alias\" or \"id\" (its dedup key)",
                );
                None
            }
            Some(other) => {
                problems
                    .invalid("identifierType", format!("must be \"id\", \"alias\" or \"tiny\", not {}", quoted_excerpt(other)));
                None
            }
        }
    }
}

/// What a close or acknowledge request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsgenieAction {
    /// `POST /v2/alerts/{identifier}/close`: the condition is over; resolves the alert.
    Close,
    /// `POST /v2/alerts/{identifier}/acknowledge`: acknowledges the alert's incident.
    Acknowledge,
}

impl OpsgenieAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OpsgenieAction::Close => "close",
            OpsgenieAction::Acknowledge => "acknowledge",
        }
    }

    fn to_alert_action(self) -> AlertAction {
        match self {
            OpsgenieAction::Close => AlertAction::Resolve,
            OpsgenieAction::Acknowledge => AlertAction::Acknowledge,
        }
    }
}

/// One parsed close or acknowledge request.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertActionRequest {
    pub action: OpsgenieAction,
    pub dedup_key: DedupKey,
    pub identifier_type: IdentifierType,
    pub user: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

impl AlertActionRequest {
    /// The resolve or acknowledge event. It carries no labels, so intake finds the alert by its
    /// dedup key in every service the integration routes to, as for PagerDuty's follow-ups.
    pub fn into_alert_event(self) -> AlertEvent {
        AlertEvent {
            action: self.action.to_alert_action(),
            dedup_key: self.dedup_key,
            summary: String::new(),
            severity: Priority::DEFAULT.severity(),
            labels: Labels::new(),
            annotations: Labels::new(),
            details: Value::Null,
            links: Vec::new(),
            images: Vec::new(),
            starts_at: None,
            ends_at: None,
            format: SourceFormat::Opsgenie,
        }
    }
}

/// Which text an update request replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatedField {
    /// `PUT /v2/alerts/{identifier}/message`, body `{"message": ...}`.
    Message,
    /// `PUT /v2/alerts/{identifier}/description`, body `{"description": ...}`.
    Description,
}

impl UpdatedField {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdatedField::Message => "message",
            UpdatedField::Description => "description",
        }
    }
}

/// One parsed message or description update.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRequest {
    pub field: UpdatedField,
    pub dedup_key: DedupKey,
    pub identifier_type: IdentifierType,
    /// The new text; `None` only for a description update that clears it.
    pub text: Option<String>,
}

/// Parses a `POST /v2/alerts` body.
pub fn parse_create_alert(body: &[u8]) -> Result<CreateAlertRequest, OpsgenieError> {
    let mut root = read_root(body)?;
    let mut problems = Problems::default();

    let message = read_message(&mut root, &mut problems);
    let alias = read_alias_field(&mut root, &mut problems);
    let description = root.non_blank_string("description", &mut problems).optional();
    let responders = read_responders(&mut root, "responders", &mut problems);
    let visible_to = read_responders(&mut root, "visibleTo", &mut problems);
    let actions = read_string_list(&mut root, "actions", &mut problems);
    let tags = read_string_list(&mut root, "tags", &mut problems);
    let details = root.string_map("details", &mut problems).optional().unwrap_or_default();
    let entity = root.non_blank_string("entity", &mut problems).optional();
    let source = root.non_blank_string("source", &mut problems).optional();
    let priority = read_priority(&mut root, &mut problems);
    let user = root.non_blank_string("user", &mut problems).optional();
    let note = root.non_blank_string("note", &mut problems).optional();
    root.finish(&mut problems);

    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let (Some(message), Some(alias)) = (message, alias) else {
        // Unreachable in practice: every None above recorded a problem.
        return Err(invalid(problems));
    };
    Ok(CreateAlertRequest {
        message,
        alias,
        description,
        responders,
        visible_to,
        actions,
        tags: without_repeats(tags),
        details,
        entity,
        source,
        priority,
        user,
        note,
    })
}

/// Parses a close or acknowledge request: the path's identifier, the `identifierType` query
/// parameter (`None` when absent) and the body `{"user", "source", "note"}`, all optional. An
/// empty body counts as `{}`: Opsgenie's own examples send one, but scripts often send none.
pub fn parse_alert_action(
    action: OpsgenieAction,
    identifier: &str,
    identifier_type: Option<&str>,
    body: &[u8],
) -> Result<AlertActionRequest, OpsgenieError> {
    let mut problems = Problems::default();
    let identified = read_identifier(identifier, identifier_type, &mut problems);
    let mut root = read_optional_root(body)?;
    let user = root.non_blank_string("user", &mut problems).optional();
    let source = root.non_blank_string("source", &mut problems).optional();
    let note = root.non_blank_string("note", &mut problems).optional();
    root.finish(&mut problems);

    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let Some((dedup_key, identifier_type)) = identified else {
        return Err(invalid(problems));
    };
    Ok(AlertActionRequest { action, dedup_key, identifier_type, user, source, note })
}

/// Parses a message or description update. A message update needs a non-blank `message`
/// (Opsgenie's SDKs refuse to send one without); a description update may clear it.
pub fn parse_update(
    field: UpdatedField,
    identifier: &str,
    identifier_type: Option<&str>,
    body: &[u8],
) -> Result<UpdateRequest, OpsgenieError> {
    let mut problems = Problems::default();
    let identified = read_identifier(identifier, identifier_type, &mut problems);
    let mut root = read_optional_root(body)?;
    let text = match field {
        UpdatedField::Message => read_message(&mut root, &mut problems),
        UpdatedField::Description => root.non_blank_string("description", &mut problems).optional(),
    };
    root.finish(&mut problems);

    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let Some((dedup_key, identifier_type)) = identified else {
        return Err(invalid(problems));
    };
    Ok(UpdateRequest { field, dedup_key, identifier_type, text })
}

fn read_root(body: &[u8]) -> Result<JsonObject, OpsgenieError> {
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(error) => return Err(OpsgenieError::NotJson(error.to_string())),
    };
    let mut problems = Problems::default();
    match JsonObject::from_value(document, String::new(), &mut problems) {
        Some(root) => Ok(root),
        None => Err(invalid(problems)),
    }
}

/// Like [`read_root`], but an empty (or all-whitespace) body is an empty object.
fn read_optional_root(body: &[u8]) -> Result<JsonObject, OpsgenieError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return read_root(b"{}");
    }
    read_root(body)
}

fn read_message(root: &mut JsonObject, problems: &mut Problems) -> Option<String> {
    let message = root.non_blank_string("message", problems).required("message", problems)?;
    Some(message.trim().chars().take(MESSAGE_MAX_CHARACTERS).collect())
}

/// `Some(None)` when absent or blank.
fn read_alias_field(root: &mut JsonObject, problems: &mut Problems) -> Option<Option<DedupKey>> {
    match root.non_blank_string("alias", problems) {
        Field::Absent => Some(None),
        Field::Bad => None,
        Field::Present(alias) => dedup_key_from_alias(alias, "alias", problems).map(Some),
    }
}

fn dedup_key_from_alias(alias: String, path: &str, problems: &mut Problems) -> Option<DedupKey> {
    let characters = alias.chars().count();
    if characters > OPSGENIE_ALIAS_MAX_CHARACTERS {
        problems.invalid(path, format!("must be at most {OPSGENIE_ALIAS_MAX_CHARACTERS} characters, not {characters}"));
        return None;
    }
    match DedupKey::parse(alias) {
        Ok(key) => Some(key),
        Err(DedupKeyError::TooLong) => {
            problems.invalid(
                path,
                format!(
                    "must be at most {} characters in staunch (opsgenie allows {OPSGENIE_ALIAS_MAX_CHARACTERS}), not {characters}",
                    DedupKey::MAX_LEN
                ),
            );
            None
        }
        Err(DedupKeyError::Empty) => {
            problems.missing(path);
            None
        }
    }
}

/// The dedup key a path identifier names. Both identifier types name the dedup key (see the
/// module documentation), so they only differ in what they are called in errors.
fn read_identifier(
    identifier: &str,
    identifier_type: Option<&str>,
    problems: &mut Problems,
) -> Option<(DedupKey, IdentifierType)> {
    let identifier_type = IdentifierType::parse(identifier_type, problems);
    let dedup_key = dedup_key_from_alias(identifier.to_string(), "identifier", problems);
    Some((dedup_key?, identifier_type?))
}

fn read_priority(root: &mut JsonObject, problems: &mut Problems) -> Priority {
    match root.non_blank_string("priority", problems) {
        // Opsgenie's documented fallback for unknown values, see the module documentation.
        Field::Present(text) => Priority::parse(text.trim()).unwrap_or(Priority::DEFAULT),
        Field::Absent | Field::Bad => Priority::DEFAULT,
    }
}

fn read_string_list(root: &mut JsonObject, key: &str, problems: &mut Problems) -> Vec<String> {
    let items = root.array(key, problems).optional().unwrap_or_default();
    let path = root.field_path(key);
    let mut strings = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::String(text) if text.trim().is_empty() => {}
            Value::String(text) => strings.push(text),
            _ => problems.wrong_type(index_path(&path, index), "a string"),
        }
    }
    strings
}

fn read_responders(root: &mut JsonObject, key: &str, problems: &mut Problems) -> Vec<Responder> {
    let items = root.array(key, problems).optional().unwrap_or_default();
    let path = root.field_path(key);
    let mut responders = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let Some(mut object) = JsonObject::from_value(item, index_path(&path, index), problems) else {
            continue;
        };
        let kind = object.non_blank_string("type", problems).optional();
        let id = object.non_blank_string("id", problems).optional();
        let name = object.non_blank_string("name", problems).optional();
        let username = object.non_blank_string("username", problems).optional();
        object.finish(problems);
        responders.push(Responder { kind, id, name, username });
    }
    responders
}

/// Keeps the first of each repeated value, in order.
fn without_repeats(values: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

fn invalid(problems: Problems) -> OpsgenieError {
    let mut errors: Vec<FieldError> = problems.list.into_iter().map(to_field_error).collect();
    if errors.is_empty() {
        // Only reachable through a parser bug; an empty list would tell the sender nothing.
        errors.push(FieldError { field: "body".to_string(), message: "could not be read".to_string() });
    }
    OpsgenieError::Invalid(IngestError { errors })
}

fn to_field_error(problem: Problem) -> FieldError {
    let field = if problem.path.is_empty() { "body".to_string() } else { problem.path };
    let message = match problem.kind {
        ProblemKind::Missing => "is required".to_string(),
        ProblemKind::WrongType { expected } => format!("must be {expected}"),
        ProblemKind::UnknownField => "is not a field of the opsgenie alert api".to_string(),
        ProblemKind::Invalid { message } => message,
    };
    FieldError { field, message }
}

#[cfg(test)]
mod tests;
