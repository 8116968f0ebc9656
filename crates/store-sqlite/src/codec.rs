//! The encodings this backend writes (microsecond timestamps, JSON as text) and the one step
//! of reading them back that is its own: parsing a JSON column's text. Rows are read through
//! the shared codec (`staunch_store::codec`) by `statement.rs`.

use staunch_store::StoreResult;
use staunch_store::codec;
/// How this backend writes what the shared codec reads back.
pub(crate) use staunch_store::codec::{json_text, micros, optional_micros};

/// A JSON column's text, parsed; text that is not a `T` is corrupt data, named by column.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| codec::corrupt_column(column, error))
}
