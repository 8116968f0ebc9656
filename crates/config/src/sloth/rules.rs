//! Prometheus rules for one SLO, built the way Sloth builds them: SLI error-ratio recordings
//! per alert window plus an optimized one for the whole period, metadata recordings
//! (objective, budget, burn rates, info), and a page and a ticket multi-window
//! multi-burn-rate alert. Pure string building; the exact layout of every expression is
//! part of the contract, because Sloth's Grafana dashboards and users' diffs depend on it.

use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::{AlertWindows, BurnWindow, Severity};

use super::go_format::{go_float, prom_duration, prom_selector};
use super::spec::{AlertMeta, LabelMap, SliQuery, SloModel};
use super::template::render_window;

const SLI_ERROR_METRIC: &str = "slo:sli_error:ratio_rate";
const WINDOW_LABEL: &str = "sloth_window";

/// One recording or alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: String,
    pub labels: LabelMap,
    pub annotations: LabelMap,
}

/// A named group of rules, as it appears under `groups:`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// The three groups of one SLO; an empty group is left out of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct SloRules {
    pub sli_recordings: RuleGroup,
    pub metadata_recordings: RuleGroup,
    pub alerts: RuleGroup,
}

/// Values the `sloth_slo_info` recording carries about who generated the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorInfo {
    pub version: String,
    pub mode: String,
    pub spec: String,
}

fn sli_error_metric(window: HumanDuration) -> String {
    format!("{SLI_ERROR_METRIC}{}", prom_duration(window))
}

fn id_labels(slo: &SloModel) -> LabelMap {
    LabelMap::from([
        ("sloth_id".to_string(), slo.id.clone()),
        ("sloth_service".to_string(), slo.service.clone()),
        ("sloth_slo".to_string(), slo.name.clone()),
    ])
}

fn id_selector(slo: &SloModel) -> String {
    prom_selector([("sloth_id", slo.id.as_str()), ("sloth_service", slo.service.as_str()), ("sloth_slo", slo.name.as_str())])
}

/// Later maps win, as in Sloth's `MergeLabels`.
fn merged(maps: &[&LabelMap]) -> LabelMap {
    let mut result = LabelMap::new();
    for map in maps {
        result.extend(map.iter().map(|(key, value)| (key.clone(), value.clone())));
    }
    result
}

/// Builds every rule of `slo` with `windows` (whose period must be the SLO's).
pub fn slo_rules(slo: &SloModel, windows: &AlertWindows, info: &GeneratorInfo) -> Result<SloRules, String> {
    Ok(SloRules {
        sli_recordings: RuleGroup { name: format!("sloth-slo-sli-recordings-{}", slo.id), rules: sli_recordings(slo, windows)? },
        metadata_recordings: RuleGroup {
            name: format!("sloth-slo-meta-recordings-{}", slo.id),
            rules: metadata_recordings(slo, windows, info),
        },
        alerts: RuleGroup { name: format!("sloth-slo-alerts-{}", slo.id), rules: alert_rules(slo, windows) },
    })
}

fn sli_recordings(slo: &SloModel, windows: &AlertWindows) -> Result<Vec<Rule>, String> {
    let mut all_windows = windows.distinct_windows();
    all_windows.push(slo.period);
    let mut rules = Vec::with_capacity(all_windows.len());
    for window in all_windows {
        let window_text = prom_duration(window);
        let expr = if window == slo.period {
            optimized_period_expr(slo, window, windows.page_quick.short)?
        } else {
            let template = match &slo.sli {
                SliQuery::Events { error_query, total_query } => format!("({error_query})\n/\n({total_query})\n"),
                SliQuery::Raw { error_ratio_query } => format!("({error_ratio_query})"),
            };
            render_window(&template, &window_text)?
        };
        let window_labels = LabelMap::from([(WINDOW_LABEL.to_string(), window_text)]);
        rules.push(Rule {
            record: Some(sli_error_metric(window)),
            alert: None,
            expr,
            labels: merged(&[&id_labels(slo), &window_labels, &slo.labels]),
            annotations: LabelMap::new(),
        });
    }
    Ok(rules)
}

/// The period's error ratio from the shortest window's recordings instead of a 30-day range
/// query over raw series: the sum of the ratios over the count of samples (a ratio of
/// ratios, not an average of averages), far cheaper for Prometheus to evaluate.
fn optimized_period_expr(slo: &SloModel, period: HumanDuration, shortest: HumanDuration) -> Result<String, String> {
    if period == shortest {
        return Err("the slo period cannot be the same as the shortest alert window".to_string());
    }
    let metric = sli_error_metric(shortest);
    let filter = id_selector(slo);
    let window = prom_duration(period);
    Ok(format!(
        "sum_over_time({metric}{filter}[{window}])\n/ ignoring ({WINDOW_LABEL})\ncount_over_time({metric}{filter}[{window}])\n"
    ))
}

fn burn_rate_expr(sli_metric: &str, filter: &str) -> String {
    format!("{sli_metric}{filter}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{filter}\n")
}

fn metadata_recordings(slo: &SloModel, windows: &AlertWindows, info: &GeneratorInfo) -> Vec<Rule> {
    let labels = merged(&[&id_labels(slo), &slo.labels]);
    let filter = id_selector(slo);
    let objective_ratio = go_float(slo.objective.percent() / 100.0);
    let period_days = go_float(slo.period.as_millis() as f64 / 3_600_000.0 / 24.0);
    let record = |name: &str, expr: String, labels: &LabelMap| Rule {
        record: Some(name.to_string()),
        alert: None,
        expr,
        labels: labels.clone(),
        annotations: LabelMap::new(),
    };
    let info_labels = merged(&[
        &labels,
        &LabelMap::from([
            ("sloth_version".to_string(), info.version.clone()),
            ("sloth_mode".to_string(), info.mode.clone()),
            ("sloth_spec".to_string(), info.spec.clone()),
            // Go's FormatFloat(f, 'f', -1, 64) and Rust's Display agree: shortest digits, no exponent.
            ("sloth_objective".to_string(), slo.objective.percent().to_string()),
        ]),
    ]);
    vec![
        record("slo:objective:ratio", format!("vector({objective_ratio})"), &labels),
        record("slo:error_budget:ratio", format!("vector(1-{objective_ratio})"), &labels),
        record("slo:time_period:days", format!("vector({period_days})"), &labels),
        record("slo:current_burn_rate:ratio", burn_rate_expr(&sli_error_metric(windows.page_quick.short), &filter), &labels),
        record("slo:period_burn_rate:ratio", burn_rate_expr(&sli_error_metric(slo.period), &filter), &labels),
        record("slo:period_error_budget_remaining:ratio", format!("1 - slo:period_burn_rate:ratio{filter}"), &labels),
        record("sloth_slo_info", "vector(1)".to_string(), &info_labels),
    ]
}

fn alert_rules(slo: &SloModel, windows: &AlertWindows) -> Vec<Rule> {
    let mut rules = Vec::new();
    if let Some(meta) = &slo.page_alert {
        rules.push(alert_rule(slo, windows, meta, Severity::Page, &windows.page_quick, &windows.page_slow));
    }
    if let Some(meta) = &slo.ticket_alert {
        rules.push(alert_rule(slo, windows, meta, Severity::Ticket, &windows.ticket_quick, &windows.ticket_slow));
    }
    rules
}

fn alert_rule(
    slo: &SloModel,
    windows: &AlertWindows,
    meta: &AlertMeta,
    severity: Severity,
    quick: &BurnWindow,
    slow: &BurnWindow,
) -> Rule {
    let filter = id_selector(slo);
    let budget = go_float(slo.objective.error_budget_ratio());
    let condition = |window: HumanDuration, factor: f64| {
        format!("max({}{filter} > ({} * {budget})) without ({WINDOW_LABEL})", sli_error_metric(window), go_float(factor))
    };
    let quick_factor = windows.burn_rate_factor(quick);
    let slow_factor = windows.burn_rate_factor(slow);
    let expr = format!(
        "(\n    {}\n    and\n    {}\n)\nor\n(\n    {}\n    and\n    {}\n)\n",
        condition(quick.short, quick_factor),
        condition(quick.long, quick_factor),
        condition(slow.short, slow_factor),
        condition(slow.long, slow_factor),
    );
    let severity = severity.as_str();
    let default_annotations = LabelMap::from([
        (
            "title".to_string(),
            format!(
                "({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."
            ),
        ),
        (
            "summary".to_string(),
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.".to_string(),
        ),
    ]);
    // The SLO's own labels are not repeated here: alerts inherit them from the recordings.
    let severity_labels = LabelMap::from([("sloth_severity".to_string(), severity.to_string())]);
    Rule {
        record: None,
        alert: Some(meta.name.clone()),
        expr,
        labels: merged(&[&severity_labels, &meta.labels]),
        annotations: merged(&[&default_annotations, &meta.annotations]),
    }
}
