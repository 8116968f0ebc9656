//! The command line.

use clap::{Args as ClapArgs, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "staunch",
    version,
    about = "Self-hosted incident response: alerts in, the right human paged, incidents tracked to resolution"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// The CPUs `serve --cpus` asks for, to set before the runtime starts its threads.
    pub fn cpus(&self) -> Option<&[usize]> {
        match &self.command {
            Command::Serve(serve) => serve.cpus.as_ref().map(|cpus| cpus.0.as_slice()),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// A complete on-call shift in under a minute, with no set-up: page, triage, runbook, postmortem
    Demo {
        /// Keep the demo's files (config, database, regression case) here instead of a temporary directory
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run the server (creates ./staunch.yaml and an SQLite database beside it on first start)
    Serve(ServeArgs),
    /// Write a commented, working example configuration
    Init {
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Check a configuration file and say what it defines
    CheckConfig {
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
    },
    /// Routing trees
    Routes {
        #[command(subcommand)]
        command: RoutesCommand,
    },
    /// Service level objectives
    Slo {
        #[command(subcommand)]
        command: SloCommand,
    },
    /// Runbooks: list, run, approve, tick, undo, status
    Runbook {
        #[command(subcommand)]
        command: crate::runbook::RunbookCommand,
    },
    /// Heartbeat (outcome) monitors: business events against their usual weekly pattern
    Heartbeat {
        #[command(subcommand)]
        command: HeartbeatCommand,
    },
    /// Evaluate Staunch on recorded data
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// List incidents
    Incidents {
        #[command(flatten)]
        client: ClientArgs,
        /// Comma-separated states (default: open ones)
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        service: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one incident with its timeline
    Show {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Acknowledge an incident (stops its escalation)
    Ack {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Resolve an incident
    Resolve {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Mark an incident mitigated (the bleeding has stopped)
    Mitigate {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Page the next escalation level now
    Escalate {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
    /// Add a note to an incident's timeline
    Note {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        text: String,
    },
    /// Hand an incident to someone else (they are paged)
    Reassign {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        user: String,
    },
    /// Change an incident's severity (sev1, sev2, sev3)
    Severity {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(value_parser = ["sev1", "sev2", "sev3"])]
        severity: String,
    },
    /// Silences: matching alerts are recorded but page nobody
    Silence {
        #[command(subcommand)]
        command: SilenceCommand,
    },
    /// Who is on call
    Oncall {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        schedule: Option<String>,
        /// An RFC 3339 instant, e.g. 2026-03-29T01:30:00Z (default: now)
        #[arg(long)]
        at: Option<String>,
    },
    /// The audit log: every change made through the API or the CLI (admin tokens only)
    Audit {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// API tokens (written straight to the database)
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Apply pending schema migrations to the database and report its schema version
    Migrate {
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
        /// Database: a path, sqlite: URL or postgres:// URL (default: staunch.db beside the config)
        #[arg(long, env = "STAUNCH_DB")]
        db: Option<String>,
    },
    /// Write the whole database as JSON Lines, to move it to another database with `import`
    Export {
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
        /// Database: a path, sqlite: URL or postgres:// URL (default: staunch.db beside the config)
        #[arg(long, env = "STAUNCH_DB")]
        db: Option<String>,
        /// The file to write, or - for standard output
        #[arg(long)]
        out: String,
    },
    /// Load an export into an empty database (SQLite or PostgreSQL), keeping every id
    Import {
        /// The database to load into: a path, sqlite: URL or postgres:// URL
        #[arg(long)]
        db: String,
        /// The export file, or - for standard input
        #[arg(long = "in")]
        input: String,
    },
    /// Print an incident's blameless postmortem (Markdown; --html for a page)
    Postmortem {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        #[arg(long)]
        html: bool,
    },
    /// The service catalog: owners and dependencies, from Backstage catalog-info.yaml
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// One incident's investigation, follow-ups and regression case
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Regression cases written by `staunch incident export-case`
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// MTTA, MTTR, incidents per service and severity, and the four DORA metrics
    Report {
        #[command(flatten)]
        client: ClientArgs,
        /// RFC 3339 instant (default: 30 days before --until)
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 instant (default: now)
        #[arg(long)]
        until: Option<String>,
        /// How soon after a deploy an incident of its service makes it a failed change, e.g. 1h
        #[arg(long)]
        failure_window: Option<String>,
    },
    /// Print webhook pages as they arrive, checking their signature
    WebhookReceiver {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
        /// The contact method's secret; signatures are checked when given
        #[arg(long, env = "STAUNCH_WEBHOOK_SECRET")]
        secret: Option<String>,
    },
}

#[derive(ClapArgs)]
pub struct ServeArgs {
    #[arg(long, default_value = "staunch.yaml")]
    pub config: PathBuf,
    /// Database: a path or sqlite: URL (default: staunch.db beside the config)
    #[arg(long, env = "STAUNCH_DB")]
    pub db: Option<String>,
    #[arg(long, default_value = "127.0.0.1:8080", env = "STAUNCH_LISTEN")]
    pub listen: SocketAddr,
    /// `full` fsyncs every commit (survives power loss); `normal` survives a crash of the
    /// process but not of the machine
    #[arg(long, default_value = "full", value_parser = ["full", "normal"])]
    pub durability: String,
    /// Serve HTTPS: a PEM certificate chain (with --tls-key)
    #[arg(long, requires = "tls_key", env = "STAUNCH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, requires = "tls_cert", env = "STAUNCH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Run only on these CPUs (Linux), e.g. `1` or `0-1`: on a small virtual machine, one
    /// core avoids waking threads across cores on every statement (see docs/benchmarks.md)
    #[arg(long, env = "STAUNCH_CPUS", value_parser = crate::affinity::parse_cpus)]
    pub(crate) cpus: Option<crate::affinity::CpuList>,
}

#[derive(ClapArgs)]
pub struct ClientArgs {
    /// Base URL of the server
    #[arg(long, env = "STAUNCH_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API token (default: the contents of ./staunch.token)
    #[arg(long, env = "STAUNCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
enum RoutesCommand {
    /// Print the receivers a label set is routed to, as `amtool config routes test` does
    Test {
        #[arg(long)]
        alertmanager_config: PathBuf,
        /// Labels as name=value
        labels: Vec<String>,
    },
}

#[derive(Subcommand)]
enum SloCommand {
    /// Write Prometheus recording and alerting rules for a Sloth SLO spec to stdout, as
    /// `sloth generate` does (prometheus/v1, Kubernetes PrometheusServiceLevel or OpenSLO v1alpha)
    Rules(SloRulesArgs),
    /// Print the `slos:` section for staunch.yaml equivalent to a Sloth prometheus/v1 spec or
    /// OpenSLO v1 SLO/SLI documents
    Import {
        /// The spec file (several YAML documents may be separated by ---)
        file: PathBuf,
    },
    /// Show every SLO: objective, SLI over the window, budget left, burn rate per window, state
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
enum HeartbeatCommand {
    /// Show every heartbeat monitor: events over its window, events expected, state
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(ClapArgs)]
pub struct SloRulesArgs {
    /// The spec file (several YAML documents may be separated by ---)
    pub file: PathBuf,
    /// Labels added to every generated rule, as key=value (repeatable)
    #[arg(long = "extra-labels", short = 'l', value_name = "KEY=VALUE")]
    pub extra_labels: Vec<String>,
    /// The SLO period of specs that do not name one
    #[arg(long, default_value = "30d")]
    pub default_slo_period: String,
    /// A directory of Sloth AlertWindows files replacing the built-in windows (30d, 28d, 7d)
    #[arg(long)]
    pub slo_period_windows_path: Option<PathBuf>,
    /// Leave out the alerting rules
    #[arg(long)]
    pub disable_alerts: bool,
    /// Leave out the recording rules
    #[arg(long)]
    pub disable_recordings: bool,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Root-cause analysis backtests
    Rca {
        #[command(subcommand)]
        command: RcaCommand,
    },
    /// Alert-noise backtest on a database's history: train on what was known before the split,
    /// score every incident opening after it, print recall on actionable alerts and pages avoided
    Noise {
        /// Database: a path, sqlite: URL or postgres:// URL
        #[arg(long, env = "STAUNCH_DB")]
        db: String,
        /// The organisation (slug)
        #[arg(long, default_value = "default")]
        org: String,
        /// Split at this time (RFC 3339); default: at --train-fraction of the labelled history
        #[arg(long, conflicts_with = "train_fraction")]
        split_at: Option<String>,
        /// Share of the labelled history (oldest first) to train on
        #[arg(long, default_value_t = 0.7)]
        train_fraction: f64,
        /// A fixed threshold instead of the one learnt from history
        #[arg(long)]
        threshold: Option<f64>,
        /// Print one JSON object with the figures and nothing else on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RcaCommand {
    /// Rank the injected service of every fault in a Nezha data set (its root or its rca_data
    /// directory) and print AS@1/AS@3/AS@5 per system
    Nezha {
        directory: PathBuf,
        /// Print one JSON object with the figures and nothing else on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SilenceCommand {
    /// Silence alerts matching Alertmanager-style matchers, e.g. '{env="staging"}'
    Add {
        #[command(flatten)]
        client: ClientArgs,
        matchers: String,
        /// How long, e.g. 2h
        #[arg(long, default_value = "1h")]
        duration: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// List silences
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// End a silence now
    Expire {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Make a catalog-info.yaml file (or every one under a directory) the organisation's whole
    /// catalog: new entities are added, changed ones updated, missing ones removed
    Import {
        #[command(flatten)]
        client: ClientArgs,
        path: PathBuf,
    },
    /// List the catalog's entities
    Show {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Ranked hypotheses (changes, services, similar past incidents) with their evidence
    Investigate {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        /// Compute it from what was known at this time (RFC 3339) instead of showing the latest
        #[arg(long)]
        as_of: Option<jiff::Timestamp>,
    },
    /// Write a resolved incident as a regression case (JSON)
    ExportCase {
        #[command(flatten)]
        client: ClientArgs,
        id: i64,
        /// The file to write (default: standard output)
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CasesCommand {
    /// Replay every case in a directory against the configuration's routes and grouping; exits
    /// non-zero when a past incident would no longer be recognised
    Check {
        directory: PathBuf,
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
        /// The organisation (slug) whose configuration the cases are checked against
        #[arg(long, default_value = "default")]
        org: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it once
    Create {
        name: String,
        #[arg(long, default_value = "responder", value_parser = ["viewer", "responder", "admin"])]
        role: String,
        /// The user the token acts as (its actions are recorded under this user)
        #[arg(long)]
        user: Option<String>,
        /// The organisation (slug) the token belongs to; it sees nothing of any other
        #[arg(long, default_value = "default")]
        org: String,
        #[arg(long, default_value = "staunch.yaml")]
        config: PathBuf,
        #[arg(long, env = "STAUNCH_DB")]
        db: Option<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    use crate::client_commands as client;
    match args.command {
        Command::Demo { dir } => crate::demo::run(dir).await,
        Command::Serve(serve_args) => crate::serve::run(serve_args).await,
        Command::Init { config, force } => crate::init::run(&config, force),
        Command::CheckConfig { config } => crate::init::check(&config),
        Command::Routes { command: RoutesCommand::Test { alertmanager_config, labels } } => {
            crate::routes::test(&alertmanager_config, &labels)
        }
        Command::Slo { command: SloCommand::Rules(rules_args) } => crate::slo::rules(&rules_args),
        Command::Eval { command: EvalCommand::Rca { command: RcaCommand::Nezha { directory, json } } } => {
            crate::eval::nezha(&directory, json)
        }
        Command::Eval { command: EvalCommand::Noise { db, org, split_at, train_fraction, threshold, json } } => {
            let options = crate::eval_noise::NoiseEvalOptions { db, org, split_at, train_fraction, threshold, json };
            crate::eval_noise::noise(options).await
        }
        Command::Slo { command: SloCommand::Import { file } } => crate::slo::import(&file),
        Command::Runbook { command } => crate::runbook::run(command).await,
        Command::Slo { command: SloCommand::Status { client: options } } => client::slo_status(&options).await,
        Command::Heartbeat { command: HeartbeatCommand::Status { client: options } } => client::heartbeat_status(&options).await,
        Command::Incidents { client: options, state, service, limit } => client::incidents(&options, state, service, limit).await,
        Command::Show { client: options, id } => client::show(&options, id).await,
        Command::Ack { client: options, id } => client::act(&options, id, "acknowledge").await,
        Command::Resolve { client: options, id } => client::act(&options, id, "resolve").await,
        Command::Mitigate { client: options, id } => client::act(&options, id, "mitigate").await,
        Command::Escalate { client: options, id } => client::act(&options, id, "escalate").await,
        Command::Note { client: options, id, text } => client::note(&options, id, &text).await,
        Command::Oncall { client: options, schedule, at } => client::oncall(&options, schedule, at).await,
        Command::Reassign { client: options, id, user } => {
            client::edit(&options, id, "reassign", serde_json::json!({ "user": user })).await
        }
        Command::Severity { client: options, id, severity } => {
            client::edit(&options, id, "severity", serde_json::json!({ "severity": severity })).await
        }
        Command::Audit { client: options, limit } => client::audit(&options, limit).await,
        Command::Silence { command: SilenceCommand::Add { client: options, matchers, duration, comment } } => {
            client::silence_add(&options, &matchers, &duration, &comment).await
        }
        Command::Silence { command: SilenceCommand::List { client: options } } => client::silence_list(&options).await,
        Command::Silence { command: SilenceCommand::Expire { client: options, id } } => {
            client::silence_expire(&options, id).await
        }
        Command::Token { command: TokenCommand::Create { name, role, user, org, config, db } } => {
            let request =
                crate::token::CreateToken { config_path: &config, db: db.as_deref(), org: &org, name: &name, role: &role, user };
            crate::token::create(request).await
        }
        Command::Migrate { config, db } => crate::migrate::run(&config, db.as_deref()).await,
        Command::Export { config, db, out } => crate::export::export(&config, db.as_deref(), &out).await,
        Command::Import { db, input } => crate::export::import(&db, &input).await,
        Command::Postmortem { client: options, id, html } => crate::learn::postmortem(&options, id, html).await,
        Command::Incident { command: IncidentCommand::ExportCase { client: options, id, out } } => {
            crate::learn::export_case(&options, id, out.as_deref()).await
        }
        Command::Incident { command: IncidentCommand::Investigate { client: options, id, as_of } } => {
            crate::investigate::investigate(&options, id, as_of).await
        }
        Command::Catalog { command: CatalogCommand::Import { client: options, path } } => {
            crate::investigate::import_catalog(&options, &path).await
        }
        Command::Catalog { command: CatalogCommand::Show { client: options } } => {
            crate::investigate::show_catalog(&options).await
        }
        Command::Cases { command: CasesCommand::Check { directory, config, org } } => {
            crate::learn::check_cases(&config, &org, &directory)
        }
        Command::Report { client: options, since, until, failure_window } => {
            crate::learn::report(&options, since, until, failure_window).await
        }
        Command::WebhookReceiver { listen, secret } => {
            staunch_server::receiver::run_receiver(listen, secret, crate::shutdown_signal()).await
        }
    }
}
