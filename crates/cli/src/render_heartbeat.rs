//! The `staunch heartbeat status` table: one row per outcome monitor with its event, the
//! events seen over the window against those expected, and its state.

use crate::render::{table, text};
use serde_json::Value;

pub fn render_heartbeats(response: &Value) -> String {
    let heartbeats = response.as_array().cloned().unwrap_or_default();
    if heartbeats.is_empty() {
        return "no heartbeats\n".to_string();
    }
    let rows = heartbeats
        .iter()
        .map(|heartbeat| {
            let observed = heartbeat["observed"].as_u64().map_or_else(|| "-".to_string(), |count| count.to_string());
            let expected = heartbeat["expected"].as_f64().map_or_else(|| "-".to_string(), |count| format!("{count:.0}"));
            let ratio = heartbeat["ratio"].as_f64().map_or_else(|| "-".to_string(), |ratio| format!("{:.0}%", ratio * 100.0));
            let threshold =
                heartbeat["threshold"].as_f64().map_or_else(|| "-".to_string(), |ratio| format!("{:.0}%", ratio * 100.0));
            vec![
                text(&heartbeat["id"]),
                text(&heartbeat["service"]),
                text(&heartbeat["event"]),
                format!("{} ({})", text(&heartbeat["window"]), text(&heartbeat["time_zone"])),
                observed,
                expected,
                format!("{ratio} (page below {threshold})"),
                text(&heartbeat["state"]),
            ]
        })
        .collect();
    table(&["HEARTBEAT", "SERVICE", "EVENT", "WINDOW", "SEEN", "EXPECTED", "RATIO", "STATE"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_monitor() {
        let response = serde_json::json!([
            {"id": "messages", "service": "chat", "event": "message.sent", "window": "15m", "time_zone": "Europe/Berlin",
             "observed": 120, "expected": 1500.4, "ratio": 0.08, "threshold": 0.5, "state": "dropped"},
            {"id": "signups", "service": "web", "event": "signup", "window": "30m", "time_zone": "UTC",
             "observed": null, "expected": null, "ratio": null, "threshold": 0.5, "state": "learning"},
        ]);
        let rendered = render_heartbeats(&response);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].contains("15m (Europe/Berlin)") && lines[1].contains("1500") && lines[1].contains("8% (page below 50%)")
        );
        assert!(lines[1].ends_with("dropped"), "{}", lines[1]);
        assert!(lines[2].contains("learning"), "{}", lines[2]);
        assert_eq!(render_heartbeats(&serde_json::json!([])), "no heartbeats\n");
    }
}
