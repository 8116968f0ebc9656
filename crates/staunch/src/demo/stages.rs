//! The shift itself, stage by stage: set-up, healthy traffic, the outage, the page, triage,
//! acknowledgement, the runbook, resolution, the postmortem and the regression case.

use super::chat_service::ChatService;
use super::clock::ScaledClock;
use super::config::{self, DemoConfig, OBJECTIVE_PERCENT, RESPONDER, RUNBOOK, SLO_ID, SYMPTOM};
use super::load::{LoadGenerator, Tally};
use super::pager::Pager;
use super::{DemoDir, Progress, poll, stage};
use anyhow::Context;
use serde_json::{Value, json};
use staunch_cli::Client;
use staunch_server::{Clock, ServerOptions};
use staunch_store::{OrgId, Role};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Replies counted under one configuration before its success rate is printed: as many as the
/// service's health probe judges by.
const SAMPLE: u64 = super::chat_service::PROBE_SAMPLE;
/// The service configuration each runbook step leaves behind, in step order.
const AFTER_STEP: [&str; 3] = ["outage+fallback", "outage+fallback+cache", "outage+fallback+cache+shed"];

pub async fn run(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let progress = Progress::new();
    let dir = DemoDir::open(dir)?;
    // The server's own log is left out of the shift's story unless asked for.
    if std::env::var_os("STAUNCH_LOG").is_some() {
        crate::serve::init_tracing();
    }
    println!("staunch demo: one on-call shift on the embedded default (SQLite), no set-up");
    for line in config::scaling_explained() {
        println!("  {line}");
    }
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::starting_now());

    let running = stage("setup", Duration::from_secs(30), set_up(&progress, &dir, clock.clone())).await?;
    let outcome = shift(&progress, &running, &dir).await;
    running.load.stop().await;
    let _ = running.stop_server.send(());
    let _ = running.server.await;
    outcome?;
    if let DemoDir::Temporary(_) = dir {
        println!("(the demo's files were in a temporary directory, now removed; `staunch demo --dir DIR` keeps them)");
    }
    println!("staunch demo: the shift is over, every stage passed in {:.1} s", progress.elapsed().as_secs_f64());
    Ok(())
}

struct Running {
    config_path: PathBuf,
    api: Client,
    chat: ChatService,
    pager: Pager,
    load: LoadGenerator,
    stop_server: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn set_up(progress: &Progress, dir: &DemoDir, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let webhook_secret = crate::init::random_key();
    let pager = Pager::new(webhook_secret.clone(), clock.clone());
    let pager_url = pager.start().await.context("cannot start the webhook receiver")?;
    let chat = ChatService::default();
    let chat_url = chat.clone().start().await.context("cannot start the chat service")?;
    let events_key = crate::init::random_key();
    let text = config::render(&DemoConfig {
        pager_url: &pager_url,
        webhook_secret: &webhook_secret,
        chat_url: &chat_url,
        events_key: &events_key,
    });
    let config_path = dir.path().join("staunch.yaml");
    crate::init::write_private(&config_path, &text)?;
    progress.say("setup", &format!("wrote {}", config_path.display()));
    let mut staunch_config = staunch_config::load_config(&config_path)?;

    let database = dir.path().join("staunch.db").display().to_string();
    let opened = crate::serve::open_store(&database, staunch_store_sqlite::Durability::Full).await?;
    let store = opened.store.clone();
    crate::serve::bind_organisations(&mut staunch_config, store.as_ref()).await?;
    let minter = crate::token::Minter { actor: staunch_store::Actor::system(), origin: "staunch demo" };
    let token =
        crate::token::insert_token(store.as_ref(), OrgId::DEFAULT, "demo", Role::Responder, Some(RESPONDER.into()), minter)
            .await?;

    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let (listening, base_url) = tokio::sync::oneshot::channel::<String>();
    let options = ServerOptions { listen: "127.0.0.1:0".parse()?, tls: None };
    let server = tokio::spawn(async move {
        let served = staunch_server::serve(
            options,
            store,
            Arc::new(staunch_config),
            clock,
            |url| {
                let _ = listening.send(url);
            },
            async move {
                let _ = stopped.await;
            },
        )
        .await;
        drop(opened);
        served
    });
    let base_url = base_url.await.context("the server stopped before it listened")?;
    progress.say("setup", &format!("staunch listening on {base_url} (SQLite {database}), in this process"));
    progress.say("setup", &format!("chat service on {chat_url}; on-call {RESPONDER}'s webhook receiver on {pager_url}"));
    let load = LoadGenerator::start(&chat_url, &base_url, &token, SLO_ID);
    let api = Client::new(&base_url, Some(token));
    Ok(Running { config_path, api, chat, pager, load, stop_server, server })
}

async fn shift(progress: &Progress, running: &Running, dir: &DemoDir) -> anyhow::Result<()> {
    stage("healthy", Duration::from_secs(20), healthy(progress, running)).await?;

    running.chat.set_provider_failing(true);
    progress.say("outage", "the chat service's model provider now fails half of its calls");
    let incident_id = stage("page", Duration::from_secs(30), paged(progress, running)).await?;
    stage("triage", Duration::from_secs(15), triaged(progress, running, incident_id)).await?;
    stage("acknowledge", Duration::from_secs(15), acknowledge(progress, running, incident_id)).await?;
    let last_seen = std::cell::RefCell::new(String::from("no run started yet"));
    stage("runbook", Duration::from_secs(45), mitigate(progress, running, incident_id, &last_seen))
        .await
        .with_context(|| format!("last seen: {}", last_seen.borrow()))?;
    stage("resolve", Duration::from_secs(30), resolved(progress, running, incident_id)).await?;
    stage("postmortem", Duration::from_secs(15), postmortem(progress, running, incident_id)).await?;
    stage("case", Duration::from_secs(15), regression_case(progress, running, dir, incident_id)).await?;
    Ok(())
}

async fn get(api: &Client, path: &str) -> anyhow::Result<Value> {
    Ok(api.get(path, &[]).await?)
}

/// `text` cut to `limit` characters, marked when cut: one progress line stays one line.
fn shortened(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    text.chars().take(limit).collect::<String>() + "…"
}

/// A timeline entry's actor as `kind:id`, e.g. `user:sam`.
fn actor(entry: &Value) -> String {
    format!("{}:{}", entry["actor"]["kind"].as_str().unwrap_or("?"), entry["actor"]["id"].as_str().unwrap_or("?"))
}

fn measured(tally: Tally) -> String {
    format!("{:.1}% of {} replies succeeded (measured)", tally.percent(), tally.total)
}

async fn healthy(progress: &Progress, running: &Running) -> anyhow::Result<()> {
    let status = poll(async || {
        let status = get(&running.api, &format!("/api/v1/slos/{SLO_ID}")).await?;
        let (all, _, _) = running.load.totals();
        Ok((status["state"] == "ok" && all.total >= SAMPLE).then_some(status))
    })
    .await
    .with_context(|| push_trouble(running))?;
    progress.say(
        "healthy",
        &format!(
            "SLO {SLO_ID} ({OBJECTIVE_PERCENT}% of replies succeed) is {}; chat traffic: {}",
            status["state"].as_str().unwrap_or("?"),
            measured(running.load.tally("healthy"))
        ),
    );
    Ok(())
}

/// What the load generator last heard from the SLO events API, for error messages.
fn push_trouble(running: &Running) -> String {
    let (_, pushes, error) = running.load.totals();
    match error {
        Some(error) => format!("{pushes} SLI pushes accepted; the last one failed: {error}"),
        None => format!("{pushes} SLI pushes accepted"),
    }
}

async fn paged(progress: &Progress, running: &Running) -> anyhow::Result<i64> {
    let page = poll(async || {
        let pages = running.pager.pages();
        Ok(pages.into_iter().find(|page| page.body["event"] == "incident.triggered"))
    })
    .await?;
    let incident = &page.body["incident"];
    let incident_id = incident["id"].as_i64().context("the page names no incident id")?;
    let severity = incident["severity"].as_str().unwrap_or("?");
    if !page.signature_valid {
        anyhow::bail!("the page arrived but its signature did not verify");
    }
    if severity != "sev1" {
        anyhow::bail!("the page was {severity}, expected sev1");
    }
    progress.say(
        "page",
        &format!(
            "{severity} page arrived at the webhook receiver: POST {} incident #{incident_id} \"{}\" (signature valid)",
            page.path,
            shortened(incident["title"].as_str().unwrap_or("?"), 72)
        ),
    );
    let outage = running.load.wait_for_sample("outage", SAMPLE).await;
    progress.say("page", &format!("while the provider fails: {}", measured(outage)));
    Ok(incident_id)
}

async fn timeline(running: &Running, incident_id: i64) -> anyhow::Result<Vec<Value>> {
    let timeline = get(&running.api, &format!("/api/v1/incidents/{incident_id}/timeline")).await?;
    Ok(timeline["timeline"].as_array().cloned().unwrap_or_default())
}

async fn triaged(progress: &Progress, running: &Running, incident_id: i64) -> anyhow::Result<()> {
    let incident = get(&running.api, &format!("/api/v1/incidents/{incident_id}")).await?;
    let incident = &incident["incident"];
    progress.say(
        "triage",
        &format!(
            "incident #{incident_id} opened on service {}: {} {}",
            incident["service_id"].as_str().unwrap_or("?"),
            incident["severity"].as_str().unwrap_or("?"),
            incident["state"].as_str().unwrap_or("?")
        ),
    );
    let entry = poll(async || {
        let entries = timeline(running, incident_id).await?;
        Ok(entries.into_iter().find(|entry| entry["kind"] == staunch_domain::runbook::timeline::TRIAGED))
    })
    .await?;
    let symptom = entry["data"]["symptom"].as_str().unwrap_or("?");
    if symptom != SYMPTOM {
        anyhow::bail!("the incident was triaged as {symptom}, expected {SYMPTOM}");
    }
    progress.say("triage", &format!("timeline: incident.triaged as {symptom} by {}", actor(&entry)));
    Ok(())
}

async fn acknowledge(progress: &Progress, running: &Running, incident_id: i64) -> anyhow::Result<()> {
    let answer = running.api.post(&format!("/api/v1/incidents/{incident_id}/acknowledge"), json!({})).await?;
    let state = answer["incident"]["state"].as_str().unwrap_or("?").to_string();
    progress.say("acknowledge", &format!("{RESPONDER} acknowledged incident #{incident_id} through the API: it is {state}"));
    Ok(())
}

async fn mitigate(
    progress: &Progress,
    running: &Running,
    incident_id: i64,
    last_seen: &std::cell::RefCell<String>,
) -> anyhow::Result<()> {
    let candidates = get(&running.api, &format!("/api/v1/incidents/{incident_id}/runbooks")).await?;
    let listed: Vec<String> = candidates["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|candidate| {
            format!(
                "{} (score {:.2}, worked {}/{})",
                candidate["runbook"].as_str().unwrap_or("?"),
                candidate["score"].as_f64().unwrap_or(0.0),
                candidate["successes"],
                candidate["attempts"]
            )
        })
        .collect();
    progress.say(
        "runbook",
        &format!("runbooks for {}: {}", candidates["symptom"].as_str().unwrap_or("(no symptom)"), listed.join(", ")),
    );
    let runs = get(&running.api, &format!("/api/v1/incidents/{incident_id}/runbook-runs")).await?;
    let already = runs["runs"].as_array().and_then(|runs| runs.first()).and_then(|run| run["id"].as_i64());
    let run_id = match already {
        Some(run_id) => {
            progress.say("runbook", &format!("run #{run_id} was started automatically"));
            run_id
        }
        None => {
            let started = running
                .api
                .post(&format!("/api/v1/incidents/{incident_id}/runbooks"), json!({ "runbook": RUNBOOK, "dry_run": false }))
                .await?;
            let run_id = started["run"]["id"].as_i64().context("the server did not say which run it started")?;
            progress.say(
                "runbook",
                &format!(
                    "{RESPONDER} started {RUNBOOK} through the API as run #{run_id} (this config starts no runbook automatically)"
                ),
            );
            run_id
        }
    };

    let mut reported = 0;
    loop {
        let run = get(&running.api, &format!("/api/v1/runbook-runs/{run_id}")).await?["run"].clone();
        let steps = run["progress"]["steps"].as_array().cloned().unwrap_or_default();
        let names = run["step_names"].as_array().cloned().unwrap_or_default();
        let statuses: Vec<&str> = steps.iter().map(|step| step["status"].as_str().unwrap_or("?")).collect();
        *last_seen.borrow_mut() =
            format!("run #{run_id} {} (steps {})", run["state"].as_str().unwrap_or("?"), statuses.join(", "));
        while reported < steps.len() {
            let status = steps[reported]["status"].as_str().unwrap_or("?");
            if matches!(status, "pending" | "started") {
                break;
            }
            let name = names.get(reported).and_then(Value::as_str).unwrap_or("?");
            if status != "succeeded" {
                progress.say("runbook", &format!("step {}/{} {name}: {status}", reported + 1, steps.len()));
                reported += 1;
                continue;
            }
            let output = steps[reported]["output"].as_str().unwrap_or("").replace('\n', " ");
            let label = AFTER_STEP.get(reported).copied().unwrap_or("?");
            let tally = running.load.wait_for_sample(label, SAMPLE).await;
            progress.say(
                "runbook",
                &format!("step {}/{} {name}: succeeded ({output}); since then {}", reported + 1, steps.len(), measured(tally)),
            );
            reported += 1;
        }
        let state = run["state"].as_str().unwrap_or("?");
        if !matches!(state, "running" | "pending") && reported == steps.len() {
            if state != "recovered" {
                anyhow::bail!("run #{run_id} stopped as {state}, not recovered (steps: {})", statuses.join(", "));
            }
            let seen = timeline(running, incident_id)
                .await?
                .into_iter()
                .find(|entry| entry["kind"] == "runbook.recovered")
                .and_then(|entry| entry["data"]["seen"].as_str().map(str::to_string))
                .unwrap_or_default();
            progress.say("runbook", &format!("run #{run_id} stopped: recovered ({seen}); steps {}", statuses.join(", ")));
            let incident = get(&running.api, &format!("/api/v1/incidents/{incident_id}")).await?;
            if incident["incident"]["state"] == "resolved" {
                progress.say("runbook", &format!("incident #{incident_id} had already resolved; nothing to mark mitigated"));
                return Ok(());
            }
            let answer = running.api.post(&format!("/api/v1/incidents/{incident_id}/mitigate"), json!({})).await?;
            let state = answer["incident"]["state"].as_str().unwrap_or("?");
            progress
                .say("runbook", &format!("{RESPONDER} marked incident #{incident_id} mitigated through the API: it is {state}"));
            return Ok(());
        }
        if matches!(state, "awaiting_approval" | "awaiting_tick") {
            anyhow::bail!("run #{run_id} is waiting for a person ({state}); the demo's runbook should need nobody");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn resolved(progress: &Progress, running: &Running, incident_id: i64) -> anyhow::Result<()> {
    let entry = poll(async || {
        let entries = timeline(running, incident_id).await?;
        Ok(entries.into_iter().find(|entry| entry["kind"] == "incident.resolved"))
    })
    .await?;
    let actor = actor(&entry);
    let how = if actor.starts_with("user:") || actor.starts_with("token:") {
        "by hand"
    } else {
        "automatically, when every alert of the incident (the SLO's sev1 and sev2 burn alerts) had resolved (auto_resolve: true)"
    };
    progress.say("resolve", &format!("incident #{incident_id} resolved by {actor}, {how}"));
    Ok(())
}

async fn postmortem(progress: &Progress, running: &Running, incident_id: i64) -> anyhow::Result<()> {
    let markdown =
        running.api.get_text(&format!("/api/v1/incidents/{incident_id}/postmortem"), &[("format", "md".to_string())]).await?;
    progress.say("postmortem", "the blameless postmortem, drawn from the timeline (Markdown, demo-clock times):");
    println!();
    print!("{markdown}");
    if !markdown.ends_with('\n') {
        println!();
    }
    println!();
    Ok(())
}

async fn regression_case(progress: &Progress, running: &Running, dir: &DemoDir, incident_id: i64) -> anyhow::Result<()> {
    let case = get(&running.api, &format!("/api/v1/incidents/{incident_id}/case")).await?;
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(&cases).with_context(|| format!("cannot create {}", cases.display()))?;
    let path = cases.join(format!("incident-{incident_id}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&case)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    progress.say("case", &format!("wrote the regression case to {}", path.display()));
    progress.say("case", &format!("staunch cases check {} --config {}:", cases.display(), running.config_path.display()));
    crate::learn::check_cases(&running.config_path, "default", &cases)?;
    Ok(())
}
