//! What a run knows about its incident: the values its templates read, the facts
//! `applies_to` and triage look at, and the organisation's runbooks and symptom rules.

use staunch_config::Config;
use staunch_domain::labels::Labels;
use staunch_domain::runbook::template::DeployValues;
use staunch_domain::runbook::{AlertValues, IncidentFacts, RawRunbook, Runbook, RunbookLimits, TemplateContext};
use staunch_domain::triage;
use staunch_store::{Alert, AlertFilter, Incident, OrgId, Store, StoreResult};

/// What a runbook is checked against in `org` (also when re-reading a run's stored copy).
pub fn limits(config: &Config, org: OrgId) -> RunbookLimits {
    let organisation = config.organisation_by_id(org);
    RunbookLimits {
        allowed_commands: config.settings.runbook_commands.clone(),
        slo_ids: organisation
            .map(|organisation| organisation.slos.iter().map(|slo| slo.id.clone()).collect())
            .unwrap_or_default(),
        service_ids: config.directory(org).services.keys().cloned().collect(),
    }
}

/// The runbook a run stored when it started, checked again against today's limits: a
/// command taken off the allow-list since then is not run.
pub fn stored_runbook(config: &Config, org: OrgId, definition: &serde_json::Value) -> Result<Runbook, String> {
    let raw: RawRunbook =
        serde_json::from_value(definition.clone()).map_err(|error| format!("the stored runbook cannot be read: {error}"))?;
    raw.check("runbook", &limits(config, org)).map_err(|problems| problems.join("; "))
}

/// An incident with the alerts it holds, oldest first.
pub struct IncidentView {
    pub incident: Incident,
    pub alerts: Vec<Alert>,
    /// The deploy the incident is linked to, for `{{deploy.*}}` templates.
    pub deploy: Option<DeployValues>,
}

impl IncidentView {
    pub async fn load(store: &dyn Store, org: OrgId, incident: Incident) -> StoreResult<IncidentView> {
        let mut alerts =
            store.alerts(org, &AlertFilter { incident_id: Some(incident.id), limit: 1000, ..Default::default() }).await?;
        alerts.sort_by_key(|alert| alert.id);
        let deploy = store.deploy_link(org, incident.id).await?.map(|link| deploy_values(&link.deploy));
        Ok(IncidentView { incident, alerts, deploy })
    }

    fn labels(&self) -> Vec<Labels> {
        self.alerts.iter().map(|alert| alert.labels.clone()).collect()
    }

    /// The symptom named by the organisation's rules, first match wins.
    pub fn symptom(&self, config: &Config) -> Option<String> {
        let organisation = config.organisation_by_id(self.incident.org)?;
        triage::classify(&organisation.symptoms, &self.incident.service_id, &self.labels()).map(str::to_string)
    }

    pub fn facts(&self, symptom: Option<String>) -> IncidentFacts {
        IncidentFacts { service_id: self.incident.service_id.clone(), alert_labels: self.labels(), symptom }
    }

    /// Template values: the incident, and the first alert still firing (else the first alert).
    pub fn template_context(&self, symptom: Option<String>, runbook_name: &str, run_id: i64) -> TemplateContext {
        let alert = self.alerts.iter().find(|alert| alert.firing).or_else(|| self.alerts.first());
        TemplateContext {
            incident_id: self.incident.id,
            incident_title: self.incident.title.clone(),
            incident_service: self.incident.service_id.clone(),
            incident_severity: self.incident.severity.as_str().to_string(),
            alert: alert.map(|alert| AlertValues {
                summary: alert.summary.clone(),
                labels: alert.labels.clone(),
                annotations: alert.annotations.clone(),
            }),
            symptom,
            runbook_name: runbook_name.to_string(),
            run_id,
            deploy: self.deploy.clone(),
        }
    }

    /// The SLOs whose alerts joined this incident (dedup keys `slo:{id}:{level}`).
    pub fn slo_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.alerts.iter().filter_map(|alert| slo_of_dedup_key(&alert.dedup_key)).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// The deploy a link copied (`crate::engine::deploys::deploy_value`) as template values.
fn deploy_values(deploy: &serde_json::Value) -> DeployValues {
    let text = |field: &str| deploy.get(field).and_then(|value| value.as_str()).map(str::to_string);
    DeployValues {
        id: deploy.get("id").and_then(|id| id.as_i64()).unwrap_or_default(),
        summary: text("summary").unwrap_or_default(),
        source: text("source"),
        at: text("at").unwrap_or_default(),
        details: deploy.get("details").cloned().unwrap_or(serde_json::Value::Null),
    }
}

/// The SLO an alert comes from, by its dedup key `slo:{id}:{level}` (see `crate::slo::alerts`).
fn slo_of_dedup_key(dedup_key: &str) -> Option<String> {
    let (id, level) = dedup_key.strip_prefix("slo:")?.rsplit_once(':')?;
    (!id.is_empty() && matches!(level, "sev1" | "sev2" | "ticket")).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::slo_of_dedup_key;

    #[test]
    fn slo_alerts_name_their_slo() {
        let cases = [
            ("slo:chat-availability:sev1", Some("chat-availability")),
            ("slo:a.b:ticket", Some("a.b")),
            ("slo::sev1", None),
            ("slo:chat:other", None),
            ("fp-provider", None),
        ];
        for (key, expected) in cases {
            assert_eq!(slo_of_dedup_key(key).as_deref(), expected, "{key}");
        }
    }
}
