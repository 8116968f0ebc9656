//! `staunch init` and `staunch check-config`.

use anyhow::Context;
use std::path::Path;

/// A fresh random secret: 32 hex characters, the length PagerDuty routing keys have.
pub fn random_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub struct WrittenConfig {
    pub alertmanager_key: String,
    pub events_key: String,
}

/// Writes the example config with new keys to `path`.
pub fn write_example(path: &Path) -> anyhow::Result<WrittenConfig> {
    let written = WrittenConfig { alertmanager_key: random_key(), events_key: random_key() };
    let text = staunch_config::example::example_config(&written.alertmanager_key, &written.events_key, &random_key());
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_private(path, &text)?;
    Ok(written)
}

/// Writes a file only its owner can read: it holds secrets.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        anyhow::bail!("{} already exists (use --force to overwrite)", path.display());
    }
    let written = write_example(path)?;
    println!("wrote {}", path.display());
    print_integration_keys(&written);
    Ok(())
}

pub fn print_integration_keys(written: &WrittenConfig) {
    println!("  alertmanager integration: POST /integrations/alertmanager/{}", written.alertmanager_key);
    println!("  events v2 routing_key:    {}", written.events_key);
}

pub fn check(path: &Path) -> anyhow::Result<()> {
    let config = staunch_config::load_config(path)?;
    println!("{} is valid", path.display());
    for organisation in &config.organisations {
        let directory = &organisation.directory;
        println!(
            "  organisation {}: {} users, {} schedules, {} escalation policies, {} services, {} integrations",
            organisation.slug.as_str(),
            directory.users.len(),
            directory.schedules.len(),
            directory.escalation_policies.len(),
            directory.services.len(),
            directory.integrations_by_key_sha256.len()
        );
    }
    Ok(())
}
