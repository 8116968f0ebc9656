//! Root-cause signals for an incident, as pure functions: given what was observed around an
//! onset (metric series, per-edge latencies, trace spans, log lines) and the call graph, rank
//! the services most likely to be the cause, each with evidence for and against and a
//! confidence, abstaining when the evidence is weak.
//!
//! Nothing here reads a file, a clock or a random number generator: the onset and every
//! timestamp arrive as parameters (milliseconds since the Unix epoch), so an investigation
//! can be replayed "as of" any time. Readers for recorded data sets live in `staunch-eval`.

pub mod combine;
pub mod drain;
pub mod evidence;
pub mod graph;
pub mod logs;
pub mod metrics;
pub mod network;
pub mod peers;
pub mod robust;
pub mod traces;

pub use combine::{CaseInput, Hypothesis, Investigation, Settings, investigate};
pub use evidence::{Evidence, Modality, ServiceScores};
pub use graph::CallGraph;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The two windows compared around an onset: `[onset - before, onset)` is normal,
/// `[onset, onset + after]` is what the incident changed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Windows {
    pub onset: Millis,
    pub before_ms: i64,
    pub after_ms: i64,
}

impl Windows {
    pub fn is_before(&self, at: Millis) -> bool {
        at < self.onset && at >= self.onset - self.before_ms
    }

    pub fn is_after(&self, at: Millis) -> bool {
        at >= self.onset && at <= self.onset + self.after_ms
    }
}
