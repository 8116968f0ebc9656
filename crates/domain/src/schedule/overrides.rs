//! One-off overrides: a user who takes over the whole schedule for a span of absolute time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `user` is on call during `[start, end)`, ahead of every layer. Overlapping overrides put all of
/// their users on call at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Override {
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}
