//! `staunch slo rules` (Sloth's `generate` for one spec file) and `staunch slo import` (the
//! `slos:` section equivalent to a spec), both written to stdout.

use std::io::Write as _;

use anyhow::Context;
use staunch_config::sloth::{LabelMap, RulesOptions, WindowsCatalog, generate_rules};
use staunch_domain::slo::SloPeriod;

use crate::args::SloRulesArgs;

pub fn rules(arguments: &SloRulesArgs) -> anyhow::Result<()> {
    let period = SloPeriod::parse(&arguments.default_slo_period).context("--default-slo-period")?;
    let mut extra_labels = LabelMap::new();
    for pair in &arguments.extra_labels {
        let (key, value) = pair.split_once('=').with_context(|| format!("--extra-labels {pair:?} is not key=value"))?;
        if key.is_empty() || value.is_empty() {
            anyhow::bail!("--extra-labels {pair:?}: both key and value are required");
        }
        extra_labels.insert(key.to_string(), value.to_string());
    }
    let windows = match &arguments.slo_period_windows_path {
        Some(directory) => WindowsCatalog::from_directory(directory).context("--slo-period-windows-path")?,
        None => WindowsCatalog::builtin(),
    };
    let spec = std::fs::read_to_string(&arguments.file).with_context(|| format!("cannot read {}", arguments.file.display()))?;
    let options = RulesOptions {
        default_period: period.duration(),
        extra_labels,
        disable_alerts: arguments.disable_alerts,
        disable_recordings: arguments.disable_recordings,
        windows,
        ..RulesOptions::default()
    };
    let output = generate_rules(&spec, &options).with_context(|| format!("{}", arguments.file.display()))?;
    std::io::stdout().lock().write_all(output.as_bytes()).context("cannot write to stdout")?;
    Ok(())
}

/// `staunch slo import FILE`: the `slos:` section equivalent to a Sloth or OpenSLO v1 spec.
pub fn import(file: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let slos = staunch_config::slo_import::import(&text).with_context(|| format!("{}", file.display()))?;
    let yaml = staunch_config::slo_import::render_yaml(&slos);
    std::io::stdout().lock().write_all(yaml.as_bytes()).context("cannot write to stdout")?;
    Ok(())
}
