//! Steps rendered for one incident: the exact request, argv or check a step would make, as a
//! dry run shows it and as the executor carries it out. Rendering is where template values
//! meet their encodings (see [`super::template`]).

use serde::Serialize;

use super::model::{Action, Check, HttpRequest, Step};
use super::template::{RenderError, TemplateContext};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// JSON text.
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RenderedAction {
    Http {
        request: RenderedRequest,
    },
    /// `argv[0]` is the executable; each element is passed as one argument, never to a shell.
    Command {
        argv: Vec<String>,
        env: Vec<String>,
    },
    Wait {
        milliseconds: u64,
    },
    CheckSlo {
        slo: String,
    },
    CheckHttp {
        request: RenderedRequest,
    },
    Manual {
        instructions: String,
    },
}

pub fn render_request(request: &HttpRequest, context: &TemplateContext) -> Result<RenderedRequest, RenderError> {
    let mut headers = Vec::with_capacity(request.headers.len());
    for (name, value) in &request.headers {
        headers.push((name.clone(), value.render_header(context)?));
    }
    Ok(RenderedRequest {
        method: request.method.clone(),
        url: request.url.render_url(context)?,
        headers,
        body: request.body.as_ref().map(|body| body.render(context)).transpose()?,
    })
}

pub fn render_action(action: &Action, context: &TemplateContext) -> Result<RenderedAction, RenderError> {
    Ok(match action {
        Action::Http(request) => RenderedAction::Http { request: render_request(request, context)? },
        Action::Command(command) => RenderedAction::Command {
            argv: command.argv.iter().map(|element| element.render_plain(context)).collect::<Result<_, _>>()?,
            env: command.env.clone(),
        },
        Action::Wait(duration) => RenderedAction::Wait { milliseconds: duration.as_millis() },
        Action::Check(Check::Slo(slo)) => RenderedAction::CheckSlo { slo: slo.clone() },
        Action::Check(Check::Http(request)) => RenderedAction::CheckHttp { request: render_request(request, context)? },
        Action::Manual(instructions) => RenderedAction::Manual { instructions: instructions.clone() },
    })
}

/// One line for the timeline and the CLI, e.g. `POST http://svc/flags/fallback` or
/// `command ["/usr/bin/systemctl", "restart", "chat"]`.
pub fn describe(action: &RenderedAction) -> String {
    match action {
        RenderedAction::Http { request } | RenderedAction::CheckHttp { request } => {
            let prefix = if matches!(action, RenderedAction::CheckHttp { .. }) { "check " } else { "" };
            format!("{prefix}{} {}", request.method, request.url)
        }
        RenderedAction::Command { argv, .. } => format!("command {argv:?}"),
        RenderedAction::Wait { milliseconds } => format!("wait {}", crate::duration::HumanDuration::from_millis(*milliseconds)),
        RenderedAction::CheckSlo { slo } => format!("check slo {slo}"),
        RenderedAction::Manual { instructions } => format!("manual: {instructions}"),
    }
}

/// A dry run's view of a step: what it would do, and its undo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunStep {
    pub index: usize,
    pub name: String,
    pub reversible: bool,
    pub idempotent: bool,
    pub needs_approval: bool,
    /// The rendered action, or why it cannot be rendered for this incident.
    pub action: Result<RenderedAction, String>,
    pub undo: Option<Result<RenderedAction, String>>,
}

pub fn dry_run(steps: &[Step], context: &TemplateContext) -> Vec<DryRunStep> {
    steps
        .iter()
        .enumerate()
        .map(|(index, step)| DryRunStep {
            index,
            name: step.name.clone(),
            reversible: step.reversible,
            idempotent: step.idempotent,
            needs_approval: step.needs_approval(),
            action: render_action(&step.action, context).map_err(|error| error.to_string()),
            undo: step.undo.as_ref().map(|undo| render_action(&undo.action, context).map_err(|error| error.to_string())),
        })
        .collect()
}
