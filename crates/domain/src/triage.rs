//! Triage: naming an incident's symptom from its alerts, and ranking the runbooks that apply
//! to it by how often each resolved that symptom before.
//!
//! A symptom rule names a symptom (`model_provider_outage`) and says which alerts show it
//! (label matchers, alert names, services); the first rule, in configuration order, that one
//! of the incident's alerts satisfies names the symptom. Candidates are ranked by the mean of
//! a Beta(1, 1) prior updated with their record for the symptom, (successes + 1) / (attempts +
//! 2): a runbook never tried scores ½, one that worked 9 times in 10 scores 10/12, so the
//! ranking learns from every run without letting one lucky run dominate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::labels::Labels;
use crate::matcher::{Matcher, parse_matchers};
use crate::regression_case::{CaseClassifier, CaseSignal, Classification};
use crate::runbook::{IncidentFacts, Runbook};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSymptomRule {
    pub name: String,
    #[serde(default)]
    pub matchers: Vec<String>,
    #[serde(default)]
    pub alert_names: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SymptomRule {
    pub name: String,
    pub matchers: Vec<Matcher>,
    pub alert_names: Vec<String>,
    pub services: Vec<String>,
}

impl RawSymptomRule {
    pub fn check(&self, field: &str) -> Result<SymptomRule, Vec<String>> {
        let mut problems = Vec::new();
        if !crate::runbook::valid_name(&self.name) {
            problems.push(format!("{field}.name: {:?} must be letters, digits, '-', '_' or '.'", self.name));
        }
        let mut matchers = Vec::new();
        for (index, text) in self.matchers.iter().enumerate() {
            match parse_matchers(text) {
                Ok(parsed) => matchers.extend(parsed),
                Err(error) => problems.push(format!("{field}.matchers[{index}]: {error}")),
            }
        }
        if matchers.is_empty() && self.alert_names.is_empty() && self.services.is_empty() {
            problems.push(format!("{field}: a symptom rule needs matchers, alert_names or services"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SymptomRule {
            name: self.name.clone(),
            matchers,
            alert_names: self.alert_names.clone(),
            services: self.services.clone(),
        })
    }
}

impl SymptomRule {
    /// Whether one alert of `service_id` with `labels` shows this symptom: every criterion
    /// given holds.
    pub fn matches(&self, service_id: &str, labels: &Labels) -> bool {
        (self.services.is_empty() || self.services.iter().any(|service| service == service_id))
            && (self.alert_names.is_empty() || labels.get("alertname").is_some_and(|name| self.alert_names.contains(name)))
            && self.matchers.iter().all(|matcher| matcher.matches(labels))
    }
}

/// The symptom of an incident of `service_id` whose alerts carry `alert_labels`: the first
/// rule one of them satisfies.
pub fn classify<'a>(rules: &'a [SymptomRule], service_id: &str, alert_labels: &[Labels]) -> Option<&'a str> {
    rules.iter().find(|rule| alert_labels.iter().any(|labels| rule.matches(service_id, labels))).map(|rule| rule.name.as_str())
}

/// How a runbook fared against one symptom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub attempts: u64,
    pub successes: u64,
}

impl Record {
    /// The posterior mean under a uniform Beta(1, 1) prior.
    pub fn score(self) -> f64 {
        let successes = self.successes.min(self.attempts);
        (successes as f64 + 1.0) / (self.attempts as f64 + 2.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub runbook: String,
    pub record: Record,
    pub score: f64,
}

/// Orders `runbooks` (names, in configuration order) by their score for `symptom`, best
/// first; ties keep configuration order. `records` is keyed by (symptom, runbook).
pub fn rank(runbooks: &[String], symptom: Option<&str>, records: &BTreeMap<(String, String), Record>) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = runbooks
        .iter()
        .map(|runbook| {
            let record =
                symptom.and_then(|symptom| records.get(&(symptom.to_string(), runbook.clone()))).copied().unwrap_or_default();
            Candidate { runbook: runbook.clone(), record, score: record.score() }
        })
        .collect();
    // A stable sort keeps configuration order among equal scores.
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    candidates
}

/// An organisation's triage rules and runbooks, as a regression-case replay asks them.
pub struct ConfiguredTriage<'a> {
    pub symptoms: &'a [SymptomRule],
    pub runbooks: &'a [Runbook],
}

impl CaseClassifier for ConfiguredTriage<'_> {
    fn classify(&self, service_id: &str, signals: &[CaseSignal]) -> Classification {
        if self.symptoms.is_empty() {
            return Classification::NotAvailable;
        }
        let labels: Vec<Labels> = signals.iter().map(|signal| signal.labels.clone()).collect();
        match classify(self.symptoms, service_id, &labels) {
            Some(symptom) => Classification::Symptom(symptom.to_string()),
            None => Classification::Unrecognised,
        }
    }

    /// The runbooks that apply, in configuration order: offline there are no past outcomes to
    /// rank by, and the replay asks only whether a runbook is still offered.
    fn runbooks_for(&self, service_id: &str, symptom: Option<&str>, signals: &[CaseSignal]) -> Option<Vec<String>> {
        if self.runbooks.is_empty() {
            return None;
        }
        let facts = IncidentFacts {
            service_id: service_id.to_string(),
            alert_labels: signals.iter().map(|signal| signal.labels.clone()).collect(),
            symptom: symptom.map(str::to_string),
        };
        Some(
            self.runbooks
                .iter()
                .filter(|runbook| runbook.applies_to.matches(&facts))
                .map(|runbook| runbook.name.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    fn rule(name: &str, matchers: &[&str], alert_names: &[&str], services: &[&str]) -> SymptomRule {
        RawSymptomRule {
            name: name.into(),
            matchers: matchers.iter().map(|text| text.to_string()).collect(),
            alert_names: alert_names.iter().map(|text| text.to_string()).collect(),
            services: services.iter().map(|text| text.to_string()).collect(),
        }
        .check("symptoms[0]")
        .unwrap()
    }

    #[test]
    fn the_first_matching_rule_names_the_symptom() {
        let rules = vec![
            rule("model_provider_outage", &[r#"provider=~".+""#, r#"code=~"5..""#], &[], &["chat"]),
            rule("high_latency", &[], &["HighLatency"], &[]),
            rule("anything_on_chat", &[], &[], &["chat"]),
        ];
        type Alerts<'a> = &'a [&'a [(&'a str, &'a str)]];
        let cases: &[(&str, Alerts, Option<&str>)] = &[
            ("chat", &[&[("provider", "openai"), ("code", "503")]], Some("model_provider_outage")),
            ("chat", &[&[("provider", "openai"), ("code", "404")]], Some("anything_on_chat")),
            ("search", &[&[("provider", "openai"), ("code", "503")]], None),
            ("search", &[&[("alertname", "HighLatency")]], Some("high_latency")),
            ("search", &[&[("alertname", "Other")], &[("alertname", "HighLatency")]], Some("high_latency")),
            ("search", &[], None),
        ];
        for (service, alerts, expected) in cases {
            let alerts: Vec<Labels> = alerts.iter().map(|pairs| labels(pairs)).collect();
            assert_eq!(classify(&rules, service, &alerts), *expected, "{service} {alerts:?}");
        }
    }

    #[test]
    fn a_rule_without_criteria_is_refused() {
        let raw = RawSymptomRule { name: "x".into(), matchers: vec![], alert_names: vec![], services: vec![] };
        assert_eq!(
            raw.check("symptoms[3]").unwrap_err(),
            vec!["symptoms[3]: a symptom rule needs matchers, alert_names or services"]
        );
        let raw = RawSymptomRule { name: "x".into(), matchers: vec!["a=~(".into()], alert_names: vec![], services: vec![] };
        assert!(raw.check("symptoms[0]").unwrap_err()[0].starts_with("symptoms[0].matchers[0]: "));
    }

    #[test]
    fn ranking_follows_the_beta_posterior_and_keeps_config_order_on_ties() {
        let names: Vec<String> = ["restart", "fallback", "scale", "untried"].iter().map(|n| n.to_string()).collect();
        let mut records = BTreeMap::new();
        let key = |runbook: &str| ("outage".to_string(), runbook.to_string());
        records.insert(key("restart"), Record { attempts: 10, successes: 2 }); // 3/12
        records.insert(key("fallback"), Record { attempts: 3, successes: 3 }); // 4/5
        records.insert(key("scale"), Record { attempts: 1, successes: 1 }); // 2/3
        let ranked = rank(&names, Some("outage"), &records);
        let order: Vec<&str> = ranked.iter().map(|candidate| candidate.runbook.as_str()).collect();
        assert_eq!(order, ["fallback", "scale", "untried", "restart"]);
        assert_eq!(ranked[2].score, 0.5);
        // Another symptom's record does not count.
        let ranked = rank(&names, Some("latency"), &records);
        assert!(ranked.iter().all(|candidate| candidate.score == 0.5));
        assert_eq!(ranked[0].runbook, "restart");
    }

    proptest::proptest! {
        #[test]
        fn a_success_never_lowers_a_score_and_a_failure_never_raises_it(attempts in 0u64..1000, successes in 0u64..1000) {
            let successes = successes.min(attempts);
            let before = Record { attempts, successes }.score();
            let after_success = Record { attempts: attempts + 1, successes: successes + 1 }.score();
            let after_failure = Record { attempts: attempts + 1, successes }.score();
            proptest::prop_assert!(after_success >= before);
            proptest::prop_assert!(after_failure <= before);
            proptest::prop_assert!(before > 0.0 && before < 1.0);
        }
    }

    #[test]
    fn case_replays_ask_the_configured_rules_and_runbooks() {
        use crate::runbook::{RawRunbook, RunbookLimits};
        let symptoms = vec![rule("model_provider_outage", &["provider=~\"openai|anthropic\""], &[], &["chat"])];
        let limits = RunbookLimits { service_ids: ["chat".to_string()].into_iter().collect(), ..RunbookLimits::default() };
        let runbook = |name: &str, symptom: &str| -> Runbook {
            let raw: RawRunbook = serde_json::from_value(serde_json::json!({
                "name": name,
                "applies_to": { "symptoms": [symptom] },
                "steps": [{ "name": "look", "manual": "look at the dashboard" }],
            }))
            .unwrap();
            raw.check("runbooks[0]", &limits).unwrap()
        };
        let runbooks = vec![runbook("provider-fallback", "model_provider_outage"), runbook("disk-cleanup", "disk_full")];
        let triage = ConfiguredTriage { symptoms: &symptoms, runbooks: &runbooks };
        let signal = |provider: &str| CaseSignal {
            dedup_key: "k".into(),
            summary: "s".into(),
            severity: crate::severity::Severity::Sev1,
            labels: labels(&[("provider", provider)]),
            annotations: Labels::new(),
            offset_seconds: 0,
            resolved_offset_seconds: None,
        };
        assert_eq!(triage.classify("chat", &[signal("openai")]), Classification::Symptom("model_provider_outage".into()));
        assert_eq!(triage.classify("chat", &[signal("local")]), Classification::Unrecognised);
        assert_eq!(triage.classify("search", &[signal("openai")]), Classification::Unrecognised);
        assert_eq!(
            triage.runbooks_for("chat", Some("model_provider_outage"), &[signal("openai")]),
            Some(vec!["provider-fallback".to_string()])
        );
        let nothing = ConfiguredTriage { symptoms: &[], runbooks: &[] };
        assert_eq!(nothing.classify("chat", &[signal("openai")]), Classification::NotAvailable);
        assert_eq!(nothing.runbooks_for("chat", None, &[]), None);
    }
}
