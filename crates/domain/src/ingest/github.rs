//! GitHub webhooks that are changes to a service: `push`, `deployment_status` and
//! `pull_request`. Each becomes a change record (what changed, by whom, when, with the files
//! and diff sizes later correlation needs). `ping` and other events record nothing. GitHub
//! sends many more fields than these; unknown ones are ignored, as GitHub adds fields freely.

use super::IngestError;
use crate::alert::AlertLink;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

/// What a GitHub event means for Staunch.
#[derive(Debug, Clone, PartialEq)]
pub enum GitHubDelivery {
    /// Record this change for the integration's service.
    Change(GitHubChange),
    /// Nothing to record (`ping`, an event kind or action Staunch does not track); the reason
    /// is answered to GitHub, whose delivery log shows it.
    Ignored(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct GitHubChange {
    pub summary: String,
    /// `github:<repository full name>`.
    pub source: String,
    /// When the change happened, as GitHub says; `None` when the event carries no time.
    pub at: Option<Timestamp>,
    pub details: Value,
    pub links: Vec<AlertLink>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct Person {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Person {
    fn handle(&self) -> String {
        self.login.clone().or_else(|| self.name.clone()).unwrap_or_else(|| "unknown".to_string())
    }
}

#[derive(Deserialize)]
struct Commit {
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    author: Option<Person>,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
    repository: Repository,
    #[serde(default)]
    pusher: Option<Person>,
    #[serde(default)]
    commits: Vec<Commit>,
    #[serde(default)]
    head_commit: Option<Commit>,
    #[serde(default)]
    compare: Option<String>,
}

#[derive(Deserialize)]
struct DeploymentStatusEvent {
    deployment_status: DeploymentStatus,
    deployment: Deployment,
    repository: Repository,
}

#[derive(Deserialize)]
struct DeploymentStatus {
    state: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    environment_url: Option<String>,
}

#[derive(Deserialize)]
struct Deployment {
    sha: String,
    #[serde(rename = "ref", default)]
    git_ref: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    creator: Option<Person>,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    number: u64,
    pull_request: PullRequest,
    repository: Repository,
}

#[derive(Deserialize)]
struct PullRequest {
    title: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    merged_at: Option<Timestamp>,
    #[serde(default)]
    user: Option<Person>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    additions: Option<u64>,
    #[serde(default)]
    deletions: Option<u64>,
    #[serde(default)]
    changed_files: Option<u64>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

/// Parses the body of a GitHub delivery whose `X-GitHub-Event` header is `event`.
pub fn parse_delivery(event: &str, body: &[u8]) -> Result<GitHubDelivery, IngestError> {
    match event {
        "ping" => Ok(GitHubDelivery::Ignored("pong".to_string())),
        "push" => parse::<Push>(body).map(push),
        "deployment_status" => parse::<DeploymentStatusEvent>(body).map(deployment_status),
        "pull_request" => parse::<PullRequestEvent>(body).map(pull_request),
        other => Ok(GitHubDelivery::Ignored(format!("event {other:?} is not recorded"))),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, IngestError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let field = if field == "." { "body".to_string() } else { field };
        IngestError::single(field, error.inner().to_string())
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn push(push: Push) -> GitHubDelivery {
    let branch = push.git_ref.strip_prefix("refs/heads/").unwrap_or(&push.git_ref).to_string();
    let pusher = push.pusher.as_ref().map(Person::handle).unwrap_or_else(|| "unknown".to_string());
    let head = push.head_commit.as_ref().or(push.commits.last());
    let headline = head.map(|commit| first_line(&commit.message).to_string()).unwrap_or_default();
    let commits: Vec<Value> = push
        .commits
        .iter()
        .map(|commit| {
            json!({
                "id": commit.id, "message": commit.message, "author": commit.author.as_ref().map(Person::handle),
                "added": commit.added, "removed": commit.removed, "modified": commit.modified,
            })
        })
        .collect();
    let mut files: Vec<&str> = Vec::new();
    for commit in &push.commits {
        for file in commit.added.iter().chain(&commit.removed).chain(&commit.modified) {
            if !files.contains(&file.as_str()) {
                files.push(file);
            }
        }
    }
    let links = push.compare.iter().map(|href| AlertLink { href: href.clone(), text: Some("compare".into()) }).collect();
    GitHubDelivery::Change(GitHubChange {
        summary: format!("push to {branch} by {pusher}: {headline}").trim_end_matches([' ', ':']).to_string(),
        source: format!("github:{}", push.repository.full_name),
        at: head.and_then(|commit| commit.timestamp),
        details: json!({
            "kind": "push", "repository": push.repository.full_name, "ref": push.git_ref, "branch": branch,
            "before": push.before, "after": push.after, "author": pusher, "commits": commits, "files": files,
        }),
        links,
    })
}

fn deployment_status(event: DeploymentStatusEvent) -> GitHubDelivery {
    let status = event.deployment_status;
    let deployment = event.deployment;
    let environment = deployment.environment.clone().unwrap_or_else(|| "production".to_string());
    let what = deployment
        .description
        .clone()
        .filter(|text| !text.trim().is_empty())
        .unwrap_or_else(|| deployment.sha.chars().take(12).collect());
    let links = [status.target_url.as_ref(), status.environment_url.as_ref()]
        .into_iter()
        .flatten()
        .map(|href| AlertLink { href: href.clone(), text: Some("deployment".into()) })
        .collect();
    GitHubDelivery::Change(GitHubChange {
        summary: format!("deployment to {environment} {}: {what}", status.state),
        source: format!("github:{}", event.repository.full_name),
        at: status.created_at,
        details: json!({
            "kind": "deployment", "state": status.state, "environment": environment, "sha": deployment.sha,
            "ref": deployment.git_ref, "description": status.description, "repository": event.repository.full_name,
            "author": deployment.creator.as_ref().map(Person::handle),
        }),
        links,
    })
}

fn pull_request(event: PullRequestEvent) -> GitHubDelivery {
    let pull = event.pull_request;
    // Only a merge changes what runs; opened or edited pull requests are not changes yet.
    if event.action != "closed" || !pull.merged {
        return GitHubDelivery::Ignored(format!("pull request action {:?} is not a merge", event.action));
    }
    let links = pull.html_url.iter().map(|href| AlertLink { href: href.clone(), text: Some("pull request".into()) }).collect();
    GitHubDelivery::Change(GitHubChange {
        summary: format!("merged #{}: {}", event.number, pull.title),
        source: format!("github:{}", event.repository.full_name),
        at: pull.merged_at,
        details: json!({
            "kind": "pull_request", "number": event.number, "title": pull.title, "body": pull.body,
            "author": pull.user.as_ref().map(Person::handle), "labels": pull.labels.iter().map(|label| &label.name).collect::<Vec<_>>(),
            "additions": pull.additions, "deletions": pull.deletions, "changed_files": pull.changed_files,
            "sha": pull.merge_commit_sha, "repository": event.repository.full_name,
        }),
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(event: &str, body: Value) -> GitHubChange {
        match parse_delivery(event, body.to_string().as_bytes()).unwrap() {
            GitHubDelivery::Change(change) => change,
            GitHubDelivery::Ignored(reason) => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn a_push_records_branch_author_headline_and_files() {
        let push = change(
            "push",
            json!({
                "ref": "refs/heads/main", "before": "aaa", "after": "bbb", "compare": "https://github.com/acme/shop/compare/aaa...bbb",
                "repository": { "full_name": "acme/shop", "private": true }, "pusher": { "name": "dana", "email": "d@example.com" },
                "commits": [{ "id": "bbb", "message": "Raise checkout timeout\n\nlonger text", "timestamp": "2026-11-22T08:00:00Z",
                              "author": { "name": "Dana", "username": "dana" }, "added": [], "removed": [], "modified": ["checkout/config.yaml"] }],
                "head_commit": { "id": "bbb", "message": "Raise checkout timeout\n\nlonger text", "timestamp": "2026-11-22T08:00:00Z",
                                 "modified": ["checkout/config.yaml"] },
            }),
        );
        assert_eq!(push.summary, "push to main by dana: Raise checkout timeout");
        assert_eq!(push.source, "github:acme/shop");
        assert_eq!(push.at, Some("2026-11-22T08:00:00Z".parse().unwrap()));
        assert_eq!(push.details["files"], json!(["checkout/config.yaml"]));
        assert_eq!(push.links[0].href, "https://github.com/acme/shop/compare/aaa...bbb");
    }

    #[test]
    fn deployment_statuses_and_merges_are_changes_other_things_are_not() {
        let deployment = change(
            "deployment_status",
            json!({ "deployment_status": { "state": "success", "created_at": "2026-11-22T08:05:00Z" },
                    "deployment": { "sha": "0123456789abcdef0123", "ref": "main", "environment": "production", "creator": { "login": "ci-bot" } },
                    "repository": { "full_name": "acme/shop" } }),
        );
        assert_eq!(deployment.summary, "deployment to production success: 0123456789ab");
        assert_eq!(deployment.details["author"], "ci-bot");

        let merged = change(
            "pull_request",
            json!({ "action": "closed", "number": 42, "repository": { "full_name": "acme/shop" },
                    "pull_request": { "title": "Cache prices", "merged": true, "merged_at": "2026-11-22T07:00:00Z",
                                      "labels": [{ "name": "perf" }], "additions": 120, "deletions": 8, "changed_files": 3, "user": { "login": "eve" } } }),
        );
        assert_eq!(merged.summary, "merged #42: Cache prices");
        assert_eq!(merged.details["labels"], json!(["perf"]));

        let opened = json!({ "action": "opened", "number": 43, "repository": { "full_name": "acme/shop" }, "pull_request": { "title": "WIP" } });
        assert!(matches!(parse_delivery("pull_request", opened.to_string().as_bytes()), Ok(GitHubDelivery::Ignored(_))));
        assert_eq!(parse_delivery("ping", b"{}"), Ok(GitHubDelivery::Ignored("pong".into())));
        assert!(matches!(parse_delivery("issues", b"{}"), Ok(GitHubDelivery::Ignored(_))));
    }

    #[test]
    fn malformed_deliveries_name_the_field() {
        let error = parse_delivery("push", br#"{"ref": 5, "repository": {"full_name": "a/b"}}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "ref");
        let error = parse_delivery("deployment_status", b"[]").unwrap_err();
        assert_eq!(error.errors[0].field, "body");
        assert!(parse_delivery("push", b"not json").is_err());
    }
}
