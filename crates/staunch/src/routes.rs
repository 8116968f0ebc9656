//! `staunch routes test`: amtool's `config routes test`, on Staunch's routing engine.

use anyhow::Context;
use staunch_domain::labels::Labels;
use std::path::Path;

pub fn test(config_path: &Path, label_args: &[String]) -> anyhow::Result<()> {
    let tree = staunch_config::alertmanager::load_alertmanager_routes(config_path)?;
    let mut labels = Labels::new();
    for argument in label_args {
        let (name, value) = argument.split_once('=').with_context(|| format!("label {argument:?} is not name=value"))?;
        labels.insert(name.to_string(), value.trim_matches('"').to_string());
    }
    println!("{}", staunch_domain::routing::format_receivers(&tree.matching(&labels)));
    Ok(())
}
