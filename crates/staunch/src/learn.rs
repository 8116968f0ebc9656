//! Learning from incidents on the command line: `staunch postmortem`, `staunch incident
//! export-case`, `staunch cases check` (local: the configuration and case files, no server)
//! and `staunch report`.

use crate::args::ClientArgs;
use anyhow::Context;
use staunch_domain::regression_case::{CaseVerdict, check_case, parse_case};
use staunch_domain::triage::ConfiguredTriage;
use std::path::Path;

use crate::client_commands::client;

pub async fn postmortem(options: &ClientArgs, id: i64, html: bool) -> anyhow::Result<()> {
    let format = if html {
        "html"
    } else if options.json {
        "json"
    } else {
        "md"
    };
    let text = client(options).get_text(&format!("/api/v1/incidents/{id}/postmortem"), &[("format", format.to_string())]).await?;
    print!("{text}");
    Ok(())
}

pub async fn export_case(options: &ClientArgs, id: i64, out: Option<&Path>) -> anyhow::Result<()> {
    let case = client(options).get(&format!("/api/v1/incidents/{id}/case"), &[]).await?;
    let text = serde_json::to_string_pretty(&case)? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the regression case of incident #{id} to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Replays every `*.json` case in `directory` against the configuration; fails when any case
/// would no longer be recognised.
pub fn check_cases(config_path: &Path, org_slug: &str, directory: &Path) -> anyhow::Result<()> {
    let config = staunch_config::load_config(config_path)?;
    let organisation = config
        .organisation(org_slug)
        .with_context(|| format!("organisation {org_slug:?} is not in {}", config_path.display()))?;
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(directory)
        .with_context(|| format!("cannot read {}", directory.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no *.json regression cases in {}", directory.display());
    }
    let mut failed = 0;
    for path in &paths {
        let name = path.file_name().map(|name| name.to_string_lossy().to_string()).unwrap_or_default();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let verdict = match parse_case(&text) {
            Ok(case) => check_case(
                &case,
                &organisation.directory,
                &ConfiguredTriage { symptoms: &organisation.symptoms, runbooks: &organisation.runbooks },
            ),
            Err(error) => {
                CaseVerdict { incident_id: 0, passed: false, failures: vec![format!("not a case: {error}")], notes: vec![] }
            }
        };
        if verdict.passed {
            println!("pass  {name}: {}", verdict.notes.join("; "));
        } else {
            failed += 1;
            println!("FAIL  {name}: {}", verdict.failures.join("; "));
        }
    }
    println!("{} case(s): {} passed, {failed} failed", paths.len(), paths.len() - failed);
    if failed > 0 {
        anyhow::bail!("{failed} regression case(s) would no longer be recognised");
    }
    Ok(())
}

pub async fn report(
    options: &ClientArgs,
    since: Option<String>,
    until: Option<String>,
    failure_window: Option<String>,
) -> anyhow::Result<()> {
    let mut query = Vec::new();
    for (name, value) in [("since", since), ("until", until), ("failure_window", failure_window)] {
        if let Some(value) = value {
            query.push((name, value));
        }
    }
    let response = client(options).get("/api/v1/report", &query).await?;
    if options.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
    } else {
        print!("{}", staunch_cli::render_report(&response["report"]));
    }
    Ok(())
}
