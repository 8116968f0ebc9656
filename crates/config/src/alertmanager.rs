//! The `route:` tree of an Alertmanager configuration file, read into domain routes.
//!
//! This module owns reading an Alertmanager 0.25 config file far enough to route alerts the
//! way that Alertmanager would: the `route:` section with `receiver`, `group_by`, `continue`,
//! `match`, `match_re`, `matchers` and nested `routes`. The timing and time-interval keys of a
//! route are checked as Alertmanager checks them and then dropped, because Staunch schedules
//! notifications itself. Other top-level sections (`global`, `receivers`, `inhibit_rules`,
//! `templates`, `time_intervals`, `mute_time_intervals`, and any newer ones) are skipped
//! without being read, so receiver names are not checked against `receivers:`.
//!
//! Errors name the offending field by its path, e.g. `route.routes[2].matchers[0]`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use staunch_domain::matcher::{Matcher, MatcherError, parse_matchers};
use staunch_domain::routing::{Route, RoutingError, RoutingTree};

#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerConfigError {
    #[error("cannot read alertmanager config {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid alertmanager config: {message}")]
    Yaml { message: String },
    #[error("no route provided in config")]
    NoRoute,
    #[error("{at}: {source}")]
    Matcher { at: String, source: MatcherError },
    #[error("{at}: {problem}")]
    Duration { at: String, problem: String },
    #[error("{at}: root route must not have any {field}")]
    RootWithTimeIntervals { at: String, field: &'static str },
    #[error(transparent)]
    Routing(#[from] RoutingError),
}

/// Reads the routing tree of an Alertmanager configuration given as YAML text.
pub fn parse_alertmanager_routes(yaml_text: &str) -> Result<RoutingTree, AlertmanagerConfigError> {
    let mut options = serde_saphyr::Options::default();
    // Snippets render over several lines; errors here are single lines naming the field.
    options.with_snippet = false;
    let trail = Trail::default();
    let root = serde_saphyr::with_deserializer_from_str_with_options(yaml_text, options, |deserializer| {
        ConfigSeed { trail: &trail }.deserialize(deserializer)
    })
    .map_err(|error| {
        let path = trail.borrow();
        let message = if path.is_empty() { error.to_string() } else { format!("{path}: {error}") };
        AlertmanagerConfigError::Yaml { message }
    })?;
    let Some(root) = root else {
        return Err(AlertmanagerConfigError::NoRoute);
    };
    for (field, intervals) in
        [("mute time intervals", &root.mute_time_intervals), ("active time intervals", &root.active_time_intervals)]
    {
        if intervals.as_ref().is_some_and(|intervals| !intervals.is_empty()) {
            return Err(AlertmanagerConfigError::RootWithTimeIntervals { at: root.at.clone(), field });
        }
    }
    let root = build_route(root)?;
    Ok(RoutingTree::new(root)?)
}

/// Reads the routing tree of the Alertmanager configuration file at `path`.
pub fn load_alertmanager_routes(path: &Path) -> Result<RoutingTree, AlertmanagerConfigError> {
    let yaml_text =
        std::fs::read_to_string(path).map_err(|source| AlertmanagerConfigError::Read { path: path.to_path_buf(), source })?;
    parse_alertmanager_routes(&yaml_text)
}

/// Where the routing tree sits in the file, and so how every error path starts.
const ROOT_PATH: &str = "route";

/// One route as written, with its path for error messages.
#[derive(Default)]
struct RawRoute {
    at: String,
    receiver: Option<String>,
    group_by: Option<Vec<String>>,
    match_equal: Option<BTreeMap<String, Option<String>>>,
    match_regex: Option<BTreeMap<String, Option<String>>>,
    matchers: Option<Vec<String>>,
    continue_matching: Option<bool>,
    group_wait: Option<String>,
    group_interval: Option<String>,
    repeat_interval: Option<String>,
    mute_time_intervals: Option<Vec<String>>,
    active_time_intervals: Option<Vec<String>>,
    routes: Vec<RawRoute>,
}

fn build_route(raw: RawRoute) -> Result<Route, AlertmanagerConfigError> {
    let at = raw.at;
    for (field, value, may_be_zero) in [
        ("group_wait", &raw.group_wait, true),
        ("group_interval", &raw.group_interval, false),
        ("repeat_interval", &raw.repeat_interval, false),
    ] {
        let Some(text) = value else { continue };
        let problem = match parse_prometheus_duration_millis(text) {
            Err(problem) => problem,
            Ok(0) if !may_be_zero => format!("{field} cannot be zero"),
            Ok(_) => continue,
        };
        return Err(AlertmanagerConfigError::Duration { at: format!("{at}.{field}"), problem });
    }

    // Alertmanager's order before sorting: match, then match_re, then matchers.
    let mut matchers = Vec::new();
    for (name, value) in raw.match_equal.unwrap_or_default() {
        let entry_at = format!("{at}.match.{name}");
        let entry = BTreeMap::from([(name, value.unwrap_or_default())]);
        let built =
            Matcher::from_legacy_match(&entry).map_err(|source| AlertmanagerConfigError::Matcher { at: entry_at, source })?;
        matchers.extend(built);
    }
    for (name, value) in raw.match_regex.unwrap_or_default() {
        let entry_at = format!("{at}.match_re.{name}");
        let entry = BTreeMap::from([(name, value.unwrap_or_default())]);
        let built =
            Matcher::from_legacy_match_re(&entry).map_err(|source| AlertmanagerConfigError::Matcher { at: entry_at, source })?;
        matchers.extend(built);
    }
    for (index, line) in raw.matchers.unwrap_or_default().iter().enumerate() {
        let parsed = parse_matchers(line)
            .map_err(|source| AlertmanagerConfigError::Matcher { at: format!("{at}.matchers[{index}]"), source })?;
        matchers.extend(parsed);
    }

    let routes = raw.routes.into_iter().map(build_route).collect::<Result<Vec<_>, _>>()?;
    Ok(Route {
        // Alertmanager treats an empty receiver, and an empty group_by list, as not set.
        receiver: raw.receiver.filter(|receiver| !receiver.is_empty()),
        matchers,
        continue_matching: raw.continue_matching.unwrap_or(false),
        group_by: raw.group_by.filter(|names| !names.is_empty()),
        routes,
    })
}

/// Checks a duration as Prometheus' `model.ParseDuration` (prometheus/common 0.38) does:
/// `0`, or units in the order y, w, d, h, m, s, ms, each at most once, e.g. `1h30m`.
/// Returns the duration in milliseconds.
fn parse_prometheus_duration_millis(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, u128); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if text == "0" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err("empty duration string".to_string());
    }
    let invalid = || format!("not a valid duration string: {text:?}");
    let mut rest = text;
    let mut next_unit = 0;
    let mut total_millis: u128 = 0;
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(invalid());
        }
        // More digits than u128 holds is certainly out of range.
        let number: u128 = rest[..digits_end].parse().map_err(|_| "duration out of range".to_string())?;
        rest = &rest[digits_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let position = UNITS[next_unit..].iter().position(|(name, _)| *name == unit).ok_or_else(invalid)?;
        let (_, unit_millis) = UNITS[next_unit + position];
        next_unit += position + 1;
        total_millis = total_millis.saturating_add(number.saturating_mul(unit_millis));
    }
    // Go keeps durations as signed 64-bit nanoseconds.
    let maximum_millis = i64::MAX as u128 / 1_000_000;
    if total_millis > maximum_millis {
        return Err("duration out of range".to_string());
    }
    Ok(total_millis as u64)
}

/// The path of the field being read, so that a YAML error can be reported against it. Reading
/// stops at the first error, so whatever the path is then is where the error happened. It is
/// cleared after each complete route, so that errors after the `route:` section carry no path.
type Trail = RefCell<String>;

fn set_trail(trail: &Trail, path: &str) {
    let mut current = trail.borrow_mut();
    current.clear();
    current.push_str(path);
}

/// The top level: `route:` is read, everything else is skipped unread.
struct ConfigSeed<'t> {
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for ConfigSeed<'_> {
    type Value = Option<RawRoute>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<RawRoute>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ConfigSeed<'_> {
    type Value = Option<RawRoute>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an alertmanager configuration mapping")
    }

    /// An empty file.
    fn visit_none<E: de::Error>(self) -> Result<Option<RawRoute>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<RawRoute>, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<RawRoute>, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<RawRoute>, A::Error> {
        let mut route = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == ROOT_PATH {
                route = map.next_value_seed(OptionalRouteSeed { at: ROOT_PATH.to_string(), trail: self.trail })?;
                continue;
            }
            let _: IgnoredAny = map.next_value()?;
        }
        Ok(route)
    }
}

/// `route:` itself, which may be null (then there is no route).
struct OptionalRouteSeed<'t> {
    at: String,
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for OptionalRouteSeed<'_> {
    type Value = Option<RawRoute>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<RawRoute>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalRouteSeed<'_> {
    type Value = Option<RawRoute>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a route mapping at {}", self.at)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<RawRoute>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<RawRoute>, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<RawRoute>, D::Error> {
        RouteSeed { at: self.at, trail: self.trail }.deserialize(deserializer).map(Some)
    }
}

/// One route, knowing where it sits.
struct RouteSeed<'t> {
    at: String,
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for RouteSeed<'_> {
    type Value = RawRoute;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<RawRoute, D::Error> {
        let trail = self.trail;
        set_trail(trail, &self.at);
        let route = deserializer.deserialize_map(self)?;
        set_trail(trail, "");
        Ok(route)
    }
}

impl<'de> Visitor<'de> for RouteSeed<'_> {
    type Value = RawRoute;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a route mapping at {}", self.at)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRoute, A::Error> {
        let RouteSeed { at, trail } = self;
        let mut route = RawRoute { at: at.clone(), ..RawRoute::default() };
        loop {
            set_trail(trail, &at);
            let Some(key) = map.next_key::<String>()? else {
                break;
            };
            set_trail(trail, &format!("{at}.{key}"));
            match key.as_str() {
                "receiver" => route.receiver = map.next_value()?,
                "group_by" => route.group_by = map.next_value()?,
                "match" => route.match_equal = map.next_value()?,
                "match_re" => route.match_regex = map.next_value()?,
                "matchers" => route.matchers = map.next_value()?,
                "continue" => route.continue_matching = map.next_value()?,
                "group_wait" => route.group_wait = map.next_value()?,
                "group_interval" => route.group_interval = map.next_value()?,
                "repeat_interval" => route.repeat_interval = map.next_value()?,
                "mute_time_intervals" => route.mute_time_intervals = map.next_value()?,
                "active_time_intervals" => route.active_time_intervals = map.next_value()?,
                "routes" => route.routes = map.next_value_seed(RoutesSeed { at: format!("{at}.routes"), trail })?,
                _ => {
                    // Alertmanager reads its config strictly, so a misspelt key is an error.
                    set_trail(trail, &at);
                    return Err(A::Error::custom(format!("unknown field {key:?}")));
                }
            }
        }
        Ok(route)
    }
}

/// A `routes:` list, or null for none.
struct RoutesSeed<'t> {
    at: String,
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for RoutesSeed<'_> {
    type Value = Vec<RawRoute>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<RawRoute>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for RoutesSeed<'_> {
    type Value = Vec<RawRoute>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a list of routes at {}", self.at)
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<RawRoute>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<RawRoute>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<RawRoute>, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Vec<RawRoute>, A::Error> {
        let mut routes = Vec::new();
        loop {
            let seed = RouteSeed { at: format!("{}[{}]", self.at, routes.len()), trail: self.trail };
            match sequence.next_element_seed(seed)? {
                Some(route) => routes.push(route),
                None => return Ok(routes),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use staunch_domain::labels::Labels;
    use staunch_domain::routing::format_receivers;

    fn receivers(yaml: &str, pairs: &[(&str, &str)]) -> String {
        let tree = parse_alertmanager_routes(yaml).unwrap_or_else(|error| panic!("{error}"));
        let labels: Labels = pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        format_receivers(&tree.matching(&labels))
    }

    #[test]
    fn reads_all_three_matcher_spellings() {
        let yaml = r#"
global: {resolve_timeout: 5m}
receivers: [{name: a}]
route:
  receiver: root
  group_by: ['...']
  group_wait: 30s
  routes:
    - match: {severity: critical, code: 2}
      receiver: pager
    - match_re: {service: 'foo.*'}
      receiver: regex
    - matchers: ['team="db", env=~"prod|stage"', 'tier!=""']
      receiver: new-style
      continue: true
    - matchers: ['team="db"']
      receiver: after-continue
"#;
        for (pairs, expected) in [
            (&[("severity", "critical"), ("code", "2")][..], "pager"),
            (&[("severity", "critical")][..], "root"),
            (&[("service", "foobar")][..], "regex"),
            (&[("team", "db"), ("env", "prod"), ("tier", "1")][..], "new-style,after-continue"),
            (&[("team", "db"), ("env", "prod")][..], "after-continue"),
            (&[][..], "root"),
        ] {
            assert_eq!(receivers(yaml, pairs), expected, "{pairs:?}");
        }
    }

    #[test]
    fn empty_receiver_and_empty_group_by_inherit() {
        let yaml =
            "route:\n  receiver: root\n  group_by: [a]\n  routes:\n    - {matchers: ['x=\"1\"'], receiver: '', group_by: []}\n";
        let tree = parse_alertmanager_routes(yaml).unwrap();
        let labels: Labels = [("x".to_string(), "1".to_string())].into();
        let found = tree.matching(&labels);
        assert_eq!(found[0].receiver, "root");
        assert_eq!(found[0].group_by, staunch_domain::routing::GroupBy::Labels(vec!["a".into()]));
    }

    #[test]
    fn errors_name_the_field_path() {
        let cases: &[(&str, &str)] = &[
            ("global: {}\n", "no route provided in config"),
            ("", "no route provided in config"),
            ("route:\n  group_by: [a]\n", "route: root route must specify a default receiver"),
            ("route:\n  receiver: r\n  continue: true\n", "route: cannot have continue in root route"),
            ("route:\n  receiver: r\n  matchers: ['a=b']\n", "route: root route must not have any matchers"),
            (
                "route:\n  receiver: r\n  mute_time_intervals: [night]\n",
                "route: root route must not have any mute time intervals",
            ),
            (
                "route:\n  receiver: r\n  routes:\n    - receiver: a\n    - receiver: b\n    - matchers: ['a=b', 'c=\"d']\n",
                r#"route.routes[2].matchers[1]: matcher value contains unescaped double quote: "d"#,
            ),
            (
                "route:\n  receiver: r\n  routes:\n    - match: {foo-bar: x}\n",
                r#"route.routes[0].match.foo-bar: invalid label name "foo-bar""#,
            ),
            (
                "route:\n  receiver: r\n  routes:\n    - match_re: {svc: '(unclosed'}\n",
                r#"route.routes[0].match_re.svc: invalid regular expression "(unclosed": unclosed group"#,
            ),
            (
                "route:\n  receiver: r\n  routes:\n    - group_by: [a, a]\n",
                r#"route.routes[0].group_by[1]: duplicated label "a" in group_by"#,
            ),
            ("route:\n  receiver: r\n  group_interval: 0s\n", "route.group_interval: group_interval cannot be zero"),
            ("route:\n  receiver: r\n  repeat_interval: 0\n", "route.repeat_interval: repeat_interval cannot be zero"),
            (
                "route:\n  receiver: r\n  routes:\n    - group_wait: 5 minutes\n",
                r#"route.routes[0].group_wait: not a valid duration string: "5 minutes""#,
            ),
            ("route:\n  receiver: r\n  group_wait: 30m1h\n", r#"route.group_wait: not a valid duration string: "30m1h""#),
        ];
        for (yaml, expected) in cases {
            let error = parse_alertmanager_routes(yaml).err().unwrap_or_else(|| panic!("accepted {yaml:?}"));
            assert_eq!(error.to_string(), *expected, "{yaml:?}");
        }
    }

    #[test]
    fn structural_errors_name_the_field_path() {
        let cases: &[(&str, &str)] = &[
            (
                "route:\n  receiver: r\n  routes:\n    - reciever: a\n",
                r#"invalid alertmanager config: route.routes[0]: unknown field "reciever" at line 4, column 7"#,
            ),
            (
                "route:\n  receiver: r\n  routes:\n    - routes:\n        - matchers: x\n",
                "invalid alertmanager config: route.routes[0].routes[0].matchers: expected sequence start at line 5, column 21",
            ),
            (
                "route:\n  receiver: r\n  routes: [just-a-string]\n",
                "invalid alertmanager config: route.routes[0]: expected mapping start at line 3, column 12",
            ),
            (
                "route:\n  receiver: [a]\n",
                "invalid alertmanager config: route.receiver: expected string scalar at line 2, column 13",
            ),
            (
                "route:\n  receiver: r\n  routes: {receiver: a}\n",
                "invalid alertmanager config: route.routes: expected sequence start at line 3, column 11",
            ),
        ];
        for (yaml, expected) in cases {
            let error = parse_alertmanager_routes(yaml).err().unwrap_or_else(|| panic!("accepted {yaml:?}"));
            assert_eq!(error.to_string(), *expected, "{yaml:?}");
        }
    }

    #[test]
    fn errors_outside_the_route_carry_no_route_path() {
        let yaml = "route:\n  receiver: r\nreceivers: [\n";
        let message = parse_alertmanager_routes(yaml).expect_err("broken yaml is refused").to_string();
        assert!(message.starts_with("invalid alertmanager config: "), "{message}");
        assert!(!message.contains("route."), "{message}");
        let duplicated = "route:\n  receiver: r\n  receiver: s\n";
        let message = parse_alertmanager_routes(duplicated).expect_err("duplicate keys are refused").to_string();
        assert!(message.starts_with("invalid alertmanager config: route"), "{message}");
    }

    #[test]
    fn scalars_read_as_alertmanager_reads_them() {
        // yaml.v2 hands the source text of a scalar to a string field, so `2` and `2.10` are
        // label values as written; `continue: yes` is YAML 1.1 true.
        let yaml = "tracing: {endpoint: x}\nroute:\n  receiver: r\n  routes:\n    - match: {code: 2, version: 2.10, empty: }\n      receiver: a\n      continue: yes\n    - receiver: b\n";
        assert_eq!(receivers(yaml, &[("code", "2"), ("version", "2.10")]), "a,b");
        assert_eq!(receivers(yaml, &[("code", "2"), ("version", "2.1")]), "b");
        assert_eq!(receivers(yaml, &[("code", "2"), ("version", "2.10"), ("empty", "x")]), "b");
        let null_route = parse_alertmanager_routes("route:\nreceivers: []\n").err().unwrap();
        assert_eq!(null_route.to_string(), "no route provided in config");
    }

    #[test]
    fn prometheus_durations() {
        for (text, expected) in [
            ("0", Ok(0)),
            ("30s", Ok(30_000)),
            ("1h30m", Ok(5_400_000)),
            ("1y", Ok(31_536_000_000)),
            ("1d12h", Ok(129_600_000)),
            ("500ms", Ok(500)),
            ("1m1ms", Ok(60_001)),
            ("", Err("empty duration string")),
            ("1.5h", Err("not a valid duration string: \"1.5h\"")),
            ("30", Err("not a valid duration string: \"30\"")),
            ("1s1s", Err("not a valid duration string: \"1s1s\"")),
            ("300y", Err("duration out of range")),
        ] {
            assert_eq!(parse_prometheus_duration_millis(text), expected.map_err(str::to_string), "{text:?}");
        }
    }
}
