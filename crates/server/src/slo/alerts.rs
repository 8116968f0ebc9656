//! The alert events an SLO raises: one alert per level (sev1 page, sev2 page, ticket), with a
//! stable dedup key `slo:{id}:{level}`, so a trigger sent twice is deduplicated and a resolve
//! finds its alert. Tickets carry `staunch_page="false"`: their incident pages nobody.

use staunch_config::slos::{SloAlert, SloDefinition};
use staunch_domain::alert::{AlertAction, AlertEvent, DedupKey, PAGE_LABEL, SourceFormat};
use staunch_domain::labels::Labels;
use staunch_domain::severity::Severity;
use staunch_domain::slo::FiringLevel;

pub const LEVELS: [FiringLevel; 3] = [FiringLevel::Sev1Page, FiringLevel::Sev2Page, FiringLevel::Ticket];

pub fn level_name(level: FiringLevel) -> &'static str {
    match level {
        FiringLevel::Sev1Page => "sev1",
        FiringLevel::Sev2Page => "sev2",
        FiringLevel::Ticket => "ticket",
    }
}

fn alert_of(slo: &SloDefinition, level: FiringLevel) -> &SloAlert {
    match level {
        FiringLevel::Ticket => &slo.ticket_alert,
        _ => &slo.page_alert,
    }
}

/// Whether the SLO raises alerts at this level at all (`alerting.page.disable`, ...).
pub fn enabled(slo: &SloDefinition, level: FiringLevel) -> bool {
    !alert_of(slo, level).disabled
}

pub fn dedup_key(slo: &SloDefinition, level: FiringLevel) -> String {
    format!("slo:{}:{}", slo.id, level_name(level))
}

/// The event that opens (`firing`) or resolves the alert of `level`.
pub fn event(slo: &SloDefinition, level: FiringLevel, firing: bool, detail: &str) -> Option<AlertEvent> {
    let dedup_key = DedupKey::parse(dedup_key(slo, level)).ok()?;
    let alert = alert_of(slo, level);
    let default_name = if level == FiringLevel::Ticket { "SloErrorBudgetTicket" } else { "SloErrorBudgetBurn" };
    let mut labels: Labels = slo.labels.clone().into_iter().collect();
    labels.extend(alert.labels.clone());
    labels.insert("alertname".into(), alert.name.clone().unwrap_or_else(|| default_name.to_string()));
    labels.insert("slo".into(), slo.id.clone());
    labels.insert("service".into(), slo.service_id.clone());
    labels.insert("severity".into(), level_name(level).into());
    if level == FiringLevel::Ticket {
        labels.insert(PAGE_LABEL.into(), "false".into());
    }
    let severity = match level {
        FiringLevel::Sev1Page => Severity::Sev1,
        FiringLevel::Sev2Page => Severity::Sev2,
        FiringLevel::Ticket => Severity::Sev3,
    };
    let what = if level == FiringLevel::Ticket { "slowly" } else { "fast" };
    Some(AlertEvent {
        action: if firing { AlertAction::Trigger } else { AlertAction::Resolve },
        dedup_key,
        summary: format!(
            "SLO {} ({}% of {}) is burning its error budget {what}: {detail}",
            slo.name,
            slo.objective.percent(),
            slo.service_id
        ),
        severity,
        labels,
        annotations: alert.annotations.clone().into_iter().collect(),
        details: serde_json::json!({ "slo": slo.id, "objective": slo.objective.percent(), "level": level_name(level), "burn": detail }),
        links: Vec::new(),
        images: Vec::new(),
        starts_at: None,
        ends_at: None,
        format: SourceFormat::Api,
    })
}
