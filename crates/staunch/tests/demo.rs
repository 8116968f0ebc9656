//! `staunch demo` end to end: the real binary runs the whole shift and exits 0; its output
//! names every stage in order with the figures it measured, and the regression case it writes
//! passes `staunch cases check` — and fails it once the configuration no longer recognises the
//! outage. A directory that is not empty is refused before anything starts.

use std::path::Path;
use std::process::{Command, Output};

fn staunch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_staunch")).args(args).output().expect("run staunch")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// The progress lines of one stage (`[  1.2s] stage  text`), their text only.
fn stage_lines<'a>(stdout: &'a str, stage: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix('[').and_then(|rest| rest.split_once("] ")).map(|(_, rest)| rest))
        .filter_map(|rest| rest.strip_prefix(stage).filter(|after| after.starts_with(' ')).map(str::trim))
        .collect()
}

/// The measured success rate and sample a line reports ("84.4% of 256 replies succeeded").
fn measured(line: &str) -> (f64, u64) {
    let before = line.split("% of ").next().unwrap_or_default();
    let percent: f64 =
        before.rsplit(' ').next().and_then(|number| number.parse().ok()).unwrap_or_else(|| panic!("no rate in {line}"));
    let after = line.split("% of ").nth(1).unwrap_or_default();
    let sample: u64 =
        after.split(' ').next().and_then(|number| number.parse().ok()).unwrap_or_else(|| panic!("no sample in {line}"));
    (percent, sample)
}

#[test]
fn the_demo_runs_a_whole_shift_and_leaves_a_case_that_checks() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("shift");
    let output = staunch(&["demo", "--dir", dir.to_str().unwrap()]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "the demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    // Every stage reported, in the order of a shift.
    let stages = ["setup", "healthy", "outage", "page", "triage", "acknowledge", "runbook", "resolve", "postmortem", "case"];
    let mut first_lines = Vec::new();
    for stage in stages {
        let position = stdout
            .lines()
            .position(|line| line.starts_with('[') && line.split_once("] ").is_some_and(|(_, rest)| rest.starts_with(stage)))
            .unwrap_or_else(|| panic!("no {stage} line in\n{stdout}"));
        first_lines.push(position);
    }
    assert!(first_lines.windows(2).all(|pair| pair[0] < pair[1]), "stages out of order {first_lines:?}\n{stdout}");
    assert!(stdout.contains("clock runs 60x real time"), "the scaling is explained\n{stdout}");

    // The page really arrived, signed, as sev1; triage named the provider outage.
    let page = stage_lines(&stdout, "page");
    assert!(page[0].starts_with("sev1 page arrived at the webhook receiver: POST /sam incident #1"), "{page:?}");
    assert!(page[0].ends_with("(signature valid)"), "{page:?}");
    assert!(
        stage_lines(&stdout, "triage").iter().any(|line| line.contains("incident.triaged as model_provider_outage")),
        "{stdout}"
    );
    assert!(stage_lines(&stdout, "acknowledge")[0].ends_with("it is acknowledged"), "{stdout}");

    // About 50% → 85% → 95% → 100%, as measured after each step, and the run stopped on recovery.
    let (outage, outage_sample) = measured(page[1]);
    let runbook = stage_lines(&stdout, "runbook");
    let steps: Vec<&&str> = runbook.iter().filter(|line| line.starts_with("step ")).collect();
    assert_eq!(steps.len(), 3, "{runbook:?}");
    for (step, name) in
        steps.iter().zip(["step 1/3 fallback provider: succeeded", "step 2/3 cache: succeeded", "step 3/3 shed load: succeeded"])
    {
        assert!(step.starts_with(name), "{step}");
    }
    let rates: Vec<(f64, u64)> = steps.iter().map(|line| measured(line)).collect();
    println!("measured: outage {outage}% of {outage_sample}, then {rates:?}");
    assert!((30.0..=70.0).contains(&outage), "about half succeed while the provider fails: {outage}");
    assert!((70.0..=95.0).contains(&rates[0].0), "about 85% after the fallback: {:?}", rates[0]);
    assert!((85.0..100.0).contains(&rates[1].0), "about 95% after the cache: {:?}", rates[1]);
    assert_eq!(rates[2].0, 100.0, "every reply succeeds after shedding load");
    assert!(outage < rates[0].0 && rates[0].0 < rates[1].0, "each step helps: {outage} {rates:?}");
    assert!(rates.iter().all(|(_, sample)| *sample >= 100), "each rate is measured over a real sample: {rates:?}");
    assert!(runbook.iter().any(|line| line.starts_with("run #1 stopped: recovered")), "{runbook:?}");

    // It resolved on its own when the SLO alerts resolved; the postmortem and case follow.
    let resolve = stage_lines(&stdout, "resolve");
    assert!(resolve[0].contains("resolved by integration:chat/") && resolve[0].contains("automatically"), "{resolve:?}");
    assert!(stdout.contains("\n# Postmortem: incident #1 "), "{stdout}");
    assert!(stdout.contains("Triage named the symptom model\\_provider\\_outage"), "{stdout}");
    assert!(stdout.contains("**What worked:** Runbook provider-outage recovered the service"), "{stdout}");
    assert!(stdout.contains("pass  incident-1.json") && stdout.contains("1 case(s): 1 passed, 0 failed"), "{stdout}");

    let case_path = dir.join("cases/incident-1.json");
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&case_path).unwrap()).unwrap();
    assert_eq!(case["expected"]["symptom"], "model_provider_outage", "{case}");
    assert_eq!(case["expected"]["severity"], "sev1", "{case}");
    assert_eq!(case["mitigation"]["runbook"], "provider-outage", "{case}");
    assert_eq!(case["mitigation"]["steps"], serde_json::json!(["fallback provider", "cache", "shed load"]), "{case}");

    // The case, checked by the command a person would run, passes against the demo's config...
    let cases = dir.join("cases");
    let config = dir.join("staunch.yaml");
    let check = |config: &Path| staunch(&["cases", "check", cases.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    let passed = check(&config);
    assert!(passed.status.success(), "{}{}", text(&passed.stdout), text(&passed.stderr));
    // ...and fails once the symptom rule no longer recognises the outage's alert.
    let forgetful = root.path().join("forgetful.yaml");
    let original = std::fs::read_to_string(&config).unwrap();
    assert!(original.contains("alert_names: [ChatRepliesFailing]"));
    std::fs::write(&forgetful, original.replace("alert_names: [ChatRepliesFailing]", "alert_names: [SomethingElse]")).unwrap();
    let failed = check(&forgetful);
    assert!(!failed.status.success(), "{}", text(&failed.stdout));
    assert!(text(&failed.stdout).contains("FAIL  incident-1.json"), "{}", text(&failed.stdout));
}

#[test]
fn a_directory_with_files_in_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("staunch.yaml"), "users: []\n").unwrap();
    let output = staunch(&["demo", "--dir", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--dir:") && stderr.contains("is not empty"), "{stderr}");
}
