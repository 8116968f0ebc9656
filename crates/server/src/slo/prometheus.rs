//! Pulling an SLI from a Prometheus server: instant queries over its HTTP API
//! (`/api/v1/query`), each returning the increase of good, bad or total events over the
//! evaluation tick. Anything but a well-formed finite answer is an error: the SLO becomes
//! unknown, never ok.

use crate::prometheus_api::{PrometheusClient, QueryData, parse_answer, seconds};
use jiff::Timestamp;
use staunch_config::prometheus_auth::PrometheusAuth;
use staunch_config::slos::EventQueries;
use staunch_config::sloth::{prom_duration, render_window};
use staunch_domain::duration::HumanDuration;

pub use crate::prometheus_api::PullError;

/// Bad and total events over one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PulledCounts {
    pub bad: u64,
    pub total: u64,
}

/// Parses an instant-query answer into the sum of its samples (an empty vector is zero
/// events: nothing matched in the window).
pub fn parse_query_answer(query: &str, status: u16, body: &[u8]) -> Result<f64, PullError> {
    sum_of(query, parse_answer(query, status, body)?)
}

/// The sum of an instant query's samples, each a finite, non-negative count.
fn sum_of(query: &str, data: QueryData) -> Result<f64, PullError> {
    let malformed = |message: String| PullError::Malformed { query: query.to_string(), message };
    let values: Vec<String> = match data {
        QueryData::Vector(samples) => samples.into_iter().map(|sample| sample.value.1).collect(),
        QueryData::Scalar((_, value)) => vec![value],
        QueryData::Matrix(_) | QueryData::String(_) => {
            return Err(malformed("expected a vector or scalar result".to_string()));
        }
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
    client: PrometheusClient,
}

impl PrometheusSource {
    pub fn new(timeout: std::time::Duration) -> PrometheusSource {
        PrometheusSource { client: PrometheusClient::new(timeout) }
    }

    async fn instant(&self, url: &str, auth: &PrometheusAuth, query: &str, at: Timestamp) -> Result<f64, PullError> {
        let time = seconds(at);
        let data = self.client.get(url, auth, "/api/v1/query", query, &[("query", query), ("time", time.as_str())]).await?;
        sum_of(query, data)
    }

    /// Bad and total events in the `window` ending at `at`.
    pub async fn pull(
        &self,
        url: &str,
        auth: &PrometheusAuth,
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
        let first = self.instant(url, auth, &first, at).await?.round() as u64;
        let total = self.instant(url, auth, &total_query, at).await?.round() as u64;
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
