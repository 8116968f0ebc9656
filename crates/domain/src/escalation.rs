//! Escalation policies: ordered levels of targets, a timeout per level, repeated N times.
//!
//! Owns the arithmetic of "who gets paged next and when"; the shell persists the position and
//! the timer (as a job in the database) so escalation survives restarts.

use crate::duration::HumanDuration;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// How many more times the whole policy runs after the first pass when nobody acknowledges.
    #[serde(default)]
    pub repeat: u32,
    pub levels: Vec<EscalationLevel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// How long this level has to acknowledge before the next level is paged.
    pub timeout: HumanDuration,
    pub targets: Vec<EscalationTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum EscalationTarget {
    User(String),
    Schedule(String),
}

/// Where an incident is in its policy: `level` within the current pass `cycle` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EscalationPosition {
    pub level: u32,
    pub cycle: u32,
}

impl EscalationPosition {
    pub const START: EscalationPosition = EscalationPosition { level: 0, cycle: 0 };
}

/// One step of escalation: whom to page now, and when and where to go next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    pub position: EscalationPosition,
    /// Users to page, deduplicated, in target order.
    pub users: Vec<String>,
    /// The next position and when it is due, or `None` when the policy is exhausted.
    pub next: Option<(EscalationPosition, Timestamp)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("escalation policy {policy}: has no levels")]
    NoLevels { policy: String },
    #[error("escalation policy {policy}: level {level} has no targets")]
    NoTargets { policy: String, level: usize },
    #[error("escalation policy {policy}: level {level} timeout must be at least 1s")]
    TimeoutTooShort { policy: String, level: usize },
    #[error("escalation policy {policy}: level {level} names unknown user {user:?}")]
    UnknownUser { policy: String, level: usize, user: String },
    #[error("escalation policy {policy}: level {level} names unknown schedule {schedule:?}")]
    UnknownSchedule { policy: String, level: usize, schedule: String },
}

impl EscalationPolicy {
    pub fn validate(&self, user_exists: &dyn Fn(&str) -> bool, schedule_exists: &dyn Fn(&str) -> bool) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        let policy = || self.id.clone();
        if self.levels.is_empty() {
            errors.push(PolicyError::NoLevels { policy: policy() });
        }
        for (level_index, level) in self.levels.iter().enumerate() {
            let level_number = level_index + 1;
            if level.targets.is_empty() {
                errors.push(PolicyError::NoTargets { policy: policy(), level: level_number });
            }
            if level.timeout.as_millis() < 1000 {
                errors.push(PolicyError::TimeoutTooShort { policy: policy(), level: level_number });
            }
            for target in &level.targets {
                match target {
                    EscalationTarget::User(user) if !user_exists(user) => {
                        errors.push(PolicyError::UnknownUser { policy: policy(), level: level_number, user: user.clone() })
                    }
                    EscalationTarget::Schedule(schedule) if !schedule_exists(schedule) => errors
                        .push(PolicyError::UnknownSchedule { policy: policy(), level: level_number, schedule: schedule.clone() }),
                    _ => {}
                }
            }
        }
        errors
    }

    /// The position after `position` times out, or `None` when every level of every pass has
    /// been paged.
    pub fn next_position(&self, position: EscalationPosition) -> Option<EscalationPosition> {
        let level_count = self.levels.len() as u32;
        if position.level + 1 < level_count {
            return Some(EscalationPosition { level: position.level + 1, cycle: position.cycle });
        }
        if position.cycle < self.repeat {
            return Some(EscalationPosition { level: 0, cycle: position.cycle + 1 });
        }
        None
    }

    /// Pages `position` at `now`: resolves its targets to users and computes the next step.
    /// `on_call_at_now` answers who is on call for a schedule id at `now` (empty when unknown).
    /// Returns `None` for a position outside the policy.
    pub fn step(
        &self,
        position: EscalationPosition,
        now: Timestamp,
        on_call_at_now: &dyn Fn(&str) -> Vec<String>,
    ) -> Option<EscalationStep> {
        let level = self.levels.get(position.level as usize)?;
        let mut users: Vec<String> = Vec::new();
        for target in &level.targets {
            let candidates = match target {
                EscalationTarget::User(user) => vec![user.clone()],
                EscalationTarget::Schedule(schedule_id) => on_call_at_now(schedule_id),
            };
            for user in candidates {
                if !users.contains(&user) {
                    users.push(user);
                }
            }
        }
        let next = self.next_position(position).map(|next| {
            let due = now.checked_add(level.timeout.as_span()).unwrap_or(Timestamp::MAX);
            (next, due)
        });
        Some(EscalationStep { position, users, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(levels: usize, repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            id: "p".into(),
            name: None,
            repeat,
            levels: (0..levels)
                .map(|index| EscalationLevel {
                    timeout: HumanDuration::from_secs(60 * (index as u64 + 1)),
                    targets: vec![EscalationTarget::User(format!("user{index}"))],
                })
                .collect(),
        }
    }

    #[test]
    fn walks_every_level_of_every_pass_then_stops() {
        let policy = policy(2, 1);
        let mut position = EscalationPosition::START;
        let mut visited = vec![(position.level, position.cycle)];
        while let Some(next) = policy.next_position(position) {
            position = next;
            visited.push((position.level, position.cycle));
        }
        assert_eq!(visited, vec![(0, 0), (1, 0), (0, 1), (1, 1)]);
    }

    #[test]
    fn step_pages_level_users_and_schedules_next_after_timeout() {
        let policy = policy(2, 0);
        let now: Timestamp = "2026-03-29T00:30:00Z".parse().unwrap();
        let step = policy.step(EscalationPosition::START, now, &|_| Vec::new()).unwrap();
        assert_eq!(step.users, vec!["user0".to_string()]);
        let (next, due) = step.next.unwrap();
        assert_eq!(next, EscalationPosition { level: 1, cycle: 0 });
        assert_eq!(due.to_string(), "2026-03-29T00:31:00Z");
        let last = policy.step(next, due, &|_| Vec::new()).unwrap();
        assert_eq!(last.users, vec!["user1".to_string()]);
        assert_eq!(last.next, None);
    }

    #[test]
    fn validation_names_the_policy_level_and_target() {
        let mut bad = policy(1, 0);
        bad.levels[0].targets.push(EscalationTarget::Schedule("ghost".into()));
        bad.levels[0].timeout = HumanDuration::from_millis(10);
        let errors: Vec<String> = bad.validate(&|_| true, &|_| false).iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            vec![
                "escalation policy p: level 1 timeout must be at least 1s".to_string(),
                "escalation policy p: level 1 names unknown schedule \"ghost\"".to_string(),
            ]
        );
    }
}
