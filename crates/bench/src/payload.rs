//! Request bodies: the same alerts rendered as an Alertmanager webhook notification (what
//! Staunch ingests) and as Alertmanager's `POST /api/v2/alerts` array (what Prometheus sends
//! to Alertmanager). Written by hand into a `String`: the load generator shares two cores
//! with the servers, so building bodies must cost as little as possible, equally for both.

use std::fmt::Write as _;

/// Label values the harness uses are plain ASCII, but escape anyway so a body is never
/// invalid JSON.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for character in value.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            character if (character as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", character as u32);
            }
            character => out.push(character),
        }
    }
    out.push('"');
}

fn push_map(out: &mut String, pairs: &[(&str, &str)]) {
    out.push('{');
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, key);
        out.push(':');
        push_json_string(out, value);
    }
    out.push('}');
}

/// One alert: its labels and annotations.
pub struct Alert {
    pub labels: Vec<(&'static str, String)>,
    pub annotations: Vec<(&'static str, String)>,
    /// A stable, unique identity (sent as Alertmanager's `fingerprint`).
    pub fingerprint: u64,
}

impl Alert {
    fn labels(&self) -> Vec<(&str, &str)> {
        self.labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    fn annotations(&self) -> Vec<(&str, &str)> {
        self.annotations.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// SplitMix64: a bijection, so distinct sequence numbers give distinct fingerprints.
pub fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// A node-down style alert, distinct for every `seq`: 6 labels, 2 annotations.
pub fn node_alert(seq: u64, alertname: &str, service: &str) -> Alert {
    Alert {
        labels: vec![
            ("alertname", alertname.to_string()),
            ("instance", format!("node-{seq}:9100")),
            ("job", "node".to_string()),
            ("service", service.to_string()),
            ("severity", "warning".to_string()),
            ("team", "platform".to_string()),
        ],
        annotations: vec![
            ("summary", format!("{alertname} on node-{seq}")),
            ("description", format!("node-{seq}:9100 has been failing {alertname} for more than 5 minutes.")),
        ],
        fingerprint: mix(seq),
    }
}

/// A latency probe: its own group on both sides (label `sample`), and the sample id in the
/// summary so the Staunch page (whose title is the summary) names it.
pub fn probe_alert(sample: &str, number: u64) -> Alert {
    Alert {
        labels: vec![
            ("alertname", "LatencyProbe".to_string()),
            ("job", "bench".to_string()),
            ("sample", sample.to_string()),
            ("severity", "critical".to_string()),
        ],
        annotations: vec![("summary", format!("latency-probe {sample}"))],
        fingerprint: mix(number | (1 << 62)),
    }
}

/// An Alertmanager webhook (payload version 4) carrying `alerts`, firing, as one group.
pub fn webhook_body(alerts: &[Alert], group_labels: &[(&str, &str)], now: &str) -> String {
    let mut out = String::with_capacity(256 + alerts.len() * 420);
    out.push_str(r#"{"version":"4","groupKey":"#);
    let mut group_key = String::from("{}:{");
    for (index, (key, value)) in group_labels.iter().enumerate() {
        if index > 0 {
            group_key.push_str(", ");
        }
        let _ = write!(group_key, "{key}=\"{value}\"");
    }
    group_key.push('}');
    push_json_string(&mut out, &group_key);
    out.push_str(r#","truncatedAlerts":0,"status":"firing","receiver":"staunch","groupLabels":"#);
    push_map(&mut out, group_labels);
    out.push_str(r#","commonLabels":"#);
    push_map(&mut out, group_labels);
    out.push_str(r#","commonAnnotations":{},"externalURL":"http://alertmanager.bench:9093","alerts":["#);
    for (index, alert) in alerts.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(r#"{"status":"firing","labels":"#);
        push_map(&mut out, &alert.labels());
        out.push_str(r#","annotations":"#);
        push_map(&mut out, &alert.annotations());
        out.push_str(r#","startsAt":""#);
        out.push_str(now);
        out.push_str(
            r#"","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.bench:9090/graph?g0.expr=up","fingerprint":""#,
        );
        let _ = write!(out, "{:016x}", alert.fingerprint);
        out.push_str(r#""}"#);
    }
    out.push_str("]}");
    out
}

/// Alertmanager's `POST /api/v2/alerts` body: an array of postable alerts, as Prometheus
/// sends it (with `endsAt` set ahead, so they stay active for the whole run).
pub fn postable_alerts_body(alerts: &[Alert], now: &str, ends_at: &str) -> String {
    let mut out = String::with_capacity(16 + alerts.len() * 380);
    out.push('[');
    for (index, alert) in alerts.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(r#"{"labels":"#);
        push_map(&mut out, &alert.labels());
        out.push_str(r#","annotations":"#);
        push_map(&mut out, &alert.annotations());
        out.push_str(r#","startsAt":""#);
        out.push_str(now);
        out.push_str(r#"","endsAt":""#);
        out.push_str(ends_at);
        out.push_str(r#"","generatorURL":"http://prometheus.bench:9090/graph?g0.expr=up"}"#);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json() {
        let alerts = vec![node_alert(1, "NodeDown", "checkout"), probe_alert("x-1", 1)];
        let webhook: serde_json::Value =
            serde_json::from_str(&webhook_body(&alerts, &[("alertname", "NodeDown")], "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(webhook["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(webhook["groupKey"], "{}:{alertname=\"NodeDown\"}");
        let postable: serde_json::Value =
            serde_json::from_str(&postable_alerts_body(&alerts, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")).unwrap();
        assert_eq!(postable.as_array().unwrap().len(), 2);
        assert_eq!(postable[0]["labels"]["instance"], "node-1:9100");
    }

    #[test]
    fn fingerprints_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for seq in 0..10_000 {
            assert!(seen.insert(mix(seq)));
        }
    }
}
