//! The postmortem as one self-contained HTML page. Every field is escaped: titles, notes and
//! labels come from senders and responders and must never become markup.

use super::build::{Postmortem, clock_time, full_time};
use super::markdown::{impact_rows, outcome_word};
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
.worked{color:#176317}.failed{color:#9b1c1c}.note{color:#555;font-style:italic}";

pub fn render_html(postmortem: &Postmortem) -> String {
    let mut out = String::new();
    let title = format!("Postmortem: incident #{} — {}", postmortem.incident_id, postmortem.title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p class=\"note\">Blameless: this describes what the system did and how people responded to it; it names no one as a cause.</p>"
    );
    let _ = writeln!(
        out,
        "<p><b>Service:</b> {} · <b>Severity:</b> {} · <b>State:</b> {} · <b>Written:</b> {}</p>",
        escape(&postmortem.service_id),
        postmortem.severity.as_str(),
        postmortem.state.as_str(),
        full_time(postmortem.generated_at)
    );
    let _ = writeln!(out, "<h2>Summary</h2>\n<p>{}</p>", escape(&postmortem.summary));

    let _ = writeln!(out, "<h2>Impact</h2>\n<table>");
    for (name, value) in impact_rows(postmortem) {
        let _ = writeln!(out, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    let _ = writeln!(out, "</table>");

    let _ = writeln!(out, "<h2>Timeline (UTC)</h2>");
    if postmortem.timeline.is_empty() {
        let _ = writeln!(out, "<p>Nothing recorded.</p>");
    } else {
        let _ = writeln!(out, "<table><tr><th>Time</th><th>Who</th><th>What</th></tr>");
        for moment in &postmortem.timeline {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                clock_time(moment.at),
                escape(&moment.actor),
                escape(&moment.text)
            );
        }
        let _ = writeln!(out, "</table>");
    }

    let _ = writeln!(out, "<h2>What was tried and what worked</h2>");
    if postmortem.attempts.is_empty() {
        let _ = writeln!(out, "<p>No mitigation, runbook step or note was recorded.</p>");
    } else {
        let _ = writeln!(out, "<ul>");
        for attempt in &postmortem.attempts {
            let word = outcome_word(attempt.outcome);
            let _ = writeln!(
                out,
                "<li class=\"{word}\">{} {} ({word}): {}</li>",
                clock_time(attempt.at),
                escape(&attempt.actor),
                escape(&attempt.text)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    for line in &postmortem.what_worked {
        let _ = writeln!(out, "<p><b>What worked:</b> {}</p>", escape(line));
    }

    let _ = writeln!(out, "<h2>Contributing factors</h2>\n<ul>");
    for factor in &postmortem.contributing_factors {
        let _ = writeln!(out, "<li>{}</li>", escape(factor));
    }
    let _ = writeln!(out, "</ul>");

    let _ = writeln!(out, "<h2>Action items</h2>");
    if postmortem.action_items.is_empty() {
        let _ = writeln!(out, "<p>None recorded yet.</p>");
    } else {
        let _ = writeln!(out, "<table><tr><th>#</th><th>Action</th><th>Owner</th><th>Due</th><th>Status</th></tr>");
        for item in &postmortem.action_items {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                item.id,
                escape(&item.text),
                escape(item.owner.as_deref().unwrap_or("unassigned")),
                item.due.map(|due| due.to_string()).unwrap_or_else(|| "none".to_string()),
                item.status.as_str()
            );
        }
        let _ = writeln!(out, "</table>");
    }

    let _ = writeln!(out, "<h2>Language check</h2>");
    if postmortem.language_findings.is_empty() {
        let _ = writeln!(out, "<p>No sentence of the title, summary, notes or action items names a person as the cause.</p>");
    } else {
        let _ = writeln!(out, "<ul>");
        for finding in &postmortem.language_findings {
            let _ = writeln!(
                out,
                "<li>{}: “{}” — {} (<code>{}</code>). Instead: {}.</li>",
                escape(&finding.source),
                escape(&finding.finding.sentence),
                escape(&finding.finding.reason),
                escape(&finding.finding.matched),
                escape(&finding.finding.suggestion)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}
