//! The SLO spec formats Sloth reads, turned into one checked model.
//!
//! Three formats: Sloth's `prometheus/v1` (snake_case keys), its Kubernetes
//! `sloth.slok.dev/v1` `PrometheusServiceLevel` (the same fields in camelCase under `spec:`)
//! and OpenSLO `openslo/v1alpha` `SLO` (ratio metrics over good and total events, each
//! objective becoming one SLO with a raw error-ratio SLI, as Sloth maps it). Sloth plugins
//! (Go code loaded at run time) are refused with an error naming where they are declared.

use std::collections::BTreeMap;

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::Objective;

use super::SlothError;

pub type LabelMap = BTreeMap<String, String>;

/// Which format a document was written in; it decides the output shape and `sloth_spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecKind {
    PrometheusV1,
    KubernetesV1,
    OpenSloV1Alpha,
}

impl SpecKind {
    pub fn spec_label(self) -> &'static str {
        match self {
            SpecKind::PrometheusV1 => "prometheus/v1",
            SpecKind::KubernetesV1 => "sloth.slok.dev/v1",
            SpecKind::OpenSloV1Alpha => "openslo/v1alpha",
        }
    }

    /// The `sloth_mode` label value Sloth's CLI writes for this format.
    pub fn mode_label(self) -> &'static str {
        match self {
            SpecKind::PrometheusV1 => "cli-gen-prom",
            SpecKind::KubernetesV1 => "cli-gen-k8s",
            SpecKind::OpenSloV1Alpha => "cli-gen-openslo",
        }
    }
}

/// How an SLO's error ratio is measured.
#[derive(Debug, Clone, PartialEq)]
pub enum SliQuery {
    /// Bad events over total events, each a PromQL template with `{{.window}}`.
    Events { error_query: String, total_query: String },
    /// A PromQL template that already yields the error ratio (0 to 1).
    Raw { error_ratio_query: String },
}

/// Name, labels and annotations of the page or ticket alert of an SLO.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertMeta {
    pub name: String,
    pub labels: LabelMap,
    pub annotations: LabelMap,
}

/// One SLO, checked, as every output format needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SloModel {
    pub id: String,
    pub name: String,
    pub service: String,
    pub description: String,
    pub objective: Objective,
    pub period: HumanDuration,
    pub labels: LabelMap,
    pub sli: SliQuery,
    pub page_alert: Option<AlertMeta>,
    pub ticket_alert: Option<AlertMeta>,
}

/// The Kubernetes object a `PrometheusServiceLevel` came from; its output is a
/// `PrometheusRule` with the same name, namespace, labels and annotations.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct KubernetesMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: Option<LabelMap>,
    #[serde(default)]
    pub annotations: Option<LabelMap>,
}

/// Every SLO of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct SloGroup {
    pub kind: SpecKind,
    pub kubernetes: Option<KubernetesMeta>,
    pub slos: Vec<SloModel>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct ServiceLevelSpec {
    #[serde(default)]
    service: String,
    #[serde(default)]
    labels: Option<LabelMap>,
    #[serde(default, alias = "sloPlugins")]
    slo_plugins: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    slos: Vec<SloSpec>,
}

#[derive(Deserialize)]
struct SloSpec {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    objective: Option<f64>,
    #[serde(default)]
    plugins: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    labels: Option<LabelMap>,
    #[serde(default)]
    sli: Option<SliSpec>,
    #[serde(default)]
    alerting: Option<AlertingSpec>,
}

#[derive(Deserialize)]
struct SliSpec {
    #[serde(default)]
    raw: Option<RawSpec>,
    #[serde(default)]
    events: Option<EventsSpec>,
    #[serde(default)]
    plugin: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawSpec {
    #[serde(default, alias = "errorRatioQuery")]
    error_ratio_query: String,
}

#[derive(Deserialize)]
struct EventsSpec {
    #[serde(default, alias = "errorQuery")]
    error_query: String,
    #[serde(default, alias = "totalQuery")]
    total_query: String,
}

#[derive(Deserialize, Default)]
struct AlertingSpec {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: Option<LabelMap>,
    #[serde(default)]
    annotations: Option<LabelMap>,
    #[serde(default, alias = "pageAlert")]
    page_alert: Option<AlertSpec>,
    #[serde(default, alias = "ticketAlert")]
    ticket_alert: Option<AlertSpec>,
}

#[derive(Deserialize, Default)]
struct AlertSpec {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: Option<LabelMap>,
    #[serde(default)]
    annotations: Option<LabelMap>,
}

#[derive(Deserialize)]
struct KubernetesDocument {
    #[serde(default)]
    metadata: KubernetesMeta,
    spec: ServiceLevelSpec,
}

#[derive(Deserialize)]
struct OpenSloDocument {
    #[serde(default)]
    metadata: OpenSloMetadata,
    spec: OpenSloSpec,
}

#[derive(Deserialize, Default)]
struct OpenSloMetadata {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct OpenSloSpec {
    #[serde(default)]
    service: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    objectives: Vec<OpenSloObjective>,
    #[serde(default, rename = "timeWindows")]
    time_windows: Vec<OpenSloTimeWindow>,
}

#[derive(Deserialize)]
struct OpenSloObjective {
    #[serde(default, rename = "ratioMetrics")]
    ratio_metrics: Option<OpenSloRatioMetrics>,
    #[serde(default)]
    target: Option<f64>,
}

#[derive(Deserialize)]
struct OpenSloRatioMetrics {
    good: OpenSloQuery,
    total: OpenSloQuery,
}

#[derive(Deserialize)]
struct OpenSloQuery {
    #[serde(default)]
    source: String,
    #[serde(default, rename = "queryType")]
    query_type: String,
    #[serde(default)]
    query: String,
}

#[derive(Deserialize)]
struct OpenSloTimeWindow {
    #[serde(default)]
    count: u64,
    #[serde(default)]
    unit: String,
}

/// Reads one YAML document (already split from its neighbours) into a checked group.
pub fn parse_document(text: &str, default_period: HumanDuration) -> Result<SloGroup, SlothError> {
    let header: Header = from_yaml(text)?;
    let is = |value: &Option<String>, expected: &str| value.as_deref() == Some(expected);
    if is(&header.api_version, "sloth.slok.dev/v1") && is(&header.kind, "PrometheusServiceLevel") {
        let document: KubernetesDocument = from_yaml(text)?;
        let slos = service_level_slos(document.spec, default_period, "spec.")?;
        return Ok(SloGroup { kind: SpecKind::KubernetesV1, kubernetes: Some(document.metadata), slos });
    }
    if is(&header.api_version, "openslo/v1alpha") && is(&header.kind, "SLO") {
        let document: OpenSloDocument = from_yaml(text)?;
        return Ok(SloGroup { kind: SpecKind::OpenSloV1Alpha, kubernetes: None, slos: openslo_slos(document, default_period)? });
    }
    match header.version.as_deref() {
        Some("prometheus/v1") => {
            let spec: ServiceLevelSpec = from_yaml(text)?;
            Ok(SloGroup { kind: SpecKind::PrometheusV1, kubernetes: None, slos: service_level_slos(spec, default_period, "")? })
        }
        Some(other) => Err(field("version", format!("unsupported spec version {other:?}, expected \"prometheus/v1\""))),
        None => Err(field(
            "version",
            "missing: expected version: prometheus/v1, or apiVersion sloth.slok.dev/v1 (kind PrometheusServiceLevel) or openslo/v1alpha (kind SLO)",
        )),
    }
}

fn from_yaml<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, SlothError> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    serde_saphyr::from_str_with_options(text, options).map_err(|error| SlothError::Yaml { message: error.to_string() })
}

fn field(at: impl Into<String>, problem: impl Into<String>) -> SlothError {
    SlothError::Field { at: at.into(), problem: problem.into() }
}

fn service_level_slos(spec: ServiceLevelSpec, default_period: HumanDuration, prefix: &str) -> Result<Vec<SloModel>, SlothError> {
    if spec.slo_plugins.is_some() {
        return Err(field(format!("{prefix}slo_plugins"), "Sloth plugins are not supported"));
    }
    check_name(&format!("{prefix}service"), &spec.service)?;
    if spec.slos.is_empty() {
        return Err(field(format!("{prefix}slos"), "at least one SLO is required"));
    }
    let service_labels = spec.labels.unwrap_or_default();
    check_labels(&format!("{prefix}labels"), &service_labels)?;
    let mut slos = Vec::with_capacity(spec.slos.len());
    for (index, slo) in spec.slos.into_iter().enumerate() {
        let at = format!("{prefix}slos[{index}]");
        slos.push(service_level_slo(slo, &spec.service, &service_labels, default_period, &at)?);
    }
    Ok(slos)
}

fn service_level_slo(
    slo: SloSpec,
    service: &str,
    service_labels: &LabelMap,
    period: HumanDuration,
    at: &str,
) -> Result<SloModel, SlothError> {
    check_name(&format!("{at}.name"), &slo.name)?;
    if slo.plugins.is_some() {
        return Err(field(format!("{at}.plugins"), "Sloth plugins are not supported"));
    }
    let objective = parse_objective(&format!("{at}.objective"), slo.objective)?;
    let own_labels = slo.labels.unwrap_or_default();
    check_labels(&format!("{at}.labels"), &own_labels)?;
    let mut labels = service_labels.clone();
    labels.extend(own_labels);

    let Some(sli) = slo.sli else {
        return Err(field(format!("{at}.sli"), "required: one of events or raw"));
    };
    let sli = match (sli.events, sli.raw, sli.plugin) {
        (_, _, Some(_)) => return Err(field(format!("{at}.sli.plugin"), "SLI plugins are not supported")),
        (Some(_), Some(_), None) => return Err(field(format!("{at}.sli"), "only one of events or raw is allowed")),
        (None, None, None) => return Err(field(format!("{at}.sli"), "required: one of events or raw")),
        (Some(events), None, None) => {
            check_query_template(&format!("{at}.sli.events.error_query"), &events.error_query)?;
            check_query_template(&format!("{at}.sli.events.total_query"), &events.total_query)?;
            if events.error_query == events.total_query {
                return Err(field(format!("{at}.sli.events"), "error_query and total_query must differ"));
            }
            SliQuery::Events { error_query: events.error_query, total_query: events.total_query }
        }
        (None, Some(raw), None) => {
            check_query_template(&format!("{at}.sli.raw.error_ratio_query"), &raw.error_ratio_query)?;
            SliQuery::Raw { error_ratio_query: raw.error_ratio_query }
        }
    };

    let alerting = slo.alerting.unwrap_or_default();
    let common_labels = alerting.labels.unwrap_or_default();
    let common_annotations = alerting.annotations.unwrap_or_default();
    let alert = |which: &str, spec: Option<AlertSpec>| -> Result<Option<AlertMeta>, SlothError> {
        let spec = spec.unwrap_or_default();
        if spec.disable {
            return Ok(None);
        }
        if alerting.name.is_empty() {
            return Err(field(format!("{at}.alerting.name"), format!("required unless {which} is disabled")));
        }
        let mut labels = common_labels.clone();
        labels.extend(spec.labels.unwrap_or_default());
        check_labels(&format!("{at}.alerting.{which}.labels"), &labels)?;
        let mut annotations = common_annotations.clone();
        annotations.extend(spec.annotations.unwrap_or_default());
        for (key, value) in &annotations {
            if value.is_empty() {
                return Err(field(format!("{at}.alerting.{which}.annotations.{key}"), "must not be empty"));
            }
        }
        Ok(Some(AlertMeta { name: alerting.name.clone(), labels, annotations }))
    };
    let page_alert = alert("page_alert", alerting.page_alert)?;
    let ticket_alert = alert("ticket_alert", alerting.ticket_alert)?;

    Ok(SloModel {
        id: format!("{service}-{}", slo.name),
        name: slo.name,
        service: service.to_string(),
        description: slo.description,
        objective,
        period,
        labels,
        sli,
        page_alert,
        ticket_alert,
    })
}

fn openslo_slos(document: OpenSloDocument, default_period: HumanDuration) -> Result<Vec<SloModel>, SlothError> {
    let spec = document.spec;
    check_name("spec.service", &spec.service)?;
    check_name("metadata.name", &document.metadata.name)?;
    if spec.objectives.is_empty() {
        return Err(field("spec.objectives", "at least one objective is required"));
    }
    let period = match spec.time_windows.as_slice() {
        [] => default_period,
        [window] if window.unit.eq_ignore_ascii_case("day") && window.count > 0 => {
            HumanDuration::from_secs(window.count * 86_400)
        }
        [_] => return Err(field("spec.timeWindows[0]", "only a positive count of unit Day is supported")),
        _ => return Err(field("spec.timeWindows", "only one time window is supported")),
    };
    let mut slos = Vec::with_capacity(spec.objectives.len());
    for (index, objective) in spec.objectives.into_iter().enumerate() {
        let at = format!("spec.objectives[{index}]");
        let Some(ratio) = objective.ratio_metrics else {
            return Err(field(format!("{at}.ratioMetrics"), "required: only ratio metrics are supported"));
        };
        for (which, query) in [("good", &ratio.good), ("total", &ratio.total)] {
            if query.source != "prometheus" && query.source != "sloth" {
                return Err(field(format!("{at}.ratioMetrics.{which}.source"), "must be prometheus or sloth"));
            }
            if query.query_type != "promql" {
                return Err(field(format!("{at}.ratioMetrics.{which}.queryType"), "must be promql"));
            }
            check_query_template(&format!("{at}.ratioMetrics.{which}.query"), &query.query)?;
        }
        let Some(target) = objective.target else {
            return Err(field(format!("{at}.target"), "required: a ratio such as 0.999"));
        };
        // OpenSLO states targets as ratios; Sloth's percent is the same product, bit for bit.
        let objective = parse_objective(&format!("{at}.target"), Some(target * 100.0))?;
        // Sloth turns good/total into a raw error ratio with exactly this layout.
        let error_ratio_query = format!(
            "\n  1 - (\n    (\n      {}\n    )\n    /\n    (\n      {}\n    )\n  )\n",
            ratio.good.query, ratio.total.query
        );
        let name = format!("{}-{index}", document.metadata.name);
        slos.push(SloModel {
            id: format!("{}-{name}", spec.service),
            name,
            service: spec.service.clone(),
            description: spec.description.clone(),
            objective,
            period,
            labels: LabelMap::new(),
            sli: SliQuery::Raw { error_ratio_query },
            page_alert: None,
            ticket_alert: None,
        });
    }
    Ok(slos)
}

fn parse_objective(at: &str, objective: Option<f64>) -> Result<Objective, SlothError> {
    let Some(percent) = objective else {
        return Err(field(at, "required: a percentage such as 99.9"));
    };
    Objective::from_percent(percent).map_err(|error| field(at, error.to_string()))
}

/// Sloth's rule for names and ids: alphanumeric at both ends, `-`, `_` and `.` inside.
fn check_name(at: &str, name: &str) -> Result<(), SlothError> {
    if name.is_empty() {
        return Err(field(at, "required"));
    }
    let inner_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !inner_ok || !ends_ok || name.len() < 2 {
        return Err(field(
            at,
            format!("{name:?} must start and end with an alphanumeric and contain only alphanumerics, '.', '_' and '-'"),
        ));
    }
    Ok(())
}

fn check_labels(at: &str, labels: &LabelMap) -> Result<(), SlothError> {
    for (key, value) in labels {
        if key.is_empty() || key == "__name__" {
            return Err(field(format!("{at}.{key}"), "is not an allowed label name"));
        }
        if value.is_empty() {
            return Err(field(format!("{at}.{key}"), "label value must not be empty"));
        }
    }
    Ok(())
}

fn check_query_template(at: &str, query: &str) -> Result<(), SlothError> {
    if query.trim().is_empty() {
        return Err(field(at, "required"));
    }
    if !super::template::has_window_variable(query) {
        return Err(field(at, "must contain the {{.window}} template variable"));
    }
    Ok(())
}
