//! The `staunch slo status` table: one row per SLO with its objective, SLI over the window,
//! budget left, burn rate per window and state.

use crate::render::{table, text};
use serde_json::Value;

fn percent(value: &Value, decimals: usize) -> String {
    value.as_f64().map_or_else(|| "-".to_string(), |number| format!("{number:.decimals$}%"))
}

pub fn render_slos(response: &Value) -> String {
    let slos = response.as_array().cloned().unwrap_or_default();
    if slos.is_empty() {
        return "no slos\n".to_string();
    }
    let rows = slos
        .iter()
        .map(|slo| {
            let burns: Vec<String> = slo["burn_rates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|burn| {
                    let rate = burn["burn"].as_f64().map_or_else(|| "-".to_string(), |rate| format!("{rate:.2}"));
                    format!("{}={rate}", text(&burn["window"]))
                })
                .collect();
            vec![
                text(&slo["id"]),
                text(&slo["service"]),
                format!("{}% / {}", text(&slo["objective"]), text(&slo["window"])),
                percent(&slo["sli_percent"], 3),
                percent(&slo["budget_remaining_percent"], 1),
                text(&slo["state"]),
                if burns.is_empty() { "-".to_string() } else { burns.join(" ") },
            ]
        })
        .collect();
    table(&["SLO", "SERVICE", "OBJECTIVE", "SLI", "BUDGET LEFT", "STATE", "BURN RATE PER WINDOW"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_slo_with_burn_rates() {
        let response = serde_json::json!([
            {"id": "checkout", "service": "shop", "objective": 99.9, "window": "30d", "sli_percent": 99.95,
             "budget_remaining_percent": 50.0, "state": "ok", "burn_rates": [{"window": "5m", "burn": 0.5}, {"window": "1h", "burn": null}]},
            {"id": "search", "service": "shop", "objective": 99.0, "window": "7d", "sli_percent": null,
             "budget_remaining_percent": null, "state": "unknown", "burn_rates": []},
        ]);
        let rendered = render_slos(&response);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("SLO"));
        assert!(lines[1].contains("99.9% / 30d") && lines[1].contains("99.950%") && lines[1].contains("50.0%"), "{}", lines[1]);
        assert!(lines[1].ends_with("5m=0.50 1h=-"), "{}", lines[1]);
        assert!(lines[2].contains("unknown"), "{}", lines[2]);
        assert_eq!(render_slos(&serde_json::json!([])), "no slos\n");
    }
}
