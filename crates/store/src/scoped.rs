//! Reads confined to one organisation. Code that acts for a caller (the API) gets a [`Scoped`]
//! store from authentication and never names an organisation itself, so it has no way to ask
//! for another tenant's rows: the scope is decided once, where the credentials are checked.

use crate::*;
use std::sync::Arc;

#[derive(Clone)]
pub struct Scoped {
    store: Arc<dyn Store>,
    org: OrgId,
}

impl Scoped {
    pub fn new(store: Arc<dyn Store>, org: OrgId) -> Scoped {
        Scoped { store, org }
    }

    /// The organisation every read is confined to.
    pub fn org(&self) -> OrgId {
        self.org
    }

    pub async fn incident(&self, incident_id: i64) -> StoreResult<Option<Incident>> {
        self.store.incident(self.org, incident_id).await
    }
    pub async fn incidents(&self, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        self.store.incidents(self.org, filter).await
    }
    pub async fn alert(&self, alert_id: i64) -> StoreResult<Option<Alert>> {
        self.store.alert(self.org, alert_id).await
    }
    pub async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        self.store.alerts(self.org, filter).await
    }
    pub async fn timeline(&self, incident_id: i64) -> StoreResult<Vec<TimelineEntry>> {
        self.store.timeline(self.org, incident_id).await
    }
    pub async fn deliveries(&self, incident_id: i64) -> StoreResult<Vec<Delivery>> {
        self.store.deliveries(self.org, incident_id).await
    }
    pub async fn change_events(&self, service_id: Option<&str>, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        self.store.change_events(self.org, service_id, limit).await
    }
    pub async fn silences(&self) -> StoreResult<Vec<Silence>> {
        self.store.silences(self.org).await
    }
    pub async fn audit_log(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        self.store.audit_log(self.org, filter).await
    }

    pub async fn slo_buckets(&self, slo_id: &str, from: jiff::Timestamp) -> StoreResult<Vec<SloBucket>> {
        self.store.slo_buckets(self.org, slo_id, from).await
    }
    pub async fn add_slo_events(&self, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
        self.store.add_slo_events(self.org, slo_id, counts).await
    }

    pub async fn action_items(&self, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
        self.store.action_items(self.org, incident_id).await
    }
    pub async fn action_item(&self, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
        self.store.action_item(self.org, action_item_id).await
    }
    pub async fn runbook_runs(&self, incident_id: i64) -> StoreResult<Vec<RunbookRun>> {
        self.store.runbook_runs(self.org, incident_id).await
    }
    pub async fn runbook_run(&self, run_id: i64) -> StoreResult<Option<RunbookRun>> {
        self.store.runbook_run(self.org, run_id).await
    }
    pub async fn deploy_link(&self, incident_id: i64) -> StoreResult<Option<DeployLink>> {
        self.store.deploy_link(self.org, incident_id).await
    }

    pub async fn llm_exchanges(&self, incident_id: i64) -> StoreResult<Vec<LlmExchange>> {
        self.store.llm_exchanges(self.org, incident_id).await
    }

    pub async fn runbook_outcomes(&self) -> StoreResult<Vec<RunbookOutcomes>> {
        self.store.runbook_outcomes(self.org).await
    }

    pub async fn telemetry_logs(&self, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>> {
        self.store.telemetry_logs(self.org, query).await
    }
    pub async fn telemetry_spans(&self, query: &TelemetryQuery) -> StoreResult<Vec<Span>> {
        self.store.telemetry_spans(self.org, query).await
    }
    pub async fn telemetry_metrics(&self, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>> {
        self.store.telemetry_metrics(self.org, query).await
    }
    pub async fn add_log_lines(&self, lines: &[LogLine]) -> StoreResult<()> {
        self.store.add_log_lines(self.org, lines).await
    }
    pub async fn add_spans(&self, spans: &[Span]) -> StoreResult<()> {
        self.store.add_spans(self.org, spans).await
    }
    pub async fn add_metric_points(&self, points: &[MetricPoint]) -> StoreResult<()> {
        self.store.add_metric_points(self.org, points).await
    }
    pub async fn catalog(&self) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>> {
        self.store.catalog(self.org).await
    }
    pub async fn change_events_between(
        &self,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ChangeEvent>> {
        self.store.change_events_between(self.org, from, until, limit).await
    }
    pub async fn similar_incidents(&self, query: &SimilarIncidentQuery) -> StoreResult<Vec<SimilarIncidentHit>> {
        self.store.similar_incidents(self.org, query).await
    }
    pub async fn investigation(&self, incident_id: i64) -> StoreResult<Option<StoredInvestigation>> {
        self.store.investigation(self.org, incident_id).await
    }
}
