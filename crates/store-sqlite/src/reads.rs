//! Reads, and the short standalone writes (delivery leases), of the SQLite backend.

use crate::codec::micros;
use crate::statement::{Held, Query, query};
use crate::{SqliteStore, backend};
use async_trait::async_trait;
use jiff::Timestamp;
use staunch_store::codec;
use staunch_store::*;

pub(crate) const INCIDENT_COLUMNS: &str = "id, org_id, title, service_id, severity, state, group_key, assignee, \
    escalation_policy_id, escalation_level, escalation_cycle, auto_resolve, created_at, updated_at, \
    acknowledged_at, mitigated_at, resolved_at, noise_ppm";
pub(crate) const ALERT_COLUMNS: &str = "id, org_id, service_id, dedup_key, firing, summary, severity, labels, \
    annotations, details, links, images, format, incident_id, silenced_by, first_seen, last_seen, starts_at, \
    resolved_at, event_count";
pub(crate) const DELIVERY_COLUMNS: &str = "id, org_id, incident_id, idempotency_key, user_id, contact_method_id, \
    channel, event, payload, state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at";

pub(crate) fn incident_select() -> String {
    format!("SELECT {INCIDENT_COLUMNS} FROM incidents")
}

/// Caps list sizes so a request cannot ask for the whole table.
fn page_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 10_000))
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(self.begin_write().await?))
    }

    async fn incident(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>> {
        let mut query = query(incident_select());
        query.push(" WHERE org_id = ").push_bind(org.0).push(" AND id = ").push_bind(incident_id);
        self.read_one(query, |row| codec::incident(row)).await
    }

    async fn incidents(&self, org: OrgId, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let mut query = query(incident_select());
        query.push(" WHERE org_id = ").push_bind(org.0);
        if let Some(service_id) = &filter.service_id {
            query.push(" AND service_id = ").push_bind(service_id);
        }
        if let Some(before_id) = filter.before_id {
            query.push(" AND id < ").push_bind(before_id);
        }
        if !filter.states.is_empty() {
            query.push(" AND state IN (");
            for (index, state) in filter.states.iter().enumerate() {
                query.push(if index == 0 { "" } else { ", " }).push_bind(state.as_str());
            }
            query.push(")");
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(page_size(filter.limit));
        self.read_all(query, |row| codec::incident(row)).await
    }

    async fn alert(&self, org: OrgId, alert_id: i64) -> StoreResult<Option<Alert>> {
        let mut query = query(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = "));
        query.push_bind(org.0).push(" AND id = ").push_bind(alert_id);
        self.read_one(query, |row| codec::alert(row)).await
    }

    async fn alerts(&self, org: OrgId, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        let mut query = query(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = "));
        query.push_bind(org.0);
        if let Some(service_id) = &filter.service_id {
            query.push(" AND service_id = ").push_bind(service_id);
        }
        if let Some(firing) = filter.firing {
            query.push(" AND firing = ").push_bind(firing);
        }
        if let Some(incident_id) = filter.incident_id {
            query.push(" AND incident_id = ").push_bind(incident_id);
        }
        if let Some(before_id) = filter.before_id {
            query.push(" AND id < ").push_bind(before_id);
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(page_size(filter.limit));
        self.read_all(query, |row| codec::alert(row)).await
    }

    async fn timeline(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<TimelineEntry>> {
        let query = query(
            "SELECT id, org_id, incident_id, at, actor_kind, actor_id, kind, data FROM timeline \
             WHERE org_id = ? AND incident_id = ? ORDER BY id",
        )
        .bind(org.0)
        .bind(incident_id);
        self.read_all(query, |row| codec::timeline_entry(row)).await
    }

    async fn deliveries(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<Delivery>> {
        let mut query = query(format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE org_id = "));
        query.push_bind(org.0).push(" AND incident_id = ").push_bind(incident_id).push(" ORDER BY id");
        self.read_all(query, |row| codec::delivery(row)).await
    }

    async fn change_events(&self, org: OrgId, service_id: Option<&str>, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        let mut query = query(
            "SELECT id, org_id, service_id, summary, source, at, received_at, details, links FROM change_events WHERE org_id = ",
        );
        query.push_bind(org.0);
        if let Some(service_id) = service_id {
            query.push(" AND service_id = ").push_bind(service_id);
        }
        query.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(page_size(limit));
        self.read_all(query, |row| codec::change_event(row)).await
    }

    async fn silences(&self, org: OrgId) -> StoreResult<Vec<Silence>> {
        let query = query(
            "SELECT id, org_id, matchers, starts_at, ends_at, created_by, comment FROM silences WHERE org_id = ? ORDER BY id",
        )
        .bind(org.0);
        self.read_all(query, |row| codec::silence(row)).await
    }

    async fn audit_log(&self, org: OrgId, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let query = query(
            "SELECT id, org_id, at, actor_kind, actor_id, origin, action, target, details FROM audit_log \
             WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(org.0)
        .bind(filter.before_id.unwrap_or(i64::MAX))
        .bind(page_size(filter.limit));
        self.read_all(query, |row| codec::audit_entry(row)).await
    }

    async fn ensure_organisations(&self, organisations: &[(OrgSlug, String)]) -> StoreResult<Vec<OrgId>> {
        let tx = self.begin_write().await?;
        let mut ids = Vec::with_capacity(organisations.len());
        for (slug, name) in organisations {
            query("INSERT INTO organisations (slug, name, created_at) VALUES (?, ?, ?) ON CONFLICT (slug) DO NOTHING")
                .bind(slug.as_str())
                .bind(name)
                .bind(micros(Timestamp::now()))
                .execute(tx.connection()?)
                .map_err(backend)?;
            let id: Option<i64> =
                query("SELECT id FROM organisations WHERE slug = ?").bind(slug.as_str()).fetch_scalar(tx.connection()?)?;
            ids.push(OrgId(
                id.ok_or_else(|| StoreError::Backend(format!("organisation {} missing after insert", slug.as_str())))?,
            ));
        }
        tx.commit_now()?;
        Ok(ids)
    }

    async fn api_token_by_hash(&self, token_sha256: &str) -> StoreResult<Option<ApiToken>> {
        let query =
            query("SELECT id, org_id, name, user_id, role, created_at FROM api_tokens WHERE token_sha256 = ?").bind(token_sha256);
        self.read_one(query, |row| codec::api_token(row)).await
    }

    async fn api_token_count(&self) -> StoreResult<u64> {
        let count: Option<i64> = self.read_scalar(query("SELECT COUNT(*) FROM api_tokens")).await?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }

    async fn next_job_due(&self) -> StoreResult<Option<Timestamp>> {
        // MIN over no rows is NULL.
        let due: Option<i64> = self.read_scalar::<Option<i64>>(query("SELECT MIN(run_at) FROM jobs")).await?.flatten();
        due.map(timestamp_from_micros).transpose()
    }

    async fn claim_deliveries(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "UPDATE deliveries SET state = 'sending', lease_until = ?1 WHERE id IN ( \
               SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?2 \
               UNION ALL \
               SELECT id FROM deliveries WHERE state = 'sending' AND lease_until <= ?2 \
               ORDER BY id LIMIT ?3) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let tx = self.begin_write().await?;
        let rows = query(sql)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(tx.connection()?)
            .map_err(backend)?;
        tx.commit_now()?;
        let mut deliveries = rows.iter().map(staunch_store::codec::delivery).collect::<StoreResult<Vec<_>>>()?;
        deliveries.sort_by_key(|delivery| delivery.id);
        Ok(deliveries)
    }

    async fn try_lead(&self) -> StoreResult<Option<Box<dyn Leadership>>> {
        // One process runs on an SQLite database (the engine lock file): it always leads.
        Ok(Some(Box::new(SoleProcess)))
    }

    async fn database_time(&self) -> StoreResult<Option<Timestamp>> {
        Ok(None)
    }

    async fn release_delivery_leases(&self) -> StoreResult<u64> {
        let tx = self.begin_write().await?;
        let result = query("UPDATE deliveries SET state = 'pending', lease_until = NULL WHERE state = 'sending'")
            .execute(tx.connection()?)
            .map_err(backend)?;
        tx.commit_now()?;
        Ok(result.rows_affected())
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let version: Option<i64> = self.read_scalar(query("PRAGMA user_version")).await?;
        version.ok_or_else(|| StoreError::Backend("no schema version".into()))
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn writes_hold_the_calling_thread(&self) -> bool {
        true
    }

    async fn begin_export(&self) -> StoreResult<Box<dyn ExportSnapshot>> {
        Ok(Box::new(crate::export::SqliteExport::begin(self.readers.dedicated()?)?))
    }

    async fn slo_buckets(&self, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>> {
        let slo_id = slo_id.to_string();
        self.readers.read(move |connection| crate::slo_buckets::read(connection, org, &slo_id, from)).await
    }

    async fn action_items(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
        self.readers.read(move |connection| crate::action_items::list(connection, org, incident_id)).await
    }

    async fn action_item(&self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
        self.readers.read(move |connection| crate::action_items::one(connection, org, action_item_id)).await
    }

    async fn runbook_runs(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<RunbookRun>> {
        self.readers.read(move |connection| crate::runbook_runs::for_incident(connection, org, incident_id)).await
    }

    async fn runbook_run(&self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
        self.readers.read(move |connection| crate::runbook_runs::one(connection, org, run_id)).await
    }

    async fn deploy_link(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<DeployLink>> {
        self.readers.read(move |connection| crate::deploy_links::for_incident(connection, org, incident_id)).await
    }

    async fn pending_rollbacks(&self, limit: u32) -> StoreResult<Vec<DeployLink>> {
        self.readers.read(move |connection| crate::deploy_links::pending(connection, limit)).await
    }

    async fn catalog(&self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>> {
        self.readers.read(move |connection| crate::investigation::catalog(connection, org)).await
    }

    async fn change_events_between(
        &self,
        org: OrgId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ChangeEvent>> {
        self.readers.read(move |connection| crate::investigation::changes_between(connection, org, from, until, limit)).await
    }

    async fn similar_incidents(&self, org: OrgId, query: &SimilarIncidentQuery) -> StoreResult<Vec<SimilarIncidentHit>> {
        let query = query.clone();
        self.readers.read(move |connection| crate::investigation::similar(connection, org, &query)).await
    }

    async fn investigation(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<StoredInvestigation>> {
        self.readers.read(move |connection| crate::investigation::latest(connection, org, incident_id)).await
    }

    async fn incident_texts_to_index(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<IncidentText>> {
        self.readers.read(move |connection| crate::investigation::texts_to_index(connection, org, incident_id)).await
    }

    async fn active_runbook_runs(&self) -> StoreResult<Vec<RunbookRun>> {
        self.readers.read(crate::runbook_runs::active).await
    }

    async fn runbook_outcomes(&self, org: OrgId) -> StoreResult<Vec<RunbookOutcomes>> {
        self.readers.read(move |connection| crate::runbook_runs::outcomes(connection, org)).await
    }

    async fn telemetry_logs(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>> {
        let query = query.clone();
        self.readers.read(move |connection| crate::telemetry::logs(connection, org, &query)).await
    }

    async fn telemetry_spans(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<Span>> {
        let query = query.clone();
        self.readers.read(move |connection| crate::telemetry::spans(connection, org, &query)).await
    }

    async fn telemetry_metrics(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>> {
        let query = query.clone();
        self.readers.read(move |connection| crate::telemetry::metrics(connection, org, &query)).await
    }

    async fn noise_history(
        &self,
        org: OrgId,
        since: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<staunch_domain::noise::HistoricalAlert>> {
        self.readers.read(move |connection| crate::noise_llm::noise_history(connection, org, since, before, limit)).await
    }

    async fn llm_exchanges(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<LlmExchange>> {
        self.readers.read(move |connection| crate::noise_llm::exchanges(connection, org, incident_id)).await
    }
}

impl SqliteStore {
    /// Every row of `query` on a reading connection, each decoded where SQLite holds it.
    async fn read_all<T: Send + 'static>(
        &self,
        query: Query,
        decode: fn(&Held<'_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.readers.read(move |connection| query.fetch_decoded(connection, decode)).await
    }

    /// The first row of `query` on a reading connection.
    async fn read_one<T: Send + 'static>(
        &self,
        query: Query,
        decode: fn(&Held<'_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.readers.read(move |connection| query.fetch_one_decoded(connection, decode)).await
    }

    /// The first column of the first row of `query` on a reading connection.
    async fn read_scalar<T: rusqlite::types::FromSql + Send + 'static>(&self, query: Query) -> StoreResult<Option<T>> {
        self.readers.read(move |connection| query.fetch_scalar(connection)).await
    }
}

/// Leadership on an embedded database: the process that has it open is the only one.
struct SoleProcess;

#[async_trait]
impl Leadership for SoleProcess {
    async fn still_held(&mut self) -> bool {
        true
    }
}
