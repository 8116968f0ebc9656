//! Faults on PostgreSQL: three `staunch serve` replicas under a steady alert load, paging a
//! receiver that fails, hangs after accepting and answers slowly; replicas killed with kill -9
//! and restarted (all of them once while a page is being sent); PostgreSQL itself restarted
//! as after a crash in the middle of the load. Afterwards: every alert answered 2xx is
//! stored, every page the escalation policies call for arrived, each under one idempotency
//! key, and no page arrived that they do not call for.
//!
//! Needs `STAUNCH_TEST_POSTGRES_URL` (and `STAUNCH_TEST_POSTGRES_DIR` for the restart, from
//! scripts/postgres-for-tests); skipped without it unless `STAUNCH_REQUIRE_TOOLS=1`.

mod support;

use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET};

const REPLICAS: usize = 3;
const ALERTS: usize = 40;
const GAP: Duration = Duration::from_millis(150);

fn config(receiver_url: &str) -> String {
    // A 1 s send timeout makes the receiver's hangs look like failures to the sender; pages
    // in flight when their sender died are sent again once its lease (timeout + 30 s) ends.
    support::config(receiver_url, "3s", "", "")
        .replace("max_attempts: 4", "max_attempts: 40")
        .replace("initial_backoff: 200ms", "initial_backoff: 100ms")
        .replace("timeout: 3s", "timeout: 1s")
}

/// Sends alert `number` to the first replica that answers 2xx, trying each a few times.
/// `true` when one accepted it.
async fn send_alert(http: &reqwest::Client, bases: &[String], number: usize) -> bool {
    let event = json!({
        "routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": format!("fault-{number}"),
        "payload": { "summary": format!("fault {number}"), "source": "faults", "severity": "critical" },
    });
    for attempt in 0..(4 * bases.len()) {
        let base = &bases[(number + attempt) % bases.len()];
        let answer = http.post(format!("{base}/v2/enqueue")).json(&event).timeout(Duration::from_secs(5)).send().await;
        if answer.is_ok_and(|response| response.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn restart_postgres() -> bool {
    let Some(dir) = std::env::var("STAUNCH_TEST_POSTGRES_DIR").ok().map(PathBuf::from) else {
        println!("no STAUNCH_TEST_POSTGRES_DIR: PostgreSQL is not restarted in this run");
        return false;
    };
    let restart = dir.join("restart");
    if !restart.exists() {
        println!("no {}: PostgreSQL is not restarted in this run", restart.display());
        return false;
    }
    let status = std::process::Command::new(restart).status().expect("run the restart script");
    assert!(status.success(), "postgresql restart failed");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_receivers_failing_and_a_database_restart_lose_nothing_and_page_once() {
    let Some(database_url) = support::fresh_postgres_database("faults").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    receiver.inject_faults(0x5eed);
    let first = App::spawn_on(&config(&receiver.url), &database_url).await;
    let dir = first.dir.clone();
    let mut replicas = vec![first];
    for _ in 1..REPLICAS {
        replicas.push(App::spawn_on_existing(&dir, &database_url).await);
    }
    let http = reqwest::Client::new();

    let mut accepted = BTreeSet::new();
    let mut postgres_restarted = false;
    let mut everyone_killed_mid_send = false;
    for number in 0..ALERTS {
        let bases: Vec<String> = replicas.iter().map(|app| app.base_url.clone()).collect();
        if send_alert(&http, &bases, number).await {
            accepted.insert(format!("fault-{number}"));
        }
        // Every 8th alert one replica dies and comes back.
        if number % 8 == 7 {
            let victim = (number / 8) % REPLICAS;
            replicas[victim].kill_9();
            let tempdir = replicas[victim].take_tempdir();
            let mut restarted = App::spawn_on_existing(&dir, &database_url).await;
            restarted.adopt_tempdir(tempdir);
            replicas[victim] = restarted;
        }
        if number == ALERTS / 2 {
            postgres_restarted = restart_postgres();
        }
        // Once, every replica dies while a page is on the wire.
        if number == ALERTS / 4 {
            receiver.stall_next("/alice", Duration::from_secs(5));
            let deadline = Instant::now() + Duration::from_secs(20);
            while receiver.stalled_now() == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if receiver.stalled_now() > 0 {
                everyone_killed_mid_send = true;
                let mut tempdir = replicas[0].take_tempdir();
                for replica in replicas.iter_mut() {
                    replica.kill_9();
                }
                replicas.clear();
                for index in 0..REPLICAS {
                    let mut restarted = App::spawn_on_existing(&dir, &database_url).await;
                    if index == 0 {
                        restarted.adopt_tempdir(tempdir.take());
                    }
                    replicas.push(restarted);
                }
            }
        }
        tokio::time::sleep(GAP).await;
    }
    assert!(accepted.len() >= ALERTS * 3 / 4, "most alerts must be accepted, got {} of {ALERTS}", accepted.len());
    assert!(everyone_killed_mid_send, "a page was on the wire when every replica was killed");

    // Every accepted alert is stored, on an incident.
    let admin = &replicas[0];
    let stored: Vec<serde_json::Value> = admin.api_get("/api/v1/alerts?limit=1000").await["alerts"].as_array().unwrap().clone();
    let incident_of: BTreeMap<String, i64> = stored
        .iter()
        .map(|alert| (alert["dedup_key"].as_str().unwrap().to_string(), alert["incident_id"].as_i64().expect("on an incident")))
        .collect();
    for key in &accepted {
        assert!(incident_of.contains_key(key), "accepted alert {key} was lost");
    }

    // Both levels of every incident are paged: alice at once, bob when nobody acknowledges.
    let incidents: BTreeSet<i64> = incident_of.values().copied().collect();
    let expected_keys = 2 * incidents.len();
    let distinct_keys = || receiver.pages().iter().map(|page| page.idempotency_key.clone()).collect::<BTreeSet<_>>();
    let deadline = Instant::now() + Duration::from_secs(120);
    while distinct_keys().len() < expected_keys && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    receiver.stop_injecting_faults();
    let pages = receiver.pages();
    let mut by_key: BTreeMap<String, Vec<&support::receiver::Page>> = BTreeMap::new();
    for page in &pages {
        by_key.entry(page.idempotency_key.clone()).or_default().push(page);
    }
    assert_eq!(by_key.len(), expected_keys, "one key per incident and level, none missing, none extra");
    for (key, copies) in &by_key {
        // A copy sent again (its sender timed out, or died) is the same page.
        let first = copies[0];
        assert!(copies.iter().all(|copy| copy.recipient_path == first.recipient_path && copy.event == first.event), "{key}");
    }
    for incident in &incidents {
        let paths: BTreeSet<&str> = by_key
            .values()
            .filter(|copies| copies[0].body["incident"]["id"].as_i64() == Some(*incident))
            .map(|copies| copies[0].recipient_path.as_str())
            .collect();
        assert_eq!(paths, BTreeSet::from(["/alice", "/bob"]), "incident {incident}");
    }
    assert_eq!(receiver.bad_signatures(), 0);
    println!(
        "{} of {ALERTS} alerts accepted, {} incidents, {} pages under {} keys; postgresql restarted: {postgres_restarted}",
        accepted.len(),
        incidents.len(),
        pages.len(),
        by_key.len()
    );
}
