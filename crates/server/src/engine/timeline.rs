//! Timeline entries written by the engine, buffered per transaction and appended in one
//! statement before commit. Order is the order of `append` calls.

use super::commands::ApplyContext;
use staunch_store::{Actor, NewTimelineEntry, OrgId, StoreResult, StoreTx};

pub(crate) fn append(
    context: &mut ApplyContext<'_>,
    org: OrgId,
    incident_id: i64,
    actor: &Actor,
    kind: &str,
    data: serde_json::Value,
) {
    context.timeline.push(NewTimelineEntry {
        org,
        incident_id,
        at: context.now,
        actor: actor.clone(),
        kind: kind.to_string(),
        data,
    });
}

/// Writes the buffered entries; called before every commit.
pub(crate) async fn flush(tx: &mut dyn StoreTx, context: &mut ApplyContext<'_>) -> StoreResult<()> {
    if context.timeline.is_empty() {
        return Ok(());
    }
    let entries = std::mem::take(&mut context.timeline);
    tx.append_timeline_entries(&entries).await
}
