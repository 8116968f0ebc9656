//! Which process runs singleton work. Replicas on one PostgreSQL elect a leader through the
//! store (an advisory lock on a connection of its own); on SQLite the one process always
//! leads. Singleton work checks [`LeaderWatch::is_leader`] before each run: a leader that lost
//! its database connection stops at the next check, before another process can have taken
//! over for long.

use staunch_store::{Leadership, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How often a follower tries to take over, and a leader checks it still leads.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LeaderWatch(watch::Receiver<bool>);

impl LeaderWatch {
    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until this process leads (or the campaign ended).
    pub async fn wait_until_leader(&mut self) {
        let _ = self.0.wait_for(|leading| *leading).await;
    }
}

/// Campaigns for leadership until `shutdown`, then gives it up.
pub fn campaign(store: Arc<dyn Store>, mut shutdown: broadcast::Receiver<()>) -> (tokio::task::JoinHandle<()>, LeaderWatch) {
    let (sender, receiver) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut held: Option<Box<dyn Leadership>> = None;
        loop {
            held = match held.take() {
                Some(mut leadership) => {
                    if leadership.still_held().await {
                        Some(leadership)
                    } else {
                        tracing::warn!("lost leadership: singleton work stops here");
                        None
                    }
                }
                None => match store.try_lead().await {
                    Ok(Some(leadership)) => {
                        tracing::info!("leading: this process runs singleton work");
                        Some(leadership)
                    }
                    Ok(None) => None,
                    Err(error) => {
                        tracing::warn!(%error, "cannot campaign for leadership; will retry");
                        None
                    }
                },
            };
            sender.send_replace(held.is_some());
            metrics::gauge!("staunch_leader").set(if held.is_some() { 1.0 } else { 0.0 });
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = tokio::time::sleep(CHECK_INTERVAL) => {}
            }
        }
        sender.send_replace(false);
        drop(held);
    });
    (task, LeaderWatch(receiver))
}
