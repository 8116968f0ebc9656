//! Under steady writes the write-ahead log must start over now and then; a WAL that only grows
//! fills the disk of a busy installation.

use jiff::Timestamp;
use staunch_domain::alert::SourceFormat;
use staunch_domain::severity::Severity;
use staunch_store::{NewAlert, OrgId, Store};
use staunch_store_sqlite::{Durability, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_is_restarted_under_continuous_writes() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("staunch.db");
    let store = SqliteStore::open(path.to_str().unwrap(), Durability::Normal).await.unwrap();
    let padding = "x".repeat(2000);
    let mut largest_wal = 0;
    for batch in 0..120 {
        let mut tx = store.begin().await.unwrap();
        let alerts: Vec<NewAlert> = (0..200)
            .map(|index| NewAlert {
                org: OrgId::DEFAULT,
                service_id: "checkout".into(),
                dedup_key: format!("{batch}-{index}"),
                firing: true,
                summary: padding.clone(),
                severity: Severity::Sev2,
                labels: [("instance".to_string(), format!("node-{batch}-{index}"))].into(),
                annotations: Default::default(),
                details: serde_json::Value::Null,
                links: vec![],
                images: vec![],
                format: SourceFormat::Alertmanager,
                incident_id: None,
                silenced_by: None,
                received_at: Timestamp::now(),
                starts_at: None,
            })
            .collect();
        tx.insert_alerts(&alerts).await.unwrap();
        tx.commit().await.unwrap();
        let wal = std::fs::metadata(directory.path().join("staunch.db-wal")).map(|meta| meta.len()).unwrap_or(0);
        largest_wal = largest_wal.max(wal);
    }
    // About 60 MB were written; the WAL restarts every 4,000 pages (16 MiB) at the latest.
    assert!(largest_wal < 40 * 1024 * 1024, "the WAL grew to {largest_wal} bytes");
    store.close().await;
}

/// The WAL is given its room as zeros when the store opens. A copy taken while the store is
/// open (what a `kill -9` leaves: committed frames, then zeros, never checkpointed) must open
/// with every commit in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preallocated_wal_keeps_every_commit_across_a_crash() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("staunch.db");
    let store = SqliteStore::open(path.to_str().unwrap(), Durability::Full).await.unwrap();
    let wal = directory.path().join("staunch.db-wal");
    let preallocated = std::fs::metadata(&wal).unwrap().len();
    assert!(preallocated >= 16 * 1024 * 1024, "the WAL has {preallocated} bytes");
    let mut ids = Vec::new();
    for key in ["first", "second", "third"] {
        let mut tx = store.begin().await.unwrap();
        let alert = staunch_store::conformance::new_alert(OrgId::DEFAULT, "checkout", key, None);
        ids.extend(tx.insert_alerts(&[alert]).await.unwrap());
        tx.commit().await.unwrap();
    }
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), preallocated, "commits wrote inside the room given");

    let crashed = tempfile::tempdir().unwrap();
    for name in ["staunch.db", "staunch.db-wal"] {
        std::fs::copy(directory.path().join(name), crashed.path().join(name)).unwrap();
    }
    let reopened = SqliteStore::open(crashed.path().join("staunch.db").to_str().unwrap(), Durability::Full).await.unwrap();
    for (id, key) in ids.iter().zip(["first", "second", "third"]) {
        let alert = reopened.alert(OrgId::DEFAULT, *id).await.unwrap().expect("alert recovered from the wal");
        assert_eq!(alert.dedup_key.as_str(), key);
    }
    reopened.close().await;
    store.close().await;
}
