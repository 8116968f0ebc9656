//! An incident's investigation under a steady stream of alerts: each alert postpones it by the
//! debounce, but never past the bound of its burst.

use super::*;
use std::sync::Mutex;

struct ManualClock(Mutex<Timestamp>);

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock")
    }
}

impl ManualClock {
    fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.0.lock().expect("clock");
        *now += by;
    }
}

/// `checkout` pages Alice (a level timeout of an hour keeps escalation out of the way);
/// `reports` pages nobody.
const CONFIG: &str = "
users:
  - id: alice
    contact_methods:
      - type: webhook
        url: http://127.0.0.1:9/alice
escalation_policies:
  - id: default
    levels:
      - timeout: 1h
        targets: [{user: alice}]
services:
  - id: checkout
    escalation_policy: default
  - id: reports
";

/// One new alert joining (or opening) the incident of `service_id`.
fn one_alert(org: OrgId, service_id: &str, number: usize) -> Request {
    let body = format!(
        r#"{{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger","dedup_key":"storm-{number}","payload":{{"summary":"node down","source":"web","severity":"error"}}}}"#
    );
    let event = staunch_domain::ingest::pagerduty::parse_event(body.as_bytes()).expect("valid event");
    let dedup_key = event.dedup_key.clone().expect("dedup key given");
    let command = Command::Ingest {
        org,
        service_id: service_id.to_string(),
        format: staunch_domain::alert::SourceFormat::EventsV2,
        events: vec![event.into_alert_event(dedup_key)],
        truncated_alerts: 0,
    };
    let (reply, _answer) = tokio::sync::oneshot::channel();
    Request { command, audit: None, reply }
}

/// Sends one alert every 300 ms (under the 500 ms debounce) for `seconds`, running due jobs
/// after each as the engine's loop does; returns when the incident opened and when its
/// investigation was claimed.
async fn steady_stream(service_id: &str, seconds: i64) -> (Timestamp, Vec<Timestamp>) {
    let (store, config, ids, _directory) = super::store_for_tests(CONFIG).await;
    let opened_at = Timestamp::from_second(1_790_000_000).expect("timestamp");
    let clock = Arc::new(ManualClock(Mutex::new(opened_at)));
    let (outbox, _inbox) = crate::outbox::channel();
    let (mut engine, _handle) = super::engine(store.clone(), Arc::new(config), clock.clone(), outbox);
    let mut claimed = Vec::new();
    for number in 0..(seconds * 10 / 3) as usize {
        engine.enqueue(one_alert(ids[0], service_id, number));
        engine.run_transaction().await;
        // The investigation: the escalation timer is an hour away.
        let due = store.next_job_due().await.expect("jobs read").expect("an investigation is scheduled");
        let now = clock.now();
        if due <= now {
            engine.run_due_jobs().await;
            claimed.push(now);
        }
        clock.advance(jiff::SignedDuration::from_millis(300));
    }
    (opened_at, claimed)
}

#[tokio::test]
async fn a_steady_stream_of_alerts_does_not_postpone_investigations_past_their_bound() {
    let (opened_at, claimed) = steady_stream("checkout", 70).await;
    // Within thirty seconds of the opening, then within thirty seconds of the first alert after
    // the last claim, while alerts keep coming.
    let first = opened_at + jiff::SignedDuration::from_secs(30);
    let refresh = first + jiff::SignedDuration::from_millis(300) + jiff::SignedDuration::from_secs(30);
    assert_eq!(claimed, vec![first, refresh]);
}

#[tokio::test]
async fn an_incident_that_pages_nobody_has_the_same_bound() {
    let (opened_at, claimed) = steady_stream("reports", 40).await;
    assert_eq!(claimed, vec![opened_at + jiff::SignedDuration::from_secs(30)]);
}
