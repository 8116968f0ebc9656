//! One recorded day: its fault list (the cases), the day-long files every case shares
//! (per-pod metrics, per-edge latencies, the dependency list) and the per-minute logs and
//! traces read only around each case's onset.

use super::files::{Table, csv_path, parse_time, service_of_pod};
use super::{AFTER_MINUTES, BEFORE_MINUTES, NezhaError, SERIES_HISTORY_MINUTES};
use staunch_investigate::logs::{LogBatch, LogLine};
use staunch_investigate::metrics::MetricSeries;
use staunch_investigate::traces::{EdgeSeries, Span, SpanBatch};
use staunch_investigate::{CallGraph, CaseInput, Millis, Windows};
use std::path::{Path, PathBuf};

const MINUTE: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum System {
    OnlineBoutique,
    TrainTicket,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::OnlineBoutique => "online-boutique",
            System::TrainTicket => "train-ticket",
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub system: System,
    pub day: String,
    pub inject_time: String,
    pub onset: Millis,
    pub root_service: String,
    pub fault_type: String,
}

pub struct Day {
    pub directory: PathBuf,
    pub cases: Vec<Case>,
}

/// Every `<day>/<day>-fault_list.json` under `root`, in name order.
pub fn find_days(root: &Path) -> Result<Vec<Day>, NezhaError> {
    let entries = std::fs::read_dir(root).map_err(|source| NezhaError::Io { path: root.to_path_buf(), source })?;
    let mut directories: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| path.is_dir()).collect();
    directories.sort();
    let mut days = Vec::new();
    for directory in directories {
        let name = directory.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let fault_list = directory.join(format!("{name}-fault_list.json"));
        if fault_list.is_file() {
            let cases = read_fault_list(&fault_list, &name)?;
            days.push(Day { directory, cases });
        }
    }
    Ok(days)
}

#[derive(serde::Deserialize)]
struct FaultEntry {
    inject_time: String,
    inject_pod: String,
    inject_type: String,
}

fn read_fault_list(path: &Path, day: &str) -> Result<Vec<Case>, NezhaError> {
    let text = std::fs::read_to_string(path).map_err(|source| NezhaError::Io { path: path.to_path_buf(), source })?;
    let invalid = |message: String| NezhaError::Invalid { path: path.to_path_buf(), message };
    let hours: std::collections::BTreeMap<String, Vec<FaultEntry>> = serde_json::from_str(&text)
        .map_err(|error| invalid(format!("not a fault list ({{hour: [{{inject_time, inject_pod, inject_type}}]}}): {error}")))?;
    let mut cases = Vec::new();
    for entry in hours.into_values().flatten() {
        let onset = parse_time(&entry.inject_time)
            .ok_or_else(|| invalid(format!("inject_time {:?} is not a time", entry.inject_time)))?;
        let root_service = service_of_pod(&entry.inject_pod).to_string();
        let system = if root_service.starts_with("ts-") { System::TrainTicket } else { System::OnlineBoutique };
        cases.push(Case {
            system,
            day: day.to_string(),
            inject_time: entry.inject_time,
            onset,
            root_service,
            fault_type: entry.inject_type,
        });
    }
    cases.sort_by_key(|case| case.onset);
    Ok(cases)
}

/// What every case of a day shares, read once.
pub struct Shared {
    metrics: Vec<MetricSeries>,
    edges: Vec<EdgeSeries>,
    graph: CallGraph,
}

impl Day {
    pub fn read_shared(&self) -> Result<Shared, NezhaError> {
        let metric_directory = self.directory.join("metric");
        let mut metrics = Vec::new();
        let mut edges = Vec::new();
        let mut graph = CallGraph::new();
        let mut names: Vec<String> = std::fs::read_dir(&metric_directory)
            .map_err(|source| NezhaError::Io { path: metric_directory.clone(), source })?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let stem = name.trim_end_matches(".gz").trim_end_matches(".csv");
            if let Some(pod) = stem.strip_suffix("_metric") {
                metrics.extend(read_pod_metrics(&metric_directory.join(&name), pod)?);
            }
        }
        for (stem, view) in [("source_50", "measured at caller"), ("destination_50", "measured at callee")] {
            if let Some(path) = csv_path(&metric_directory, stem) {
                edges.extend(read_edge_series(&path, view)?);
            }
        }
        if let Some(path) = csv_path(&metric_directory, "dependency") {
            let table = Table::read(&path)?;
            let (source, target) = (table.column("Source")?, table.column("Target")?);
            for row in &table.rows {
                graph.add(table.field(row, source)?, table.field(row, target)?);
            }
        }
        Ok(Shared { metrics, edges, graph })
    }

    /// The input for one case. Metric and edge series are cut to the case's windows; logs and
    /// traces are read from the per-minute files that overlap them, if the day has any.
    pub fn case_input(&self, shared: &Shared, case: &Case) -> Result<CaseInput, NezhaError> {
        let windows = Windows { onset: case.onset, before_ms: BEFORE_MINUTES * MINUTE, after_ms: AFTER_MINUTES * MINUTE };
        let (from, to) = (windows.onset - windows.before_ms, windows.onset + windows.after_ms);
        let series_from = windows.onset - SERIES_HISTORY_MINUTES.max(BEFORE_MINUTES) * MINUTE;
        let inside =
            |points: &[(Millis, f64)]| points.iter().copied().filter(|(at, _)| *at >= series_from && *at <= to).collect();
        let metrics = shared
            .metrics
            .iter()
            .map(|series| MetricSeries {
                service: series.service.clone(),
                metric: series.metric.clone(),
                points: inside(&series.points),
            })
            .collect();
        let edge_series = shared
            .edges
            .iter()
            .map(|edge| EdgeSeries {
                caller: edge.caller.clone(),
                callee: edge.callee.clone(),
                view: edge.view.clone(),
                points: inside(&edge.points),
            })
            .collect();
        let minutes = minute_files(from, to);
        let logs = self.read_logs(&minutes, to)?;
        let spans = self.read_spans(&minutes, to)?;
        Ok(CaseInput { windows, metrics, edge_series, spans, logs, graph: shared.graph.clone() })
    }

    /// Lines after `until` are dropped: the investigation runs "as of" the end of its window.
    fn read_logs(&self, minutes: &[String], until: Millis) -> Result<Option<LogBatch>, NezhaError> {
        let directory = self.directory.join("log");
        if !directory.is_dir() {
            return Ok(None);
        }
        let mut batch = LogBatch::default();
        for minute in minutes {
            let Some(path) = csv_path(&directory, &format!("{minute}_log")) else { continue };
            let table = Table::read(&path)?;
            let (pod, at, log) = (table.column("PodName")?, table.column("TimeUnixNano")?, table.column("Log")?);
            // The trace context the logger wrote the line in, when the file has it: it links a
            // line to the spans of its request (see `staunch_investigate::links`).
            let (trace, span) = (table.column("TraceID").ok(), table.column("SpanID").ok());
            let mut range: Option<(Millis, Millis)> = None;
            for row in &table.rows {
                let nanos: i64 = table
                    .field(row, at)?
                    .parse()
                    .map_err(|_| table.invalid(format!("line {}: TimeUnixNano is not an integer", line_of(row))))?;
                let at = nanos / 1_000_000;
                if at > until {
                    continue;
                }
                range = Some(range.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
                batch.lines.push(LogLine {
                    service: service_of_pod(table.field(row, pod)?).to_string(),
                    at,
                    text: unwrap_log(table.field(row, log)?),
                    trace_id: optional_id(&table, row, trace)?,
                    span_id: optional_id(&table, row, span)?,
                });
            }
            batch.covered.extend(range);
        }
        Ok(Some(batch))
    }

    /// Spans starting after `until` are dropped, as log lines are.
    fn read_spans(&self, minutes: &[String], until: Millis) -> Result<Option<SpanBatch>, NezhaError> {
        let directory = self.directory.join("trace");
        if !directory.is_dir() {
            return Ok(None);
        }
        let mut batch = SpanBatch::default();
        for minute in minutes {
            let Some(path) = csv_path(&directory, &format!("{minute}_trace")) else { continue };
            let table = Table::read(&path)?;
            let trace = table.column("TraceID")?;
            let span = table.column("SpanID")?;
            let parent = table.column("ParentID")?;
            let pod = table.column("PodName")?;
            let start = table.column("StartTimeUnixNano")?;
            let end = table.column("EndTimeUnixNano")?;
            let mut range: Option<(Millis, Millis)> = None;
            for row in &table.rows {
                let nanos = |column: usize| -> Result<i64, NezhaError> {
                    let text = table.field(row, column)?;
                    text.parse().map_err(|_| {
                        table.invalid(format!("line {}: {} is not an integer: {text:?}", line_of(row), table.header[column]))
                    })
                };
                let (started, ended) = (nanos(start)?, nanos(end)?);
                let at = started / 1_000_000;
                if at > until {
                    continue;
                }
                range = Some(range.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
                let parent_id = table.field(row, parent)?;
                batch.spans.push(Span {
                    trace_id: table.field(row, trace)?.to_string(),
                    span_id: table.field(row, span)?.to_string(),
                    parent_id: (parent_id != "root" && !parent_id.is_empty()).then(|| parent_id.to_string()),
                    service: service_of_pod(table.field(row, pod)?).to_string(),
                    start: at,
                    duration_ms: (ended - started) as f64 / 1e6,
                });
            }
            batch.covered.extend(range);
        }
        Ok(Some(batch))
    }
}

/// A trace or span id cell; an empty one (a line written outside any request) is no id.
fn optional_id(table: &Table, row: &csv::StringRecord, column: Option<usize>) -> Result<Option<String>, NezhaError> {
    let Some(column) = column else { return Ok(None) };
    let id = table.field(row, column)?.trim();
    Ok((!id.is_empty()).then(|| id.to_string()))
}

fn line_of(row: &csv::StringRecord) -> u64 {
    row.position().map_or(0, |position| position.line())
}

/// The `HH_MM` names of the per-minute files that can hold data from `[from, to]`. A file is
/// named after the minute its data ends in, so one more minute is needed at the end.
fn minute_files(from: Millis, to: Millis) -> Vec<String> {
    let first = from.div_euclid(MINUTE);
    let last = to.div_euclid(MINUTE) + 1;
    (first..=last)
        .map(|minute| {
            let of_day = minute.rem_euclid(24 * 60);
            format!("{:02}_{:02}", of_day / 60, of_day % 60)
        })
        .collect()
}

/// The application's own line out of the container runtime's JSON wrapper (`{"log": …}`).
fn unwrap_log(field: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(field) {
        Ok(serde_json::Value::Object(object)) => match object.get("log") {
            Some(serde_json::Value::String(line)) => line.trim_end().to_string(),
            _ => field.to_string(),
        },
        _ => field.to_string(),
    }
}

fn read_pod_metrics(path: &Path, pod: &str) -> Result<Vec<MetricSeries>, NezhaError> {
    let table = Table::read(path)?;
    // `Time`, not `TimeStamp`: one upstream file has a corrupt `TimeStamp` column.
    let time = table.column("Time")?;
    let service = service_of_pod(pod).to_string();
    let value_columns: Vec<usize> = (0..table.header.len())
        .filter(|column| !matches!(table.header[*column].as_str(), "Time" | "TimeStamp" | "PodName"))
        .collect();
    let mut series: Vec<MetricSeries> = value_columns
        .iter()
        .map(|column| MetricSeries { service: service.clone(), metric: table.header[*column].clone(), points: Vec::new() })
        .collect();
    for row in &table.rows {
        let at = table.time_field(row, time)?;
        for (one, column) in series.iter_mut().zip(&value_columns) {
            // An empty or unparsable cell is a missing sample, not a broken file.
            if let Ok(value) = table.field(row, *column)?.parse::<f64>() {
                one.points.push((at, value));
            }
        }
    }
    Ok(series)
}

/// `source_50.csv`-style files: a `time` column and one `caller_callee` column per edge.
fn read_edge_series(path: &Path, view: &str) -> Result<Vec<EdgeSeries>, NezhaError> {
    let table = Table::read(path)?;
    let time = table.column("time")?;
    let mut series = Vec::new();
    for (column, name) in table.header.iter().enumerate() {
        let Some((caller, callee)) = name.split_once('_') else { continue };
        if column == time || name == "timestamp" {
            continue;
        }
        let mut points = Vec::new();
        for row in &table.rows {
            if let Ok(value) = table.field(row, column)?.parse::<f64>() {
                points.push((table.time_field(row, time)?, value));
            }
        }
        series.push(EdgeSeries { caller: caller.to_string(), callee: callee.to_string(), view: view.to_string(), points });
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_files_cover_the_windows_and_wrap_at_midnight() {
        let at = |text: &str| parse_time(text).unwrap();
        assert_eq!(
            minute_files(at("2023-01-29 08:38:04"), at("2023-01-29 08:41:04")),
            ["08_38", "08_39", "08_40", "08_41", "08_42"]
        );
        assert_eq!(minute_files(at("2023-01-29 23:59:00"), at("2023-01-30 00:00:30")), ["23_59", "00_00", "00_01"]);
    }

    #[test]
    fn log_lines_are_unwrapped_from_their_json() {
        assert_eq!(unwrap_log(r#"{"log":"16:42:22.382 INFO  ok\n","stream":"stdout"}"#), "16:42:22.382 INFO  ok");
        assert_eq!(unwrap_log("plain line"), "plain line");
    }
}
