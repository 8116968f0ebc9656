//! `runbooks:`, `symptoms:` and `settings.runbook_commands` in staunch.yaml: what loads, and
//! every mistake named by its field.

use staunch_config::parse_config;

const BASE: &str = r#"
settings:
  runbook_commands: [/usr/bin/systemctl]
services:
  - id: chat
slos:
  - id: chat-availability
    service: chat
    objective: 99
    sli: {push: {}}
symptoms:
  - name: model_provider_outage
    services: [chat]
    matchers: ['provider=~".+"']
runbooks:
  - name: provider-fallback
    applies_to:
      symptoms: [model_provider_outage]
    approval: none
    recovery: {slo: chat-availability}
    steps:
      - name: switch to the fallback provider
        http:
          method: POST
          url: http://127.0.0.1:9/flags/fallback?incident={{incident.id}}
          body: {reason: "{{incident.title}}"}
          expect_status: [200]
        reversible: true
        undo:
          http: {method: DELETE, url: http://127.0.0.1:9/flags/fallback}
        idempotent: true
      - wait: 30s
      - command: {argv: [/usr/bin/systemctl, restart, "{{alert.labels.unit}}"]}
        timeout: 10s
      - check: {slo: chat-availability}
      - manual: tell the provider
"#;

#[test]
fn runbooks_and_symptoms_load_per_organisation() {
    let config = parse_config(BASE, "staunch.yaml").expect("valid");
    let organisation = &config.organisations[0];
    assert_eq!(organisation.runbooks.len(), 1);
    let runbook = &organisation.runbooks[0];
    assert_eq!(runbook.steps.len(), 5);
    assert!(runbook.steps[2].needs_approval(), "an irreversible command waits for approval");
    assert!(!runbook.steps[0].needs_approval());
    assert_eq!(organisation.symptoms[0].name, "model_provider_outage");
    assert_eq!(config.settings.runbook_commands, ["/usr/bin/systemctl"]);
}

#[test]
fn mistakes_name_their_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[/usr/bin/systemctl, restart",
            "[/bin/sh, -c",
            "runbooks[0].steps[2].argv[0]: /bin/sh is not in settings.runbook_commands",
        ),
        (
            "runbook_commands: [/usr/bin/systemctl]",
            "runbook_commands: [systemctl]",
            "settings.runbook_commands[0]: \"systemctl\" must be an absolute path",
        ),
        (
            "{{incident.id}}",
            "{{incident.number}}",
            "runbooks[0].steps[0].http.url: unknown template variable \"incident.number\"",
        ),
        ("check: {slo: chat-availability}", "check: {slo: nope}", "runbooks[0].steps[3].check.slo: unknown slo \"nope\""),
        ("matchers: ['provider=~\".+\"']", "matchers: ['provider=~\"(\"']", "symptoms[0].matchers[0]: "),
        ("approval: none", "approval: later", "runbooks[0].approval: \"later\" must be required or none"),
    ];
    for (from, to, expected) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let error = parse_config(&text, "staunch.yaml").expect_err(to).to_string();
        assert!(error.contains(expected), "wanted {expected}\ngot {error}");
    }
}

#[test]
fn another_organisations_mistakes_carry_its_prefix() {
    let text = format!(
        "{BASE}organisations:\n  - id: globex\n    services: [{{id: chat}}]\n    runbooks:\n      - name: r\n        steps: [{{command: {{argv: [/bin/rm, -rf, /]}}}}]\n"
    );
    let error = parse_config(&text, "staunch.yaml").expect_err("refused").to_string();
    assert!(
        error.contains("organisations.globex.runbooks[0].steps[0].argv[0]: /bin/rm is not in settings.runbook_commands"),
        "{error}"
    );
}
