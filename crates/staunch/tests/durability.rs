//! Nothing answered with a 2xx is ever lost: kill -9 right after the response, restart, and
//! it is there, and its escalation carries on.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET, config};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn every_accepted_alert_survives_kill_9() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let mut app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let base_url = app.base_url.clone();
    let http = app.http.clone();
    let (accepted_sender, mut accepted_receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut senders = Vec::new();
    for worker in 0..8 {
        let http = http.clone();
        let base_url = base_url.clone();
        let accepted_sender = accepted_sender.clone();
        senders.push(tokio::spawn(async move {
            for index in 0..200 {
                let dedup_key = format!("w{worker}-a{index}");
                let event = json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": dedup_key,
                    "payload": {"summary": format!("alert {dedup_key}"), "source": "load", "severity": "warning", "component": dedup_key}});
                match http.post(format!("{base_url}/v2/enqueue")).json(&event).send().await {
                    Ok(response) if response.status() == 202 => {
                        let _ = accepted_sender.send(dedup_key);
                    }
                    _ => return,
                }
            }
        }));
    }
    drop(accepted_sender);
    // Kill in the middle of the load, the moment the 300th alert has been accepted.
    let mut accepted = BTreeSet::new();
    while let Some(key) = accepted_receiver.recv().await {
        accepted.insert(key);
        if accepted.len() == 300 {
            app.kill_9();
            break;
        }
    }
    for sender in senders {
        let _ = sender.await;
    }
    while let Ok(key) = accepted_receiver.try_recv() {
        accepted.insert(key);
    }
    assert!(accepted.len() >= 300);

    let tempdir = app.take_tempdir();
    let mut restarted = App::start_in(&app.dir, "127.0.0.1:0").await;
    restarted.adopt_tempdir(tempdir);
    let mut stored = BTreeSet::new();
    let mut before: Option<i64> = None;
    loop {
        let path = match before {
            Some(id) => format!("/api/v1/alerts?limit=1000&before={id}"),
            None => "/api/v1/alerts?limit=1000".to_string(),
        };
        let page = restarted.api_get(&path).await["alerts"].as_array().cloned().unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().unwrap()["id"].as_i64();
        stored.extend(page.iter().map(|alert| alert["dedup_key"].as_str().unwrap().to_string()));
    }
    let lost: Vec<&String> = accepted.difference(&stored).collect();
    assert!(lost.is_empty(), "{} accepted alerts lost after kill -9: {lost:?}", lost.len());
}

#[tokio::test]
async fn escalation_resumes_after_kill_9() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let mut app = App::spawn(&config(&receiver.url, "2s", "", "")).await;
    app.trigger("kill-me", "Killed right after accepting").await;
    app.kill_9();

    let tempdir = app.take_tempdir();
    let mut restarted = App::start_in(&app.dir, "127.0.0.1:0").await;
    restarted.adopt_tempdir(tempdir);
    // Level 1 is paged (before or after the kill), and level 2 once its timeout passes.
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    let bob = receiver.wait_for_pages("/bob", 1, WAIT).await;
    assert_eq!(bob[0].event, "incident.escalated");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let keys: BTreeSet<String> = receiver.pages().iter().map(|page| page.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 2, "one idempotency key per page: {:#?}", receiver.pages());
    assert_eq!(restarted.incidents("state=triggered").await.len(), 1);
}
