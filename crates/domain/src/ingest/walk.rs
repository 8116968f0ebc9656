//! Walking a parsed `serde_json::Value` by hand, field by field, recording every problem with
//! its JSON path instead of stopping at the first one (which is all `serde::Deserialize`
//! can do). Each format renders the recorded problems in its own wording.
//!
//! Conventions shared by all ingest formats: JSON `null` counts as absent (Go's nil maps and
//! slices, Python's `None` and JavaScript's `null` all serialize that way), and keys nobody
//! asked for are reported by [`JsonObject::finish`].

use crate::labels::Labels;
use serde_json::{Map, Value};

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// Required but absent, `null`, or (where the format says so) blank.
    Missing,
    /// Present with the wrong JSON type; `expected` reads like "a string".
    WrongType { expected: &'static str },
    /// A key the format does not define.
    UnknownField,
    /// Well typed but unacceptable; `message` is already in the format's own wording.
    Invalid { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// JSON path from the document root; empty for the root itself.
    pub path: String,
    pub kind: ProblemKind,
}

impl Problem {
    /// Missing fields and unacceptable values depend on context (PagerDuty only requires a
    /// payload for triggers); wrong types and unknown keys are wrong in every context.
    pub fn is_structural(&self) -> bool {
        matches!(self.kind, ProblemKind::WrongType { .. } | ProblemKind::UnknownField)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
}

impl Problems {
    pub fn missing(&mut self, path: impl Into<String>) {
        self.list.push(Problem { path: path.into(), kind: ProblemKind::Missing });
    }

    pub fn wrong_type(&mut self, path: impl Into<String>, expected: &'static str) {
        self.list.push(Problem { path: path.into(), kind: ProblemKind::WrongType { expected } });
    }

    pub fn invalid(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem { path: path.into(), kind: ProblemKind::Invalid { message: message.into() } });
    }

    pub fn unknown_field(&mut self, path: impl Into<String>) {
        self.list.push(Problem { path: path.into(), kind: ProblemKind::UnknownField });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn append(&mut self, other: Problems) {
        self.list.extend(other.list);
    }
}

/// `parent.key`, or `parent["odd key"]` when the key is not a plain identifier, so that a
/// label named `a.b` cannot be mistaken for a nested field.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    let is_plain_identifier = key.chars().next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && key.chars().all(|character| character.is_ascii_alphanumeric() || character == '_');
    if !is_plain_identifier {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("{key:?}"));
        return format!("{parent}[{quoted}]");
    }
    if parent.is_empty() {
        return key.to_string();
    }
    format!("{parent}.{key}")
}

/// `text` quoted for an error message, cut short so that a huge bad value is not echoed
/// back whole.
pub(crate) fn quoted_excerpt(text: &str) -> String {
    const MAX_CHARACTERS: usize = 64;
    if text.chars().count() <= MAX_CHARACTERS {
        return format!("{text:?}");
    }
    let excerpt: String = text.chars().take(MAX_CHARACTERS).collect();
    format!("{excerpt:?}...")
}

pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Whether a field was there, and usable.
#[derive(Debug)]
pub(crate) enum Field<T> {
    /// Absent or `null`.
    Absent,
    /// Present but unusable; the problem is already recorded.
    Bad,
    Present(T),
}

impl<T> Field<T> {
    pub fn optional(self) -> Option<T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Absent | Field::Bad => None,
        }
    }

    /// Records `Missing` at `path` when absent.
    pub fn required(self, path: &str, problems: &mut Problems) -> Option<T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Bad => None,
            Field::Absent => {
                problems.missing(path);
                None
            }
        }
    }
}

/// A JSON object being taken apart. Fields are removed as they are read, so whatever is
/// left at [`JsonObject::finish`] is unknown.
#[derive(Debug)]
pub(crate) struct JsonObject {
    path: String,
    fields: Map<String, Value>,
}

impl JsonObject {
    /// `None`, with a problem recorded, when `value` is not an object.
    pub fn from_value(value: Value, path: String, problems: &mut Problems) -> Option<JsonObject> {
        match value {
            Value::Object(fields) => Some(JsonObject { path, fields }),
            _ => {
                problems.wrong_type(path, "an object");
                None
            }
        }
    }

    pub fn field_path(&self, key: &str) -> String {
        child_path(&self.path, key)
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        match self.fields.remove(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    pub fn string(&mut self, key: &str, problems: &mut Problems) -> Field<String> {
        let Some(value) = self.take(key) else {
            return Field::Absent;
        };
        match value {
            Value::String(text) => Field::Present(text),
            _ => {
                problems.wrong_type(self.field_path(key), "a string");
                Field::Bad
            }
        }
    }

    /// A string where an empty (or all-whitespace) value means the same as no value, which is
    /// how Go senders encode unset optional strings.
    pub fn non_blank_string(&mut self, key: &str, problems: &mut Problems) -> Field<String> {
        match self.string(key, problems) {
            Field::Present(text) if text.trim().is_empty() => Field::Absent,
            other => other,
        }
    }

    pub fn object(&mut self, key: &str, problems: &mut Problems) -> Field<JsonObject> {
        let Some(value) = self.take(key) else {
            return Field::Absent;
        };
        match JsonObject::from_value(value, self.field_path(key), problems) {
            Some(object) => Field::Present(object),
            None => Field::Bad,
        }
    }

    pub fn array(&mut self, key: &str, problems: &mut Problems) -> Field<Vec<Value>> {
        let Some(value) = self.take(key) else {
            return Field::Absent;
        };
        match value {
            Value::Array(items) => Field::Present(items),
            _ => {
                problems.wrong_type(self.field_path(key), "an array");
                Field::Bad
            }
        }
    }

    pub fn unsigned_integer(&mut self, key: &str, problems: &mut Problems) -> Field<u64> {
        let Some(value) = self.take(key) else {
            return Field::Absent;
        };
        match value.as_u64() {
            Some(number) => Field::Present(number),
            None => {
                problems.wrong_type(self.field_path(key), "a non-negative integer");
                Field::Bad
            }
        }
    }

    /// An object whose values are all strings (labels, annotations). Every non-string value
    /// is reported under its own path; the map is `Bad` if any was.
    pub fn string_map(&mut self, key: &str, problems: &mut Problems) -> Field<Labels> {
        let Some(value) = self.take(key) else {
            return Field::Absent;
        };
        let path = self.field_path(key);
        let Value::Object(entries) = value else {
            problems.wrong_type(path, "an object");
            return Field::Bad;
        };
        let mut labels = Labels::new();
        let mut any_bad_value = false;
        for (name, value) in entries {
            match value {
                Value::String(text) => {
                    labels.insert(name, text);
                }
                _ => {
                    problems.wrong_type(child_path(&path, &name), "a string");
                    any_bad_value = true;
                }
            }
        }
        if any_bad_value {
            return Field::Bad;
        }
        Field::Present(labels)
    }

    /// Reports every key that was not read.
    pub fn finish(self, problems: &mut Problems) {
        for key in self.fields.keys() {
            problems.unknown_field(child_path(&self.path, key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_plain_identifiers() {
        let cases = [
            ("", "payload", "payload"),
            ("payload", "summary", "payload.summary"),
            ("alerts[3]", "labels", "alerts[3].labels"),
            ("alerts[0].labels", "a.b", r#"alerts[0].labels["a.b"]"#),
            ("", "", r#"[""]"#),
            ("", "9lives", r#"["9lives"]"#),
        ];
        for (parent, key, expected) in cases {
            assert_eq!(child_path(parent, key), expected, "parent {parent:?} key {key:?}");
        }
    }

    #[test]
    fn excerpts_are_quoted_and_cut_at_64_characters() {
        assert_eq!(quoted_excerpt("firing\n"), "\"firing\\n\"");
        assert_eq!(quoted_excerpt(&"é".repeat(64)), format!("\"{}\"", "é".repeat(64)));
        assert_eq!(quoted_excerpt(&"x".repeat(65)), format!("\"{}\"...", "x".repeat(64)));
    }

    #[test]
    fn null_counts_as_absent_and_leftover_keys_are_unknown() {
        let value = serde_json::json!({"a": null, "b": 1, "c": "x", "d": true});
        let mut problems = Problems::default();
        let mut object = JsonObject::from_value(value, String::new(), &mut problems).expect("object");
        assert!(matches!(object.string("a", &mut problems), Field::Absent));
        assert!(matches!(object.string("b", &mut problems), Field::Bad));
        assert!(matches!(object.string("c", &mut problems), Field::Present(text) if text == "x"));
        object.finish(&mut problems);
        let expected = vec![
            Problem { path: "b".into(), kind: ProblemKind::WrongType { expected: "a string" } },
            Problem { path: "d".into(), kind: ProblemKind::UnknownField },
        ];
        assert_eq!(problems.list, expected);
    }
}
