//! Prometheus's HTTP query API as Staunch reads it, for every caller: SLO pulls (instant
//! queries, `crate::slo::prometheus`) and investigation pulls (range queries,
//! `crate::signals::prometheus`). It owns the one client, the one error type and the parsing
//! of the answer's envelope (`status`, `error`, `data`), so both read Prometheus alike. What
//! each caller makes of the samples stays with it.
//!
//! URLs may carry basic-auth credentials (`http://user:password@host`): reqwest sends them,
//! and nothing here puts them in an error (errors are logged and shown in the API). The
//! configured auth (`bearer_token_file`, `basic_auth`, `headers`, resolved at load into
//! [`PrometheusAuth`]) is sent with every request, its `Authorization` marked sensitive.

use serde::Deserialize;
use staunch_config::prometheus_auth::PrometheusAuth;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PullError {
    #[error("cannot reach prometheus at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("prometheus answered {status} to {query:?}: {message}")]
    Refused { query: String, status: u16, message: String },
    #[error("malformed prometheus answer to {query:?}: {message}")]
    Malformed { query: String, message: String },
    #[error("invalid query template: {0}")]
    Template(String),
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error: Option<String>,
}

/// The `data` of a successful answer. Sample values are strings, as Prometheus sends them
/// (`"NaN"`, `"+Inf"` included); callers decide what a number must be.
#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Vector(Vec<InstantSample>),
    Scalar((f64, String)),
    Matrix(Vec<RangeSeries>),
    String(serde::de::IgnoredAny),
}

/// One series of an instant query.
#[derive(Debug, Deserialize)]
pub struct InstantSample {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    pub value: (f64, String),
}

/// One series of a range query: its labels and `[seconds, "value"]` pairs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RangeSeries {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<(f64, String)>,
}

/// Parses an answer to `query` with HTTP `status`: the data of a success, else why not.
pub fn parse_answer(query: &str, status: u16, body: &[u8]) -> Result<QueryData, PullError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        if status >= 400 {
            PullError::Refused {
                query: query.to_string(),
                status,
                message: String::from_utf8_lossy(body).chars().take(200).collect(),
            }
        } else {
            PullError::Malformed { query: query.to_string(), message: error.to_string() }
        }
    })?;
    if envelope.status != "success" || status >= 400 {
        return Err(PullError::Refused {
            query: query.to_string(),
            status,
            message: envelope.error.unwrap_or_else(|| format!("status {:?}", envelope.status)),
        });
    }
    envelope.data.ok_or_else(|| PullError::Malformed { query: query.to_string(), message: "no data".to_string() })
}

/// `url` as it may be shown: without the credentials of its authority, if any.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://<redacted>@{host}{}", &rest[authority_end..]),
        None => url.to_string(),
    }
}

/// A time as Prometheus reads it: seconds since the epoch, to the millisecond.
pub fn seconds(at: jiff::Timestamp) -> String {
    millis_as_seconds(at.as_millisecond())
}

/// Milliseconds as the seconds Prometheus reads (times, steps, timeouts): `1500` is `1.500`.
pub fn millis_as_seconds(millis: i64) -> String {
    format!("{:.3}", millis as f64 / 1000.0)
}

/// Queries Prometheus servers; every request ends within `timeout`.
#[derive(Clone)]
pub struct PrometheusClient {
    client: reqwest::Client,
    timeout: std::time::Duration,
}

impl PrometheusClient {
    pub fn new(timeout: std::time::Duration) -> PrometheusClient {
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
        PrometheusClient { client, timeout }
    }

    /// Why a request failed, in words a responder can act on: reqwest's own message stops at
    /// "error sending request", the cause is in its sources.
    fn describe(&self, error: reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("no answer within {:?}", self.timeout);
        }
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    }

    /// `GET {url}{path}?params` with `auth`'s headers, and the parsed answer to `query`.
    pub async fn get(
        &self,
        url: &str,
        auth: &PrometheusAuth,
        path: &str,
        query: &str,
        params: &[(&str, &str)],
    ) -> Result<QueryData, PullError> {
        // reqwest's errors name the URL they failed on, credentials included: leave it out.
        let unreachable = |error: reqwest::Error| PullError::Unreachable { url: shown_url(url), message: self.describe(error) };
        let mut request = self.client.get(format!("{url}{path}")).query(params);
        for (name, value, sensitive) in auth.headers() {
            // Names and values were checked at load; one that still fails is left out rather
            // than failing the request with the secret in the error.
            let (Ok(name), Ok(mut value)) =
                (reqwest::header::HeaderName::try_from(name), reqwest::header::HeaderValue::try_from(value))
            else {
                continue;
            };
            value.set_sensitive(sensitive);
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        parse_answer(query, status, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_and_times_are_seconds() {
        assert_eq!(shown_url("http://me:hunter2@prom:9090/x@y"), "http://<redacted>@prom:9090/x@y");
        assert_eq!(shown_url("https://prom:9090"), "https://prom:9090");
        let at: jiff::Timestamp = "2026-11-22T10:00:00.250Z".parse().unwrap();
        assert_eq!(seconds(at), "1795341600.250");
    }

    #[test]
    fn the_envelope_is_checked_before_the_data() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"2"]]}]}}"#;
        let Ok(QueryData::Matrix(series)) = parse_answer("q", 200, matrix.as_bytes()) else { panic!("a matrix") };
        assert_eq!(series[0].values, vec![(1.0, "2".to_string())]);
        let refused = parse_answer("q", 422, br#"{"status":"error","errorType":"execution","error":"too many samples"}"#);
        assert!(
            matches!(&refused, Err(PullError::Refused { status: 422, message, .. }) if message == "too many samples"),
            "{refused:?}"
        );
        assert!(matches!(parse_answer("q", 502, b"<html>bad gateway</html>"), Err(PullError::Refused { status: 502, .. })));
        assert!(matches!(parse_answer("q", 200, b"{"), Err(PullError::Malformed { .. })));
        assert!(matches!(parse_answer("q", 200, br#"{"status":"success"}"#), Err(PullError::Malformed { .. })));
    }
}
