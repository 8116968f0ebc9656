//! `staunch.yaml`: users and how to reach them, schedules, escalation policies, services with
//! their integration keys and routes, maintenance windows, SMTP and delivery settings.

use crate::deploys::{DeploySettings, RawDeploys, build_deploys};
use crate::heartbeats::{HeartbeatDefinition, RawHeartbeat, build_heartbeats};
use crate::runbooks::{build_runbooks, build_symptoms};
use crate::secret_digest;
use crate::slos::{RawSlo, SloDefinition, SloSettings, build_slos};
use crate::telemetry::TelemetrySettings;
use serde::Deserialize;
use staunch_domain::alert::SourceFormat;
use staunch_domain::directory::{Channel, ContactMethod, Directory, Integration, Service, SigningSecret, Team, User};
use staunch_domain::duration::HumanDuration;
use staunch_domain::escalation::EscalationPolicy;
use staunch_domain::matcher::parse_matchers;
use staunch_domain::rate_limit::RateLimit;
use staunch_domain::routing::{Route, RoutingTree};
use staunch_domain::runbook::{RawRunbook, Runbook, RunbookLimits};
use staunch_domain::schedule::Schedule;
use staunch_domain::tenant::{DEFAULT_ORG_SLUG, OrgId, OrgSlug};
use staunch_domain::triage::{RawSymptomRule, SymptomRule};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// A loaded, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The default organisation (the file's top-level keys) first, then `organisations:`.
    pub organisations: Vec<Organisation>,
    pub smtp: Option<SmtpSettings>,
    pub notifications: NotificationSettings,
    /// `settings:` (the SLO evaluation tick).
    pub settings: SloSettings,
    /// `telemetry:` (how long pushed telemetry is kept).
    pub telemetry: TelemetrySettings,
    /// `llm:` (off when it names no provider).
    pub llm: crate::llm::LlmSettings,
    /// Organisations by the id the database gave them (see [`Config::bind_org_ids`]). The
    /// default organisation is bound from the start: its id is fixed by the schema.
    bound: HashMap<OrgId, usize>,
    /// The organisation each bound integration key (by SHA-256) belongs to, so a request finds
    /// its tenant with one lookup however many organisations there are.
    key_owners: HashMap<String, OrgId>,
    /// What an organisation unknown to this file sees: nobody to page, no services.
    empty: Directory,
}

/// One tenant: its own users, teams, schedules, escalation policies and services.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub slug: OrgSlug,
    pub name: String,
    pub directory: Directory,
    /// Its service level objectives (`slos:`).
    pub slos: Vec<SloDefinition>,
    /// Its runbooks (`runbooks:`), in file order.
    pub runbooks: Vec<Runbook>,
    /// How its incidents' symptoms are named (`symptoms:`), first match wins.
    pub symptoms: Vec<SymptomRule>,
    /// Its outcome monitors (`heartbeats:`).
    pub heartbeats: Vec<HeartbeatDefinition>,
    /// Deploy links, rollbacks and pipeline pages (`deploys:`).
    pub deploys: DeploySettings,
    /// What each service does with alerts judged likely noise (`services[].noise`).
    pub noise: crate::noise::NoiseSettings,
}

impl Config {
    /// The directory of the default organisation (the file's top-level keys).
    pub fn default_directory(&self) -> &Directory {
        &self.organisations[0].directory
    }

    pub fn organisation(&self, slug: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|organisation| organisation.slug.as_str() == slug)
    }

    /// Records the id the database gave each organisation, by slug. Until an organisation is
    /// bound nothing can reach it: no integration key resolves to it.
    pub fn bind_org_ids(&mut self, ids: &[(OrgSlug, OrgId)]) {
        for (slug, org) in ids {
            if let Some(index) = self.organisations.iter().position(|organisation| &organisation.slug == slug) {
                self.bind(*org, index);
            }
        }
    }

    fn bind(&mut self, org: OrgId, index: usize) {
        self.bound.insert(org, index);
        for digest in self.organisations[index].directory.integrations_by_key_sha256.keys() {
            self.key_owners.insert(digest.clone(), org);
        }
    }

    /// The directory of `org`; empty for an organisation this file does not describe.
    pub fn directory(&self, org: OrgId) -> &Directory {
        self.bound.get(&org).map_or(&self.empty, |index| &self.organisations[*index].directory)
    }

    /// The organisation the database numbered `org`, once bound.
    pub fn organisation_by_id(&self, org: OrgId) -> Option<&Organisation> {
        self.bound.get(&org).map(|index| &self.organisations[*index])
    }

    /// The bound organisations with their ids.
    pub fn bound_organisations(&self) -> impl Iterator<Item = (OrgId, &Organisation)> {
        self.bound.iter().map(|(org, index)| (*org, &self.organisations[*index]))
    }

    /// The integration whose key has this SHA-256, and the organisation it belongs to. Keys are
    /// unique across organisations, so a key alone names its tenant.
    pub fn integration(&self, key_sha256: &str) -> Option<(OrgId, &Integration)> {
        let org = *self.key_owners.get(key_sha256)?;
        self.directory(org).integration(key_sha256).map(|integration| (org, integration))
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `none` (plain, for a local relay), `starttls`, or `tls` (implicit TLS).
    #[serde(default)]
    pub tls: SmtpTls,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn default_smtp_port() -> u16 {
    25
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    #[default]
    Starttls,
    Tls,
}

/// How the outbox retries a failing channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Attempts per delivery before it is marked failed (and the failure put on the timeline).
    pub max_attempts: u32,
    pub initial_backoff: HumanDuration,
    pub max_backoff: HumanDuration,
    /// Per-attempt timeout of a send.
    pub timeout: HumanDuration,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            max_attempts: 10,
            initial_backoff: HumanDuration::from_secs(1),
            max_backoff: HumanDuration::from_secs(300),
            timeout: HumanDuration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", render_problems(.source_name, .problems))]
pub struct ConfigError {
    pub source_name: String,
    pub problems: Vec<String>,
}

fn render_problems(source_name: &str, problems: &[String]) -> String {
    if problems.len() == 1 {
        return format!("{source_name}: {}", problems[0]);
    }
    let mut text = format!("{source_name}: {} problems", problems.len());
    for problem in problems {
        text.push_str("\n  - ");
        text.push_str(problem);
    }
    text
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    smtp: Option<SmtpSettings>,
    #[serde(default)]
    notifications: NotificationSettings,
    #[serde(default)]
    settings: SloSettings,
    #[serde(default)]
    telemetry: TelemetrySettings,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    teams: Vec<RawTeam>,
    #[serde(default)]
    schedules: Vec<Schedule>,
    #[serde(default)]
    escalation_policies: Vec<EscalationPolicy>,
    #[serde(default)]
    services: Vec<RawService>,
    #[serde(default)]
    slos: Vec<RawSlo>,
    #[serde(default)]
    runbooks: Vec<RawRunbook>,
    #[serde(default)]
    symptoms: Vec<RawSymptomRule>,
    #[serde(default)]
    heartbeats: Vec<RawHeartbeat>,
    #[serde(default)]
    deploys: RawDeploys,
    #[serde(default)]
    llm: Option<crate::llm::RawLlm>,
    /// Further tenants, each with its own directory.
    #[serde(default)]
    organisations: Vec<RawOrganisation>,
}

/// What one organisation defines; the file's top level is the default organisation's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    /// The slug, e.g. `acme`.
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    teams: Vec<RawTeam>,
    #[serde(default)]
    schedules: Vec<Schedule>,
    #[serde(default)]
    escalation_policies: Vec<EscalationPolicy>,
    #[serde(default)]
    services: Vec<RawService>,
    #[serde(default)]
    slos: Vec<RawSlo>,
    #[serde(default)]
    runbooks: Vec<RawRunbook>,
    #[serde(default)]
    symptoms: Vec<RawSymptomRule>,
    #[serde(default)]
    heartbeats: Vec<RawHeartbeat>,
    #[serde(default)]
    deploys: RawDeploys,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    contact_methods: Vec<RawContactMethod>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawContactMethod {
    Email {
        #[serde(default)]
        id: Option<String>,
        address: String,
    },
    Webhook {
        #[serde(default)]
        id: Option<String>,
        url: String,
        #[serde(default)]
        secret: Option<String>,
    },
    Slack {
        #[serde(default)]
        id: Option<String>,
        webhook_url: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    escalation_policy: Option<String>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default = "yes")]
    auto_resolve: bool,
    #[serde(default)]
    integrations: Vec<RawIntegration>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    noise: Option<crate::noise::RawServiceNoise>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntegration {
    #[serde(default)]
    name: Option<String>,
    /// `alertmanager`, `events_v2` (or `pagerduty`), `opsgenie` or `grafana`.
    #[serde(rename = "type")]
    format: String,
    key: String,
    /// `{per_second: N, burst: M}` alert events; senders beyond it are answered 429.
    #[serde(default)]
    rate_limit: Option<RateLimit>,
    /// The secret a `github` integration's deliveries (or a `slack` app's requests) are
    /// signed with.
    #[serde(default)]
    secret: Option<String>,
    /// `slack` only: Slack user id → user id here; nobody else may act through it.
    #[serde(default)]
    slack_users: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    /// The service that receives matching alerts; inherits the parent's when absent.
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    matchers: Vec<String>,
    #[serde(default, rename = "continue")]
    continue_matching: bool,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

/// Reads and checks the config file at `path`.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError { source_name: source_name.clone(), problems: vec![format!("cannot read: {error}")] })?;
    parse_config(&text, &source_name)
}

/// Parses and checks config text. `source_name` prefixes every error.
pub fn parse_config(text: &str, source_name: &str) -> Result<Config, ConfigError> {
    let fail = |problems: Vec<String>| ConfigError { source_name: source_name.to_string(), problems };
    let raw: RawConfig = serde_saphyr::from_str(text).map_err(|error| fail(vec![error.to_string()]))?;
    build(raw).map_err(fail)
}

fn build(mut raw: RawConfig) -> Result<Config, Vec<String>> {
    let mut problems = Vec::new();
    let has_smtp = raw.smtp.is_some();
    let default_org = RawOrganisation {
        id: DEFAULT_ORG_SLUG.to_string(),
        name: None,
        users: raw.users,
        teams: raw.teams,
        schedules: raw.schedules,
        escalation_policies: raw.escalation_policies,
        services: raw.services,
        slos: raw.slos,
        runbooks: raw.runbooks,
        symptoms: raw.symptoms,
        heartbeats: raw.heartbeats,
        deploys: raw.deploys,
    };
    let mut organisations: Vec<Organisation> = Vec::new();
    for (index, mut raw_organisation) in std::iter::once(default_org).chain(raw.organisations).enumerate() {
        // The default organisation's fields keep their plain names in messages.
        let prefix = if index == 0 { String::new() } else { format!("organisations.{}.", raw_organisation.id) };
        let slug = match OrgSlug::parse(&raw_organisation.id) {
            Ok(slug) => slug,
            Err(error) => {
                problems.push(format!("organisations[{}].id: {error}", index - 1));
                continue;
            }
        };
        if organisations.iter().any(|organisation| organisation.slug == slug) {
            let what = if slug.as_str() == DEFAULT_ORG_SLUG { "is the top-level organisation's" } else { "is used twice" };
            problems.push(format!("organisations[{}].id: {:?} {what}", index - 1, slug.as_str()));
            continue;
        }
        let name = raw_organisation.name.clone().unwrap_or_else(|| slug.as_str().to_string());
        let mut organisation_problems = Vec::new();
        let raw_slos = std::mem::take(&mut raw_organisation.slos);
        let raw_runbooks = std::mem::take(&mut raw_organisation.runbooks);
        let raw_symptoms = std::mem::take(&mut raw_organisation.symptoms);
        let raw_heartbeats = std::mem::take(&mut raw_organisation.heartbeats);
        let raw_deploys = std::mem::take(&mut raw_organisation.deploys);
        let raw_noise: Vec<(String, crate::noise::RawServiceNoise)> = raw_organisation
            .services
            .iter_mut()
            .filter_map(|service| service.noise.take().map(|noise| (service.id.clone(), noise)))
            .collect();
        let directory = build_directory(raw_organisation, has_smtp, &mut organisation_problems);
        let service_ids: BTreeSet<String> = directory.services.keys().cloned().collect();
        let slos = build_slos(raw_slos, &service_ids, &mut organisation_problems);
        let limits = RunbookLimits {
            allowed_commands: raw.settings.runbook_commands.clone(),
            slo_ids: slos.iter().map(|slo| slo.id.clone()).collect(),
            service_ids: service_ids.clone(),
        };
        let runbooks = build_runbooks(raw_runbooks, &limits, &mut organisation_problems);
        let symptoms = build_symptoms(raw_symptoms, &mut organisation_problems);
        let heartbeats = build_heartbeats(raw_heartbeats, &service_ids, &mut organisation_problems);
        let runbook_names: BTreeSet<String> = runbooks.iter().map(|runbook| runbook.name.clone()).collect();
        let deploys = build_deploys(raw_deploys, &service_ids, &runbook_names, &mut organisation_problems);
        let noise = crate::noise::build_noise(raw_noise, &mut organisation_problems);
        problems.extend(organisation_problems.into_iter().map(|problem| format!("{prefix}{problem}")));
        for digest in directory.integrations_by_key_sha256.keys() {
            if let Some(other) =
                organisations.iter().find(|other| other.directory.integrations_by_key_sha256.contains_key(digest))
            {
                problems
                    .push(format!("{prefix}services: an integration key is also used by organisation {:?}", other.slug.as_str()));
            }
        }
        organisations.push(Organisation { slug, name, directory, slos, runbooks, symptoms, heartbeats, deploys, noise });
    }
    raw.settings.check(&mut problems);
    raw.telemetry.check(&mut problems);
    let slugs: Vec<&str> = organisations.iter().map(|organisation| organisation.slug.as_str()).collect();
    raw.telemetry.check_organisations(&slugs, &mut problems);
    let llm = crate::llm::build_llm(raw.llm, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut config = Config {
        organisations,
        smtp: raw.smtp,
        notifications: raw.notifications,
        settings: raw.settings,
        telemetry: raw.telemetry,
        llm,
        bound: HashMap::new(),
        key_owners: HashMap::new(),
        empty: Directory::default(),
    };
    config.bind(OrgId::DEFAULT, 0);
    Ok(config)
}

fn build_directory(raw: RawOrganisation, has_smtp: bool, problems: &mut Vec<String>) -> Directory {
    let mut directory = Directory::default();

    for raw_user in raw.users {
        if directory.users.contains_key(&raw_user.id) {
            problems.push(format!("users: duplicate user id {:?}", raw_user.id));
            continue;
        }
        let mut contact_methods = Vec::new();
        for (index, raw_method) in raw_user.contact_methods.into_iter().enumerate() {
            let field = format!("users.{}.contact_methods[{index}]", raw_user.id);
            let (explicit_id, channel) = match raw_method {
                RawContactMethod::Email { id, address } => {
                    if !address.contains('@') {
                        problems.push(format!("{field}.address: {address:?} is not an email address"));
                    }
                    if !has_smtp {
                        problems.push(format!("{field}: email contact methods need an `smtp:` section"));
                    }
                    (id, Channel::Email { address })
                }
                RawContactMethod::Webhook { id, url, secret } => {
                    check_http_url(&url, &format!("{field}.url"), problems);
                    (id, Channel::Webhook { url, secret })
                }
                RawContactMethod::Slack { id, webhook_url } => {
                    check_http_url(&webhook_url, &format!("{field}.webhook_url"), problems);
                    (id, Channel::Slack { webhook_url })
                }
            };
            let id = explicit_id.unwrap_or_else(|| format!("{}/{}-{}", raw_user.id, channel.kind(), index + 1));
            if contact_methods.iter().any(|method: &ContactMethod| method.id == id) {
                problems.push(format!("{field}.id: duplicate contact method id {id:?}"));
            }
            contact_methods.push(ContactMethod { id, channel });
        }
        let user = User { name: raw_user.name.unwrap_or_else(|| raw_user.id.clone()), id: raw_user.id.clone(), contact_methods };
        directory.users.insert(raw_user.id, user);
    }

    for raw_team in raw.teams {
        for member in &raw_team.members {
            if !directory.users.contains_key(member) {
                problems.push(format!("teams.{}.members: unknown user {member:?}", raw_team.id));
            }
        }
        let team = Team {
            name: raw_team.name.unwrap_or_else(|| raw_team.id.clone()),
            id: raw_team.id.clone(),
            members: raw_team.members,
        };
        if directory.teams.insert(raw_team.id.clone(), team).is_some() {
            problems.push(format!("teams: duplicate team id {:?}", raw_team.id));
        }
    }

    let user_exists = |id: &str| directory.users.contains_key(id);
    for schedule in raw.schedules {
        if let Err(errors) = schedule.validate(&user_exists) {
            problems.extend(errors.iter().map(|error| format!("schedules: {error}")));
        }
        if directory.schedules.contains_key(&schedule.id) {
            problems.push(format!("schedules: duplicate schedule id {:?}", schedule.id));
        }
        directory.schedules.insert(schedule.id.clone(), schedule);
    }

    let schedule_ids: BTreeSet<String> = directory.schedules.keys().cloned().collect();
    for policy in raw.escalation_policies {
        let errors = policy.validate(&|id| directory.users.contains_key(id), &|id| schedule_ids.contains(id));
        problems.extend(errors.iter().map(|error| format!("escalation_policies: {error}")));
        if directory.escalation_policies.contains_key(&policy.id) {
            problems.push(format!("escalation_policies: duplicate policy id {:?}", policy.id));
        }
        directory.escalation_policies.insert(policy.id.clone(), policy);
    }

    let service_ids: BTreeSet<String> = raw.services.iter().map(|service| service.id.clone()).collect();
    for raw_service in raw.services {
        let field = format!("services.{}", raw_service.id);
        if directory.services.contains_key(&raw_service.id) {
            problems.push(format!("services: duplicate service id {:?}", raw_service.id));
            continue;
        }
        if let Some(team) = &raw_service.team
            && !directory.teams.contains_key(team)
        {
            problems.push(format!("{field}.team: unknown team {team:?}"));
        }
        if let Some(policy) = &raw_service.escalation_policy
            && !directory.escalation_policies.contains_key(policy)
        {
            problems.push(format!("{field}.escalation_policy: unknown escalation policy {policy:?}"));
        }
        for (index, raw_integration) in raw_service.integrations.iter().enumerate() {
            let integration_field = format!("{field}.integrations[{index}]");
            let format = match raw_integration.format.as_str() {
                "pagerduty" => SourceFormat::EventsV2,
                "api" => {
                    problems.push(format!("{integration_field}.type: \"api\" is not an integration type"));
                    continue;
                }
                other => match SourceFormat::parse(other) {
                    Some(format) => format,
                    None => {
                        problems.push(format!(
                            "{integration_field}.type: unknown type {other:?}, expected alertmanager, events_v2, opsgenie, grafana, github or slack"
                        ));
                        continue;
                    }
                },
            };
            if raw_integration.key.len() < 16 {
                problems.push(format!("{integration_field}.key: must be at least 16 characters"));
                continue;
            }
            if format == SourceFormat::GitHub && raw_integration.secret.as_deref().is_none_or(str::is_empty) {
                problems.push(format!("{integration_field}.secret: a github integration needs the webhook's secret"));
            }
            if format == SourceFormat::Slack && raw_integration.secret.as_deref().is_none_or(str::is_empty) {
                problems.push(format!("{integration_field}.secret: a slack integration needs the app's signing secret"));
            }
            if format != SourceFormat::Slack && !raw_integration.slack_users.is_empty() {
                problems.push(format!("{integration_field}.slack_users: only a slack integration has slack users"));
            }
            for (slack_user, user) in &raw_integration.slack_users {
                if !directory.users.contains_key(user) {
                    problems.push(format!("{integration_field}.slack_users.{slack_user}: unknown user {user:?}"));
                }
            }
            if let Some(limit) = &raw_integration.rate_limit
                && let Err(error) = limit.check()
            {
                problems.push(format!("{integration_field}.rate_limit: {error}"));
            }
            let integration = Integration {
                name: raw_integration.name.clone().unwrap_or_else(|| format!("{}-{}", raw_service.id, raw_integration.format)),
                service_id: raw_service.id.clone(),
                format,
                rate_limit: raw_integration.rate_limit,
                signing_secret: raw_integration.secret.clone().map(SigningSecret),
                slack_users: raw_integration.slack_users.clone(),
            };
            let digest = secret_digest(&raw_integration.key);
            if directory.integrations_by_key_sha256.insert(digest, integration).is_some() {
                problems.push(format!("{integration_field}.key: the same key is used by another integration"));
            }
        }
        let mut route_receivers = vec![raw_service.id.clone()];
        collect_route_services(&raw_service.routes, &mut route_receivers);
        let routes = if raw_service.routes.is_empty() {
            None
        } else {
            let root = Route {
                receiver: Some(raw_service.id.clone()),
                matchers: Vec::new(),
                continue_matching: false,
                group_by: None,
                routes: build_routes(&raw_service.routes, &format!("{field}.routes"), &service_ids, problems),
            };
            match RoutingTree::new(root) {
                Ok(tree) => Some(tree),
                Err(error) => {
                    problems.push(format!("{field}.routes: {error}"));
                    None
                }
            }
        };
        directory.services.insert(
            raw_service.id.clone(),
            Service {
                name: raw_service.name.unwrap_or_else(|| raw_service.id.clone()),
                id: raw_service.id,
                team_id: raw_service.team,
                escalation_policy_id: raw_service.escalation_policy,
                group_by: raw_service.group_by,
                auto_resolve: raw_service.auto_resolve,
                routes,
                route_receivers,
            },
        );
    }

    directory
}

fn build_routes(raw_routes: &[RawRoute], field: &str, service_ids: &BTreeSet<String>, problems: &mut Vec<String>) -> Vec<Route> {
    let mut routes = Vec::new();
    for (index, raw_route) in raw_routes.iter().enumerate() {
        let route_field = format!("{field}[{index}]");
        if let Some(service) = &raw_route.service
            && !service_ids.contains(service)
        {
            problems.push(format!("{route_field}.service: unknown service {service:?}"));
        }
        let mut matchers = Vec::new();
        for (matcher_index, text) in raw_route.matchers.iter().enumerate() {
            match parse_matchers(text) {
                Ok(parsed) => matchers.extend(parsed),
                Err(error) => problems.push(format!("{route_field}.matchers[{matcher_index}]: {error}")),
            }
        }
        routes.push(Route {
            receiver: raw_route.service.clone(),
            matchers,
            continue_matching: raw_route.continue_matching,
            group_by: None,
            routes: build_routes(&raw_route.routes, &format!("{route_field}.routes"), service_ids, problems),
        });
    }
    routes
}

fn collect_route_services(raw_routes: &[RawRoute], services: &mut Vec<String>) {
    for raw_route in raw_routes {
        if let Some(service) = &raw_route.service
            && !services.contains(service)
        {
            services.push(service.clone());
        }
        collect_route_services(&raw_route.routes, services);
    }
}

fn check_http_url(url: &str, field: &str, problems: &mut Vec<String>) {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        problems.push(format!("{field}: {url:?} must start with http:// or https://"));
    }
}
