//! An alert as the tokens the model counts: its service, source format, (service, alertname)
//! key, severity, label pairs, summary words and a six-hour bucket of the day.
//!
//! Label values that name one machine or one request (instance, pod, ids) rarely repeat; they
//! cost nothing when unseen (Laplace smoothing gives them no weight), so they are not filtered
//! out by name. Numbers in summaries are dropped: "disk 91% full" and "disk 93% full" are the
//! same alert.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// At most this many summary words are counted, so one verbose sender weighs no more than others.
const MAX_SUMMARY_WORDS: usize = 24;
/// At most this many label pairs are counted.
const MAX_LABELS: usize = 24;
/// Labels that carry the same information as other features or none at all.
const IGNORED_LABELS: &[&str] = &["alertname", "staunch_page", "severity"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFeatures {
    pub service: String,
    /// `alertmanager`, `events_v2`, ...
    pub format: String,
    /// `sev1` ... `sev3`.
    pub severity: String,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub at: Timestamp,
}

impl AlertFeatures {
    /// The alert's kind: its `alertname` label, else its summary with digits removed, so a
    /// PagerDuty event without labels still has a history.
    pub fn alertname(&self) -> String {
        match self.labels.get("alertname") {
            Some(name) if !name.is_empty() => name.clone(),
            _ => summary_words(&self.summary).join(" "),
        }
    }

    /// The (service, alertname) key: the strongest evidence, counted apart from the rest.
    pub fn key(&self) -> String {
        format!("{}/{}", self.service, self.alertname())
    }

    /// The other tokens, each prefixed by what it is so a label value never meets a word.
    pub fn tokens(&self) -> Vec<String> {
        let mut tokens = vec![
            format!("svc:{}", self.service),
            format!("fmt:{}", self.format),
            format!("sev:{}", self.severity),
            format!("hour:{}", hour_bucket(self.at)),
        ];
        let labels = self.labels.iter().filter(|(name, _)| !IGNORED_LABELS.contains(&name.as_str())).take(MAX_LABELS);
        tokens.extend(labels.map(|(name, value)| format!("label:{name}={value}")));
        let mut words = summary_words(&self.summary);
        words.sort();
        words.dedup();
        tokens.extend(words.into_iter().take(MAX_SUMMARY_WORDS).map(|word| format!("word:{word}")));
        tokens
    }
}

/// Lowercase words of two letters or more, digits and punctuation removed.
fn summary_words(summary: &str) -> Vec<String> {
    summary
        .split(|character: char| !character.is_alphabetic())
        .filter(|word| word.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// 0–3: night, morning, afternoon, evening (UTC).
fn hour_bucket(at: Timestamp) -> i64 {
    at.as_second().rem_euclid(86_400) / 21_600
}
