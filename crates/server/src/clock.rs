//! The one place the shell reads the time. The domain never does; it is handed `now`.

use jiff::Timestamp;
use staunch_store::{Store, StoreResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The database's time, for replicas that share one: this process's clock plus the offset to
/// the database's, re-measured every [`DATABASE_CLOCK_REFRESH`]. Timers scheduled by one
/// replica then come due at the same moment on every other, whatever their clocks say.
pub struct DatabaseClock {
    local: Arc<dyn Clock>,
    offset_micros: AtomicI64,
}

/// How often the offset to the database's clock is measured again.
pub const DATABASE_CLOCK_REFRESH: Duration = Duration::from_secs(5);

impl DatabaseClock {
    pub fn new(local: Arc<dyn Clock>) -> DatabaseClock {
        DatabaseClock { local, offset_micros: AtomicI64::new(0) }
    }

    /// Measures the offset once: the database's reading against the middle of the round trip.
    /// Returns false when the database has no clock of its own (nothing to follow).
    pub async fn synchronise(&self, store: &dyn Store) -> StoreResult<bool> {
        let before = self.local.now();
        let Some(database_now) = store.database_time().await? else {
            return Ok(false);
        };
        let after = self.local.now();
        let middle = before.as_microsecond() / 2 + after.as_microsecond() / 2;
        self.offset_micros.store(database_now.as_microsecond() - middle, Ordering::Relaxed);
        metrics::gauge!("staunch_database_clock_offset_seconds").set(self.offset().as_secs_f64());
        Ok(true)
    }

    pub fn offset(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_micros(self.offset_micros.load(Ordering::Relaxed))
    }
}

impl Clock for DatabaseClock {
    fn now(&self) -> Timestamp {
        let local = self.local.now();
        local.checked_add(self.offset()).unwrap_or(local)
    }
}

/// Keeps `clock` following the database until `shutdown`, measuring again every
/// [`DATABASE_CLOCK_REFRESH`]; the caller measured once already, before starting anything that
/// reads the clock.
pub async fn follow_database(clock: Arc<DatabaseClock>, store: Arc<dyn Store>, mut shutdown: broadcast::Receiver<()>) {
    loop {
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tokio::time::sleep(DATABASE_CLOCK_REFRESH) => {}
        }
        if let Err(error) = clock.synchronise(store.as_ref()).await {
            tracing::warn!(%error, "cannot read the database's clock; keeping the last offset");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedClock(Timestamp);
    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    #[test]
    fn the_offset_moves_local_time_to_database_time() {
        let local = Timestamp::from_second(1_790_000_000).unwrap();
        let clock = DatabaseClock::new(Arc::new(FixedClock(local)));
        assert_eq!(clock.now(), local);
        clock.offset_micros.store(-2_500_000, Ordering::Relaxed);
        assert_eq!(clock.now(), Timestamp::from_millisecond(1_789_999_997_500).unwrap());
    }
}
