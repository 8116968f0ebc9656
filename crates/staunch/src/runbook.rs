//! `staunch runbook`: list runbooks and an incident's candidates, start (or dry-run) a run,
//! approve it, tick a manual step, undo it, and show an incident's runs, through the API.

use clap::Subcommand;
use staunch_cli::{render_candidates, render_run, render_runbooks, render_runs};

use crate::args::ClientArgs;

#[derive(Subcommand)]
pub enum RunbookCommand {
    /// List the runbooks, or with --incident the ones that apply to it, best first, and its
    /// symptom
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        incident: Option<i64>,
    },
    /// Run a runbook on an incident (with --dry-run: show every step rendered, run nothing)
    Run {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
        runbook: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Give the approval a run waits for (the whole run's, or its current step's)
    Approve {
        #[command(flatten)]
        client: ClientArgs,
        run: i64,
    },
    /// Mark a manual step as done
    Tick {
        #[command(flatten)]
        client: ClientArgs,
        run: i64,
        /// The step's index, from 0, as `staunch runbook status` shows it
        step: usize,
    },
    /// Undo a run's applied reversible steps, newest first
    Undo {
        #[command(flatten)]
        client: ClientArgs,
        run: i64,
    },
    /// Show an incident's runbook runs with the status of every step
    Status {
        #[command(flatten)]
        client: ClientArgs,
        incident: i64,
    },
}

use crate::client_commands::client;

fn print(options: &ClientArgs, response: &serde_json::Value, render: impl Fn(&serde_json::Value) -> String) {
    if options.json {
        println!("{}", serde_json::to_string_pretty(response).unwrap_or_default());
    } else {
        print!("{}", render(response));
    }
}

pub async fn run(command: RunbookCommand) -> anyhow::Result<()> {
    match command {
        RunbookCommand::List { client: options, incident: None } => {
            let response = client(&options).get("/api/v1/runbooks", &[]).await?;
            print(&options, &response, render_runbooks);
        }
        RunbookCommand::List { client: options, incident: Some(incident) } => {
            let response = client(&options).get(&format!("/api/v1/incidents/{incident}/runbooks"), &[]).await?;
            print(&options, &response, render_candidates);
        }
        RunbookCommand::Run { client: options, incident, runbook, dry_run } => {
            let body = serde_json::json!({ "runbook": runbook, "dry_run": dry_run });
            let response = client(&options).post(&format!("/api/v1/incidents/{incident}/runbooks"), body).await?;
            print(&options, &response, |response| render_run(&response["run"]));
        }
        RunbookCommand::Approve { client: options, run } => {
            let response = client(&options).post(&format!("/api/v1/runbook-runs/{run}/approve"), serde_json::json!({})).await?;
            print(&options, &response, |response| render_run(&response["run"]));
        }
        RunbookCommand::Tick { client: options, run, step } => {
            let path = format!("/api/v1/runbook-runs/{run}/steps/{step}/tick");
            let response = client(&options).post(&path, serde_json::json!({})).await?;
            print(&options, &response, |response| render_run(&response["run"]));
        }
        RunbookCommand::Undo { client: options, run } => {
            let response = client(&options).post(&format!("/api/v1/runbook-runs/{run}/undo"), serde_json::json!({})).await?;
            print(&options, &response, |response| render_run(&response["run"]));
        }
        RunbookCommand::Status { client: options, incident } => {
            let response = client(&options).get(&format!("/api/v1/incidents/{incident}/runbook-runs"), &[]).await?;
            print(&options, &response, render_runs);
        }
    }
    Ok(())
}
