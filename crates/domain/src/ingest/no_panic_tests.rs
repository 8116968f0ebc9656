//! Property tests: no ingest parser panics, whatever the bytes. Complements the cargo-fuzz
//! targets in `fuzz/`, which run the same parsers far longer.

use super::alertmanager::parse_webhook;
use super::pagerduty::{parse_change_event, parse_event};
use proptest::prelude::*;
use serde_json::{Value, json};

fn valid_documents() -> Vec<Value> {
    vec![
        json!({
            "receiver": "r", "status": "firing", "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "groupLabels": {}, "commonLabels": {"alertname": "A"}, "commonAnnotations": {}, "externalURL": "http://am.test",
            "alerts": [{
                "status": "firing", "labels": {"alertname": "A"}, "annotations": {"summary": "s"},
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "0000000000000000"
            }]
        }),
        json!({
            "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "s", "source": "h", "severity": "info", "timestamp": "2026-01-01T00:00:00+0000", "custom_details": {"a": 1}},
            "images": [{"src": "https://i.test/a.png"}], "links": [{"href": "https://l.test", "text": "t"}], "client": "c", "client_url": "https://c.test"
        }),
        json!({
            "routing_key": "e93facc04764012d7bfb002500d5d1a6",
            "payload": {"summary": "deployed", "source": "ci", "timestamp": "2026-01-01T00:00:00Z"},
            "links": [{"href": "https://ci.test"}]
        }),
    ]
}

fn run_every_parser(body: &[u8]) {
    let _ = parse_webhook(body);
    let _ = parse_event(body);
    let _ = parse_change_event(body);
    for event in ["push", "deployment_status", "pull_request"] {
        let _ = crate::ingest::github::parse_delivery(event, body);
    }
    let _ = crate::ingest::slack::parse_command(&String::from_utf8_lossy(body));
    let limits = crate::ingest::telemetry::BatchLimits::default();
    let times = crate::ingest::telemetry::AcceptedTimes { not_before: jiff::Timestamp::MIN, not_after: jiff::Timestamp::MAX };
    let _ = crate::ingest::telemetry::parse_log_batch(body, &limits, &times);
    let _ = crate::ingest::telemetry::parse_span_batch(body, &limits, &times);
    let _ = crate::ingest::telemetry::parse_metric_batch(body, &limits, &times);
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(json!("0001-01-01T00:00:00Z")),
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
            for (key, value) in fields {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(value, format!("{prefix}/{escaped}"), out);
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

#[derive(Debug, Clone)]
enum ByteEdit {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Replace(at, byte)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        (any::<usize>(), 1usize..16).prop_map(|(at, length)| ByteEdit::Delete(at, length)),
    ]
}

fn apply_byte_edit(body: &mut Vec<u8>, edit: &ByteEdit) {
    let length = body.len();
    match edit {
        ByteEdit::Replace(at, byte) if length > 0 => body[at % length] = *byte,
        ByteEdit::Replace(..) => {}
        ByteEdit::Insert(at, bytes) => {
            let at = at % (length + 1);
            body.splice(at..at, bytes.iter().copied());
        }
        ByteEdit::Delete(at, count) if length > 0 => {
            let start = at % length;
            let end = (start + count).min(length);
            body.drain(start..end);
        }
        ByteEdit::Delete(..) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        run_every_parser(&body);
    }

    #[test]
    fn byte_mutations_of_valid_documents_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec(byte_edit(), 1..6),
    ) {
        let document = &valid_documents()[which];
        let mut body = serde_json::to_vec(document).expect("serializable");
        for edit in &edits {
            apply_byte_edit(&mut body, edit);
        }
        run_every_parser(&body);
    }

    #[test]
    fn value_mutations_of_valid_documents_never_panic(
        which in 0usize..3,
        replacements in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4),
    ) {
        let mut document = valid_documents()[which].clone();
        for (index, replacement) in replacements {
            let mut all = Vec::new();
            pointers(&document, String::new(), &mut all);
            let pointer = index.get(&all).clone();
            if let Some(slot) = document.pointer_mut(&pointer) {
                *slot = replacement;
            }
        }
        let body = serde_json::to_vec(&document).expect("serializable");
        run_every_parser(&body);
    }

    #[test]
    fn valid_documents_with_a_field_removed_never_panic(which in 0usize..3, index in any::<prop::sample::Index>()) {
        let mut document = valid_documents()[which].clone();
        let mut all = Vec::new();
        pointers(&document, String::new(), &mut all);
        let pointer = index.get(&all).clone();
        if let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(Value::Object(fields)) = document.pointer_mut(parent)
        {
            fields.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        let body = serde_json::to_vec(&document).expect("serializable");
        run_every_parser(&body);
    }
}

#[test]
fn the_seed_documents_are_valid() {
    let documents = valid_documents();
    assert!(parse_webhook(&serde_json::to_vec(&documents[0]).expect("json")).is_ok());
    assert!(parse_event(&serde_json::to_vec(&documents[1]).expect("json")).is_ok());
    assert!(parse_change_event(&serde_json::to_vec(&documents[2]).expect("json")).is_ok());
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    let depth = 100_000;
    let mut body = Vec::with_capacity(depth * 2 + 64);
    body.extend_from_slice(b"{\"routing_key\":\"e93facc04764012d7bfb002500d5d1a6\",\"event_action\":\"trigger\",\"custom\":");
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.push(b'}');
    run_every_parser(&body);
}
