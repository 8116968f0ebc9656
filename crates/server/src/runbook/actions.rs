//! Carrying out one rendered step: an HTTP request, a command, a wait, a check. Each gets a
//! timeout; what it printed or answered is truncated to [`OUTPUT_LIMIT`] bytes for the record.
//!
//! Commands run from their argv alone (no shell), with an empty environment plus the
//! variables the step allows, stdin closed, and are killed when their timeout ends. HTTP
//! requests follow no redirects: a redirect could send the request somewhere the runbook
//! does not name.

use std::process::Stdio;
use std::time::Duration;

use staunch_domain::runbook::render::{RenderedAction, RenderedRequest};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of a step's output is kept.
pub const OUTPUT_LIMIT: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub succeeded: bool,
    pub output: String,
    pub error: Option<String>,
}

impl StepResult {
    fn failed(output: String, error: impl Into<String>) -> StepResult {
        StepResult { succeeded: false, output, error: Some(error.into()) }
    }
}

/// Keeps the first [`OUTPUT_LIMIT`] bytes (cut at a character boundary) and says how much
/// was left out.
pub fn truncate(text: &str) -> String {
    if text.len() <= OUTPUT_LIMIT {
        return text.to_string();
    }
    let mut end = OUTPUT_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes not kept)", &text[..end], text.len() - end)
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("staunch-runbook/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Sends `request`; `accepts` says which statuses count as success.
pub async fn send(
    client: &reqwest::Client,
    request: &RenderedRequest,
    timeout: Duration,
    accepts: impl Fn(u16) -> bool,
) -> StepResult {
    let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
        Ok(method) => method,
        Err(error) => return StepResult::failed(String::new(), format!("bad method: {error}")),
    };
    let mut builder = client.request(method, &request.url).timeout(timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
    }
    let response = match builder.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return StepResult::failed(String::new(), format!("timed out after {timeout:?}")),
        Err(error) => return StepResult::failed(String::new(), format!("request failed: {error}")),
    };
    let status = response.status().as_u16();
    let body = match tokio::time::timeout(timeout, read_capped_body(response)).await {
        Ok(body) => body,
        Err(_) => String::from("(body not read: timed out)"),
    };
    let output = truncate(&format!("HTTP {status}\n{body}"));
    if accepts(status) {
        StepResult { succeeded: true, output, error: None }
    } else {
        StepResult::failed(output, format!("unexpected status {status}"))
    }
}

async fn read_capped_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > OUTPUT_LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Runs `argv` with only the `allowed_env` variables of this process's environment.
pub async fn run_command(argv: &[String], allowed_env: &[String], timeout: Duration) -> StepResult {
    let Some((program, arguments)) = argv.split_first() else {
        return StepResult::failed(String::new(), "empty argv");
    };
    let mut command = tokio::process::Command::new(program);
    command.args(arguments).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for name in allowed_env {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return StepResult::failed(String::new(), format!("cannot start {program}: {error}")),
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = tokio::time::timeout(timeout, async {
        let (stdout, stderr) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let status = child.wait().await;
        (stdout, stderr, status)
    })
    .await;
    let Ok((stdout, stderr, status)) = finished else {
        // Dropping the wait killed nothing yet: kill explicitly, then reap.
        let _ = child.kill().await;
        return StepResult::failed(String::new(), format!("timed out after {timeout:?}; killed"));
    };
    let mut output = stdout;
    if !stderr.is_empty() {
        output.push_str("\n[stderr]\n");
        output.push_str(&stderr);
    }
    let output = truncate(&output);
    match status {
        Ok(status) if status.success() => StepResult { succeeded: true, output, error: None },
        Ok(status) => StepResult::failed(output, format!("exited with {status}")),
        Err(error) => StepResult::failed(output, format!("cannot wait for {program}: {error}")),
    }
}

/// Reads up to the output limit, then drains (and drops) the rest so the command never
/// blocks on a full pipe.
async fn read_capped(reader: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut reader) = reader else { return String::new() };
    let mut kept = Vec::new();
    let _ = (&mut reader).take(OUTPUT_LIMIT as u64 + 1).read_to_end(&mut kept).await;
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
    String::from_utf8_lossy(&kept).into_owned()
}

/// Carries out an action that runs by itself (not a check, which needs the SLO board, nor a
/// manual step, which waits for a person).
pub async fn perform(
    client: &reqwest::Client,
    action: &RenderedAction,
    timeout: Duration,
    accepts: impl Fn(u16) -> bool,
) -> StepResult {
    match action {
        RenderedAction::Http { request } => send(client, request, timeout, accepts).await,
        RenderedAction::Command { argv, env } => run_command(argv, env, timeout).await,
        RenderedAction::Wait { milliseconds } => {
            tokio::time::sleep(Duration::from_millis(*milliseconds)).await;
            StepResult { succeeded: true, output: String::new(), error: None }
        }
        RenderedAction::CheckSlo { .. } | RenderedAction::CheckHttp { .. } | RenderedAction::Manual { .. } => {
            StepResult::failed(String::new(), "not an action that runs by itself")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_limit_and_says_what_was_cut() {
        assert_eq!(truncate("short"), "short");
        let long = "é".repeat(OUTPUT_LIMIT);
        let cut = truncate(&long);
        assert!(cut.starts_with(&"é".repeat(OUTPUT_LIMIT / 2)));
        assert!(cut.ends_with(&format!("({} more bytes not kept)", long.len() - OUTPUT_LIMIT)));
    }

    #[tokio::test]
    async fn commands_get_an_empty_environment_and_their_argv_as_is() {
        if !std::path::Path::new("/usr/bin/env").exists() {
            println!("skipped: /usr/bin/env absent");
            return;
        }
        let result = run_command(&["/usr/bin/env".into()], &[], Duration::from_secs(5)).await;
        assert!(result.succeeded, "{result:?}");
        assert_eq!(result.output, "", "no variable leaks into the command");
        let printed = run_command(&["/bin/echo".into(), "$(touch /tmp/x); rm -rf /".into()], &[], Duration::from_secs(5)).await;
        assert_eq!(printed.output, "$(touch /tmp/x); rm -rf /\n");
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed() {
        let result = run_command(&["/bin/sleep".into(), "30".into()], &[], Duration::from_millis(200)).await;
        assert!(!result.succeeded);
        assert!(result.error.unwrap().starts_with("timed out"));
    }
}
