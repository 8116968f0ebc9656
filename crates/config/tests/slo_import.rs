//! `staunch slo import`: OpenSLO validation checked against the oslo validator's own test
//! inputs and expected messages (`../shared/data/openslo/oslo/test`, skipped when absent),
//! and imports that load as a valid `staunch.yaml`.

use std::path::{Path, PathBuf};

use staunch_config::slo_import::{ImportError, ObjectProblems, OpenSloError, PropertyProblem, import, render_yaml};

fn oslo_dir() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/openslo/oslo/test");
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("../shared/data/openslo absent");
    }
    println!("skipped: ../shared/data/openslo absent");
    None
}

/// Parses oslo's expected `validate` output into problems per input file.
fn expected_problems(output: &str) -> Vec<(String, Vec<ObjectProblems>)> {
    let mut files: Vec<(String, Vec<ObjectProblems>)> = Vec::new();
    for line in output.lines() {
        if let Some(path) = line.strip_prefix("Errors in /oslo/test/inputs/validate/").and_then(|rest| rest.strip_suffix(':')) {
            files.push((path.to_string(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("  Validation for ") {
            let (kind, rest) = rest.split_once(" '").unwrap();
            let (name, rest) = rest.split_once('\'').unwrap();
            let index = rest.strip_prefix(" at index ").map(|rest| rest.split(' ').next().unwrap().parse().unwrap());
            let object = ObjectProblems { kind: kind.into(), name: name.into(), index, properties: Vec::new() };
            files.last_mut().unwrap().1.push(object);
        } else if let Some(rest) = line.strip_prefix("    - '") {
            let (path, rest) = rest.split_once('\'').unwrap();
            let value = rest.strip_prefix(" with value '").map(|value| value.trim_end_matches("':").to_string());
            let property = PropertyProblem { path: path.into(), value, message: String::new() };
            files.last_mut().unwrap().1.last_mut().unwrap().properties.push(property);
        } else if let Some(message) = line.strip_prefix("      - ") {
            files.last_mut().unwrap().1.last_mut().unwrap().properties.last_mut().unwrap().message = message.into();
        }
    }
    files
}

fn import_file(path: &Path) -> Result<(), ImportError> {
    import(&std::fs::read_to_string(path).unwrap()).map(|_| ())
}

/// oslo's test image has no time zone database, so it calls America/New_York unknown. Staunch
/// bundles the database: a zone it knows is valid, and that expectation is left out.
fn without_known_time_zones(mut objects: Vec<ObjectProblems>) -> Vec<ObjectProblems> {
    for object in &mut objects {
        object.properties.retain(|property| {
            let known = property.path.ends_with(".calendar.timeZone")
                && jiff::tz::TimeZone::get(property.value.as_deref().unwrap_or_default()).is_ok();
            if known {
                println!("note: {} {:?} is a valid zone here; oslo's expectation left out", property.path, property.value);
            }
            !known
        });
    }
    objects.retain(|object| !object.properties.is_empty());
    objects
}

#[test]
fn openslo_validation_matches_oslo() {
    let Some(dir) = oslo_dir() else { return };
    let inputs = dir.join("inputs/validate");
    let outputs = dir.join("outputs/validate");

    let error = import_file(&inputs.join("invalid-apiversion.yaml")).unwrap_err();
    assert_eq!(error.to_string(), "unsupported openslo.Version: foo");
    let error = import_file(&inputs.join("unknown-field.yaml")).unwrap_err();
    assert_eq!(error.to_string(), "failed to decode openslo/v1 Service: json: unknown field \"markdown\"");

    let mut compared = 0;
    for expected_name in ["v1", "v1alpha", "v2alpha", "mix", "recursive"] {
        let expected = std::fs::read_to_string(outputs.join(expected_name)).unwrap();
        for (file, objects) in expected_problems(&expected) {
            let result = import_file(&inputs.join(&file));
            let version = objects[0].kind.split('.').next().unwrap().to_string();
            if version != "v1" {
                // Staunch imports OpenSLO v1 only; earlier and later drafts are refused by version.
                let error = result.unwrap_err();
                assert!(matches!(error, ImportError::OpenSlo(OpenSloError::UnsupportedVersion(_))), "{file}: {error}");
                continue;
            }
            let Err(ImportError::OpenSlo(OpenSloError::Invalid(actual))) = result else {
                panic!("{file}: expected validation problems, got {result:?}");
            };
            assert_eq!(actual, without_known_time_zones(objects), "{file}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "v1.yaml, mix/2.yaml and recursive/1.yaml hold v1 objects");
}

#[test]
fn openslo_v1_slo_with_an_sli_reference_imports_into_a_loadable_config() {
    let text = r#"
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout, displayName: Checkout availability}
spec:
  service: checkout
  indicatorRef: checkout-requests
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.995}]
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: checkout-requests}
spec:
  ratioMetric:
    counter: true
    bad: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests_total{code=~"5.."})'}}}
    total: {metricSource: {type: Prometheus, spec: {query: sum(http_requests_total)}}}
"#;
    let slos = import(text).unwrap();
    assert_eq!(slos[0].objective, 99.5);
    assert_eq!(slos[0].window, "4w");
    let yaml = render_yaml(&slos);
    assert!(yaml.contains(r#"error_query: "sum(increase(http_requests_total{code=~\"5..\"}[{{.window}}]))""#), "{yaml}");
    let config = format!("services: [{{id: checkout}}]\n{yaml}");
    let loaded = staunch_config::parse_config(&config, "imported").unwrap_or_else(|error| panic!("{error}\n{yaml}"));
    assert_eq!(loaded.organisations[0].slos[0].name, "Checkout availability");

    let cases = [
        (
            text.replace("Occurrences", "Timeslices"),
            "SLO checkout: spec.budgetingMethod: \"Timeslices\": staunch evaluates Occurrences only",
        ),
        (
            text.replace("type: Prometheus, spec: {query: sum(", "type: Datadog, spec: {query: sum("),
            "SLI checkout-requests: spec.ratioMetric.total.metricSource.type",
        ),
        (
            text.replace("indicatorRef: checkout-requests", "indicatorRef: nope"),
            "SLO checkout: spec.indicatorRef: no SLI named \"nope\"",
        ),
        (text.replace("target: 0.995", "target: 1.0"), "SLO checkout: spec.objectives[0].target: objective must be"),
        (text.replace("duration: 28d", "duration: soon"), "SLO checkout: spec.timeWindow[0].duration"),
    ];
    for (input, expected) in cases {
        let error = import(&input).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}");
    }
}

#[test]
fn a_sloth_spec_imports_into_a_loadable_config() {
    let spec = r#"
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        disable: true
"#;
    let slos = import(spec).unwrap();
    let yaml = render_yaml(&slos);
    assert!(yaml.contains("sum(increase(http_request_duration_seconds_count{job=\\\"myservice\\\"}[{{.window}}]))"), "{yaml}");
    let config = format!("services: [{{id: myservice}}]\n{yaml}");
    let loaded = staunch_config::parse_config(&config, "imported").unwrap_or_else(|error| panic!("{error}\n{yaml}"));
    let slo = &loaded.organisations[0].slos[0];
    assert_eq!(slo.id, "myservice-requests-availability");
    assert_eq!(slo.objective.percent(), 99.9);
    assert_eq!(slo.labels.get("owner").map(String::as_str), Some("myteam"));

    let raw = "version: prometheus/v1\nservice: svc\nslos:\n  - name: ratio\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: x[{{.window}}]\n    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n";
    let error = import(raw).unwrap_err().to_string();
    assert!(error.starts_with("slos[0].sli.raw: staunch needs event counts"), "{error}");
}
