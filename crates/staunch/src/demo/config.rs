//! The `staunch.yaml` the demo writes: one on-call person paged by webhook, the `chat` service
//! with an SLO fed by pushed events, the symptom rule that names a model provider outage, and
//! the runbook that mitigates it against the demo's chat service.

/// The SLO the load generator feeds and the runbook restores.
pub const SLO_ID: &str = "chat-replies";
/// The objective, in percent: 0.5% of replies may fail.
pub const OBJECTIVE_PERCENT: f64 = 99.5;
pub const RUNBOOK: &str = "provider-outage";
pub const SYMPTOM: &str = "model_provider_outage";
pub const RESPONDER: &str = "sam";

/// What the demo tells the reader about its clock and windows, one line each.
pub fn scaling_explained() -> Vec<String> {
    let speed = super::clock::SPEED;
    vec![
        format!("the server's clock runs {speed}x real time, so the SLO's per-minute windows fill in seconds:"),
        format!(
            "  sev1 pages at 14.4x burn over 1 h and 5 m (the SRE Workbook's) = {} s and {} s of real time",
            3600 / speed,
            300 / speed
        ),
        format!(
            "  sev2 pages at 14.4x burn over 6 h = {} s (Workbook: 6x), with a 5 m short window (Workbook: 30 m) so it clears as fast:",
            21600 / speed
        ),
        "    the demo's history is a minute long, so its 1 h and 6 h windows hold the same replies; at 6x a rising burn"
            .to_string(),
        "    would cross sev2's bar a tick before sev1's and page sev2 first".to_string(),
        "  tickets are off; timeline times and postmortem durations are demo-clock time".to_string(),
    ]
}

pub struct DemoConfig<'a> {
    pub pager_url: &'a str,
    pub webhook_secret: &'a str,
    pub chat_url: &'a str,
    pub events_key: &'a str,
}

pub fn render(config: &DemoConfig<'_>) -> String {
    let DemoConfig { pager_url, webhook_secret, chat_url, events_key } = config;
    format!(
        r#"# Written by `staunch demo`. The demo runs the server with a clock {speed}x faster than real
# time; with this file and `staunch serve` the same windows take real hours.

notifications:
  max_attempts: 3
  initial_backoff: 200ms
  max_backoff: 1s
  timeout: 3s

settings:
  slo_tick: 200ms

users:
  - id: {RESPONDER}
    name: Sam On-Call
    contact_methods:
      - type: webhook
        url: {pager_url}/{RESPONDER}
        secret: "{webhook_secret}"

teams:
  - id: assistant
    name: Assistant
    members: [{RESPONDER}]

schedules:
  - id: assistant-primary
    name: Assistant primary on-call
    time_zone: UTC
    layers:
      - name: weekly rotation
        start: 2024-01-01T09:00
        rotation: weekly
        users: [{RESPONDER}]

escalation_policies:
  - id: assistant
    name: Assistant
    levels:
      - timeout: 30m
        targets:
          - schedule: assistant-primary

services:
  - id: chat
    name: Chat assistant
    team: assistant
    escalation_policy: assistant
    group_by: [alertname]
    auto_resolve: true
    integrations:
      - type: events_v2
        key: "{events_key}"

slos:
  - id: {SLO_ID}
    name: Chat replies succeed
    service: chat
    objective: {OBJECTIVE_PERCENT}
    min_events: 100
    sli: {{push: {{}}}}
    alerting:
      page: {{name: ChatRepliesFailing}}
      ticket: {{disable: true}}
      windows:
        page_slow: {{budget_percent: 12, short: 5m, long: 6h}}

symptoms:
  - name: {SYMPTOM}
    services: [chat]
    alert_names: [ChatRepliesFailing]

runbooks:
  - name: {RUNBOOK}
    description: Route around a failing model provider, then take load off it
    applies_to: {{symptoms: [{SYMPTOM}]}}
    # Healthy means at least 99% of the replies served since the last change succeeded.
    recovery: {{http: {{url: "{chat_url}/health", expect_status: [200]}}}}
    steps:
      - name: fallback provider
        http: {{method: POST, url: "{chat_url}/mitigations/fallback"}}
        reversible: true
        idempotent: true
        undo: {{http: {{method: DELETE, url: "{chat_url}/mitigations/fallback"}}, idempotent: true}}
      - name: cache
        http: {{method: POST, url: "{chat_url}/mitigations/cache"}}
        reversible: true
        idempotent: true
        undo: {{http: {{method: DELETE, url: "{chat_url}/mitigations/cache"}}, idempotent: true}}
      - name: shed load
        http: {{method: POST, url: "{chat_url}/mitigations/shed"}}
        reversible: true
        idempotent: true
        undo: {{http: {{method: DELETE, url: "{chat_url}/mitigations/shed"}}, idempotent: true}}
"#,
        speed = super::clock::SPEED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid_and_names_what_the_demo_relies_on() {
        let text = render(&DemoConfig {
            pager_url: "http://127.0.0.1:1",
            webhook_secret: "secret",
            chat_url: "http://127.0.0.1:2",
            events_key: &"e".repeat(32),
        });
        let config = staunch_config::parse_config(&text, "demo").expect("the demo config is valid");
        let organisation = config.organisation("default").expect("the default organisation");
        assert_eq!(organisation.slos.iter().map(|slo| slo.id.as_str()).collect::<Vec<_>>(), [SLO_ID]);
        assert_eq!(organisation.runbooks.iter().map(|runbook| runbook.name.as_str()).collect::<Vec<_>>(), [RUNBOOK]);
        assert_eq!(organisation.runbooks[0].steps.len(), 3);
        assert_eq!(organisation.symptoms[0].name, SYMPTOM);
    }
}
