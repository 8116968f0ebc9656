//! The runbook as written (`RawRunbook`, read from YAML or from the copy a run keeps) and as
//! checked (`Runbook`): what it applies to, whether it needs approval, and its ordered steps
//! with their undo, idempotency and timeout. Checking names every problem by its path, e.g.
//! `runbooks[0].steps[2].argv[0]`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::template::{JsonTemplate, Template, Variable};
use crate::duration::HumanDuration;
use crate::labels::Labels;
use crate::matcher::{Matcher, parse_matchers};

/// How long an `http`, `command` or `check` step may take unless it says otherwise.
pub const DEFAULT_STEP_TIMEOUT: HumanDuration = HumanDuration::from_secs(30);
/// The longest timeout (and wait) a step may declare.
pub const MAX_STEP_TIMEOUT: HumanDuration = HumanDuration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunbook {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub applies_to: RawAppliesTo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// How the run tells the SLI recovered; without it, the incident's SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RawCheck>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppliesTo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symptoms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_names: Vec<String>,
    /// Alertmanager matchers, each string one or more (`env="prod", team=~"a|b"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<RawHttp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<RawCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<RawCheck>,
    /// What the person should do; the step waits until someone ticks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Box<RawStep>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON value whose strings may hold templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Statuses that count as success; any 2xx when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_status: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    pub argv: Vec<String>,
    /// Names of Staunch's own environment variables the command may see; nothing else is
    /// passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Healthy when this SLO's state is `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<String>,
    /// Healthy when this probe answers an expected status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<RawHttp>,
}

/// A checked runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    pub applies_to: AppliesTo,
    pub approval_required: bool,
    pub recovery: Option<Check>,
    pub steps: Vec<Step>,
    /// What was checked, kept so a run can store the definition it started with.
    pub raw: RawRunbook,
}

#[derive(Debug, Clone, Default)]
pub struct AppliesTo {
    pub services: Vec<String>,
    pub symptoms: Vec<String>,
    pub alert_names: Vec<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub action: Action,
    pub reversible: bool,
    pub undo: Option<Box<Step>>,
    pub idempotent: bool,
    pub timeout: HumanDuration,
}

#[derive(Debug, Clone)]
pub enum Action {
    Http(HttpRequest),
    Command(CommandSpec),
    Wait(HumanDuration),
    Check(Check),
    Manual(String),
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<JsonTemplate>,
    pub expect_status: Vec<u16>,
}

impl HttpRequest {
    pub fn accepts(&self, status: u16) -> bool {
        if self.expect_status.is_empty() { (200..300).contains(&status) } else { self.expect_status.contains(&status) }
    }
}

#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// `argv[0]` is an absolute path without a template; every other element is one
    /// argument however its values render.
    pub argv: Vec<Template>,
    pub env: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Check {
    Slo(String),
    Http(HttpRequest),
}

impl Action {
    /// The kind, with the method of a safe HTTP request, for messages.
    fn describe_kind(&self) -> String {
        match self {
            Action::Http(request) => format!("{} request", request.method),
            other => format!("{} step", other.kind()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Action::Http(_) => "http",
            Action::Command(_) => "command",
            Action::Wait(_) => "wait",
            Action::Check(_) => "check",
            Action::Manual(_) => "manual",
        }
    }

    /// Whether the action changes the world; a step that does needs approval unless it is
    /// reversible. GET and HEAD are safe methods (RFC 9110): they read.
    pub fn has_effect(&self) -> bool {
        match self {
            Action::Http(request) => !matches!(request.method.as_str(), "GET" | "HEAD"),
            Action::Command(_) => true,
            Action::Wait(_) | Action::Check(_) | Action::Manual(_) => false,
        }
    }
}

impl Step {
    /// A step with an effect that cannot be undone waits for a person's approval.
    pub fn needs_approval(&self) -> bool {
        self.action.has_effect() && !self.reversible
    }
}

/// What checking needs to know about the rest of the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunbookLimits {
    /// `settings.runbook_commands`: the only executables a command step may run.
    pub allowed_commands: Vec<String>,
    /// The organisation's SLO ids, for `check: {slo: ...}`.
    pub slo_ids: BTreeSet<String>,
    /// The organisation's services, for `applies_to.services`.
    pub service_ids: BTreeSet<String>,
}

const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

impl RawRunbook {
    /// Checks the runbook; `field` prefixes every problem (e.g. `runbooks[0]`).
    pub fn check(&self, field: &str, limits: &RunbookLimits) -> Result<Runbook, Vec<String>> {
        let mut problems = Vec::new();
        if !valid_name(&self.name) {
            problems.push(format!(
                "{field}.name: {:?} must be letters, digits, '-', '_' or '.', starting with a letter or digit",
                self.name
            ));
        }
        let approval_required = match self.approval.as_deref() {
            None | Some("none") => false,
            Some("required") => true,
            Some(other) => {
                problems.push(format!("{field}.approval: {other:?} must be required or none"));
                false
            }
        };
        let applies_to = check_applies_to(&self.applies_to, &format!("{field}.applies_to"), limits, &mut problems);
        let recovery =
            self.recovery.as_ref().and_then(|raw| check_check(raw, &format!("{field}.recovery"), limits, &mut problems));
        if self.steps.is_empty() {
            problems.push(format!("{field}.steps: a runbook needs at least one step"));
        }
        let mut steps = Vec::new();
        for (index, raw_step) in self.steps.iter().enumerate() {
            if let Some(step) = check_step(raw_step, &format!("{field}.steps[{index}]"), index, limits, true, &mut problems) {
                steps.push(step);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Runbook {
            name: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            applies_to,
            approval_required,
            recovery,
            steps,
            raw: self.clone(),
        })
    }
}

/// Whether `name` can name a runbook: it appears in URLs and in the CLI.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn check_applies_to(raw: &RawAppliesTo, field: &str, limits: &RunbookLimits, problems: &mut Vec<String>) -> AppliesTo {
    for (index, service) in raw.services.iter().enumerate() {
        if !limits.service_ids.contains(service) {
            problems.push(format!("{field}.services[{index}]: unknown service {service:?}"));
        }
    }
    let mut matchers = Vec::new();
    for (index, text) in raw.matchers.iter().enumerate() {
        match parse_matchers(text) {
            Ok(parsed) => matchers.extend(parsed),
            Err(error) => problems.push(format!("{field}.matchers[{index}]: {error}")),
        }
    }
    AppliesTo { services: raw.services.clone(), symptoms: raw.symptoms.clone(), alert_names: raw.alert_names.clone(), matchers }
}

fn check_step(
    raw: &RawStep,
    field: &str,
    index: usize,
    limits: &RunbookLimits,
    allow_undo: bool,
    problems: &mut Vec<String>,
) -> Option<Step> {
    let before = problems.len();
    let kinds = [raw.http.is_some(), raw.command.is_some(), raw.wait.is_some(), raw.check.is_some(), raw.manual.is_some()];
    let kind_count = kinds.iter().filter(|present| **present).count();
    if kind_count != 1 {
        problems.push(format!("{field}: a step has exactly one of http, command, wait, check or manual ({kind_count} given)"));
        return None;
    }
    let action = if let Some(http) = &raw.http {
        check_http(http, field, problems).map(Action::Http)
    } else if let Some(command) = &raw.command {
        check_command(command, field, limits, problems).map(Action::Command)
    } else if let Some(wait) = raw.wait {
        if wait > MAX_STEP_TIMEOUT {
            problems.push(format!("{field}.wait: {wait} is longer than {MAX_STEP_TIMEOUT}"));
        }
        Some(Action::Wait(wait))
    } else if let Some(check) = &raw.check {
        check_check(check, &format!("{field}.check"), limits, problems).map(Action::Check)
    } else {
        Some(Action::Manual(raw.manual.clone().unwrap_or_default()))
    };
    let action = action?;
    let has_effect = action.has_effect();
    let timeout = raw.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT);
    if timeout.as_millis() == 0 || timeout > MAX_STEP_TIMEOUT {
        problems.push(format!("{field}.timeout: {timeout} must be above 0 and at most {MAX_STEP_TIMEOUT}"));
    }
    let undo = match (&raw.undo, allow_undo) {
        (Some(_), false) => {
            problems.push(format!("{field}.undo: an undo step has no undo of its own"));
            None
        }
        (Some(raw_undo), true) => check_step(raw_undo, &format!("{field}.undo"), index, limits, false, problems).map(Box::new),
        (None, _) => None,
    };
    // Steps without an effect change nothing, so they are reversible by nature.
    let reversible = raw.reversible.unwrap_or(!has_effect);
    if reversible && has_effect && undo.is_none() && allow_undo {
        problems.push(format!("{field}.undo: a reversible {} step says how to undo it", action.kind()));
    }
    if !reversible && !has_effect {
        problems.push(format!("{field}.reversible: a {} changes nothing and is always reversible", action.describe_kind()));
    }
    let idempotent = raw.idempotent.unwrap_or(!has_effect);
    let name = raw.name.clone().unwrap_or_else(|| format!("step {} ({})", index + 1, action.kind()));
    if problems.len() > before {
        return None;
    }
    Some(Step { name, action, reversible, undo, idempotent, timeout })
}

fn check_http(raw: &RawHttp, field: &str, problems: &mut Vec<String>) -> Option<HttpRequest> {
    let before = problems.len();
    let method = raw.method.clone().unwrap_or_else(|| "GET".to_string()).to_ascii_uppercase();
    if !HTTP_METHODS.contains(&method.as_str()) {
        problems.push(format!("{field}.http.method: {method:?} must be one of {}", HTTP_METHODS.join(", ")));
    }
    let url = match Template::parse(&raw.url) {
        Ok(url) => Some(url),
        Err(error) => {
            problems.push(format!("{field}.http.url: {error}"));
            None
        }
    };
    if !(raw.url.starts_with("http://") || raw.url.starts_with("https://")) {
        problems.push(format!("{field}.http.url: {:?} must start with http:// or https://", raw.url));
    } else if let Some(authority) = raw.url.split("://").nth(1).map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        && (authority.is_empty() || authority.contains("{{"))
    {
        // A value choosing the host would choose where the request goes.
        problems.push(format!("{field}.http.url: the host must be written out, not templated"));
    }
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            problems.push(format!("{field}.http.headers.{name}: not a header name"));
            continue;
        }
        match Template::parse(value) {
            Ok(template) => headers.push((name.clone(), template)),
            Err(error) => problems.push(format!("{field}.http.headers.{name}: {error}")),
        }
    }
    let body = match &raw.body {
        None => None,
        Some(value) => match JsonTemplate::parse(value.clone()) {
            Ok(body) => Some(body),
            Err((path, error)) => {
                problems.push(format!("{field}.http.body{path}: {error}"));
                None
            }
        },
    };
    for status in &raw.expect_status {
        if !(100..=599).contains(status) {
            problems.push(format!("{field}.http.expect_status: {status} is not an HTTP status"));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(HttpRequest { method, url: url?, headers, body, expect_status: raw.expect_status.clone() })
}

fn check_command(raw: &RawCommand, field: &str, limits: &RunbookLimits, problems: &mut Vec<String>) -> Option<CommandSpec> {
    let before = problems.len();
    let Some(program) = raw.argv.first() else {
        problems.push(format!("{field}.argv: empty: the first element is the executable's absolute path"));
        return None;
    };
    if program.contains("{{") {
        problems.push(format!("{field}.argv[0]: the executable must be written out, not templated"));
    } else if !program.starts_with('/') {
        problems.push(format!("{field}.argv[0]: {program:?} must be an absolute path"));
    } else if !limits.allowed_commands.iter().any(|allowed| allowed == program) {
        problems.push(format!("{field}.argv[0]: {program} is not in settings.runbook_commands"));
    }
    let mut argv = Vec::new();
    for (index, element) in raw.argv.iter().enumerate() {
        match Template::parse(element) {
            Ok(template) => argv.push(template),
            Err(error) => problems.push(format!("{field}.argv[{index}]: {error}")),
        }
    }
    for (index, name) in raw.env.iter().enumerate() {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            problems.push(format!("{field}.env[{index}]: {name:?} is not an environment variable name"));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(CommandSpec { argv, env: raw.env.clone() })
}

fn check_check(raw: &RawCheck, field: &str, limits: &RunbookLimits, problems: &mut Vec<String>) -> Option<Check> {
    match (&raw.slo, &raw.http) {
        (Some(slo), None) => {
            if !limits.slo_ids.contains(slo) {
                problems.push(format!("{field}.slo: unknown slo {slo:?}"));
                return None;
            }
            Some(Check::Slo(slo.clone()))
        }
        (None, Some(http)) => check_http(http, field, problems).map(Check::Http),
        _ => {
            problems.push(format!("{field}: give exactly one of slo or http"));
            None
        }
    }
}

/// What an incident offers to `applies_to`: its service, its alerts' labels, its symptom.
#[derive(Debug, Clone, Default)]
pub struct IncidentFacts {
    pub service_id: String,
    pub alert_labels: Vec<Labels>,
    pub symptom: Option<String>,
}

impl AppliesTo {
    /// Every criterion given must hold (any value of a list will do); an empty `applies_to`
    /// applies to everything. Matchers must all match one alert.
    pub fn matches(&self, facts: &IncidentFacts) -> bool {
        if !self.services.is_empty() && !self.services.contains(&facts.service_id) {
            return false;
        }
        if !self.symptoms.is_empty() && !facts.symptom.as_ref().is_some_and(|symptom| self.symptoms.contains(symptom)) {
            return false;
        }
        if !self.alert_names.is_empty()
            && !facts
                .alert_labels
                .iter()
                .any(|labels| labels.get("alertname").is_some_and(|name| self.alert_names.contains(name)))
        {
            return false;
        }
        if !self.matchers.is_empty()
            && !facts.alert_labels.iter().any(|labels| self.matchers.iter().all(|matcher| matcher.matches(labels)))
        {
            return false;
        }
        true
    }
}

impl Runbook {
    /// Every variable the runbook's templates read, for showing what a run will need.
    pub fn variables(&self) -> Vec<Variable> {
        fn from_request(request: &HttpRequest, found: &mut Vec<Variable>) {
            found.extend(request.url.variables().cloned());
            for (_, value) in &request.headers {
                found.extend(value.variables().cloned());
            }
            if let Some(body) = &request.body {
                found.extend(body.variables());
            }
        }
        fn from_action(action: &Action, found: &mut Vec<Variable>) {
            match action {
                Action::Http(request) | Action::Check(Check::Http(request)) => from_request(request, found),
                Action::Command(command) => command.argv.iter().for_each(|element| found.extend(element.variables().cloned())),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for step in &self.steps {
            from_action(&step.action, &mut found);
            if let Some(undo) = &step.undo {
                from_action(&undo.action, &mut found);
            }
        }
        found.dedup();
        found
    }
}
