use super::*;
use serde_json::json;

const ROUTING_KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

/// The trigger example from PagerDuty's developer docs, with a real-length routing key.
fn trigger() -> Value {
    json!({
        "payload": {
            "summary": "Example alert on host1.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
            "severity": "info",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75}
        },
        "routing_key": ROUTING_KEY,
        "dedup_key": "samplekeyhere",
        "images": [{"src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png", "href": "https://example.com/", "alt": "Example text"}],
        "links": [{"href": "https://example.com/", "text": "Link text"}],
        "event_action": "trigger",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com"
    })
}

/// The change event example from PagerDuty's developer docs.
fn change() -> Value {
    json!({
        "routing_key": ROUTING_KEY,
        "payload": {
            "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
            "timestamp": "2020-07-17T08:42:58.315+0000",
            "source": "acme-build-pipeline-tool-default-i-9999",
            "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
        },
        "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]
    })
}

/// (case name, edits to the example, expected `errors`).
type InvalidCase = (&'static str, Vec<(&'static str, Option<Value>)>, Vec<&'static str>);

fn parse_event_value(document: &Value) -> Result<EventsV2Event, InvalidEvent> {
    parse_event(&serde_json::to_vec(document).expect("serializable"))
}

fn parse_change_value(document: &Value) -> Result<ChangeEvent, InvalidEvent> {
    parse_change_event(&serde_json::to_vec(document).expect("serializable"))
}

fn timestamp(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn key(text: &str) -> DedupKey {
    DedupKey::parse(text).expect("test dedup key")
}

/// Applies `edits` (JSON pointer → new value, `None` removes) to a copy of `document`.
fn edited(document: &Value, edits: &[(&str, Option<Value>)]) -> Value {
    let mut document = document.clone();
    for (pointer, replacement) in edits {
        let (parent, name) = pointer.rsplit_once('/').expect("pointer with a parent");
        let fields = document.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent object");
        match replacement {
            Some(value) => fields.insert(name.to_string(), value.clone()),
            None => fields.remove(name),
        };
    }
    document
}

fn errors(result: Result<impl std::fmt::Debug, InvalidEvent>) -> Vec<String> {
    match result {
        Ok(parsed) => panic!("expected an invalid event, parsed {parsed:#?}"),
        Err(invalid) => {
            assert_eq!(invalid.message, "Event object is invalid");
            assert_eq!(invalid.status(), "invalid event");
            invalid.errors
        }
    }
}

#[test]
fn parses_the_documented_trigger_example() {
    let event = parse_event_value(&trigger()).expect("valid");
    assert_eq!(event.routing_key, ROUTING_KEY);
    assert_eq!(event.action, AlertAction::Trigger);
    assert_eq!(event.dedup_key, Some(key("samplekeyhere")));
    assert_eq!(event.client.as_deref(), Some("Sample Monitoring Service"));
    assert_eq!(event.client_url.as_deref(), Some("https://monitoring.example.com"));
    let payload = event.payload.as_ref().expect("payload");
    assert_eq!(payload.summary, "Example alert on host1.example.com");
    assert_eq!(payload.severity, Severity::Sev3);
    assert_eq!(payload.timestamp, Some(timestamp("2015-07-17T08:42:58.315Z")));
    assert_eq!(payload.component.as_deref(), Some("postgres"));
    assert_eq!(payload.custom_details, json!({"ping time": "1500ms", "load avg": 0.75}));
    assert_eq!(event.images.len(), 1);
    assert_eq!(event.links, vec![AlertLink { href: "https://example.com/".into(), text: Some("Link text".into()) }]);
}

#[test]
fn a_trigger_becomes_an_alert_event_with_labels_details_and_links() {
    let event = parse_event_value(&trigger()).expect("valid");
    let alert = event.into_alert_event(key("generated-but-unused"));
    assert_eq!(alert.action, AlertAction::Trigger);
    assert_eq!(alert.dedup_key, key("samplekeyhere"), "the sender's key wins");
    assert_eq!(alert.summary, "Example alert on host1.example.com");
    assert_eq!(alert.severity, Severity::Sev3);
    let expected_labels = Labels::from([
        (
            "source".to_string(),
            "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003".to_string(),
        ),
        ("component".to_string(), "postgres".to_string()),
        ("group".to_string(), "prod-datapipe".to_string()),
        ("class".to_string(), "deploy".to_string()),
    ]);
    assert_eq!(alert.labels, expected_labels);
    assert!(alert.annotations.is_empty());
    assert_eq!(alert.details, json!({"ping time": "1500ms", "load avg": 0.75}));
    assert_eq!(
        alert.links,
        vec![
            AlertLink { href: "https://example.com/".into(), text: Some("Link text".into()) },
            AlertLink { href: "https://monitoring.example.com".into(), text: Some("Sample Monitoring Service".into()) },
        ]
    );
    assert_eq!(
        alert.images,
        vec![AlertImage {
            src: "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png".into(),
            href: Some("https://example.com/".into()),
            alt: Some("Example text".into()),
        }]
    );
    assert_eq!(alert.starts_at, Some(timestamp("2015-07-17T08:42:58.315Z")));
    assert_eq!(alert.ends_at, None);
    assert_eq!(alert.format, SourceFormat::EventsV2);
}

#[test]
fn dedup_key_rules() {
    struct Case {
        name: &'static str,
        action: &'static str,
        dedup_key: Option<Value>,
        expected: Result<Option<&'static str>, &'static str>,
    }
    let cases = [
        Case { name: "trigger without key", action: "trigger", dedup_key: None, expected: Ok(None) },
        Case { name: "trigger with null key", action: "trigger", dedup_key: Some(Value::Null), expected: Ok(None) },
        Case { name: "trigger with empty key", action: "trigger", dedup_key: Some(json!("")), expected: Ok(None) },
        Case { name: "trigger with blank key", action: "trigger", dedup_key: Some(json!("  ")), expected: Ok(None) },
        Case {
            name: "trigger with key",
            action: "trigger",
            dedup_key: Some(json!("srv01/mysql")),
            expected: Ok(Some("srv01/mysql")),
        },
        Case { name: "acknowledge with key", action: "acknowledge", dedup_key: Some(json!("k")), expected: Ok(Some("k")) },
        Case { name: "resolve with key", action: "resolve", dedup_key: Some(json!("k")), expected: Ok(Some("k")) },
        Case {
            name: "acknowledge without key",
            action: "acknowledge",
            dedup_key: None,
            expected: Err("'dedup_key' is missing or blank"),
        },
        Case {
            name: "resolve without key",
            action: "resolve",
            dedup_key: None,
            expected: Err("'dedup_key' is missing or blank"),
        },
        Case {
            name: "resolve with empty key",
            action: "resolve",
            dedup_key: Some(json!("")),
            expected: Err("'dedup_key' is missing or blank"),
        },
        Case {
            name: "resolve with null key",
            action: "resolve",
            dedup_key: Some(Value::Null),
            expected: Err("'dedup_key' is missing or blank"),
        },
        Case {
            name: "numeric key",
            action: "trigger",
            dedup_key: Some(json!(42)),
            expected: Err("'dedup_key' is invalid (must be a string)"),
        },
        Case { name: "255 characters", action: "resolve", dedup_key: Some(json!("k".repeat(255))), expected: Ok(Some("255")) },
        Case {
            name: "256 characters",
            action: "trigger",
            dedup_key: Some(json!("k".repeat(256))),
            expected: Err("Length of 'dedup_key' is incorrect (should be at most 255 characters)"),
        },
        Case {
            name: "255 two-byte characters: the limit counts characters, as PagerDuty's does",
            action: "trigger",
            dedup_key: Some(json!("é".repeat(255))),
            expected: Ok(Some("é255")),
        },
    ];
    for case in cases {
        let mut document = json!({"routing_key": ROUTING_KEY, "event_action": case.action});
        if case.action == "trigger" {
            document["payload"] = json!({"summary": "s", "source": "h", "severity": "error"});
        }
        if let Some(dedup_key) = &case.dedup_key {
            document["dedup_key"] = dedup_key.clone();
        }
        let result = parse_event_value(&document);
        match case.expected {
            Ok(Some("255")) => assert_eq!(result.expect(case.name).dedup_key, Some(key(&"k".repeat(255))), "{}", case.name),
            Ok(Some("é255")) => assert_eq!(result.expect(case.name).dedup_key, Some(key(&"é".repeat(255))), "{}", case.name),
            Ok(expected) => assert_eq!(result.expect(case.name).dedup_key, expected.map(key), "{}", case.name),
            Err(message) => assert_eq!(errors(result), vec![message.to_string()], "{}", case.name),
        }
    }
}

#[test]
fn a_trigger_without_a_key_takes_the_generated_one() {
    let document = edited(&trigger(), &[("/dedup_key", None)]);
    let event = parse_event_value(&document).expect("valid");
    assert_eq!(event.dedup_key, None);
    assert_eq!(event.into_alert_event(key("generated")).dedup_key, key("generated"));
}

#[test]
fn acknowledge_and_resolve_need_only_the_dedup_key() {
    for (action, expected) in [("acknowledge", AlertAction::Acknowledge), ("resolve", AlertAction::Resolve)] {
        let document = json!({"routing_key": ROUTING_KEY, "dedup_key": "srv01/mysql", "event_action": action});
        let event = parse_event_value(&document).expect(action);
        assert_eq!(event.payload, None);
        let alert = event.into_alert_event(key("unused"));
        assert_eq!(alert.action, expected);
        assert_eq!(alert.dedup_key, key("srv01/mysql"));
        assert_eq!(alert.summary, "");
        assert!(alert.labels.is_empty());
        assert_eq!(alert.details, Value::Null);
    }
}

#[test]
fn a_follow_up_payload_is_kept_when_complete_dropped_when_not_and_still_type_checked() {
    let base = json!({"routing_key": ROUTING_KEY, "dedup_key": "k", "event_action": "resolve"});

    // Alertmanager sends the full payload with resolves too.
    let complete = edited(
        &base,
        &[(
            "/payload",
            Some(json!({"summary": "s", "source": "h", "severity": "critical", "timestamp": "2026-01-01T00:00:00Z"})),
        )],
    );
    let event = parse_event_value(&complete).expect("complete payload");
    let alert = event.into_alert_event(key("unused"));
    assert_eq!(alert.summary, "s");
    assert_eq!(alert.severity, Severity::Sev1);
    assert_eq!(alert.starts_at, None);
    assert_eq!(alert.ends_at, Some(timestamp("2026-01-01T00:00:00Z")), "a resolve's timestamp is when it ended");

    let partial_cases = [json!({}), json!({"summary": "s"}), json!({"summary": "s", "source": "h", "severity": "none"})];
    for payload in partial_cases {
        let document = edited(&base, &[("/payload", Some(payload.clone()))]);
        assert_eq!(parse_event_value(&document).expect("partial payload").payload, None, "payload {payload}");
    }

    let structural_cases = [
        (json!("text"), "'payload' is invalid (must be an object)"),
        (json!({"summary": 3}), "'payload.summary' is invalid (must be a string)"),
        (json!({"summary": "s", "sevrity": "info"}), "'payload.sevrity' is not a recognized field"),
    ];
    for (payload, message) in structural_cases {
        let document = edited(&base, &[("/payload", Some(payload.clone()))]);
        assert_eq!(errors(parse_event_value(&document)), vec![message.to_string()], "payload {payload}");
    }
}

#[test]
fn invalid_events_are_rejected_with_pagerduty_wording() {
    let cases: Vec<InvalidCase> = vec![
        ("routing_key missing", vec![("/routing_key", None)], vec!["'routing_key' cannot be blank"]),
        ("routing_key empty", vec![("/routing_key", Some(json!("")))], vec!["'routing_key' cannot be blank"]),
        ("routing_key null", vec![("/routing_key", Some(Value::Null))], vec!["'routing_key' cannot be blank"]),
        (
            "routing_key too short",
            vec![("/routing_key", Some(json!("samplekeyhere")))],
            vec!["Length of 'routing_key' is incorrect (should be 32 characters)"],
        ),
        (
            "routing_key too long",
            vec![("/routing_key", Some(json!(format!("{ROUTING_KEY}0"))))],
            vec!["Length of 'routing_key' is incorrect (should be 32 characters)"],
        ),
        ("routing_key number", vec![("/routing_key", Some(json!(12345)))], vec!["'routing_key' is invalid (must be a string)"]),
        ("event_action missing", vec![("/event_action", None)], vec!["'event_action' is missing or blank"]),
        ("event_action blank", vec![("/event_action", Some(json!(" ")))], vec!["'event_action' is missing or blank"]),
        (
            "event_action unknown",
            vec![("/event_action", Some(json!("Trigger")))],
            vec!["'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"],
        ),
        (
            "event_action not a string",
            vec![("/event_action", Some(json!(["trigger"])))],
            vec!["'event_action' is invalid (must be a string)"],
        ),
        (
            "trigger without payload",
            vec![("/payload", None)],
            vec![
                "'payload.summary' is missing or blank",
                "'payload.source' is missing or blank",
                "'payload.severity' is missing or blank",
            ],
        ),
        ("payload not an object", vec![("/payload", Some(json!([])))], vec!["'payload' is invalid (must be an object)"]),
        ("summary missing", vec![("/payload/summary", None)], vec!["'payload.summary' is missing or blank"]),
        ("summary blank", vec![("/payload/summary", Some(json!(" \n\t")))], vec!["'payload.summary' is missing or blank"]),
        (
            "summary not a string",
            vec![("/payload/summary", Some(json!({"text": "x"})))],
            vec!["'payload.summary' is invalid (must be a string)"],
        ),
        ("source missing", vec![("/payload/source", None)], vec!["'payload.source' is missing or blank"]),
        ("source empty", vec![("/payload/source", Some(json!("")))], vec!["'payload.source' is missing or blank"]),
        ("severity missing", vec![("/payload/severity", None)], vec!["'payload.severity' is missing or blank"]),
        (
            "severity uppercase",
            vec![("/payload/severity", Some(json!("CRITICAL")))],
            vec!["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"],
        ),
        (
            "severity none",
            vec![("/payload/severity", Some(json!("none")))],
            vec!["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"],
        ),
        (
            "timestamp not a time",
            vec![("/payload/timestamp", Some(json!("yesterday")))],
            vec!["'payload.timestamp' is invalid (must be an ISO 8601 date and time)"],
        ),
        (
            "timestamp with unpadded hour",
            vec![("/payload/timestamp", Some(json!("2021-05-31T5:01:02Z")))],
            vec!["'payload.timestamp' is invalid (must be an ISO 8601 date and time)"],
        ),
        (
            "timestamp number",
            vec![("/payload/timestamp", Some(json!(1_700_000_000)))],
            vec!["'payload.timestamp' is invalid (must be a string)"],
        ),
        (
            "component number",
            vec![("/payload/component", Some(json!(1)))],
            vec!["'payload.component' is invalid (must be a string)"],
        ),
        ("unknown top-level key", vec![("/dedupkey", Some(json!("x")))], vec!["'dedupkey' is not a recognized field"]),
        ("v1 key", vec![("/service_key", Some(json!(ROUTING_KEY)))], vec!["'service_key' is not a recognized field"]),
        ("unknown payload key", vec![("/payload/details", Some(json!({})))], vec!["'payload.details' is not a recognized field"]),
        ("images not an array", vec![("/images", Some(json!({"src": "x"})))], vec!["'images' is invalid (must be an array)"]),
        (
            "image not an object",
            vec![("/images", Some(json!(["https://x.test/a.png"])))],
            vec!["'images[0]' is invalid (must be an object)"],
        ),
        ("image without src", vec![("/images", Some(json!([{"alt": "a"}])))], vec!["'images[0].src' is missing or blank"]),
        (
            "image with unknown key",
            vec![("/images", Some(json!([{"src": "s", "width": 3}])))],
            vec!["'images[0].width' is not a recognized field"],
        ),
        (
            "link without href",
            vec![("/links", Some(json!([{"href": "h"}, {"text": "t"}])))],
            vec!["'links[1].href' is missing or blank"],
        ),
        (
            "link text not a string",
            vec![("/links", Some(json!([{"href": "h", "text": 1}])))],
            vec!["'links[0].text' is invalid (must be a string)"],
        ),
        ("client not a string", vec![("/client", Some(json!(true)))], vec!["'client' is invalid (must be a string)"]),
        (
            "every error at once, in reading order",
            vec![
                ("/routing_key", None),
                ("/event_action", Some(json!("fire"))),
                ("/payload/severity", Some(json!("high"))),
                ("/links", Some(json!([{}]))),
                ("/extra", Some(json!(1))),
            ],
            vec![
                "'routing_key' cannot be blank",
                "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
                "'links[0].href' is missing or blank",
                "'extra' is not a recognized field",
            ],
        ),
    ];
    for (name, edits, expected) in cases {
        let document = edited(&trigger(), &edits);
        let expected: Vec<String> = expected.into_iter().map(String::from).collect();
        assert_eq!(errors(parse_event_value(&document)), expected, "case: {name}");
    }
}

#[test]
fn an_unknown_action_hides_only_payload_rules_that_depend_on_it() {
    // With the action unknown, the payload could belong to a follow-up, so only type errors
    // in it are reported (here: none; the invalid severity is not).
    let document = edited(&trigger(), &[("/event_action", Some(json!("fire"))), ("/payload/severity", Some(json!("high")))]);
    assert_eq!(
        errors(parse_event_value(&document)),
        vec!["'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')".to_string()]
    );
}

#[test]
fn summaries_are_trimmed_and_truncated_to_1024_characters() {
    let cases = [
        ("short".to_string(), "short".to_string()),
        ("  padded\n".to_string(), "padded".to_string()),
        ("x".repeat(1024), "x".repeat(1024)),
        ("x".repeat(1025), "x".repeat(1024)),
        ("y".repeat(5000), "y".repeat(1024)),
        ("é".repeat(1500), "é".repeat(1024)),
        ("🔥".repeat(1100), "🔥".repeat(1024)),
        (format!("{}{}", " ".repeat(10), "z".repeat(1030)), "z".repeat(1024)),
    ];
    for (sent, expected) in cases {
        let document = edited(&trigger(), &[("/payload/summary", Some(json!(sent)))]);
        let event = parse_event_value(&document).expect("valid");
        let summary = event.payload.expect("payload").summary;
        assert_eq!(summary.chars().count(), expected.chars().count());
        assert_eq!(summary, expected);

        let change = edited(&change(), &[("/payload/summary", Some(json!(sent)))]);
        assert_eq!(parse_change_value(&change).expect("valid change").payload.summary, expected);
    }
}

#[test]
fn timestamps_accept_iso8601_forms_senders_use() {
    let cases = [
        ("2015-07-17T08:42:58.315+0000", "2015-07-17T08:42:58.315Z"),
        ("2015-07-17T08:42:58.315+00:00", "2015-07-17T08:42:58.315Z"),
        ("2015-07-17T08:42:58Z", "2015-07-17T08:42:58Z"),
        ("2015-07-17T10:42:58+02:00", "2015-07-17T08:42:58Z"),
        ("2015-07-17T14:12:58+0530", "2015-07-17T08:42:58Z"),
        ("2015-07-17T08:42:58.123456Z", "2015-07-17T08:42:58.123456Z"),
        ("2015-07-17 08:42:58Z", "2015-07-17T08:42:58Z"),
        // Naive times (Python's datetime.utcnow().isoformat()) are read as UTC.
        ("2015-07-17T08:42:58.123456", "2015-07-17T08:42:58.123456Z"),
        ("2015-07-17T08:42:58", "2015-07-17T08:42:58Z"),
    ];
    for (sent, expected) in cases {
        let document = edited(&trigger(), &[("/payload/timestamp", Some(json!(sent)))]);
        let event = parse_event_value(&document).unwrap_or_else(|error| panic!("{sent}: {error}"));
        assert_eq!(event.payload.expect("payload").timestamp, Some(timestamp(expected)), "{sent}");
    }
    for absent in [None, Some(Value::Null), Some(json!("")), Some(json!("  "))] {
        let document = edited(&trigger(), &[("/payload/timestamp", absent.clone())]);
        assert_eq!(parse_event_value(&document).expect("valid").payload.expect("payload").timestamp, None, "{absent:?}");
    }
}

#[test]
fn custom_details_may_be_any_json() {
    let cases = [json!({"a": [1, 2, {"b": null}]}), json!("a plain string"), json!(42), json!([1, "two"]), json!(true)];
    for details in cases {
        let document = edited(&trigger(), &[("/payload/custom_details", Some(details.clone()))]);
        let alert = parse_event_value(&document).expect("valid").into_alert_event(key("unused"));
        assert_eq!(alert.details, details);
    }
    let without = edited(&trigger(), &[("/payload/custom_details", None)]);
    assert_eq!(parse_event_value(&without).expect("valid").into_alert_event(key("unused")).details, Value::Null);
}

#[test]
fn empty_and_null_optional_fields_count_as_absent() {
    // Go senders (Alertmanager, go-pagerduty) fill unset strings with "" and unset lists with
    // null or []; Python senders send None.
    let document = edited(
        &trigger(),
        &[
            ("/client", Some(json!(""))),
            ("/client_url", Some(Value::Null)),
            ("/images", Some(json!([]))),
            ("/links", Some(Value::Null)),
            ("/payload/component", Some(json!(""))),
            ("/payload/group", Some(Value::Null)),
            ("/payload/class", Some(json!(""))),
        ],
    );
    let event = parse_event_value(&document).expect("valid");
    assert_eq!((event.client.clone(), event.client_url.clone()), (None, None));
    let alert = event.into_alert_event(key("unused"));
    assert!(alert.images.is_empty() && alert.links.is_empty());
    assert_eq!(alert.labels.keys().collect::<Vec<_>>(), vec!["source"]);
}

#[test]
fn what_alertmanager_sends_is_accepted() {
    // Shape of Alertmanager's notify/pagerduty `pagerDutyMessage` for an Events v2 config:
    // empty optional strings, image alt/href and link text always present.
    let document = json!({
        "routing_key": ROUTING_KEY,
        "dedup_key": "9c1a5a3cd6dc93d6c0b0a4d3c1df3a48b8e79c0fe7ba6ae15b5d5aac6a6bd46d",
        "event_action": "trigger",
        "payload": {
            "summary": "[FIRING:1] HighErrorRate checkout",
            "source": "Alertmanager",
            "severity": "critical",
            "class": "",
            "custom_details": {"firing": "Labels:\n - alertname = HighErrorRate\n", "num_firing": "1", "num_resolved": "0", "resolved": ""}
        },
        "client": "Alertmanager",
        "client_url": "http://alertmanager.test:9093/#/alerts?receiver=pd",
        "images": [{"src": "https://grafana.test/render.png", "alt": "", "href": ""}],
        "links": [{"href": "https://runbooks.test/checkout", "text": ""}]
    });
    let event = parse_event_value(&document).expect("valid");
    assert_eq!(event.images, vec![AlertImage { src: "https://grafana.test/render.png".into(), href: None, alt: None }]);
    assert_eq!(event.links, vec![AlertLink { href: "https://runbooks.test/checkout".into(), text: None }]);
    let resolve = edited(&document, &[("/event_action", Some(json!("resolve")))]);
    assert_eq!(parse_event_value(&resolve).expect("valid resolve").action, AlertAction::Resolve);
}

#[test]
fn bodies_that_are_not_json_objects_are_unrecognized() {
    let cases: [(&[u8], &str); 5] = [
        (b"", "JSON parse error"),
        (b"{\"routing_key\":", "JSON parse error"),
        (b"\xff", "JSON parse error"),
        (b"[]", "Event object must be a JSON object"),
        (b"null", "Event object must be a JSON object"),
    ];
    for (body, error) in cases {
        for invalid in [parse_event(body).expect_err("alert event"), parse_change_event(body).expect_err("change event")] {
            assert_eq!(invalid.message, "Event object format is unrecognized", "body {body:?}");
            assert_eq!(invalid.status(), "Unrecognized object");
            assert_eq!(invalid.errors, vec![error.to_string()], "body {body:?}");
        }
    }
}

#[test]
fn display_is_lowercase_prefixed_and_lists_every_error() {
    let document = edited(&trigger(), &[("/routing_key", None), ("/payload/source", None)]);
    let invalid = parse_event_value(&document).expect_err("invalid");
    assert_eq!(
        invalid.to_string(),
        "invalid pagerduty event: 'routing_key' cannot be blank; 'payload.source' is missing or blank"
    );
}

#[test]
fn parses_the_documented_change_event_example() {
    let event = parse_change_value(&change()).expect("valid");
    assert_eq!(event.routing_key, ROUTING_KEY);
    assert_eq!(event.payload.summary, "Build Success: Increase snapshot create timeout to 30 seconds");
    assert_eq!(event.payload.source.as_deref(), Some("acme-build-pipeline-tool-default-i-9999"));
    assert_eq!(event.payload.timestamp, Some(timestamp("2020-07-17T08:42:58.315Z")));
    assert_eq!(event.payload.custom_details["build_number"], json!("2"));
    assert_eq!(
        event.links,
        vec![AlertLink { href: "https://acme.pagerduty.dev/build/2".into(), text: Some("View more details in Acme!".into()) }]
    );
    assert!(event.images.is_empty());
}

#[test]
fn minimal_change_events_as_pdpyras_and_go_pagerduty_send_them() {
    let cases = [
        json!({"routing_key": ROUTING_KEY, "payload": {"summary": "deployed v2", "timestamp": "2024-05-01T12:00:00.123456Z"}}),
        json!({"routing_key": ROUTING_KEY, "payload": {"summary": "deployed v2", "source": "ci", "custom_details": {"sha": "abc"}}}),
        json!({"routing_key": ROUTING_KEY, "payload": {"summary": "deployed v2"}, "links": [{"href": "https://ci.test/1"}], "images": [{"src": "https://ci.test/1.png"}]}),
    ];
    for document in cases {
        let event = parse_change_value(&document).unwrap_or_else(|error| panic!("{document}: {error}"));
        assert_eq!(event.payload.summary, "deployed v2");
    }
}

#[test]
fn invalid_change_events_are_rejected() {
    let cases: Vec<InvalidCase> = vec![
        ("routing_key missing", vec![("/routing_key", None)], vec!["'routing_key' cannot be blank"]),
        (
            "routing_key wrong length",
            vec![("/routing_key", Some(json!("samplekeyhere")))],
            vec!["Length of 'routing_key' is incorrect (should be 32 characters)"],
        ),
        ("payload missing", vec![("/payload", None)], vec!["'payload.summary' is missing or blank"]),
        ("payload not an object", vec![("/payload", Some(json!("deployed")))], vec!["'payload' is invalid (must be an object)"]),
        ("summary missing", vec![("/payload/summary", None)], vec!["'payload.summary' is missing or blank"]),
        ("summary blank", vec![("/payload/summary", Some(json!("")))], vec!["'payload.summary' is missing or blank"]),
        (
            "source not a string",
            vec![("/payload/source", Some(json!(7)))],
            vec!["'payload.source' is invalid (must be a string)"],
        ),
        (
            "bad timestamp",
            vec![("/payload/timestamp", Some(json!("2020-13-01T00:00:00Z")))],
            vec!["'payload.timestamp' is invalid (must be an ISO 8601 date and time)"],
        ),
        (
            "alert-only payload key",
            vec![("/payload/severity", Some(json!("info")))],
            vec!["'payload.severity' is not a recognized field"],
        ),
        (
            "alert-only top-level key",
            vec![("/event_action", Some(json!("trigger")))],
            vec!["'event_action' is not a recognized field"],
        ),
        ("link without href", vec![("/links", Some(json!([{"text": "t"}])))], vec!["'links[0].href' is missing or blank"]),
    ];
    for (name, edits, expected) in cases {
        let document = edited(&change(), &edits);
        let expected: Vec<String> = expected.into_iter().map(String::from).collect();
        assert_eq!(errors(parse_change_value(&document)), expected, "case: {name}");
    }
}
