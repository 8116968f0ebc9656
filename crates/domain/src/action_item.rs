//! Action items: the follow-ups a postmortem tracks (owner, due date, status), and what may be
//! changed about them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionItemStatus {
    Open,
    Done,
    Cancelled,
}

impl ActionItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionItemStatus::Open => "open",
            ActionItemStatus::Done => "done",
            ActionItemStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(text: &str) -> Option<ActionItemStatus> {
        match text {
            "open" => Some(ActionItemStatus::Open),
            "done" => Some(ActionItemStatus::Done),
            "cancelled" => Some(ActionItemStatus::Cancelled),
            _ => None,
        }
    }
}

/// The longest action item text accepted.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// Checks an action item's text: not blank, not too long.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("action item text is empty".to_string());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("action item text is longer than {MAX_TEXT_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for status in [ActionItemStatus::Open, ActionItemStatus::Done, ActionItemStatus::Cancelled] {
            assert_eq!(ActionItemStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ActionItemStatus::parse("closed"), None);
    }

    #[test]
    fn texts_are_checked() {
        assert!(check_text("add a canary stage").is_ok());
        assert_eq!(check_text("  ").unwrap_err(), "action item text is empty");
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }
}
