//! Restrictions: the weekly wall-clock windows a layer is limited to, and the instants those
//! windows open and close.

use super::time_zone::resolve_wall_clock;
use super::wall_clock::WallClockTime;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// On each of `days`, a window from `start` to `end` wall-clock time in the schedule's zone. When
/// `end <= start` the window runs past midnight into the next day (`end == start` is a full day),
/// and it still belongs to the day it starts on: `{days: [fri], start: "22:00", end: "06:00"}`
/// covers Friday night into Saturday morning. Omitting `days` means every day.
///
/// Window edges are wall-clock times resolved like handoffs (see [`resolve_wall_clock`]), so a
/// 01:00-04:00 window is two real hours long on the spring-forward day, a 02:10-02:50 window that
/// day becomes 03:10-03:50, and a 02:30-03:15 window that day is empty.
///
/// [`resolve_wall_clock`]: super::time_zone::resolve_wall_clock
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    #[serde(default = "DayOfWeek::every_day")]
    pub days: Vec<DayOfWeek>,
    pub start: WallClockTime,
    pub end: WallClockTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOfWeek {
    #[serde(alias = "monday")]
    Mon,
    #[serde(alias = "tuesday")]
    Tue,
    #[serde(alias = "wednesday")]
    Wed,
    #[serde(alias = "thursday")]
    Thu,
    #[serde(alias = "friday")]
    Fri,
    #[serde(alias = "saturday")]
    Sat,
    #[serde(alias = "sunday")]
    Sun,
}

impl DayOfWeek {
    pub fn every_day() -> Vec<DayOfWeek> {
        vec![DayOfWeek::Mon, DayOfWeek::Tue, DayOfWeek::Wed, DayOfWeek::Thu, DayOfWeek::Fri, DayOfWeek::Sat, DayOfWeek::Sun]
    }

    pub fn of(weekday: Weekday) -> DayOfWeek {
        match weekday {
            Weekday::Monday => DayOfWeek::Mon,
            Weekday::Tuesday => DayOfWeek::Tue,
            Weekday::Wednesday => DayOfWeek::Wed,
            Weekday::Thursday => DayOfWeek::Thu,
            Weekday::Friday => DayOfWeek::Fri,
            Weekday::Saturday => DayOfWeek::Sat,
            Weekday::Sunday => DayOfWeek::Sun,
        }
    }
}

/// A window starting on local day D can contain instants of local day D+1 (it may cross midnight
/// and be stretched by a DST change), never later; one more day of slack keeps odd offsets safe.
const DAYS_A_WINDOW_CAN_REACH_BACK: i64 = 2;
/// Every restriction with at least one day opens within any 7 consecutive days, so the next edge
/// after an instant belongs to a window starting no later than 8 local days on.
const DAYS_TO_NEXT_WINDOW: i64 = 8;

/// The union of a layer's restriction windows, as instants.
#[derive(Debug, Clone)]
pub(crate) struct RestrictionWindows<'a> {
    zone: &'a TimeZone,
    restrictions: &'a [Restriction],
}

impl<'a> RestrictionWindows<'a> {
    pub(crate) fn new(zone: &'a TimeZone, restrictions: &'a [Restriction]) -> RestrictionWindows<'a> {
        RestrictionWindows { zone, restrictions }
    }

    pub(crate) fn contains(&self, at: Timestamp) -> bool {
        self.windows_around(at, 1).any(|(opens, closes)| opens <= at && at < closes)
    }

    /// The first instant after `at` where some window opens or closes: coverage is constant
    /// between consecutive edges.
    pub(crate) fn next_edge_after(&self, at: Timestamp) -> Option<Timestamp> {
        self.windows_around(at, DAYS_TO_NEXT_WINDOW).flat_map(|(opens, closes)| [opens, closes]).filter(|edge| *edge > at).min()
    }

    /// Every non-empty window starting on a local day from a little before `at`'s up to
    /// `days_after` days after it. `contains` and `next_edge_after` both go through here, so they
    /// can never disagree about where a window is.
    fn windows_around(&self, at: Timestamp, days_after: i64) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let local_date = self.zone.to_datetime(at).date();
        (-DAYS_A_WINDOW_CAN_REACH_BACK..=days_after)
            .filter_map(move |offset| local_date.checked_add(offset.days()).ok())
            .flat_map(move |date| self.restrictions.iter().filter_map(move |restriction| self.window(restriction, date)))
    }

    fn window(&self, restriction: &Restriction, date: Date) -> Option<(Timestamp, Timestamp)> {
        if !restriction.days.contains(&DayOfWeek::of(date.weekday())) {
            return None;
        }
        let start = restriction.start.time()?;
        let end = restriction.end.time()?;
        let end_date = if end <= start { date.tomorrow().ok()? } else { date };
        let opens = resolve_wall_clock(self.zone, date.to_datetime(start))?;
        let closes = resolve_wall_clock(self.zone, end_date.to_datetime(end))?;
        // A window that starts in a spring-forward gap and ends soon after it (02:30-03:15 on the
        // day 02:00 jumps to 03:00) has its start pushed past its end: it covers nothing, and has
        // no edges.
        (opens < closes).then_some((opens, closes))
    }
}
