//! The cache of trained noise models, per organisation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::{SignedDuration, Timestamp};
use staunch_domain::alert::AlertEvent;
use staunch_domain::noise::{AlertFeatures, NoisePolicy, NoiseTriage, train};
use staunch_store::{OrgId, Store, StoreResult};

/// How far back the model learns from: old habits of a service fade out after this.
pub const HISTORY_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 90);
/// At most this many incident openings are read per organisation (the newest).
const HISTORY_LIMIT: u32 = 50_000;

#[derive(Clone, Default)]
pub struct NoiseModels {
    models: Arc<RwLock<HashMap<OrgId, Arc<NoiseTriage>>>>,
    policy: NoisePolicy,
}

impl NoiseModels {
    pub fn policy(&self) -> &NoisePolicy {
        &self.policy
    }

    /// The model of `org`, once one was trained.
    pub fn get(&self, org: OrgId) -> Option<Arc<NoiseTriage>> {
        self.models.read().ok()?.get(&org).cloned()
    }

    /// Retrains the model of `org` on what was known before `now`.
    pub async fn rebuild(&self, store: &dyn Store, org: OrgId, now: Timestamp) -> StoreResult<Arc<NoiseTriage>> {
        let history = store.noise_history(org, now - HISTORY_WINDOW, now, HISTORY_LIMIT).await?;
        let triage = Arc::new(train(&history, now, &self.policy));
        if let Ok(mut models) = self.models.write() {
            models.insert(org, triage.clone());
        }
        Ok(triage)
    }
}

/// What the model reads of a new alert bound for `service_id`, as the store's history reads
/// an incident opening (see `staunch_store::codec::historical_alert`).
pub fn features_of(service_id: &str, event: &AlertEvent, now: Timestamp) -> AlertFeatures {
    AlertFeatures {
        service: service_id.to_string(),
        format: event.format.as_str().to_string(),
        severity: event.severity.as_str().to_string(),
        labels: event.labels.clone(),
        summary: event.summary.clone(),
        at: now,
    }
}
