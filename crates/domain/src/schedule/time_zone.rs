//! The schedule's time zone: an IANA name resolved once, when the config is loaded, plus the one
//! rule this module uses to turn a wall-clock time into an instant.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::OnceLock;

/// An IANA time zone name together with the zone it resolved to.
///
/// Resolution happens once, at construction (or deserialization), because `on_call_at` runs on
/// every page. An unknown name is kept rather than rejected so that `Schedule::validate` can report
/// it next to the other problems of the same schedule.
#[derive(Debug, Clone)]
pub struct ScheduleTimeZone {
    name: String,
    zone: Option<TimeZone>,
}

impl ScheduleTimeZone {
    pub fn new(name: impl Into<String>) -> ScheduleTimeZone {
        let name = name.into();
        let zone = lookup(&name);
        ScheduleTimeZone { name, zone }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The resolved zone, or `None` when the name is not in the time zone database.
    pub fn zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref()
    }
}

impl PartialEq for ScheduleTimeZone {
    fn eq(&self, other: &ScheduleTimeZone) -> bool {
        self.name == other.name
    }
}

impl Eq for ScheduleTimeZone {}

impl Serialize for ScheduleTimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for ScheduleTimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(ScheduleTimeZone::new(name))
    }
}

fn bundled_database() -> &'static TimeZoneDatabase {
    // The copy compiled into the binary rather than `jiff::tz::db()`, which prefers the host's
    // /usr/share/zoneinfo: the domain must not touch the file system and must give the same answer
    // on every host, in every replay.
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DATABASE.get_or_init(TimeZoneDatabase::bundled)
}

fn lookup(name: &str) -> Option<TimeZone> {
    let zone = bundled_database().get(name).ok()?;
    // The database answers "Etc/Unknown" with a sentinel that behaves like UTC; a schedule naming
    // it is a mistake, not a request for UTC.
    if zone.is_unknown() {
        return None;
    }
    Some(zone)
}

/// Turns a wall-clock date-time in `zone` into an instant, using "compatible" disambiguation (the
/// RFC 5545 and Temporal default):
///
/// - a time skipped by a spring-forward gap resolves to the later instant, i.e. it is read with the
///   offset in force before the gap (02:30 on the day Berlin jumps from 02:00 to 03:00 becomes
///   03:30 CEST);
/// - a time that happens twice in a fall-back fold resolves to the earlier instant, its first
///   occurrence (01:30 on the day New York falls back is 01:30 EDT, not 01:30 EST).
///
/// `None` only when the result lies outside the range jiff supports.
pub(crate) fn resolve_wall_clock(zone: &TimeZone, wall_clock: DateTime) -> Option<Timestamp> {
    zone.to_ambiguous_timestamp(wall_clock).compatible().ok()
}
