//! Commands that talk to a running server over the API.

use crate::args::ClientArgs;
use staunch_cli::render_heartbeats;
use staunch_cli::{Client, render_incident, render_incidents, render_oncall, render_slos};

/// The token file `staunch serve` writes on first start, read when no token is given.
pub const TOKEN_FILE: &str = "staunch.token";

/// A client for the server `options` names, with its token.
pub(crate) fn client(options: &ClientArgs) -> Client {
    let token = options.token.clone().or_else(|| std::fs::read_to_string(TOKEN_FILE).ok().map(|text| text.trim().to_string()));
    Client::new(&options.url, token)
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

pub async fn incidents(options: &ClientArgs, state: Option<String>, service: Option<String>, limit: u32) -> anyhow::Result<()> {
    let mut query =
        vec![("state", state.unwrap_or_else(|| "triggered,acknowledged,mitigated".to_string())), ("limit", limit.to_string())];
    if let Some(service) = service {
        query.push(("service", service));
    }
    let response = client(options).get("/api/v1/incidents", &query).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", render_incidents(&response));
    }
    Ok(())
}

pub async fn show(options: &ClientArgs, id: i64) -> anyhow::Result<()> {
    let client = client(options);
    let incident = client.get(&format!("/api/v1/incidents/{id}"), &[]).await?;
    let timeline = client.get(&format!("/api/v1/incidents/{id}/timeline"), &[]).await?;
    if options.json {
        print_json(&serde_json::json!({ "incident": incident["incident"], "timeline": timeline["timeline"] }));
    } else {
        print!("{}", render_incident(&incident["incident"], &timeline));
    }
    Ok(())
}

pub async fn act(options: &ClientArgs, id: i64, action: &str) -> anyhow::Result<()> {
    edit(options, id, action, serde_json::json!({})).await
}

/// Posts an incident action and prints the incident as it now is.
pub async fn edit(options: &ClientArgs, id: i64, action: &str, body: serde_json::Value) -> anyhow::Result<()> {
    let response = client(options).post(&format!("/api/v1/incidents/{id}/{action}"), body).await?;
    if options.json {
        print_json(&response);
    } else {
        let incident = &response["incident"];
        let assignee = incident["assignee"].as_str().map(|user| format!(", assigned to {user}")).unwrap_or_default();
        println!(
            "incident #{} is {} ({}{assignee})",
            incident["id"],
            incident["state"].as_str().unwrap_or("?"),
            incident["severity"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

pub async fn silence_add(options: &ClientArgs, matchers: &str, duration: &str, comment: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({ "matchers": matchers, "duration": duration, "comment": comment });
    let response = client(options).post("/api/v1/silences", body).await?;
    if options.json {
        print_json(&response);
    } else {
        println!("silence {} until {}", response["id"], response["ends_at"].as_str().unwrap_or("?"));
    }
    Ok(())
}

pub async fn silence_list(options: &ClientArgs) -> anyhow::Result<()> {
    let response = client(options).get("/api/v1/silences", &[]).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", staunch_cli::render_silences(&response));
    }
    Ok(())
}

pub async fn audit(options: &ClientArgs, limit: u32) -> anyhow::Result<()> {
    let response = client(options).get("/api/v1/audit", &[("limit", limit.to_string())]).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", staunch_cli::render_audit(&response));
    }
    Ok(())
}

pub async fn silence_expire(options: &ClientArgs, id: i64) -> anyhow::Result<()> {
    client(options).delete(&format!("/api/v1/silences/{id}")).await?;
    println!("silence {id} expired");
    Ok(())
}

pub async fn note(options: &ClientArgs, id: i64, text: &str) -> anyhow::Result<()> {
    let response = client(options).post(&format!("/api/v1/incidents/{id}/notes"), serde_json::json!({ "text": text })).await?;
    if options.json {
        print_json(&response);
    } else {
        println!("note added to incident #{id}");
    }
    Ok(())
}

pub async fn oncall(options: &ClientArgs, schedule: Option<String>, at: Option<String>) -> anyhow::Result<()> {
    let mut query = Vec::new();
    if let Some(schedule) = schedule {
        query.push(("schedule", schedule));
    }
    if let Some(at) = at {
        query.push(("at", at));
    }
    let response = client(options).get("/api/v1/oncall", &query).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", render_oncall(&response));
    }
    Ok(())
}

pub async fn slo_status(options: &ClientArgs) -> anyhow::Result<()> {
    let response = client(options).get("/api/v1/slos", &[]).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", render_slos(&response));
    }
    Ok(())
}

pub async fn heartbeat_status(options: &ClientArgs) -> anyhow::Result<()> {
    let response = client(options).get("/api/v1/heartbeats", &[]).await?;
    if options.json {
        print_json(&response);
    } else {
        print!("{}", render_heartbeats(&response));
    }
    Ok(())
}
