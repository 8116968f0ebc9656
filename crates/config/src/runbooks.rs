//! The `runbooks:` and `symptoms:` sections of `staunch.yaml` (per organisation, like
//! `slos:`), checked against `settings.runbook_commands`, the organisation's services and
//! SLOs. Every problem names its field, e.g. `runbooks[0].steps[2].argv[0]`.

use std::collections::BTreeSet;

use staunch_domain::runbook::{RawRunbook, Runbook, RunbookLimits};
use staunch_domain::triage::{RawSymptomRule, SymptomRule};

pub(crate) fn build_runbooks(raw: Vec<RawRunbook>, limits: &RunbookLimits, problems: &mut Vec<String>) -> Vec<Runbook> {
    let mut runbooks = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, raw_runbook) in raw.into_iter().enumerate() {
        let field = format!("runbooks[{index}]");
        if !seen.insert(raw_runbook.name.clone()) {
            problems.push(format!("{field}.name: duplicate runbook name {:?}", raw_runbook.name));
            continue;
        }
        match raw_runbook.check(&field, limits) {
            Ok(runbook) => runbooks.push(runbook),
            Err(found) => problems.extend(found),
        }
    }
    runbooks
}

pub(crate) fn build_symptoms(raw: Vec<RawSymptomRule>, problems: &mut Vec<String>) -> Vec<SymptomRule> {
    let mut rules = Vec::new();
    for (index, raw_rule) in raw.into_iter().enumerate() {
        match raw_rule.check(&format!("symptoms[{index}]")) {
            Ok(rule) => rules.push(rule),
            Err(found) => problems.extend(found),
        }
    }
    rules
}

/// `settings.runbook_commands` must name executables by absolute path.
pub(crate) fn check_allowed_commands(commands: &[String], problems: &mut Vec<String>) {
    for (index, command) in commands.iter().enumerate() {
        if !command.starts_with('/') {
            problems.push(format!("settings.runbook_commands[{index}]: {command:?} must be an absolute path"));
        }
    }
}
