//! Moving an installation from SQLite to PostgreSQL through the real binary: a server on
//! SQLite takes incidents, notes and silences through the API; it stops; `staunch export`;
//! `staunch import` into a new PostgreSQL database; a server on PostgreSQL then shows the same
//! incidents, timelines and silences, accepts the old API token, and numbers new incidents
//! after the imported ones. A truncated export is refused and leaves the database empty.
//!
//! Needs `STAUNCH_TEST_POSTGRES_URL` (scripts/postgres-for-tests starts a server); skipped
//! without it unless `STAUNCH_REQUIRE_TOOLS=1`.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET, config, staunch_binary};

const WAIT: Duration = Duration::from_secs(20);

fn staunch(dir: &Path, args: &[&str]) -> Output {
    Command::new(staunch_binary()).args(args).current_dir(dir).output().expect("run staunch")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What the API shows of the installation: every incident with its alerts, timeline and
/// notifications, the silences, and the audit log (oldest first).
async fn everything(app: &App) -> (Value, Value, Value, Value) {
    let incidents = app.api_get("/api/v1/incidents?state=triggered,acknowledged,mitigated,resolved&limit=100").await;
    let mut details = Vec::new();
    for incident in incidents["incidents"].as_array().unwrap() {
        let id = incident["id"].as_i64().unwrap();
        details.push(json!({
            "alerts": app.api_get(&format!("/api/v1/incidents/{id}/alerts")).await,
            "timeline": app.api_get(&format!("/api/v1/incidents/{id}/timeline")).await,
            "notifications": app.api_get(&format!("/api/v1/incidents/{id}/notifications")).await,
        }));
    }
    let silences = app.api_get("/api/v1/silences").await;
    let mut audit = app.api_get("/api/v1/audit?limit=100").await["audit"].as_array().unwrap().clone();
    audit.reverse();
    (incidents, Value::Array(details), silences, Value::Array(audit))
}

#[tokio::test]
async fn an_installation_moves_from_sqlite_to_postgresql_without_loss() {
    let Some(database_url) = support::fresh_postgres_database("import").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    // Level timeouts long enough that escalation timers are still pending at export.
    let mut app = App::spawn(&config(&receiver.url, "1h", "", "")).await;

    // Three incidents: one acknowledged with a note, one resolved, one left triggered.
    for (key, summary) in [("disk", "Disk full"), ("latency", "Latency high"), ("errors", "Errors spiking")] {
        app.trigger(key, summary).await;
    }
    receiver.wait_for_pages("/alice", 3, WAIT).await;
    let incidents = app.incidents("state=triggered").await;
    assert_eq!(incidents.len(), 3);
    let ids: Vec<i64> = incidents.iter().map(|incident| incident["id"].as_i64().unwrap()).collect();
    let (status, body) = app.api_post(&format!("/api/v1/incidents/{}/acknowledge", ids[0]), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.api_post(&format!("/api/v1/incidents/{}/notes", ids[0]), json!({"text": "rolling back — ünïcode"})).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (status, body) = app.api_post(&format!("/api/v1/incidents/{}/resolve", ids[1]), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, silence) = app
        .api_post("/api/v1/silences", json!({"matchers": "{source=\"staging-1\"}", "duration": "2h", "comment": "maintenance"}))
        .await;
    assert_eq!(status, 201, "{silence}");
    let (status, body) = app
        .enqueue(json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "quiet",
            "payload": {"summary": "Staging is noisy", "source": "staging-1", "severity": "warning"}}))
        .await;
    assert_eq!(status, 202, "{body}");
    let change = json!({"routing_key": EVENTS_KEY, "payload": {"summary": "deploy 42", "source": "ci"}});
    let response = app.http.post(app.url("/v2/change/enqueue")).json(&change).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    // Three pages, the acknowledgement and the resolution, each recorded as sent.
    receiver.wait_for_pages("/alice", 5, WAIT).await;
    let before = app
        .wait_for("every notification recorded as sent", WAIT, async || {
            let snapshot = everything(&app).await;
            let states: Vec<Value> = snapshot
                .1
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|incident| incident["notifications"]["notifications"].as_array().cloned().unwrap_or_default())
                .map(|notification| notification["state"].clone())
                .collect();
            (states.len() == 5 && states.iter().all(|state| state == "sent")).then_some(snapshot)
        })
        .await;
    let changes_before = app.api_get("/api/v1/changes").await;

    // The engine lock keeps the export from running beside the server.
    let dir = app.dir.clone();
    let refused = staunch(&dir, &["export", "--config", "staunch.yaml", "--out", "export.jsonl"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("stop staunch serve on it first"), "{}", stderr(&refused));
    assert!(app.terminate().success());
    let tempdir = app.take_tempdir();

    let exported = staunch(&dir, &["export", "--config", "staunch.yaml", "--out", "export.jsonl"]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert!(stderr(&exported).contains("incidents 3"), "{}", stderr(&exported));
    let file = std::fs::read_to_string(dir.join("export.jsonl")).unwrap();
    assert!(!file.contains(&app.token), "the API token's secret never reaches the export");

    // A file cut short is refused, and nothing of it is loaded.
    let cut = &file[..file.trim_end().rfind('\n').unwrap() + 1];
    std::fs::write(dir.join("truncated.jsonl"), cut).unwrap();
    let refused = staunch(&dir, &["import", "--db", &database_url, "--in", "truncated.jsonl"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("nothing was imported"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("truncated"), "{}", stderr(&refused));

    let imported = staunch(&dir, &["import", "--db", &database_url, "--in", "export.jsonl"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let again = staunch(&dir, &["import", "--db", &database_url, "--in", "export.jsonl"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
    let migrate = staunch(&dir, &["migrate", "--db", &database_url]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));

    // The same installation, served from PostgreSQL, with the old admin token.
    let mut moved = App::spawn_on_existing(&dir, &database_url).await;
    moved.adopt_tempdir(tempdir);
    assert_eq!(moved.token, app.token);
    let (incidents_after, details_after, silences_after, audit_after) = everything(&moved).await;
    assert_eq!(incidents_after, before.0);
    assert_eq!(details_after, before.1);
    assert_eq!(silences_after, before.2);
    assert_eq!(moved.api_get("/api/v1/changes").await, changes_before);
    let audit_before = before.3.as_array().unwrap();
    let audit_after = audit_after.as_array().unwrap();
    assert_eq!(&audit_after[..audit_before.len()], audit_before.as_slice());
    assert_eq!(audit_after.last().unwrap()["action"], "database.import", "the import itself is audited");

    // It goes on working: the silence still silences, new incidents get new numbers and page.
    let (status, body) = moved
        .enqueue(json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "quiet-2",
            "payload": {"summary": "Staging is noisy again", "source": "staging-1", "severity": "warning"}}))
        .await;
    assert_eq!(status, 202, "{body}");
    moved.trigger("after-move", "Checkout failing after the move").await;
    let pages = receiver.wait_for_pages("/alice", 6, WAIT).await;
    let newest = moved.incidents("state=triggered").await[0].clone();
    assert_eq!(newest["title"], "Checkout failing after the move");
    let max_before = before.0["incidents"].as_array().unwrap().iter().map(|incident| incident["id"].as_i64().unwrap()).max();
    assert!(newest["id"].as_i64() > max_before, "{newest} reuses an imported number");
    assert_eq!(pages.last().unwrap().body["incident"]["id"], newest["id"]);
    let (status, body) = moved.api_post(&format!("/api/v1/incidents/{}/acknowledge", ids[2]), json!({})).await;
    assert_eq!(status, 200, "an imported incident can be acknowledged: {body}");
    // Its acknowledgement goes to whoever was paged for it before the move.
    receiver.wait_for_pages("/alice", 7, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let triggered = receiver.pages_for("/alice").iter().filter(|page| page.event == "incident.triggered").count();
    assert_eq!(triggered, 4, "the silenced alert paged nobody: {:#?}", receiver.pages());
}
