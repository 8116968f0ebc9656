//! Leadership among replicas: a session-level advisory lock held on a connection of its own.
//! PostgreSQL releases it when that connection ends, however the holder died, so a replica
//! killed with kill -9 hands leadership on as soon as its connection is gone.

use crate::backend;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use staunch_store::{Leadership, StoreResult};
use std::time::Duration;

/// The advisory lock key of leadership (any constant; this one spells "staunchl").
const LEADER_LOCK: i64 = 0x7374_6175_6e63_686c;
/// A holder that cannot answer within this long counts as having lost leadership.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn try_lead(options: &PgConnectOptions) -> StoreResult<Option<Box<dyn Leadership>>> {
    let mut connection = options.clone().application_name("staunch-leader").connect().await.map_err(backend)?;
    let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut connection)
        .await
        .map_err(backend)?;
    if !acquired {
        let _ = connection.close().await;
        return Ok(None);
    }
    Ok(Some(Box::new(AdvisoryLockLeadership { connection: Some(connection) })))
}

struct AdvisoryLockLeadership {
    /// `None` once the connection failed: leadership is then gone for good.
    connection: Option<PgConnection>,
}

#[async_trait]
impl Leadership for AdvisoryLockLeadership {
    async fn still_held(&mut self) -> bool {
        let Some(connection) = self.connection.as_mut() else { return false };
        // The lock lives exactly as long as this session: asking the session itself whether it
        // still holds it also proves the connection is alive.
        let check = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() \
             AND granted AND ((classid::bigint << 32) | objid::bigint) = $1)",
        )
        .bind(LEADER_LOCK)
        .fetch_one(connection);
        match tokio::time::timeout(PING_TIMEOUT, check).await {
            Ok(Ok(true)) => true,
            _ => {
                self.connection = None;
                false
            }
        }
    }
}
