//! The backend analyses `alerts` itself while the table grows faster than autovacuum looks at
//! it (what stale statistics cost is measured in docs/benchmarks.md, not asserted here).

mod support;

use jiff::Timestamp;
use sqlx::{Connection, PgConnection};
use staunch_domain::alert::SourceFormat;
use staunch_domain::severity::Severity;
use staunch_store::*;
use staunch_store_postgres::PostgresStore;
use std::time::Duration;

fn new_alert(number: u32) -> NewAlert {
    NewAlert {
        org: OrgId::DEFAULT,
        service_id: "checkout".into(),
        dedup_key: format!("{:016x}", u64::from(number).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        firing: true,
        summary: format!("alert {number}"),
        severity: Severity::Sev2,
        labels: [("alertname".to_string(), "HighLatency".to_string())].into(),
        annotations: Default::default(),
        details: serde_json::json!({}),
        links: vec![],
        images: vec![],
        format: SourceFormat::Alertmanager,
        incident_id: None,
        silenced_by: None,
        received_at: Timestamp::from_second(1_790_000_000).expect("valid timestamp"),
        starts_at: None,
    }
}

async fn manual_analyses(connection: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'alerts'")
        .fetch_one(&mut *connection)
        .await
        .expect("read table statistics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_alerts_table_is_analysed_without_waiting_for_autovacuum() {
    let url = support::fresh_database_url().await;
    let store = PostgresStore::connect(&url).await.expect("migrate");
    let mut connection = PgConnection::connect(&url).await.expect("connect");
    assert_eq!(manual_analyses(&mut connection).await, 0);

    for batch in 0..6_u32 {
        let mut tx = store.begin().await.expect("begin");
        let alerts: Vec<NewAlert> = (batch * 500..(batch + 1) * 500).map(new_alert).collect();
        tx.insert_alerts(&alerts).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    let mut analysed = false;
    for _ in 0..100 {
        // Statistics views lag the backends that report to them by up to a second.
        if manual_analyses(&mut connection).await > 0 {
            analysed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(analysed, "3,000 new alerts led to an ANALYZE");

    store.close().await;
}
