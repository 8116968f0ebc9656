//! The `slos:` section of `staunch.yaml`: service level objectives Staunch evaluates itself,
//! with where their events come from (pushed to the API, or pulled from Prometheus), the
//! alert windows and the page/ticket alerts they raise. Each organisation has its own list;
//! every problem names its field.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::{AlertWindows, BurnWindow, Objective, SloPeriod};

use crate::prometheus_auth::{AuthFields, BasicAuthFields, PrometheusAuth, Secret};
use crate::sloth::has_window_variable;

pub type LabelMap = BTreeMap<String, String>;

/// One checked SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloDefinition {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The service its alerts (and so its incidents) belong to.
    pub service_id: String,
    pub objective: Objective,
    pub period: SloPeriod,
    pub windows: AlertWindows,
    /// Events a rule's long window must hold before it may fire (low-traffic guard).
    pub min_events: u64,
    pub source: SliSource,
    pub labels: LabelMap,
    pub page_alert: SloAlert,
    pub ticket_alert: SloAlert,
}

/// Where an SLO's good/total events come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SliSource {
    /// Counts posted to `POST /api/v1/slos/{id}/events`.
    Push,
    /// Instant queries against a Prometheus server's HTTP API; each query is a template with
    /// `{{.window}}`, rendered with the evaluation tick, and must return the increase of its
    /// events over that window. Every request carries `auth`'s headers.
    Prometheus { url: String, auth: PrometheusAuth, queries: EventQueries },
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventQueries {
    ErrorOverTotal { error_query: String, total_query: String },
    GoodOverTotal { good_query: String, total_query: String },
}

/// The name, labels and annotations of the alert a page or ticket rule raises.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SloAlert {
    pub disabled: bool,
    pub name: Option<String>,
    pub labels: LabelMap,
    pub annotations: LabelMap,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloSettings {
    /// How often every SLO is evaluated (and Prometheus sources queried). At most a minute.
    pub slo_tick: HumanDuration,
    /// The only executables (absolute paths) a runbook's command steps may run.
    pub runbook_commands: Vec<String>,
    /// How often the alert-noise model is rebuilt from the database.
    pub noise_retrain: HumanDuration,
}

impl Default for SloSettings {
    fn default() -> Self {
        SloSettings {
            slo_tick: HumanDuration::from_secs(60),
            runbook_commands: Vec::new(),
            noise_retrain: HumanDuration::from_secs(600),
        }
    }
}

impl SloSettings {
    pub(crate) fn check(&self, problems: &mut Vec<String>) {
        let millis = self.slo_tick.as_millis();
        if !(100..=60_000).contains(&millis) {
            problems.push(format!("settings.slo_tick: {} must be between 100ms and 1m", self.slo_tick));
        }
        crate::runbooks::check_allowed_commands(&self.runbook_commands, problems);
        if self.noise_retrain.as_millis() < 100 {
            problems.push(format!("settings.noise_retrain: {} must be at least 100ms", self.noise_retrain));
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlo {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    objective: Option<f64>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    min_events: Option<u64>,
    #[serde(default)]
    sli: Option<RawSli>,
    #[serde(default)]
    labels: LabelMap,
    #[serde(default)]
    alerting: RawAlerting,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    #[serde(default)]
    push: Option<RawPush>,
    #[serde(default)]
    prometheus: Option<RawPrometheus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPush {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
    url: String,
    /// Authentication as for `telemetry.prometheus` (see [`crate::prometheus_auth`]).
    #[serde(default)]
    bearer_token_file: Option<std::path::PathBuf>,
    #[serde(default)]
    bearer_token: Option<Secret>,
    #[serde(default)]
    basic_auth: Option<BasicAuthFields>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    error_query: Option<String>,
    #[serde(default)]
    good_query: Option<String>,
    #[serde(default)]
    total_query: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlerting {
    #[serde(default)]
    page: Option<RawAlert>,
    #[serde(default)]
    ticket: Option<RawAlert>,
    /// Overrides of the four burn-rate windows by rule name.
    #[serde(default)]
    windows: BTreeMap<String, RawWindow>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: LabelMap,
    #[serde(default)]
    annotations: LabelMap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    /// Percent of the period's error budget spent within `long`.
    budget_percent: f64,
    short: HumanDuration,
    long: HumanDuration,
}

/// Whether `id` can name an SLO: it appears in URLs and dedup keys.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Checks `raw` SLOs against the organisation's services; pushes every problem.
pub(crate) fn build_slos(raw: Vec<RawSlo>, service_ids: &BTreeSet<String>, problems: &mut Vec<String>) -> Vec<SloDefinition> {
    let mut slos: Vec<SloDefinition> = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, raw_slo) in raw.into_iter().enumerate() {
        if !valid_id(&raw_slo.id) {
            problems.push(format!(
                "slos[{index}].id: {:?} must be letters, digits, '-', '_' or '.', starting with a letter or digit",
                raw_slo.id
            ));
            continue;
        }
        if !seen.insert(raw_slo.id.clone()) {
            problems.push(format!("slos[{index}].id: duplicate slo id {:?}", raw_slo.id));
            continue;
        }
        if let Some(slo) = build_slo(raw_slo, service_ids, problems) {
            slos.push(slo);
        }
    }
    slos
}

fn build_slo(raw: RawSlo, service_ids: &BTreeSet<String>, problems: &mut Vec<String>) -> Option<SloDefinition> {
    let field = format!("slos.{}", raw.id);
    let before = problems.len();
    let service_id = match raw.service {
        None => {
            problems.push(format!("{field}.service: missing: every slo belongs to a service"));
            String::new()
        }
        Some(service) if !service_ids.contains(&service) => {
            problems.push(format!("{field}.service: unknown service {service:?}"));
            service
        }
        Some(service) => service,
    };
    let objective = match raw.objective.map(Objective::from_percent) {
        None => {
            problems.push(format!("{field}.objective: missing: a percentage such as 99.9"));
            None
        }
        Some(Err(error)) => {
            problems.push(format!("{field}.objective: {error}"));
            None
        }
        Some(Ok(objective)) => Some(objective),
    };
    let period = parse_window(raw.window.as_deref(), &field, problems);
    let mut windows = AlertWindows::defaults_for(period.unwrap_or_default());
    for (name, raw_window) in &raw.alerting.windows {
        let at = format!("{field}.alerting.windows.{name}");
        let slot = match name.as_str() {
            "page_quick" => &mut windows.page_quick,
            "page_slow" => &mut windows.page_slow,
            "ticket_quick" => &mut windows.ticket_quick,
            "ticket_slow" => &mut windows.ticket_slow,
            _ => {
                problems.push(format!("{at}: unknown rule, expected page_quick, page_slow, ticket_quick or ticket_slow"));
                continue;
            }
        };
        if !(raw_window.budget_percent > 0.0 && raw_window.budget_percent <= 100.0) {
            problems.push(format!("{at}.budget_percent: {} must be above 0 and at most 100", raw_window.budget_percent));
        }
        if raw_window.short.as_millis() < 60_000 || raw_window.short >= raw_window.long {
            problems.push(format!(
                "{at}.short: {} must be at least 1m and shorter than long ({})",
                raw_window.short, raw_window.long
            ));
        }
        if raw_window.long > windows.period {
            problems.push(format!("{at}.long: {} is longer than the slo window", raw_window.long));
        }
        *slot = BurnWindow { error_budget_percent: raw_window.budget_percent, short: raw_window.short, long: raw_window.long };
    }
    let source = build_source(raw.sli, &field, problems);
    if problems.len() > before {
        return None;
    }
    Some(SloDefinition {
        name: raw.name.unwrap_or_else(|| raw.id.clone()),
        description: raw.description.unwrap_or_default(),
        id: raw.id,
        service_id,
        objective: objective?,
        period: period?,
        windows,
        min_events: raw.min_events.unwrap_or(100),
        source: source?,
        labels: raw.labels,
        page_alert: build_alert(raw.alerting.page),
        ticket_alert: build_alert(raw.alerting.ticket),
    })
}

fn build_alert(raw: Option<RawAlert>) -> SloAlert {
    let raw = raw.unwrap_or_default();
    SloAlert { disabled: raw.disable, name: raw.name, labels: raw.labels, annotations: raw.annotations }
}

/// 30d unless given; 30d, 28d (4w) and 7d (1w) by name, or a custom span of 3 to 90 days
/// (shorter than 3 days the slowest ticket window would not fit).
fn parse_window(text: Option<&str>, field: &str, problems: &mut Vec<String>) -> Option<SloPeriod> {
    let Some(text) = text else { return Some(SloPeriod::Days30) };
    let unknown = || format!("{field}.window: unknown window {text:?}, expected 30d, 28d, 7d or a number of days from 3d to 90d");
    let Ok(period) = SloPeriod::parse(text) else {
        problems.push(unknown());
        return None;
    };
    if let SloPeriod::Custom(duration) = period {
        const DAY_MS: u64 = 86_400_000;
        let millis = duration.as_millis();
        if millis % DAY_MS != 0 || !(3 * DAY_MS..=90 * DAY_MS).contains(&millis) {
            problems.push(unknown());
            return None;
        }
    }
    Some(period)
}

fn build_source(raw: Option<RawSli>, field: &str, problems: &mut Vec<String>) -> Option<SliSource> {
    let Some(raw) = raw else {
        problems
            .push(format!("{field}.sli: missing: `push: {{}}` or `prometheus: {{url, error_query or good_query, total_query}}`"));
        return None;
    };
    match (raw.push, raw.prometheus) {
        (Some(_), Some(_)) => {
            problems.push(format!("{field}.sli: give either push or prometheus, not both"));
            None
        }
        (None, None) => {
            problems.push(format!("{field}.sli: missing: push or prometheus"));
            None
        }
        (Some(RawPush {}), None) => Some(SliSource::Push),
        (None, Some(prometheus)) => build_prometheus(prometheus, &format!("{field}.sli.prometheus"), problems),
    }
}

fn build_prometheus(raw: RawPrometheus, field: &str, problems: &mut Vec<String>) -> Option<SliSource> {
    let before = problems.len();
    if !(raw.url.starts_with("http://") || raw.url.starts_with("https://")) {
        problems.push(format!("{field}.url: {:?} must start with http:// or https://", raw.url));
    }
    let fields = AuthFields {
        bearer_token: raw.bearer_token.as_ref().map(|secret| secret.0.as_str()),
        bearer_token_file: raw.bearer_token_file.as_deref(),
        basic_auth: raw.basic_auth.as_ref(),
        headers: &raw.headers,
    };
    let auth = PrometheusAuth::resolve(fields, field, problems);
    let mut query = |name: &str, text: Option<String>| -> Option<String> {
        let text = text?;
        if text.trim().is_empty() {
            problems.push(format!("{field}.{name}: is empty"));
        } else if !has_window_variable(&text) {
            problems.push(format!(
                "{field}.{name}: must contain {{{{.window}}}}, e.g. sum(increase(http_requests_total[{{{{.window}}}}]))"
            ));
        }
        Some(text)
    };
    let error_query = query("error_query", raw.error_query);
    let good_query = query("good_query", raw.good_query);
    let total_query = query("total_query", raw.total_query);
    let queries = match (error_query, good_query, total_query) {
        (_, _, None) => {
            problems.push(format!("{field}.total_query: missing"));
            None
        }
        (Some(_), Some(_), _) => {
            problems.push(format!("{field}: give error_query or good_query, not both"));
            None
        }
        (None, None, _) => {
            problems.push(format!("{field}.error_query: missing: give error_query or good_query"));
            None
        }
        (Some(error_query), None, Some(total_query)) => Some(EventQueries::ErrorOverTotal { error_query, total_query }),
        (None, Some(good_query), Some(total_query)) => Some(EventQueries::GoodOverTotal { good_query, total_query }),
    };
    if problems.len() > before {
        return None;
    }
    Some(SliSource::Prometheus { url: raw.url.trim_end_matches('/').to_string(), auth, queries: queries? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<Vec<SloDefinition>, Vec<String>> {
        let raw: Vec<RawSlo> = serde_saphyr::from_str(yaml).map_err(|error| vec![error.to_string()])?;
        let services: BTreeSet<String> = ["checkout".to_string()].into();
        let mut problems = Vec::new();
        let slos = build_slos(raw, &services, &mut problems);
        if problems.is_empty() { Ok(slos) } else { Err(problems) }
    }

    #[test]
    fn a_push_slo_takes_the_workbook_defaults() {
        let slos = check("- {id: checkout-availability, service: checkout, objective: 99.9, sli: {push: {}}}").unwrap();
        let slo = &slos[0];
        assert_eq!(slo.period, SloPeriod::Days30);
        assert_eq!(slo.windows, AlertWindows::defaults_for(SloPeriod::Days30));
        assert_eq!(slo.source, SliSource::Push);
        assert_eq!(slo.min_events, 100);
        assert_eq!(slo.name, "checkout-availability");
    }

    #[test]
    fn a_prometheus_slo_with_overrides() {
        let yaml = r#"
- id: checkout
  service: checkout
  objective: 99.5
  window: 28d
  min_events: 5
  sli:
    prometheus:
      url: http://127.0.0.1:9090/
      headers: {X-Scope-OrgID: shop}
      good_query: sum(increase(requests_total{code!~"5.."}[{{.window}}]))
      total_query: sum(increase(requests_total[{{ .window }}]))
  alerting:
    page: {name: CheckoutBurn, labels: {team: shop}}
    ticket: {disable: true}
    windows:
      page_quick: {budget_percent: 4, short: 2m, long: 30m}
"#;
        let slo = check(yaml).unwrap().remove(0);
        assert_eq!(slo.period, SloPeriod::Days28);
        assert_eq!(slo.windows.page_quick.long, HumanDuration::from_secs(1800));
        assert!(slo.ticket_alert.disabled);
        assert_eq!(slo.page_alert.name.as_deref(), Some("CheckoutBurn"));
        let SliSource::Prometheus { url, auth, queries: EventQueries::GoodOverTotal { .. } } = &slo.source else {
            panic!("{:?}", slo.source)
        };
        assert_eq!(url, "http://127.0.0.1:9090");
        assert_eq!(auth.headers().collect::<Vec<_>>(), vec![("X-Scope-OrgID", "shop", false)]);
    }

    #[test]
    fn bad_slos_name_the_field() {
        let cases = [
            (
                "- {id: a, service: checkout, objective: 100, sli: {push: {}}}",
                "slos.a.objective: objective must be a number strictly between 0 and 100, got 100",
            ),
            (
                "- {id: a, service: checkout, objective: 0, sli: {push: {}}}",
                "slos.a.objective: objective must be a number strictly between 0 and 100, got 0",
            ),
            ("- {id: a, service: checkout, objective: 99, window: 1y, sli: {push: {}}}", "slos.a.window: unknown window \"1y\""),
            (
                "- {id: a, service: checkout, objective: 99, window: 36h, sli: {push: {}}}",
                "slos.a.window: unknown window \"36h\"",
            ),
            ("- {id: a, service: nope, objective: 99, sli: {push: {}}}", "slos.a.service: unknown service \"nope\""),
            ("- {id: a, service: checkout, objective: 99}", "slos.a.sli: missing"),
            (
                "- {id: a, service: checkout, objective: 99, sli: {push: {}}}\n- {id: a, service: checkout, objective: 99, sli: {push: {}}}",
                "slos[1].id: duplicate slo id \"a\"",
            ),
            ("- {id: 'a b', service: checkout, objective: 99, sli: {push: {}}}", "slos[0].id: \"a b\" must be"),
            (
                "- {id: a, service: checkout, objective: 99, sli: {prometheus: {url: 'http://p', error_query: 'x', total_query: 'y[{{.window}}]'}}}",
                "slos.a.sli.prometheus.error_query: must contain {{.window}}",
            ),
            (
                "- {id: a, service: checkout, objective: 99, sli: {prometheus: {url: 'p', total_query: 'y[{{.window}}]'}}}",
                "slos.a.sli.prometheus.url: \"p\" must start with http",
            ),
            (
                "- {id: a, service: checkout, objective: 99, sli: {push: {}}, alerting: {windows: {page_fast: {budget_percent: 2, short: 5m, long: 1h}}}}",
                "slos.a.alerting.windows.page_fast: unknown rule",
            ),
        ];
        for (yaml, expected) in cases {
            let problems = check(yaml).unwrap_err();
            assert!(problems.iter().any(|problem| problem.starts_with(expected)), "{yaml}\n{problems:#?}");
        }
    }
}
