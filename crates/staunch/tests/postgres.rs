//! `staunch serve --db postgres://…`: the core loop on PostgreSQL through the real binary.
//! Needs `STAUNCH_TEST_POSTGRES_URL` (scripts/postgres-for-tests starts a server); skipped
//! without it unless `STAUNCH_REQUIRE_TOOLS=1`.

mod support;

use serde_json::json;
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET, config};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn core_loop_runs_on_postgresql() {
    let Some(database_url) = support::fresh_postgres_database("serve").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let mut app = App::spawn_on(&config(&receiver.url, "1s", "", ""), &database_url).await;

    // Paged, escalated when nobody acknowledges, then acknowledged.
    app.trigger("pg-1", "Checkout failing on PostgreSQL").await;
    let alice = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(alice[0].event, "incident.triggered");
    receiver.wait_for_pages("/bob", 1, WAIT).await;
    let incident_id = alice[0].body["incident"]["id"].as_i64().unwrap();
    let (status, body) = app.api_post(&format!("/api/v1/incidents/{incident_id}/acknowledge"), json!({})).await;
    assert_eq!(status, 200, "{body}");

    // Duplicates dedupe; the sender resolves; the incident auto-resolves.
    app.trigger("pg-1", "Checkout failing on PostgreSQL").await;
    let (status, _) =
        app.enqueue(json!({"routing_key": support::EVENTS_KEY, "event_action": "resolve", "dedup_key": "pg-1"})).await;
    assert_eq!(status, 202);
    let incident = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["incident"]["state"], "resolved");
    let alerts = app.api_get(&format!("/api/v1/incidents/{incident_id}/alerts")).await;
    assert_eq!(alerts["alerts"][0]["event_count"], 3);
    let kinds = app.timeline_kinds(incident_id).await;
    for expected in [
        "incident.opened",
        "escalation.paged",
        "incident.escalated",
        "incident.acknowledged",
        "alert.resolved",
        "incident.resolved",
    ] {
        assert!(kinds.iter().any(|kind| kind == expected), "{expected} missing from {kinds:?}");
    }

    // State lives in PostgreSQL, not beside the config: a restart finds it.
    let status = app.terminate();
    assert!(status.success());
    let tempdir = app.take_tempdir();
    let mut restarted = App::spawn_on_existing(&app.dir, &database_url).await;
    restarted.adopt_tempdir(tempdir);
    assert_eq!(restarted.incidents("state=resolved").await.len(), 1);
    assert!(!app.dir.join("staunch.db").exists(), "no SQLite file was created");
}

#[tokio::test]
async fn two_replicas_on_one_database_page_exactly_once() {
    let Some(database_url) = support::fresh_postgres_database("serve").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let config_text = config(&receiver.url, "1s", "", "");
    let first = App::spawn_on(&config_text, &database_url).await;
    // The second replica shares the first's config (and its admin token file, written once).
    let second = App::spawn_on_existing(&first.dir, &database_url).await;

    // Alerts arrive at either replica; escalation timers are claimed by whichever is free.
    let incidents = 10;
    for index in 0..incidents {
        let app = if index % 2 == 0 { &first } else { &second };
        app.trigger(&format!("replicated-{index}"), &format!("Replicated {index}")).await;
    }
    let alice = receiver.wait_for_pages("/alice", incidents, WAIT).await;
    let bob = receiver.wait_for_pages("/bob", incidents, WAIT).await;
    assert!(alice.iter().all(|page| page.event == "incident.triggered"));
    assert!(bob.iter().all(|page| page.event == "incident.escalated"));
    // Both policies' levels have run out; nothing else may go out, from either replica.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let keys: std::collections::BTreeSet<String> = receiver.pages().iter().map(|page| page.idempotency_key.clone()).collect();
    assert_eq!(receiver.pages().len(), 2 * incidents, "each page exactly once: {:#?}", receiver.pages());
    assert_eq!(keys.len(), 2 * incidents);
    // Either replica sees everything.
    assert_eq!(first.incidents("state=triggered").await.len(), incidents);
    assert_eq!(second.incidents("state=triggered").await.len(), incidents);
}

async fn is_leader(app: &App) -> Option<bool> {
    let response = app.http.get(app.url("/healthz")).send().await.ok()?;
    let health: serde_json::Value = response.json().await.ok()?;
    health["leader"].as_bool()
}

#[tokio::test]
async fn one_replica_leads_and_a_survivor_takes_over_after_kill_9() {
    let Some(database_url) = support::fresh_postgres_database("serve").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let mut first = App::spawn_on(&config(&receiver.url, "1h", "", ""), &database_url).await;
    let mut second = App::spawn_on_existing(&first.dir, &database_url).await;
    let leaders = first
        .wait_for("exactly one leader", WAIT, async || {
            let states = (is_leader(&first).await?, is_leader(&second).await?);
            (states.0 != states.1).then_some(states)
        })
        .await;
    let (leader, survivor) = if leaders.0 { (&mut first, &second) } else { (&mut second, &first) };
    leader.kill_9();
    survivor.wait_for("the survivor to lead", WAIT, async || is_leader(survivor).await?.then_some(())).await;
}
