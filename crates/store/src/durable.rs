//! [`WhenDurable`]: what a commit that returns before reaching the disk hands back.

use crate::StoreResult;
use std::future::Future;
use std::pin::Pin;

/// Resolves once a committed transaction would survive a power loss. A backend that syncs
/// inside its commit hands back one that is [`already`](WhenDurable::already) resolved.
pub struct WhenDurable(Option<Pending>);

struct Pending {
    /// Resolves once the backend has synced the commit in the background.
    synced_elsewhere: Pin<Box<dyn Future<Output = StoreResult<()>> + Send>>,
    /// Syncs on the calling thread instead, blocking it; `None` when it cannot (a sync is
    /// already running), and the caller waits for the background.
    sync_here: Option<Box<dyn FnOnce() -> Option<StoreResult<()>> + Send>>,
}

impl WhenDurable {
    pub fn already() -> WhenDurable {
        WhenDurable(None)
    }

    pub fn after(synced_elsewhere: impl Future<Output = StoreResult<()>> + Send + 'static) -> WhenDurable {
        WhenDurable(Some(Pending { synced_elsewhere: Box::pin(synced_elsewhere), sync_here: None }))
    }

    /// Lets [`wait_syncing_here`](WhenDurable::wait_syncing_here) sync on the caller's thread.
    pub fn or_sync_here(mut self, sync_here: impl FnOnce() -> Option<StoreResult<()>> + Send + 'static) -> WhenDurable {
        if let Some(pending) = &mut self.0 {
            pending.sync_here = Some(Box::new(sync_here));
        }
        self
    }

    /// Whether waiting would return at once.
    pub fn is_already(&self) -> bool {
        self.0.is_none()
    }

    /// Waits for the background sync, leaving the calling thread free meanwhile.
    pub async fn wait(self) -> StoreResult<()> {
        match self.0 {
            None => Ok(()),
            Some(pending) => pending.synced_elsewhere.await,
        }
    }

    /// Syncs on the calling thread when the backend allows it, blocking it for the length of
    /// one sync: for a caller with nothing else to do, this saves two thread wake-ups.
    pub async fn wait_syncing_here(self) -> StoreResult<()> {
        let Some(mut pending) = self.0 else { return Ok(()) };
        if let Some(result) = pending.sync_here.take().and_then(|sync_here| sync_here()) {
            return result;
        }
        pending.synced_elsewhere.await
    }
}
