use super::*;
use proptest::prelude::*;
use serde_json::json;

/// The create request example of Opsgenie's Alert API documentation.
fn documented_create() -> Value {
    json!({
        "message": "An example alert message",
        "alias": "Life is too short for no alias",
        "description": "Every alert needs a description",
        "responders": [
            {"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"},
            {"name": "NOC", "type": "team"},
            {"username": "trinity@opsgenie.com", "type": "user"},
            {"name": "Nightwatch Escalation", "type": "escalation"},
            {"name": "First Responders Schedule", "type": "schedule"}
        ],
        "visibleTo": [
            {"name": "rocket_team", "type": "team"},
            {"id": "bb4d9938-c3c2-455d-aaab-727aa701c0d8", "type": "user"}
        ],
        "actions": ["Restart", "AnExampleAction"],
        "tags": ["OverwriteQuietHours", "Critical"],
        "details": {"key1": "value1", "key2": "value2"},
        "entity": "An example entity",
        "priority": "P1",
        "user": "Monitoring Script",
        "note": "Alert created"
    })
}

/// What Alertmanager 0.25's `opsgenie_configs` sends for a firing group with the default
/// templates plus `priority`, `tags` and a responder (see notify/opsgenie/opsgenie.go).
fn alertmanager_create() -> Value {
    json!({
        "alias": "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
        "message": "[FIRING:1] DiskFull db-1 (critical)",
        "description": "disk is full\n\nAlerts Firing:\nLabels:\n - alertname = DiskFull\n",
        "details": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
        "source": "http://alertmanager.test:9093",
        "responders": [{"name": "sre", "type": "team"}],
        "tags": ["prod", "db"],
        "priority": "P2"
    })
}

/// What Grafana's Opsgenie contact point sends (receivers/opsgenie/v1 in grafana/alerting).
fn grafana_create() -> Value {
    json!({
        "alias": "d94fd7d7e1e4a5c1ba8e5dce13f28e34bd7bc54ad7c75e5f1d4b1ce26dc2a0fd",
        "message": "[FIRING:1] HighLatency Checkout",
        "description": "[FIRING:1] HighLatency Checkout\nhttp://grafana.test/alerting/list\n\nValue: A=1.7",
        "details": {"url": "http://grafana.test/alerting/list", "alertname": "HighLatency", "grafana_folder": "Checkout"},
        "source": "Grafana",
        "tags": ["alertname:HighLatency", "grafana_folder:Checkout"]
    })
}

fn body(document: &Value) -> Vec<u8> {
    serde_json::to_vec(document).expect("serializable")
}

fn create(document: &Value) -> Result<CreateAlertRequest, OpsgenieError> {
    parse_create_alert(&body(document))
}

fn key(text: &str) -> DedupKey {
    DedupKey::parse(text).expect("test dedup key")
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

/// The (field, message) pairs of a 422.
type FieldErrors = Vec<(String, String)>;

fn field_errors<T: std::fmt::Debug>(result: Result<T, OpsgenieError>) -> FieldErrors {
    match result {
        Ok(parsed) => panic!("expected a rejection, parsed {parsed:#?}"),
        Err(OpsgenieError::NotJson(message)) => panic!("expected a 422, got not-json: {message}"),
        Err(OpsgenieError::Invalid(error)) => error.errors.into_iter().map(|error| (error.field, error.message)).collect(),
    }
}

fn one(field: &str, message: &str) -> FieldErrors {
    vec![(field.to_string(), message.to_string())]
}

#[test]
fn parses_the_documented_create_request() {
    let request = create(&documented_create()).expect("valid");
    assert_eq!(request.message, "An example alert message");
    assert_eq!(request.alias, Some(key("Life is too short for no alias")));
    assert_eq!(request.priority, Priority::P1);
    assert_eq!(request.responders.len(), 5);
    assert_eq!(
        request.responders[2],
        Responder { kind: Some("user".into()), id: None, name: None, username: Some("trinity@opsgenie.com".into()) }
    );
    assert_eq!(request.visible_to.len(), 2);
    assert_eq!(request.actions, ["Restart", "AnExampleAction"]);
    assert_eq!(request.tags, ["OverwriteQuietHours", "Critical"]);
    assert_eq!(request.details, labels(&[("key1", "value1"), ("key2", "value2")]));
    assert_eq!(request.user.as_deref(), Some("Monitoring Script"));
    assert_eq!(request.note.as_deref(), Some("Alert created"));
}

#[test]
fn a_create_request_becomes_a_trigger_with_labels_annotations_and_details() {
    let alert = create(&documented_create()).expect("valid").into_alert_event(key("unused"));
    assert_eq!(alert.action, AlertAction::Trigger);
    assert_eq!(alert.dedup_key, key("Life is too short for no alias"), "the alias wins over a generated key");
    assert_eq!(alert.summary, "An example alert message");
    assert_eq!(alert.severity, Severity::Sev1);
    let expected_labels = labels(&[
        ("key1", "value1"),
        ("key2", "value2"),
        ("entity", "An example entity"),
        ("priority", "P1"),
        ("tags", "OverwriteQuietHours,Critical"),
    ]);
    assert_eq!(alert.labels, expected_labels);
    let expected_annotations =
        labels(&[("description", "Every alert needs a description"), ("note", "Alert created"), ("user", "Monitoring Script")]);
    assert_eq!(alert.annotations, expected_annotations);
    assert_eq!(alert.details["details"], json!({"key1": "value1", "key2": "value2"}));
    assert_eq!(alert.details["responders"][1], json!({"type": "team", "name": "NOC"}));
    assert_eq!(alert.details["visibleTo"][1], json!({"type": "user", "id": "bb4d9938-c3c2-455d-aaab-727aa701c0d8"}));
    assert_eq!(alert.details["actions"], json!(["Restart", "AnExampleAction"]));
    assert!(alert.links.is_empty() && alert.images.is_empty());
    assert_eq!((alert.starts_at, alert.ends_at), (None, None));
    assert_eq!(alert.format, SourceFormat::Opsgenie);
}

#[test]
fn what_alertmanager_and_grafana_send_is_accepted_and_routable_by_their_labels() {
    let alertmanager = create(&alertmanager_create()).expect("alertmanager").into_alert_event(key("unused"));
    assert_eq!(alertmanager.dedup_key.as_str(), "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b");
    assert_eq!(alertmanager.labels.get("alertname").map(String::as_str), Some("DiskFull"), "common labels arrive as details");
    assert_eq!(alertmanager.labels.get("source").map(String::as_str), Some("http://alertmanager.test:9093"));
    assert_eq!(alertmanager.labels.get("tags").map(String::as_str), Some("prod,db"));
    assert_eq!(alertmanager.severity, Severity::Sev2, "P2");
    assert_eq!(
        alertmanager.annotations.get("description").map(String::as_str),
        Some(alertmanager_create()["description"].as_str().unwrap())
    );

    let grafana = create(&grafana_create()).expect("grafana").into_alert_event(key("unused"));
    assert_eq!(grafana.labels.get("grafana_folder").map(String::as_str), Some("Checkout"));
    assert_eq!(grafana.labels.get("priority").map(String::as_str), Some("P3"), "no priority is P3");
    assert_eq!(grafana.severity, Severity::Sev2);
}

#[test]
fn minimal_requests_need_only_a_message_and_take_the_generated_key() {
    for document in [json!({"message": "m"}), json!({"message": "m", "alias": ""}), json!({"message": "m", "alias": null})] {
        let request = create(&document).expect("valid");
        assert_eq!(request.alias, None, "{document}");
        let alert = request.into_alert_event(key("generated"));
        assert_eq!(alert.dedup_key, key("generated"));
        assert_eq!(alert.labels, labels(&[("priority", "P3")]));
        assert!(alert.annotations.is_empty());
        assert_eq!(alert.details, Value::Null);
    }
}

#[test]
fn priority_maps_to_severity_and_unknown_values_are_p3_as_in_opsgenie() {
    let cases: [(Option<Value>, Priority, Severity); 12] = [
        (Some(json!("P1")), Priority::P1, Severity::Sev1),
        (Some(json!("P2")), Priority::P2, Severity::Sev2),
        (Some(json!("P3")), Priority::P3, Severity::Sev2),
        (Some(json!("P4")), Priority::P4, Severity::Sev3),
        (Some(json!("P5")), Priority::P5, Severity::Sev3),
        (Some(json!(" P1 ")), Priority::P1, Severity::Sev1),
        (None, Priority::P3, Severity::Sev2),
        (Some(Value::Null), Priority::P3, Severity::Sev2),
        (Some(json!("")), Priority::P3, Severity::Sev2),
        (Some(json!("p1")), Priority::P3, Severity::Sev2),
        (Some(json!("critical")), Priority::P3, Severity::Sev2),
        (Some(json!("P6")), Priority::P3, Severity::Sev2),
    ];
    for (sent, priority, severity) in cases {
        let mut document = json!({"message": "m"});
        if let Some(value) = &sent {
            document["priority"] = value.clone();
        }
        let request = create(&document).expect("valid");
        assert_eq!(request.priority, priority, "priority {sent:?}");
        let alert = request.into_alert_event(key("k"));
        assert_eq!(alert.severity, severity, "priority {sent:?}");
        assert_eq!(alert.labels["priority"], priority.as_str(), "priority {sent:?}");
    }
}

#[test]
fn opsgenie_fields_win_over_details_of_the_same_name_which_stay_in_details() {
    let document = json!({
        "message": "m",
        "details": {"entity": "from-details", "source": "from-details", "priority": "P5", "tags": "x", "team": "db"},
        "entity": "e", "source": "s", "priority": "P2", "tags": ["b", "a", "b", " ", "a"]
    });
    let alert = create(&document).expect("valid").into_alert_event(key("k"));
    assert_eq!(alert.labels, labels(&[("entity", "e"), ("source", "s"), ("priority", "P2"), ("tags", "b,a"), ("team", "db")]));
    assert_eq!(alert.details["details"]["entity"], "from-details");
}

#[test]
fn messages_are_trimmed_and_cut_at_1024_characters() {
    let cases = [
        (json!("  padded\n"), "padded".to_string()),
        (json!("é".repeat(1024)), "é".repeat(1024)),
        (json!("x".repeat(5000)), "x".repeat(1024)),
    ];
    for (message, expected) in cases {
        let request = create(&json!({"message": message})).expect("valid");
        assert_eq!(request.message, expected);
    }
}

#[test]
fn alias_length_follows_opsgenie_then_staunch_limits() {
    let cases: [(String, Result<(), &str>); 4] = [
        ("a".repeat(255), Ok(())),
        ("é".repeat(255), Ok(())),
        ("a".repeat(256), Err("must be at most 255 characters in staunch (opsgenie allows 512), not 256")),
        ("a".repeat(513), Err("must be at most 512 characters, not 513")),
    ];
    for (alias, expected) in cases {
        let result = create(&json!({"message": "m", "alias": alias}));
        match expected {
            Ok(()) => assert_eq!(result.expect("valid").alias, Some(key(&alias))),
            Err(message) => assert_eq!(field_errors(result), one("alias", message)),
        }
    }
}

#[test]
fn a_missing_or_blank_message_is_required() {
    for message in [None, Some(Value::Null), Some(json!("")), Some(json!(" \t\n"))] {
        let document = edited(&documented_create(), &[("/message", message.clone())]);
        assert_eq!(field_errors(create(&document)), one("message", "is required"), "message {message:?}");
    }
}

#[test]
fn wrong_types_are_named_by_path() {
    let cases: [(&str, Value, &str, &str); 19] = [
        ("/message", json!(5), "message", "must be a string"),
        ("/alias", json!(5), "alias", "must be a string"),
        ("/description", json!(["d"]), "description", "must be a string"),
        ("/responders", json!({"name": "NOC"}), "responders", "must be an array"),
        ("/responders/0", json!("NOC"), "responders[0]", "must be an object"),
        ("/responders/1", json!({"name": 3, "type": "team"}), "responders[1].name", "must be a string"),
        ("/responders/2", json!({"username": "u", "type": ["user"]}), "responders[2].type", "must be a string"),
        ("/visibleTo", json!("rocket_team"), "visibleTo", "must be an array"),
        ("/visibleTo/0", json!({"id": 1, "type": "team"}), "visibleTo[0].id", "must be a string"),
        ("/actions", json!("Restart"), "actions", "must be an array"),
        ("/actions/1", json!(2), "actions[1]", "must be a string"),
        ("/tags/0", json!({"tag": "x"}), "tags[0]", "must be a string"),
        ("/details", json!("k=v"), "details", "must be an object"),
        ("/details/key1", json!(1), "details.key1", "must be a string"),
        ("/entity", json!(true), "entity", "must be a string"),
        ("/source", json!({}), "source", "must be a string"),
        ("/priority", json!(1), "priority", "must be a string"),
        ("/user", json!(1), "user", "must be a string"),
        ("/note", json!([]), "note", "must be a string"),
    ];
    for (pointer, value, field, message) in cases {
        let document = edited(&documented_create(), &[(pointer, Some(value))]);
        assert_eq!(field_errors(create(&document)), one(field, message), "{pointer}");
    }
}

#[test]
fn unknown_keys_are_rejected_so_typos_fail_loudly() {
    let cases = [
        ("/alais", "alais"),
        ("/apiKey", "apiKey"),
        ("/responders/0/team", "responders[0].team"),
        ("/visibleTo/1/email", "visibleTo[1].email"),
    ];
    for (pointer, field) in cases {
        let document = edited(&documented_create(), &[(pointer, Some(json!("x")))]);
        assert_eq!(field_errors(create(&document)), one(field, "is not a field of the opsgenie alert api"), "{pointer}");
    }
}

#[test]
fn every_problem_is_reported_at_once_in_document_order() {
    let document = json!({"alias": 1, "tags": ["ok", 2], "details": {"a": 1}, "prioritty": "P1"});
    let expected = vec![
        ("message".to_string(), "is required".to_string()),
        ("alias".to_string(), "must be a string".to_string()),
        ("tags[1]".to_string(), "must be a string".to_string()),
        ("details.a".to_string(), "must be a string".to_string()),
        ("prioritty".to_string(), "is not a field of the opsgenie alert api".to_string()),
    ];
    assert_eq!(field_errors(create(&document)), expected);
}

#[test]
fn bodies_that_are_not_json_are_400_and_non_objects_422() {
    for text in ["", "{", "message=hi", "{\"message\": \"m\",}"] {
        assert!(matches!(parse_create_alert(text.as_bytes()), Err(OpsgenieError::NotJson(_))), "{text:?}");
    }
    for text in ["[]", "\"m\"", "null", "42"] {
        assert_eq!(field_errors(parse_create_alert(text.as_bytes())), one("body", "must be an object"), "{text:?}");
    }
}

#[test]
fn close_and_acknowledge_take_the_identifier_from_the_path_and_any_or_no_body() {
    let bodies: [&[u8]; 6] = [
        b"",
        b" \n",
        b"{}",
        br#"{"source":"http://alertmanager.test:9093"}"#,
        br#"{"source":"Grafana"}"#,
        br#"{"user":"Monitoring Script","source":"AWS Lambda","note":"Action executed via Alert API"}"#,
    ];
    for action in [OpsgenieAction::Close, OpsgenieAction::Acknowledge] {
        for body in bodies {
            let request = parse_alert_action(action, "alias-1", Some("alias"), body).expect("valid");
            assert_eq!(request.dedup_key, key("alias-1"));
            assert_eq!(request.identifier_type, IdentifierType::Alias);
            let alert = request.into_alert_event();
            let expected_action = if action == OpsgenieAction::Close { AlertAction::Resolve } else { AlertAction::Acknowledge };
            assert_eq!(alert.action, expected_action);
            assert!(alert.labels.is_empty(), "no labels: intake finds the alert by its key");
            assert_eq!(alert.summary, "");
            assert_eq!(alert.format, SourceFormat::Opsgenie);
        }
    }
    let request = parse_alert_action(OpsgenieAction::Close, "k", None, bodies[5]).expect("valid");
    assert_eq!(request.user.as_deref(), Some("Monitoring Script"));
    assert_eq!(request.source.as_deref(), Some("AWS Lambda"));
    assert_eq!(request.note.as_deref(), Some("Action executed via Alert API"));
}

#[test]
fn identifier_types_id_and_alias_both_name_the_dedup_key() {
    let cases: [(Option<&str>, Result<IdentifierType, &str>); 7] = [
        (None, Ok(IdentifierType::Id)),
        (Some(""), Ok(IdentifierType::Id)),
        (Some("id"), Ok(IdentifierType::Id)),
        (Some("alias"), Ok(IdentifierType::Alias)),
        (Some("tiny"), Err("tiny ids are not supported by staunch, identify the alert by \"alias\" or \"id\" (its dedup key)")),
        (Some("name"), Err("must be \"id\", \"alias\" or \"tiny\", not \"name\"")),
        (Some("ALIAS"), Err("must be \"id\", \"alias\" or \"tiny\", not \"ALIAS\"")),
    ];
    for (identifier_type, expected) in cases {
        let result = parse_alert_action(OpsgenieAction::Acknowledge, "k-1", identifier_type, b"");
        match expected {
            Ok(expected) => {
                let request = result.expect("valid");
                assert_eq!(request.identifier_type, expected, "{identifier_type:?}");
                assert_eq!(request.dedup_key, key("k-1"));
            }
            Err(message) => assert_eq!(field_errors(result), one("identifierType", message), "{identifier_type:?}"),
        }
    }
}

#[test]
fn bad_identifiers_and_bodies_of_follow_ups_are_rejected() {
    let long = "k".repeat(256);
    let cases: [(&str, &[u8], FieldErrors); 6] = [
        (" ", b"", one("identifier", "is required")),
        (&long, b"", one("identifier", "must be at most 255 characters in staunch (opsgenie allows 512), not 256")),
        ("k", br#"{"source": 1}"#, one("source", "must be a string")),
        ("k", br#"{"reason": "done"}"#, one("reason", "is not a field of the opsgenie alert api")),
        ("k", b"[]", one("body", "must be an object")),
        (" ", br#"{"note": []}"#, vec![("identifier".into(), "is required".into()), ("note".into(), "must be a string".into())]),
    ];
    for (identifier, body, expected) in cases {
        let result = parse_alert_action(OpsgenieAction::Close, identifier, Some("alias"), body);
        assert_eq!(field_errors(result), expected, "{identifier:?} {}", String::from_utf8_lossy(body));
    }
    assert!(matches!(parse_alert_action(OpsgenieAction::Close, "k", None, b"{"), Err(OpsgenieError::NotJson(_))));
}

#[test]
fn updates_are_read_as_alertmanager_sends_them() {
    let message =
        parse_update(UpdatedField::Message, "k", Some("alias"), br#"{"message":"[FIRING:2] DiskFull"}"#).expect("valid");
    assert_eq!(message.text.as_deref(), Some("[FIRING:2] DiskFull"));
    assert_eq!(message.dedup_key, key("k"));
    let description =
        parse_update(UpdatedField::Description, "k", Some("alias"), br#"{"description":"two disks"}"#).expect("valid");
    assert_eq!(description.text.as_deref(), Some("two disks"));
    // Alertmanager omits an empty description (`omitempty`): that clears it.
    let cleared = parse_update(UpdatedField::Description, "k", Some("alias"), b"{}\n").expect("valid");
    assert_eq!(cleared.text, None);

    let cases: [(UpdatedField, &[u8], FieldErrors); 4] = [
        (UpdatedField::Message, b"{}", one("message", "is required")),
        (UpdatedField::Message, br#"{"message":" "}"#, one("message", "is required")),
        (
            UpdatedField::Message,
            br#"{"description":"d"}"#,
            vec![
                ("message".into(), "is required".into()),
                ("description".into(), "is not a field of the opsgenie alert api".into()),
            ],
        ),
        (UpdatedField::Description, br#"{"description":3}"#, one("description", "must be a string")),
    ];
    for (field, body, expected) in cases {
        assert_eq!(field_errors(parse_update(field, "k", None, body)), expected, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn display_names_every_field() {
    let error = parse_create_alert(br#"{"alias": 1}"#).expect_err("invalid");
    assert_eq!(error.to_string(), "invalid payload: message: is required; alias: must be a string");
    let error = parse_create_alert(b"nope").expect_err("invalid");
    assert!(error.to_string().starts_with("invalid json body: "), "{error}");
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(json!("")),
        Just(json!("P1")),
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

/// What the rest of Staunch relies on in an accepted create request.
fn check_accepted_create(request: CreateAlertRequest) {
    assert!(!request.message.is_empty() && request.message.chars().count() <= MESSAGE_MAX_CHARACTERS);
    assert_eq!(request.message.trim(), request.message);
    let alert = request.into_alert_event(key("generated"));
    assert_eq!(alert.action, AlertAction::Trigger);
    assert!(!alert.summary.is_empty());
    assert!(alert.dedup_key.as_str().chars().count() <= DedupKey::MAX_LEN);
    assert!(alert.labels.contains_key("priority"));
}

fn run_every_parser(body: &[u8], identifier: &str, identifier_type: Option<&str>) {
    match parse_create_alert(body) {
        Ok(request) => check_accepted_create(request),
        Err(OpsgenieError::Invalid(error)) => assert!(!error.errors.is_empty()),
        Err(OpsgenieError::NotJson(_)) => {}
    }
    for action in [OpsgenieAction::Close, OpsgenieAction::Acknowledge] {
        if let Ok(request) = parse_alert_action(action, identifier, identifier_type, body) {
            assert_eq!(request.into_alert_event().dedup_key.as_str(), identifier);
        }
    }
    for field in [UpdatedField::Message, UpdatedField::Description] {
        let _ = parse_update(field, identifier, identifier_type, body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_and_identifiers_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        identifier in ".{0,300}",
        identifier_type in prop::option::of(".{0,8}"),
    ) {
        run_every_parser(&body, &identifier, identifier_type.as_deref());
    }

    #[test]
    fn value_mutations_of_valid_requests_never_panic(
        which in 0usize..3,
        replacements in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4),
    ) {
        let mut document = [documented_create(), alertmanager_create(), grafana_create()][which].clone();
        for (index, replacement) in replacements {
            let mut all = Vec::new();
            pointers(&document, String::new(), &mut all);
            let pointer = index.get(&all).clone();
            if let Some(slot) = document.pointer_mut(&pointer) {
                *slot = replacement;
            }
        }
        run_every_parser(&body(&document), "alias-1", Some("alias"));
    }

    #[test]
    fn byte_mutations_of_valid_requests_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = body(&[documented_create(), alertmanager_create(), grafana_create()][which]);
        for (index, byte) in edits {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        run_every_parser(&bytes, "alias-1", None);
    }
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    let depth = 100_000;
    let mut nested = b"{\"message\":\"m\",\"details\":".to_vec();
    nested.extend(std::iter::repeat_n(b'[', depth));
    nested.extend(std::iter::repeat_n(b']', depth));
    nested.push(b'}');
    run_every_parser(&nested, "k", None);
}
