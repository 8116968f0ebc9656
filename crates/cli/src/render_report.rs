//! `staunch report` as text: response figures and the four DORA metrics.

use serde_json::Value;
use std::fmt::Write;

fn duration(seconds: &Value) -> String {
    let Some(seconds) = seconds.as_f64() else {
        return "n/a".to_string();
    };
    let seconds = seconds.round() as i64;
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {rest}s")
    } else {
        format!("{rest}s")
    }
}

fn stat(value: &Value) -> String {
    format!(
        "median {}, mean {} (n={})",
        duration(&value["median_seconds"]),
        duration(&value["mean_seconds"]),
        value["count"].as_u64().unwrap_or(0)
    )
}

pub fn render_report(report: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "From {} to {}", report["since"].as_str().unwrap_or("?"), report["until"].as_str().unwrap_or("?"));
    let _ = writeln!(out, "Incidents: {}", report["incidents"].as_u64().unwrap_or(0));
    let _ = writeln!(out, "  MTTA: {}", stat(&report["time_to_acknowledge"]));
    let _ = writeln!(out, "  MTTR: {}", stat(&report["time_to_resolve"]));
    for (title, key) in [("per service", "incidents_per_service"), ("per severity", "incidents_per_severity")] {
        let counts: Vec<String> = report[key]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, count)| format!("{name} {}", count.as_u64().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "  {title}: {}", if counts.is_empty() { "none".to_string() } else { counts.join(", ") });
    }
    let dora = &report["dora"];
    let _ = writeln!(out, "DORA");
    let _ = writeln!(
        out,
        "  deploy frequency: {} deploys, {:.2} per day",
        dora["deploys"].as_u64().unwrap_or(0),
        dora["deploys_per_day"].as_f64().unwrap_or(0.0)
    );
    let _ = writeln!(out, "  lead time for changes: {}", stat(&dora["lead_time"]));
    let rate = match dora["change_failure_rate"].as_f64() {
        Some(rate) => format!("{:.0}% ({} of {} deploys)", rate * 100.0, dora["failed_deploys"], dora["deploys"]),
        None => "n/a (no deploys)".to_string(),
    };
    let _ = writeln!(out, "  change failure rate: {rate}, window {}", duration(&dora["failure_window_seconds"]));
    let _ = writeln!(out, "  time to restore: {}", stat(&dora["time_to_restore"]));
    out
}
