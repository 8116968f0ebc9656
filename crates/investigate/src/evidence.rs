//! What a signal found: per-service anomaly strengths for one modality, each backed by the
//! observations that produced it, so a hypothesis can say why it ranks where it does.

use serde::Serialize;
use std::collections::BTreeMap;

/// Where an observation came from. A case may lack any of them; the combiner uses those present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Metrics,
    Traces,
    Logs,
}

impl Modality {
    pub const ALL: [Modality; 3] = [Modality::Metrics, Modality::Traces, Modality::Logs];

    pub fn name(self) -> &'static str {
        match self {
            Modality::Metrics => "metrics",
            Modality::Traces => "traces",
            Modality::Logs => "logs",
        }
    }
}

/// One observation about one service, with its size in robust standard deviations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub modality: Modality,
    pub service: String,
    /// What was looked at, e.g. `CpuUsageRate(%)` or `frontend -> cartservice latency`.
    pub signal: String,
    /// A short human sentence with the numbers.
    pub detail: String,
    pub z: f64,
}

/// The strongest evidence per service for one modality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceScores {
    pub modality: Modality,
    /// Service → the largest z any of its evidence reached.
    pub strongest: BTreeMap<String, f64>,
    /// Service → its strongest few observations, strongest first.
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    /// Service → the largest z of evidence about its own behaviour ([`ServiceScores::add_own`]):
    /// its own CPU and memory, its own new or bursting error templates, its own code paths
    /// falling silent. A fault elsewhere does not make a service log new errors of its own
    /// as readily as it makes it slow.
    pub own: BTreeMap<String, f64>,
    /// Service → the largest z of symptoms ([`ServiceScores::add`]): latency, call rates and
    /// traffic, which travel along calls from a root to its callers.
    pub symptoms: BTreeMap<String, f64>,
}

/// How many observations a service keeps per modality; more would only be noise to a reader.
const KEPT_PER_SERVICE: usize = 3;

impl ServiceScores {
    pub fn new(modality: Modality) -> Self {
        ServiceScores {
            modality,
            strongest: BTreeMap::new(),
            evidence: BTreeMap::new(),
            own: BTreeMap::new(),
            symptoms: BTreeMap::new(),
        }
    }

    /// Records that `service` was observed at all, so it is a candidate even with no anomaly.
    pub fn observe(&mut self, service: &str) {
        self.strongest.entry(service.to_string()).or_insert(0.0);
    }

    /// Records a symptom: an observation that a fault in another service can cause here.
    pub fn add(&mut self, evidence: Evidence) {
        if !evidence.z.is_finite() {
            return;
        }
        let symptom = self.symptoms.entry(evidence.service.clone()).or_insert(0.0);
        *symptom = symptom.max(evidence.z);
        self.keep(evidence);
    }

    /// Records an observation of the service's own behaviour (see [`ServiceScores::own`]).
    pub fn add_own(&mut self, evidence: Evidence) {
        if !evidence.z.is_finite() {
            return;
        }
        let own = self.own.entry(evidence.service.clone()).or_insert(0.0);
        *own = own.max(evidence.z);
        self.keep(evidence);
    }

    fn keep(&mut self, evidence: Evidence) {
        let strongest = self.strongest.entry(evidence.service.clone()).or_insert(0.0);
        *strongest = strongest.max(evidence.z);
        let kept = self.evidence.entry(evidence.service.clone()).or_default();
        kept.push(evidence);
        kept.sort_by(|left, right| right.z.total_cmp(&left.z));
        kept.truncate(KEPT_PER_SERVICE);
    }

    pub fn z_of(&self, service: &str) -> f64 {
        self.strongest.get(service).copied().unwrap_or(0.0)
    }

    pub fn own_z_of(&self, service: &str) -> f64 {
        self.own.get(service).copied().unwrap_or(0.0)
    }

    pub fn symptom_z_of(&self, service: &str) -> f64 {
        self.symptoms.get(service).copied().unwrap_or(0.0)
    }

    pub fn is_empty(&self) -> bool {
        self.strongest.is_empty()
    }
}
