//! `staunch catalog import|show` and `staunch incident investigate`, through the API.

use std::path::Path;

use anyhow::Context;
use staunch_cli::{render_catalog_sync, render_investigation};

use crate::args::ClientArgs;
use crate::client_commands::client;

fn print(options: &ClientArgs, response: &serde_json::Value, render: impl Fn(&serde_json::Value) -> String) {
    if options.json {
        println!("{}", serde_json::to_string_pretty(response).unwrap_or_default());
    } else {
        print!("{}", render(response));
    }
}

/// Reads Backstage `catalog-info.yaml` (a file, or every one under a directory) and makes it
/// the organisation's whole catalog: entities no longer there are removed.
pub async fn import_catalog(options: &ClientArgs, path: &Path) -> anyhow::Result<()> {
    let parsed = staunch_config::catalog::read_catalog_path(path)?;
    if !parsed.skipped.is_empty() && !options.json {
        eprintln!("skipped {} entities of kinds Staunch does not use: {}", parsed.skipped.len(), parsed.skipped.join(", "));
    }
    let body = serde_json::json!({ "entities": parsed.entities });
    let response = client(options).put("/api/v1/catalog", body).await.context("importing the catalog")?;
    print(options, &response, render_catalog_sync);
    Ok(())
}

pub async fn show_catalog(options: &ClientArgs) -> anyhow::Result<()> {
    let response = client(options).get("/api/v1/catalog", &[]).await?;
    print(options, &response, |response| {
        let mut output = String::new();
        for entity in response["entities"].as_array().into_iter().flatten() {
            let depends: Vec<&str> =
                entity["depends_on"].as_array().into_iter().flatten().filter_map(|value| value.as_str()).collect();
            output.push_str(&format!(
                "{} {}/{} owner={} depends_on=[{}]\n",
                entity["kind"].as_str().unwrap_or("?"),
                entity["namespace"].as_str().unwrap_or("?"),
                entity["name"].as_str().unwrap_or("?"),
                entity["owner"].as_str().unwrap_or("-"),
                depends.join(", ")
            ));
        }
        if output.is_empty() { "no catalog entities\n".to_string() } else { output }
    });
    Ok(())
}

pub async fn investigate(options: &ClientArgs, id: i64, as_of: Option<jiff::Timestamp>) -> anyhow::Result<()> {
    let query: Vec<(&str, String)> = as_of.map(|at| ("as_of", at.to_string())).into_iter().collect();
    let response = client(options).get(&format!("/api/v1/incidents/{id}/investigation"), &query).await?;
    print(options, &response, render_investigation);
    Ok(())
}
