//! Templates in runbook steps (`{{incident.title}}`, `{{alert.labels.pod}}`): parsed once when
//! the runbook is loaded, rendered as data only.
//!
//! A template is a list of literal text and variables. Rendering concatenates the literals
//! with the variables' values and never reads the result again, so a value that itself looks
//! like a template (`{{incident.id}}` inside a label) stays text. Where the value lands decides
//! its encoding: an argv element takes it as it is (one value, one element, no shell), a URL
//! percent-encodes it, a JSON body lets the serializer escape it, a header refuses control
//! characters. Unknown variables are refused at load time.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a template may refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Variable {
    IncidentId,
    IncidentTitle,
    IncidentService,
    IncidentSeverity,
    AlertName,
    AlertSummary,
    AlertLabel(String),
    AlertAnnotation(String),
    Symptom,
    RunbookName,
    RunId,
    /// The deploy the incident is linked to (`crate::deploy::link`).
    DeployId,
    DeploySummary,
    DeploySource,
    DeployAt,
    /// A top-level field of the deploy's details (`deploy.details.sha`).
    DeployDetail(String),
}

impl Variable {
    /// Reads a variable name as written between the braces.
    pub fn parse(name: &str) -> Option<Variable> {
        let variable = match name {
            "incident.id" => Variable::IncidentId,
            "incident.title" => Variable::IncidentTitle,
            "incident.service" => Variable::IncidentService,
            "incident.severity" => Variable::IncidentSeverity,
            "alert.name" => Variable::AlertName,
            "alert.summary" => Variable::AlertSummary,
            "symptom" => Variable::Symptom,
            "runbook.name" => Variable::RunbookName,
            "run.id" => Variable::RunId,
            "deploy.id" => Variable::DeployId,
            "deploy.summary" => Variable::DeploySummary,
            "deploy.source" => Variable::DeploySource,
            "deploy.at" => Variable::DeployAt,
            _ => {
                if let Some(detail) = name.strip_prefix("deploy.details.") {
                    return valid_key(detail).then(|| Variable::DeployDetail(detail.to_string()));
                }
                if let Some(label) = name.strip_prefix("alert.labels.") {
                    return valid_key(label).then(|| Variable::AlertLabel(label.to_string()));
                }
                if let Some(annotation) = name.strip_prefix("alert.annotations.") {
                    return valid_key(annotation).then(|| Variable::AlertAnnotation(annotation.to_string()));
                }
                return None;
            }
        };
        Some(variable)
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for Variable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variable::IncidentId => formatter.write_str("incident.id"),
            Variable::IncidentTitle => formatter.write_str("incident.title"),
            Variable::IncidentService => formatter.write_str("incident.service"),
            Variable::IncidentSeverity => formatter.write_str("incident.severity"),
            Variable::AlertName => formatter.write_str("alert.name"),
            Variable::AlertSummary => formatter.write_str("alert.summary"),
            Variable::AlertLabel(name) => write!(formatter, "alert.labels.{name}"),
            Variable::AlertAnnotation(name) => write!(formatter, "alert.annotations.{name}"),
            Variable::Symptom => formatter.write_str("symptom"),
            Variable::RunbookName => formatter.write_str("runbook.name"),
            Variable::RunId => formatter.write_str("run.id"),
            Variable::DeployId => formatter.write_str("deploy.id"),
            Variable::DeploySummary => formatter.write_str("deploy.summary"),
            Variable::DeploySource => formatter.write_str("deploy.source"),
            Variable::DeployAt => formatter.write_str("deploy.at"),
            Variable::DeployDetail(name) => write!(formatter, "deploy.details.{name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Part {
    Literal(String),
    Variable(Variable),
}

/// A parsed template. Its source text is kept for display and for the stored definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown template variable {0:?}: expected incident.id, incident.title, incident.service, incident.severity, alert.name, alert.summary, alert.labels.NAME, alert.annotations.NAME, symptom, runbook.name, run.id, deploy.id, deploy.summary, deploy.source, deploy.at or deploy.details.NAME"
    )]
    UnknownVariable(String),
    #[error("unclosed template variable: {{{{ without }}}}")]
    Unclosed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the incident's alert has no label {0:?}")]
    MissingLabel(String),
    #[error("the incident's alert has no annotation {0:?}")]
    MissingAnnotation(String),
    #[error("the incident has no alert to read {0} from")]
    NoAlert(String),
    #[error("the incident has no symptom")]
    NoSymptom,
    #[error("the incident is linked to no deploy to read {0} from")]
    NoDeploy(String),
    #[error("the linked deploy's details have no text, number or boolean {0:?}")]
    MissingDeployDetail(String),
    #[error("{variable} holds a control character, which a header value cannot carry")]
    ControlCharacter { variable: String },
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after_open = &rest[start + 2..];
            let end = after_open.find("}}").ok_or(TemplateError::Unclosed)?;
            let name = after_open[..end].trim();
            let variable = Variable::parse(name).ok_or_else(|| TemplateError::UnknownVariable(name.to_string()))?;
            parts.push(Part::Variable(variable));
            rest = &after_open[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { source: source.to_string(), parts })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template holds no variable (its rendering is its source).
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|part| matches!(part, Part::Literal(_)))
    }

    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(variable) => Some(variable),
            Part::Literal(_) => None,
        })
    }

    /// Renders with each value passed through `encode`; literals are copied as written.
    fn render_with(
        &self,
        context: &TemplateContext,
        mut encode: impl FnMut(&Variable, &str) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        let mut output = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Literal(text) => output.push_str(text),
                Part::Variable(variable) => {
                    let value = context.value(variable)?;
                    output.push_str(&encode(variable, &value)?);
                }
            }
        }
        Ok(output)
    }

    /// The value as one argv element or other plain text: values are copied unchanged.
    pub fn render_plain(&self, context: &TemplateContext) -> Result<String, RenderError> {
        self.render_with(context, |_, value| Ok(value.to_string()))
    }

    /// A URL: every value is percent-encoded, so it can add no path segment, query parameter
    /// or fragment of its own.
    pub fn render_url(&self, context: &TemplateContext) -> Result<String, RenderError> {
        self.render_with(context, |_, value| Ok(percent_encode(value)))
    }

    /// A header value: values with control characters (CR, LF, ...) are refused, so they
    /// cannot start a header of their own.
    pub fn render_header(&self, context: &TemplateContext) -> Result<String, RenderError> {
        self.render_with(context, |variable, value| {
            if value.chars().any(char::is_control) {
                return Err(RenderError::ControlCharacter { variable: variable.to_string() });
            }
            Ok(value.to_string())
        })
    }
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Template, D::Error> {
        let source = String::deserialize(deserializer)?;
        Template::parse(&source).map_err(serde::de::Error::custom)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The values templates are rendered with: the incident, one of its alerts, the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateContext {
    pub incident_id: i64,
    pub incident_title: String,
    pub incident_service: String,
    pub incident_severity: String,
    /// The alert values come from; `None` when the incident has none.
    pub alert: Option<AlertValues>,
    pub symptom: Option<String>,
    pub runbook_name: String,
    pub run_id: i64,
    /// The deploy the incident is linked to; `None` when it is linked to none.
    #[serde(default)]
    pub deploy: Option<DeployValues>,
}

/// What templates may read of a linked deploy (a change event).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployValues {
    pub id: i64,
    pub summary: String,
    pub source: Option<String>,
    pub at: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertValues {
    pub summary: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl TemplateContext {
    pub fn value(&self, variable: &Variable) -> Result<String, RenderError> {
        let alert = || self.alert.as_ref().ok_or_else(|| RenderError::NoAlert(variable.to_string()));
        let deploy = || self.deploy.as_ref().ok_or_else(|| RenderError::NoDeploy(variable.to_string()));
        Ok(match variable {
            Variable::IncidentId => self.incident_id.to_string(),
            Variable::IncidentTitle => self.incident_title.clone(),
            Variable::IncidentService => self.incident_service.clone(),
            Variable::IncidentSeverity => self.incident_severity.clone(),
            Variable::AlertName => {
                alert()?.labels.get("alertname").cloned().ok_or_else(|| RenderError::MissingLabel("alertname".into()))?
            }
            Variable::AlertSummary => alert()?.summary.clone(),
            Variable::AlertLabel(name) => {
                alert()?.labels.get(name).cloned().ok_or_else(|| RenderError::MissingLabel(name.clone()))?
            }
            Variable::AlertAnnotation(name) => {
                alert()?.annotations.get(name).cloned().ok_or_else(|| RenderError::MissingAnnotation(name.clone()))?
            }
            Variable::Symptom => self.symptom.clone().ok_or(RenderError::NoSymptom)?,
            Variable::RunbookName => self.runbook_name.clone(),
            Variable::RunId => self.run_id.to_string(),
            Variable::DeployId => deploy()?.id.to_string(),
            Variable::DeploySummary => deploy()?.summary.clone(),
            Variable::DeploySource => deploy()?.source.clone().unwrap_or_default(),
            Variable::DeployAt => deploy()?.at.clone(),
            Variable::DeployDetail(name) => match deploy()?.details.get(name) {
                Some(serde_json::Value::String(text)) => text.clone(),
                Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => value.to_string(),
                _ => return Err(RenderError::MissingDeployDetail(name.clone())),
            },
        })
    }
}

/// A JSON body whose strings may hold templates. Only string values (and object keys are
/// left alone) are templated; the whole value is serialized afterwards, so a value can never
/// close a string or add a member.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonTemplate {
    value: serde_json::Value,
}

impl JsonTemplate {
    /// Checks every string in `value` as a template; errors name the JSON path.
    pub fn parse(value: serde_json::Value) -> Result<JsonTemplate, (String, TemplateError)> {
        fn walk(value: &serde_json::Value, path: &str) -> Result<(), (String, TemplateError)> {
            match value {
                serde_json::Value::String(text) => Template::parse(text).map(|_| ()).map_err(|error| (path.to_string(), error)),
                serde_json::Value::Array(items) => {
                    items.iter().enumerate().try_for_each(|(index, item)| walk(item, &format!("{path}[{index}]")))
                }
                serde_json::Value::Object(members) => {
                    members.iter().try_for_each(|(key, member)| walk(member, &format!("{path}.{key}")))
                }
                _ => Ok(()),
            }
        }
        walk(&value, "")?;
        Ok(JsonTemplate { value })
    }

    pub fn source(&self) -> &serde_json::Value {
        &self.value
    }

    pub fn variables(&self) -> Vec<Variable> {
        fn walk(value: &serde_json::Value, found: &mut Vec<Variable>) {
            match value {
                serde_json::Value::String(text) => {
                    if let Ok(template) = Template::parse(text) {
                        found.extend(template.variables().cloned());
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
                serde_json::Value::Object(members) => members.values().for_each(|member| walk(member, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        walk(&self.value, &mut found);
        found
    }

    /// The rendered body as JSON text.
    pub fn render(&self, context: &TemplateContext) -> Result<String, RenderError> {
        fn walk(value: &serde_json::Value, context: &TemplateContext) -> Result<serde_json::Value, RenderError> {
            Ok(match value {
                serde_json::Value::String(text) => match Template::parse(text) {
                    Ok(template) => serde_json::Value::String(template.render_plain(context)?),
                    // Checked at load; a string that no longer parses is kept as written.
                    Err(_) => value.clone(),
                },
                serde_json::Value::Array(items) => {
                    serde_json::Value::Array(items.iter().map(|item| walk(item, context)).collect::<Result<_, _>>()?)
                }
                serde_json::Value::Object(members) => serde_json::Value::Object(
                    members
                        .iter()
                        .map(|(key, member)| Ok((key.clone(), walk(member, context)?)))
                        .collect::<Result<_, RenderError>>()?,
                ),
                other => other.clone(),
            })
        }
        let rendered = walk(&self.value, context)?;
        Ok(serde_json::to_string(&rendered).unwrap_or_else(|_| "null".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context_with_label(name: &str, value: &str) -> TemplateContext {
        TemplateContext {
            incident_id: 7,
            incident_title: "chat \"down\"".into(),
            incident_service: "chat".into(),
            incident_severity: "sev1".into(),
            alert: Some(AlertValues {
                summary: "errors".into(),
                labels: [(name.to_string(), value.to_string())].into_iter().collect(),
                annotations: BTreeMap::new(),
            }),
            symptom: Some("model_provider_outage".into()),
            runbook_name: "fallback".into(),
            run_id: 3,
            deploy: None,
        }
    }

    #[test]
    fn deploy_fields_render_as_data_and_are_refused_without_a_deploy() {
        let url = Template::parse("https://deploys.example/rollback/{{deploy.details.sha}}?id={{deploy.id}}").unwrap();
        let argv = Template::parse("{{deploy.summary}}").unwrap();
        let mut context = context_with_label("pod", "p");
        assert_eq!(url.render_url(&context), Err(RenderError::NoDeploy("deploy.details.sha".into())));
        context.deploy = Some(DeployValues {
            id: 12,
            summary: "deploy $(reboot); {{incident.id}}".into(),
            source: Some("github:acme/chat".into()),
            at: "2026-11-22T10:00:00Z".into(),
            details: serde_json::json!({ "sha": "ab/../c?d", "attempt": 2, "nested": { "x": 1 } }),
        });
        assert_eq!(url.render_url(&context).unwrap(), "https://deploys.example/rollback/ab%2F..%2Fc%3Fd?id=12");
        assert_eq!(argv.render_plain(&context).unwrap(), "deploy $(reboot); {{incident.id}}");
        let attempt = Template::parse("{{deploy.details.attempt}}").unwrap();
        assert_eq!(attempt.render_plain(&context).unwrap(), "2");
        let nested = Template::parse("{{deploy.details.nested}}").unwrap();
        assert_eq!(nested.render_plain(&context), Err(RenderError::MissingDeployDetail("nested".into())));
        assert!(Template::parse("{{deploy.details.}}").is_err());
        assert!(Template::parse("{{deploy.author}}").is_err());
    }

    #[test]
    fn unknown_variables_and_unclosed_braces_are_refused_at_parse() {
        assert_eq!(Template::parse("{{incident.owner}}"), Err(TemplateError::UnknownVariable("incident.owner".into())));
        assert_eq!(Template::parse("x {{incident.id"), Err(TemplateError::Unclosed));
        assert!(Template::parse("{{ alert.labels.pod }}/{{incident.id}}").is_ok());
        assert!(Template::parse("{{alert.labels.}}").is_err());
    }

    #[test]
    fn values_that_look_like_templates_stay_text() {
        let template = Template::parse("pod={{alert.labels.pod}}").unwrap();
        let context = context_with_label("pod", "{{incident.id}}");
        assert_eq!(template.render_plain(&context).unwrap(), "pod={{incident.id}}");
    }

    #[test]
    fn each_encoding_keeps_hostile_values_as_data() {
        let cases: &[(&str, &str, &str)] = &[
            // (label value, url rendering of https://h/p/{{v}}?q={{v}}, header rendering)
            ("$(touch /tmp/x)", "https://h/p/%24%28touch%20%2Ftmp%2Fx%29?q=%24%28touch%20%2Ftmp%2Fx%29", "$(touch /tmp/x)"),
            ("a/../b?x=1#f", "https://h/p/a%2F..%2Fb%3Fx%3D1%23f?q=a%2F..%2Fb%3Fx%3D1%23f", "a/../b?x=1#f"),
            ("; rm -rf /", "https://h/p/%3B%20rm%20-rf%20%2F?q=%3B%20rm%20-rf%20%2F", "; rm -rf /"),
        ];
        let url = Template::parse("https://h/p/{{alert.labels.v}}?q={{alert.labels.v}}").unwrap();
        let header = Template::parse("{{alert.labels.v}}").unwrap();
        for (value, expected_url, expected_header) in cases {
            let context = context_with_label("v", value);
            assert_eq!(url.render_url(&context).unwrap(), *expected_url, "{value}");
            assert_eq!(header.render_header(&context).unwrap(), *expected_header, "{value}");
            assert_eq!(header.render_plain(&context).unwrap(), *value);
        }
        let context = context_with_label("v", "x\r\nX-Evil: 1");
        assert!(matches!(header.render_header(&context), Err(RenderError::ControlCharacter { .. })));
    }

    #[test]
    fn json_bodies_escape_values_and_keep_their_shape() {
        let body = JsonTemplate::parse(serde_json::json!({
            "title": "{{incident.title}}", "pod": "{{alert.labels.v}}", "n": 3, "list": ["{{symptom}}"],
        }))
        .unwrap();
        let context = context_with_label("v", "\", \"admin\": true, \"x\": \"");
        let rendered: serde_json::Value = serde_json::from_str(&body.render(&context).unwrap()).unwrap();
        assert_eq!(rendered["pod"], "\", \"admin\": true, \"x\": \"");
        assert_eq!(rendered["title"], "chat \"down\"");
        assert_eq!(rendered["list"][0], "model_provider_outage");
        assert!(rendered.get("admin").is_none());
        assert_eq!(rendered.as_object().unwrap().len(), 4);
    }

    #[test]
    fn missing_labels_are_errors_not_empty_strings() {
        let template = Template::parse("{{alert.labels.pod}}").unwrap();
        let context = context_with_label("other", "x");
        assert_eq!(template.render_plain(&context), Err(RenderError::MissingLabel("pod".into())));
    }

    proptest::proptest! {
        #[test]
        fn a_url_value_never_adds_reserved_characters(value in ".*") {
            let template = Template::parse("http://h/a/{{alert.labels.v}}").unwrap();
            let rendered = template.render_url(&context_with_label("v", &value)).unwrap();
            let tail = rendered.strip_prefix("http://h/a/").unwrap();
            proptest::prop_assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        }

        #[test]
        fn a_json_value_round_trips_exactly(value in ".*") {
            let body = JsonTemplate::parse(serde_json::json!({ "v": "{{alert.labels.v}}" })).unwrap();
            let rendered: serde_json::Value = serde_json::from_str(&body.render(&context_with_label("v", &value)).unwrap()).unwrap();
            proptest::prop_assert_eq!(rendered, serde_json::json!({ "v": value }));
        }
    }
}
