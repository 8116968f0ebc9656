//! `staunch slo import`: reads a Sloth `prometheus/v1` spec (or any format `staunch slo rules`
//! reads) or OpenSLO v1 `SLO`/`SLI` documents and writes the equivalent `slos:` section of
//! `staunch.yaml`. Sloth's rate queries become increases (Staunch counts events per tick);
//! OpenSLO counter queries become increases over the tick. Problems name their field.

pub mod openslo;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sloth::{self, SliQuery};

pub use openslo::{ObjectProblems, OpenSloError, PropertyProblem};

#[derive(Debug, Clone, PartialEq)]
pub enum ImportedSli {
    Error { error_query: String, total_query: String },
    Good { good_query: String, total_query: String },
}

/// One SLO ready to be written as staunch.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSlo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub service: String,
    pub objective: f64,
    pub window: String,
    pub sli: ImportedSli,
    pub labels: BTreeMap<String, String>,
    pub page_alert_name: Option<String>,
    pub ticket_alert_name: Option<String>,
    /// Said as comments above the SLO.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Sloth(#[from] sloth::SlothError),
    #[error(transparent)]
    OpenSlo(#[from] OpenSloError),
    #[error("invalid yaml: {0}")]
    Yaml(String),
    #[error("{at}: {problem}")]
    Field { at: String, problem: String },
}

/// Parses every YAML document of a file into JSON values.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, ImportError> {
    sloth::split_documents(text)
        .iter()
        .map(|document| serde_saphyr::from_str::<Value>(document).map_err(|error| ImportError::Yaml(error.to_string())))
        .collect()
}

/// OpenSLO v1 (or an unknown `apiVersion`, refused there by version): every object with an
/// `apiVersion` that is not one of the formats `staunch slo rules` reads.
fn is_openslo_v1(documents: &[Value]) -> bool {
    let openslo = |object: &Value| {
        object["apiVersion"].as_str().is_some_and(|version| version != "sloth.slok.dev/v1" && version != "openslo/v1alpha")
    };
    documents.iter().any(|document| match document {
        Value::Array(items) => items.iter().any(|item| item.get("apiVersion").is_some()),
        other => openslo(other),
    })
}

/// Sloth queries are rates over `{{.window}}`; Staunch wants event counts over it.
fn rate_to_increase(query: &str) -> String {
    let mut output = String::with_capacity(query.len() + 8);
    let mut rest = query;
    while let Some(position) = rest.find("rate(") {
        let preceding = rest[..position].chars().last();
        output.push_str(&rest[..position]);
        // `irate(` and names ending in "rate(" are left alone.
        if preceding.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            output.push_str("rate(");
        } else {
            output.push_str("increase(");
        }
        rest = &rest[position + 5..];
    }
    output.push_str(rest);
    output
}

fn from_sloth(text: &str) -> Result<Vec<ImportedSlo>, ImportError> {
    let groups = sloth::parse_spec_file(text, staunch_domain::slo::SloPeriod::Days30.duration())?;
    let mut slos = Vec::new();
    for group in groups {
        for (index, slo) in group.slos.into_iter().enumerate() {
            let sli = match slo.sli {
                SliQuery::Events { error_query, total_query } => ImportedSli::Error {
                    error_query: rate_to_increase(&error_query),
                    total_query: rate_to_increase(&total_query),
                },
                SliQuery::Raw { .. } => {
                    return Err(ImportError::Field {
                        at: format!("slos[{index}].sli.raw"),
                        problem: "staunch needs event counts (sli.events), not a precomputed ratio".into(),
                    });
                }
            };
            slos.push(ImportedSlo {
                id: slo.id,
                name: slo.name,
                description: slo.description,
                service: slo.service,
                objective: slo.objective.percent(),
                window: sloth::prom_duration(slo.period),
                sli,
                labels: slo.labels,
                page_alert_name: slo.page_alert.as_ref().map(|alert| alert.name.clone()).filter(|name| !name.is_empty()),
                ticket_alert_name: slo.ticket_alert.as_ref().map(|alert| alert.name.clone()).filter(|name| !name.is_empty()),
                notes: vec!["rate() queries rewritten as increase(): staunch counts events per tick".to_string()],
            });
        }
    }
    Ok(slos)
}

/// The SLOs of a spec file, whatever its format.
pub fn import(text: &str) -> Result<Vec<ImportedSlo>, ImportError> {
    let documents = yaml_documents(text)?;
    if is_openslo_v1(&documents) {
        return Ok(openslo::convert(&documents)?);
    }
    from_sloth(text)
}

fn quoted(text: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(text).unwrap_or_default()
}

/// The `slos:` section for staunch.yaml. Services must exist in the file it is pasted into;
/// Prometheus sources point at a placeholder URL to be edited.
pub fn render_yaml(slos: &[ImportedSlo]) -> String {
    let mut output = String::from("slos:\n");
    for slo in slos {
        for note in &slo.notes {
            output.push_str(&format!("  # {note}\n"));
        }
        output.push_str(&format!("  - id: {}\n", quoted(&slo.id)));
        if slo.name != slo.id {
            output.push_str(&format!("    name: {}\n", quoted(&slo.name)));
        }
        if !slo.description.is_empty() {
            output.push_str(&format!("    description: {}\n", quoted(&slo.description)));
        }
        output.push_str(&format!("    service: {}\n", quoted(&slo.service)));
        output.push_str(&format!("    objective: {}\n", sloth::go_float(slo.objective)));
        output.push_str(&format!("    window: {}\n", slo.window));
        output.push_str("    sli:\n      prometheus:\n        url: \"http://prometheus:9090\"  # the Prometheus to query\n");
        let (first_name, first, total) = match &slo.sli {
            ImportedSli::Error { error_query, total_query } => ("error_query", error_query, total_query),
            ImportedSli::Good { good_query, total_query } => ("good_query", good_query, total_query),
        };
        output.push_str(&format!("        {first_name}: {}\n", quoted(first)));
        output.push_str(&format!("        total_query: {}\n", quoted(total)));
        if !slo.labels.is_empty() {
            output.push_str("    labels:\n");
            for (key, value) in &slo.labels {
                output.push_str(&format!("      {}: {}\n", quoted(key), quoted(value)));
            }
        }
        if slo.page_alert_name.is_some() || slo.ticket_alert_name.is_some() {
            output.push_str("    alerting:\n");
            for (rule, name) in [("page", &slo.page_alert_name), ("ticket", &slo.ticket_alert_name)] {
                if let Some(name) = name {
                    output.push_str(&format!("      {rule}: {{name: {}}}\n", quoted(name)));
                }
            }
        }
    }
    output
}
