//! Rotation lengths and the arithmetic of handoffs: when shift number k begins, and which shift
//! contains a given instant.

use super::time_zone::resolve_wall_clock;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long each shift of a layer lasts.
///
/// Day and week rotations are civil: every handoff happens at the same wall-clock time in the
/// schedule's zone, so a shift that spans a DST change is an hour (or, in Lord Howe, half an hour)
/// shorter or longer than usual. `Hours` is elapsed time: a 12-hour rotation hands off every 12
/// real hours, and its wall-clock handoff time drifts across DST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    Daily,
    Weekly,
    Days(u32),
    Weeks(u32),
    Hours(u32),
}

impl Rotation {
    pub fn is_zero_length(self) -> bool {
        self.cadence().is_none()
    }

    fn cadence(self) -> Option<Cadence> {
        let cadence = match self {
            Rotation::Daily => Cadence::CivilDays(1),
            Rotation::Weekly => Cadence::CivilDays(7),
            Rotation::Days(days) => Cadence::CivilDays(i64::from(days)),
            Rotation::Weeks(weeks) => Cadence::CivilDays(i64::from(weeks) * 7),
            Rotation::Hours(hours) => Cadence::ElapsedHours(i64::from(hours)),
        };
        if cadence.period_seconds() == 0 {
            return None;
        }
        Some(cadence)
    }
}

#[derive(Debug, Clone, Copy)]
enum Cadence {
    CivilDays(i64),
    ElapsedHours(i64),
}

impl Cadence {
    fn period_seconds(self) -> i64 {
        // Both factors come from a u32, so the product fits an i64 with room to spare.
        match self {
            Cadence::CivilDays(days) => days * 86_400,
            Cadence::ElapsedHours(hours) => hours * 3_600,
        }
    }
}

/// A guess at a shift index is off by at most one in every real zone (offsets move by hours, shifts
/// last at least an hour); the bound only keeps a pathological zone from looping.
const MAX_INDEX_CORRECTIONS: usize = 8;

/// The handoff instants of one layer: handoff 0 is the layer's start, handoff k starts shift k.
///
/// Handoffs never decrease. Two consecutive civil handoffs could coincide only if a zone skipped a
/// whole day (Pacific/Apia in 2011); the shift between them is then empty and the later index wins.
#[derive(Debug, Clone)]
pub(crate) struct Handoffs<'a> {
    zone: &'a TimeZone,
    first_wall_clock: DateTime,
    first: Timestamp,
    cadence: Cadence,
}

impl<'a> Handoffs<'a> {
    /// `None` for a zero-length rotation or a start outside jiff's range.
    pub(crate) fn new(zone: &'a TimeZone, first_wall_clock: DateTime, rotation: Rotation) -> Option<Handoffs<'a>> {
        let cadence = rotation.cadence()?;
        let first = resolve_wall_clock(zone, first_wall_clock)?;
        Some(Handoffs { zone, first_wall_clock, first, cadence })
    }

    pub(crate) fn first(&self) -> Timestamp {
        self.first
    }

    /// The instant shift `index` begins; `None` for a negative index or past the end of time.
    pub(crate) fn nth(&self, index: i64) -> Option<Timestamp> {
        if index < 0 {
            return None;
        }
        if index == 0 {
            return Some(self.first);
        }
        let offset = SignedDuration::from_secs(self.cadence.period_seconds().checked_mul(index)?);
        match self.cadence {
            Cadence::CivilDays(_) => {
                // Civil arithmetic first, zone second: that is what keeps 09:00 at 09:00.
                let wall_clock = self.first_wall_clock.checked_add(offset).ok()?;
                resolve_wall_clock(self.zone, wall_clock)
            }
            Cadence::ElapsedHours(_) => self.first.checked_add(offset).ok(),
        }
    }

    /// The index of the shift containing `at`: the largest k with `nth(k) <= at`. `None` before the
    /// first handoff.
    pub(crate) fn index_at(&self, at: Timestamp) -> Option<i64> {
        if at < self.first {
            return None;
        }
        let period = self.cadence.period_seconds();
        let elapsed = match self.cadence {
            // The wall-clock distance is exact up to the zone's offset changes, which the
            // correction below absorbs.
            Cadence::CivilDays(_) => self.zone.to_datetime(at).duration_since(self.first_wall_clock),
            Cadence::ElapsedHours(_) => at.duration_since(self.first),
        };
        let mut index = elapsed.as_secs().div_euclid(period).max(0);
        for _ in 0..MAX_INDEX_CORRECTIONS {
            if index == 0 {
                break;
            }
            match self.nth(index) {
                Some(handoff) if handoff <= at => break,
                _ => index -= 1,
            }
        }
        for _ in 0..MAX_INDEX_CORRECTIONS {
            match index.checked_add(1).and_then(|next| self.nth(next)) {
                Some(handoff) if handoff <= at => index += 1,
                _ => break,
            }
        }
        debug_assert!(self.nth(index).is_none_or(|handoff| handoff <= at), "shift {index} starts after {at}");
        Some(index)
    }

    /// The first handoff strictly after `at`, or `None` if there is none within jiff's range.
    pub(crate) fn next_after(&self, at: Timestamp) -> Option<Timestamp> {
        let Some(current) = self.index_at(at) else {
            return Some(self.first);
        };
        let mut index = current.checked_add(1)?;
        for _ in 0..MAX_INDEX_CORRECTIONS {
            let handoff = self.nth(index)?;
            if handoff > at {
                return Some(handoff);
            }
            index = index.checked_add(1)?;
        }
        None
    }
}
