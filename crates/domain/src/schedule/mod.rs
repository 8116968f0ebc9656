//! On-call schedules: layered rotations, restrictions and overrides, and who they put on call.
//!
//! A schedule has a time zone, layers and overrides. Each layer rotates through its users, one
//! shift each; where several layers have someone on call, the later layer wins (PagerDuty
//! semantics), and an override beats every layer for its span. Intervals are half-open
//! `[start, end)` throughout.
//!
//! Civil times (layer starts and ends, restriction windows, day and week handoffs) are wall-clock
//! times in the schedule's zone: a daily 09:00 handoff stays at 09:00 across DST, so that shift is
//! 23 or 25 hours long. A wall-clock time that does not exist (spring-forward gap) or exists twice
//! (fall-back fold) resolves with "compatible" disambiguation: the gap's later instant, the fold's
//! earlier one. Overrides and hourly rotations are absolute time.
//!
//! Pure: time is always a parameter, and zones come from the tz database compiled into the binary.

mod civil_date_time;
mod layer;
mod overrides;
mod render;
mod restriction;
mod rotation;
mod time_zone;
mod timeline;
mod validate;
mod wall_clock;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use layer::Layer;
pub use overrides::Override;
pub use render::{MAX_RENDERED_SEGMENTS, Rendering, Shift};
pub use restriction::{DayOfWeek, Restriction};
pub use rotation::Rotation;
pub use time_zone::ScheduleTimeZone;
pub use validate::ScheduleError;
pub use wall_clock::WallClockTime;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use timeline::Timeline;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub time_zone: ScheduleTimeZone,
    pub layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

impl Schedule {
    /// The user ids on call at `at`: the users of the overrides active then (usually one), else the
    /// user of the last layer that has someone then, else nobody.
    pub fn on_call_at(&self, at: Timestamp) -> Vec<String> {
        Timeline::new(self).on_call_at(at).into_iter().map(str::to_string).collect()
    }
}
