//! What the PostgreSQL backend promises beyond the conformance suite: several replicas (here,
//! several stores, each with its own pool) sharing one database at the same time.

mod support;

use jiff::Timestamp;
use sqlx::{Connection, PgConnection};
use staunch_domain::severity::Severity;
use staunch_store::*;
use staunch_store_postgres::PostgresStore;
use std::collections::HashSet;
use std::sync::Arc;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + seconds).expect("valid timestamp")
}

fn new_incident(group_key: &str) -> NewIncident {
    NewIncident {
        org: OrgId::DEFAULT,
        title: format!("checkout {group_key}"),
        service_id: "checkout".into(),
        severity: Severity::Sev1,
        group_key: group_key.into(),
        escalation_policy_id: None,
        auto_resolve: true,
        created_at: at(0),
        noise_probability: None,
    }
}

async fn create_incident(store: &PostgresStore, group_key: &str) -> Incident {
    let mut tx = store.begin().await.unwrap();
    let incident = tx.insert_incident(&new_incident(group_key)).await.unwrap();
    tx.commit().await.unwrap();
    incident
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let url = support::fresh_database_url().await;
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for start in starts {
        let store = start.await.unwrap().expect("every replica starts");
        store.close().await;
    }
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&mut connection).await.unwrap();
    let expected: Vec<i64> = (1..=staunch_store_postgres::SCHEMA_VERSION).collect();
    assert_eq!(versions, expected, "each migration applied and recorded exactly once");
    // And a later start finds nothing to do.
    PostgresStore::connect(&url).await.expect("restart").close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_take_the_same_job() {
    let url = support::fresh_database_url().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    let second = PostgresStore::connect(&url).await.unwrap();
    let incident = create_incident(&first, "g").await;
    let mut tx = first.begin().await.unwrap();
    for seconds in 0..4 {
        let job = NewJob {
            org: OrgId::DEFAULT,
            kind: JobKind::Escalate,
            incident_id: Some(incident.id),
            run_at: at(seconds),
            payload: serde_json::json!({}),
        };
        tx.schedule_job(&job).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut first_tx = first.begin().await.unwrap();
    let first_jobs = first_tx.due_jobs(at(10), 2).await.unwrap();
    let mut second_tx = second.begin().await.unwrap();
    let second_jobs = second_tx.due_jobs(at(10), 10).await.unwrap();
    let first_ids: HashSet<i64> = first_jobs.iter().map(|job| job.id).collect();
    let second_ids: HashSet<i64> = second_jobs.iter().map(|job| job.id).collect();
    assert_eq!(first_ids.len(), 2);
    assert_eq!(second_ids.len(), 2, "the other replica gets the jobs not locked, without waiting");
    assert!(first_ids.is_disjoint(&second_ids));

    for job in &first_jobs {
        first_tx.delete_job(job.id).await.unwrap();
    }
    first_tx.commit().await.unwrap();
    // A replica that stops mid-run (its transaction rolled back, its connections closed)
    // leaves its jobs for the others.
    drop(second_tx);
    second.close().await;
    let mut tx = first.begin().await.unwrap();
    let left: HashSet<i64> = tx.due_jobs(at(10), 10).await.unwrap().iter().map(|job| job.id).collect();
    assert_eq!(left, second_ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_lease_a_delivery_twice() {
    let url = support::fresh_database_url().await;
    let replicas = [Arc::new(PostgresStore::connect(&url).await.unwrap()), Arc::new(PostgresStore::connect(&url).await.unwrap())];
    let incident = create_incident(&replicas[0], "g").await;
    let mut tx = replicas[0].begin().await.unwrap();
    for index in 0..200 {
        let delivery = NewDelivery {
            org: OrgId::DEFAULT,
            incident_id: incident.id,
            idempotency_key: format!("key-{index}"),
            user_id: "alice".into(),
            contact_method_id: format!("method-{index}"),
            channel: "webhook".into(),
            event: "page".into(),
            payload: serde_json::json!({}),
            created_at: at(0),
            leased_until: None,
        };
        tx.enqueue_delivery(&delivery).await.unwrap();
    }
    tx.commit().await.unwrap();

    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let store = replicas[sender % 2].clone();
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let batch = store.claim_deliveries(at(1), at(100), 7).await.unwrap();
                    if batch.is_empty() {
                        return claimed;
                    }
                    claimed.extend(batch.into_iter().map(|delivery| delivery.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for sender in senders {
        all.extend(sender.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "every delivery leased once, none twice");
    assert_eq!(distinct.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_incident_for_a_group_from_another_replica_conflicts() {
    let url = support::fresh_database_url().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    let second = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let mut first_tx = first.begin().await.unwrap();
    first_tx.insert_incident(&new_incident("g")).await.unwrap();
    // The second insert waits on the first transaction's index entry...
    let racing = {
        let second = second.clone();
        tokio::spawn(async move {
            let mut tx = second.begin().await.unwrap();
            tx.insert_incident(&new_incident("g")).await.map(|incident| incident.id)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    first_tx.commit().await.unwrap();
    // ...and fails once it commits.
    match racing.await.unwrap() {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    let open = first.incidents(OrgId::DEFAULT, &IncidentFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(open.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_replica_leads_and_leadership_moves_on_when_its_holder_dies() {
    let url = support::fresh_database_url().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    let second = PostgresStore::connect(&url).await.unwrap();
    let mut leading = first.try_lead().await.unwrap().expect("the first replica to ask leads");
    assert!(second.try_lead().await.unwrap().is_none(), "a second replica must not lead at the same time");
    assert!(leading.still_held().await);

    // The leader's database session dies (its process was killed, its network cut).
    let mut admin = PgConnection::connect(&url).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'staunch-leader' AND datname = current_database()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true]);
    assert!(!leading.still_held().await, "the old leader notices it lost leadership");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let _successor = loop {
        if let Some(leadership) = second.try_lead().await.unwrap() {
            break leadership;
        }
        assert!(std::time::Instant::now() < deadline, "nobody took over");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(first.try_lead().await.unwrap().is_none(), "the old leader cannot lead again while the successor does");
}

#[tokio::test]
async fn replicas_read_the_time_from_the_database() {
    let url = support::fresh_database_url().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let database_now = store.database_time().await.unwrap().expect("postgresql has a clock");
    // Same machine here: the two clocks agree to well within a second.
    let difference = database_now.duration_since(Timestamp::now()).abs();
    assert!(difference < jiff::SignedDuration::from_secs(1), "{difference:?}");
}

/// Two replicas settle one pending rollback at once (each in the transaction that would start
/// its run): the second waits for the first's row lock, then finds nothing pending, so only
/// one run is ever committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_start_the_same_rollback() {
    let url = support::fresh_database_url().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    let second = PostgresStore::connect(&url).await.unwrap();
    let incident = create_incident(&first, "g").await;
    let link = NewDeployLink {
        org: OrgId::DEFAULT,
        incident_id: incident.id,
        service_id: "checkout".into(),
        change_id: 1,
        deploy: serde_json::json!({ "id": 1 }),
        linked_at: at(1),
        rollback_runbook: Some("rollback".into()),
        rollback_approval: false,
        rollback_state: RollbackState::Pending,
    };
    let mut tx = first.begin().await.unwrap();
    assert!(tx.insert_deploy_link(&link).await.unwrap());
    tx.commit().await.unwrap();
    let settlement =
        |run_id: i64| RollbackSettlement { state: RollbackState::Started, run_id: Some(run_id), note: None, at: at(2) };

    let mut first_tx = first.begin().await.unwrap();
    assert!(first_tx.settle_rollback(OrgId::DEFAULT, incident.id, &settlement(1)).await.unwrap());
    let racing = tokio::spawn(async move {
        let mut second_tx = second.begin().await.unwrap();
        let settled = second_tx.settle_rollback(OrgId::DEFAULT, incident.id, &settlement(2)).await.unwrap();
        second_tx.commit().await.unwrap();
        settled
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the second settlement waits for the first's row lock");
    first_tx.commit().await.unwrap();
    assert!(!racing.await.unwrap(), "after the first commits, nothing is pending for the second");
    let stored = first.deploy_link(OrgId::DEFAULT, incident.id).await.unwrap().unwrap();
    assert_eq!((stored.rollback_state, stored.rollback_run_id), (RollbackState::Started, Some(1)));
}
