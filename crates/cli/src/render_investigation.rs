//! Investigation tables: an incident's hypotheses with their evidence, and what a catalog
//! import changed.

use crate::render::{table, text};
use serde_json::Value;

fn items(value: &Value) -> Vec<&Value> {
    value.as_array().map(|items| items.iter().collect()).unwrap_or_default()
}

/// The verdict line, then one row per hypothesis, then the evidence of each under its rank.
pub fn render_investigation(response: &Value) -> String {
    let investigation = &response["investigation"];
    let mut output = format!(
        "incident #{} as of {} (onset {})\n{}\n",
        text(&investigation["incident_id"]),
        text(&investigation["as_of"]),
        text(&investigation["onset"]),
        text(&investigation["summary"]),
    );
    // What the ranking went without comes before it, so nobody reads the list as complete.
    for warning in items(&investigation["warnings"]) {
        output.push_str(&format!("warning: {}\n", text(warning)));
    }
    let hypotheses = items(&investigation["hypotheses"]);
    if hypotheses.is_empty() {
        return output;
    }
    let rows = hypotheses
        .iter()
        .enumerate()
        .map(|(index, hypothesis)| {
            let confidence = hypothesis["confidence"].as_f64().map(|value| format!("{value:.2}")).unwrap_or_default();
            let runbook = hypothesis["suggested_runbook"].as_str().unwrap_or("").to_string();
            vec![(index + 1).to_string(), text(&hypothesis["kind"]), confidence, text(&hypothesis["title"]), runbook]
        })
        .collect();
    output.push('\n');
    output.push_str(&table(&["#", "KIND", "CONFIDENCE", "HYPOTHESIS", "SUGGESTED RUNBOOK"], rows));
    for (index, hypothesis) in hypotheses.iter().enumerate() {
        output.push_str(&format!("\n{}. {}\n", index + 1, text(&hypothesis["title"])));
        for evidence in items(&hypothesis["evidence_for"]) {
            output.push_str(&format!("   + {}\n", text(evidence)));
        }
        for evidence in items(&hypothesis["evidence_against"]) {
            output.push_str(&format!("   - {}\n", text(evidence)));
        }
    }
    output
}

pub fn render_catalog_sync(response: &Value) -> String {
    let sync = &response["sync"];
    let mut output = String::new();
    for (label, key) in [("added", "added"), ("updated", "updated"), ("removed", "removed")] {
        let names: Vec<String> = items(&sync[key]).into_iter().map(text).collect();
        output.push_str(&format!(
            "{label}: {}{}\n",
            names.len(),
            if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
        ));
    }
    output.push_str(&format!("unchanged: {}\n", text(&sync["unchanged"])));
    output
}
