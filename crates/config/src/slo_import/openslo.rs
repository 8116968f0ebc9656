//! OpenSLO documents: the checks the `oslo validate` tool makes that matter for an import
//! (API version, unknown fields, RFC 1123 names, time zones, forbidden objective operators),
//! worded as oslo words them, and the conversion of v1 `SLO` (with an inline indicator or
//! an `indicatorRef` to an `SLI` document) into Staunch SLOs.

use serde_json::Value;

use super::{ImportedSli, ImportedSlo};

/// One failed property, as oslo reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyProblem {
    pub path: String,
    /// The offending value, when there is one.
    pub value: Option<String>,
    pub message: String,
}

/// The problems of one object (`v1.SLO 'web-availability' at index 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblems {
    /// Version and kind, e.g. `v1.SLO`.
    pub kind: String,
    pub name: String,
    /// The position in a list document, when the document is a list.
    pub index: Option<usize>,
    pub properties: Vec<PropertyProblem>,
}

impl std::fmt::Display for ObjectProblems {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.index.map(|index| format!(" at index {index}")).unwrap_or_default();
        writeln!(formatter, "Validation for {} '{}'{at} has failed for the following properties:", self.kind, self.name)?;
        for property in &self.properties {
            match &property.value {
                Some(value) => writeln!(formatter, "  - '{}' with value '{value}':", property.path)?,
                None => writeln!(formatter, "  - '{}':", property.path)?,
            }
            writeln!(formatter, "    - {}", property.message)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenSloError {
    #[error("unsupported openslo.Version: {0}")]
    UnsupportedVersion(String),
    #[error("failed to decode {version} {kind}: json: unknown field \"{field}\"")]
    UnknownField { version: String, kind: String, field: String },
    #[error("{}", render(.0))]
    Invalid(Vec<ObjectProblems>),
    #[error("{at}: {problem}")]
    Unsupported { at: String, problem: String },
}

fn render(objects: &[ObjectProblems]) -> String {
    objects.iter().map(ToString::to_string).collect::<String>().trim_end().to_string()
}

const NAME_MESSAGE: &str = "string must match regular expression: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' (e.g. 'my-name', '123-abc'); an RFC-1123 compliant label name must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

fn rfc1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alphanumeric = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && alphanumeric(&bytes[0])
        && alphanumeric(&bytes[bytes.len() - 1])
        && bytes.iter().all(|byte| alphanumeric(byte) || *byte == b'-')
}

/// Fields each v1 object may carry, per path within it (`""` is the top level).
fn known_fields(kind: &str, path: &str) -> Option<&'static [&'static str]> {
    Some(match (kind, path) {
        (_, "") => &["apiVersion", "kind", "metadata", "spec"],
        (_, "metadata") => &["name", "displayName", "labels", "annotations"],
        ("Service", "spec") => &["description"],
        ("SLO", "spec") => &[
            "description",
            "service",
            "indicator",
            "indicatorRef",
            "timeWindow",
            "budgetingMethod",
            "objectives",
            "alertPolicies",
        ],
        ("SLI", "spec") => &["description", "thresholdMetric", "ratioMetric"],
        _ => return None,
    })
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks one v1 object; returns its problems (empty when valid) or a decode error.
fn check_v1(object: &Value, index: Option<usize>) -> Result<Option<ObjectProblems>, OpenSloError> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    for path in ["", "metadata", "spec"] {
        let Some(known) = known_fields(&kind, path) else { continue };
        let node = if path.is_empty() { object } else { &object[path] };
        if let Some(map) = node.as_object()
            && let Some(field) = map.keys().find(|key| !known.contains(&key.as_str()))
        {
            return Err(OpenSloError::UnknownField { version: "openslo/v1".into(), kind, field: field.clone() });
        }
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let mut properties = Vec::new();
    if !rfc1123_label(&name) {
        properties.push(PropertyProblem {
            path: "metadata.name".into(),
            value: Some(name.clone()),
            message: NAME_MESSAGE.into(),
        });
    }
    if kind == "SLO" {
        let spec = &object["spec"];
        for (window_index, window) in spec["timeWindow"].as_array().cloned().unwrap_or_default().iter().enumerate() {
            let zone = &window["calendar"]["timeZone"];
            if let Some(zone) = zone.as_str()
                && jiff::tz::TimeZone::get(zone).is_err()
            {
                properties.push(PropertyProblem {
                    path: format!("spec.timeWindow[{window_index}].calendar.timeZone"),
                    value: Some(zone.to_string()),
                    message: format!(
                        "string must be a valid IANA Time Zone Database code: unknown time zone {zone} (e.g. 'UTC', 'America/New_York', 'Europe/Warsaw')"
                    ),
                });
            }
        }
        let ratio = !spec["indicator"]["spec"]["ratioMetric"].is_null();
        for (objective_index, objective) in spec["objectives"].as_array().cloned().unwrap_or_default().iter().enumerate() {
            if ratio && let Some(op) = objective.get("op") {
                properties.push(PropertyProblem {
                    path: format!("spec.objectives[{objective_index}].op"),
                    value: Some(text(op)),
                    message: "property is forbidden".into(),
                });
            }
        }
    }
    if properties.is_empty() {
        return Ok(None);
    }
    Ok(Some(ObjectProblems { kind: format!("v1.{kind}"), name, index, properties }))
}

/// The objects of one YAML document (a list, or a single object) with their list position.
fn objects(document: &Value) -> Vec<(Option<usize>, &Value)> {
    match document {
        // oslo names the position only when a list holds several objects.
        Value::Array(items) => items.iter().enumerate().map(|(index, item)| ((items.len() > 1).then_some(index), item)).collect(),
        other => vec![(None, other)],
    }
}

/// Validates OpenSLO v1 documents, as `oslo validate` would for v1 objects.
pub fn validate(documents: &[Value]) -> Result<(), OpenSloError> {
    let mut problems = Vec::new();
    for document in documents {
        for (index, object) in objects(document) {
            let version = object["apiVersion"].as_str().unwrap_or_default();
            if version != "openslo/v1" {
                return Err(OpenSloError::UnsupportedVersion(version.to_string()));
            }
            problems.extend(check_v1(object, index)?);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(OpenSloError::Invalid(problems)) }
}

/// Turns a cumulative counter query (`sum(http_requests{...})`) into the increase of its
/// events over `{{.window}}`, which is what Staunch queries each tick.
fn increase_query(query: &str) -> String {
    let query = query.trim();
    if crate::sloth::has_window_variable(query) {
        return query.to_string();
    }
    if let Some(inner) = query.strip_prefix("sum(").and_then(|rest| rest.strip_suffix(')'))
        && !inner.contains(['(', ')'])
    {
        return format!("sum(increase({inner}[{{{{.window}}}}]))");
    }
    // Anything else: the increase of the whole expression, as a subquery.
    format!("increase(({query})[{{{{.window}}}}:])")
}

fn unsupported(at: impl Into<String>, problem: impl Into<String>) -> OpenSloError {
    OpenSloError::Unsupported { at: at.into(), problem: problem.into() }
}

fn prometheus_query(metric: &Value, at: &str) -> Result<String, OpenSloError> {
    let source = &metric["metricSource"];
    let source_type = source["type"].as_str().unwrap_or_default();
    if source_type != "Prometheus" {
        return Err(unsupported(
            format!("{at}.metricSource.type"),
            format!("{source_type:?}: only Prometheus sources can be imported"),
        ));
    }
    source["spec"]["query"]
        .as_str()
        .map(increase_query)
        .ok_or_else(|| unsupported(format!("{at}.metricSource.spec.query"), "missing"))
}

fn convert_sli(spec: &Value, at: &str) -> Result<ImportedSli, OpenSloError> {
    let ratio = &spec["ratioMetric"];
    if ratio.is_null() {
        return Err(unsupported(
            format!("{at}.ratioMetric"),
            "missing: only ratio metrics (good or bad over total) can be imported",
        ));
    }
    if ratio["counter"].as_bool() == Some(false) {
        return Err(unsupported(format!("{at}.ratioMetric.counter"), "only counters (counter: true) can be imported"));
    }
    let total_query = prometheus_query(&ratio["total"], &format!("{at}.ratioMetric.total"))?;
    if !ratio["good"].is_null() {
        return Ok(ImportedSli::Good {
            good_query: prometheus_query(&ratio["good"], &format!("{at}.ratioMetric.good"))?,
            total_query,
        });
    }
    if !ratio["bad"].is_null() {
        return Ok(ImportedSli::Error {
            error_query: prometheus_query(&ratio["bad"], &format!("{at}.ratioMetric.bad"))?,
            total_query,
        });
    }
    Err(unsupported(format!("{at}.ratioMetric"), "missing good or bad"))
}

fn convert_window(spec: &Value) -> Result<String, OpenSloError> {
    let windows = spec["timeWindow"].as_array().cloned().unwrap_or_default();
    let [window] = windows.as_slice() else {
        return Err(unsupported("spec.timeWindow", "exactly one time window is supported"));
    };
    let duration = window["duration"].as_str().unwrap_or_default();
    let period = staunch_domain::slo::SloPeriod::parse(duration)
        .map_err(|error| unsupported("spec.timeWindow[0].duration", error.to_string()))?;
    Ok(crate::sloth::prom_duration(period.duration()))
}

/// Every v1 `SLO` in the documents, with indicators resolved.
pub fn convert(documents: &[Value]) -> Result<Vec<ImportedSlo>, OpenSloError> {
    validate(documents)?;
    let all: Vec<&Value> =
        documents.iter().flat_map(|document| objects(document).into_iter().map(|(_, object)| object)).collect();
    let mut slos = Vec::new();
    for object in all.iter().filter(|object| object["kind"] == "SLO") {
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let spec = &object["spec"];
        let at = |field: &str| format!("SLO {name}: {field}");
        let method = spec["budgetingMethod"].as_str().unwrap_or("Occurrences");
        if method != "Occurrences" {
            return Err(unsupported(at("spec.budgetingMethod"), format!("{method:?}: staunch evaluates Occurrences only")));
        }
        let sli = match (&spec["indicator"], spec["indicatorRef"].as_str()) {
            (Value::Null, Some(reference)) => {
                let found = all
                    .iter()
                    .find(|candidate| candidate["kind"] == "SLI" && candidate["metadata"]["name"] == reference)
                    .ok_or_else(|| unsupported(at("spec.indicatorRef"), format!("no SLI named {reference:?} in the file")))?;
                convert_sli(&found["spec"], &format!("SLI {reference}: spec"))?
            }
            (Value::Null, None) => return Err(unsupported(at("spec.indicator"), "missing: give indicator or indicatorRef")),
            (indicator, _) => convert_sli(&indicator["spec"], &at("spec.indicator.spec"))?,
        };
        let objectives = spec["objectives"].as_array().cloned().unwrap_or_default();
        let [objective] = objectives.as_slice() else {
            return Err(unsupported(at("spec.objectives"), "exactly one objective is supported"));
        };
        let percent = match (objective["target"].as_f64(), objective["targetPercent"].as_f64()) {
            (Some(target), _) => target * 100.0,
            (None, Some(percent)) => percent,
            (None, None) => return Err(unsupported(at("spec.objectives[0].target"), "missing")),
        };
        staunch_domain::slo::Objective::from_percent(percent)
            .map_err(|error| unsupported(at("spec.objectives[0].target"), error.to_string()))?;
        let calendar = spec["timeWindow"][0]["isRolling"].as_bool() == Some(false);
        slos.push(ImportedSlo {
            id: name.clone(),
            name: object["metadata"]["displayName"].as_str().unwrap_or(&name).to_string(),
            description: spec["description"].as_str().unwrap_or_default().to_string(),
            service: spec["service"].as_str().unwrap_or_default().to_string(),
            objective: percent,
            window: convert_window(spec).map_err(|error| match error {
                OpenSloError::Unsupported { at: field, problem } => unsupported(at(&field), problem),
                other => other,
            })?,
            sli,
            labels: Default::default(),
            page_alert_name: None,
            ticket_alert_name: None,
            notes: if calendar { vec!["calendar window imported as a rolling window".to_string()] } else { Vec::new() },
        });
    }
    if slos.is_empty() {
        return Err(unsupported("kind", "no SLO documents found"));
    }
    Ok(slos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_queries_become_increases_over_the_window() {
        assert_eq!(
            increase_query("sum(http_requests{code=~\"2xx\"})"),
            "sum(increase(http_requests{code=~\"2xx\"}[{{.window}}]))"
        );
        assert_eq!(increase_query("sum(rate(x[{{.window}}]))"), "sum(rate(x[{{.window}}]))");
        assert_eq!(increase_query("sum by (a) (x)"), "increase((sum by (a) (x))[{{.window}}:])");
        assert!(rfc1123_label("my-name") && rfc1123_label("123-abc"));
        assert!(!rfc1123_label("my name") && !rfc1123_label("-a") && !rfc1123_label("A"));
    }
}
