//! Fuzzes `ingest::pagerduty::parse_event` and `EventsV2Event::into_alert_event`: no panics,
//! and accepted events hold the Events API v2 rules.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::alert::{AlertAction, DedupKey};
use staunch_domain::ingest::pagerduty::{ROUTING_KEY_LENGTH, SUMMARY_MAX_CHARACTERS, parse_event};

fuzz_target!(|body: &[u8]| {
    match parse_event(body) {
        Ok(event) => {
            assert_eq!(event.routing_key.chars().count(), ROUTING_KEY_LENGTH);
            if event.action == AlertAction::Trigger {
                let payload = event.payload.as_ref().expect("a trigger has a payload");
                assert!(!payload.summary.is_empty() && payload.summary.chars().count() <= SUMMARY_MAX_CHARACTERS);
                assert_eq!(payload.summary.trim(), payload.summary);
            } else {
                assert!(event.dedup_key.is_some(), "acknowledge and resolve need a dedup key");
            }
            let sender_key = event.dedup_key.clone();
            let generated = DedupKey::parse("fuzz-generated").expect("valid literal key");
            let alert = event.into_alert_event(generated.clone());
            assert_eq!(alert.dedup_key, sender_key.unwrap_or(generated));
            if alert.action == AlertAction::Trigger {
                assert!(!alert.summary.is_empty());
                assert!(alert.labels.contains_key("source"));
            }
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "a rejection lists at least one error");
            assert!(!invalid.message.is_empty() && !invalid.status().is_empty());
        }
    }
});
