//! Checking a schedule as configured: everything that would make it place people wrongly or not at
//! all, reported together and each located by schedule, layer and field.

use super::Schedule;
use super::layer::Layer;
use jiff::Timestamp;
use jiff::civil::DateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule {schedule}: time_zone {time_zone:?} is not a known IANA time zone")]
    UnknownTimeZone { schedule: String, time_zone: String },
    #[error("schedule {schedule}: layers is empty, so no one would ever be on call")]
    NoLayers { schedule: String },
    #[error("schedule {schedule}, layer {layer:?}: users is empty")]
    EmptyUsers { schedule: String, layer: String },
    #[error("schedule {schedule}, layer {layer:?}: rotation must be at least 1 long")]
    ZeroLengthRotation { schedule: String, layer: String },
    #[error("schedule {schedule}, layer {layer:?}: users names unknown user {user:?}")]
    UnknownLayerUser { schedule: String, layer: String, user: String },
    #[error("schedule {schedule}, layer {layer:?}: end {end} is not after start {start}")]
    LayerEndNotAfterStart { schedule: String, layer: String, start: DateTime, end: DateTime },
    #[error("schedule {schedule}, layer {layer:?}: restrictions is empty (leave it out for round-the-clock coverage)")]
    EmptyRestrictions { schedule: String, layer: String },
    #[error("schedule {schedule}, layer {layer:?}: restrictions[{restriction}].days is empty")]
    EmptyRestrictionDays { schedule: String, layer: String, restriction: usize },
    #[error(
        "schedule {schedule}, layer {layer:?}: restrictions[{restriction}].{field} {text:?} is not a wall-clock time (expected HH:MM from 00:00 to 23:59)"
    )]
    InvalidRestrictionTime { schedule: String, layer: String, restriction: usize, field: &'static str, text: String },
    #[error("schedule {schedule}: overrides[{index}].user names unknown user {user:?}")]
    UnknownOverrideUser { schedule: String, index: usize, user: String },
    #[error("schedule {schedule}: overrides[{index}].end {end} is not after start {start}")]
    OverrideEndNotAfterStart { schedule: String, index: usize, start: Timestamp, end: Timestamp },
}

impl Schedule {
    /// Every problem with this schedule, or `Ok` when it is fit to page people from.
    /// `user_exists` answers whether a user id names a configured user.
    pub fn validate(&self, user_exists: &dyn Fn(&str) -> bool) -> Result<(), Vec<ScheduleError>> {
        let mut errors = Vec::new();
        let schedule = || self.id.clone();
        if self.time_zone.zone().is_none() {
            errors.push(ScheduleError::UnknownTimeZone { schedule: schedule(), time_zone: self.time_zone.name().to_string() });
        }
        if self.layers.is_empty() {
            errors.push(ScheduleError::NoLayers { schedule: schedule() });
        }
        for layer in &self.layers {
            validate_layer(&self.id, layer, user_exists, &mut errors);
        }
        for (index, entry) in self.overrides.iter().enumerate() {
            if !user_exists(&entry.user) {
                errors.push(ScheduleError::UnknownOverrideUser { schedule: schedule(), index, user: entry.user.clone() });
            }
            if entry.end <= entry.start {
                errors.push(ScheduleError::OverrideEndNotAfterStart {
                    schedule: schedule(),
                    index,
                    start: entry.start,
                    end: entry.end,
                });
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

fn validate_layer(schedule_id: &str, layer: &Layer, user_exists: &dyn Fn(&str) -> bool, errors: &mut Vec<ScheduleError>) {
    let schedule = || schedule_id.to_string();
    let name = || layer.name.clone();
    if layer.users.is_empty() {
        errors.push(ScheduleError::EmptyUsers { schedule: schedule(), layer: name() });
    }
    if layer.rotation.is_zero_length() {
        errors.push(ScheduleError::ZeroLengthRotation { schedule: schedule(), layer: name() });
    }
    let mut reported_users: Vec<&str> = Vec::new();
    for user in &layer.users {
        // A rotation lists the same person several times on purpose; one report each is enough.
        if !user_exists(user) && !reported_users.contains(&user.as_str()) {
            reported_users.push(user);
            errors.push(ScheduleError::UnknownLayerUser { schedule: schedule(), layer: name(), user: user.clone() });
        }
    }
    if let Some(end) = layer.end
        && end <= layer.start
    {
        errors.push(ScheduleError::LayerEndNotAfterStart { schedule: schedule(), layer: name(), start: layer.start, end });
    }
    let Some(restrictions) = &layer.restrictions else {
        return;
    };
    if restrictions.is_empty() {
        errors.push(ScheduleError::EmptyRestrictions { schedule: schedule(), layer: name() });
    }
    for (index, restriction) in restrictions.iter().enumerate() {
        if restriction.days.is_empty() {
            errors.push(ScheduleError::EmptyRestrictionDays { schedule: schedule(), layer: name(), restriction: index });
        }
        for (field, time) in [("start", &restriction.start), ("end", &restriction.end)] {
            if time.time().is_none() {
                errors.push(ScheduleError::InvalidRestrictionTime {
                    schedule: schedule(),
                    layer: name(),
                    restriction: index,
                    field,
                    text: time.text().to_string(),
                });
            }
        }
    }
}
