//! JSON bodies of one named field, `{"alerts": [...]}`, the shape of every listing.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
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

/// A page of rows as `{"<name>": [row, ...]}`, written out a chunk at a time as the client
/// reads it. With the whole body built first, a page of 1,000 alerts (717 KiB of JSON) sat in
/// memory beside its rows, in a buffer doubled up to 1 MiB; here a row's memory is freed once
/// its JSON is in a chunk.
pub(crate) struct StreamedList<T> {
    pub name: &'static str,
    pub rows: Vec<T>,
}

/// Rows are serialized until a chunk passes this many bytes.
const CHUNK_BYTES: usize = 32 * 1024;

impl<T: Serialize + Send + 'static> IntoResponse for StreamedList<T> {
    fn into_response(self) -> Response {
        let chunks = JsonChunks { name: Some(self.name), rows: self.rows.into_iter(), first_row: true, closed: false };
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

struct JsonChunks<T> {
    /// Taken by the first chunk, which opens the object.
    name: Option<&'static str>,
    rows: std::vec::IntoIter<T>,
    first_row: bool,
    closed: bool,
}

impl<T: Serialize> Iterator for JsonChunks<T> {
    type Item = Result<Bytes, serde_json::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.closed {
            return None;
        }
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        if let Some(name) = self.name.take() {
            chunk.push(b'{');
            if let Err(error) = serde_json::to_writer(&mut chunk, name) {
                return Some(Err(error));
            }
            chunk.extend_from_slice(b":[");
        }
        while chunk.len() < CHUNK_BYTES {
            let Some(row) = self.rows.next() else {
                chunk.extend_from_slice(b"]}");
                self.closed = true;
                break;
            };
            if !std::mem::take(&mut self.first_row) {
                chunk.push(b',');
            }
            // A row that cannot be serialized ends the body early: hyper then aborts the
            // response, so the client sees a broken transfer rather than a short page.
            if let Err(error) = serde_json::to_writer(&mut chunk, &row) {
                tracing::error!(%error, "a listing row could not be serialized");
                self.closed = true;
                return Some(Err(error));
            }
        }
        Some(Ok(Bytes::from(chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::{JsonChunks, Named};

    fn chunks_of<T: serde::Serialize>(rows: Vec<T>) -> Vec<Vec<u8>> {
        let chunks = JsonChunks { name: Some("rows"), rows: rows.into_iter(), first_row: true, closed: false };
        chunks.map(|chunk| chunk.unwrap().to_vec()).collect()
    }

    #[test]
    fn streamed_rows_read_back_as_the_named_object() {
        for count in [0, 1, 2, 500, 3_000] {
            let rows: Vec<_> = (0..count)
                .map(|index| std::collections::BTreeMap::from([("index", index.to_string()), ("text", "x".repeat(40))]))
                .collect();
            let body = chunks_of(rows.clone()).concat();
            let read: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(read, serde_json::to_value(Named("rows", &rows)).unwrap(), "{count} rows");
        }
    }

    #[test]
    fn a_long_page_is_written_in_chunks_of_bounded_size() {
        let rows: Vec<String> = (0..10_000).map(|index| format!("row {index} {}", "y".repeat(60))).collect();
        let chunks = chunks_of(rows);
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        let largest = chunks.iter().map(Vec::len).max().unwrap();
        assert!(largest < super::CHUNK_BYTES + 100, "a chunk of {largest} bytes");
    }

    #[test]
    fn a_named_value_reads_back_as_the_object_json_would_have_built() {
        let labels = std::collections::BTreeMap::from([("service", "checkout"), ("alertname", "Down")]);
        let direct = serde_json::to_value(Named("labels", &labels)).unwrap();
        assert_eq!(direct, serde_json::json!({ "labels": labels }));
    }
}
