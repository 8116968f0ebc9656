//! The postmortem as Markdown. Free text (titles, notes, change summaries) is escaped, so a
//! note cannot inject markup or break a table.

use super::build::{Attempt, ErrorBudget, Moment, Outcome, Postmortem, clock_time, format_duration, full_time, percent};
use std::fmt::Write;

/// Escapes Markdown's inline markup and raw HTML, and keeps text on one line (tables).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' => {
                escaped.push('\\');
                escaped.push(character);
            }
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '\r' => {}
            '\n' => escaped.push(' '),
            _ => escaped.push(character),
        }
    }
    escaped
}

fn optional_duration(duration: Option<jiff::SignedDuration>, missing: &str) -> String {
    duration.map(format_duration).unwrap_or_else(|| missing.to_string())
}

pub(super) fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Worked => "worked",
        Outcome::Failed => "failed",
        Outcome::Tried => "tried",
    }
}

pub(super) fn budget_text(budget: &ErrorBudget) -> String {
    match budget {
        ErrorBudget::Unknown { reason } => format!("unknown: {reason}"),
        ErrorBudget::Consumed { slo_id, objective_percent, period, bad_events, total_events, fraction } => format!(
            "{} of the {period} budget of SLO {slo_id} ({objective_percent}%): {bad_events} bad of {total_events} events during the incident",
            percent(*fraction)
        ),
    }
}

pub(super) fn impact_rows(postmortem: &Postmortem) -> Vec<(&'static str, String)> {
    let impact = &postmortem.impact;
    vec![
        ("Started", full_time(impact.started_at)),
        ("Ended", impact.ended_at.map(full_time).unwrap_or_else(|| "not resolved yet".to_string())),
        ("Duration", format_duration(impact.duration)),
        ("Time to acknowledge", optional_duration(impact.time_to_acknowledge, "never acknowledged")),
        ("Time to mitigate", optional_duration(impact.time_to_mitigate, "not marked mitigated")),
        ("Time to resolve", optional_duration(impact.time_to_resolve, "not resolved yet")),
        ("Alerts", impact.alert_count.to_string()),
        ("People paged", if impact.people_paged.is_empty() { "nobody".to_string() } else { impact.people_paged.join(", ") }),
        ("Error budget consumed", budget_text(&impact.error_budget)),
    ]
}

pub fn render_markdown(postmortem: &Postmortem) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Postmortem: incident #{} — {}\n", postmortem.incident_id, escape(&postmortem.title));
    let _ = writeln!(
        out,
        "*Blameless: this describes what the system did and how people responded to it; it names no one as a cause.*\n"
    );
    let _ = writeln!(
        out,
        "**Service:** {} · **Severity:** {} · **State:** {} · **Written:** {}\n",
        escape(&postmortem.service_id),
        postmortem.severity.as_str(),
        postmortem.state.as_str(),
        full_time(postmortem.generated_at)
    );
    let _ = writeln!(out, "## Summary\n\n{}\n", escape(&postmortem.summary));

    let _ = writeln!(out, "## Impact\n\n| | |\n|---|---|");
    for (name, value) in impact_rows(postmortem) {
        let _ = writeln!(out, "| {name} | {} |", escape(&value));
    }

    let _ = writeln!(out, "\n## Timeline (UTC)\n");
    moments_table(&mut out, &postmortem.timeline);

    let _ = writeln!(out, "\n## What was tried and what worked\n");
    attempts_list(&mut out, &postmortem.attempts);
    for line in &postmortem.what_worked {
        let _ = writeln!(out, "\n**What worked:** {}", escape(line));
    }

    let _ = writeln!(out, "\n## Contributing factors\n");
    for factor in &postmortem.contributing_factors {
        let _ = writeln!(out, "- {}", escape(factor));
    }

    let _ = writeln!(out, "\n## Action items\n");
    if postmortem.action_items.is_empty() {
        let _ = writeln!(out, "None recorded yet.");
    } else {
        let _ = writeln!(out, "| # | Action | Owner | Due | Status |\n|---|---|---|---|---|");
        for item in &postmortem.action_items {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                item.id,
                escape(&item.text),
                escape(item.owner.as_deref().unwrap_or("unassigned")),
                item.due.map(|due| due.to_string()).unwrap_or_else(|| "none".to_string()),
                item.status.as_str()
            );
        }
    }

    let _ = writeln!(out, "\n## Language check\n");
    if postmortem.language_findings.is_empty() {
        let _ = writeln!(out, "No sentence of the title, summary, notes or action items names a person as the cause.");
    } else {
        for finding in &postmortem.language_findings {
            let _ = writeln!(
                out,
                "- {}: \"{}\" — {} (`{}`). Instead: {}.",
                escape(&finding.source),
                escape(&finding.finding.sentence),
                finding.finding.reason,
                escape(&finding.finding.matched).replace('`', ""),
                escape(&finding.finding.suggestion)
            );
        }
    }
    out
}

fn moments_table(out: &mut String, moments: &[Moment]) {
    if moments.is_empty() {
        let _ = writeln!(out, "Nothing recorded.");
        return;
    }
    let _ = writeln!(out, "| Time | Who | What |\n|---|---|---|");
    for moment in moments {
        let _ = writeln!(out, "| {} | {} | {} |", clock_time(moment.at), escape(&moment.actor), escape(&moment.text));
    }
}

fn attempts_list(out: &mut String, attempts: &[Attempt]) {
    if attempts.is_empty() {
        let _ = writeln!(out, "No mitigation, runbook step or note was recorded.");
        return;
    }
    for attempt in attempts {
        let _ = writeln!(
            out,
            "- {} {} ({}): {}",
            clock_time(attempt.at),
            escape(&attempt.actor),
            outcome_word(attempt.outcome),
            escape(&attempt.text)
        );
    }
}
