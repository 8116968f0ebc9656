//! The words two texts share: the text signal of the investigation.
//!
//! Words are runs of letters and digits, lowercased, split at camelCase boundaries
//! (`HighLatency` → `high`, `latency`) and at path separators, so a changed file
//! `payments/client.go` and an alert "payments client timeouts" meet. Words of one or two
//! characters, and a short list of words every alert or change carries, are dropped: they
//! would make everything look related.

use std::collections::BTreeSet;

const COMMON: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "from",
    "this",
    "that",
    "are",
    "was",
    "were",
    "has",
    "have",
    "not",
    "but",
    "into",
    "onto",
    "alert",
    "alerts",
    "alertname",
    "firing",
    "resolved",
    "incident",
    "service",
    "severity",
    "critical",
    "warning",
    "info",
    "error",
    "errors",
    "high",
    "low",
    "src",
    "lib",
    "main",
    "test",
    "tests",
    "yaml",
    "yml",
    "json",
    "txt",
    "http",
    "https",
    "www",
    "com",
    "merged",
    "pull",
    "request",
    "deploy",
    "deployed",
    "deployment",
    "release",
    "push",
    "sev1",
    "sev2",
    "sev3",
    "sev4",
    "sev5",
    "default",
    "true",
    "false",
    "null",
    "none",
];

/// The distinct words of `text` worth comparing.
pub fn words(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for run in text.split(|c: char| !c.is_alphanumeric()) {
        for word in split_camel_case(run) {
            let word = word.to_lowercase();
            if word.chars().count() < 3 || COMMON.contains(&word.as_str()) || word.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            found.insert(word);
        }
    }
    found
}

/// `HighLatency` → [`High`, `Latency`]; `HTTPServer` → [`HTTP`, `Server`]; runs of digits stay
/// with the letters before them (`v2`).
fn split_camel_case(run: &str) -> Vec<&str> {
    let characters: Vec<(usize, char)> = run.char_indices().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    for window in 1..characters.len() {
        let (index, current) = characters[window];
        let previous = characters[window - 1].1;
        let next_is_lower = characters.get(window + 1).is_some_and(|(_, next)| next.is_lowercase());
        let boundary = (previous.is_lowercase() && current.is_uppercase())
            || (previous.is_uppercase() && current.is_uppercase() && next_is_lower);
        if boundary {
            pieces.push(&run[start..index]);
            start = index;
        }
    }
    if start < run.len() {
        pieces.push(&run[start..]);
    }
    pieces
}

/// The words of `left` also in `right`, in order.
pub fn shared(left: &BTreeSet<String>, right: &BTreeSet<String>) -> Vec<String> {
    left.intersection(right).cloned().collect()
}

/// Dice coefficient of two word sets: 0 when either is empty.
pub fn dice(left: &BTreeSet<String>, right: &BTreeSet<String>) -> f64 {
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    2.0 * left.intersection(right).count() as f64 / (left.len() + right.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_camel_case_paths_and_drop_the_common() {
        let cases = [
            ("HighLatency on checkout", vec!["checkout", "latency"]),
            ("payments/client.go: retry budget", vec!["budget", "client", "payments", "retry"]),
            ("HTTPServer 500 errors", vec!["server"]),
            ("the alert is firing", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(words(text).into_iter().collect::<Vec<_>>(), expected, "{text}");
        }
    }
}
