//! Plain-text tables for people at a terminal.

use serde_json::Value;

pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in &rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut output = String::new();
    let mut push_row = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        for (index, cell) in cells.into_iter().enumerate() {
            if index == last {
                output.push_str(&cell);
            } else {
                output.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        output.push('\n');
    };
    push_row(headers.iter().map(|header| header.to_string()).collect());
    for row in rows {
        push_row(row);
    }
    output
}

/// Shortens an RFC 3339 instant to `YYYY-MM-DD HH:MM:SS` (UTC).
fn short_time(value: &Value) -> String {
    let Some(text) = value.as_str() else {
        return "-".to_string();
    };
    text.get(..19).map(|prefix| prefix.replace('T', " ")).unwrap_or_else(|| text.to_string())
}

pub fn render_incidents(response: &Value) -> String {
    let incidents = response["incidents"].as_array().cloned().unwrap_or_default();
    if incidents.is_empty() {
        return "no incidents\n".to_string();
    }
    let rows = incidents
        .iter()
        .map(|incident| {
            vec![
                text(&incident["id"]),
                text(&incident["state"]),
                text(&incident["severity"]),
                text(&incident["service_id"]),
                short_time(&incident["created_at"]),
                text(&incident["assignee"]),
                text(&incident["title"]),
            ]
        })
        .collect();
    table(&["ID", "STATE", "SEV", "SERVICE", "OPENED (UTC)", "ASSIGNEE", "TITLE"], rows)
}

pub fn render_incident(incident: &Value, timeline: &Value) -> String {
    let mut output = format!(
        "#{} {}\nstate: {}  severity: {}  service: {}  assignee: {}\nopened: {}  acknowledged: {}  resolved: {}\n\n",
        text(&incident["id"]),
        text(&incident["title"]),
        text(&incident["state"]),
        text(&incident["severity"]),
        text(&incident["service_id"]),
        text(&incident["assignee"]),
        short_time(&incident["created_at"]),
        short_time(&incident["acknowledged_at"]),
        short_time(&incident["resolved_at"]),
    );
    let entries = timeline["timeline"].as_array().cloned().unwrap_or_default();
    let rows = entries
        .iter()
        .map(|entry| {
            let actor = format!("{}:{}", text(&entry["actor"]["kind"]), text(&entry["actor"]["id"]));
            vec![short_time(&entry["at"]), actor, text(&entry["kind"]), summarize(&entry["data"])]
        })
        .collect();
    output.push_str(&table(&["AT (UTC)", "ACTOR", "EVENT", "DETAILS"], rows));
    output
}

fn summarize(data: &Value) -> String {
    let Some(object) = data.as_object() else {
        return text(data);
    };
    let mut parts = Vec::new();
    for (key, value) in object {
        if matches!(key.as_str(), "labels" | "delivery_id") {
            continue;
        }
        parts.push(format!("{key}={}", text(value)));
    }
    let joined = parts.join(" ");
    if joined.chars().count() > 100 { format!("{}…", joined.chars().take(99).collect::<String>()) } else { joined }
}

pub fn render_oncall(response: &Value) -> String {
    let entries = response["oncall"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        return "no schedules\n".to_string();
    }
    let rows = entries
        .iter()
        .map(|entry| {
            let users: Vec<String> =
                entry["on_call"].as_array().cloned().unwrap_or_default().iter().map(|user| text(&user["id"])).collect();
            let until =
                entry["upcoming_shifts"].as_array().and_then(|shifts| shifts.first()).map(|shift| short_time(&shift["end"]));
            vec![
                text(&entry["schedule"]),
                if users.is_empty() { "nobody".to_string() } else { users.join(", ") },
                until.unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    table(&["SCHEDULE", "ON CALL", "UNTIL (UTC)"], rows)
}

pub fn render_silences(response: &Value) -> String {
    let silences = response["silences"].as_array().cloned().unwrap_or_default();
    if silences.is_empty() {
        return "no silences\n".to_string();
    }
    let rows = silences
        .iter()
        .map(|silence| {
            let creator = format!("{}:{}", text(&silence["created_by"]["kind"]), text(&silence["created_by"]["id"]));
            vec![
                text(&silence["id"]),
                short_time(&silence["starts_at"]),
                short_time(&silence["ends_at"]),
                creator,
                text(&silence["matchers"]),
                text(&silence["comment"]),
            ]
        })
        .collect();
    table(&["ID", "STARTS (UTC)", "ENDS (UTC)", "BY", "MATCHERS", "COMMENT"], rows)
}

pub fn render_audit(response: &Value) -> String {
    let entries = response["audit"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        return "no audit entries\n".to_string();
    }
    let rows = entries
        .iter()
        .map(|entry| {
            vec![
                text(&entry["id"]),
                short_time(&entry["at"]),
                format!("{}:{}", text(&entry["actor"]["kind"]), text(&entry["actor"]["id"])),
                text(&entry["origin"]),
                text(&entry["action"]),
                text(&entry["target"]),
            ]
        })
        .collect();
    table(&["ID", "AT (UTC)", "BY", "FROM", "ACTION", "TARGET"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_table() {
        let response = serde_json::json!({ "incidents": [
            {"id": 12, "state": "triggered", "severity": "sev1", "service_id": "checkout", "created_at": "2026-11-22T06:00:01.123Z", "assignee": null, "title": "HighErrorRate"},
        ]});
        assert_eq!(
            render_incidents(&response),
            "ID  STATE      SEV   SERVICE   OPENED (UTC)         ASSIGNEE  TITLE\n12  triggered  sev1  checkout  2026-11-22 06:00:01  -         HighErrorRate\n"
        );
        assert_eq!(render_incidents(&serde_json::json!({"incidents": []})), "no incidents\n");
    }
}
