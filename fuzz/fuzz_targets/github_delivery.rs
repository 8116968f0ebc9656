//! Fuzzes `ingest::github::parse_delivery` for each recorded event kind: it must never panic,
//! and a rejection names a field.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::ingest::github::{GitHubDelivery, parse_delivery};

fuzz_target!(|body: &[u8]| {
    for event in ["push", "deployment_status", "pull_request"] {
        match parse_delivery(event, body) {
            Ok(GitHubDelivery::Change(change)) => assert!(!change.summary.is_empty() && change.source.starts_with("github:")),
            Ok(GitHubDelivery::Ignored(reason)) => assert!(!reason.is_empty()),
            Err(error) => assert!(!error.errors.is_empty(), "a rejection names at least one field"),
        }
    }
});
