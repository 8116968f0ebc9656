//! The tables an export holds and the JSON shape of their rows, the same for every backend.
//!
//! A row is a JSON object with one member per column: integers (ids and timestamps, which the
//! database holds as microseconds since the Unix epoch), strings, booleans, and JSON columns
//! as JSON values (not strings). Backends read rows through [`ColumnReader`] and write the
//! checked [`Cell`]s, so neither has its own idea of the shape.

use crate::codec::ColumnReader;
use crate::{StoreError, StoreResult};
use serde_json::{Map, Value};

/// What a column holds, as [`ColumnReader`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    OptionalInt,
    Text,
    OptionalText,
    Bool,
    /// TEXT in SQLite, JSONB in PostgreSQL; a JSON value in the export.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// Every column, `id` first. Backends select and insert exactly these.
    pub columns: &'static [Column],
    /// Rows the migrations insert (the default organisation). A new database holds them and
    /// still counts as empty; an import replaces them by id.
    pub seeded_ids: &'static [i64],
}

impl Table {
    /// `id, org_id, ...` for a `SELECT` or an `INSERT` column list.
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|column| column.name).collect::<Vec<_>>().join(", ")
    }
}

const fn int(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::Int }
}
const fn optional_int(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::OptionalInt }
}
const fn text(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::Text }
}
const fn optional_text(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::OptionalText }
}
const fn boolean(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::Bool }
}
const fn json(name: &'static str) -> Column {
    Column { name, kind: ColumnKind::Json }
}

/// Tables an export leaves out on purpose: pushed telemetry is disposable (kept for a
/// retention of days, re-sent by its sources), and copying it would make dumps large for
/// nothing an incident record needs.
pub const NOT_EXPORTED: &[&str] = &["telemetry_logs", "telemetry_metrics", "telemetry_spans"];

/// Every table of the schema but [`NOT_EXPORTED`], in the order an import loads them: a table comes after the
/// tables its rows refer to (alerts, timeline and deliveries refer to incidents).
pub const TABLES: &[Table] = &[
    Table { name: "organisations", columns: &[int("id"), text("slug"), text("name"), int("created_at")], seeded_ids: &[1] },
    Table {
        name: "incidents",
        columns: &[
            int("id"),
            int("org_id"),
            text("title"),
            text("service_id"),
            text("severity"),
            text("state"),
            text("group_key"),
            optional_text("assignee"),
            optional_text("escalation_policy_id"),
            int("escalation_level"),
            int("escalation_cycle"),
            boolean("auto_resolve"),
            int("created_at"),
            int("updated_at"),
            optional_int("acknowledged_at"),
            optional_int("mitigated_at"),
            optional_int("resolved_at"),
            optional_int("noise_ppm"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "alerts",
        columns: &[
            int("id"),
            int("org_id"),
            text("service_id"),
            text("dedup_key"),
            boolean("firing"),
            text("summary"),
            text("severity"),
            json("labels"),
            json("annotations"),
            json("details"),
            json("links"),
            json("images"),
            text("format"),
            optional_int("incident_id"),
            optional_int("silenced_by"),
            int("first_seen"),
            int("last_seen"),
            optional_int("starts_at"),
            optional_int("resolved_at"),
            int("event_count"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "timeline",
        columns: &[
            int("id"),
            int("org_id"),
            int("incident_id"),
            int("at"),
            text("actor_kind"),
            text("actor_id"),
            text("kind"),
            json("data"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "jobs",
        columns: &[int("id"), int("org_id"), text("kind"), optional_int("incident_id"), int("run_at"), json("payload")],
        seeded_ids: &[],
    },
    Table {
        name: "deliveries",
        columns: &[
            int("id"),
            int("org_id"),
            int("incident_id"),
            text("idempotency_key"),
            text("user_id"),
            text("contact_method_id"),
            text("channel"),
            text("event"),
            json("payload"),
            text("state"),
            int("attempts"),
            int("next_attempt_at"),
            optional_int("lease_until"),
            optional_text("last_error"),
            int("created_at"),
            optional_int("sent_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "change_events",
        columns: &[
            int("id"),
            int("org_id"),
            text("service_id"),
            text("summary"),
            optional_text("source"),
            int("at"),
            int("received_at"),
            json("details"),
            json("links"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "silences",
        columns: &[
            int("id"),
            int("org_id"),
            text("matchers"),
            int("starts_at"),
            int("ends_at"),
            json("created_by"),
            text("comment"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "api_tokens",
        // The SHA-256 of each secret: the secret itself was never stored, so it cannot leak here.
        columns: &[
            int("id"),
            int("org_id"),
            text("name"),
            optional_text("user_id"),
            text("role"),
            text("token_sha256"),
            int("created_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "slo_buckets",
        columns: &[int("id"), int("org_id"), text("slo_id"), int("minute_start"), int("good"), int("total")],
        seeded_ids: &[],
    },
    Table {
        name: "action_items",
        columns: &[
            int("id"),
            int("org_id"),
            int("incident_id"),
            text("text"),
            optional_text("owner"),
            optional_text("due"),
            text("status"),
            text("actor_kind"),
            text("actor_id"),
            int("created_at"),
            int("updated_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "runbook_runs",
        columns: &[
            int("id"),
            int("org_id"),
            int("incident_id"),
            text("runbook"),
            json("definition"),
            optional_text("symptom"),
            boolean("dry_run"),
            text("started_by_kind"),
            text("started_by_id"),
            text("state"),
            json("progress"),
            int("created_at"),
            int("updated_at"),
            optional_int("finished_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "deploy_links",
        columns: &[
            int("id"),
            int("org_id"),
            int("incident_id"),
            text("service_id"),
            int("change_id"),
            json("deploy"),
            int("linked_at"),
            optional_text("rollback_runbook"),
            boolean("rollback_approval"),
            text("rollback_state"),
            optional_int("rollback_run_id"),
            optional_text("rollback_note"),
            int("updated_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "llm_exchanges",
        columns: &[
            int("id"),
            int("org_id"),
            optional_int("incident_id"),
            text("purpose"),
            text("provider"),
            text("model"),
            text("prompt"),
            optional_text("response"),
            optional_text("error"),
            int("started_at"),
            int("finished_at"),
        ],
        seeded_ids: &[],
    },
    Table {
        name: "catalog_entities",
        columns: &[int("id"), int("org_id"), text("entity_ref"), json("entity"), int("updated_at")],
        seeded_ids: &[],
    },
    Table {
        name: "investigations",
        columns: &[int("id"), int("org_id"), int("incident_id"), int("computed_at"), json("result")],
        seeded_ids: &[],
    },
    Table {
        name: "audit_log",
        columns: &[
            int("id"),
            int("org_id"),
            int("at"),
            text("actor_kind"),
            text("actor_id"),
            text("origin"),
            text("action"),
            text("target"),
            json("details"),
        ],
        seeded_ids: &[],
    },
];

pub fn table_named(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|table| table.name == name)
}

/// One checked column value of a row being imported, in the table's column order.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Json(Value),
}

/// A row as the export writes it.
pub fn row_to_json<R: ColumnReader + ?Sized>(table: &Table, row: &R) -> StoreResult<Value> {
    let mut object = Map::with_capacity(table.columns.len());
    for column in table.columns {
        let value = match column.kind {
            ColumnKind::Int => Value::from(row.int(column.name)?),
            ColumnKind::OptionalInt => row.optional_int(column.name)?.map_or(Value::Null, Value::from),
            ColumnKind::Text => Value::from(row.text(column.name)?),
            ColumnKind::OptionalText => row.optional_text(column.name)?.map_or(Value::Null, Value::from),
            ColumnKind::Bool => Value::from(row.boolean(column.name)?),
            ColumnKind::Json => row.json(column.name)?,
        };
        object.insert(column.name.to_string(), value);
    }
    Ok(Value::Object(object))
}

/// Checks an exported row against its table and returns its cells in column order. Every
/// column must be there with a value of its kind, and nothing else; the error names the
/// column.
pub fn row_cells(table: &Table, row: Value) -> StoreResult<Vec<Cell>> {
    let bad = |message: String| StoreError::Corrupt(format!("table {}: {message}", table.name));
    let Value::Object(mut object) = row else {
        return Err(bad("a row must be a JSON object".into()));
    };
    let mut cells = Vec::with_capacity(table.columns.len());
    for column in table.columns {
        let Some(value) = object.remove(column.name) else {
            return Err(bad(format!("column {} is missing", column.name)));
        };
        let wrong = |expected: &str| bad(format!("column {}: expected {expected}, found {value}", column.name));
        let cell = match (column.kind, &value) {
            (ColumnKind::Int, Value::Number(number)) | (ColumnKind::OptionalInt, Value::Number(number)) => {
                Cell::Int(Some(number.as_i64().ok_or_else(|| wrong("a 64-bit integer"))?))
            }
            (ColumnKind::OptionalInt, Value::Null) => Cell::Int(None),
            (ColumnKind::Int, _) => return Err(wrong("an integer")),
            (ColumnKind::OptionalInt, _) => return Err(wrong("an integer or null")),
            (ColumnKind::Text | ColumnKind::OptionalText, Value::String(text)) => Cell::Text(Some(text.clone())),
            (ColumnKind::OptionalText, Value::Null) => Cell::Text(None),
            (ColumnKind::Text, _) => return Err(wrong("a string")),
            (ColumnKind::OptionalText, _) => return Err(wrong("a string or null")),
            (ColumnKind::Bool, Value::Bool(flag)) => Cell::Bool(*flag),
            (ColumnKind::Bool, _) => return Err(wrong("true or false")),
            (ColumnKind::Json, _) => Cell::Json(value),
        };
        cells.push(cell);
    }
    if let Some(unknown) = object.keys().next() {
        return Err(bad(format!("unknown column {unknown}")));
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_table_starts_with_its_id_and_names_each_column_once() {
        for table in TABLES {
            assert_eq!(table.columns[0], int("id"), "{}", table.name);
            let mut names: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.columns.len(), "{}", table.name);
        }
    }

    #[test]
    fn rows_are_checked_column_by_column() {
        let table = table_named("jobs").unwrap();
        let good = json!({"id": 3, "org_id": 1, "kind": "escalate", "incident_id": null, "run_at": 10, "payload": {"level": 1}});
        assert_eq!(
            row_cells(table, good.clone()).unwrap(),
            vec![
                Cell::Int(Some(3)),
                Cell::Int(Some(1)),
                Cell::Text(Some("escalate".into())),
                Cell::Int(None),
                Cell::Int(Some(10)),
                Cell::Json(json!({"level": 1})),
            ]
        );
        let cases = [
            (json!([1, 2]), "a row must be a JSON object"),
            (json!({"id": 3}), "column org_id is missing"),
            (with(&good, "run_at", json!("10")), "column run_at: expected an integer"),
            (with(&good, "run_at", json!(null)), "column run_at: expected an integer"),
            (with(&good, "run_at", json!(1.5)), "column run_at: expected a 64-bit integer"),
            (with(&good, "kind", json!(7)), "column kind: expected a string"),
            (with(&good, "incident_id", json!(true)), "column incident_id: expected an integer or null"),
            (with(&good, "extra", json!(1)), "unknown column extra"),
        ];
        for (row, expected) in cases {
            let error = row_cells(table, row.clone()).unwrap_err().to_string();
            assert!(error.contains(expected), "{row}: {error}");
            assert!(error.contains("table jobs"), "{error}");
        }
        let incidents = table_named("incidents").unwrap();
        let error = row_cells(
            incidents,
            json!({"id": 1, "org_id": 1, "title": "t", "service_id": "s", "severity": "sev1",
            "state": "triggered", "group_key": "{}", "assignee": null, "escalation_policy_id": null, "escalation_level": 0,
            "escalation_cycle": 0, "auto_resolve": 1, "created_at": 0, "updated_at": 0, "acknowledged_at": null,
            "mitigated_at": null, "resolved_at": null}),
        )
        .unwrap_err();
        assert!(error.to_string().contains("column auto_resolve: expected true or false"), "{error}");
    }

    fn with(row: &Value, column: &str, value: Value) -> Value {
        let mut row = row.clone();
        row[column] = value;
        row
    }
}
