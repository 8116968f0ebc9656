//! Prometheus' own checker (`promtool check rules`, Debian package `prometheus`) accepts
//! every rule file `staunch slo rules` writes for Sloth's plugin-free examples and
//! integration inputs, with every flag combination Sloth's tests use. Skipped with a message
//! when promtool or the shared fixtures are absent, unless `STAUNCH_REQUIRE_TOOLS=1`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use staunch_config::sloth::{LabelMap, RulesOptions, generate_rules};
use staunch_domain::duration::HumanDuration;
use support::fixtures_dir;

const PROMTOOL: &str = "/usr/bin/promtool";

fn promtool() -> Option<PathBuf> {
    if Path::new(PROMTOOL).exists() {
        return Some(PathBuf::from(PROMTOOL));
    }
    if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{PROMTOOL} is missing: install the Debian package prometheus");
    }
    println!("skipped: {PROMTOOL} not found (Debian package prometheus)");
    None
}

/// Rule files for promtool: a `PrometheusRule` object's `spec` is itself a rule file.
fn rule_files(generated: &str) -> Vec<String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(generated).expect("generated YAML parses");
    documents
        .into_iter()
        .filter(|document| !document.is_null())
        .map(|document| {
            let rules = if document.get("kind").and_then(Value::as_str) == Some("PrometheusRule") {
                document["spec"].clone()
            } else {
                document
            };
            // JSON is YAML, and promtool reads it as such.
            serde_json::to_string_pretty(&rules).unwrap()
        })
        .collect()
}

fn plugin_free_specs(root: &Path) -> Vec<PathBuf> {
    let mut specs = Vec::new();
    for directory in ["examples", "test/integration/prometheus/testdata"] {
        for entry in std::fs::read_dir(root.join(directory)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let is_spec = path.is_file() && (name.ends_with(".yml") || name.ends_with(".yaml"));
            let text = if is_spec { std::fs::read_to_string(&path).unwrap() } else { continue };
            if name.contains("invalid") || text.to_lowercase().contains("plugin") {
                continue;
            }
            specs.push(path);
        }
    }
    specs.sort();
    specs
}

#[test]
fn promtool_accepts_every_generated_rule_file() {
    let Some(root) = fixtures_dir() else { return };
    let Some(promtool) = promtool() else { return };
    let variants: Vec<(&str, RulesOptions)> = vec![
        ("default", RulesOptions::default()),
        ("28d", RulesOptions { default_period: HumanDuration::parse("28d").unwrap(), ..RulesOptions::default() }),
        ("7d", RulesOptions { default_period: HumanDuration::parse("7d").unwrap(), ..RulesOptions::default() }),
        ("no alerts", RulesOptions { disable_alerts: true, ..RulesOptions::default() }),
        ("no recordings", RulesOptions { disable_recordings: true, ..RulesOptions::default() }),
        (
            "extra labels",
            RulesOptions { extra_labels: LabelMap::from([("exk1".into(), "exv1".into())]), ..RulesOptions::default() },
        ),
    ];
    let directory = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for spec_path in plugin_free_specs(&root) {
        let spec = std::fs::read_to_string(&spec_path).unwrap();
        for (variant, options) in &variants {
            let label = format!("{} ({variant})", spec_path.display());
            let generated = match generate_rules(&spec, options) {
                Ok(generated) => generated,
                // Only "everything disabled" may produce nothing (a spec whose alerts are all off).
                Err(error) if error.to_string().contains("no rules left") && *variant == "no recordings" => continue,
                Err(error) => panic!("{label}: {error}"),
            };
            for (index, rule_file) in rule_files(&generated).into_iter().enumerate() {
                let path = directory.path().join(format!("rules-{checked}-{index}.yml"));
                std::fs::write(&path, &rule_file).unwrap();
                let output = Command::new(&promtool).args(["check", "rules"]).arg(&path).output().expect("run promtool");
                assert!(
                    output.status.success(),
                    "{label}: promtool refused the rules:\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            checked += 1;
        }
    }
    println!("promtool accepted {checked} generated outputs");
    assert!(checked >= 40, "only {checked} outputs checked");
}
