//! Layers: one rotation of users, optionally bounded in time and restricted to weekly windows, and
//! who it puts on call at a given instant.

use super::civil_date_time;
use super::restriction::{Restriction, RestrictionWindows};
use super::rotation::{Handoffs, Rotation};
use super::time_zone::resolve_wall_clock;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A rotation through `users`, one shift each in turn: shift k belongs to `users[k % users.len()]`.
///
/// `start` is the first handoff and `end` the last moment of coverage, both wall-clock times in the
/// schedule's zone; before `start` and from `end` on the layer has no one. With `restrictions`,
/// the layer covers only their windows; the rotation keeps turning underneath regardless, so
/// whoever's shift a window falls in is the one on call for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: String,
    #[serde(deserialize_with = "civil_date_time::deserialize")]
    pub start: DateTime,
    pub rotation: Rotation,
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "civil_date_time::deserialize_optional")]
    pub end: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<Vec<Restriction>>,
}

/// A layer resolved against its schedule's zone, ready to answer questions about instants.
#[derive(Debug, Clone)]
pub(crate) struct LayerClock<'a> {
    users: &'a [String],
    handoffs: Handoffs<'a>,
    end: Option<Timestamp>,
    windows: Option<RestrictionWindows<'a>>,
    rotation_changes_user: bool,
}

impl<'a> LayerClock<'a> {
    /// `None` for a layer that can never have anyone on call (no users, zero-length rotation, dates
    /// outside jiff's range); `Schedule::validate` reports those.
    pub(crate) fn new(layer: &'a Layer, zone: &'a TimeZone) -> Option<LayerClock<'a>> {
        if layer.users.is_empty() {
            return None;
        }
        let handoffs = Handoffs::new(zone, layer.start, layer.rotation)?;
        let end = match layer.end {
            None => None,
            Some(end) => Some(resolve_wall_clock(zone, end)?),
        };
        let windows = layer.restrictions.as_deref().map(|restrictions| RestrictionWindows::new(zone, restrictions));
        let rotation_changes_user = layer.users.windows(2).any(|pair| match pair {
            [previous, next] => previous != next,
            _ => false,
        });
        Some(LayerClock { users: &layer.users, handoffs, end, windows, rotation_changes_user })
    }

    pub(crate) fn user_at(&self, at: Timestamp) -> Option<&'a str> {
        if at < self.handoffs.first() {
            return None;
        }
        if let Some(end) = self.end
            && at >= end
        {
            return None;
        }
        if let Some(windows) = &self.windows
            && !windows.contains(at)
        {
            return None;
        }
        let index = self.handoffs.index_at(at)?;
        let user_count = i64::try_from(self.users.len()).ok()?;
        let slot = usize::try_from(index.rem_euclid(user_count)).ok()?;
        self.users.get(slot).map(String::as_str)
    }

    /// The first instant after `at` at which `user_at` may answer differently, or `None` if it never
    /// will again.
    pub(crate) fn next_change_after(&self, at: Timestamp) -> Option<Timestamp> {
        if at < self.handoffs.first() {
            return Some(self.handoffs.first());
        }
        if let Some(end) = self.end
            && at >= end
        {
            return None;
        }
        // A rotation through one user (or the same user listed repeatedly) hands off to the same
        // person; skipping those handoffs keeps a years-long render of such a layer short.
        let handoff = if self.rotation_changes_user { self.handoffs.next_after(at) } else { None };
        let window_edge = self.windows.as_ref().and_then(|windows| windows.next_edge_after(at));
        [handoff, window_edge, self.end].into_iter().flatten().filter(|change| *change > at).min()
    }
}
