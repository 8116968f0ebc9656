//! Fuzzes the telemetry batch parsers (`ingest::telemetry`): no panics, accepted items hold
//! the limits and the accepted time range, and every rejection names at least one field.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staunch_domain::Timestamp;
use staunch_domain::ingest::telemetry::{AcceptedTimes, BatchLimits, parse_log_batch, parse_metric_batch, parse_span_batch};

fuzz_target!(|body: &[u8]| {
    let limits = BatchLimits::default();
    let times = AcceptedTimes {
        not_before: Timestamp::from_second(1_700_000_000).unwrap(),
        not_after: Timestamp::from_second(1_900_000_000).unwrap(),
    };
    let in_range = |at: Timestamp| at >= times.not_before && at <= times.not_after;
    match parse_log_batch(body, &limits, &times) {
        Ok(lines) => {
            assert!(lines.len() <= limits.max_items);
            for line in lines {
                assert!(in_range(line.at));
                assert!(!line.service.trim().is_empty() && line.service.len() <= limits.max_name_bytes);
                assert!(line.message.len() <= limits.max_message_bytes);
                assert_eq!(line.level, line.level.to_ascii_lowercase());
            }
        }
        Err(error) => assert!(!error.errors.is_empty()),
    }
    match parse_span_batch(body, &limits, &times) {
        Ok(spans) => {
            for span in spans {
                assert!(in_range(span.start));
                assert!(span.duration_ms.is_finite() && (0.0..=limits.max_span_ms).contains(&span.duration_ms));
                assert!(span.end() >= span.start);
            }
        }
        Err(error) => assert!(!error.errors.is_empty()),
    }
    match parse_metric_batch(body, &limits, &times) {
        Ok(points) => {
            for point in points {
                assert!(in_range(point.at) && point.value.is_finite());
            }
        }
        Err(error) => assert!(!error.errors.is_empty()),
    }
});
