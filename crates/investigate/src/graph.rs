//! The call graph (caller → callee) and propagation over it. A fault in a callee shows up in
//! every caller that waits on it, often more loudly than in the callee itself; propagation
//! takes from a caller the part of its anomaly that an anomalous callee explains, so the root
//! outranks its victims.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallGraph {
    callees: BTreeMap<String, BTreeSet<String>>,
    callers: BTreeMap<String, BTreeSet<String>>,
}

impl CallGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `caller → callee`; self-calls carry no information about blame and are dropped.
    pub fn add(&mut self, caller: &str, callee: &str) {
        if caller == callee {
            return;
        }
        self.callees.entry(caller.to_string()).or_default().insert(callee.to_string());
        self.callers.entry(callee.to_string()).or_default().insert(caller.to_string());
    }

    pub fn merge(&mut self, other: &CallGraph) {
        for (caller, callees) in &other.callees {
            for callee in callees {
                self.add(caller, callee);
            }
        }
    }

    pub fn callees_of(&self, service: &str) -> impl Iterator<Item = &str> {
        self.callees.get(service).into_iter().flatten().map(String::as_str)
    }

    pub fn callers_of(&self, service: &str) -> impl Iterator<Item = &str> {
        self.callers.get(service).into_iter().flatten().map(String::as_str)
    }

    pub fn services(&self) -> BTreeSet<&str> {
        self.callees.keys().chain(self.callers.keys()).map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.callees.is_empty()
    }
}

/// A service's score after propagation, with what moved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Propagated {
    pub score: f64,
    /// The anomalous caller that points at this service, and how much it added.
    pub blamed_by: Option<(String, f64)>,
    /// The anomalous callee that explains part of this service's anomaly, and how much it took.
    pub explained_by: Option<(String, f64)>,
}

/// Propagates excess anomaly (each service's strength above the case's median, so that the
/// background noise every service shows moves nothing) along the graph: a service loses the
/// excess it shares with its most anomalous callee, which explains it. Two adjacent anomalous
/// services thus always favour the callee, and along a chain of victims the blame flows to
/// its end. The anomalous caller that points at a service is reported (`blamed_by`) but adds
/// nothing: its anomaly is the callee's symptom seen a second time, and adding it would favour
/// services with many callers (a hub that everything calls always has an anomalous caller)
/// over services with none (an entry point such as a web front end).
pub fn propagate(strengths: &BTreeMap<String, f64>, graph: &CallGraph) -> BTreeMap<String, Propagated> {
    let values: Vec<f64> = strengths.values().copied().collect();
    let background = crate::robust::median(&values).unwrap_or(0.0);
    let excess = |service: &str| strengths.get(service).map_or(0.0, |strength| (strength - background).max(0.0));
    let strongest_shared = |service: &str, neighbours: &mut dyn Iterator<Item = &str>| -> Option<(String, f64)> {
        let own = excess(service);
        neighbours
            .filter(|neighbour| strengths.contains_key(*neighbour))
            .map(|neighbour| (neighbour.to_string(), excess(neighbour).min(own)))
            .filter(|(_, shared)| *shared > 0.0)
            .max_by(|left, right| left.1.total_cmp(&right.1).then_with(|| right.0.cmp(&left.0)))
    };
    strengths
        .iter()
        .map(|(service, strength)| {
            let blamed_by = strongest_shared(service, &mut graph.callers_of(service));
            let explained_by = strongest_shared(service, &mut graph.callees_of(service));
            let score = strength - explained_by.as_ref().map_or(0.0, |(_, loss)| *loss);
            (service.clone(), Propagated { score, blamed_by, explained_by })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strengths(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(service, strength)| (service.to_string(), *strength)).collect()
    }

    fn ranked(propagated: &BTreeMap<String, Propagated>) -> Vec<&str> {
        let mut services: Vec<_> = propagated.iter().collect();
        services.sort_by(|left, right| right.1.score.total_cmp(&left.1.score));
        services.into_iter().map(|(service, _)| service.as_str()).collect()
    }

    #[test]
    fn the_upstream_root_outranks_its_louder_victims() {
        // frontend → checkout → payment; payment is the root, its callers suffer more.
        let mut graph = CallGraph::new();
        graph.add("frontend", "checkout");
        graph.add("checkout", "payment");
        graph.add("frontend", "ads");
        graph.add("checkout", "email");
        for quiet in ["cart", "currency", "shipping", "catalog"] {
            graph.add("frontend", quiet);
        }
        let input = strengths(&[
            ("frontend", 0.9),
            ("checkout", 0.85),
            ("payment", 0.7),
            ("ads", 0.2),
            ("email", 0.25),
            ("cart", 0.3),
            ("currency", 0.22),
            ("shipping", 0.28),
            ("catalog", 0.24),
        ]);
        let before: Vec<_> = {
            let mut raw: Vec<_> = input.iter().collect();
            raw.sort_by(|left, right| right.1.total_cmp(left.1));
            raw.into_iter().map(|(service, _)| service.as_str()).collect()
        };
        assert_eq!(before[0], "frontend", "the victim is loudest before propagation");
        let propagated = propagate(&input, &graph);
        let order = ranked(&propagated);
        assert_eq!(order[0], "payment", "{propagated:?}");
        assert_eq!(propagated["payment"].blamed_by.as_ref().unwrap().0, "checkout");
        assert_eq!(propagated["checkout"].explained_by.as_ref().unwrap().0, "payment");
    }

    #[test]
    fn background_noise_in_callees_does_not_take_the_blame_from_a_faulty_caller() {
        let mut graph = CallGraph::new();
        for callee in ["cart", "currency", "ads", "shipping"] {
            graph.add("frontend", callee);
        }
        let input = strengths(&[("frontend", 0.9), ("cart", 0.4), ("currency", 0.45), ("ads", 0.4), ("shipping", 0.42)]);
        let propagated = propagate(&input, &graph);
        assert_eq!(ranked(&propagated)[0], "frontend", "{propagated:?}");
    }

    #[test]
    fn a_hub_that_everything_calls_gains_nothing_from_its_anomalous_callers() {
        // frontend (an entry point: no callers, quiet callees) is the root. orders, which
        // preserve and cancel call, is less anomalous than frontend; its anomalous callers
        // must not lift it above frontend (adding their excess would give it 1.08).
        let mut graph = CallGraph::new();
        for caller in ["preserve", "cancel"] {
            graph.add(caller, "orders");
        }
        for callee in ["a", "b"] {
            graph.add("frontend", callee);
        }
        let input = strengths(&[
            ("frontend", 0.8),
            ("preserve", 0.75),
            ("cancel", 0.7),
            ("orders", 0.6),
            ("a", 0.1),
            ("b", 0.1),
            ("c", 0.12),
            ("d", 0.1),
            ("e", 0.11),
        ]);
        let propagated = propagate(&input, &graph);
        assert_eq!(propagated["orders"].score, 0.6, "{propagated:?}");
        assert!(propagated["orders"].blamed_by.is_some(), "an anomalous caller is still reported: {propagated:?}");
        assert_eq!(ranked(&propagated)[0], "frontend", "{propagated:?}");
        assert!(propagated["preserve"].score < propagated["orders"].score, "callers are still explained by the callee");
    }

    #[test]
    fn without_a_graph_scores_are_unchanged() {
        let input = strengths(&[("a", 0.3), ("b", 0.8)]);
        let propagated = propagate(&input, &CallGraph::new());
        assert_eq!(propagated["a"].score, 0.3);
        assert_eq!(propagated["b"].score, 0.8);
    }
}
