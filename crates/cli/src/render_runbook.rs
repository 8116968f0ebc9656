//! Runbook tables: the organisation's runbooks, an incident's ranked candidates, and runs with
//! the status of every step.

use crate::render::{table, text};
use serde_json::Value;

fn items<'a>(response: &'a Value, key: &str) -> Vec<&'a Value> {
    response[key].as_array().map(|items| items.iter().collect()).unwrap_or_default()
}

pub fn render_runbooks(response: &Value) -> String {
    let runbooks = items(response, "runbooks");
    if runbooks.is_empty() {
        return "no runbooks\n".to_string();
    }
    let rows = runbooks
        .iter()
        .map(|runbook| {
            let steps: Vec<String> = items(runbook, "steps")
                .iter()
                .map(|step| {
                    let gate = if step["needs_approval"] == true { " (approval)" } else { "" };
                    format!("{}{gate}", text(&step["kind"]))
                })
                .collect();
            let approval = if runbook["approval_required"] == true { "required" } else { "none" };
            vec![text(&runbook["name"]), approval.to_string(), steps.join(", "), text(&runbook["description"])]
        })
        .collect();
    table(&["RUNBOOK", "APPROVAL", "STEPS", "DESCRIPTION"], rows)
}

pub fn render_candidates(response: &Value) -> String {
    let symptom = response["symptom"].as_str().unwrap_or("(none recognised)");
    let mut output = format!("symptom: {symptom}\n");
    let candidates = items(response, "candidates");
    if candidates.is_empty() {
        output.push_str("no runbook applies\n");
        return output;
    }
    let rows = candidates
        .iter()
        .map(|candidate| {
            vec![
                text(&candidate["runbook"]),
                format!("{:.2}", candidate["score"].as_f64().unwrap_or(0.0)),
                format!("{}/{}", text(&candidate["successes"]), text(&candidate["attempts"])),
                text(&candidate["steps"]),
            ]
        })
        .collect();
    output.push_str(&table(&["RUNBOOK", "SCORE", "WORKED", "STEPS"], rows));
    output
}

/// One run: its state, then a line per step with status, attempts and output's first line.
pub fn render_run(run: &Value) -> String {
    let mut output = format!(
        "run {} of {} on incident #{}: {}\n",
        text(&run["id"]),
        text(&run["runbook"]),
        text(&run["incident_id"]),
        text(&run["state"])
    );
    let names = run["step_names"].as_array().cloned().unwrap_or_default();
    let rows = items(&run["progress"], "steps")
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let name = names.get(index).and_then(Value::as_str).map_or_else(|| format!("step {}", index + 1), str::to_string);
            let detail = step["error"].as_str().or_else(|| step["output"].as_str()).unwrap_or("");
            vec![
                index.to_string(),
                name,
                text(&step["status"]),
                text(&step["attempts"]),
                step["approved_by"].as_str().unwrap_or("-").to_string(),
                detail.lines().next().unwrap_or("").chars().take(80).collect(),
            ]
        })
        .collect();
    output.push_str(&table(&["#", "STEP", "STATUS", "TRIES", "APPROVED BY", "OUTPUT"], rows));
    output
}

pub fn render_runs(response: &Value) -> String {
    let runs = items(response, "runs");
    if runs.is_empty() {
        return "no runbook runs\n".to_string();
    }
    runs.iter().map(|run| render_run(run)).collect::<Vec<_>>().join("\n")
}
