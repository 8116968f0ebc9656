//! Has the SLI recovered? Asked after every step: the runbook's own `recovery` check, else the
//! SLO whose alert joined the incident. Also answers `check` steps. An SLO the board has not
//! evaluated (unknown) is neither healthy nor unhealthy: the run goes on.

use std::time::Duration;

use staunch_config::Config;
use staunch_domain::runbook::render::render_request;
use staunch_domain::runbook::{Check, Runbook, TemplateContext};
use staunch_store::OrgId;

use super::actions::{self, StepResult};
use super::context::IncidentView;
use crate::slo::SloBoard;

/// How long a recovery probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// `Some(true)` healthy, `Some(false)` not, `None` unknown; with what was seen.
pub async fn evaluate(
    config: &Config,
    board: &SloBoard,
    client: &reqwest::Client,
    org: OrgId,
    check: &Check,
    context: &TemplateContext,
    timeout: Duration,
) -> (Option<bool>, String) {
    match check {
        Check::Slo(slo_id) => slo_state(config, board, org, slo_id),
        Check::Http(request) => {
            let rendered = match render_request(request, context) {
                Ok(rendered) => rendered,
                Err(error) => return (None, format!("probe not rendered: {error}")),
            };
            let result: StepResult = actions::send(client, &rendered, timeout, |status| request.accepts(status)).await;
            let seen = result.output.lines().next().unwrap_or("").to_string();
            match result.error {
                None => (Some(true), format!("probe {} {}: {seen}", rendered.method, rendered.url)),
                Some(error) => (Some(false), format!("probe {} {}: {error}", rendered.method, rendered.url)),
            }
        }
    }
}

fn slo_state(config: &Config, board: &SloBoard, org: OrgId, slo_id: &str) -> (Option<bool>, String) {
    let Some(slo) = config.organisation_by_id(org).and_then(|organisation| organisation.slos.iter().find(|slo| slo.id == slo_id))
    else {
        return (None, format!("slo {slo_id} is not configured"));
    };
    let status = board.status(org, slo);
    let healthy = match status.state.as_str() {
        "ok" => Some(true),
        "unknown" => None,
        _ => Some(false),
    };
    (healthy, format!("slo {slo_id} is {}", status.state))
}

/// Whether the run's SLI has recovered: the runbook's `recovery` check, else every SLO whose
/// alert joined the incident (all must be ok), else unknown.
pub async fn recovered(
    config: &Config,
    board: &SloBoard,
    client: &reqwest::Client,
    runbook: &Runbook,
    view: &IncidentView,
    context: &TemplateContext,
) -> (Option<bool>, String) {
    let org = view.incident.org;
    if let Some(check) = &runbook.recovery {
        return evaluate(config, board, client, org, check, context, PROBE_TIMEOUT).await;
    }
    let slo_ids = view.slo_ids();
    if slo_ids.is_empty() {
        return (None, "no recovery check and no slo on the incident".to_string());
    }
    let mut seen = Vec::new();
    let mut all_healthy = Some(true);
    for slo_id in slo_ids {
        let (healthy, what) = slo_state(config, board, org, &slo_id);
        seen.push(what);
        all_healthy = match (all_healthy, healthy) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, _) | (_, None) => None,
            _ => Some(true),
        };
    }
    (all_healthy, seen.join(", "))
}
