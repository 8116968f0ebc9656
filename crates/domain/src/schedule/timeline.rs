//! Precedence: how overrides and layers combine into who is on call at an instant, and where that
//! answer can next change.

use super::Schedule;
use super::layer::LayerClock;
use super::overrides::Override;
use jiff::Timestamp;

/// A schedule resolved against its zone once, so that rendering many segments does not redo it.
#[derive(Debug, Clone)]
pub(crate) struct Timeline<'a> {
    overrides: &'a [Override],
    layers: Vec<LayerClock<'a>>,
}

impl<'a> Timeline<'a> {
    /// Without a resolvable zone no layer can be placed in time, so only overrides (which are
    /// absolute) put anyone on call; `Schedule::validate` rejects such a schedule up front.
    pub(crate) fn new(schedule: &'a Schedule) -> Timeline<'a> {
        let layers = match schedule.time_zone.zone() {
            Some(zone) => schedule.layers.iter().filter_map(|layer| LayerClock::new(layer, zone)).collect(),
            None => Vec::new(),
        };
        Timeline { overrides: &schedule.overrides, layers }
    }

    /// Active overrides' users in config order, without repeats; failing that, the user of the
    /// last layer that has someone (a later layer shows over an earlier one, as in PagerDuty).
    pub(crate) fn on_call_at(&self, at: Timestamp) -> Vec<&'a str> {
        let mut users: Vec<&'a str> = Vec::new();
        for active in self.overrides.iter().filter(|candidate| candidate.is_active_at(at)) {
            if !users.contains(&active.user.as_str()) {
                users.push(&active.user);
            }
        }
        if !users.is_empty() {
            return users;
        }
        self.layers.iter().rev().find_map(|layer| layer.user_at(at)).into_iter().collect()
    }

    /// The first instant after `at` at which `on_call_at` may answer differently. Every answer
    /// `on_call_at` gives is a function of override edges and layer changes, so between two
    /// consecutive results of this function the answer is constant.
    pub(crate) fn next_change_after(&self, at: Timestamp) -> Option<Timestamp> {
        let override_edges = self.overrides.iter().flat_map(|entry| [entry.start, entry.end]);
        let layer_changes = self.layers.iter().filter_map(|layer| layer.next_change_after(at));
        override_edges.chain(layer_changes).filter(|change| *change > at).min()
    }
}
