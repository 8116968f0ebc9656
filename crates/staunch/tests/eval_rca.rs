//! `staunch eval rca nezha` through the real binary: bad input is a clear error, and `--json`
//! prints exactly one JSON object with the figures on stdout (the progress bar goes to stderr).

mod support;

use std::process::Command;
use support::{shared_data, staunch_binary};

#[test]
fn a_directory_without_fault_lists_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(staunch_binary()).args(["eval", "rca", "nezha", "--json"]).arg(empty.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing on stdout on failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no fault list") && stderr.contains(&*empty.path().to_string_lossy()), "{stderr}");
}

#[test]
fn json_output_is_one_object_with_the_figures_per_system() {
    let Some(directory) = shared_data("nezha-rca") else { return };
    let output = Command::new(staunch_binary()).args(["eval", "rca", "nezha", "--json"]).arg(&directory).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let document: serde_json::Value = serde_json::from_str(stdout.trim()).expect("stdout is one JSON document");
    let systems = document["systems"].as_object().expect("a systems object");
    assert_eq!(document.as_object().unwrap().len(), 1);
    assert_eq!(systems.keys().collect::<Vec<_>>(), ["online-boutique", "train-ticket"]);
    for (system, figures) in systems {
        assert!(figures["cases"].as_u64().unwrap() > 0, "{system}");
        let share = |key: &str| figures[key].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&share("as1")) && share("as1") <= share("as3") && share("as3") <= share("as5"),
            "{system}: {figures}"
        );
        assert!(share("as1") <= share("avg5") && share("avg5") <= share("as5"), "{system}: {figures}");
        assert!((0.0..=1.0).contains(&share("brier")), "{system}: {figures}");
        assert!(figures["abstained"].as_u64().unwrap() <= figures["cases"].as_u64().unwrap(), "{system}: {figures}");
        assert!(share("latency_ms_p50") >= 0.0 && share("latency_ms_p50") <= share("latency_ms_p99"), "{system}: {figures}");
    }
}
