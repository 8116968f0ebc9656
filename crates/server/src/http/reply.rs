//! JSON bodies of one named field, `{"alerts": [...]}`, the shape of every listing.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// `{"<name>": value}`, serialized straight from `value`. `serde_json::json!` would first copy
/// `value` into a tree of `serde_json::Value`s (an allocation per field and per label) and then
/// serialize that: for a page of 1,000 alerts, more work than reading the page from SQLite.
pub(crate) struct Named<'a, T: ?Sized>(pub &'static str, pub &'a T);

impl<T: Serialize + ?Sized> Serialize for Named<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::Named;

    #[test]
    fn a_named_value_reads_back_as_the_object_json_would_have_built() {
        let labels = std::collections::BTreeMap::from([("service", "checkout"), ("alertname", "Down")]);
        let direct = serde_json::to_value(Named("labels", &labels)).unwrap();
        assert_eq!(direct, serde_json::json!({ "labels": labels }));
    }
}
