//! Fuzzes the Opsgenie Alert API readers in `ingest::opsgenie`: no panics, and what they accept
//! holds the invariants the rest of Staunch relies on. The whole input is a create body; it is
//! also read as `<identifier>\n<identifierType>\n<body>` for close, acknowledge and the updates.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::alert::{AlertAction, DedupKey};
use staunch_domain::ingest::opsgenie::{
    MESSAGE_MAX_CHARACTERS, OpsgenieAction, OpsgenieError, UpdatedField, parse_alert_action, parse_create_alert, parse_update,
};

/// The bytes before the first newline, and those after it.
fn split_line(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|byte| *byte == b'\n') {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &[]),
    }
}

fn check_rejection(error: OpsgenieError) {
    match error {
        OpsgenieError::Invalid(invalid) => assert!(!invalid.errors.is_empty(), "a 422 names at least one field"),
        OpsgenieError::NotJson(message) => assert!(!message.is_empty()),
    }
}

fuzz_target!(|input: &[u8]| {
    match parse_create_alert(input) {
        Ok(request) => {
            assert!(!request.message.is_empty() && request.message.chars().count() <= MESSAGE_MAX_CHARACTERS);
            assert_eq!(request.message.trim(), request.message);
            let sender_key = request.alias.clone();
            let generated = DedupKey::parse("fuzz-generated").expect("valid literal key");
            let alert = request.into_alert_event(generated.clone());
            assert_eq!(alert.action, AlertAction::Trigger);
            assert_eq!(alert.dedup_key, sender_key.unwrap_or(generated));
            assert!(!alert.summary.is_empty());
            assert!(alert.labels.contains_key("priority"));
        }
        Err(error) => check_rejection(error),
    }

    let (identifier, rest) = split_line(input);
    let (identifier_type, body) = split_line(rest);
    let identifier = String::from_utf8_lossy(identifier);
    let identifier_type = (!identifier_type.is_empty()).then(|| String::from_utf8_lossy(identifier_type).into_owned());
    for action in [OpsgenieAction::Close, OpsgenieAction::Acknowledge] {
        match parse_alert_action(action, &identifier, identifier_type.as_deref(), body) {
            Ok(request) => {
                let alert = request.into_alert_event();
                assert_eq!(alert.dedup_key.as_str(), identifier, "the path names the dedup key as is");
                assert!(alert.labels.is_empty(), "follow-ups are found by key, not routed by labels");
                assert_ne!(alert.action, AlertAction::Trigger);
            }
            Err(error) => check_rejection(error),
        }
    }
    for field in [UpdatedField::Message, UpdatedField::Description] {
        match parse_update(field, &identifier, identifier_type.as_deref(), body) {
            Ok(request) => {
                assert_eq!(request.dedup_key.as_str(), identifier);
                if field == UpdatedField::Message {
                    assert!(request.text.as_deref().is_some_and(|text| !text.is_empty()));
                }
            }
            Err(error) => check_rejection(error),
        }
    }
});
