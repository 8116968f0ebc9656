//! Adds and changes action items, each with its timeline entry (`action_item.added`,
//! `action_item.updated`) and actor, in the same transaction as the change.

use super::commands::{ApplyContext, Reply};
use super::timeline::append;
use jiff::civil::Date;
use staunch_domain::action_item::{ActionItemStatus, check_text};
use staunch_store::{Actor, NewActionItem, OrgId, StoreResult, StoreTx};

#[derive(Debug, Clone)]
pub enum ActionItemAction {
    Add { incident_id: i64, text: String, owner: Option<String>, due: Option<Date> },
    Update { action_item_id: i64, patch: ActionItemPatch },
}

/// The fields a change sets; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ActionItemPatch {
    pub text: Option<String>,
    pub owner: Option<Option<String>>,
    pub due: Option<Option<Date>>,
    pub status: Option<ActionItemStatus>,
}

fn unknown_owner(context: &ApplyContext<'_>, org: OrgId, owner: &Option<String>) -> Option<Reply> {
    let owner = owner.as_ref()?;
    if context.config.directory(org).users.contains_key(owner) {
        return None;
    }
    Some(Reply::Rejected { message: format!("owner: unknown user {owner:?}") })
}

pub(crate) async fn apply(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    org: OrgId,
    actor: &Actor,
    action: &ActionItemAction,
) -> StoreResult<Reply> {
    match action {
        ActionItemAction::Add { incident_id, text, owner, due } => {
            if tx.incident(org, *incident_id).await?.is_none() {
                return Ok(Reply::IncidentNotFound);
            }
            if let Err(message) = check_text(text) {
                return Ok(Reply::Rejected { message: format!("text: {message}") });
            }
            if let Some(refusal) = unknown_owner(context, org, owner) {
                return Ok(refusal);
            }
            let item = tx
                .insert_action_item(&NewActionItem {
                    org,
                    incident_id: *incident_id,
                    text: text.clone(),
                    owner: owner.clone(),
                    due: *due,
                    status: ActionItemStatus::Open,
                    created_by: actor.clone(),
                    created_at: context.now,
                })
                .await?;
            let data = serde_json::json!({ "id": item.id, "text": item.text, "owner": item.owner, "due": item.due });
            append(context, org, item.incident_id, actor, "action_item.added", data);
            Ok(Reply::ActionItem(Box::new(item)))
        }
        ActionItemAction::Update { action_item_id, patch } => {
            let Some(mut item) = tx.action_item(org, *action_item_id).await? else {
                return Ok(Reply::ActionItemNotFound);
            };
            let mut changes = serde_json::Map::new();
            if let Some(text) = &patch.text {
                if let Err(message) = check_text(text) {
                    return Ok(Reply::Rejected { message: format!("text: {message}") });
                }
                if *text != item.text {
                    item.text = text.clone();
                    changes.insert("text".into(), serde_json::json!(text));
                }
            }
            if let Some(owner) = &patch.owner {
                if let Some(refusal) = unknown_owner(context, org, owner) {
                    return Ok(refusal);
                }
                if *owner != item.owner {
                    item.owner = owner.clone();
                    changes.insert("owner".into(), serde_json::json!(owner));
                }
            }
            if let Some(due) = patch.due
                && due != item.due
            {
                item.due = due;
                changes.insert("due".into(), serde_json::json!(due));
            }
            if let Some(status) = patch.status
                && status != item.status
            {
                item.status = status;
                changes.insert("status".into(), serde_json::json!(status));
            }
            if changes.is_empty() {
                return Ok(Reply::ActionItem(Box::new(item)));
            }
            item.updated_at = context.now;
            tx.update_action_item(&item).await?;
            let data = serde_json::json!({ "id": item.id, "changes": changes });
            append(context, org, item.incident_id, actor, "action_item.updated", data);
            Ok(Reply::ActionItem(Box::new(item)))
        }
    }
}
