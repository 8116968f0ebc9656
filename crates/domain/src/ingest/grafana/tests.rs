use super::*;
use crate::alert::{AlertAction, DedupKey};
use crate::labels::alertmanager_fingerprint;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A webhook as current Grafana sends it (the example of Grafana's webhook contact point
/// documentation, plus a second alert with a dashboard, panel and image and a resolved third).
fn sample() -> Value {
    json!({
        "receiver": "My Super Webhook",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1", "severity": "critical"},
                "annotations": {
                    "description": "The system has high memory usage",
                    "runbook_url": "https://myrunbook.com/runbook/1234",
                    "summary": "This alert was triggered for zone us-1"
                },
                "startsAt": "2021-10-12T09:51:03.157076+02:00",
                "endsAt": ZERO_TIME,
                "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
                "fingerprint": "c6eadffa33fcdf37",
                "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 44.23943737541908, "C": 1},
                "valueString": "[ var='B' labels={instance=localhost:9090} value=44.23943737541908 ], [ var='C' value=1 ]"
            },
            {
                "status": "firing",
                "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
                "annotations": {"description": "The system has high CPU usage"},
                "startsAt": "2021-10-12T09:56:03.157076+02:00",
                "endsAt": ZERO_TIME,
                "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
                "fingerprint": "bc97ff14869b13e3",
                "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1",
                "dashboardURL": "https://play.grafana.org/d/monitor",
                "panelURL": "https://play.grafana.org/d/monitor?viewPanel=1",
                "imageURL": "https://play.grafana.org/public/img/attachments/cpu.png",
                "values": {"B": 44.23943737541908, "C": 1},
                "valueString": "[ var='B' value=44.23943737541908 ]",
                "orgId": 1,
                "ruleUID": "d1rdpdv7k"
            },
            {
                "status": "resolved",
                "labels": {"alertname": "Disk full", "team": "blue"},
                "annotations": {},
                "startsAt": "2021-10-12T09:00:00Z",
                "endsAt": "2021-10-12T09:40:00Z",
                "generatorURL": "",
                "fingerprint": "",
                "silenceURL": "",
                "dashboardURL": "",
                "panelURL": "",
                "values": null,
                "valueString": ""
            }
        ],
        "groupLabels": {},
        "commonLabels": {"team": "blue"},
        "commonAnnotations": {},
        "externalURL": "https://play.grafana.org/",
        "version": "1",
        "groupKey": "{}:{}",
        "truncatedAlerts": 2,
        "title": "[FIRING:2]  (blue)",
        "state": "alerting",
        "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n"
    })
}

/// What Grafana 8.0's unified alerting sent: none of the later additions.
fn grafana_8_0() -> Value {
    json!({
        "receiver": "staunch", "status": "firing", "version": "1", "groupKey": "{}:{alertname=\"A\"}",
        "truncatedAlerts": 0, "title": "[FIRING:1] A", "state": "alerting", "message": "m",
        "groupLabels": {"alertname": "A"}, "commonLabels": {"alertname": "A"}, "commonAnnotations": {},
        "externalURL": "http://grafana.test/",
        "alerts": [{
            "status": "firing", "labels": {"alertname": "A"}, "annotations": {},
            "startsAt": "2021-06-01T00:00:00Z", "endsAt": ZERO_TIME, "generatorURL": "http://grafana.test/alerting/a/edit",
            "fingerprint": "0123456789abcdef", "silenceURL": "http://grafana.test/alerting/silence/new",
            "dashboardURL": "", "panelURL": "", "valueString": ""
        }]
    })
}

fn parse_value(document: &Value) -> Result<GrafanaWebhook, IngestError> {
    parse_webhook(&serde_json::to_vec(document).expect("serializable"))
}

fn timestamp(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

/// Applies `edits` (JSON pointer → new value, `None` removes) to a copy of `document`.
fn edited(document: &Value, edits: &[(&str, Option<Value>)]) -> Value {
    let mut document = document.clone();
    for (pointer, replacement) in edits {
        let (parent, name) = pointer.rsplit_once('/').expect("pointer with a parent");
        match document.pointer_mut(parent).expect("parent exists") {
            Value::Object(fields) => match replacement {
                Some(value) => {
                    fields.insert(name.to_string(), value.clone());
                }
                None => {
                    fields.remove(name);
                }
            },
            Value::Array(items) => {
                let index: usize = name.parse().expect("index");
                items[index] = replacement.clone().expect("arrays are only edited in place");
            }
            _ => panic!("{pointer} does not address a member"),
        }
    }
    document
}

fn errors_of(result: Result<GrafanaWebhook, IngestError>) -> Vec<(String, String)> {
    match result {
        Ok(webhook) => panic!("expected errors, parsed {webhook:#?}"),
        Err(error) => error.errors.into_iter().map(|error| (error.field, error.message)).collect(),
    }
}

fn one(field: &str, message: &str) -> Vec<(String, String)> {
    vec![(field.to_string(), message.to_string())]
}

#[test]
fn parses_the_group_context() {
    let webhook = parse_value(&sample()).expect("valid");
    assert_eq!(webhook.receiver.as_deref(), Some("My Super Webhook"));
    assert_eq!(webhook.status, AlertmanagerStatus::Firing);
    assert_eq!(webhook.state.as_deref(), Some("alerting"));
    assert_eq!(webhook.title.as_deref(), Some("[FIRING:2]  (blue)"));
    assert!(webhook.message.as_deref().is_some_and(|message| message.starts_with("**Firing**")));
    assert_eq!(webhook.org_id, Some(1));
    assert_eq!(webhook.group_key.as_deref(), Some("{}:{}"));
    assert_eq!(webhook.truncated_alerts, 2);
    assert!(webhook.group_labels.is_empty());
    assert_eq!(webhook.common_labels, labels(&[("team", "blue")]));
    assert_eq!(webhook.external_url.as_deref(), Some("https://play.grafana.org/"));
    assert_eq!(webhook.alerts.len(), 3);
}

#[test]
fn normalizes_a_firing_alert_with_grafana_links_and_values() {
    let webhook = parse_value(&sample()).expect("valid");
    let alert = &webhook.alerts[0];
    assert_eq!(alert.action, AlertAction::Trigger);
    assert_eq!(alert.dedup_key.as_str(), "c6eadffa33fcdf37");
    assert_eq!(alert.summary, "This alert was triggered for zone us-1");
    assert_eq!(alert.severity, Severity::Sev1);
    assert_eq!(alert.labels.get("zone").map(String::as_str), Some("us-1"));
    assert_eq!(alert.annotations.get("runbook_url").map(String::as_str), Some("https://myrunbook.com/runbook/1234"));
    let expected_links = vec![
        AlertLink { href: "https://play.grafana.org/alerting/1afz29v7z/edit".into(), text: Some("Alert rule".into()) },
        AlertLink {
            href: "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2".into(),
            text: Some("Silence".into()),
        },
    ];
    assert_eq!(alert.links, expected_links, "empty dashboard and panel URLs are no links");
    assert!(alert.images.is_empty());
    assert_eq!(alert.details["values"], json!({"B": 44.23943737541908, "C": 1}));
    assert!(alert.details["valueString"].as_str().is_some_and(|text| text.starts_with("[ var='B'")));
    assert_eq!(alert.starts_at, Some(timestamp("2021-10-12T07:51:03.157076Z")));
    assert_eq!(alert.ends_at, None, "the zero time means no end");
    assert_eq!(alert.format, SourceFormat::Grafana);
}

#[test]
fn dashboard_panel_and_image_urls_become_links_and_an_image() {
    let webhook = parse_value(&sample()).expect("valid");
    let alert = &webhook.alerts[1];
    let texts: Vec<&str> = alert.links.iter().filter_map(|link| link.text.as_deref()).collect();
    assert_eq!(texts, ["Alert rule", "Dashboard", "Panel", "Silence"]);
    assert_eq!(alert.links[2].href, "https://play.grafana.org/d/monitor?viewPanel=1");
    assert_eq!(
        alert.images,
        vec![AlertImage {
            src: "https://play.grafana.org/public/img/attachments/cpu.png".into(),
            href: Some("https://play.grafana.org/d/monitor?viewPanel=1".into()),
            alt: None,
        }]
    );
    assert_eq!(alert.details["ruleUID"], "d1rdpdv7k");
    assert_eq!(alert.details["orgId"], 1);
    assert_eq!(alert.summary, "The system has high CPU usage", "description when there is no summary");
    assert_eq!(alert.severity, Severity::Sev2, "no severity label");
}

#[test]
fn normalizes_a_resolved_alert_without_fingerprint_or_extras() {
    let webhook = parse_value(&sample()).expect("valid");
    let alert = &webhook.alerts[2];
    assert_eq!(alert.action, AlertAction::Resolve);
    assert_eq!(alert.dedup_key.as_str(), alertmanager_fingerprint(&alert.labels), "computed as alertmanager does");
    assert_eq!(alert.summary, "Disk full");
    assert!(alert.links.is_empty());
    assert_eq!(alert.details, Value::Null, "null values and an empty valueString are nothing to keep");
    assert_eq!(alert.ends_at, Some(timestamp("2021-10-12T09:40:00Z")));
}

#[test]
fn what_grafana_8_0_sent_is_accepted() {
    let webhook = parse_value(&grafana_8_0()).expect("valid");
    assert_eq!(webhook.org_id, None);
    assert_eq!(webhook.alerts[0].dedup_key.as_str(), "0123456789abcdef");
    assert_eq!(webhook.alerts[0].details, Value::Null);
}

#[test]
fn only_version_status_and_alerts_are_required_and_per_alert_status_labels_and_starts_at() {
    let minimal = json!({
        "version": "1", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2026-01-01T00:00:00Z"}]
    });
    let webhook = parse_value(&minimal).expect("minimal");
    assert_eq!(webhook.truncated_alerts, 0);
    assert!(webhook.common_labels.is_empty());
    assert_eq!(webhook.alerts[0].ends_at, None);
    assert!(webhook.alerts[0].annotations.is_empty());

    let required = [
        ("/version", "version"),
        ("/status", "status"),
        ("/alerts", "alerts"),
        ("/alerts/0/status", "alerts[0].status"),
        ("/alerts/0/labels", "alerts[0].labels"),
        ("/alerts/0/startsAt", "alerts[0].startsAt"),
    ];
    for (pointer, field) in required {
        for replacement in [None, Some(Value::Null)] {
            let document = edited(&minimal, &[(pointer, replacement.clone())]);
            assert_eq!(errors_of(parse_value(&document)), one(field, "is required"), "{pointer} = {replacement:?}");
        }
    }
}

#[test]
fn every_optional_field_may_be_absent_or_null() {
    let optional = [
        "/receiver",
        "/orgId",
        "/groupKey",
        "/truncatedAlerts",
        "/groupLabels",
        "/commonLabels",
        "/commonAnnotations",
        "/externalURL",
        "/title",
        "/state",
        "/message",
        "/alerts/0/annotations",
        "/alerts/0/endsAt",
        "/alerts/0/generatorURL",
        "/alerts/0/fingerprint",
        "/alerts/0/silenceURL",
        "/alerts/0/dashboardURL",
        "/alerts/0/panelURL",
        "/alerts/0/values",
        "/alerts/0/valueString",
        "/alerts/1/imageURL",
        "/alerts/1/ruleUID",
        "/alerts/1/orgId",
    ];
    for pointer in optional {
        for replacement in [None, Some(Value::Null)] {
            let document = edited(&sample(), &[(pointer, replacement.clone())]);
            assert!(parse_value(&document).is_ok(), "{pointer} = {replacement:?}");
        }
    }
}

#[test]
fn unknown_keys_are_ignored_because_grafana_adds_fields_over_versions() {
    let document = edited(
        &sample(),
        &[
            ("/appVersion", Some(json!("12.1.0"))),
            ("/somethingNew", Some(json!({"nested": [1, 2]}))),
            ("/alerts/0/enrichments", Some(json!({"owner": "team-blue", "score": 3}))),
            ("/alerts/0/embeddedImage", Some(json!("iVBORw0KGgo="))),
            ("/alerts/0/somethingNew", Some(json!(7))),
        ],
    );
    let webhook = parse_value(&document).expect("unknown keys are ignored");
    assert_eq!(webhook.alerts[0].details["enrichments"], json!({"owner": "team-blue", "score": 3}));
    assert!(webhook.alerts[0].details.get("embeddedImage").is_none(), "screenshots are dropped");
}

#[test]
fn wrong_types_are_named_by_path() {
    let cases: [(&str, Value, &str, &str); 24] = [
        ("/version", json!(1), "version", "must be a string"),
        ("/receiver", json!(1), "receiver", "must be a string"),
        ("/status", json!(true), "status", "must be a string"),
        ("/state", json!(1), "state", "must be a string"),
        ("/title", json!([]), "title", "must be a string"),
        ("/orgId", json!("1"), "orgId", "must be a non-negative integer"),
        ("/orgId", json!(-1), "orgId", "must be a non-negative integer"),
        ("/truncatedAlerts", json!("0"), "truncatedAlerts", "must be a non-negative integer"),
        ("/groupLabels", json!([]), "groupLabels", "must be an object"),
        ("/commonLabels/team", json!(1), "commonLabels.team", "must be a string"),
        ("/alerts", json!({}), "alerts", "must be an array"),
        ("/alerts/0", json!("alert"), "alerts[0]", "must be an object"),
        ("/alerts/0/labels/team", json!(["blue"]), "alerts[0].labels.team", "must be a string"),
        ("/alerts/0/annotations", json!([]), "alerts[0].annotations", "must be an object"),
        ("/alerts/0/startsAt", json!(5), "alerts[0].startsAt", "must be a string"),
        ("/alerts/0/endsAt", json!(5), "alerts[0].endsAt", "must be a string"),
        ("/alerts/0/fingerprint", json!(5), "alerts[0].fingerprint", "must be a string"),
        ("/alerts/0/generatorURL", json!({}), "alerts[0].generatorURL", "must be a string"),
        ("/alerts/0/silenceURL", json!(1), "alerts[0].silenceURL", "must be a string"),
        ("/alerts/0/values", json!([1]), "alerts[0].values", "must be an object"),
        ("/alerts/0/valueString", json!(1), "alerts[0].valueString", "must be a string"),
        ("/alerts/1/imageURL", json!({}), "alerts[1].imageURL", "must be a string"),
        ("/alerts/1/ruleUID", json!(1), "alerts[1].ruleUID", "must be a string"),
        ("/alerts/1/orgId", json!("1"), "alerts[1].orgId", "must be a non-negative integer"),
    ];
    for (pointer, value, field, message) in cases {
        let document = edited(&sample(), &[(pointer, Some(value))]);
        assert_eq!(errors_of(parse_value(&document)), one(field, message), "{pointer}");
    }
}

#[test]
fn unacceptable_values_are_named() {
    let cases = [
        (
            "/version",
            json!("4"),
            "version",
            "unsupported version \"4\", only \"1\" is supported: version 4 is alertmanager's webhook, which alertmanager integrations accept",
        ),
        ("/version", json!("2"), "version", "unsupported version \"2\", only \"1\" is supported"),
        ("/status", json!("alerting"), "status", "must be \"firing\" or \"resolved\", not \"alerting\""),
        ("/alerts/0/status", json!("Normal"), "alerts[0].status", "must be \"firing\" or \"resolved\", not \"Normal\""),
        ("/alerts/0/startsAt", json!("yesterday"), "alerts[0].startsAt", "must be an rfc 3339 timestamp, not \"yesterday\""),
        ("/alerts/0/endsAt", json!("2021-10-12"), "alerts[0].endsAt", "must be an rfc 3339 timestamp, not \"2021-10-12\""),
    ];
    for (pointer, value, field, message) in cases {
        let document = edited(&sample(), &[(pointer, Some(value))]);
        assert_eq!(errors_of(parse_value(&document)), one(field, message), "{pointer}");
    }
    let long = edited(&sample(), &[("/alerts/0/fingerprint", Some(json!("f".repeat(256))))]);
    assert_eq!(errors_of(parse_value(&long)), one("alerts[0].fingerprint", "must be at most 255 characters"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let document =
        edited(&sample(), &[("/version", None), ("/alerts/0/labels", None), ("/alerts/1/startsAt", Some(json!("soon")))]);
    let expected = vec![
        ("version".to_string(), "is required".to_string()),
        ("alerts[0].labels".to_string(), "is required".to_string()),
        ("alerts[1].startsAt".to_string(), "must be an rfc 3339 timestamp, not \"soon\"".to_string()),
    ];
    assert_eq!(errors_of(parse_value(&document)), expected);
}

#[test]
fn fingerprint_is_used_as_sent_or_computed_when_missing_or_blank() {
    let computed = alertmanager_fingerprint(&labels(&[("alertname", "A")]));
    let cases: [(Option<Value>, &str); 4] = [
        (Some(json!("fedcba9876543210")), "fedcba9876543210"),
        (Some(json!("")), computed.as_str()),
        (Some(json!("  ")), computed.as_str()),
        (None, computed.as_str()),
    ];
    for (fingerprint, expected) in cases {
        let mut edits = vec![("/alerts/0/labels", Some(json!({"alertname": "A"})))];
        edits.push(("/alerts/0/fingerprint", fingerprint.clone()));
        let webhook = parse_value(&edited(&sample(), &edits)).expect("valid");
        assert_eq!(webhook.alerts[0].dedup_key.as_str(), expected, "fingerprint {fingerprint:?}");
    }
}

#[test]
fn summary_falls_back_from_summary_to_description_to_alertname_to_fingerprint() {
    let cases = [
        (json!({"summary": "s", "description": "d"}), json!({"alertname": "N"}), "s"),
        (json!({"summary": " ", "description": "d"}), json!({"alertname": "N"}), "d"),
        (json!({}), json!({"alertname": "N"}), "N"),
        (json!({}), json!({"team": "blue"}), "alert c6eadffa33fcdf37"),
    ];
    for (annotations, alert_labels, expected) in cases {
        let document = edited(
            &sample(),
            &[("/alerts/0/annotations", Some(annotations.clone())), ("/alerts/0/labels", Some(alert_labels.clone()))],
        );
        let webhook = parse_value(&document).expect("valid");
        assert_eq!(webhook.alerts[0].summary, expected, "annotations {annotations} labels {alert_labels}");
    }
}

#[test]
fn legacy_grafana_alerting_payloads_are_named_as_such() {
    let legacy = json!({
        "evalMatches": [{"value": 100, "metric": "High value", "tags": null}],
        "imageUrl": "http://grafana.org/assets/img/blog/mixed_styles.png",
        "message": "Someone is testing the alert notification within grafana.",
        "ruleId": 0, "ruleName": "Test notification", "ruleUrl": "http://localhost:3000/",
        "state": "alerting", "title": "[Alerting] Test notification"
    });
    let errors = errors_of(parse_value(&legacy));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "body");
    assert!(errors[0].1.starts_with("this is a legacy grafana alerting webhook"), "{}", errors[0].1);
}

#[test]
fn bodies_that_are_not_json_objects_are_rejected() {
    let errors = errors_of(parse_webhook(b"{\"version\":"));
    assert_eq!(errors[0].0, "body");
    assert!(errors[0].1.starts_with("invalid json: "), "{}", errors[0].1);
    for text in ["[]", "\"firing\"", "null"] {
        assert_eq!(errors_of(parse_webhook(text.as_bytes())), one("body", "must be an object"), "{text}");
    }
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(json!(ZERO_TIME)),
        Just(json!("firing")),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every value in `document`, addressed by JSON pointer, root first.
fn pointers(document: &Value, prefix: String, out: &mut Vec<String>) {
    out.push(prefix.clone());
    match document {
        Value::Object(fields) => {
            for (name, value) in fields {
                pointers(value, format!("{prefix}/{}", name.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                pointers(value, format!("{prefix}/{index}"), out);
            }
        }
        _ => {}
    }
}

/// What the rest of Staunch relies on in an accepted webhook.
fn check(body: &[u8]) {
    match parse_webhook(body) {
        Ok(webhook) => {
            for alert in &webhook.alerts {
                assert!(!alert.summary.is_empty(), "every alert has a summary");
                assert!(alert.dedup_key.as_str().chars().count() <= DedupKey::MAX_LEN);
                assert!(matches!(alert.action, AlertAction::Trigger | AlertAction::Resolve));
                assert_eq!(alert.format, SourceFormat::Grafana);
            }
        }
        Err(error) => assert!(!error.errors.is_empty(), "a rejection names at least one field"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&body);
    }

    #[test]
    fn value_mutations_of_valid_webhooks_never_panic(
        which in 0usize..2,
        replacements in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4),
    ) {
        let mut document = [sample(), grafana_8_0()][which].clone();
        for (index, replacement) in replacements {
            let mut all = Vec::new();
            pointers(&document, String::new(), &mut all);
            let pointer = index.get(&all).clone();
            if let Some(slot) = document.pointer_mut(&pointer) {
                *slot = replacement;
            }
        }
        check(&serde_json::to_vec(&document).expect("serializable"));
    }

    #[test]
    fn byte_mutations_of_valid_webhooks_never_panic(
        which in 0usize..2,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = serde_json::to_vec(&[sample(), grafana_8_0()][which]).expect("serializable");
        for (index, byte) in edits {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        check(&bytes);
    }
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    let depth = 100_000;
    let mut nested = b"{\"version\":\"1\",\"alerts\":".to_vec();
    nested.extend(std::iter::repeat_n(b'[', depth));
    nested.extend(std::iter::repeat_n(b']', depth));
    nested.push(b'}');
    check(&nested);
}
