//! Fuzzes `ingest::grafana::parse_webhook`: it must never panic, and what it returns must hold
//! the invariants the rest of Staunch relies on.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::alert::{AlertAction, DedupKey, SourceFormat};
use staunch_domain::ingest::grafana::parse_webhook;

fuzz_target!(|body: &[u8]| {
    match parse_webhook(body) {
        Ok(webhook) => {
            for alert in &webhook.alerts {
                assert!(!alert.summary.is_empty(), "every alert has a summary");
                let key = alert.dedup_key.as_str();
                assert!(!key.trim().is_empty() && key.chars().count() <= DedupKey::MAX_LEN);
                assert!(matches!(alert.action, AlertAction::Trigger | AlertAction::Resolve));
                assert_eq!(alert.format, SourceFormat::Grafana);
                assert!(alert.links.iter().all(|link| !link.href.trim().is_empty()), "no empty links");
            }
        }
        Err(error) => {
            assert!(!error.errors.is_empty(), "a rejection names at least one field");
            assert!(!error.to_string().is_empty());
        }
    }
});
