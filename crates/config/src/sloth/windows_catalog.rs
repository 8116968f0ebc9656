//! Which alert windows apply to which SLO period: Staunch's built-in set (30d and 28d from
//! the Google SRE Workbook, 7d with shares scaled for the shorter period) or a directory of
//! Sloth `AlertWindows` files that replaces it (`--slo-period-windows-path`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::{AlertWindows, BurnWindow, SloPeriod};

use super::SlothError;
use super::go_format::prom_duration;

/// Alert windows keyed by the SLO period they are for.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowsCatalog {
    by_period: BTreeMap<HumanDuration, AlertWindows>,
}

impl Default for WindowsCatalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl WindowsCatalog {
    pub fn builtin() -> WindowsCatalog {
        let by_period = [SloPeriod::Days30, SloPeriod::Days28, SloPeriod::Days7]
            .into_iter()
            .map(|period| (period.duration(), AlertWindows::defaults_for(period)))
            .collect();
        WindowsCatalog { by_period }
    }

    /// Reads every `.yaml`/`.yml` file under `directory` (recursively) as an `AlertWindows`.
    pub fn from_directory(directory: &Path) -> Result<WindowsCatalog, SlothError> {
        let mut files = Vec::new();
        collect_yaml_files(directory, &mut files)?;
        files.sort();
        let mut by_period = BTreeMap::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| SlothError::Read { path: path.display().to_string(), message: error.to_string() })?;
            let windows = parse_alert_windows(&text)
                .map_err(|error| SlothError::InFile { path: path.display().to_string(), source: Box::new(error) })?;
            if let Some(existing) = by_period.insert(windows.period, windows)
                && existing != windows
            {
                return Err(SlothError::Field {
                    at: path.display().to_string(),
                    problem: format!(
                        "a different set of windows for the {} slo period is already loaded",
                        prom_duration(windows.period)
                    ),
                });
            }
        }
        if by_period.is_empty() {
            return Err(SlothError::Read {
                path: directory.display().to_string(),
                message: "no alert windows files found".to_string(),
            });
        }
        Ok(WindowsCatalog { by_period })
    }

    pub fn get(&self, period: HumanDuration) -> Option<&AlertWindows> {
        self.by_period.get(&period)
    }

    pub fn known_periods(&self) -> String {
        self.by_period.keys().map(|period| prom_duration(*period)).collect::<Vec<_>>().join(", ")
    }
}

fn collect_yaml_files(directory: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<(), SlothError> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| SlothError::Read { path: directory.display().to_string(), message: error.to_string() })?;
    for entry in entries {
        let path =
            entry.map_err(|error| SlothError::Read { path: directory.display().to_string(), message: error.to_string() })?.path();
        if path.is_dir() {
            collect_yaml_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct AlertWindowsFile {
    #[serde(default, rename = "apiVersion")]
    api_version: String,
    #[serde(default)]
    kind: String,
    spec: AlertWindowsSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertWindowsSpec {
    slo_period: String,
    page: QuickSlow,
    ticket: QuickSlow,
}

#[derive(Deserialize)]
struct QuickSlow {
    quick: WindowSpec,
    slow: WindowSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WindowSpec {
    error_budget_percent: f64,
    short_window: String,
    long_window: String,
}

/// Reads one Sloth `AlertWindows` document.
pub fn parse_alert_windows(text: &str) -> Result<AlertWindows, SlothError> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let file: AlertWindowsFile =
        serde_saphyr::from_str_with_options(text, options).map_err(|error| SlothError::Yaml { message: error.to_string() })?;
    if file.api_version != "sloth.slok.dev/v1" || file.kind != "AlertWindows" {
        return Err(SlothError::Field {
            at: "apiVersion".to_string(),
            problem: "expected apiVersion sloth.slok.dev/v1 and kind AlertWindows".to_string(),
        });
    }
    let duration = |at: &str, text: &str| {
        HumanDuration::parse(text)
            .ok()
            .filter(|duration| duration.as_millis() > 0)
            .ok_or_else(|| SlothError::Field { at: at.to_string(), problem: format!("invalid duration {text:?}") })
    };
    let window = |at: &str, spec: &WindowSpec| -> Result<BurnWindow, SlothError> {
        if !(spec.error_budget_percent > 0.0 && spec.error_budget_percent <= 100.0) {
            return Err(SlothError::Field {
                at: format!("{at}.errorBudgetPercent"),
                problem: "must be more than 0 and at most 100".to_string(),
            });
        }
        Ok(BurnWindow {
            error_budget_percent: spec.error_budget_percent,
            short: duration(&format!("{at}.shortWindow"), &spec.short_window)?,
            long: duration(&format!("{at}.longWindow"), &spec.long_window)?,
        })
    };
    Ok(AlertWindows {
        period: duration("spec.sloPeriod", &file.spec.slo_period)?,
        page_quick: window("spec.page.quick", &file.spec.page.quick)?,
        page_slow: window("spec.page.slow", &file.spec.page.slow)?,
        ticket_quick: window("spec.ticket.quick", &file.spec.ticket.quick)?,
        ticket_slow: window("spec.ticket.slow", &file.spec.ticket.slow)?,
    })
}
