//! Grafana Alerting's webhook: the body Grafana's webhook contact point and its Grafana OnCall
//! contact point POST (payload `version` "1"), parsed into normalized [`AlertEvent`]s plus the
//! group context. The shape is Alertmanager's webhook (Grafana Alerting runs an embedded
//! Alertmanager) with Grafana's additions: top-level `orgId`, `title`, `state` and `message`,
//! per-alert `silenceURL`, `dashboardURL`, `panelURL`, `values`, `valueString`, `imageURL`, ...
//!
//! Alerts mean what they mean in Alertmanager's webhook and are read by the same rules (the
//! helpers in the "shared with alertmanager" section below): status gives the action, the
//! fingerprint (or, when absent, the one Alertmanager would compute) the dedup key, annotation
//! `summary`, then `description`, then label `alertname` the summary, label `severity` the
//! severity. Grafana's additions go where they are useful: `generatorURL` (the alert rule),
//! `dashboardURL`, `panelURL` and `silenceURL` become links; `imageURL` an image (linking to
//! the panel); `values`, `valueString`, `ruleUID`, `orgId` and `enrichments` the details.
//! `embeddedImage` (a base64 screenshot) is dropped: it can be large, and `imageURL` says the same.
//!
//! Leniency, because Grafana grew this payload over many releases without bumping its version
//! (by grafana/alerting's history: top-level `orgId` in late 2021, `imageURL` in 2022, `values`
//! late 2022, `enrichments` 2025, `ruleUID` 2026; the OnCall contact point, added in 2023, sends
//! the same body):
//! - required are only the fields every Grafana since 8.0 sends and Staunch cannot do without:
//!   `version`, `status` and `alerts`; per alert `status`, `labels` and `startsAt`;
//! - everything else is optional but, when present, must have its type;
//! - keys Staunch does not know are ignored, not rejected (unlike the Alertmanager and PagerDuty
//!   parsers), so the next Grafana release does not stop paging;
//! - `null` maps count as empty (Go's nil maps).
//!
//! A misdirected body still fails loudly: the version must be "1", and a legacy (pre-unified,
//! removed in Grafana 11) alerting webhook, recognized by `ruleName`/`evalMatches`, is named
//! as such. A webhook contact point with a custom payload template sends whatever its template
//! says and is rejected like any other unknown body.

use crate::alert::{AlertEvent, AlertImage, AlertLink, SourceFormat};
use crate::ingest::alertmanager::{
    AlertmanagerStatus, TimeField, dedup_key_of, ingest_error, read_status, read_time, summary_of,
};
use crate::ingest::error::IngestError;
use crate::ingest::walk::{Field, JsonObject, Problems, index_path, quoted_excerpt};
use crate::labels::Labels;
use crate::severity::Severity;
use serde_json::{Map, Value};

/// The payload version of Grafana Alerting's webhook (`webhookMessage.Version`).
pub const SUPPORTED_VERSION: &str = "1";

/// One webhook POST: a notification for one Grafana alert group.
#[derive(Debug, Clone, PartialEq)]
pub struct GrafanaWebhook {
    pub receiver: Option<String>,
    pub status: AlertmanagerStatus,
    /// Grafana's `state`: "alerting" or "ok" (kept as sent).
    pub state: Option<String>,
    /// The group's rendered title and message (the contact point's templates).
    pub title: Option<String>,
    pub message: Option<String>,
    pub org_id: Option<u64>,
    pub group_key: Option<String>,
    /// How many alerts of the group were left out because of the contact point's `maxAlerts`.
    pub truncated_alerts: u64,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    pub external_url: Option<String>,
    pub alerts: Vec<AlertEvent>,
}

/// Parses a Grafana Alerting webhook body. Every bad field is reported, by JSON path.
pub fn parse_webhook(body: &[u8]) -> Result<GrafanaWebhook, IngestError> {
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(error) => return Err(IngestError::single("body", format!("invalid json: {error}"))),
    };
    if is_legacy_alerting_webhook(&document) {
        return Err(IngestError::single(
            "body",
            "this is a legacy grafana alerting webhook (ruleName, evalMatches), which staunch does not read; \
             use a grafana alerting (unified alerting) webhook or grafana oncall contact point",
        ));
    }
    let mut problems = Problems::default();
    let webhook = read_webhook(document, &mut problems);
    match webhook {
        Some(webhook) if problems.is_empty() => Ok(webhook),
        _ => Err(to_ingest_error(problems)),
    }
}

/// Grafana before unified alerting posted `{"ruleName", "ruleId", "state", "evalMatches", ...}`
/// and no `alerts`.
fn is_legacy_alerting_webhook(document: &Value) -> bool {
    let Value::Object(fields) = document else {
        return false;
    };
    !fields.contains_key("alerts") && (fields.contains_key("ruleName") || fields.contains_key("evalMatches"))
}

fn read_webhook(document: Value, problems: &mut Problems) -> Option<GrafanaWebhook> {
    let mut root = JsonObject::from_value(document, String::new(), problems)?;

    let version = root.string("version", problems).required("version", problems);
    if let Some(version) = &version
        && version != SUPPORTED_VERSION
    {
        let hint = if version == crate::ingest::alertmanager::SUPPORTED_VERSION {
            ": version 4 is alertmanager's webhook, which alertmanager integrations accept"
        } else {
            ""
        };
        problems.invalid(
            "version",
            format!("unsupported version {}, only \"{SUPPORTED_VERSION}\" is supported{hint}", quoted_excerpt(version)),
        );
    }
    let receiver = root.string("receiver", problems).optional();
    let status = read_status(&mut root, problems);
    let state = root.string("state", problems).optional();
    let title = root.string("title", problems).optional();
    let message = root.string("message", problems).optional();
    let org_id = root.unsigned_integer("orgId", problems).optional();
    let group_key = root.string("groupKey", problems).optional();
    let truncated_alerts = root.unsigned_integer("truncatedAlerts", problems).optional().unwrap_or(0);
    let group_labels = root.string_map("groupLabels", problems).optional().unwrap_or_default();
    let common_labels = root.string_map("commonLabels", problems).optional().unwrap_or_default();
    let common_annotations = root.string_map("commonAnnotations", problems).optional().unwrap_or_default();
    let external_url = root.string("externalURL", problems).optional();
    let alert_values = root.array("alerts", problems).required("alerts", problems);
    // The rest (appVersion, and whatever later Grafanas add) is ignored on purpose.

    let mut alerts = Vec::new();
    for (index, value) in alert_values.unwrap_or_default().into_iter().enumerate() {
        if let Some(alert) = read_alert(value, index_path("alerts", index), problems) {
            alerts.push(alert);
        }
    }

    Some(GrafanaWebhook {
        receiver,
        status: status?,
        state,
        title,
        message,
        org_id,
        group_key,
        truncated_alerts,
        group_labels,
        common_labels,
        common_annotations,
        external_url,
        alerts,
    })
}

fn read_alert(value: Value, path: String, problems: &mut Problems) -> Option<AlertEvent> {
    let mut alert = JsonObject::from_value(value, path, problems)?;
    let status = read_status(&mut alert, problems);
    let labels = alert.string_map("labels", problems).required(&alert.field_path("labels"), problems);
    let annotations = alert.string_map("annotations", problems).optional().unwrap_or_default();
    let starts_at = read_time(&mut alert, "startsAt", TimeField::Required, problems);
    let ends_at = read_time(&mut alert, "endsAt", TimeField::Optional, problems);
    let fingerprint = alert.non_blank_string("fingerprint", problems).optional();
    let fingerprint_path = alert.field_path("fingerprint");
    let generator_url = alert.non_blank_string("generatorURL", problems).optional();
    let dashboard_url = alert.non_blank_string("dashboardURL", problems).optional();
    let panel_url = alert.non_blank_string("panelURL", problems).optional();
    let silence_url = alert.non_blank_string("silenceURL", problems).optional();
    let image_url = alert.non_blank_string("imageURL", problems).optional();
    let details = read_grafana_details(&mut alert, problems);
    // Dropped on purpose: a base64 screenshot, which `imageURL` links to when Grafana stores one.
    let _ = alert.take("embeddedImage");

    let labels = labels?;
    let dedup_key = dedup_key_of(fingerprint, &labels, &fingerprint_path, problems)?;
    let summary = summary_of(&labels, &annotations, dedup_key.as_str());
    let severity = Severity::from_label(labels.get("severity").map(String::as_str));

    let mut links = Vec::new();
    let named_links =
        [(generator_url, "Alert rule"), (dashboard_url, "Dashboard"), (panel_url.clone(), "Panel"), (silence_url, "Silence")];
    for (href, text) in named_links {
        if let Some(href) = href {
            links.push(AlertLink { href, text: Some(text.to_string()) });
        }
    }
    let images = match image_url {
        Some(src) => vec![AlertImage { src, href: panel_url, alt: None }],
        None => Vec::new(),
    };

    Some(AlertEvent {
        action: status?.to_action(),
        dedup_key,
        summary,
        severity,
        labels,
        annotations,
        details: details?,
        links,
        images,
        starts_at: starts_at?,
        ends_at: ends_at?,
        format: SourceFormat::Grafana,
    })
}

/// Grafana's per-alert extras worth keeping, as one JSON object under their Grafana names;
/// `Null` when none was sent. `None` when one had the wrong type (recorded).
fn read_grafana_details(alert: &mut JsonObject, problems: &mut Problems) -> Option<Value> {
    let mut details = Map::new();
    let mut any_bad = false;
    // `values` maps query names to numbers; kept as sent once it is an object.
    if let Some(values) = alert.take("values") {
        match values {
            Value::Object(_) => {
                details.insert("values".to_string(), values);
            }
            _ => {
                problems.wrong_type(alert.field_path("values"), "an object");
                any_bad = true;
            }
        }
    }
    let value_string = alert.string("valueString", problems);
    let rule_uid = alert.non_blank_string("ruleUID", problems);
    let org_id = alert.unsigned_integer("orgId", problems);
    for (key, field) in [("valueString", value_string), ("ruleUID", rule_uid)] {
        match field {
            Field::Present(text) if !text.is_empty() => {
                details.insert(key.to_string(), Value::String(text));
            }
            Field::Bad => any_bad = true,
            Field::Present(_) | Field::Absent => {}
        }
    }
    match org_id {
        Field::Present(org_id) => {
            details.insert("orgId".to_string(), Value::from(org_id));
        }
        Field::Bad => any_bad = true,
        Field::Absent => {}
    }
    if let Some(enrichments) = alert.take("enrichments") {
        details.insert("enrichments".to_string(), enrichments);
    }
    if any_bad {
        return None;
    }
    if details.is_empty() {
        return Some(Value::Null);
    }
    Some(Value::Object(details))
}

// Shared with alertmanager: Grafana's alerts mean what Alertmanager's do. `alertmanager.rs` has
// private twins of these; it can switch to them without a change in behaviour.

/// Whether a time field must be present.
fn to_ingest_error(problems: Problems) -> IngestError {
    // Unknown keys are ignored (see the module documentation), so that wording is never used.
    ingest_error(problems, "is not a field of the grafana alerting webhook")
}

#[cfg(test)]
mod tests;
