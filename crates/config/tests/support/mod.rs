//! Helpers for tests that compare generated rules with Sloth's: locating the shared
//! fixtures, reading multi-document YAML into JSON values, and a readable difference.

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// `../shared/data/sloth-fixtures` beside the repository, or `None` (with a message).
pub fn fixtures_dir() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sloth-fixtures");
    if path.is_dir() {
        return Some(path);
    }
    println!("skipped: ../shared/data/sloth-fixtures absent");
    None
}

/// Sloth's expected files are Go templates using only `{{ .version }}` and string literals
/// such as `{{"{{$labels.sloth_slo}}"}}` (which render as the literal's text).
pub fn render_expected_template(template: &str) -> String {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        rendered.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('"') {
            let end = literal.find("\"}}").expect("closed string literal");
            rendered.push_str(&literal[..end]);
            rest = &literal[end + 3..];
            continue;
        }
        let end = after.find("}}").expect("closed action");
        assert_eq!(after[..end].trim(), ".version", "unexpected template action in fixture");
        rendered.push_str("dev");
        rest = &after[end + 2..];
    }
    rendered.push_str(rest);
    rendered
}

/// Every document of `text`, with the values of `sloth_version` and `sloth_mode` labels
/// blanked (they name the generator, not the rules).
pub fn normalized_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut documents: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|error| error.to_string())?;
    documents.retain(|document| !document.is_null());
    for document in &mut documents {
        blank_generator_labels(document);
    }
    Ok(documents)
}

fn blank_generator_labels(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "labels"
                    && let Value::Object(labels) = child
                {
                    for name in ["sloth_version", "sloth_mode"] {
                        if let Some(label) = labels.get_mut(name) {
                            *label = Value::String("<ignored>".into());
                        }
                    }
                }
                blank_generator_labels(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_generator_labels),
        _ => {}
    }
}

/// The first differences between `expected` and `actual`, each with its path, or `None`.
pub fn yaml_difference(expected: &[Value], actual: &[Value]) -> Option<String> {
    let mut differences = Vec::new();
    if expected.len() != actual.len() {
        differences.push(format!("document count: expected {}, got {}", expected.len(), actual.len()));
    }
    for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        collect_differences(&format!("document[{index}]"), expected, actual, &mut differences);
    }
    if differences.is_empty() {
        return None;
    }
    differences.truncate(12);
    Some(differences.join("\n"))
}

fn collect_differences(path: &str, expected: &Value, actual: &Value, differences: &mut Vec<String>) {
    if differences.len() >= 12 || expected == actual {
        return;
    }
    match (expected, actual) {
        (Value::Object(expected_map), Value::Object(actual_map)) => {
            for (key, expected_child) in expected_map {
                let child_path = format!("{path}.{key}");
                match actual_map.get(key) {
                    Some(actual_child) => collect_differences(&child_path, expected_child, actual_child, differences),
                    None => differences.push(format!("{child_path}: missing (expected {expected_child})")),
                }
            }
            for key in actual_map.keys().filter(|key| !expected_map.contains_key(*key)) {
                differences.push(format!("{path}.{key}: unexpected (got {})", actual_map[key]));
            }
        }
        (Value::Array(expected_items), Value::Array(actual_items)) => {
            if expected_items.len() != actual_items.len() {
                differences.push(format!("{path}: expected {} items, got {}", expected_items.len(), actual_items.len()));
            }
            for (index, (expected_item, actual_item)) in expected_items.iter().zip(actual_items).enumerate() {
                collect_differences(&format!("{path}[{index}]"), expected_item, actual_item, differences);
            }
        }
        _ => differences.push(format!("{path}:\n  expected: {expected}\n  got:      {actual}")),
    }
}
