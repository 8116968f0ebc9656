//! Reads, and the short standalone writes (delivery leases), of the PostgreSQL backend.

use crate::codec::{self, micros};
use crate::tx::PostgresTx;
use crate::{PostgresStore, backend};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder};
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
impl Store for PostgresStore {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        // A transaction this process dropped a moment ago may still hold row locks.
        self.rollbacks.settled().await;
        let tx = self.pool.begin().await.map_err(backend)?;
        Ok(Box::new(PostgresTx::new(tx, self.rollbacks.clone(), self.growth.clone())))
    }

    async fn incident(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>> {
        let mut query = QueryBuilder::<Postgres>::new(incident_select());
        query.push(" WHERE org_id = ").push_bind(org.0).push(" AND id = ").push_bind(incident_id);
        let row = query.build().fetch_optional(&self.pool).await.map_err(backend)?;
        row.as_ref().map(codec::incident).transpose()
    }

    async fn incidents(&self, org: OrgId, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let mut query = QueryBuilder::<Postgres>::new(incident_select());
        query.push(" WHERE org_id = ").push_bind(org.0);
        if let Some(service_id) = &filter.service_id {
            query.push(" AND service_id = ").push_bind(service_id.clone());
        }
        if let Some(before_id) = filter.before_id {
            query.push(" AND id < ").push_bind(before_id);
        }
        if !filter.states.is_empty() {
            let states: Vec<String> = filter.states.iter().map(|state| state.as_str().to_string()).collect();
            query.push(" AND state = ANY(").push_bind(states).push("::text[])");
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(page_size(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(backend)?;
        codec::collect(rows, codec::incident)
    }

    async fn alert(&self, org: OrgId, alert_id: i64) -> StoreResult<Option<Alert>> {
        let mut query = QueryBuilder::<Postgres>::new(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = "));
        query.push_bind(org.0).push(" AND id = ").push_bind(alert_id);
        let row = query.build().fetch_optional(&self.pool).await.map_err(backend)?;
        row.as_ref().map(codec::alert).transpose()
    }

    async fn alerts(&self, org: OrgId, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        let mut query = QueryBuilder::<Postgres>::new(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = "));
        query.push_bind(org.0);
        if let Some(service_id) = &filter.service_id {
            query.push(" AND service_id = ").push_bind(service_id.clone());
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
        let rows = query.build().fetch_all(&self.pool).await.map_err(backend)?;
        codec::collect(rows, codec::alert)
    }

    async fn timeline(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query(
            "SELECT id, org_id, incident_id, at, actor_kind, actor_id, kind, data FROM timeline \
             WHERE org_id = $1 AND incident_id = $2 ORDER BY id",
        )
        .bind(org.0)
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        codec::collect(rows, codec::timeline_entry)
    }

    async fn deliveries(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE org_id = $1 AND incident_id = $2 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(org.0).bind(incident_id).fetch_all(&self.pool).await.map_err(backend)?;
        codec::collect(rows, codec::delivery)
    }

    async fn change_events(&self, org: OrgId, service_id: Option<&str>, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT id, org_id, service_id, summary, source, at, received_at, details, links FROM change_events WHERE org_id = ",
        );
        query.push_bind(org.0);
        if let Some(service_id) = service_id {
            query.push(" AND service_id = ").push_bind(service_id.to_string());
        }
        query.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(page_size(limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(backend)?;
        codec::collect(rows, codec::change_event)
    }

    async fn silences(&self, org: OrgId) -> StoreResult<Vec<Silence>> {
        let rows = sqlx::query(
            "SELECT id, org_id, matchers, starts_at, ends_at, created_by, comment FROM silences WHERE org_id = $1 ORDER BY id",
        )
        .bind(org.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        codec::collect(rows, codec::silence)
    }

    async fn audit_log(&self, org: OrgId, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, org_id, at, actor_kind, actor_id, origin, action, target, details FROM audit_log \
             WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(org.0)
        .bind(filter.before_id.unwrap_or(i64::MAX))
        .bind(page_size(filter.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        codec::collect(rows, codec::audit_entry)
    }

    async fn ensure_organisations(&self, organisations: &[(OrgSlug, String)]) -> StoreResult<Vec<OrgId>> {
        let mut ids = Vec::with_capacity(organisations.len());
        for (slug, name) in organisations {
            // The no-op update makes RETURNING answer for an existing row too, in one statement
            // that concurrent replicas can run at once.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO organisations (slug, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id",
            )
            .bind(slug.as_str())
            .bind(name)
            .bind(micros(Timestamp::now()))
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
            ids.push(OrgId(id));
        }
        Ok(ids)
    }

    async fn api_token_by_hash(&self, token_sha256: &str) -> StoreResult<Option<ApiToken>> {
        let row = sqlx::query("SELECT id, org_id, name, user_id, role, created_at FROM api_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(codec::api_token).transpose()
    }

    async fn api_token_count(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens").fetch_one(&self.pool).await.map_err(backend)?;
        Ok(count.max(0) as u64)
    }

    async fn next_job_due(&self) -> StoreResult<Option<Timestamp>> {
        let due: Option<i64> = sqlx::query_scalar("SELECT MIN(run_at) FROM jobs").fetch_one(&self.pool).await.map_err(backend)?;
        due.map(timestamp_from_micros).transpose()
    }

    async fn claim_deliveries(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        // One statement, its own transaction: the inner SELECT locks the rows it picks and skips
        // rows another replica is leasing right now, so concurrent claims never overlap. Under
        // READ COMMITTED a row changed since the snapshot is re-checked against the WHERE
        // clause once locked, so a delivery another sender just finished is not taken again.
        let sql = format!(
            "UPDATE deliveries SET state = 'sending', lease_until = $1 WHERE id IN ( \
               SELECT id FROM deliveries \
               WHERE (state = 'pending' AND next_attempt_at <= $2) OR (state = 'sending' AND lease_until <= $2) \
               ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        self.rollbacks.settled().await;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut deliveries = codec::collect(rows, codec::delivery)?;
        deliveries.sort_by_key(|delivery| delivery.id);
        Ok(deliveries)
    }

    /// Only for a process that knows it is the only sender on this database (a single-replica
    /// deployment restarting after a crash). Replicas sharing the database must never call
    /// it: it would hand a delivery another replica is sending right now to a second sender.
    async fn try_lead(&self) -> StoreResult<Option<Box<dyn Leadership>>> {
        crate::leader::try_lead(&self.options).await
    }

    async fn database_time(&self) -> StoreResult<Option<Timestamp>> {
        let micros: i64 = sqlx::query_scalar("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        timestamp_from_micros(micros).map(Some)
    }

    async fn release_delivery_leases(&self) -> StoreResult<u64> {
        self.rollbacks.settled().await;
        let result = sqlx::query("UPDATE deliveries SET state = 'pending', lease_until = NULL WHERE state = 'sending'")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        crate::export::schema_version(&self.pool).await
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn begin_export(&self) -> StoreResult<Box<dyn ExportSnapshot>> {
        Ok(Box::new(crate::export::PostgresExport::begin(&self.pool).await?))
    }

    async fn slo_buckets(&self, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>> {
        crate::slo_buckets::read(&self.pool, org, slo_id, from).await
    }

    async fn action_items(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
        crate::action_items::list(&self.pool, org, incident_id).await
    }

    async fn action_item(&self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
        crate::action_items::one(&self.pool, org, action_item_id).await
    }

    async fn runbook_runs(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<RunbookRun>> {
        crate::runbook_runs::for_incident(&self.pool, org, incident_id).await
    }

    async fn runbook_run(&self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
        crate::runbook_runs::one(&self.pool, org, run_id).await
    }

    async fn deploy_link(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<DeployLink>> {
        crate::deploy_links::for_incident(&self.pool, org, incident_id).await
    }

    async fn pending_rollbacks(&self, limit: u32) -> StoreResult<Vec<DeployLink>> {
        crate::deploy_links::pending(&self.pool, limit).await
    }

    async fn catalog(&self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>> {
        crate::investigation::catalog(&self.pool, org).await
    }

    async fn change_events_between(
        &self,
        org: OrgId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ChangeEvent>> {
        crate::investigation::changes_between(&self.pool, org, from, until, limit).await
    }

    async fn similar_incidents(&self, org: OrgId, query: &SimilarIncidentQuery) -> StoreResult<Vec<SimilarIncidentHit>> {
        crate::investigation::similar(&self.pool, org, query).await
    }

    async fn investigation(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<StoredInvestigation>> {
        crate::investigation::latest(&self.pool, org, incident_id).await
    }

    async fn incident_texts_to_index(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<IncidentText>> {
        crate::investigation::texts_to_index(&self.pool, org, incident_id).await
    }

    async fn active_runbook_runs(&self) -> StoreResult<Vec<RunbookRun>> {
        crate::runbook_runs::active(&self.pool).await
    }

    async fn runbook_outcomes(&self, org: OrgId) -> StoreResult<Vec<RunbookOutcomes>> {
        crate::runbook_runs::outcomes(&self.pool, org).await
    }

    async fn telemetry_logs(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>> {
        crate::telemetry::logs(&self.pool, org, query).await
    }

    async fn telemetry_spans(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<Span>> {
        crate::telemetry::spans(&self.pool, org, query).await
    }

    async fn telemetry_metrics(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>> {
        crate::telemetry::metrics(&self.pool, org, query).await
    }

    async fn noise_history(
        &self,
        org: OrgId,
        since: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<staunch_domain::noise::HistoricalAlert>> {
        crate::noise_llm::noise_history(&self.pool, org, since, before, limit).await
    }

    async fn llm_exchanges(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<LlmExchange>> {
        crate::noise_llm::exchanges(&self.pool, org, incident_id).await
    }
}
