//! The example configuration `staunch init` writes: commented, and working as it stands.

/// Renders the example with freshly generated secrets.
pub fn example_config(alertmanager_key: &str, events_key: &str, webhook_secret: &str) -> String {
    TEMPLATE
        .replace("{{ALERTMANAGER_KEY}}", alertmanager_key)
        .replace("{{EVENTS_KEY}}", events_key)
        .replace("{{WEBHOOK_SECRET}}", webhook_secret)
}

const TEMPLATE: &str = r#"# Staunch configuration, written by `staunch init`.
#
# Everything here is read at start; restart `staunch serve` after editing.
# Durations: 30s, 5m, 1h30m, 2d. Times: RFC 3339 instants; schedule layers use local times.

# Outgoing email (optional). Uncomment, then add `type: email` contact methods below.
# smtp:
#   host: 127.0.0.1
#   port: 1025
#   tls: none            # none (local relay) | starttls | tls
#   from: "Staunch <staunch@localhost>"
#   # username: staunch
#   # password: change-me

# How pages are retried when a channel fails. A page that runs out of attempts is
# marked failed on the incident's timeline; nothing is dropped silently.
notifications:
  max_attempts: 10
  initial_backoff: 1s
  max_backoff: 5m
  timeout: 10s

# Log lines, trace spans and metric points pushed to /api/v1/telemetry/{logs,spans,metrics}
# (with a responder API token) feed live investigations. They are disposable: kept this long,
# then pruned, and never exported. Between 1h and 90d.
# telemetry:
#   retention: 7d
#   rate_limit: {per_second: 2000, burst: 20000}   # items per organisation; beyond it 429
#   # Series pulled from Prometheus for the same window around each incident's onset, never
#   # at or after the time investigated. Down or slow, the investigation goes on without them.
#   prometheus:
#     url: http://127.0.0.1:9090
#     step: 60s                      # query_range resolution, 1s to 5m
#     timeout: 5s                    # per query, 100ms to 30s
#     # organisations: [default]     # whose investigations read it (default: top level only)
#     # Behind a proxy or hosted (Grafana Cloud, Thanos, Mimir): at most one of bearer_token_file
#     # (or an inline bearer_token) and basic_auth; files are read once at start, trimmed.
#     # bearer_token_file: /etc/staunch/prometheus-token
#     # basic_auth: {username: staunch, password_file: /etc/staunch/prometheus-password}
#     # headers: {X-Scope-OrgID: team-a}   # sent with every query
#     metrics:
#       # The name decides what a series is evidence of: `…latency…` (a symptom) or
#       # `cpuusagerate…`/`memoryusagerate…` (the service's own resources).
#       - name: latency_p99
#         query: 'histogram_quantile(0.99, sum by (service, le) (rate(http_server_duration_seconds_bucket[5m])))'
#         service_label: service     # the label naming the Staunch service (default)
#         # pod_label: pod           # when series are per pod

# People, and how to reach them. Every contact method of a paged user is used.
users:
  - id: alice
    name: Alice Example
    contact_methods:
      # JSON POST with an `X-Staunch-Signature: t=...,v1=<HMAC-SHA256>` header and an
      # `Idempotency-Key`. `staunch webhook-receiver --secret ...` prints what arrives.
      - type: webhook
        url: http://127.0.0.1:9000/alice
        secret: "{{WEBHOOK_SECRET}}"
      # - type: email
      #   address: alice@example.com
      # - type: slack
      #   webhook_url: https://hooks.slack.com/services/T000/B000/XXXX
  - id: bob
    name: Bob Example
    contact_methods:
      - type: webhook
        url: http://127.0.0.1:9000/bob
        secret: "{{WEBHOOK_SECRET}}"

# Teams own services; the API and CLI show who owns what.
teams:
  - id: payments
    name: Payments
    members: [alice, bob]

# Who is on call when. Layers are rotations; a later layer wins where it has someone.
schedules:
  - id: primary
    name: Primary on-call
    time_zone: Europe/Berlin         # handoffs keep their wall-clock time across DST
    layers:
      - name: weekly rotation
        start: 2026-01-05T09:00      # first handoff, local time
        rotation: weekly             # daily | weekly | {days: N} | {weeks: N} | {hours: N}
        users: [alice, bob]
        # restrictions:              # only cover business hours; other layers show through
        #   - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
    # overrides:
    #   - {user: bob, start: "2026-12-24T00:00:00+01:00", end: "2026-12-27T00:00:00+01:00"}

# Who gets paged, in what order, until someone acknowledges.
escalation_policies:
  - id: default
    name: Default
    repeat: 1                        # run the whole policy once more if nobody acknowledges
    levels:
      - timeout: 5m
        targets:
          - schedule: primary
      - timeout: 10m
        targets:
          - user: alice
          - user: bob

# What can break. Alerts arrive through a service's integration keys.
services:
  - id: checkout
    name: Checkout API
    team: payments
    escalation_policy: default
    # One open incident per alertname. An alert without any of these labels (a PagerDuty
    # event) is an incident of its own, keyed by its dedup_key. [] = one per service.
    group_by: [alertname]
    auto_resolve: true               # resolve the incident when all its alerts resolve
    # Every new alert is scored with the probability it is noise, learnt from which past
    # alerts people acted on. `ticket` opens likely noise as a ticket (pages nobody) once 50
    # alerts of each kind of outcome are on record; `auto` keeps 99% of actionable alerts paging.
    # noise: {action: ticket, threshold: auto}   # default: {action: page} (score only)
    integrations:
      # Alertmanager: webhook_configs url http://HOST:8080/integrations/alertmanager/<key>
      - type: alertmanager
        key: "{{ALERTMANAGER_KEY}}"
      # PagerDuty Events API v2: POST http://HOST:8080/v2/enqueue with routing_key <key>
      - type: events_v2
        key: "{{EVENTS_KEY}}"
        # rate_limit: {per_second: 100, burst: 1000}   # alert events; beyond it senders get 429
    # Routes send some alerts on to other services (Alertmanager's matching semantics).
    # routes:
    #   - matchers: ['team="database"']
    #     service: database

# An OpenAI-compatible language model (optional, off unless providers are named): it only
# summarises investigations and re-ranks their top candidates; every prompt and answer is kept
# for audit. Providers are tried in order. The key is read from the named environment
# variable; never put it in this file.
# llm:
#   timeout: 20s
#   providers:
#     - name: primary
#       base_url: https://llm.example.internal/v1
#       model: small-model
#       api_key_env: STAUNCH_LLM_KEY
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_noise_and_llm_settings_are_valid_once_uncommented() {
        let text = example_config("a".repeat(32).as_str(), "b".repeat(32).as_str(), "secret")
            .replace("    # noise: {action: ticket", "    noise: {action: ticket");
        let (before, llm) = text.split_once("# llm:").expect("the llm example");
        let text = format!("{before}llm:{}", llm.replace("#   ", "  "));
        let config = crate::parse_config(&text, "example").expect("uncommented example is valid");
        let noise = config.organisations[0].noise.for_service("checkout");
        assert_eq!(noise.action, crate::noise::NoiseAction::Ticket);
        assert_eq!(config.llm.providers.len(), 1);
        assert_eq!(config.llm.providers[0].api_key_env.as_deref(), Some("STAUNCH_LLM_KEY"));
    }

    #[test]
    fn the_commented_telemetry_settings_are_valid_once_uncommented() {
        let text = example_config("a".repeat(32).as_str(), "b".repeat(32).as_str(), "secret");
        let (before, rest) = text.split_once("# telemetry:\n").expect("the telemetry example");
        let (block, after) = rest.split_once("\n\n").expect("a blank line after it");
        let block: Vec<&str> = block.lines().map(|line| line.strip_prefix("# ").unwrap_or(line)).collect();
        let text = format!("{before}telemetry:\n{}\n\n{after}", block.join("\n"));
        let config = crate::parse_config(&text, "example").expect("uncommented example is valid");
        let prometheus = config.telemetry.prometheus.expect("prometheus");
        assert_eq!((prometheus.base_url(), prometheus.step.to_string()), ("http://127.0.0.1:9090", "1m".to_string()));
        assert_eq!(prometheus.metrics[0].name, "latency_p99");
        assert_eq!(prometheus.metrics[0].service_label, "service");
        assert_eq!(prometheus.organisation_slugs(), vec!["default"]);
    }

    #[test]
    fn example_is_a_valid_config() {
        let text = example_config("a".repeat(32).as_str(), "b".repeat(32).as_str(), "secret");
        let config = crate::parse_config(&text, "example").expect("example config is valid");
        assert_eq!(config.default_directory().services.len(), 1);
        assert_eq!(config.default_directory().teams["payments"].members, vec!["alice".to_string(), "bob".to_string()]);
        assert_eq!(config.default_directory().services["checkout"].team_id.as_deref(), Some("payments"));
        assert_eq!(config.default_directory().integrations_by_key_sha256.len(), 2);
        assert_eq!(config.default_directory().schedules["primary"].layers.len(), 1);
    }
}
