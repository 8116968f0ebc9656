//! Label sets: the ordered name → value maps that alerts carry and matchers read.

use std::collections::BTreeMap;

/// A set of labels. Ordered so that fingerprints, group keys and rendering are deterministic.
pub type Labels = BTreeMap<String, String>;

/// Alertmanager's alert fingerprint: 64-bit FNV-1a over the sorted label names and values,
/// each followed by the separator byte 0xff, rendered as 16 lowercase hex digits.
///
/// Alertmanager sends `fingerprint` in its webhook payloads; when a payload omits it we
/// compute the same value so that deduplication agrees with the sender.
pub fn alertmanager_fingerprint(labels: &Labels) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    const SEPARATOR: u8 = 0xff;
    let mut hash = OFFSET_BASIS;
    let mut add = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[SEPARATOR]);
        add(value.as_bytes());
        add(&[SEPARATOR]);
    }
    format!("{hash:016x}")
}

/// The values of `names` in `labels`, rendered as `name="value"` pairs joined by commas.
/// Missing labels render as empty values, as Alertmanager's group keys do.
pub fn group_key(labels: &Labels, names: &[String]) -> String {
    let mut parts = Vec::with_capacity(names.len());
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    sorted.dedup();
    for name in sorted {
        let value = labels.get(name).map(String::as_str).unwrap_or("");
        parts.push(format!("{name}={value:?}"));
    }
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_of_empty_label_set_is_fnv_offset_basis() {
        assert_eq!(alertmanager_fingerprint(&Labels::new()), "cbf29ce484222325");
    }

    #[test]
    fn group_key_is_order_independent_and_renders_missing_labels_empty() {
        let labels: Labels = [("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into();
        let key = group_key(&labels, &["b".into(), "a".into(), "c".into()]);
        assert_eq!(key, r#"{a="1",b="2",c=""}"#);
    }
}
