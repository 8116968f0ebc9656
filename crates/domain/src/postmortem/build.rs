//! From facts to a [`Postmortem`]: the impact figures, a condensed timeline with its actors,
//! what was tried and what worked, contributing factors and the blameless check's findings.

use super::blameless::{Finding, PersonNames, check_text};
use super::*;
use crate::runbook::timeline as runbook_timeline;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Postmortem {
    pub incident_id: i64,
    pub title: String,
    pub service_id: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub summary: String,
    pub impact: Impact,
    pub timeline: Vec<Moment>,
    pub attempts: Vec<Attempt>,
    /// What brought the service back, as far as the record tells.
    pub what_worked: Vec<String>,
    pub contributing_factors: Vec<String>,
    pub action_items: Vec<ActionItemFact>,
    pub language_findings: Vec<LanguageFinding>,
    pub generated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Until resolution, or until `generated_at` while the incident is open.
    pub duration: SignedDuration,
    pub time_to_acknowledge: Option<SignedDuration>,
    pub time_to_mitigate: Option<SignedDuration>,
    pub time_to_resolve: Option<SignedDuration>,
    pub alert_count: usize,
    pub people_paged: Vec<String>,
    pub error_budget: ErrorBudget,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "known", rename_all = "snake_case")]
pub enum ErrorBudget {
    Unknown {
        reason: String,
    },
    Consumed {
        slo_id: String,
        objective_percent: f64,
        period: String,
        bad_events: u64,
        total_events: u64,
        /// The share of the period's error budget the incident's bad events used (1.0 = all).
        fraction: f64,
    },
}

/// One line of the condensed timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    pub at: Timestamp,
    pub actor: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Worked,
    Failed,
    Tried,
}

/// Something a person or a runbook did to mitigate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub actor: String,
    pub text: String,
    pub outcome: Outcome,
}

/// A sentence of free text (a note, an action item, the summary) the blameless check flagged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageFinding {
    /// Where the sentence is, e.g. `note by Alice Martin at 10:04:00`.
    pub source: String,
    pub finding: Finding,
}

/// Builds the postmortem as of `now` (used for open incidents' durations and as the date of
/// the document).
pub fn build(input: &PostmortemInput<'_>, now: Timestamp) -> Postmortem {
    let incident = input.incident;
    let actors = Actors { people: input.people };
    let impact = impact(input, now);
    let timeline = condensed_timeline(input.timeline, &actors);
    let attempts = attempts(input.timeline, &actors);
    let what_worked = what_worked(input, &actors);
    let contributing_factors = contributing_factors(input);
    let summary = summary(input, &impact, &actors);
    let names = PersonNames::new(input.people.iter().map(|(id, name)| (id.as_str(), name.as_str())));
    let mut language_findings = Vec::new();
    let mut check = |source: String, text: &str| {
        for finding in check_text(text, &names) {
            language_findings.push(LanguageFinding { source: source.clone(), finding });
        }
    };
    check("incident title".to_string(), &incident.title);
    check("summary".to_string(), &summary);
    for entry in input.timeline.iter().filter(|entry| entry.kind == "note.added") {
        if let Some(text) = entry.data["text"].as_str() {
            check(format!("note by {} at {}", actors.name(&entry.actor), clock_time(entry.at)), text);
        }
    }
    for item in input.action_items {
        check(format!("action item #{}", item.id), &item.text);
    }
    Postmortem {
        incident_id: incident.id,
        title: incident.title.clone(),
        service_id: incident.service_id.clone(),
        severity: incident.severity,
        state: incident.state,
        summary,
        impact,
        timeline,
        attempts,
        what_worked,
        contributing_factors,
        action_items: input.action_items.to_vec(),
        language_findings,
        generated_at: now,
    }
}

/// Actors as people read them: a user by name, an integration by its format and service.
struct Actors<'a> {
    people: &'a [(String, String)],
}

impl Actors<'_> {
    fn name(&self, actor: &str) -> String {
        let (kind, id) = actor.split_once(':').unwrap_or(("", actor));
        match kind {
            "user" => self.person(id),
            "system" => "Staunch".to_string(),
            "integration" => match id.rsplit_once('/') {
                Some((service, format)) => format!("{format} ({service})"),
                None => id.to_string(),
            },
            "token" => format!("token {id}"),
            _ => actor.to_string(),
        }
    }
    fn person(&self, id: &str) -> String {
        self.people.iter().find(|(person_id, _)| person_id == id).map(|(_, name)| name.clone()).unwrap_or_else(|| id.to_string())
    }
}

fn text_of<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// A runbook's or step's name whether the entry holds it as a string or as `{name: ...}`.
fn impact(input: &PostmortemInput<'_>, now: Timestamp) -> Impact {
    let incident = input.incident;
    let since_start = |at: Option<Timestamp>| at.map(|at| at.duration_since(incident.created_at));
    let mut people_paged: Vec<String> = Vec::new();
    let actors = Actors { people: input.people };
    for entry in input.timeline {
        if entry.kind == "notification.sent"
            && text_of(&entry.data, "event") == Some("page")
            && let Some(user) = text_of(&entry.data, "user")
        {
            let name = actors.person(user);
            if !people_paged.contains(&name) {
                people_paged.push(name);
            }
        }
    }
    Impact {
        started_at: incident.created_at,
        ended_at: incident.resolved_at,
        duration: incident.resolved_at.unwrap_or(now).duration_since(incident.created_at),
        time_to_acknowledge: since_start(incident.acknowledged_at),
        time_to_mitigate: since_start(incident.mitigated_at),
        time_to_resolve: since_start(incident.resolved_at),
        alert_count: input.alerts.len(),
        people_paged,
        error_budget: error_budget(input),
    }
}

fn error_budget(input: &PostmortemInput<'_>) -> ErrorBudget {
    let slo_alert = input.alerts.iter().find_map(|alert| alert.labels.get("slo"));
    let Some(budget) = input.budget else {
        let reason = match slo_alert {
            Some(slo) => format!("the counts of SLO {slo} are not available"),
            None => "the incident did not come from an SLO, so no error budget is attached to it".to_string(),
        };
        return ErrorBudget::Unknown { reason };
    };
    let allowed_ratio = 1.0 - budget.objective_percent / 100.0;
    let allowed_bad = budget.total_in_period as f64 * allowed_ratio;
    if budget.total_in_period == 0 || allowed_bad <= 0.0 {
        return ErrorBudget::Unknown {
            reason: format!("SLO {} recorded no events over its {} period", budget.slo_id, budget.period),
        };
    }
    ErrorBudget::Consumed {
        slo_id: budget.slo_id.clone(),
        objective_percent: budget.objective_percent,
        period: budget.period.clone(),
        bad_events: budget.bad_during,
        total_events: budget.total_during,
        fraction: budget.bad_during as f64 / allowed_bad,
    }
}

/// `4m 30s`, `1h 2m`, `2d 3h`: two units at most, enough to read an incident's pace.
pub fn format_duration(duration: SignedDuration) -> String {
    let seconds = duration.as_secs().max(0);
    let (days, hours, minutes, rest) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {rest}s")
    } else {
        format!("{rest}s")
    }
}

/// `HH:MM:SS` in UTC.
pub fn clock_time(at: Timestamp) -> String {
    at.strftime("%H:%M:%S").to_string()
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn full_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn symptom(timeline: &[TimelineFact]) -> Option<&str> {
    timeline.iter().rev().find_map(|entry| runbook_timeline::symptom(&entry.kind, &entry.data))
}

fn summary(input: &PostmortemInput<'_>, impact: &Impact, actors: &Actors<'_>) -> String {
    let incident = input.incident;
    let mut parts = vec![format!(
        "{} incident #{} on service {}: {}.",
        incident.severity.as_str(),
        incident.id,
        incident.service_id,
        incident.title.trim_end_matches('.')
    )];
    let mut names: Vec<&str> = Vec::new();
    for alert in input.alerts {
        if !names.contains(&alert.name()) {
            names.push(alert.name());
        }
    }
    if !names.is_empty() {
        parts.push(format!(
            "It opened at {} on {} alert(s): {}.",
            full_time(incident.created_at),
            input.alerts.len(),
            names.join(", ")
        ));
    } else {
        parts.push(format!("It opened at {}.", full_time(incident.created_at)));
    }
    if let Some(symptom) = symptom(input.timeline) {
        parts.push(format!("Triage named the symptom {symptom}."));
    }
    match (incident.acknowledged_at, impact.time_to_acknowledge) {
        (Some(_), Some(tta)) => {
            let who = incident.assignee.as_deref().map(|id| format!(" by {}", actors.person(id))).unwrap_or_default();
            parts.push(format!("It was acknowledged{who} after {}", format_duration(tta)));
        }
        _ => parts.push("It was never acknowledged".to_string()),
    }
    let last = parts.len() - 1;
    match impact.time_to_resolve {
        Some(ttr) => parts[last].push_str(&format!(" and resolved after {}.", format_duration(ttr))),
        None => parts[last].push_str(&format!(" and is {} after {}.", incident.state.as_str(), format_duration(impact.duration))),
    }
    if let ErrorBudget::Consumed { slo_id, fraction, period, .. } = &impact.error_budget {
        parts.push(format!("It used {} of the {period} error budget of SLO {slo_id}.", percent(*fraction)));
    }
    parts.join(" ")
}

/// A fraction as a percentage with the precision it deserves.
pub fn percent(fraction: f64) -> String {
    let value = fraction * 100.0;
    if value >= 10.0 {
        format!("{value:.0}%")
    } else if value >= 1.0 {
        format!("{value:.1}%")
    } else {
        format!("{value:.2}%")
    }
}

/// One readable line per entry that matters; runs of notifications and resolved alerts are
/// folded into one line each.
fn condensed_timeline(timeline: &[TimelineFact], actors: &Actors<'_>) -> Vec<Moment> {
    let mut moments: Vec<Moment> = Vec::new();
    // The kind of the entry each folded moment came from, so a run keeps folding.
    let mut folded_kind: Vec<Option<String>> = Vec::new();
    for entry in timeline {
        let actor = actors.name(&entry.actor);
        let data = &entry.data;
        let fold_key = match entry.kind.as_str() {
            "notification.sent" => {
                Some(format!("notified:{}:{}", text_of(data, "event").unwrap_or("?"), text_of(data, "channel").unwrap_or("?")))
            }
            "alert.resolved" => Some("alert.resolved".to_string()),
            _ => None,
        };
        if let (Some(key), Some(last), Some(Some(last_key))) = (&fold_key, moments.last_mut(), folded_kind.last())
            && key == last_key
        {
            match entry.kind.as_str() {
                "notification.sent" => {
                    let person = actors.person(text_of(data, "user").unwrap_or("?"));
                    if !last.text.contains(&person) {
                        last.text = last.text.replacen(" by ", &format!(", {person} by "), 1);
                    }
                }
                _ => {
                    let count = last.text.split_whitespace().next().and_then(|word| word.parse::<u32>().ok()).unwrap_or(1);
                    last.text = format!("{} alerts resolved", count + 1);
                }
            }
            continue;
        }
        let text = match entry.kind.as_str() {
            "incident.opened" => format!(
                "incident opened: {} (service {}, {})",
                text_of(data, "title").unwrap_or("?"),
                text_of(data, "service").unwrap_or("?"),
                text_of(data, "severity").unwrap_or("?")
            ),
            "alerts.added" => {
                let names: Vec<&str> =
                    data["alerts"].as_array().into_iter().flatten().filter_map(|alert| text_of(alert, "summary")).collect();
                format!("{} more alert(s) joined: {}", data["count"].as_u64().unwrap_or(names.len() as u64), names.join("; "))
            }
            "alert.resolved" => "1 alert resolved".to_string(),
            "escalation.paged" => {
                let users: Vec<String> = data["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| actors.person(id))
                    .collect();
                format!("escalation level {} paged {}", data["level"].as_u64().unwrap_or(1), users.join(", "))
            }
            "escalation.nobody_on_call" => format!("escalation level {} had nobody on call", data["level"].as_u64().unwrap_or(1)),
            "escalation.skipped" | "notification.skipped" => {
                format!("{}: {}", entry.kind.replace('.', " "), text_of(data, "reason").unwrap_or("no reason recorded"))
            }
            "notification.sent" => format!(
                "notified {} by {} ({})",
                actors.person(text_of(data, "user").unwrap_or("?")),
                text_of(data, "channel").unwrap_or("?"),
                text_of(data, "event").unwrap_or("?")
            ),
            "notification.failed" => format!(
                "notifying {} by {} failed: {}",
                actors.person(text_of(data, "user").unwrap_or("?")),
                text_of(data, "channel").unwrap_or("?"),
                text_of(data, "error").unwrap_or("no error recorded")
            ),
            "incident.acknowledged" => "acknowledged".to_string(),
            "incident.mitigated" => "marked mitigated".to_string(),
            "incident.resolved" => "resolved".to_string(),
            "incident.escalated" => match data["to_level"].as_u64() {
                Some(level) => format!("escalated to level {level}"),
                None => "escalated".to_string(),
            },
            "incident.reassigned" => format!(
                "reassigned from {} to {}",
                text_of(data, "from").map(|id| actors.person(id)).unwrap_or_else(|| "nobody".to_string()),
                actors.person(text_of(data, "to").unwrap_or("?"))
            ),
            "incident.severity_changed" => {
                format!(
                    "severity changed from {} to {}",
                    text_of(data, "from").unwrap_or("?"),
                    text_of(data, "to").unwrap_or("?")
                )
            }
            "incident.triaged" => format!("triaged as {}", text_of(data, "symptom").unwrap_or("an unnamed symptom")),
            "note.added" => format!("note: {}", text_of(data, "text").unwrap_or("")),
            runbook_timeline::STEP_SUCCEEDED | runbook_timeline::STEP_FAILED => step_line(entry),
            kind if runbook_timeline::stop_reason(kind).is_some() => format!(
                "runbook {} stopped: {}",
                runbook_timeline::runbook_name(data).unwrap_or("?"),
                runbook_timeline::stop_reason(kind).unwrap_or("?")
            ),
            "action_item.added" => {
                format!("action item #{} added: {}", data["id"].as_i64().unwrap_or(0), text_of(data, "text").unwrap_or(""))
            }
            "action_item.updated" => format!("action item #{} updated: {}", data["id"].as_i64().unwrap_or(0), changes_text(data)),
            "alerts.truncated" => {
                format!("the sender left out {} alert(s) it could not fit", data["truncated_alerts"].as_u64().unwrap_or(0))
            }
            _ => continue,
        };
        moments.push(Moment { at: entry.at, actor, text });
        folded_kind.push(fold_key);
    }
    moments
}

fn changes_text(data: &Value) -> String {
    let Some(changes) = data.get("changes").and_then(Value::as_object) else {
        return "changed".to_string();
    };
    changes
        .iter()
        .map(|(field, value)| match value {
            Value::Null => format!("{field} cleared"),
            Value::String(text) => format!("{field} {text}"),
            other => format!("{field} {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn step_line(entry: &TimelineFact) -> String {
    let data = &entry.data;
    let kind = text_of(data, "kind").or_else(|| text_of(data, "step_kind")).map(|kind| format!(" ({kind})")).unwrap_or_default();
    let result = if entry.kind == runbook_timeline::STEP_SUCCEEDED { "succeeded" } else { "failed" };
    let mut line = format!(
        "runbook {} step {}{kind} {result}",
        runbook_timeline::runbook_name(data).unwrap_or("?"),
        runbook_timeline::step_name(data).unwrap_or_else(|| "?".into())
    );
    if let Some(output) = text_of(data, "output") {
        let short: String = output.chars().take(120).collect();
        line.push_str(&format!(": {}", short.trim()));
    }
    line
}

fn attempts(timeline: &[TimelineFact], actors: &Actors<'_>) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    for entry in timeline {
        let actor = actors.name(&entry.actor);
        let (text, outcome) = match entry.kind.as_str() {
            runbook_timeline::STEP_SUCCEEDED => (step_line(entry), Outcome::Tried),
            runbook_timeline::STEP_FAILED => (step_line(entry), Outcome::Failed),
            kind if runbook_timeline::stop_reason(kind).is_some() => {
                let reason = runbook_timeline::stop_reason(kind).unwrap_or("");
                let outcome = match reason {
                    "recovered" => Outcome::Worked,
                    "failed" | "interrupted" => Outcome::Failed,
                    _ => Outcome::Tried,
                };
                (format!("runbook {} stopped: {reason}", runbook_timeline::runbook_name(&entry.data).unwrap_or("?")), outcome)
            }
            "incident.escalated" => ("escalated to the next level".to_string(), Outcome::Tried),
            "incident.reassigned" => {
                (format!("handed over to {}", actors.person(text_of(&entry.data, "to").unwrap_or("?"))), Outcome::Tried)
            }
            "incident.mitigated" => ("marked the incident mitigated".to_string(), Outcome::Worked),
            "note.added" => (text_of(&entry.data, "text").unwrap_or("").to_string(), Outcome::Tried),
            _ => continue,
        };
        attempts.push(Attempt { at: entry.at, actor, text, outcome });
    }
    // The step just before a recovery is the one that worked.
    let recovered: Vec<usize> = attempts
        .iter()
        .enumerate()
        .filter(|(_, attempt)| attempt.outcome == Outcome::Worked && attempt.text.starts_with("runbook "))
        .map(|(index, _)| index)
        .collect();
    for index in recovered {
        if let Some(step) = attempts[..index].iter_mut().rev().find(|attempt| attempt.text.contains(" step "))
            && step.outcome == Outcome::Tried
        {
            step.outcome = Outcome::Worked;
        }
    }
    attempts
}

fn what_worked(input: &PostmortemInput<'_>, actors: &Actors<'_>) -> Vec<String> {
    let timeline = input.timeline;
    let mut lines = Vec::new();
    for (index, entry) in timeline.iter().enumerate() {
        if runbook_timeline::stop_reason(&entry.kind) != Some("recovered") {
            continue;
        }
        let runbook = runbook_timeline::runbook_name(&entry.data).unwrap_or("?").to_string();
        let steps: Vec<String> = timeline[..index]
            .iter()
            .filter(|step| {
                step.kind == runbook_timeline::STEP_SUCCEEDED
                    && runbook_timeline::runbook_name(&step.data) == Some(runbook.as_str())
            })
            .filter_map(|step| runbook_timeline::step_name(&step.data))
            .collect();
        let last = steps.last().cloned().unwrap_or_else(|| "?".into());
        lines.push(format!(
            "Runbook {runbook} recovered the service at {} after {} step(s) ({}); the SLI recovered after step {last}.",
            clock_time(entry.at),
            steps.len(),
            steps.join(", ")
        ));
    }
    if !lines.is_empty() {
        return lines;
    }
    let incident = input.incident;
    let resolution = incident.mitigated_at.or(incident.resolved_at);
    let Some(resolution_at) = resolution else {
        return vec!["Nothing yet: the incident is not mitigated.".to_string()];
    };
    let closing = timeline
        .iter()
        .find(|entry| entry.at == resolution_at && matches!(entry.kind.as_str(), "incident.mitigated" | "incident.resolved"));
    let automatic = closing.is_some_and(|entry| entry.actor.starts_with("integration:"));
    if automatic {
        return vec![format!(
            "Every alert stopped firing and the incident resolved itself at {}; the timeline records no action that caused it.",
            clock_time(resolution_at)
        )];
    }
    let by = closing.map(|entry| format!(" by {}", actors.name(&entry.actor))).unwrap_or_default();
    let verb = if incident.mitigated_at.is_some() { "mitigated" } else { "resolved" };
    match timeline.iter().rev().find(|entry| entry.kind == "note.added" && entry.at <= resolution_at) {
        Some(note) => vec![format!(
            "The incident was {verb}{by} at {}. The last note before it, by {} at {}: \"{}\"",
            clock_time(resolution_at),
            actors.name(&note.actor),
            clock_time(note.at),
            text_of(&note.data, "text").unwrap_or("")
        )],
        None => vec![format!(
            "The incident was {verb}{by} at {}; the timeline does not record which action did it (add a note next time).",
            clock_time(resolution_at)
        )],
    }
}

fn contributing_factors(input: &PostmortemInput<'_>) -> Vec<String> {
    let incident = input.incident;
    let window_start = incident.created_at - input.change_window;
    let mut factors = Vec::new();
    let mut recent: Vec<&ChangeFact> =
        input.changes.iter().filter(|change| change.at >= window_start && change.at <= incident.created_at).collect();
    recent.sort_by_key(|change| change.at);
    for change in &recent {
        let source = change.source.as_deref().map(|source| format!(" [{source}]")).unwrap_or_default();
        factors.push(format!(
            "Change {} before the incident opened ({}): {}{source}",
            format_duration(incident.created_at.duration_since(change.at)),
            full_time(change.at),
            change.summary
        ));
    }
    if recent.is_empty() {
        factors.push(format!(
            "No change to service {} was recorded in the {} before the incident opened.",
            incident.service_id,
            format_duration(input.change_window)
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for alert in input.alerts {
        let name = alert.name().to_string();
        if seen.contains(&name) {
            continue;
        }
        let count = input.alerts.iter().filter(|other| other.name() == name).count();
        let labels: Vec<String> = alert
            .labels
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "alertname" | "staunch_page"))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let annotation = alert.annotations.get("description").or_else(|| alert.annotations.get("summary"));
        let mut line = format!("Alert {name} fired ({count}×, {})", alert.severity.as_str());
        if !labels.is_empty() {
            line.push_str(&format!(" with {}", labels.join(", ")));
        }
        if let Some(annotation) = annotation {
            line.push_str(&format!(": {annotation}"));
        }
        factors.push(line);
        seen.push(name);
    }
    factors
}
