//! Linking an incident to the deploy that most likely caused it: the newest deploy of the
//! incident's service made within the link window before the incident opened. "Within" is
//! `crate::report::follows`, the rule the change failure rate uses, so a linked incident is
//! always one that counts the deploy as failed.

use crate::postmortem::ChangeFact;
use crate::report::{deploys, follows};
use jiff::{SignedDuration, Timestamp};

/// The position in `changes` of the deploy an incident of `service_id` opened at `opened_at`
/// is linked to, or `None` when no deploy of that service was made within `window` before.
/// `changes` may hold any services' change events in any order; the newest matching deploy
/// wins (ties: the later in `changes`).
pub fn deploy_to_link(changes: &[ChangeFact], service_id: &str, opened_at: Timestamp, window: SignedDuration) -> Option<usize> {
    deploys(changes)
        .into_iter()
        .filter(|deploy| deploy.service_id == service_id && follows(deploy.at, opened_at, window))
        .max_by_key(|deploy| (deploy.at, deploy.index))
        .map(|deploy| deploy.index)
}
