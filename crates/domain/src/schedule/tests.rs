//! Table-driven tests of schedules as configured: parsing, validation, who is on call, and the
//! rendered final schedule, including DST days in zones with hour and half-hour shifts.

use super::*;
use serde_json::{Value, json};

fn instant(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|error| panic!("bad instant {text:?} in test: {error}"))
}

fn schedule(time_zone: &str, layers: Value, overrides: Value) -> Schedule {
    let config = json!({"id": "payments-primary", "time_zone": time_zone, "layers": layers, "overrides": overrides});
    serde_json::from_value(config).unwrap_or_else(|error| panic!("bad schedule in test: {error}"))
}

fn berlin(layers: Value) -> Schedule {
    schedule("Europe/Berlin", layers, json!([]))
}

fn daily(start: &str, users: &[&str]) -> Value {
    json!({"name": "daily", "start": start, "rotation": "daily", "users": users})
}

mod on_call {
    use super::*;

    /// An instant and who should be on call then.
    type Expectation = (&'static str, &'static [&'static str]);
    type Case = (&'static str, Schedule, &'static [Expectation]);

    fn check(description: &str, schedule: &Schedule, cases: &[Expectation]) {
        for (at, expected) in cases {
            let actual = schedule.on_call_at(instant(at));
            assert_eq!(actual, *expected, "{description} at {at}");
        }
    }

    #[test]
    fn rotations_hand_off_at_the_configured_wall_clock_time() {
        let weekly = |rotation: Value| {
            berlin(json!([{"name": "primary", "start": "2026-01-05T09:00", "rotation": rotation, "users": ["alice", "bob"]}]))
        };
        let table: &[Case] = &[
            (
                "daily",
                berlin(json!([daily("2026-01-05T09:00", &["alice", "bob", "carol"])])),
                &[
                    ("2026-01-05T08:59:59+01:00", &[]),
                    ("2026-01-05T09:00:00+01:00", &["alice"]),
                    ("2026-01-06T08:59:59+01:00", &["alice"]),
                    ("2026-01-06T09:00:00+01:00", &["bob"]),
                    ("2026-01-07T09:00:00+01:00", &["carol"]),
                    ("2026-01-08T09:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "weekly, across the spring-forward weekend",
                weekly(json!("weekly")),
                &[
                    ("2026-01-12T08:59:59+01:00", &["alice"]),
                    ("2026-01-12T09:00:00+01:00", &["bob"]),
                    ("2026-01-19T09:00:00+01:00", &["alice"]),
                    // Twelve weeks in, 09:00 is CEST: 167 hours after the previous handoff.
                    ("2026-03-30T08:59:59+02:00", &["bob"]),
                    ("2026-03-30T09:00:00+02:00", &["alice"]),
                ],
            ),
            (
                "every third day",
                weekly(json!({"days": 3})),
                &[
                    ("2026-01-08T08:59:59+01:00", &["alice"]),
                    ("2026-01-08T09:00:00+01:00", &["bob"]),
                    ("2026-01-11T09:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "fortnightly",
                weekly(json!({"weeks": 2})),
                &[("2026-01-18T23:00:00+01:00", &["alice"]), ("2026-01-19T09:00:00+01:00", &["bob"])],
            ),
            (
                "every 12 elapsed hours, drifting to 10:00 after spring forward",
                berlin(
                    json!([{"name": "halves", "start": "2026-03-28T09:00", "rotation": {"hours": 12}, "users": ["alice", "bob"]}]),
                ),
                &[
                    ("2026-03-28T20:59:59+01:00", &["alice"]),
                    ("2026-03-28T21:00:00+01:00", &["bob"]),
                    ("2026-03-29T09:59:59+02:00", &["bob"]),
                    ("2026-03-29T10:00:00+02:00", &["alice"]),
                ],
            ),
            (
                "bounded by an end",
                berlin(
                    json!([{"name": "january", "start": "2026-01-05T09:00", "end": "2026-02-01T09:00", "rotation": "daily", "users": ["alice", "bob"]}]),
                ),
                &[("2026-02-01T08:59:59+01:00", &["alice"]), ("2026-02-01T09:00:00+01:00", &[]), ("2027-01-01T00:00:00Z", &[])],
            ),
        ];
        for (description, schedule, cases) in table {
            check(description, schedule, cases);
        }
    }

    #[test]
    fn later_layers_and_restrictions_and_overrides_take_precedence() {
        let base = daily("2026-01-01T00:00", &["alice"]);
        let table: &[Case] = &[
            (
                "a later layer wins where it has someone",
                berlin(
                    json!([base, {"name": "cover", "start": "2026-01-10T00:00", "end": "2026-01-12T00:00", "rotation": "weekly", "users": ["bob"]}]),
                ),
                &[
                    ("2026-01-09T23:59:59+01:00", &["alice"]),
                    ("2026-01-10T00:00:00+01:00", &["bob"]),
                    ("2026-01-11T23:59:59+01:00", &["bob"]),
                    ("2026-01-12T00:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "business hours show through to the base layer outside the window",
                berlin(
                    json!([base, {"name": "business hours", "start": "2026-01-05T00:00", "rotation": "daily", "users": ["bob"],
                    "restrictions": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]}]),
                ),
                &[
                    ("2026-01-05T08:59:59+01:00", &["alice"]),
                    ("2026-01-05T09:00:00+01:00", &["bob"]),
                    ("2026-01-05T16:59:59+01:00", &["bob"]),
                    ("2026-01-05T17:00:00+01:00", &["alice"]),
                    ("2026-01-10T10:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "a window crossing midnight belongs to the day it starts on",
                berlin(
                    json!([base, {"name": "friday night", "start": "2026-01-01T00:00", "rotation": "weekly", "users": ["carol"],
                    "restrictions": [{"days": ["fri"], "start": "22:00", "end": "06:00"}]}]),
                ),
                &[
                    ("2026-01-08T23:00:00+01:00", &["alice"]),
                    ("2026-01-09T21:59:59+01:00", &["alice"]),
                    ("2026-01-09T22:00:00+01:00", &["carol"]),
                    ("2026-01-10T05:59:59+01:00", &["carol"]),
                    ("2026-01-10T06:00:00+01:00", &["alice"]),
                    ("2026-01-10T23:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "a window with end equal to start is a whole day; a restricted layer alone leaves gaps",
                berlin(json!([{"name": "saturday", "start": "2026-01-01T00:00", "rotation": "weekly", "users": ["dave"],
                    "restrictions": [{"days": ["saturday"], "start": "00:00", "end": "00:00"}]}])),
                &[
                    ("2026-01-09T23:59:59+01:00", &[]),
                    ("2026-01-10T00:00:00+01:00", &["dave"]),
                    ("2026-01-10T23:59:59+01:00", &["dave"]),
                    ("2026-01-11T00:00:00+01:00", &[]),
                ],
            ),
            (
                "restriction windows on DST days are wall-clock windows",
                berlin(json!([base, {"name": "small hours", "start": "2026-01-01T00:00", "rotation": "weekly", "users": ["bob"],
                    "restrictions": [{"days": ["sun"], "start": "01:00", "end": "04:00"}]}])),
                &[
                    ("2026-03-29T00:59:59+01:00", &["alice"]),
                    ("2026-03-29T01:00:00+01:00", &["bob"]),
                    ("2026-03-29T03:59:59+02:00", &["bob"]),
                    ("2026-03-29T04:00:00+02:00", &["alice"]),
                    // Both 02:30s of the fall-back night are inside 01:00-04:00.
                    ("2026-10-25T02:30:00+02:00", &["bob"]),
                    ("2026-10-25T02:30:00+01:00", &["bob"]),
                    ("2026-10-25T03:59:59+01:00", &["bob"]),
                    ("2026-10-25T04:00:00+01:00", &["alice"]),
                ],
            ),
            (
                "a window starting in the spring-forward gap moves by the gap, and may vanish",
                berlin(json!([base,
                    {"name": "inside gap", "start": "2026-01-01T00:00", "rotation": "weekly", "users": ["bob"],
                        "restrictions": [{"days": ["sun"], "start": "02:10", "end": "02:50"}]},
                    {"name": "vanishing", "start": "2026-01-01T00:00", "rotation": "weekly", "users": ["carol"],
                        "restrictions": [{"days": ["sun"], "start": "02:30", "end": "03:15"}]}])),
                &[
                    ("2026-03-29T03:09:59+02:00", &["alice"]),
                    ("2026-03-29T03:10:00+02:00", &["bob"]),
                    ("2026-03-29T03:49:59+02:00", &["bob"]),
                    ("2026-03-29T03:50:00+02:00", &["alice"]),
                    ("2026-04-05T02:45:00+02:00", &["carol"]),
                ],
            ),
            (
                "overrides beat every layer; overlapping overrides put both on call",
                schedule(
                    "Europe/Berlin",
                    json!([daily("2026-01-05T09:00", &["alice", "bob"])]),
                    json!([
                        {"user": "carol", "start": "2026-01-06T12:00:00+01:00", "end": "2026-01-06T14:00:00+01:00"},
                        {"user": "dave", "start": "2026-01-07T10:00:00+01:00", "end": "2026-01-07T12:00:00+01:00"},
                        {"user": "erin", "start": "2026-01-07T11:00:00+01:00", "end": "2026-01-07T13:00:00+01:00"},
                        {"user": "erin", "start": "2026-01-07T11:30:00+01:00", "end": "2026-01-07T12:30:00+01:00"},
                        {"user": "frank", "start": "2025-12-01T00:00:00Z", "end": "2025-12-02T00:00:00Z"},
                    ]),
                ),
                &[
                    ("2026-01-06T11:59:59+01:00", &["bob"]),
                    ("2026-01-06T12:00:00+01:00", &["carol"]),
                    ("2026-01-06T13:59:59+01:00", &["carol"]),
                    ("2026-01-06T14:00:00+01:00", &["bob"]),
                    ("2026-01-07T10:30:00+01:00", &["dave"]),
                    ("2026-01-07T11:45:00+01:00", &["dave", "erin"]),
                    ("2026-01-07T12:30:00+01:00", &["erin"]),
                    ("2026-01-07T13:00:00+01:00", &["alice"]),
                    // Before any layer starts, an override still puts someone on call.
                    ("2025-12-01T12:00:00Z", &["frank"]),
                ],
            ),
            (
                "an unknown zone places no layer, but absolute overrides still apply",
                schedule(
                    "Mars/Olympus_Mons",
                    json!([daily("2026-01-05T09:00", &["alice"])]),
                    json!([{"user": "carol", "start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z"}]),
                ),
                &[("2026-01-05T12:00:00Z", &[]), ("2026-01-06T12:00:00Z", &["carol"])],
            ),
        ];
        for (description, schedule, cases) in table {
            check(description, schedule, cases);
        }
    }
}

mod final_shifts {
    use super::*;

    /// A user with the start and end of their shift.
    type ExpectedShift = (&'static str, &'static str, &'static str);

    fn check(description: &str, schedule: &Schedule, from: &str, until: &str, expected: &[ExpectedShift]) {
        let actual = schedule.final_shifts(instant(from), instant(until));
        let expected: Vec<Shift> = expected
            .iter()
            .map(|(user, start, end)| Shift { user_id: user.to_string(), start: instant(start), end: instant(end) })
            .collect();
        assert_eq!(actual, expected, "{description}");
    }

    /// Three users rotating daily from `start`, the day before a DST change; each case renders from
    /// the first handoff to the third, so the two shifts' lengths show what DST did.
    fn dst_day(time_zone: &str, start: &str) -> Schedule {
        schedule(time_zone, json!([daily(start, &["alice", "bob", "carol"])]), json!([]))
    }

    #[test]
    fn daily_handoffs_on_dst_days_resolve_gaps_later_and_folds_earlier() {
        let table: &[(&str, &str, &str, [ExpectedShift; 2])] = &[
            // Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST.
            (
                "Berlin spring, 02:30 is in the gap and becomes 03:30 CEST",
                "Europe/Berlin",
                "2026-03-28T02:30",
                [
                    ("alice", "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z"),
                    ("bob", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"),
                ],
            ),
            (
                "Berlin spring, 01:30 exists: a 24 h then a 23 h shift",
                "Europe/Berlin",
                "2026-03-28T01:30",
                [
                    ("alice", "2026-03-28T00:30:00Z", "2026-03-29T00:30:00Z"),
                    ("bob", "2026-03-29T00:30:00Z", "2026-03-29T23:30:00Z"),
                ],
            ),
            // Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET.
            (
                "Berlin autumn, 02:30 is in the fold and is the first (CEST) one",
                "Europe/Berlin",
                "2026-10-24T02:30",
                [
                    ("alice", "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"),
                    ("bob", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"),
                ],
            ),
            (
                "Berlin autumn, 01:30 exists once: a 24 h then a 25 h shift",
                "Europe/Berlin",
                "2026-10-24T01:30",
                [
                    ("alice", "2026-10-23T23:30:00Z", "2026-10-24T23:30:00Z"),
                    ("bob", "2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"),
                ],
            ),
            // New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
            (
                "New York spring, 02:30 is in the gap and becomes 03:30 EDT",
                "America/New_York",
                "2026-03-07T02:30",
                [
                    ("alice", "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z"),
                    ("bob", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"),
                ],
            ),
            (
                "New York spring, 01:30 exists: a 24 h then a 23 h shift",
                "America/New_York",
                "2026-03-07T01:30",
                [
                    ("alice", "2026-03-07T06:30:00Z", "2026-03-08T06:30:00Z"),
                    ("bob", "2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"),
                ],
            ),
            // New York falls back 2026-11-01 02:00 EDT -> 01:00 EST.
            (
                "New York autumn, 01:30 is in the fold and is the first (EDT) one",
                "America/New_York",
                "2026-10-31T01:30",
                [
                    ("alice", "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z"),
                    ("bob", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"),
                ],
            ),
            (
                "New York autumn, 02:30 exists once: a 25 h then a 24 h shift",
                "America/New_York",
                "2026-10-31T02:30",
                [
                    ("alice", "2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z"),
                    ("bob", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"),
                ],
            ),
            // Lord Howe moves by half an hour: back 2026-04-05 02:00 -> 01:30 (+11 -> +10:30),
            // forward 2026-10-04 02:00 -> 02:30.
            (
                "Lord Howe autumn, 01:45 is in the half-hour fold and is the first one",
                "Australia/Lord_Howe",
                "2026-04-04T01:45",
                [
                    ("alice", "2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z"),
                    ("bob", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"),
                ],
            ),
            (
                "Lord Howe spring, 02:15 is in the half-hour gap and becomes 02:45",
                "Australia/Lord_Howe",
                "2026-10-03T02:15",
                [
                    ("alice", "2026-10-02T15:45:00Z", "2026-10-03T15:45:00Z"),
                    ("bob", "2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"),
                ],
            ),
        ];
        for (description, time_zone, start, [first, second]) in table {
            check(description, &dst_day(time_zone, start), first.1, second.2, &[*first, *second]);
        }
    }

    #[test]
    fn renders_merged_clipped_contiguous_shifts() {
        let business_hours = berlin(json!([
            daily("2026-01-01T00:00", &["alice"]),
            {"name": "business hours", "start": "2026-01-05T00:00", "rotation": "daily", "users": ["bob"],
                "restrictions": [{"days": ["mon"], "start": "09:00", "end": "17:00"}]},
        ]));
        let overlapping_overrides = schedule(
            "UTC",
            json!([daily("2026-01-01T00:00", &["alice"])]),
            json!([
                {"user": "dave", "start": "2026-01-07T10:00:00Z", "end": "2026-01-07T12:00:00Z"},
                {"user": "erin", "start": "2026-01-07T11:00:00Z", "end": "2026-01-07T13:00:00Z"},
            ]),
        );
        let table: &[(&str, Schedule, &str, &str, &[ExpectedShift])] = &[
            (
                "a user listed twice in a row keeps one merged shift",
                berlin(json!([daily("2026-01-05T09:00", &["alice", "alice", "bob"])])),
                "2026-01-05T08:00:00Z",
                "2026-01-09T08:00:00Z",
                &[
                    ("alice", "2026-01-05T08:00:00Z", "2026-01-07T08:00:00Z"),
                    ("bob", "2026-01-07T08:00:00Z", "2026-01-08T08:00:00Z"),
                    ("alice", "2026-01-08T08:00:00Z", "2026-01-09T08:00:00Z"),
                ],
            ),
            (
                "clipped to the range, with nobody before the start",
                berlin(json!([daily("2026-01-05T09:00", &["alice", "bob"])])),
                "2026-01-05T00:00:00Z",
                "2026-01-06T12:00:00Z",
                &[
                    ("alice", "2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z"),
                    ("bob", "2026-01-06T08:00:00Z", "2026-01-06T12:00:00Z"),
                ],
            ),
            (
                "a restricted layer splits the base layer around its window",
                business_hours,
                "2026-01-04T23:00:00Z",
                "2026-01-05T23:00:00Z",
                &[
                    ("alice", "2026-01-04T23:00:00Z", "2026-01-05T08:00:00Z"),
                    ("bob", "2026-01-05T08:00:00Z", "2026-01-05T16:00:00Z"),
                    ("alice", "2026-01-05T16:00:00Z", "2026-01-05T23:00:00Z"),
                ],
            ),
            (
                "overlapping overrides each get a shift",
                overlapping_overrides,
                "2026-01-07T09:00:00Z",
                "2026-01-07T14:00:00Z",
                &[
                    ("alice", "2026-01-07T09:00:00Z", "2026-01-07T10:00:00Z"),
                    ("dave", "2026-01-07T10:00:00Z", "2026-01-07T12:00:00Z"),
                    ("erin", "2026-01-07T11:00:00Z", "2026-01-07T13:00:00Z"),
                    ("alice", "2026-01-07T13:00:00Z", "2026-01-07T14:00:00Z"),
                ],
            ),
            (
                "weekly 09:00 across spring forward: 167 hours",
                berlin(json!([{"name": "weekly", "start": "2026-03-23T09:00", "rotation": "weekly", "users": ["alice", "bob"]}])),
                "2026-03-23T08:00:00Z",
                "2026-04-06T07:00:00Z",
                &[
                    ("alice", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"),
                    ("bob", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"),
                ],
            ),
            (
                "an empty range has no shifts",
                berlin(json!([daily("2026-01-05T09:00", &["alice"])])),
                "2026-02-01T00:00:00Z",
                "2026-02-01T00:00:00Z",
                &[],
            ),
            (
                "an inverted range has no shifts",
                berlin(json!([daily("2026-01-05T09:00", &["alice"])])),
                "2026-02-02T00:00:00Z",
                "2026-02-01T00:00:00Z",
                &[],
            ),
        ];
        for (description, schedule, from, until, expected) in table {
            check(description, schedule, from, until, expected);
        }
    }

    #[test]
    fn work_is_bounded_over_decades_of_hourly_handoffs() {
        let hourly = |users: &[&str]| {
            schedule(
                "UTC",
                json!([{"name": "hourly", "start": "2026-01-01T00:00", "rotation": {"hours": 1}, "users": users}]),
                json!([]),
            )
        };
        let from = instant("2026-01-01T00:00:00Z");
        let until = instant("2076-01-01T00:00:00Z");

        let rendering = hourly(&["alice", "bob"]).render(from, until, 1_000);
        assert!(!rendering.complete);
        assert_eq!(rendering.rendered_until, instant("2026-02-11T16:00:00Z"));
        assert_eq!(rendering.shifts.len(), 1_000);

        // A rotation that never changes hands skips its handoffs, so fifty years is one step.
        let alone = hourly(&["alice"]).render(from, until, 10);
        assert!(alone.complete);
        assert_eq!(alone.shifts, vec![Shift { user_id: "alice".to_string(), start: from, end: until }]);
    }
}

mod validate {
    use super::*;

    fn user_exists(user: &str) -> bool {
        ["alice", "bob", "carol"].contains(&user)
    }

    fn check(description: &str, schedule: Schedule, expected: &[ScheduleError]) {
        let actual = schedule.validate(&user_exists).err().unwrap_or_default();
        assert_eq!(actual, expected, "{description}");
    }

    fn layer_with(changes: Value) -> Schedule {
        let mut layer = json!({"name": "weekly", "start": "2026-01-05T09:00", "rotation": "weekly", "users": ["alice", "bob"]});
        if let (Some(target), Some(changes)) = (layer.as_object_mut(), changes.as_object()) {
            target.extend(changes.clone());
        }
        berlin(json!([layer]))
    }

    fn with_overrides(overrides: Value) -> Schedule {
        schedule("Europe/Berlin", json!([daily("2026-01-05T09:00", &["alice"])]), overrides)
    }

    fn errors_for_layer() -> (String, String) {
        ("payments-primary".to_string(), "weekly".to_string())
    }

    #[test]
    fn reports_every_problem_with_its_location() {
        let (schedule_id, layer) = errors_for_layer();
        let restriction_time = |restriction, field, text: &str| ScheduleError::InvalidRestrictionTime {
            schedule: schedule_id.clone(),
            layer: layer.clone(),
            restriction,
            field,
            text: text.to_string(),
        };
        let table: Vec<(&str, Schedule, Vec<ScheduleError>)> = vec![
            (
                "a sound schedule",
                layer_with(
                    json!({"restrictions": [{"days": ["mon"], "start": "09:00", "end": "17:00"}], "end": "2026-12-31T09:00"}),
                ),
                vec![],
            ),
            (
                "unknown zone",
                schedule("Europe/Berlinn", json!([daily("2026-01-05T09:00", &["alice"])]), json!([])),
                vec![ScheduleError::UnknownTimeZone { schedule: schedule_id.clone(), time_zone: "Europe/Berlinn".to_string() }],
            ),
            (
                "the database's placeholder zone",
                schedule("Etc/Unknown", json!([daily("2026-01-05T09:00", &["alice"])]), json!([])),
                vec![ScheduleError::UnknownTimeZone { schedule: schedule_id.clone(), time_zone: "Etc/Unknown".to_string() }],
            ),
            ("no layers", berlin(json!([])), vec![ScheduleError::NoLayers { schedule: schedule_id.clone() }]),
            (
                "empty users",
                layer_with(json!({"users": []})),
                vec![ScheduleError::EmptyUsers { schedule: schedule_id.clone(), layer: layer.clone() }],
            ),
            (
                "zero days",
                layer_with(json!({"rotation": {"days": 0}})),
                vec![ScheduleError::ZeroLengthRotation { schedule: schedule_id.clone(), layer: layer.clone() }],
            ),
            (
                "zero weeks",
                layer_with(json!({"rotation": {"weeks": 0}})),
                vec![ScheduleError::ZeroLengthRotation { schedule: schedule_id.clone(), layer: layer.clone() }],
            ),
            (
                "zero hours",
                layer_with(json!({"rotation": {"hours": 0}})),
                vec![ScheduleError::ZeroLengthRotation { schedule: schedule_id.clone(), layer: layer.clone() }],
            ),
            (
                "an unknown user, reported once however often listed",
                layer_with(json!({"users": ["alice", "mallory", "bob", "mallory"]})),
                vec![ScheduleError::UnknownLayerUser {
                    schedule: schedule_id.clone(),
                    layer: layer.clone(),
                    user: "mallory".to_string(),
                }],
            ),
            (
                "end before start",
                layer_with(json!({"end": "2026-01-01T09:00"})),
                vec![ScheduleError::LayerEndNotAfterStart {
                    schedule: schedule_id.clone(),
                    layer: layer.clone(),
                    start: "2026-01-05T09:00".parse().unwrap_or_default(),
                    end: "2026-01-01T09:00".parse().unwrap_or_default(),
                }],
            ),
            (
                "end equal to start",
                layer_with(json!({"end": "2026-01-05T09:00"})),
                vec![ScheduleError::LayerEndNotAfterStart {
                    schedule: schedule_id.clone(),
                    layer: layer.clone(),
                    start: "2026-01-05T09:00".parse().unwrap_or_default(),
                    end: "2026-01-05T09:00".parse().unwrap_or_default(),
                }],
            ),
            (
                "empty restrictions",
                layer_with(json!({"restrictions": []})),
                vec![ScheduleError::EmptyRestrictions { schedule: schedule_id.clone(), layer: layer.clone() }],
            ),
            (
                "restriction without days",
                layer_with(json!({"restrictions": [{"days": [], "start": "09:00", "end": "17:00"}]})),
                vec![ScheduleError::EmptyRestrictionDays { schedule: schedule_id.clone(), layer: layer.clone(), restriction: 0 }],
            ),
            (
                "restriction with bad times",
                layer_with(json!({"restrictions": [{"start": "09:00", "end": "17:00"}, {"start": "25:00", "end": "9:00"}]})),
                vec![restriction_time(1, "start", "25:00"), restriction_time(1, "end", "9:00")],
            ),
            (
                "override ending at its start, for an unknown user",
                with_overrides(json!([
                    {"user": "carol", "start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z"},
                    {"user": "mallory", "start": "2026-01-06T00:00:00Z", "end": "2026-01-06T00:00:00Z"},
                ])),
                vec![
                    ScheduleError::UnknownOverrideUser { schedule: schedule_id.clone(), index: 1, user: "mallory".to_string() },
                    ScheduleError::OverrideEndNotAfterStart {
                        schedule: schedule_id.clone(),
                        index: 1,
                        start: instant("2026-01-06T00:00:00Z"),
                        end: instant("2026-01-06T00:00:00Z"),
                    },
                ],
            ),
        ];
        for (description, schedule, expected) in table {
            check(description, schedule, &expected);
        }
    }

    #[test]
    fn messages_name_schedule_layer_and_field() {
        let schedule = layer_with(json!({"users": ["alice", "mallory"], "restrictions": [{"start": "09:00", "end": "noon"}]}));
        let messages: Vec<String> =
            schedule.validate(&user_exists).err().unwrap_or_default().iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                r#"schedule payments-primary, layer "weekly": users names unknown user "mallory""#,
                r#"schedule payments-primary, layer "weekly": restrictions[0].end "noon" is not a wall-clock time (expected HH:MM from 00:00 to 23:59)"#,
            ]
        );
    }
}

mod config {
    use super::*;

    const EXAMPLE: &str = r#"{
        "id": "payments-primary",
        "name": "Payments primary",
        "time_zone": "Europe/Berlin",
        "layers": [{
            "name": "weekly",
            "start": "2026-01-05T09:00",
            "rotation": "weekly",
            "users": ["alice", "bob"],
            "end": "2026-12-31T09:00",
            "restrictions": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
        }],
        "overrides": [{"user": "carol", "start": "2026-03-29T00:00:00+01:00", "end": "2026-03-30T00:00:00+02:00"}]
    }"#;

    #[test]
    fn the_documented_example_parses_and_round_trips() {
        let parsed: Schedule = serde_json::from_str(EXAMPLE).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(parsed.time_zone.name(), "Europe/Berlin");
        assert!(parsed.time_zone.zone().is_some());
        assert_eq!(parsed.layers.first().map(|layer| layer.rotation), Some(Rotation::Weekly));
        assert_eq!(parsed.overrides.first().map(|entry| entry.end), Some(instant("2026-03-29T22:00:00Z")));
        assert_eq!(parsed.validate(&|_| true), Ok(()));

        let written = serde_json::to_value(&parsed).unwrap_or_default();
        let reread: Schedule = serde_json::from_value(written).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(reread, parsed);
    }

    #[test]
    fn rotations_take_every_documented_form() {
        for (text, expected) in [
            (r#""daily""#, Some(Rotation::Daily)),
            (r#""weekly""#, Some(Rotation::Weekly)),
            (r#"{"days": 3}"#, Some(Rotation::Days(3))),
            (r#"{"weeks": 2}"#, Some(Rotation::Weeks(2))),
            (r#"{"hours": 8}"#, Some(Rotation::Hours(8))),
            (r#""monthly""#, None),
            (r#"{"days": -1}"#, None),
            (r#"{"days": 1, "hours": 2}"#, None),
        ] {
            assert_eq!(serde_json::from_str::<Rotation>(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        for (description, edit) in [
            ("schedule", r#""timezone": "UTC""#),
            (
                "layer",
                r#""layers": [{"name": "x", "start": "2026-01-05T09:00", "rotation": "daily", "users": ["alice"], "rotaton": "weekly"}]"#,
            ),
            (
                "restriction",
                r#""layers": [{"name": "x", "start": "2026-01-05T09:00", "rotation": "daily", "users": ["alice"], "restrictions": [{"start": "09:00", "end": "17:00", "tz": "UTC"}]}]"#,
            ),
            (
                "override",
                r#""overrides": [{"user": "carol", "start": "2026-03-29T00:00:00Z", "end": "2026-03-30T00:00:00Z", "reason": "swap"}]"#,
            ),
        ] {
            let text = format!(r#"{{"id": "s", "time_zone": "UTC", "layers": [], {edit}}}"#).replacen(
                r#""layers": [], "layers""#,
                r#""layers""#,
                1,
            );
            assert!(serde_json::from_str::<Schedule>(&text).is_err(), "{description}: {text}");
        }
    }

    #[test]
    fn days_accept_short_and_long_names() {
        let restriction: Restriction = serde_json::from_str(r#"{"days": ["mon", "sunday"], "start": "09:00", "end": "17:00"}"#)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(restriction.days, [DayOfWeek::Mon, DayOfWeek::Sun]);
        let every_day: Restriction =
            serde_json::from_str(r#"{"start": "09:00", "end": "17:00"}"#).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(every_day.days.len(), 7);
    }

    #[test]
    fn layer_times_are_civil_and_refuse_offsets() {
        let parse = |start: &str| {
            let config = json!({"name": "x", "start": start, "rotation": "daily", "users": ["alice"]});
            serde_json::from_value::<Layer>(config).ok().map(|layer| layer.start.to_string())
        };
        for (start, expected) in [
            ("2026-01-05T09:00", Some("2026-01-05T09:00:00")),
            ("2026-01-05T09:00:30", Some("2026-01-05T09:00:30")),
            ("2026-01-05 09:00", Some("2026-01-05T09:00:00")),
            ("2026-01-05", Some("2026-01-05T00:00:00")),
            ("2026-01-05T09:00+01:00", None),
            ("2026-01-05T09:00-05:00", None),
            ("2026-01-05T09:00Z", None),
            ("2026-01-05T09:00[Europe/Berlin]", None),
            ("2026-01-05T25:00", None),
            ("next monday", None),
        ] {
            assert_eq!(parse(start).as_deref(), expected, "{start}");
        }
        let with_end = json!({"name": "x", "start": "2026-01-05T09:00", "end": "2026-02-05T09:00+01:00", "rotation": "daily", "users": ["alice"]});
        assert!(serde_json::from_value::<Layer>(with_end).is_err());
    }
}
