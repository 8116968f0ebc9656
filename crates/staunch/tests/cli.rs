//! The command line as a person uses it: the binary's own subcommands against a running
//! server, and the offline ones (routes test, check-config).

mod support;

use std::process::Command;
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET, config, shared_data, staunch_binary};

fn staunch(app: &App, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(staunch_binary())
        .args(args)
        .env("STAUNCH_URL", &app.base_url)
        .current_dir(&app.dir)
        .output()
        .expect("run staunch");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test]
async fn incidents_ack_show_and_oncall_from_the_cli() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let schedule = "schedules:\n  - id: primary\n    time_zone: Europe/Berlin\n    layers:\n      - name: daily\n        start: 2026-01-01T09:00\n        rotation: daily\n        users: [alice, bob]\n";
    let app = App::spawn(&config(&receiver.url, "1h", "", schedule)).await;
    app.trigger("cli", "Disk almost full").await;
    receiver.wait_for_pages("/alice", 1, Duration::from_secs(15)).await;

    let (ok, stdout, stderr) = staunch(&app, &["incidents"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID  STATE      SEV   SERVICE"), "{stdout}");
    assert!(lines[1].starts_with("1   triggered  sev1  checkout") && lines[1].ends_with("Disk almost full"), "{stdout}");

    let (ok, stdout, stderr) = staunch(&app, &["ack", "1"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "incident #1 is acknowledged (sev1)");
    let (ok, _, stderr) = staunch(&app, &["ack", "1"]);
    assert!(!ok);
    assert!(stderr.contains("server answered 409: incident is already acknowledged"), "{stderr}");

    let (ok, stdout, _) = staunch(&app, &["show", "1", "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["incident"]["state"], "acknowledged");
    let kinds: Vec<&str> = shown["timeline"].as_array().unwrap().iter().map(|entry| entry["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"incident.acknowledged"), "{kinds:?}");

    // The acknowledgement is in the audit log, under the admin token that made it.
    let (ok, stdout, stderr) = staunch(&app, &["audit"]);
    assert!(ok, "{stderr}");
    let newest = stdout.lines().nth(1).unwrap_or_default();
    assert!(
        newest.contains("token:admin") && newest.contains("incident.acknowledge") && newest.contains("incident/1"),
        "{stdout}"
    );

    // 2026-03-29 is the spring-forward day in Berlin: the 09:00 handoff is at 07:00 UTC.
    let (ok, stdout, _) = staunch(&app, &["oncall", "--schedule", "primary", "--at", "2026-03-29T06:59:00Z", "--json"]);
    assert!(ok);
    let before: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (ok, stdout, _) = staunch(&app, &["oncall", "--schedule", "primary", "--at", "2026-03-29T07:00:00Z", "--json"]);
    assert!(ok);
    let after: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_ne!(before["oncall"][0]["on_call"][0]["id"], after["oncall"][0]["on_call"][0]["id"], "handoff at 09:00 local");
    let (ok, stdout, _) = staunch(&app, &["oncall"]);
    assert!(ok);
    assert!(stdout.starts_with("SCHEDULE  ON CALL"), "{stdout}");

    let (ok, stdout, stderr) = staunch(&app, &["severity", "1", "sev2"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "incident #1 is acknowledged (sev2)");
    let (ok, stdout, stderr) = staunch(&app, &["reassign", "1", "bob"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "incident #1 is acknowledged (sev2, assigned to bob)");
    let bob = receiver.wait_for_pages("/bob", 1, Duration::from_secs(15)).await;
    assert_eq!(bob[0].event, "incident.reassigned");

    let (ok, stdout, stderr) =
        staunch(&app, &["silence", "add", "{env=\"staging\"}", "--duration", "2h", "--comment", "load test"]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("silence 1 until "), "{stdout}");
    let (ok, stdout, _) = staunch(&app, &["silence", "list"]);
    assert!(ok);
    assert!(
        stdout.lines().nth(1).is_some_and(|line| line.contains("{env=\"staging\"}") && line.ends_with("load test")),
        "{stdout}"
    );
    let (ok, stdout, _) = staunch(&app, &["silence", "expire", "1"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "silence 1 expired");

    let (ok, stdout, stderr) = staunch(&app, &["resolve", "1"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "incident #1 is resolved (sev2, assigned to bob)");
    let (ok, stdout, _) = staunch(&app, &["incidents"]);
    assert!(ok);
    assert_eq!(stdout, "no incidents\n");
}

#[test]
fn routes_test_prints_what_amtool_prints() {
    let Some(directory) = shared_data("alertmanager/routing") else { return };
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(directory.join("expected_receivers.json")).unwrap()).unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let config_path = directory.join(case["config"].as_str().unwrap());
        let labels: Vec<String> = case["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={}", value.as_str().unwrap()))
            .collect();
        let output = Command::new(staunch_binary())
            .args(["routes", "test", "--alertmanager-config"])
            .arg(&config_path)
            .args(&labels)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let receivers: Vec<&str> =
            case["expected_receivers"].as_array().unwrap().iter().map(|value| value.as_str().unwrap()).collect();
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), receivers.join(","), "{case}");
    }
}

#[test]
fn check_config_names_every_problem() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("staunch.yaml");
    std::fs::write(
        &path,
        "users:\n  - id: alice\n    contact_methods:\n      - type: webhook\n        url: ftp://nope\n\
         escalation_policies:\n  - id: p\n    levels:\n      - timeout: 5m\n        targets: [{user: ghost}]\n\
         services:\n  - id: s\n    escalation_policy: missing\n    integrations:\n      - type: smoke-signals\n        key: 0123456789abcdef0123\n",
    )
    .unwrap();
    let output = Command::new(staunch_binary()).args(["check-config", "--config"]).arg(&path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "users.alice.contact_methods[0].url: \"ftp://nope\" must start with http:// or https://",
        "escalation policy p: level 1 names unknown user \"ghost\"",
        "services.s.escalation_policy: unknown escalation policy \"missing\"",
        "services.s.integrations[0].type: unknown type \"smoke-signals\"",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in {stderr}");
    }
    let output = Command::new(staunch_binary()).args(["init", "--config"]).arg(&path).output().unwrap();
    assert!(!output.status.success(), "init refuses to overwrite");
    let output = Command::new(staunch_binary()).args(["init", "--force", "--config"]).arg(&path).output().unwrap();
    assert!(output.status.success());
    let output = Command::new(staunch_binary()).args(["check-config", "--config"]).arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn slo_rules_writes_sloth_style_rules_and_names_bad_fields() {
    let directory = tempfile::tempdir().unwrap();
    let spec_path = directory.path().join("slos.yaml");
    let spec = |objective: &str| {
        format!(
            "version: prometheus/v1\nservice: checkout\nslos:\n  - name: requests\n    objective: {objective}\n    sli:\n      events:\n        \
             error_query: sum(rate(http_requests_total{{code=~\"5..\"}}[{{{{.window}}}}]))\n        \
             total_query: sum(rate(http_requests_total[{{{{.window}}}}]))\n    alerting:\n      name: CheckoutErrors\n"
        )
    };
    std::fs::write(&spec_path, spec("99.5")).unwrap();
    let output = Command::new(staunch_binary())
        .args(["slo", "rules", "--extra-labels", "team=core", "--default-slo-period", "28d"])
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "- name: sloth-slo-sli-recordings-checkout-requests",
        "record: slo:sli_error:ratio_rate4w",
        "sum(rate(http_requests_total[1h]))",
        "team: core",
        "expr: vector(28)",
        "alert: CheckoutErrors",
        "sloth_severity: ticket",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }

    std::fs::write(&spec_path, spec("100")).unwrap();
    let output = Command::new(staunch_binary()).args(["slo", "rules"]).arg(&spec_path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("slos[0].objective: objective must be a number strictly between 0 and 100, got 100"), "{stderr}");
}

/// `serve --cpus` holds every thread of the server to the CPUs named, and a bad list is
/// refused before anything starts, naming the flag.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_runs_on_the_cpus_it_is_given() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn_with(&config(&receiver.url, "1m", "", ""), &["--cpus", "0"]).await;
    let pid = app.pid().expect("running");
    let threads: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert!(threads.len() > 2, "the runtime's workers and the SQLite connections' threads: {threads:?}");
    for thread in threads {
        let status = std::fs::read_to_string(thread.join("status")).unwrap();
        let allowed = status.lines().find_map(|line| line.strip_prefix("Cpus_allowed_list:")).unwrap().trim().to_string();
        assert_eq!(allowed, "0", "{}", thread.display());
    }
    app.trigger("pinned", "Checkout is failing").await;
    receiver.wait_for_pages("/alice", 1, Duration::from_secs(15)).await;

    let output = Command::new(staunch_binary()).args(["serve", "--cpus", "3-1"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--cpus") && stderr.contains("ends before it starts"), "{stderr}");
}
