//! Routing against Alertmanager's own fixtures: the receivers `amtool config routes test`
//! printed for each label set, the route keys asserted by `dispatch/route_test.go`
//! `TestRouteMatch`, and the trees `amtool config routes show` printed.
//!
//! The fixtures live outside the repository (`../shared/data/alertmanager/routing`, see its
//! README); when they are absent every test here says so and passes.

use std::path::{Path, PathBuf};

use staunch_config::alertmanager::load_alertmanager_routes;
use staunch_domain::labels::Labels;
use staunch_domain::routing::{GroupBy, RoutingTree, format_receivers};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/alertmanager/routing");

fn fixtures() -> Option<PathBuf> {
    let directory = PathBuf::from(FIXTURES);
    if directory.is_dir() {
        return Some(directory);
    }
    println!("skipped: ../shared/data/alertmanager not found");
    None
}

fn load(directory: &Path, config: &str) -> RoutingTree {
    load_alertmanager_routes(&directory.join(config)).unwrap_or_else(|error| panic!("{config}: {error}"))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

#[test]
fn receivers_match_amtool_for_every_recorded_case() {
    let Some(directory) = fixtures() else { return };
    let text = std::fs::read_to_string(directory.join("expected_receivers.json")).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = document["cases"].as_array().expect("expected_receivers.json has a cases list");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let config = case["config"].as_str().unwrap();
        let case_labels: Labels = serde_json::from_value(case["labels"].clone()).unwrap();
        let expected: Vec<String> = serde_json::from_value(case["expected_receivers"].clone()).unwrap();
        let found = load(&directory, config).matching(&case_labels);
        let actual: Vec<String> = found.iter().map(|route_match| route_match.receiver.clone()).collect();
        if actual != expected || format_receivers(&found) != expected.join(",") {
            failures.push(format!("{config} {case_labels:?}: expected {expected:?}, got {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    println!("{} amtool cases agree", cases.len());
}

/// Group-by label sets compare as sets, as in Alertmanager.
fn normalized(group_by: &GroupBy) -> Option<Vec<String>> {
    match group_by {
        GroupBy::AllLabels => None,
        GroupBy::Labels(names) => {
            let mut names = names.clone();
            names.sort();
            Some(names)
        }
    }
}

#[test]
fn route_keys_match_dispatch_route_test() {
    let Some(directory) = fixtures() else { return };
    let tree = load(&directory, "route_test_TestRouteMatch.yml");
    let none: &[&str] = &[];
    // (labels, [(receiver, group_by or None for all labels, route key)]) from TestRouteMatch.
    type Expected<'a> = &'a [(&'a str, Option<&'a [&'a str]>, &'a str)];
    let cases: &[(&[(&str, &str)], Expected<'_>)] = &[
        (&[("owner", "team-A")], &[("notify-A", Some(none), r#"{}/{owner="team-A"}"#)]),
        (&[("owner", "team-A"), ("env", "unset")], &[("notify-A", Some(none), r#"{}/{owner="team-A"}"#)]),
        (&[("owner", "team-C")], &[("notify-BC", Some(&["bar", "foo"]), r#"{}/{owner=~"^(?:team-(B|C))$"}"#)]),
        (&[("owner", "team-A"), ("env", "testing")], &[("notify-testing", None, r#"{}/{owner="team-A"}/{env="testing"}"#)]),
        (
            &[("owner", "team-A"), ("env", "production")],
            &[
                ("notify-productionA", Some(none), r#"{}/{owner="team-A"}/{env="production"}"#),
                ("notify-productionB", Some(&["job"]), r#"{}/{owner="team-A"}/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}"#),
            ],
        ),
        (&[("group_by", "role")], &[("notify-def", Some(&["role"]), r#"{}/{group_by="role"}"#)]),
        (
            &[("env", "testing"), ("group_by", "role")],
            &[("notify-testing", Some(&["role"]), r#"{}/{group_by="role"}/{env="testing"}"#)],
        ),
        (
            &[("env", "testing"), ("group_by", "role"), ("wait", "long")],
            &[("notify-testing", Some(&["role"]), r#"{}/{group_by="role"}/{env="testing"}/{wait="long"}"#)],
        ),
    ];
    for (pairs, expected) in cases {
        let actual: Vec<(String, Option<Vec<String>>, String)> = tree
            .matching(&labels(pairs))
            .iter()
            .map(|found| (found.receiver.clone(), normalized(&found.group_by), found.route_key.clone()))
            .collect();
        let expected: Vec<(String, Option<Vec<String>>, String)> = expected
            .iter()
            .map(|(receiver, group_by, key)| {
                let group_by = group_by.map(|names| names.iter().map(|name| name.to_string()).collect());
                (receiver.to_string(), group_by, key.to_string())
            })
            .collect();
        assert_eq!(actual, expected, "labels {pairs:?}");
    }
}

#[test]
fn trees_render_like_amtool_config_routes_show() {
    let Some(directory) = fixtures() else { return };
    let mut compared = 0;
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some(stem) = file_name.strip_suffix(".tree.txt") else {
            continue;
        };
        let expected = std::fs::read_to_string(&path).unwrap();
        let rendered = load(&directory, &format!("{stem}.yml")).render_amtool_tree();
        assert_eq!(rendered, expected, "{file_name}");
        compared += 1;
    }
    assert!(compared > 0, "no .tree.txt files found");
    println!("{compared} trees agree");
}

#[test]
fn every_fixture_config_loads() {
    let Some(directory) = fixtures() else { return };
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "yml") {
            load_alertmanager_routes(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        }
    }
}
