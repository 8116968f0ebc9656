//! Fuzzes `ingest::pagerduty::parse_change_event`: no panics, and accepted change events have a
//! usable summary.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::ingest::pagerduty::{ROUTING_KEY_LENGTH, SUMMARY_MAX_CHARACTERS, parse_change_event};

fuzz_target!(|body: &[u8]| {
    match parse_change_event(body) {
        Ok(event) => {
            assert_eq!(event.routing_key.chars().count(), ROUTING_KEY_LENGTH);
            let summary = &event.payload.summary;
            assert!(!summary.is_empty() && summary.chars().count() <= SUMMARY_MAX_CHARACTERS);
            assert_eq!(summary.trim(), summary);
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "a rejection lists at least one error");
        }
    }
});
