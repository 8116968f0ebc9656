//! The final schedule: who is on call over a range of time, as merged, contiguous shifts.

use super::Schedule;
use super::timeline::Timeline;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `user_id` is on call during `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub user_id: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// How many constant stretches (segments between consecutive handoffs, window edges and override
/// edges) `final_shifts` walks before it stops. 100 000 is over eleven years of an hourly rotation
/// and about a tenth of a second of work in a release build; a calendar view needs a few hundred.
pub const MAX_RENDERED_SEGMENTS: usize = 100_000;

/// The result of [`Schedule::render`]: the shifts over `[from, rendered_until)`, which is the whole
/// requested range when `complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendering {
    pub shifts: Vec<Shift>,
    pub rendered_until: Timestamp,
    pub complete: bool,
}

impl Schedule {
    /// The final schedule over `[from, until)`: every stretch of time someone is on call, with
    /// adjacent stretches of the same user merged, clipped to the range and sorted by start (then
    /// user). It agrees with [`Schedule::on_call_at`] at every instant in the range.
    ///
    /// Shifts do not overlap unless overrides do, in which case each of their users gets a shift.
    ///
    /// The work is bounded by [`MAX_RENDERED_SEGMENTS`]: past that, the result stops early, at the
    /// end of the last segment walked. Use [`Schedule::render`] to learn whether that happened.
    pub fn final_shifts(&self, from: Timestamp, until: Timestamp) -> Vec<Shift> {
        self.render(from, until, MAX_RENDERED_SEGMENTS).shifts
    }

    /// [`Schedule::final_shifts`] with an explicit budget of segments, reporting how far it got. A
    /// caller wanting more can render again from `rendered_until`.
    pub fn render(&self, from: Timestamp, until: Timestamp, max_segments: usize) -> Rendering {
        let timeline = Timeline::new(self);
        let mut finished: Vec<Shift> = Vec::new();
        let mut open: Vec<(&str, Timestamp)> = Vec::new();
        let mut cursor = from;
        let mut segments = 0;
        while cursor < until && segments < max_segments {
            segments += 1;
            let on_call = timeline.on_call_at(cursor);
            open.retain(|(user, start)| {
                if on_call.contains(user) {
                    return true;
                }
                finished.push(Shift { user_id: user.to_string(), start: *start, end: cursor });
                false
            });
            for user in on_call {
                if !open.iter().any(|(already, _)| *already == user) {
                    open.push((user, cursor));
                }
            }
            let next = timeline.next_change_after(cursor).map_or(until, |change| change.min(until));
            debug_assert!(next > cursor, "no progress at {cursor}");
            if next <= cursor {
                break;
            }
            cursor = next;
        }
        let rendered_until = cursor.min(until);
        for (user, start) in open {
            finished.push(Shift { user_id: user.to_string(), start, end: rendered_until });
        }
        finished.sort_by(|left, right| (left.start, &left.user_id).cmp(&(right.start, &right.user_id)));
        Rendering { shifts: finished, rendered_until, complete: cursor >= until }
    }
}
