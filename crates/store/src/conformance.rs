//! The conformance suite: the behaviour every storage backend must show.
//!
//! Each case takes a fresh, empty, migrated store and panics on a violation. A backend runs
//! the whole suite with [`crate::conformance_tests!`], so adding a case here adds it to every
//! backend at once.

use crate::*;
use jiff::{SignedDuration, Timestamp};
use staunch_domain::alert::{AlertLink, SourceFormat};
use staunch_domain::incident::IncidentState;
use staunch_domain::severity::Severity;
use std::sync::Arc;

mod noise_llm;
pub use noise_llm::*;

/// Generates one `#[tokio::test]` per conformance case. `$make_store` is an async function
/// returning a fresh `Arc<dyn Store>`.
#[macro_export]
macro_rules! conformance_tests {
    ($make_store:path) => {
        $crate::conformance_tests!(@cases $make_store;
            alert_round_trip,
            dedup_key_is_unique_per_service,
            one_insert_gives_each_organisation_its_own_alert,
            open_incident_lookup_ignores_resolved_and_other_groups,
            incident_listing_filters_and_orders_newest_first,
            firing_alert_count_per_incident,
            timeline_keeps_append_order_and_actor,
            jobs_become_due_and_are_deleted_by_their_transaction,
            delivery_idempotency_key_never_pages_twice,
            delivery_claim_leases_and_outcomes,
            uncommitted_transaction_leaves_no_trace,
            commits_are_told_durable_once_each_in_commit_order,
            tenants_never_see_each_other,
            api_tokens_are_found_by_hash_only,
            silences_are_active_inside_their_window,
            change_events_are_listed_per_service,
            paged_contacts_are_distinct,
            released_leases_make_deliveries_due_again,
            bulk_reads_and_inserts_agree_with_single_ones,
            deliveries_enqueued_leased_are_not_handed_out_until_the_lease_ends,
            organisations_are_numbered_once_by_slug,
            audit_log_is_per_organisation_and_newest_first,
            leadership_is_given_up_when_dropped,
            slo_buckets_add_up_per_minute_and_are_pruned,
            action_items_are_kept_per_incident_and_organisation,
            runbook_runs_round_trip_and_count_outcomes_per_symptom,
            deploy_links_are_one_per_incident_and_settled_once,
            catalog_is_replaced_per_organisation,
            change_events_are_read_by_time_window,
            similar_incidents_see_only_their_organisation_before_the_cut,
            a_large_index_leaves_out_words_most_incidents_hold,
            incident_texts_are_indexed_once_from_the_first_alerts,
            incident_texts_read_once_are_added_in_pieces,
            investigations_keep_the_latest_per_incident,
            noise_history_labels_openings_with_what_was_known_before_the_cut,
            noise_probability_is_kept_on_the_incident,
            llm_exchanges_are_kept_per_incident_and_organisation,
        );
        $crate::conformance_tests!(@telemetry $make_store;
            telemetry_is_read_per_organisation_window_and_service,
            telemetry_is_pruned_in_bounded_batches_per_organisation,
        );
        // Needs two stores: the one exported from and a fresh one to import into.
        #[tokio::test]
        async fn export_then_import_keeps_every_row_and_id() {
            $crate::conformance::export_then_import_keeps_every_row_and_id($make_store().await, $make_store().await).await;
        }
    };
    (@telemetry $make_store:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance_telemetry::$case($make_store().await).await;
            }
        )*
    };
    (@cases $make_store:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::$case($make_store().await).await;
            }
        )*
    };
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + seconds).expect("valid timestamp")
}

/// A firing Alertmanager alert with a few labels and a link, for tests of any backend.
pub fn new_alert(org: OrgId, service: &str, dedup_key: &str, incident_id: Option<i64>) -> NewAlert {
    NewAlert {
        org,
        service_id: service.into(),
        dedup_key: dedup_key.into(),
        firing: true,
        summary: format!("{dedup_key} is failing"),
        severity: Severity::Sev2,
        labels: [("alertname".to_string(), dedup_key.to_string())].into(),
        annotations: Default::default(),
        details: serde_json::json!({"k": [1, 2]}),
        links: vec![AlertLink { href: "http://example.test/graph".into(), text: Some("graph".into()) }],
        images: vec![],
        format: SourceFormat::Alertmanager,
        incident_id,
        silenced_by: None,
        received_at: at(0),
        starts_at: Some(at(-60)),
    }
}

fn new_incident(org: OrgId, service: &str, group_key: &str, created_at: Timestamp) -> NewIncident {
    NewIncident {
        org,
        title: format!("{service} {group_key}"),
        service_id: service.into(),
        severity: Severity::Sev1,
        group_key: group_key.into(),
        escalation_policy_id: Some("default".into()),
        auto_resolve: true,
        created_at,
        noise_probability: None,
    }
}

fn new_delivery(org: OrgId, incident_id: i64, key: &str, user: &str, method: &str) -> NewDelivery {
    NewDelivery {
        org,
        incident_id,
        idempotency_key: key.into(),
        user_id: user.into(),
        contact_method_id: method.into(),
        channel: "webhook".into(),
        event: "page".into(),
        payload: serde_json::json!({"incident": incident_id}),
        created_at: at(0),
        leased_until: None,
    }
}

async fn create_incident(store: &Arc<dyn Store>, org: OrgId, service: &str, group_key: &str, created_at: Timestamp) -> Incident {
    let mut tx = store.begin().await.unwrap();
    let incident = tx.insert_incident(&new_incident(org, service, group_key, created_at)).await.unwrap();
    tx.commit().await.unwrap();
    incident
}

pub async fn alert_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "{}", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    let alert_id = tx.insert_alert(&new_alert(org, "checkout", "fp1", Some(incident.id))).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mut alert = tx.alert_by_dedup_key(org, "checkout", "fp1").await.unwrap().expect("alert stored");
    assert_eq!(alert.id, alert_id);
    assert!(alert.firing);
    assert_eq!(alert.summary, "fp1 is failing");
    assert_eq!(alert.labels.get("alertname").map(String::as_str), Some("fp1"));
    assert_eq!(alert.details, serde_json::json!({"k": [1, 2]}));
    assert_eq!(alert.links.len(), 1);
    assert_eq!(alert.first_seen, at(0));
    assert_eq!(alert.starts_at, Some(at(-60)));
    assert_eq!(alert.event_count, 1);
    assert_eq!(alert.incident_id, Some(incident.id));

    alert.firing = false;
    alert.resolved_at = Some(at(30));
    alert.last_seen = at(30);
    alert.event_count = 2;
    tx.update_alert(&alert).await.unwrap();
    tx.commit().await.unwrap();

    let listed = store.alerts(org, &AlertFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], alert);
    assert_eq!(store.alert(org, alert_id).await.unwrap(), Some(alert));
    assert_eq!(store.alert(OrgId(2), alert_id).await.unwrap(), None, "another org cannot read it");
}

/// Two organisations may use the same service name and dedup key; one bulk insert carrying
/// both must give each its own row, found only by its own organisation.
pub async fn one_insert_gives_each_organisation_its_own_alert(store: Arc<dyn Store>) {
    let (first, second) = (OrgId::DEFAULT, OrgId(2));
    let mut tx = store.begin().await.unwrap();
    let ids = tx
        .insert_alerts(&[new_alert(first, "checkout", "same", None), new_alert(second, "checkout", "same", None)])
        .await
        .unwrap();
    assert_ne!(ids[0], ids[1]);
    let key = [("checkout".to_string(), "same".to_string())];
    for (org, id) in [(first, ids[0]), (second, ids[1])] {
        let found = tx.alerts_by_dedup_keys(org, &key).await.unwrap();
        assert_eq!(found.iter().map(|alert| (alert.org, alert.id)).collect::<Vec<_>>(), vec![(org, id)]);
    }
    tx.commit().await.unwrap();
    assert_eq!(store.alert(first, ids[0]).await.unwrap().map(|alert| alert.org), Some(first));
    assert_eq!(store.alert(second, ids[1]).await.unwrap().map(|alert| alert.org), Some(second));
}

pub async fn dedup_key_is_unique_per_service(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    tx.insert_alert(&new_alert(org, "checkout", "same", None)).await.unwrap();
    tx.insert_alert(&new_alert(org, "search", "same", None)).await.unwrap();
    let duplicate = tx.insert_alert(&new_alert(org, "checkout", "same", None)).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict { .. })), "{duplicate:?}");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.alert_by_dedup_key(org, "checkout", "same").await.unwrap().is_none(), "dropped tx rolled back");
}

pub async fn open_incident_lookup_ignores_resolved_and_other_groups(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut resolved = create_incident(&store, org, "checkout", "{a=\"1\"}", at(0)).await;
    resolved.state = IncidentState::Resolved;
    resolved.resolved_at = Some(at(5));
    let mut tx = store.begin().await.unwrap();
    tx.update_incident(&resolved).await.unwrap();
    tx.commit().await.unwrap();
    let open = create_incident(&store, org, "checkout", "{a=\"1\"}", at(10)).await;
    create_incident(&store, org, "checkout", "{a=\"2\"}", at(11)).await;

    let mut tx = store.begin().await.unwrap();
    let found = tx.open_incident_for_group(org, "checkout", "{a=\"1\"}").await.unwrap().expect("open incident");
    assert_eq!(found.id, open.id);
    assert_eq!(found.state, IncidentState::Triggered);
    assert!(tx.open_incident_for_group(org, "search", "{a=\"1\"}").await.unwrap().is_none());
    let reread = tx.incident(org, resolved.id).await.unwrap().unwrap();
    assert_eq!(reread.state, IncidentState::Resolved);
    assert_eq!(reread.resolved_at, Some(at(5)));
}

pub async fn incident_listing_filters_and_orders_newest_first(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let first = create_incident(&store, org, "checkout", "g1", at(0)).await;
    let second = create_incident(&store, org, "search", "g2", at(1)).await;
    let mut third = create_incident(&store, org, "checkout", "g3", at(2)).await;
    third.state = IncidentState::Acknowledged;
    third.acknowledged_at = Some(at(3));
    third.assignee = Some("alice".into());
    let mut tx = store.begin().await.unwrap();
    tx.update_incident(&third).await.unwrap();
    tx.commit().await.unwrap();

    let ids = |incidents: Vec<Incident>| incidents.into_iter().map(|incident| incident.id).collect::<Vec<_>>();
    let all = store.incidents(org, &IncidentFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(ids(all), vec![third.id, second.id, first.id]);
    let checkout = store
        .incidents(org, &IncidentFilter { service_id: Some("checkout".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(ids(checkout), vec![third.id, first.id]);
    let triggered = store
        .incidents(org, &IncidentFilter { states: vec![IncidentState::Triggered], limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(ids(triggered), vec![second.id, first.id]);
    let page = store.incidents(org, &IncidentFilter { before_id: Some(third.id), limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(ids(page), vec![second.id]);
    let reread = store.incident(org, third.id).await.unwrap().unwrap();
    assert_eq!(reread.assignee.as_deref(), Some("alice"));
    assert_eq!(reread.acknowledged_at, Some(at(3)));
}

pub async fn firing_alert_count_per_incident(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_alert(&new_alert(org, "checkout", "a", Some(incident.id))).await.unwrap();
    tx.insert_alert(&new_alert(org, "checkout", "b", Some(incident.id))).await.unwrap();
    tx.insert_alert(&new_alert(org, "checkout", "c", None)).await.unwrap();
    assert_eq!(tx.count_firing_alerts(org, incident.id).await.unwrap(), 2);
    let mut alert = tx.alert_by_dedup_key(org, "checkout", "a").await.unwrap().unwrap();
    alert.firing = false;
    tx.update_alert(&alert).await.unwrap();
    assert_eq!(tx.count_firing_alerts(org, incident.id).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let attached =
        store.alerts(org, &AlertFilter { incident_id: Some(incident.id), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(attached.len(), 2);
    let firing = store.alerts(org, &AlertFilter { firing: Some(true), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(firing.len(), 2);
}

pub async fn timeline_keeps_append_order_and_actor(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    for (index, kind) in ["incident.opened", "notification.sent", "incident.acknowledged"].iter().enumerate() {
        let actor = if index == 2 { Actor { kind: "user".into(), id: "alice".into() } } else { Actor::system() };
        tx.append_timeline(&NewTimelineEntry {
            org,
            incident_id: incident.id,
            // Same instant for the first two: order must still be the append order.
            at: at(index.max(1) as i64),
            actor,
            kind: kind.to_string(),
            data: serde_json::json!({"index": index}),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let timeline = store.timeline(org, incident.id).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["incident.opened", "notification.sent", "incident.acknowledged"]);
    assert_eq!(timeline[2].actor.to_string(), "user:alice");
    assert_eq!(timeline[1].data, serde_json::json!({"index": 1}));
}

pub async fn jobs_become_due_and_are_deleted_by_their_transaction(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    assert_eq!(store.next_job_due().await.unwrap(), None);
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    for (seconds, level) in [(60, 1), (30, 0), (120, 2)] {
        tx.schedule_job(&NewJob {
            org,
            kind: JobKind::Escalate,
            incident_id: Some(incident.id),
            run_at: at(seconds),
            payload: serde_json::json!({"level": level}),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(30)));

    let mut tx = store.begin().await.unwrap();
    assert!(tx.due_jobs(at(29), 10).await.unwrap().is_empty());
    let due = tx.due_jobs(at(60), 10).await.unwrap();
    let levels: Vec<_> = due.iter().map(|job| job.payload["level"].as_i64().unwrap()).collect();
    assert_eq!(levels, vec![0, 1], "oldest first");
    tx.delete_job(due[0].id).await.unwrap();
    drop(tx);
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(30)), "a crash before commit leaves the job in place");

    let mut tx = store.begin().await.unwrap();
    let due = tx.due_jobs(at(60), 1).await.unwrap();
    assert_eq!(due.len(), 1);
    tx.delete_job(due[0].id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.next_job_due().await.unwrap(), Some(at(60)));

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.delete_incident_jobs(org, incident.id, JobKind::Escalate).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(store.next_job_due().await.unwrap(), None);
}

pub async fn delivery_idempotency_key_never_pages_twice(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    let first = tx.enqueue_delivery(&new_delivery(org, incident.id, "k1", "alice", "alice/webhook")).await.unwrap();
    assert!(first.is_some());
    assert_eq!(tx.enqueue_delivery(&new_delivery(org, incident.id, "k1", "alice", "alice/webhook")).await.unwrap(), None);
    assert!(tx.enqueue_delivery(&new_delivery(org, incident.id, "k2", "alice", "alice/email")).await.unwrap().is_some());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.enqueue_delivery(&new_delivery(org, incident.id, "k1", "alice", "alice/webhook")).await.unwrap(), None);
    tx.commit().await.unwrap();
    assert_eq!(store.deliveries(org, incident.id).await.unwrap().len(), 2);
}

pub async fn delivery_claim_leases_and_outcomes(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    for key in ["a", "b", "c"] {
        tx.enqueue_delivery(&new_delivery(org, incident.id, key, "alice", key)).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert!(store.claim_deliveries(at(-1), at(10), 10).await.unwrap().is_empty(), "not due before creation");

    let claimed = store.claim_deliveries(at(0), at(10), 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|delivery| delivery.state == DeliveryState::Sending));
    let rest = store.claim_deliveries(at(1), at(11), 10).await.unwrap();
    assert_eq!(rest.len(), 1, "leased deliveries are not handed out twice");
    assert!(store.claim_deliveries(at(2), at(12), 10).await.unwrap().is_empty());

    let mut tx = store.begin().await.unwrap();
    tx.finish_delivery(org, claimed[0].id, &DeliveryOutcome::Sent { at: at(3) }).await.unwrap();
    tx.finish_delivery(org, claimed[1].id, &DeliveryOutcome::Retry { error: "503".into(), next_attempt_at: at(20) })
        .await
        .unwrap();
    tx.finish_delivery(org, rest[0].id, &DeliveryOutcome::Failed { error: "gone".into(), at: at(4) }).await.unwrap();
    tx.commit().await.unwrap();

    // The retried one is due again at 20; nothing else ever comes back.
    assert!(store.claim_deliveries(at(19), at(40), 10).await.unwrap().is_empty());
    let again = store.claim_deliveries(at(20), at(40), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, claimed[1].id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("503"));
    // Its sender dies: once the lease runs out another sender may take it.
    assert!(store.claim_deliveries(at(39), at(50), 10).await.unwrap().is_empty());
    let reclaimed = store.claim_deliveries(at(40), at(60), 10).await.unwrap();
    assert_eq!(reclaimed.len(), 1);

    let log = store.deliveries(org, incident.id).await.unwrap();
    let state_of = |id: i64| log.iter().find(|delivery| delivery.id == id).unwrap().clone();
    let sent = state_of(claimed[0].id);
    assert_eq!(sent.state, DeliveryState::Sent);
    assert_eq!(sent.sent_at, Some(at(3)));
    assert_eq!(sent.attempts, 1);
    let failed = state_of(rest[0].id);
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("gone"));
}

pub async fn uncommitted_transaction_leaves_no_trace(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    {
        let mut tx = store.begin().await.unwrap();
        let incident = tx.insert_incident(&new_incident(org, "checkout", "g", at(0))).await.unwrap();
        tx.insert_alert(&new_alert(org, "checkout", "x", Some(incident.id))).await.unwrap();
        tx.schedule_job(&NewJob {
            org,
            kind: JobKind::Escalate,
            incident_id: Some(incident.id),
            run_at: at(0),
            payload: serde_json::json!({}),
        })
        .await
        .unwrap();
    }
    assert!(store.incidents(org, &IncidentFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert!(store.alerts(org, &AlertFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(store.next_job_due().await.unwrap(), None);
}

pub async fn commits_are_told_durable_once_each_in_commit_order(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    // Told from whichever thread syncs; blocking this test's runtime to wait is harmless.
    let (told, heard) = std::sync::mpsc::channel();
    let mut ids = Vec::new();
    for key in ["first", "second", "third"] {
        let mut tx = store.begin().await.unwrap();
        ids.extend(tx.insert_alerts(&[new_alert(org, "checkout", key, None)]).await.unwrap());
        let told = told.clone();
        tx.commit_then(Box::new(move |outcome| told.send((key, outcome.is_ok())).expect("listening"))).await.unwrap();
    }
    // A plain commit after them waits for its own sync, which covers theirs.
    let mut tx = store.begin().await.unwrap();
    ids.extend(tx.insert_alerts(&[new_alert(org, "checkout", "fourth", None)]).await.unwrap());
    tx.commit().await.unwrap();
    drop(told);
    let mut outcomes = Vec::new();
    // Ends once every callback has run (or been dropped unrun, which the assertion catches).
    loop {
        match heard.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(outcome) => outcomes.push(outcome),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("not told in time"),
        }
    }
    assert_eq!(outcomes, [("first", true), ("second", true), ("third", true)]);
    for (id, key) in ids.iter().zip(["first", "second", "third", "fourth"]) {
        assert_eq!(store.alert(org, *id).await.unwrap().expect("committed").dedup_key.as_str(), key);
    }
}

pub async fn tenants_never_see_each_other(store: Arc<dyn Store>) {
    let org_a = OrgId(1);
    let org_b = OrgId(2);
    let incident = create_incident(&store, org_a, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_alert(&new_alert(org_a, "checkout", "fp", Some(incident.id))).await.unwrap();
    tx.append_timeline(&NewTimelineEntry {
        org: org_a,
        incident_id: incident.id,
        at: at(0),
        actor: Actor::system(),
        kind: "incident.opened".into(),
        data: serde_json::Value::Null,
    })
    .await
    .unwrap();
    tx.enqueue_delivery(&new_delivery(org_a, incident.id, "k", "alice", "m")).await.unwrap();
    tx.insert_silence(&NewSilence {
        org: org_a,
        matchers: "{env=\"staging\"}".into(),
        starts_at: at(0),
        ends_at: at(100),
        created_by: Actor::system(),
        comment: "".into(),
    })
    .await
    .unwrap();
    tx.insert_change_event(&NewChangeEvent {
        org: org_a,
        service_id: "checkout".into(),
        summary: "deploy".into(),
        source: None,
        at: at(0),
        received_at: at(0),
        details: serde_json::Value::Null,
        links: vec![],
    })
    .await
    .unwrap();
    tx.append_audit(&new_audit_entry(org_a, at(0), "incident.note")).await.unwrap();
    tx.commit().await.unwrap();

    assert!(store.audit_log(org_b, &AuditFilter { before_id: None, limit: 10 }).await.unwrap().is_empty());
    assert!(store.incident(org_b, incident.id).await.unwrap().is_none());
    assert!(store.incidents(org_b, &IncidentFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert!(store.alerts(org_b, &AlertFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert!(store.timeline(org_b, incident.id).await.unwrap().is_empty());
    assert!(store.deliveries(org_b, incident.id).await.unwrap().is_empty());
    assert!(store.silences(org_b).await.unwrap().is_empty());
    assert!(store.change_events(org_b, None, 10).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    assert!(tx.incident(org_b, incident.id).await.unwrap().is_none());
    assert!(tx.alert_by_dedup_key(org_b, "checkout", "fp").await.unwrap().is_none());
    assert!(tx.open_incident_for_group(org_b, "checkout", "g").await.unwrap().is_none());
    assert_eq!(tx.count_firing_alerts(org_b, incident.id).await.unwrap(), 0);
    assert!(tx.paged_contacts(org_b, incident.id).await.unwrap().is_empty());
    assert_eq!(tx.delete_incident_jobs(org_b, incident.id, JobKind::Escalate).await.unwrap(), 0);
    assert!(tx.active_silences(org_b, at(50)).await.unwrap().is_empty());
    assert!(!tx.expire_silence(org_b, 1, at(1)).await.unwrap());
    // Writing B's view of A's incident changes nothing of A's.
    let mut forged = incident.clone();
    forged.org = org_b;
    forged.state = IncidentState::Resolved;
    tx.update_incident(&forged).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.incident(org_a, incident.id).await.unwrap().unwrap().state, IncidentState::Triggered);
}

pub async fn api_tokens_are_found_by_hash_only(store: Arc<dyn Store>) {
    assert_eq!(store.api_token_count().await.unwrap(), 0);
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_api_token(&NewApiToken {
            org: OrgId::DEFAULT,
            name: "admin".into(),
            user_id: Some("alice".into()),
            role: Role::Admin,
            token_sha256: "ab".repeat(32),
            created_at: at(0),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = store.api_token_by_hash(&"ab".repeat(32)).await.unwrap().expect("token found");
    assert_eq!(token.id, id);
    assert_eq!(token.role, Role::Admin);
    assert_eq!(token.user_id.as_deref(), Some("alice"));
    assert!(store.api_token_by_hash(&"cd".repeat(32)).await.unwrap().is_none());
    assert_eq!(store.api_token_count().await.unwrap(), 1);
}

pub async fn silences_are_active_inside_their_window(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_silence(&NewSilence {
            org,
            matchers: "{env=\"staging\"}".into(),
            starts_at: at(10),
            ends_at: at(20),
            created_by: Actor { kind: "user".into(), id: "alice".into() },
            comment: "maintenance".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.active_silences(org, at(9)).await.unwrap().is_empty());
    assert_eq!(tx.active_silences(org, at(10)).await.unwrap().len(), 1);
    assert!(tx.active_silences(org, at(20)).await.unwrap().is_empty(), "end is exclusive");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.expire_silence(org, id, at(12)).await.unwrap());
    assert!(tx.active_silences(org, at(15)).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    let all = store.silences(org).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].ends_at, at(12));
    assert_eq!(all[0].comment, "maintenance");
}

pub async fn change_events_are_listed_per_service(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    for (service, seconds) in [("checkout", 0), ("search", 1), ("checkout", 2)] {
        tx.insert_change_event(&NewChangeEvent {
            org,
            service_id: service.into(),
            summary: format!("deploy {service} {seconds}"),
            source: Some("ci".into()),
            at: at(seconds),
            received_at: at(seconds) + SignedDuration::from_secs(1),
            details: serde_json::json!({"sha": "abc"}),
            links: vec![],
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let checkout = store.change_events(org, Some("checkout"), 10).await.unwrap();
    let summaries: Vec<&str> = checkout.iter().map(|event| event.summary.as_str()).collect();
    assert_eq!(summaries, ["deploy checkout 2", "deploy checkout 0"], "newest first");
    assert_eq!(store.change_events(org, None, 10).await.unwrap().len(), 3);
    assert_eq!(store.change_events(org, None, 1).await.unwrap().len(), 1);
}

pub async fn paged_contacts_are_distinct(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_delivery(&new_delivery(org, incident.id, "1", "alice", "alice/webhook")).await.unwrap();
    tx.enqueue_delivery(&new_delivery(org, incident.id, "2", "alice", "alice/webhook")).await.unwrap();
    tx.enqueue_delivery(&new_delivery(org, incident.id, "3", "bob", "bob/email")).await.unwrap();
    let mut status = new_delivery(org, incident.id, "4", "carol", "carol/email");
    status.event = "resolved".into();
    tx.enqueue_delivery(&status).await.unwrap();
    let mut contacts = tx.paged_contacts(org, incident.id).await.unwrap();
    contacts.sort();
    assert_eq!(contacts, vec![("alice".to_string(), "alice/webhook".to_string()), ("bob".to_string(), "bob/email".to_string())]);
}

pub async fn released_leases_make_deliveries_due_again(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_delivery(&new_delivery(org, incident.id, "a", "alice", "m")).await.unwrap();
    tx.enqueue_delivery(&new_delivery(org, incident.id, "b", "alice", "n")).await.unwrap();
    tx.commit().await.unwrap();
    let claimed = store.claim_deliveries(at(0), at(100), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let mut tx = store.begin().await.unwrap();
    tx.finish_delivery(org, claimed[0].id, &DeliveryOutcome::Sent { at: at(1) }).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.claim_deliveries(at(2), at(100), 10).await.unwrap().is_empty());
    assert_eq!(store.release_delivery_leases().await.unwrap(), 1, "only the one still sending");
    let again = store.claim_deliveries(at(2), at(100), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, claimed[1].id);
    assert_eq!(again[0].attempts, 0, "a released lease is not a failed attempt");
}

pub async fn bulk_reads_and_inserts_agree_with_single_ones(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let open = create_incident(&store, org, "checkout", "g1", at(0)).await;
    let mut closed = create_incident(&store, org, "checkout", "g2", at(0)).await;
    closed.state = IncidentState::Resolved;
    let mut tx = store.begin().await.unwrap();
    tx.update_incident(&closed).await.unwrap();
    // 1200 alerts: more than one statement's worth, so chunking is exercised too.
    let alerts: Vec<NewAlert> = (0..1200)
        .map(|index| new_alert(org, if index % 2 == 0 { "checkout" } else { "search" }, &format!("k{index}"), Some(open.id)))
        .collect();
    let ids = tx.insert_alerts(&alerts).await.unwrap();
    assert_eq!(ids.len(), 1200);
    let keys: Vec<(String, String)> = vec![
        ("checkout".into(), "k0".into()),
        ("search".into(), "k1".into()),
        ("checkout".into(), "k1".into()),
        ("search".into(), "k1199".into()),
    ];
    let mut found = tx.alerts_by_dedup_keys(org, &keys).await.unwrap();
    found.sort_by_key(|alert| alert.id);
    assert_eq!(found.len(), 3, "checkout/k1 does not exist");
    assert_eq!(found[0].id, ids[0], "ids come back in input order");
    assert_eq!((found[1].service_id.as_str(), found[1].dedup_key.as_str()), ("search", "k1"));
    assert_eq!(found[1].id, ids[1]);
    assert_eq!(found[2].id, ids[1199]);
    assert!(tx.alerts_by_dedup_keys(OrgId(2), &keys).await.unwrap().is_empty());
    assert!(tx.alerts_by_dedup_keys(org, &[]).await.unwrap().is_empty());

    let many: Vec<(String, String)> =
        (0..1200).map(|index| (if index % 2 == 0 { "checkout" } else { "search" }.to_string(), format!("k{index}"))).collect();
    assert_eq!(tx.alerts_by_dedup_keys(org, &many).await.unwrap().len(), 1200);

    let groups = vec![
        ("checkout".to_string(), "g1".to_string()),
        ("checkout".to_string(), "g2".to_string()),
        ("search".to_string(), "g1".to_string()),
    ];
    let open_found = tx.open_incidents_for_groups(org, &groups).await.unwrap();
    assert_eq!(
        open_found.iter().map(|incident| incident.id).collect::<Vec<_>>(),
        vec![open.id],
        "resolved and absent groups are left out"
    );
    assert!(tx.open_incidents_for_groups(OrgId(2), &groups).await.unwrap().is_empty());
    let by_id = tx.incidents_by_ids(org, &[open.id, closed.id, 999_999]).await.unwrap();
    assert_eq!(by_id.len(), 2);
    assert!(tx.incidents_by_ids(OrgId(2), &[open.id]).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

pub async fn deliveries_enqueued_leased_are_not_handed_out_until_the_lease_ends(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let incident = create_incident(&store, org, "checkout", "g", at(0)).await;
    let mut leased = new_delivery(org, incident.id, "leased", "alice", "m");
    leased.leased_until = Some(at(30));
    let mut tx = store.begin().await.unwrap();
    let id = tx.enqueue_delivery(&leased).await.unwrap().expect("inserted");
    tx.commit().await.unwrap();
    let log = store.deliveries(org, incident.id).await.unwrap();
    assert_eq!(log[0], leased.clone().into_delivery(id), "stored as into_delivery describes it");
    assert_eq!(log[0].state, DeliveryState::Sending);
    assert!(store.claim_deliveries(at(29), at(100), 10).await.unwrap().is_empty(), "its enqueuer is sending it");
    let taken_over = store.claim_deliveries(at(30), at(100), 10).await.unwrap();
    assert_eq!(taken_over.len(), 1, "the enqueuer died: another sender takes it");
}

fn new_audit_entry(org: OrgId, when: Timestamp, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        org,
        at: when,
        actor: Actor { kind: "user".into(), id: "alice".into() },
        origin: "127.0.0.1".into(),
        action: action.into(),
        target: "incident/1".into(),
        details: serde_json::json!({ "text": "rolled back" }),
    }
}

pub async fn organisations_are_numbered_once_by_slug(store: Arc<dyn Store>) {
    let slug = |text: &str| OrgSlug::parse(text).unwrap();
    let first = store
        .ensure_organisations(&[
            (slug("default"), "Default".into()),
            (slug("acme"), "Acme".into()),
            (slug("globex"), "Globex".into()),
        ])
        .await
        .unwrap();
    assert_eq!(first[0], OrgId::DEFAULT);
    assert!(first[1] != first[2] && !first.contains(&OrgId(0)));
    assert!(first[1] != OrgId::DEFAULT && first[2] != OrgId::DEFAULT);
    // Asking again (another replica starting, a restart) gives the same ids.
    let again = store.ensure_organisations(&[(slug("globex"), "Renamed".into()), (slug("acme"), "Acme".into())]).await.unwrap();
    assert_eq!(again, vec![first[2], first[1]]);
}

pub async fn audit_log_is_per_organisation_and_newest_first(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    for (second, action) in [(1, "incident.acknowledge"), (2, "incident.note"), (3, "incident.resolve")] {
        tx.append_audit(&new_audit_entry(org, at(second), action)).await.unwrap();
    }
    tx.append_audit(&new_audit_entry(OrgId(2), at(4), "silence.create")).await.unwrap();
    tx.commit().await.unwrap();
    // Rolled back with the change it records.
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&new_audit_entry(org, at(5), "incident.escalate")).await.unwrap();
    drop(tx);

    let entries = store.audit_log(org, &AuditFilter { before_id: None, limit: 10 }).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["incident.resolve", "incident.note", "incident.acknowledge"]);
    assert_eq!(entries[0].actor, Actor { kind: "user".into(), id: "alice".into() });
    assert_eq!((entries[0].origin.as_str(), entries[0].target.as_str(), entries[0].at), ("127.0.0.1", "incident/1", at(3)));
    assert_eq!(entries[0].details, serde_json::json!({ "text": "rolled back" }));
    let older = store.audit_log(org, &AuditFilter { before_id: Some(entries[0].id), limit: 1 }).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].action, "incident.note");
}

pub async fn leadership_is_given_up_when_dropped(store: Arc<dyn Store>) {
    let mut leadership = store.try_lead().await.unwrap().expect("a lone process leads");
    assert!(leadership.still_held().await);
    drop(leadership);
    // Leadership held on a connection that closes on drop can take a moment to be released.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.try_lead().await.unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "leadership was not given up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Everything the normal read methods show of some organisations.
#[derive(Debug, PartialEq)]
struct Readable {
    incidents: Vec<Incident>,
    alerts: Vec<Alert>,
    timelines: Vec<Vec<TimelineEntry>>,
    deliveries: Vec<Vec<Delivery>>,
    change_events: Vec<ChangeEvent>,
    silences: Vec<Silence>,
    audit_log: Vec<AuditEntry>,
    api_tokens: Vec<Option<ApiToken>>,
    slo_buckets: Vec<SloBucket>,
    runbook_runs: Vec<RunbookRun>,
    deploy_links: Vec<DeployLink>,
    catalog: Vec<staunch_domain::catalog::CatalogEntity>,
    investigations: Vec<StoredInvestigation>,
    llm_exchanges: Vec<LlmExchange>,
    next_job_due: Option<Timestamp>,
    action_items: Vec<ActionItem>,
}

async fn readable(store: &Arc<dyn Store>, orgs: &[OrgId], token_hashes: &[String]) -> Readable {
    let mut everything = Readable {
        incidents: vec![],
        alerts: vec![],
        timelines: vec![],
        deliveries: vec![],
        change_events: vec![],
        silences: vec![],
        audit_log: vec![],
        api_tokens: vec![],
        slo_buckets: vec![],
        runbook_runs: vec![],
        deploy_links: vec![],
        catalog: vec![],
        investigations: vec![],
        llm_exchanges: vec![],
        next_job_due: store.next_job_due().await.unwrap(),
        action_items: vec![],
    };
    for &org in orgs {
        let incidents = store.incidents(org, &IncidentFilter { limit: 10_000, ..Default::default() }).await.unwrap();
        for incident in &incidents {
            everything.action_items.extend(store.action_items(org, incident.id).await.unwrap());
            everything.timelines.push(store.timeline(org, incident.id).await.unwrap());
            everything.deliveries.push(store.deliveries(org, incident.id).await.unwrap());
        }
        everything.incidents.extend(incidents);
        everything.alerts.extend(store.alerts(org, &AlertFilter { limit: 10_000, ..Default::default() }).await.unwrap());
        everything.change_events.extend(store.change_events(org, None, 10_000).await.unwrap());
        everything.silences.extend(store.silences(org).await.unwrap());
        everything.audit_log.extend(store.audit_log(org, &AuditFilter { before_id: None, limit: 10_000 }).await.unwrap());
        everything.slo_buckets.extend(store.slo_buckets(org, "checkout-availability", at(-86_400)).await.unwrap());
        for incident in &everything.incidents {
            everything.runbook_runs.extend(store.runbook_runs(org, incident.id).await.unwrap());
            everything.deploy_links.extend(store.deploy_link(org, incident.id).await.unwrap());
            everything.investigations.extend(store.investigation(org, incident.id).await.unwrap());
            everything.llm_exchanges.extend(store.llm_exchanges(org, incident.id).await.unwrap());
        }
        everything.catalog.extend(store.catalog(org).await.unwrap());
    }
    for hash in token_hashes {
        everything.api_tokens.push(store.api_token_by_hash(hash).await.unwrap());
    }
    everything
}

/// Fills a store with some of everything, in two organisations, with gaps in the ids (a
/// deleted job) and more alerts than one export page holds.
async fn populate_for_export(store: &Arc<dyn Store>) -> (Vec<OrgId>, Vec<String>) {
    let slug = |text: &str| OrgSlug::parse(text).unwrap();
    let orgs = store.ensure_organisations(&[(slug("default"), "Default".into()), (slug("acme"), "Acme".into())]).await.unwrap();
    let mut token_hashes = vec![];
    for (index, &org) in orgs.iter().enumerate() {
        let buckets = [
            SloBucket { minute: at(-120), good: 990, total: 1000 },
            SloBucket { minute: at(-60), good: 995 + index as u64, total: 1000 },
        ];
        store.add_slo_events(org, "checkout-availability", &buckets).await.unwrap();
        let mut incident = create_incident(store, org, "checkout", &format!("group-{index}"), at(index as i64)).await;
        let resolved = create_incident(store, org, "search", "{}", at(10)).await;
        let mut tx = store.begin().await.unwrap();
        let scored = NewIncident { noise_probability: Some(0.123_456_7), ..new_incident(org, "search", "scored", at(11)) };
        tx.insert_incident(&scored).await.unwrap();
        tx.insert_llm_exchange(&noise_llm::new_exchange(org, incident.id, "summarise")).await.unwrap();
        incident.state = IncidentState::Acknowledged;
        incident.assignee = Some("alice".into());
        incident.acknowledged_at = Some(at(20));
        tx.update_incident(&incident).await.unwrap();
        let mut closed = resolved.clone();
        closed.state = IncidentState::Resolved;
        closed.resolved_at = Some(at(30));
        tx.update_incident(&closed).await.unwrap();
        tx.insert_action_item(&new_action_item(org, closed.id, "add a canary stage")).await.unwrap();
        let alert_count = if index == 0 { dump::EXPORT_PAGE_ROWS as usize + 200 } else { 3 };
        let alerts: Vec<NewAlert> =
            (0..alert_count).map(|number| new_alert(org, "checkout", &format!("fp-{number}"), Some(incident.id))).collect();
        tx.insert_alerts(&alerts).await.unwrap();
        tx.append_timeline_entries(&[
            NewTimelineEntry {
                org,
                incident_id: incident.id,
                at: at(1),
                actor: Actor::system(),
                kind: "incident.opened".into(),
                data: serde_json::json!({"alerts": [1, 2], "text": "naïve — ünïcode"}),
            },
            NewTimelineEntry {
                org,
                incident_id: incident.id,
                at: at(20),
                actor: Actor { kind: "user".into(), id: "alice".into() },
                kind: "incident.acknowledged".into(),
                data: serde_json::Value::Null,
            },
        ])
        .await
        .unwrap();
        for seconds in [100, 200] {
            let job = NewJob {
                org,
                kind: JobKind::Escalate,
                incident_id: Some(incident.id),
                run_at: at(seconds),
                payload: serde_json::json!({"level": 1}),
            };
            tx.schedule_job(&job).await.unwrap();
        }
        let sent = tx.enqueue_delivery(&new_delivery(org, incident.id, "page:1", "alice", "webhook")).await.unwrap().unwrap();
        tx.enqueue_delivery(&new_delivery(org, incident.id, "page:2", "bob", "email")).await.unwrap();
        tx.finish_delivery(org, sent, &DeliveryOutcome::Sent { at: at(5) }).await.unwrap();
        tx.insert_change_event(&NewChangeEvent {
            org,
            service_id: "checkout".into(),
            summary: "deploy".into(),
            source: None,
            at: at(-5),
            received_at: at(-4),
            details: serde_json::json!({"sha": "abc"}),
            links: vec![AlertLink { href: "http://ci.test/1".into(), text: None }],
        })
        .await
        .unwrap();
        tx.insert_silence(&NewSilence {
            org,
            matchers: "{env=\"staging\"}".into(),
            starts_at: at(0),
            ends_at: at(3600),
            created_by: Actor { kind: "token".into(), id: "7".into() },
            comment: "maintenance".into(),
        })
        .await
        .unwrap();
        let hash = format!("{index:02}").repeat(32);
        let role = if index == 0 { Role::Admin } else { Role::Viewer };
        let token = NewApiToken { org, name: "admin".into(), user_id: None, role, token_sha256: hash.clone(), created_at: at(0) };
        tx.insert_api_token(&token).await.unwrap();
        token_hashes.push(hash);
        tx.append_audit(&new_audit_entry(org, at(21), "incident.acknowledge")).await.unwrap();
        tx.insert_runbook_run(&new_runbook_run(org, incident.id, "fallback", Some("outage"), 2)).await.unwrap();
        tx.insert_deploy_link(&new_deploy_link(org, incident.id, 1)).await.unwrap();
        tx.replace_catalog(org, &[catalog_component("checkout", "pay", &["resource:db"])], at(0)).await.unwrap();
        let investigation =
            StoredInvestigation { incident_id: incident.id, computed_at: at(5), result: serde_json::json!({"top": []}) };
        tx.save_investigation(org, &investigation).await.unwrap();
        tx.commit().await.unwrap();
    }
    // The first job ran: its id is a gap the import keeps.
    let mut tx = store.begin().await.unwrap();
    let due = tx.due_jobs(at(150), 1).await.unwrap();
    tx.delete_job(due[0].id).await.unwrap();
    tx.commit().await.unwrap();
    (orgs, token_hashes)
}

/// The row lines of an export file (the header names its time and source).
fn row_lines(file: &[u8]) -> Vec<&[u8]> {
    let lines: Vec<&[u8]> = file.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()).collect();
    lines[1..lines.len() - 1].to_vec()
}

fn import_error(result: Result<dump::ImportSummary, dump::DumpError>) -> dump::DumpError {
    match result {
        Ok(summary) => panic!("import should have been refused, it loaded {:?}", summary.rows),
        Err(error) => error,
    }
}

pub async fn export_then_import_keeps_every_row_and_id(source: Arc<dyn Store>, target: Arc<dyn Store>) {
    let (orgs, token_hashes) = populate_for_export(&source).await;
    let mut file = Vec::new();
    let exported = dump::export_to(source.as_ref(), &mut file, at(1000)).await.unwrap();
    assert_eq!(exported.header.source_backend, source.backend_name());
    assert_eq!(exported.header.schema_version, source.schema_version().await.unwrap());
    assert_eq!(exported.rows["alerts"], dump::EXPORT_PAGE_ROWS as u64 + 203);
    assert_eq!(exported.rows["organisations"], 2);
    assert_eq!(exported.rows["jobs"], 3, "the deleted job is not exported");
    for table in dump::TABLES {
        assert!(exported.rows.get(table.name).copied().unwrap_or(0) > 0, "no rows of {} exported", table.name);
    }

    // Damaged files are refused and leave the target as it was: empty.
    let text = String::from_utf8(file.clone()).unwrap();
    let without_trailer = file[..text.trim_end().rfind('\n').unwrap() + 1].to_vec();
    let cut_mid_line = file[..file.len() / 2].to_vec();
    let edited = text.replacen("\"title\":\"checkout group-0\"", "\"title\":\"checkout group-X\"", 1);
    assert_ne!(edited, text);
    let mut lines: Vec<&str> = text.lines().collect();
    // The last row of the last table (one per organisation): nothing refers to it, so only
    // the trailer can tell it is gone.
    lines.remove(lines.len() - 2);
    let dropped_row = lines.join("\n") + "\n";
    let dropped_message = format!("{}: 1 rows read, the trailer says 2", dump::TABLES[dump::TABLES.len() - 1].name);
    for (damaged, expected) in [
        (without_trailer, "truncated"),
        (cut_mid_line, "truncated"),
        (edited.into_bytes(), "sha256"),
        (dropped_row.into_bytes(), dropped_message.as_str()),
    ] {
        let error = import_error(dump::import_from(target.as_ref(), &mut damaged.as_slice(), None).await);
        assert!(error.to_string().contains(expected), "expected {expected:?}: {error}");
        let mut tx = target.begin().await.unwrap();
        assert!(tx.tables_with_rows().await.unwrap().is_empty(), "a refused import left rows behind ({error})");
    }

    let imported = dump::import_from(target.as_ref(), &mut file.as_slice(), None).await.unwrap();
    assert_eq!(imported.rows, exported.rows);
    assert_eq!(imported.header, exported.header);

    // Everything reads back the same, ids included.
    assert_eq!(target.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap(), vec![orgs[1]]);
    let before = readable(&source, &orgs, &token_hashes).await;
    let after = readable(&target, &orgs, &token_hashes).await;
    assert_eq!(after, before);
    assert!(before.api_tokens.iter().all(Option::is_some));
    // The search of past incidents is not in the file; the import rebuilt it from the alerts.
    let failing = SimilarIncidentQuery { words: vec!["failing".into()], before: at(1_000_000), exclude_incident: None, limit: 5 };
    let hits = target.similar_incidents(orgs[0], &failing).await.unwrap();
    assert!(!hits.is_empty(), "imported alerts are searchable");
    assert!(hits.iter().all(|hit| before.alerts.iter().any(|alert| alert.incident_id == Some(hit.incident_id))));
    assert_eq!(target.api_token_count().await.unwrap(), 2);
    let mut again = Vec::new();
    dump::export_to(target.as_ref(), &mut again, at(2000)).await.unwrap();
    assert_eq!(row_lines(&again), row_lines(&file), "a second export of the imported data is the same, row for row");

    // A second import into the now populated database is refused.
    let error = import_error(dump::import_from(target.as_ref(), &mut file.as_slice(), None).await);
    assert!(matches!(error, dump::DumpError::NotEmpty(_)), "{error}");
    assert!(error.to_string().contains("incidents"), "{error}");

    // New rows get ids past every imported one.
    let max_incident = before.incidents.iter().map(|incident| incident.id).max().unwrap();
    let max_alert = before.alerts.iter().map(|alert| alert.id).max().unwrap();
    let max_timeline = before.timelines.iter().flatten().map(|entry| entry.id).max().unwrap();
    let max_delivery = before.deliveries.iter().flatten().map(|delivery| delivery.id).max().unwrap();
    let max_silence = before.silences.iter().map(|silence| silence.id).max().unwrap();
    let max_change = before.change_events.iter().map(|event| event.id).max().unwrap();
    let max_audit = before.audit_log.iter().map(|entry| entry.id).max().unwrap();
    let max_token = before.api_tokens.iter().flatten().map(|token| token.id).max().unwrap();
    let org = OrgId::DEFAULT;
    let mut tx = target.begin().await.unwrap();
    let incident = tx.insert_incident(&new_incident(org, "checkout", "after-import", at(3000))).await.unwrap();
    assert!(incident.id > max_incident, "incident {} reuses an imported id", incident.id);
    let alert_id = tx.insert_alert(&new_alert(org, "checkout", "after-import", Some(incident.id))).await.unwrap();
    assert!(alert_id > max_alert);
    let job_id = tx
        .schedule_job(&NewJob {
            org,
            kind: JobKind::Escalate,
            incident_id: Some(incident.id),
            run_at: at(5000),
            payload: serde_json::json!({}),
        })
        .await
        .unwrap();
    let delivery_id =
        tx.enqueue_delivery(&new_delivery(org, incident.id, "after-import", "alice", "webhook")).await.unwrap().unwrap();
    assert!(delivery_id > max_delivery, "delivery {delivery_id} reuses an imported id");
    tx.append_timeline(&NewTimelineEntry {
        org,
        incident_id: incident.id,
        at: at(3000),
        actor: Actor::system(),
        kind: "incident.opened".into(),
        data: serde_json::json!({}),
    })
    .await
    .unwrap();
    let silence_id = tx
        .insert_silence(&NewSilence {
            org,
            matchers: "{a=\"b\"}".into(),
            starts_at: at(0),
            ends_at: at(1),
            created_by: Actor::system(),
            comment: String::new(),
        })
        .await
        .unwrap();
    assert!(silence_id > max_silence);
    let change_id = tx
        .insert_change_event(&NewChangeEvent {
            org,
            service_id: "checkout".into(),
            summary: "deploy".into(),
            source: None,
            at: at(0),
            received_at: at(0),
            details: serde_json::json!({}),
            links: vec![],
        })
        .await
        .unwrap();
    assert!(change_id > max_change);
    let token_id = tx
        .insert_api_token(&NewApiToken {
            org,
            name: "new".into(),
            user_id: None,
            role: Role::Viewer,
            token_sha256: "ef".repeat(32),
            created_at: at(0),
        })
        .await
        .unwrap();
    assert!(token_id > max_token);
    tx.append_audit(&new_audit_entry(org, at(3000), "incident.create")).await.unwrap();
    tx.commit().await.unwrap();
    let source_max_job = {
        let mut tx = source.begin().await.unwrap();
        tx.due_jobs(at(10_000), 100).await.unwrap().iter().map(|job| job.id).max().unwrap()
    };
    assert!(job_id > source_max_job, "job {job_id} reuses an imported id");
    let timeline = target.timeline(org, incident.id).await.unwrap();
    assert!(timeline[0].id > max_timeline);
    let audit = target.audit_log(org, &AuditFilter { before_id: None, limit: 1 }).await.unwrap();
    assert!(audit[0].id > max_audit);
    let globex = target.ensure_organisations(&[(OrgSlug::parse("globex").unwrap(), "Globex".into())]).await.unwrap();
    assert!(globex[0].0 > orgs.iter().map(|org| org.0).max().unwrap(), "organisation {:?} reuses an imported id", globex[0]);
}

pub async fn slo_buckets_add_up_per_minute_and_are_pruned(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let bucket = |seconds: i64, good: u64, total: u64| SloBucket { minute: at(seconds), good, total };
    // `at(0)` is 20 seconds into its minute; pushes anywhere inside a minute add to that minute.
    let minute = SloBucket::minute_start(at(0));
    assert_eq!(minute.as_second() % 60, 0);
    store.add_slo_events(org, "checkout", &[bucket(0, 9, 10), bucket(30, 5, 5)]).await.unwrap();
    store.add_slo_events(org, "checkout", &[bucket(1, 1, 3), bucket(120, 7, 8)]).await.unwrap();
    store.add_slo_events(org, "search", &[bucket(0, 1, 1)]).await.unwrap();
    store.add_slo_events(OrgId(2), "checkout", &[bucket(0, 100, 100)]).await.unwrap();

    let read = store.slo_buckets(org, "checkout", at(-3600)).await.unwrap();
    let expected = vec![
        SloBucket { minute, good: 15, total: 18 },
        SloBucket { minute: SloBucket::minute_start(at(120)), good: 7, total: 8 },
    ];
    assert_eq!(read, expected, "counts for one minute add up, other SLOs and orgs stay apart");
    assert_eq!(store.slo_buckets(org, "checkout", at(120)).await.unwrap().len(), 1, "from is inclusive of its minute");

    // An uncommitted add leaves nothing behind.
    let mut tx = store.begin().await.unwrap();
    tx.add_slo_events(org, "checkout", &[bucket(0, 1000, 1000)]).await.unwrap();
    drop(tx);
    assert_eq!(store.slo_buckets(org, "checkout", at(-3600)).await.unwrap(), read);

    let mut tx = store.begin().await.unwrap();
    let pruned = tx.prune_slo_buckets(org, "checkout", at(120)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(pruned as usize, read.len() - 1);
    assert_eq!(store.slo_buckets(org, "checkout", at(-3600)).await.unwrap(), read[read.len() - 1..].to_vec());
    assert_eq!(store.slo_buckets(OrgId(2), "checkout", at(-3600)).await.unwrap().len(), 1, "pruning stays in its org");
}

fn new_action_item(org: OrgId, incident_id: i64, text: &str) -> NewActionItem {
    NewActionItem {
        org,
        incident_id,
        text: text.into(),
        owner: Some("alice".into()),
        due: Some(jiff::civil::date(2026, 12, 24)),
        status: staunch_domain::action_item::ActionItemStatus::Open,
        created_by: Actor { kind: "user".into(), id: "bob".into() },
        created_at: at(5),
    }
}

pub async fn action_items_are_kept_per_incident_and_organisation(store: Arc<dyn Store>) {
    use staunch_domain::action_item::ActionItemStatus;
    let other_org = store.ensure_organisations(&[(OrgSlug::parse("other").unwrap(), "Other".into())]).await.unwrap()[0];
    let incident = create_incident(&store, OrgId::DEFAULT, "checkout", "g", at(0)).await;
    let elsewhere = create_incident(&store, OrgId::DEFAULT, "search", "g", at(0)).await;
    let mut tx = store.begin().await.unwrap();
    let first = tx.insert_action_item(&new_action_item(OrgId::DEFAULT, incident.id, "add a canary stage")).await.unwrap();
    let mut second_item = new_action_item(OrgId::DEFAULT, incident.id, "alert on queue depth");
    second_item.owner = None;
    second_item.due = None;
    let second = tx.insert_action_item(&second_item).await.unwrap();
    tx.insert_action_item(&new_action_item(OrgId::DEFAULT, elsewhere.id, "other incident")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(second.id > first.id);
    assert_eq!(
        (first.text.as_str(), first.owner.as_deref(), first.due),
        ("add a canary stage", Some("alice"), Some(jiff::civil::date(2026, 12, 24)))
    );
    assert_eq!((first.created_at, first.updated_at, &first.created_by.id), (at(5), at(5), &"bob".to_string()));
    assert_eq!(store.action_items(OrgId::DEFAULT, incident.id).await.unwrap(), vec![first.clone(), second.clone()]);

    let mut tx = store.begin().await.unwrap();
    let mut changed = tx.action_item(OrgId::DEFAULT, first.id).await.unwrap().expect("read in the transaction");
    changed.status = ActionItemStatus::Done;
    changed.owner = None;
    changed.due = None;
    changed.updated_at = at(60);
    tx.update_action_item(&changed).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.action_item(OrgId::DEFAULT, first.id).await.unwrap(), Some(changed));

    // Another organisation sees none of it, by incident or by id.
    assert!(store.action_items(other_org, incident.id).await.unwrap().is_empty());
    assert_eq!(store.action_item(other_org, first.id).await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.action_item(other_org, second.id).await.unwrap(), None);
}

fn new_runbook_run(org: OrgId, incident_id: i64, runbook: &str, symptom: Option<&str>, steps: usize) -> NewRunbookRun {
    use staunch_domain::runbook::RunProgress;
    NewRunbookRun {
        org,
        incident_id,
        runbook: runbook.into(),
        definition: serde_json::json!({ "name": runbook, "steps": [{ "wait": "1s" }] }),
        symptom: symptom.map(str::to_string),
        dry_run: false,
        started_by: Actor { kind: "user".into(), id: "alice".into() },
        progress: RunProgress::new(steps),
        created_at: at(0),
    }
}

pub async fn runbook_runs_round_trip_and_count_outcomes_per_symptom(store: Arc<dyn Store>) {
    use staunch_domain::runbook::{RunState, StepStatus};
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let incident = create_incident(&store, org, "chat", "a", at(0)).await;
    let mut resolved = create_incident(&store, org, "chat", "b", at(0)).await;
    let other_incident = create_incident(&store, other, "chat", "a", at(0)).await;

    let mut tx = store.begin().await.unwrap();
    let first = tx.insert_runbook_run(&new_runbook_run(org, incident.id, "fallback", Some("outage"), 2)).await.unwrap();
    let second = tx.insert_runbook_run(&new_runbook_run(org, incident.id, "restart", Some("outage"), 1)).await.unwrap();
    let third = tx.insert_runbook_run(&new_runbook_run(org, resolved.id, "fallback", Some("outage"), 1)).await.unwrap();
    let fourth = tx.insert_runbook_run(&new_runbook_run(org, resolved.id, "fallback", None, 1)).await.unwrap();
    let mut dry = new_runbook_run(org, resolved.id, "fallback", Some("outage"), 1);
    dry.dry_run = true;
    dry.progress.state = RunState::DryRun;
    tx.insert_runbook_run(&dry).await.unwrap();
    let foreign = tx.insert_runbook_run(&new_runbook_run(other, other_incident.id, "fallback", Some("outage"), 1)).await.unwrap();
    tx.commit().await.unwrap();

    let runs = store.runbook_runs(org, incident.id).await.unwrap();
    assert_eq!(runs.iter().map(|run| run.id).collect::<Vec<_>>(), [first, second], "oldest first, one incident");
    assert_eq!(runs[0].runbook, "fallback");
    assert_eq!(runs[0].definition["steps"][0]["wait"], "1s");
    assert_eq!(runs[0].started_by.id, "alice");
    assert_eq!(runs[0].progress.steps.len(), 2);
    assert_eq!(runs[0].finished_at, None);
    assert!(store.runbook_run(org, foreign).await.unwrap().is_none(), "another organisation's run is invisible");
    assert!(store.runbook_runs(org, other_incident.id).await.unwrap().is_empty());
    let active: Vec<i64> = store.active_runbook_runs().await.unwrap().iter().map(|run| run.id).collect();
    assert_eq!(active, [first, second, third, fourth, foreign], "every running run, across organisations, not the dry run");

    // Progress written in a transaction reads back whole; the rolled-back write leaves nothing.
    let mut tx = store.begin().await.unwrap();
    let mut run = tx.runbook_run_for_update(org, first).await.unwrap().unwrap();
    run.progress.steps[0].status = StepStatus::Succeeded;
    run.progress.steps[0].attempts = 1;
    run.progress.steps[0].output = "ok\n".into();
    run.progress.steps[0].approved_by = Some("user:bob".into());
    run.progress.state = RunState::Recovered;
    run.updated_at = at(30);
    run.finished_at = Some(at(30));
    tx.update_runbook_run(&run).await.unwrap();
    tx.commit().await.unwrap();
    let read = store.runbook_run(org, first).await.unwrap().unwrap();
    assert_eq!(read, run);
    let mut tx = store.begin().await.unwrap();
    let mut changed = read.clone();
    changed.progress.state = RunState::Failed;
    tx.update_runbook_run(&changed).await.unwrap();
    drop(tx);
    assert_eq!(store.runbook_run(org, first).await.unwrap().unwrap().state(), RunState::Recovered);

    // Outcomes: `restart` failed; `fallback` recovered once and finished once on an incident
    // that is resolved (two successes); the run without a symptom and the dry run do not count.
    let finish = |org: OrgId, run_id: i64, state: RunState| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let mut run = tx.runbook_run_for_update(org, run_id).await.unwrap().unwrap();
            run.progress.state = state;
            run.finished_at = Some(at(60));
            tx.update_runbook_run(&run).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    finish(org, second, RunState::Failed).await;
    finish(org, third, RunState::Finished).await;
    finish(org, fourth, RunState::Finished).await;
    finish(other, foreign, RunState::Recovered).await;
    let mut tx = store.begin().await.unwrap();
    resolved.state = IncidentState::Resolved;
    resolved.resolved_at = Some(at(90));
    tx.update_incident(&resolved).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.active_runbook_runs().await.unwrap().is_empty());
    let outcomes = store.runbook_outcomes(org).await.unwrap();
    let expected = vec![
        RunbookOutcomes { symptom: "outage".into(), runbook: "fallback".into(), attempts: 2, successes: 2 },
        RunbookOutcomes { symptom: "outage".into(), runbook: "restart".into(), attempts: 1, successes: 0 },
    ];
    assert_eq!(outcomes, expected);
    assert_eq!(store.runbook_outcomes(other).await.unwrap().len(), 1);
}

fn new_deploy_link(org: OrgId, incident_id: i64, change_id: i64) -> NewDeployLink {
    NewDeployLink {
        org,
        incident_id,
        service_id: "chat".into(),
        change_id,
        deploy: serde_json::json!({ "id": change_id, "summary": "deploy abc", "details": { "sha": "abc" } }),
        linked_at: at(10),
        rollback_runbook: Some("rollback".into()),
        rollback_approval: false,
        rollback_state: RollbackState::Pending,
    }
}

pub async fn deploy_links_are_one_per_incident_and_settled_once(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let incident = create_incident(&store, org, "chat", "a", at(0)).await;
    let unlinked = create_incident(&store, org, "chat", "b", at(0)).await;
    let other_incident = create_incident(&store, other, "chat", "a", at(0)).await;

    let mut tx = store.begin().await.unwrap();
    for (index, service) in ["chat", "search", "chat"].into_iter().enumerate() {
        let change = NewChangeEvent {
            org,
            service_id: service.into(),
            summary: format!("change {index}"),
            source: None,
            // Arrival order, not `at`, orders the recent changes.
            at: at(100 - index as i64),
            received_at: at(100),
            details: serde_json::json!({}),
            links: vec![],
        };
        tx.insert_change_event(&change).await.unwrap();
    }
    let recent = tx.recent_change_events(org, "chat", 10).await.unwrap();
    assert_eq!(recent.iter().map(|change| change.summary.as_str()).collect::<Vec<_>>(), ["change 2", "change 0"]);
    assert_eq!(tx.recent_change_events(org, "chat", 1).await.unwrap().len(), 1);
    assert!(tx.recent_change_events(other, "chat", 10).await.unwrap().is_empty());

    assert!(tx.insert_deploy_link(&new_deploy_link(org, incident.id, recent[0].id)).await.unwrap());
    assert!(!tx.insert_deploy_link(&new_deploy_link(org, incident.id, recent[1].id)).await.unwrap(), "one link per incident");
    let mut settled = new_deploy_link(other, other_incident.id, 99);
    settled.rollback_state = RollbackState::None;
    settled.rollback_runbook = None;
    assert!(tx.insert_deploy_link(&settled).await.unwrap());
    tx.commit().await.unwrap();

    let link = store.deploy_link(org, incident.id).await.unwrap().expect("linked");
    assert_eq!((link.change_id, link.rollback_state, link.rollback_run_id), (recent[0].id, RollbackState::Pending, None));
    assert_eq!(link.deploy["details"]["sha"], "abc");
    assert_eq!(link.rollback_runbook.as_deref(), Some("rollback"));
    assert!(store.deploy_link(org, unlinked.id).await.unwrap().is_none());
    assert!(store.deploy_link(other, incident.id).await.unwrap().is_none(), "another organisation's link is invisible");
    let pending: Vec<i64> = store.pending_rollbacks(10).await.unwrap().iter().map(|link| link.incident_id).collect();
    assert_eq!(pending, [incident.id]);

    let settlement = RollbackSettlement { state: RollbackState::Started, run_id: Some(7), note: None, at: at(20) };
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.settle_rollback(other, incident.id, &settlement).await.unwrap(), "not across organisations");
    assert!(tx.settle_rollback(org, incident.id, &settlement).await.unwrap());
    assert!(!tx.settle_rollback(org, incident.id, &settlement).await.unwrap(), "settled once");
    drop(tx);
    assert_eq!(store.pending_rollbacks(10).await.unwrap().len(), 1, "a rolled back settlement leaves it pending");
    let mut tx = store.begin().await.unwrap();
    assert!(tx.settle_rollback(org, incident.id, &settlement).await.unwrap());
    tx.commit().await.unwrap();
    let link = store.deploy_link(org, incident.id).await.unwrap().unwrap();
    assert_eq!((link.rollback_state, link.rollback_run_id, link.updated_at), (RollbackState::Started, Some(7), at(20)));
    assert!(store.pending_rollbacks(10).await.unwrap().is_empty());
}

fn catalog_component(name: &str, owner: &str, depends_on: &[&str]) -> staunch_domain::catalog::CatalogEntity {
    use staunch_domain::catalog::*;
    CatalogEntity {
        kind: EntityKind::Component,
        namespace: "default".into(),
        name: name.into(),
        description: None,
        tags: vec!["web".into()],
        owner: Some(owner.into()),
        system: None,
        entity_type: Some("service".into()),
        depends_on: depends_on.iter().map(|text| EntityRef::parse(text, None).unwrap()).collect(),
    }
}

pub async fn catalog_is_replaced_per_organisation(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let first = [catalog_component("frontend", "web", &["component:checkout"]), catalog_component("checkout", "pay", &[])];
    let mut tx = store.begin().await.unwrap();
    let sync = tx.replace_catalog(org, &first, at(0)).await.unwrap();
    assert_eq!(sync.added, ["component:default/frontend", "component:default/checkout"]);
    tx.replace_catalog(other, &[catalog_component("billing", "fin", &[])], at(0)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.catalog(org).await.unwrap(), [first[1].clone(), first[0].clone()], "by entity ref");

    let second = [catalog_component("frontend", "web-team", &["component:checkout"]), catalog_component("search", "web", &[])];
    let mut tx = store.begin().await.unwrap();
    let sync = tx.replace_catalog(org, &second, at(10)).await.unwrap();
    tx.commit().await.unwrap();
    let expected = CatalogSync {
        added: vec!["component:default/search".into()],
        updated: vec!["component:default/frontend".into()],
        removed: vec!["component:default/checkout".into()],
        unchanged: 0,
    };
    assert_eq!(sync, expected);
    let names: Vec<String> = store.catalog(org).await.unwrap().into_iter().map(|entity| entity.name).collect();
    assert_eq!(names, ["frontend", "search"]);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.replace_catalog(org, &second, at(20)).await.unwrap().unchanged, 2);
    drop(tx);
    let others: Vec<String> = store.catalog(other).await.unwrap().into_iter().map(|entity| entity.name).collect();
    assert_eq!(others, ["billing"], "another organisation's catalog is untouched");
}

pub async fn change_events_are_read_by_time_window(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let mut tx = store.begin().await.unwrap();
    for (organisation, seconds) in [(org, 10), (org, 20), (org, 30), (org, 40), (other, 25)] {
        let change = NewChangeEvent {
            org: organisation,
            service_id: "chat".into(),
            summary: format!("change at {seconds}"),
            source: None,
            at: at(seconds),
            received_at: at(100),
            details: serde_json::json!({}),
            links: vec![],
        };
        tx.insert_change_event(&change).await.unwrap();
    }
    tx.commit().await.unwrap();
    let summaries = |changes: Vec<ChangeEvent>| changes.into_iter().map(|change| change.summary).collect::<Vec<_>>();
    let window = store.change_events_between(org, at(20), at(30), 10).await.unwrap();
    assert_eq!(summaries(window), ["change at 30", "change at 20"], "both ends included, newest first");
    assert_eq!(summaries(store.change_events_between(org, at(0), at(100), 1).await.unwrap()), ["change at 40"]);
    assert_eq!(summaries(store.change_events_between(other, at(0), at(100), 10).await.unwrap()), ["change at 25"]);
}

pub async fn similar_incidents_see_only_their_organisation_before_the_cut(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let titled = |organisation: OrgId, title: &str, group: &str, seconds: i64| {
        let mut incident = new_incident(organisation, "checkout", group, at(seconds));
        incident.title = title.into();
        incident
    };
    let mut tx = store.begin().await.unwrap();
    let latency = tx.insert_incident(&titled(org, "Checkout latency high", "a", 0)).await.unwrap();
    let disk = tx.insert_incident(&titled(org, "Disk full on database", "b", 10)).await.unwrap();
    let later = tx.insert_incident(&titled(org, "Checkout latency high again", "c", 1000)).await.unwrap();
    let foreign = tx.insert_incident(&titled(other, "Checkout latency high", "a", 0)).await.unwrap();
    tx.append_timeline(&NewTimelineEntry {
        org,
        incident_id: latency.id,
        at: at(50),
        actor: Actor::system(),
        kind: "incident.note".into(),
        data: serde_json::json!({ "text": "rolled back the payments deploy" }),
    })
    .await
    .unwrap();
    let mut throttled = new_alert(org, "checkout", "cpu", Some(disk.id));
    throttled.summary = "CPU throttled".into();
    tx.insert_alert(&throttled).await.unwrap();
    for incident in [&latency, &disk, &later, &foreign] {
        tx.index_incident_texts(incident.org, incident.id, u32::MAX).await.unwrap();
    }
    tx.commit().await.unwrap();

    let search = |words: &[&str], before: i64, exclude: Option<i64>| SimilarIncidentQuery {
        words: words.iter().map(|word| word.to_string()).collect(),
        before: at(before),
        exclude_incident: exclude,
        limit: 5,
    };
    let found = |hits: Vec<SimilarIncidentHit>| hits.into_iter().map(|hit| hit.incident_id).collect::<Vec<_>>();
    let hits = store.similar_incidents(org, &search(&["checkout", "latency"], 500, None)).await.unwrap();
    assert_eq!(found(hits), [latency.id], "not the other organisation's, not one opened after the cut");
    let hits = store.similar_incidents(org, &search(&["checkout", "latency"], 2000, None)).await.unwrap();
    assert_eq!(found(hits).len(), 2);
    assert!(
        !found(store.similar_incidents(org, &search(&["checkout"], 2000, Some(later.id))).await.unwrap()).contains(&later.id)
    );
    let hits = store.similar_incidents(org, &search(&["payments"], 40, None)).await.unwrap();
    assert!(hits.is_empty(), "a note written after the cut is not seen: {hits:?}");
    assert_eq!(found(store.similar_incidents(org, &search(&["payments"], 60, None)).await.unwrap()), [latency.id]);
    assert_eq!(found(store.similar_incidents(org, &search(&["throttled"], 500, None)).await.unwrap()), [disk.id]);
    assert!(store.similar_incidents(org, &search(&["nothing"], 500, None)).await.unwrap().is_empty());
    assert!(store.similar_incidents(org, &search(&[], 500, None)).await.unwrap().is_empty());
    let foreign_hits = store.similar_incidents(other, &search(&["checkout"], 2000, None)).await.unwrap();
    assert_eq!(found(foreign_hits), [foreign.id]);
    // The same words, in any order of relevance, rank a fuller match first.
    let hits = store.similar_incidents(org, &search(&["disk", "full", "database", "checkout"], 500, None)).await.unwrap();
    assert_eq!(found(hits).first(), Some(&disk.id));
}

/// Once the index holds 10,000 texts, a word held by more than 5% of them is left out of a
/// search as long as three rarer words remain: an incident holding only common words is not
/// found, one holding a rare word is. A backend may learn the shares a moment after the commit
/// (PostgreSQL reads them from statistics it refreshes off the writer's path), so the search is
/// retried for a while. "disks" and "failing" are not their own stems ("disk", "fail"): a word
/// is counted as the index stems it, not as written.
pub async fn a_large_index_leaves_out_words_most_incidents_hold(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    for index in 0..10_000 {
        let mut incident = new_incident(org, "fleet", &format!("filler-{index}"), at(index));
        incident.title = "fleet disks failing".into();
        tx.insert_incident(&incident).await.unwrap();
    }
    let mut rare = new_incident(org, "fleet", "rare", at(10_000));
    rare.title = "fleet disks failing zebra".into();
    let rare = tx.insert_incident(&rare).await.unwrap();
    tx.index_every_incident_text().await.unwrap();
    tx.commit().await.unwrap();

    let search = SimilarIncidentQuery {
        words: ["fleet", "disks", "failing", "zebra", "quokka", "narwhal"].map(str::to_string).to_vec(),
        before: at(20_000),
        exclude_incident: None,
        limit: 5,
    };
    let mut found = Vec::new();
    for _ in 0..100 {
        found = store.similar_incidents(org, &search).await.unwrap().into_iter().map(|hit| hit.incident_id).collect();
        if found == [rare.id] {
            return;
        }
        // The store crate has no runtime of its own; the awaits between tries let a backend's
        // background work go on.
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(found.first(), Some(&rare.id), "the rare word ranks first in any case");
    panic!("words in every text were still searched after 10 s: {found:?}");
}

pub async fn incident_texts_are_indexed_once_from_the_first_alerts(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let alert = |key: &str, summary: &str, seconds: i64, firing: bool, incident_id: i64| {
        let mut alert = new_alert(org, "queue", key, Some(incident_id));
        alert.summary = summary.into();
        alert.labels = [("alertname".to_string(), "QueueTrouble".to_string())].into();
        alert.received_at = at(seconds);
        alert.firing = firing;
        alert
    };
    let mut tx = store.begin().await.unwrap();
    let mut backlog = new_incident(org, "queue", "backlog", at(100));
    backlog.title = "Queue backlog growing".into();
    let backlog = tx.insert_incident(&backlog).await.unwrap();
    // Two alerts with one text: indexed once, known from the earlier sighting.
    let lagging =
        [alert("lag-a", "Consumer lag high", 110, true, backlog.id), alert("lag-b", "Consumer lag high", 105, true, backlog.id)];
    tx.insert_alerts(&lagging).await.unwrap();
    tx.insert_alert(&alert("disk", "Broker disk pressure", 120, true, backlog.id)).await.unwrap();
    assert_eq!(tx.index_incident_texts(org, backlog.id, u32::MAX).await.unwrap(), 3, "the title and two distinct texts");
    assert_eq!(tx.index_incident_texts(org, backlog.id, u32::MAX).await.unwrap(), 0, "nothing twice");
    assert_eq!(tx.index_incident_texts(other, backlog.id, u32::MAX).await.unwrap(), 0, "not another organisation's incident");
    tx.insert_alert(&alert("offline", "Partition offline", 130, true, backlog.id)).await.unwrap();
    assert_eq!(tx.index_incident_texts(org, backlog.id, u32::MAX).await.unwrap(), 1, "only the new text");
    tx.commit().await.unwrap();

    assert_eq!(incidents_matching(&store, org, "backlog", 101).await, [backlog.id]);
    assert_eq!(incidents_matching(&store, org, "lag", 106).await, [backlog.id], "from 105");
    assert!(incidents_matching(&store, org, "lag", 105).await.is_empty());
    assert!(incidents_matching(&store, org, "pressure", 115).await.is_empty(), "not before it was seen");
    assert_eq!(incidents_matching(&store, org, "pressure", 121).await, [backlog.id]);
    assert_eq!(incidents_matching(&store, org, "offline", 131).await, [backlog.id]);
    assert!(incidents_matching(&store, other, "backlog", 1000).await.is_empty());

    // A flood: only the first alerts by id are read, resolved or firing.
    let mut tx = store.begin().await.unwrap();
    let flood = tx.insert_incident(&new_incident(org, "queue", "flood", at(200))).await.unwrap();
    let limit = SEARCHED_ALERTS_PER_INCIDENT as usize;
    let mut alerts = vec![alert("origin", "Origin broker unreachable", 201, false, flood.id)];
    alerts.extend((1..limit).map(|n| alert(&format!("member-{n}"), &format!("Flood member {n}"), 202, true, flood.id)));
    alerts.push(alert("straggler", "Straggler arrives", 203, true, flood.id));
    alerts.push(alert("latecomer", "Latecomer resolved", 204, false, flood.id));
    tx.insert_alerts(&alerts).await.unwrap();
    // A few at a time: the title first, then in alert id order.
    assert_eq!(tx.index_incident_texts(org, flood.id, 1).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert_eq!(incidents_matching(&store, org, "flood", 1000).await, [flood.id]);
    assert!(incidents_matching(&store, org, "origin", 1000).await.is_empty(), "not yet");
    let mut tx = store.begin().await.unwrap();
    let mut added = 1;
    loop {
        let batch = tx.index_incident_texts(org, flood.id, 64).await.unwrap();
        added += batch;
        if batch < 64 {
            break;
        }
    }
    assert_eq!(added, 1 + limit as u64, "the title and the first alerts");
    tx.commit().await.unwrap();
    assert_eq!(incidents_matching(&store, org, "origin", 1000).await, [flood.id]);
    assert!(incidents_matching(&store, org, "straggler", 1000).await.is_empty());
    assert!(incidents_matching(&store, org, "latecomer", 1000).await.is_empty());
}

/// The texts an index call would add, read outside any transaction and then added a few per
/// transaction: the same texts, in the same order, each added once.
pub async fn incident_texts_read_once_are_added_in_pieces(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let mut tx = store.begin().await.unwrap();
    let mut stalled = new_incident(org, "db", "stalled", at(100));
    stalled.title = "Replication stalled".into();
    let stalled = tx.insert_incident(&stalled).await.unwrap();
    let alert = |key: &str, summary: &str, seconds: i64| {
        let mut alert = new_alert(org, "db", key, Some(stalled.id));
        alert.summary = summary.into();
        alert.labels = [("alertname".to_string(), "Replication".to_string())].into();
        alert.received_at = at(seconds);
        alert
    };
    let alerts = [
        alert("a", "Replica alpha behind", 110),
        alert("b", "Replica bravo behind", 120),
        alert("c", "Replica alpha behind", 105),
        alert("d", "Primary checkpoint slow", 130),
        alert("e", "Replica charlie behind", 140),
    ];
    tx.insert_alerts(&alerts).await.unwrap();
    tx.commit().await.unwrap();

    let texts = store.incident_texts_to_index(org, stalled.id).await.unwrap();
    let expected = [
        "Replication stalled",
        "Replica alpha behind",
        "Replica bravo behind",
        "Primary checkpoint slow",
        "Replica charlie behind",
    ];
    assert_eq!(texts.len(), expected.len(), "{texts:?}");
    for (text, expected) in texts.iter().zip(expected) {
        assert!(text.body.starts_with(expected), "{:?} in the order of {expected:?}", text.body);
    }
    assert_eq!(texts[0].at, at(100), "the title from the opening");
    assert_eq!(texts[1].at, at(105), "one text of two alerts, from the earlier sighting");
    assert!(store.incident_texts_to_index(other, stalled.id).await.unwrap().is_empty(), "not another organisation's incident");

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.add_incident_texts(other, stalled.id, &texts).await.unwrap(), 0, "not another organisation's incident");
    assert_eq!(tx.add_incident_texts(org, stalled.id, &texts[..2]).await.unwrap(), 2);
    assert_eq!(tx.add_incident_texts(org, stalled.id, &texts[..2]).await.unwrap(), 0, "nothing twice");
    let twice = [texts[2].clone(), texts[2].clone()];
    assert_eq!(tx.add_incident_texts(org, stalled.id, &twice).await.unwrap(), 1, "a body given twice, once");
    tx.commit().await.unwrap();
    assert_eq!(store.incident_texts_to_index(org, stalled.id).await.unwrap(), texts[3..], "the rest, as read before");

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.add_incident_texts(org, stalled.id, &texts[3..]).await.unwrap(), 2);
    assert_eq!(tx.index_incident_texts(org, stalled.id, u32::MAX).await.unwrap(), 0, "nothing left to index");
    tx.commit().await.unwrap();
    assert!(store.incident_texts_to_index(org, stalled.id).await.unwrap().is_empty());

    assert!(incidents_matching(&store, org, "alpha", 105).await.is_empty());
    assert_eq!(incidents_matching(&store, org, "alpha", 106).await, [stalled.id], "from 105");
    assert_eq!(incidents_matching(&store, org, "checkpoint", 131).await, [stalled.id]);
    assert!(incidents_matching(&store, other, "checkpoint", 1000).await.is_empty());
}

/// The incidents a one-word search finds among those opened, and texts known, before `before`.
async fn incidents_matching(store: &Arc<dyn Store>, org: OrgId, word: &str, before: i64) -> Vec<i64> {
    let query = SimilarIncidentQuery { words: vec![word.to_string()], before: at(before), exclude_incident: None, limit: 5 };
    store.similar_incidents(org, &query).await.unwrap().into_iter().map(|hit| hit.incident_id).collect()
}

pub async fn investigations_keep_the_latest_per_incident(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let incident = create_incident(&store, org, "chat", "a", at(0)).await;
    for (seconds, version) in [(10, 1), (20, 2)] {
        let mut tx = store.begin().await.unwrap();
        let stored = StoredInvestigation {
            incident_id: incident.id,
            computed_at: at(seconds),
            result: serde_json::json!({ "v": version }),
        };
        tx.save_investigation(org, &stored).await.unwrap();
        tx.commit().await.unwrap();
    }
    let latest = store.investigation(org, incident.id).await.unwrap().expect("stored");
    assert_eq!((latest.computed_at, latest.result), (at(20), serde_json::json!({ "v": 2 })));
    assert!(store.investigation(other, incident.id).await.unwrap().is_none());
}
