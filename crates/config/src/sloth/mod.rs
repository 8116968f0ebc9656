//! Sloth-compatible SLO specs and the Prometheus rules generated from them
//! (`staunch slo rules`).
//!
//! `spec` reads Sloth's `prometheus/v1`, its Kubernetes `PrometheusServiceLevel` and OpenSLO
//! `v1alpha` documents into checked SLOs; `rules` builds the recording and alerting rules
//! exactly as Sloth does (same groups, record names, expression strings, labels and
//! annotations), so Sloth's Grafana dashboards work on them unchanged; `emit` writes YAML.
//! Everything here is string building over the spec text; the caller does the I/O.

mod emit;
mod go_format;
mod rules;
pub mod spec;
mod template;
mod windows_catalog;

use staunch_domain::duration::HumanDuration;

pub use go_format::{go_float, prom_duration};
pub use rules::{GeneratorInfo, Rule, RuleGroup, SloRules, slo_rules};
pub use spec::{AlertMeta, LabelMap, SliQuery, SloGroup, SloModel, SpecKind};
pub use template::{has_window_variable, render_window};
pub use windows_catalog::{WindowsCatalog, parse_alert_windows};

#[derive(Debug, thiserror::Error)]
pub enum SlothError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("invalid yaml: {message}")]
    Yaml { message: String },
    #[error("{at}: {problem}")]
    Field { at: String, problem: String },
    #[error("document {index}: {source}")]
    InDocument { index: usize, source: Box<SlothError> },
    #[error("{path}: {source}")]
    InFile { path: String, source: Box<SlothError> },
    #[error("slo id {id:?} is defined more than once")]
    DuplicateId { id: String },
    #[error("no rules left to write (everything is disabled)")]
    NoRules,
    #[error("no spec documents found")]
    Empty,
}

/// What `staunch slo rules` was asked for.
#[derive(Debug, Clone)]
pub struct RulesOptions {
    /// The period of SLOs whose spec does not name one (Sloth's `--default-slo-period`).
    pub default_period: HumanDuration,
    /// Added to every SLO's labels, overriding the spec's (Sloth's `--extra-labels`).
    pub extra_labels: LabelMap,
    pub disable_alerts: bool,
    pub disable_recordings: bool,
    pub windows: WindowsCatalog,
    /// The `sloth_version` label of `sloth_slo_info`.
    pub version: String,
}

impl Default for RulesOptions {
    fn default() -> Self {
        RulesOptions {
            default_period: staunch_domain::slo::SloPeriod::Days30.duration(),
            extra_labels: LabelMap::new(),
            disable_alerts: false,
            disable_recordings: false,
            windows: WindowsCatalog::builtin(),
            version: format!("staunch-{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Splits a file into its YAML documents the way Sloth does: comment lines at column 0
/// dropped, documents separated by lines starting with `---`, empty ones skipped.
pub fn split_documents(text: &str) -> Vec<String> {
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("---") {
            documents.push(std::mem::take(&mut current));
            continue;
        }
        if line.starts_with('#') {
            current.push('\n');
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    documents.push(current);
    documents.into_iter().filter(|document| !document.trim().is_empty()).collect()
}

/// Reads every SLO group in a spec file, checking ids are unique across the file.
pub fn parse_spec_file(text: &str, default_period: HumanDuration) -> Result<Vec<SloGroup>, SlothError> {
    let documents = split_documents(text);
    if documents.is_empty() {
        return Err(SlothError::Empty);
    }
    let several = documents.len() > 1;
    let mut groups = Vec::with_capacity(documents.len());
    let mut seen_ids = std::collections::BTreeSet::new();
    for (index, document) in documents.iter().enumerate() {
        let group = spec::parse_document(document, default_period).map_err(|error| {
            if several { SlothError::InDocument { index: index + 1, source: Box::new(error) } } else { error }
        })?;
        for slo in &group.slos {
            if !seen_ids.insert(slo.id.clone()) {
                return Err(SlothError::DuplicateId { id: slo.id.clone() });
            }
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The Prometheus rules for every SLO in a spec file, as YAML (one document per spec
/// document; `PrometheusRule` objects for Kubernetes specs).
pub fn generate_rules(text: &str, options: &RulesOptions) -> Result<String, SlothError> {
    if options.windows.get(options.default_period).is_none() {
        return Err(SlothError::Field {
            at: "default slo period".to_string(),
            problem: format!(
                "no alert windows for {} (known: {})",
                prom_duration(options.default_period),
                options.windows.known_periods()
            ),
        });
    }
    let groups = parse_spec_file(text, options.default_period)?;
    let several = groups.len() > 1;
    let mut output = String::new();
    for (index, group) in groups.iter().enumerate() {
        let in_document = |error: SlothError| {
            if several { SlothError::InDocument { index: index + 1, source: Box::new(error) } } else { error }
        };
        let info = GeneratorInfo {
            version: options.version.clone(),
            mode: group.kind.mode_label().to_string(),
            spec: group.kind.spec_label().to_string(),
        };
        let mut rule_groups = Vec::new();
        for (slo_index, slo) in group.slos.iter().enumerate() {
            let mut slo = slo.clone();
            slo.labels.extend(options.extra_labels.clone());
            let windows = options.windows.get(slo.period).ok_or_else(|| {
                in_document(SlothError::Field {
                    at: format!("slos[{slo_index}]"),
                    problem: format!(
                        "no alert windows for the {} slo period (known: {})",
                        prom_duration(slo.period),
                        options.windows.known_periods()
                    ),
                })
            })?;
            let rules = slo_rules(&slo, windows, &info)
                .map_err(|problem| in_document(SlothError::Field { at: format!("slos[{slo_index}]"), problem }))?;
            if !options.disable_recordings {
                rule_groups.push(rules.sli_recordings);
                rule_groups.push(rules.metadata_recordings);
            }
            if !options.disable_alerts {
                rule_groups.push(rules.alerts);
            }
        }
        rule_groups.retain(|group| !group.rules.is_empty());
        match &group.kubernetes {
            Some(meta) => output.push_str(&emit::prometheus_operator_rule(meta, &rule_groups)),
            None if rule_groups.is_empty() => return Err(in_document(SlothError::NoRules)),
            None => output.push_str(&emit::prometheus_rule_file(&rule_groups)),
        }
    }
    Ok(output)
}
