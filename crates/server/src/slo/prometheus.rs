//! Pulling an SLI from a Prometheus server: instant queries over its HTTP API
//! (`/api/v1/query`), each returning the increase of good, bad or total events over the
//! evaluation tick. Anything but a well-formed finite answer is an error: the SLO becomes
//! unknown, never ok.

use jiff::Timestamp;
use serde::Deserialize;
use staunch_config::slos::EventQueries;
use staunch_config::sloth::{prom_duration, render_window};
use staunch_domain::duration::HumanDuration;

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

/// Bad and total events over one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PulledCounts {
    pub bad: u64,
    pub total: u64,
}

#[derive(Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<Sample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Sample {
    value: (f64, String),
}

/// Parses an instant-query answer into the sum of its samples (an empty vector is zero
/// events: nothing matched in the window).
pub fn parse_query_answer(query: &str, status: u16, body: &[u8]) -> Result<f64, PullError> {
    let malformed = |message: String| PullError::Malformed { query: query.to_string(), message };
    let answer: QueryResponse = serde_json::from_slice(body).map_err(|error| {
        if status >= 400 {
            PullError::Refused {
                query: query.to_string(),
                status,
                message: String::from_utf8_lossy(body).chars().take(200).collect(),
            }
        } else {
            malformed(error.to_string())
        }
    })?;
    if answer.status != "success" || status >= 400 {
        return Err(PullError::Refused {
            query: query.to_string(),
            status,
            message: answer.error.unwrap_or_else(|| format!("status {:?}", answer.status)),
        });
    }
    let values: Vec<String> = match answer.data {
        Some(QueryData::Vector(samples)) => samples.into_iter().map(|sample| sample.value.1).collect(),
        Some(QueryData::Scalar((_, value))) => vec![value],
        Some(QueryData::Matrix(_)) | Some(QueryData::String(_)) => {
            return Err(malformed("expected a vector or scalar result".to_string()));
        }
        None => return Err(malformed("no data".to_string())),
    };
    let mut sum = 0.0;
    for value in values {
        let number: f64 = value.parse().map_err(|_| malformed(format!("sample value {value:?} is not a number")))?;
        if !number.is_finite() || number < 0.0 {
            return Err(malformed(format!("sample value {value:?} is not a finite count of events")));
        }
        sum += number;
    }
    Ok(sum)
}

/// Queries one Prometheus server.
#[derive(Clone)]
pub struct PrometheusSource {
    client: reqwest::Client,
}

impl PrometheusSource {
    pub fn new(timeout: std::time::Duration) -> PrometheusSource {
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
        PrometheusSource { client }
    }

    async fn instant(&self, url: &str, query: &str, at: Timestamp) -> Result<f64, PullError> {
        let endpoint = format!("{url}/api/v1/query");
        let time = format!("{:.3}", at.as_millisecond() as f64 / 1000.0);
        let response = self
            .client
            .get(&endpoint)
            .query(&[("query", query), ("time", time.as_str())])
            .send()
            .await
            .map_err(|error| PullError::Unreachable { url: url.to_string(), message: error.to_string() })?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| PullError::Unreachable { url: url.to_string(), message: error.to_string() })?;
        parse_query_answer(query, status, &body)
    }

    /// Bad and total events in the `window` ending at `at`.
    pub async fn pull(
        &self,
        url: &str,
        queries: &EventQueries,
        window: HumanDuration,
        at: Timestamp,
    ) -> Result<PulledCounts, PullError> {
        let window = prom_duration(window);
        let render = |template: &str| render_window(template, &window).map_err(PullError::Template);
        let (first, total_query, first_is_bad) = match queries {
            EventQueries::ErrorOverTotal { error_query, total_query } => (render(error_query)?, render(total_query)?, true),
            EventQueries::GoodOverTotal { good_query, total_query } => (render(good_query)?, render(total_query)?, false),
        };
        let first = self.instant(url, &first, at).await?.round() as u64;
        let total = self.instant(url, &total_query, at).await?.round() as u64;
        // Two queries are two reads: a counter can move between them, so clamp.
        let bad = if first_is_bad { first.min(total) } else { total - first.min(total) };
        Ok(PulledCounts { bad, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_summed_or_refused_with_a_reason() {
        let ok = |body: &str| parse_query_answer("q", 200, body.as_bytes());
        assert_eq!(ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#), Ok(0.0));
        assert_eq!(
            ok(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2.5"]},{"metric":{"a":"b"},"value":[1,"1"]}]}}"#
            ),
            Ok(3.5)
        );
        assert_eq!(ok(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}"#), Ok(7.0));
        let refused = [
            (200, "not json"),
            (200, r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#),
            (200, r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"-3"]}]}}"#),
            (200, r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#),
            (200, r#"{"status":"success"}"#),
            (400, r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#),
            (503, "service unavailable"),
        ];
        for (status, body) in refused {
            let error = parse_query_answer("q", status, body.as_bytes()).unwrap_err();
            assert!(matches!(error, PullError::Malformed { .. } | PullError::Refused { .. }), "{body}: {error}");
        }
        let error = parse_query_answer("q", 400, br#"{"status":"error","error":"parse error at char 3"}"#).unwrap_err();
        assert!(error.to_string().contains("parse error at char 3"), "{error}");
    }
}
