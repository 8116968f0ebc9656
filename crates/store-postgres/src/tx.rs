//! Write transactions of the PostgreSQL backend.
//!
//! Bulk methods pass their rows as one array per column and `UNNEST` them in SQL, so a batch
//! of any size is one statement with a fixed text: prepared once per connection, no chunking,
//! no limit on bound parameters.

use crate::codec::{self, json_text, micros, optional_micros};
use crate::reads::{ALERT_COLUMNS, INCIDENT_COLUMNS, incident_select};
use crate::statistics::Growth;
use crate::{backend, map_insert_error};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Postgres, Transaction};
use staunch_store::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

pub(crate) struct PostgresTx {
    /// `None` only once committed (or while being dropped).
    tx: Option<Transaction<'static, Postgres>>,
    rollbacks: Arc<PendingRollbacks>,
    growth: Arc<Growth>,
    /// Alerts this transaction inserted, reported to `growth` once committed.
    inserted_alerts: u64,
    /// Rows this transaction added to `incident_search`, likewise.
    indexed_texts: u64,
}

impl PostgresTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>, rollbacks: Arc<PendingRollbacks>, growth: Arc<Growth>) -> PostgresTx {
        PostgresTx { tx: Some(tx), rollbacks, growth, inserted_alerts: 0, indexed_texts: 0 }
    }

    fn tx(&mut self) -> StoreResult<&mut Transaction<'static, Postgres>> {
        self.tx.as_mut().ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }
}

/// Dropping a transaction without committing rolls it back, and its row locks (due jobs
/// taken with `FOR UPDATE`, rows it updated) must be gone before the next transaction of this
/// process looks for work — otherwise `SKIP LOCKED` would pass over jobs nobody holds any
/// more. sqlx only queues the `ROLLBACK` on drop and sends it whenever the connection gets
/// back to the pool, so instead the drop hands the transaction to a task that rolls it back,
/// and [`PendingRollbacks::settled`] (awaited by `begin` and `claim_deliveries`) waits for
/// those tasks.
impl Drop for PostgresTx {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // No runtime to roll back on: sqlx's own queued ROLLBACK does it later.
        };
        let pending = self.rollbacks.start();
        runtime.spawn(async move {
            if let Err(error) = tx.rollback().await {
                tracing::warn!(%error, "rolling back a dropped transaction failed; its connection is closed");
            }
            drop(pending);
        });
    }
}

/// Counts rollbacks of dropped transactions still in flight.
#[derive(Default)]
pub(crate) struct PendingRollbacks {
    count: AtomicUsize,
    settled: Notify,
}

impl PendingRollbacks {
    fn start(self: &Arc<Self>) -> PendingRollback {
        self.count.fetch_add(1, Ordering::SeqCst);
        PendingRollback(self.clone())
    }

    /// Returns once no rollback of a dropped transaction is running (drops are rare — an
    /// error, a crash test, or the engine giving way to a quiet organisation — so this is
    /// almost always immediate).
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct PendingRollback(Arc<PendingRollbacks>);

impl Drop for PendingRollback {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.settled.notify_waiters();
        }
    }
}

/// Splits `(first, second)` pairs into two column arrays for `UNNEST($1::text[], $2::text[])`.
fn pair_columns(pairs: &[(String, String)]) -> (Vec<&str>, Vec<&str>) {
    pairs.iter().map(|(first, second)| (first.as_str(), second.as_str())).unzip()
}

#[async_trait]
impl StoreTx for PostgresTx {
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let tx = self.tx.take().ok_or_else(|| StoreError::Backend("transaction already finished".into()))?;
        tx.commit().await.map_err(backend)?;
        self.growth.alerts.committed(self.inserted_alerts);
        self.growth.search.committed(self.indexed_texts);
        Ok(())
    }

    async fn alerts_by_dedup_keys(&mut self, org: OrgId, keys: &[(String, String)]) -> StoreResult<Vec<Alert>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (service_ids, dedup_keys) = pair_columns(keys);
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM UNNEST($2::text[], $3::text[]) AS wanted (wanted_service, wanted_key) \
             JOIN alerts ON alerts.org_id = $1 AND alerts.service_id = wanted.wanted_service \
             AND alerts.dedup_key = wanted.wanted_key"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(service_ids)
            .bind(dedup_keys)
            .fetch_all(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        codec::collect(rows, codec::alert)
    }

    async fn insert_alerts(&mut self, alerts: &[NewAlert]) -> StoreResult<Vec<i64>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let column = |field: fn(&NewAlert) -> String| alerts.iter().map(field).collect::<Vec<String>>();
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "INSERT INTO alerts (org_id, service_id, dedup_key, firing, summary, severity, labels, annotations, details, \
             links, images, format, incident_id, silenced_by, first_seen, last_seen, starts_at, resolved_at, event_count) \
             SELECT org_id, service_id, dedup_key, firing, summary, severity, labels::jsonb, annotations::jsonb, \
               details::jsonb, links::jsonb, images::jsonb, format, incident_id, silenced_by, received_at, received_at, \
               starts_at, NULL, 1 \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::text[], \
               $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], \
               $15::bigint[], $16::bigint[]) WITH ORDINALITY AS new (org_id, service_id, dedup_key, firing, summary, \
               severity, labels, annotations, details, links, images, format, incident_id, silenced_by, received_at, \
               starts_at, position) \
             ORDER BY position \
             RETURNING id, org_id, service_id, dedup_key",
        )
        .bind(alerts.iter().map(|alert| alert.org.0).collect::<Vec<i64>>())
        .bind(column(|alert| alert.service_id.clone()))
        .bind(column(|alert| alert.dedup_key.clone()))
        .bind(alerts.iter().map(|alert| alert.firing).collect::<Vec<bool>>())
        .bind(column(|alert| alert.summary.clone()))
        .bind(column(|alert| alert.severity.as_str().to_string()))
        .bind(column(|alert| json_text(&alert.labels)))
        .bind(column(|alert| json_text(&alert.annotations)))
        .bind(column(|alert| json_text(&alert.details)))
        .bind(column(|alert| json_text(&alert.links)))
        .bind(column(|alert| json_text(&alert.images)))
        .bind(column(|alert| alert.format.as_str().to_string()))
        .bind(alerts.iter().map(|alert| alert.incident_id).collect::<Vec<Option<i64>>>())
        .bind(alerts.iter().map(|alert| alert.silenced_by).collect::<Vec<Option<i64>>>())
        .bind(alerts.iter().map(|alert| micros(alert.received_at)).collect::<Vec<i64>>())
        .bind(alerts.iter().map(|alert| optional_micros(alert.starts_at)).collect::<Vec<Option<i64>>>())
        .fetch_all(&mut **self.tx()?)
        .await
        .map_err(|error| map_insert_error(error, "alert with this dedup key"))?;
        self.inserted_alerts += rows.len() as u64;
        // RETURNING order is not promised by PostgreSQL: match rows back by their unique key.
        let by_key: HashMap<(i64, &str, &str), i64> = rows
            .iter()
            .map(|(id, org_id, service_id, dedup_key)| ((*org_id, service_id.as_str(), dedup_key.as_str()), *id))
            .collect();
        alerts
            .iter()
            .map(|alert| {
                by_key
                    .get(&(alert.org.0, alert.service_id.as_str(), alert.dedup_key.as_str()))
                    .copied()
                    .ok_or_else(|| StoreError::Backend("inserted alert missing from RETURNING".into()))
            })
            .collect()
    }

    async fn update_alert(&mut self, alert: &Alert) -> StoreResult<()> {
        sqlx::query(
            "UPDATE alerts SET firing = $1, summary = $2, severity = $3, labels = $4::jsonb, annotations = $5::jsonb, \
             details = $6::jsonb, links = $7::jsonb, images = $8::jsonb, format = $9, incident_id = $10, silenced_by = $11, \
             last_seen = $12, starts_at = $13, resolved_at = $14, event_count = $15 WHERE org_id = $16 AND id = $17",
        )
        .bind(alert.firing)
        .bind(&alert.summary)
        .bind(alert.severity.as_str())
        .bind(json_text(&alert.labels))
        .bind(json_text(&alert.annotations))
        .bind(json_text(&alert.details))
        .bind(json_text(&alert.links))
        .bind(json_text(&alert.images))
        .bind(alert.format.as_str())
        .bind(alert.incident_id)
        .bind(alert.silenced_by)
        .bind(micros(alert.last_seen))
        .bind(optional_micros(alert.starts_at))
        .bind(optional_micros(alert.resolved_at))
        .bind(alert.event_count)
        .bind(alert.org.0)
        .bind(alert.id)
        .execute(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn count_firing_alerts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE org_id = $1 AND incident_id = $2 AND firing")
            .bind(org.0)
            .bind(incident_id)
            .fetch_one(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        Ok(count.max(0) as u64)
    }

    async fn incident(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>> {
        let sql = format!("{} WHERE org_id = $1 AND id = $2", incident_select());
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(incident_id)
            .fetch_optional(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        row.as_ref().map(codec::incident).transpose()
    }

    async fn incidents_by_ids(&mut self, org: OrgId, incident_ids: &[i64]) -> StoreResult<Vec<Incident>> {
        if incident_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{} WHERE org_id = $1 AND id = ANY($2::bigint[])", incident_select());
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(org.0).bind(incident_ids).fetch_all(&mut **self.tx()?).await.map_err(backend)?;
        codec::collect(rows, codec::incident)
    }

    async fn open_incidents_for_groups(&mut self, org: OrgId, groups: &[(String, String)]) -> StoreResult<Vec<Incident>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let (service_ids, group_keys) = pair_columns(groups);
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM UNNEST($2::text[], $3::text[]) AS wanted (wanted_service, wanted_group) \
             JOIN incidents ON incidents.org_id = $1 AND incidents.service_id = wanted.wanted_service \
             AND incidents.group_key = wanted.wanted_group AND incidents.state <> 'resolved'"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.0)
            .bind(service_ids)
            .bind(group_keys)
            .fetch_all(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        codec::collect(rows, codec::incident)
    }

    async fn insert_incident(&mut self, incident: &NewIncident) -> StoreResult<Incident> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (org_id, title, service_id, severity, state, group_key, escalation_policy_id, \
             auto_resolve, created_at, updated_at, noise_ppm) VALUES ($1, $2, $3, $4, 'triggered', $5, $6, $7, $8, $8, $9) \
             RETURNING id",
        )
        .bind(incident.org.0)
        .bind(&incident.title)
        .bind(&incident.service_id)
        .bind(incident.severity.as_str())
        .bind(&incident.group_key)
        .bind(&incident.escalation_policy_id)
        .bind(incident.auto_resolve)
        .bind(micros(incident.created_at))
        .bind(incident.noise_probability.map(probability_to_ppm))
        .fetch_one(&mut **self.tx()?)
        .await
        .map_err(|error| map_insert_error(error, "open incident for this group"))?;
        Ok(Incident {
            id,
            org: incident.org,
            title: incident.title.clone(),
            service_id: incident.service_id.clone(),
            severity: incident.severity,
            state: staunch_domain::incident::IncidentState::Triggered,
            group_key: incident.group_key.clone(),
            assignee: None,
            escalation_policy_id: incident.escalation_policy_id.clone(),
            escalation_level: 0,
            escalation_cycle: 0,
            auto_resolve: incident.auto_resolve,
            created_at: incident.created_at,
            updated_at: incident.created_at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            // As it reads back: stored in millionths.
            noise_probability: incident.noise_probability.map(|probability| ppm_to_probability(probability_to_ppm(probability))),
        })
    }

    async fn update_incident(&mut self, incident: &Incident) -> StoreResult<()> {
        sqlx::query(
            "UPDATE incidents SET title = $1, severity = $2, state = $3, assignee = $4, escalation_policy_id = $5, \
             escalation_level = $6, escalation_cycle = $7, auto_resolve = $8, updated_at = $9, acknowledged_at = $10, \
             mitigated_at = $11, resolved_at = $12 WHERE org_id = $13 AND id = $14",
        )
        .bind(&incident.title)
        .bind(incident.severity.as_str())
        .bind(incident.state.as_str())
        .bind(&incident.assignee)
        .bind(&incident.escalation_policy_id)
        .bind(i64::from(incident.escalation_level))
        .bind(i64::from(incident.escalation_cycle))
        .bind(incident.auto_resolve)
        .bind(micros(incident.updated_at))
        .bind(optional_micros(incident.acknowledged_at))
        .bind(optional_micros(incident.mitigated_at))
        .bind(optional_micros(incident.resolved_at))
        .bind(incident.org.0)
        .bind(incident.id)
        .execute(&mut **self.tx()?)
        .await
        .map_err(|error| map_insert_error(error, "open incident for this group"))?;
        Ok(())
    }

    async fn append_timeline_entries(&mut self, entries: &[NewTimelineEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // Identity values are drawn in the order the SELECT yields its rows, and `ORDER BY
        // position` yields them in input order: a later entry gets a larger id.
        let column = |field: fn(&NewTimelineEntry) -> String| entries.iter().map(field).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO timeline (org_id, incident_id, at, actor_kind, actor_id, kind, data) \
             SELECT org_id, incident_id, at, actor_kind, actor_id, kind, data::jsonb \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) \
               WITH ORDINALITY AS new (org_id, incident_id, at, actor_kind, actor_id, kind, data, position) \
             ORDER BY position",
        )
        .bind(entries.iter().map(|entry| entry.org.0).collect::<Vec<i64>>())
        .bind(entries.iter().map(|entry| entry.incident_id).collect::<Vec<i64>>())
        .bind(entries.iter().map(|entry| micros(entry.at)).collect::<Vec<i64>>())
        .bind(column(|entry| entry.actor.kind.clone()))
        .bind(column(|entry| entry.actor.id.clone()))
        .bind(column(|entry| entry.kind.clone()))
        .bind(column(|entry| json_text(&entry.data)))
        .execute(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn schedule_job(&mut self, job: &NewJob) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (org_id, kind, incident_id, run_at, payload) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id",
        )
        .bind(job.org.0)
        .bind(job.kind.as_str())
        .bind(job.incident_id)
        .bind(micros(job.run_at))
        .bind(json_text(&job.payload))
        .fetch_one(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(id)
    }

    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Job>> {
        // The row locks last until this transaction ends; another replica's engine skips these
        // jobs instead of running them twice or waiting on them.
        let rows = sqlx::query(
            "SELECT id, org_id, kind, incident_id, run_at, payload FROM jobs WHERE run_at <= $1 \
             ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        codec::collect(rows, codec::job)
    }

    async fn delete_job(&mut self, job_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1").bind(job_id).execute(&mut **self.tx()?).await.map_err(backend)?;
        Ok(())
    }

    async fn delete_incident_jobs(&mut self, org: OrgId, incident_id: i64, kind: JobKind) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM jobs WHERE org_id = $1 AND incident_id = $2 AND kind = $3")
            .bind(org.0)
            .bind(incident_id)
            .bind(kind.as_str())
            .execute(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn enqueue_delivery(&mut self, delivery: &NewDelivery) -> StoreResult<Option<i64>> {
        let state = if delivery.leased_until.is_some() { "sending" } else { "pending" };
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO deliveries (org_id, incident_id, idempotency_key, user_id, contact_method_id, channel, event, \
             payload, state, attempts, next_attempt_at, lease_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 0, $10, $11, $10) \
             ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(delivery.org.0)
        .bind(delivery.incident_id)
        .bind(&delivery.idempotency_key)
        .bind(&delivery.user_id)
        .bind(&delivery.contact_method_id)
        .bind(&delivery.channel)
        .bind(&delivery.event)
        .bind(json_text(&delivery.payload))
        .bind(state)
        .bind(micros(delivery.created_at))
        .bind(optional_micros(delivery.leased_until))
        .fetch_optional(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(id)
    }

    async fn finish_delivery(&mut self, org: OrgId, delivery_id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
        let query = match outcome {
            DeliveryOutcome::Sent { at } => sqlx::query(
                "UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = $1, lease_until = NULL \
                 WHERE org_id = $2 AND id = $3",
            )
            .bind(micros(*at)),
            DeliveryOutcome::Retry { error, next_attempt_at } => sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = attempts + 1, last_error = $1, next_attempt_at = $2, \
                 lease_until = NULL WHERE org_id = $3 AND id = $4",
            )
            .bind(error.clone())
            .bind(micros(*next_attempt_at)),
            DeliveryOutcome::Failed { error, at: _ } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = $1, lease_until = NULL \
                 WHERE org_id = $2 AND id = $3",
            )
            .bind(error.clone()),
        };
        query.bind(org.0).bind(delivery_id).execute(&mut **self.tx()?).await.map_err(backend)?;
        Ok(())
    }

    async fn paged_contacts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT user_id, contact_method_id FROM deliveries WHERE org_id = $1 AND incident_id = $2 \
             AND event = 'page' ORDER BY user_id, contact_method_id",
        )
        .bind(org.0)
        .bind(incident_id)
        .fetch_all(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(rows)
    }

    async fn insert_change_event(&mut self, event: &NewChangeEvent) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO change_events (org_id, service_id, summary, source, at, received_at, details, links) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb) RETURNING id",
        )
        .bind(event.org.0)
        .bind(&event.service_id)
        .bind(&event.summary)
        .bind(&event.source)
        .bind(micros(event.at))
        .bind(micros(event.received_at))
        .bind(json_text(&event.details))
        .bind(json_text(&event.links))
        .fetch_one(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(id)
    }

    async fn insert_silence(&mut self, silence: &NewSilence) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO silences (org_id, matchers, starts_at, ends_at, created_by, comment) \
             VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id",
        )
        .bind(silence.org.0)
        .bind(&silence.matchers)
        .bind(micros(silence.starts_at))
        .bind(micros(silence.ends_at))
        .bind(json_text(&silence.created_by))
        .bind(&silence.comment)
        .fetch_one(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(id)
    }

    async fn active_silences(&mut self, org: OrgId, at: Timestamp) -> StoreResult<Vec<Silence>> {
        let rows = sqlx::query(
            "SELECT id, org_id, matchers, starts_at, ends_at, created_by, comment FROM silences \
             WHERE org_id = $1 AND starts_at <= $2 AND ends_at > $2 ORDER BY id",
        )
        .bind(org.0)
        .bind(micros(at))
        .fetch_all(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        codec::collect(rows, codec::silence)
    }

    async fn expire_silence(&mut self, org: OrgId, silence_id: i64, at: Timestamp) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE silences SET ends_at = $1 WHERE org_id = $2 AND id = $3 AND ends_at > $1")
            .bind(micros(at))
            .bind(org.0)
            .bind(silence_id)
            .execute(&mut **self.tx()?)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_api_token(&mut self, token: &NewApiToken) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (org_id, name, user_id, role, token_sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(token.org.0)
        .bind(&token.name)
        .bind(&token.user_id)
        .bind(token.role.as_str())
        .bind(&token.token_sha256)
        .bind(micros(token.created_at))
        .fetch_one(&mut **self.tx()?)
        .await
        .map_err(|error| map_insert_error(error, "api token"))?;
        Ok(id)
    }

    async fn append_audit(&mut self, entry: &NewAuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (org_id, at, actor_kind, actor_id, origin, action, target, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        )
        .bind(entry.org.0)
        .bind(micros(entry.at))
        .bind(&entry.actor.kind)
        .bind(&entry.actor.id)
        .bind(&entry.origin)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(json_text(&entry.details))
        .execute(&mut **self.tx()?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn tables_with_rows(&mut self) -> StoreResult<Vec<&'static str>> {
        crate::export::tables_with_rows(self.tx()?).await
    }

    async fn import_rows(&mut self, table: &'static dump::Table, rows: &[Vec<dump::Cell>]) -> StoreResult<()> {
        crate::export::import_rows(self.tx()?, table, rows).await
    }

    async fn reset_id_sequences(&mut self) -> StoreResult<()> {
        crate::export::reset_id_sequences(self.tx()?).await
    }

    async fn add_slo_events(&mut self, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
        crate::slo_buckets::add(self.tx()?, org, slo_id, counts).await
    }

    async fn prune_slo_buckets(&mut self, org: OrgId, slo_id: &str, before: Timestamp) -> StoreResult<u64> {
        crate::slo_buckets::prune(self.tx()?, org, slo_id, before).await
    }

    async fn insert_action_item(&mut self, item: &NewActionItem) -> StoreResult<ActionItem> {
        crate::action_items::insert(self.tx()?, item).await
    }

    async fn action_item(&mut self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
        crate::action_items::one_in(self.tx()?, org, action_item_id).await
    }

    async fn update_action_item(&mut self, item: &ActionItem) -> StoreResult<()> {
        crate::action_items::update(self.tx()?, item).await
    }

    async fn insert_runbook_run(&mut self, run: &NewRunbookRun) -> StoreResult<i64> {
        crate::runbook_runs::insert(self.tx()?, run).await
    }

    async fn runbook_run_for_update(&mut self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
        crate::runbook_runs::one_for_update(self.tx()?, org, run_id).await
    }

    async fn update_runbook_run(&mut self, run: &RunbookRun) -> StoreResult<()> {
        crate::runbook_runs::update(self.tx()?, run).await
    }

    async fn recent_change_events(&mut self, org: OrgId, service_id: &str, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        crate::deploy_links::recent_changes(self.tx()?, org, service_id, limit).await
    }

    async fn insert_deploy_link(&mut self, link: &NewDeployLink) -> StoreResult<bool> {
        crate::deploy_links::insert(self.tx()?, link).await
    }

    async fn settle_rollback(&mut self, org: OrgId, incident_id: i64, settlement: &RollbackSettlement) -> StoreResult<bool> {
        crate::deploy_links::settle(self.tx()?, org, incident_id, settlement).await
    }

    async fn insert_log_lines(&mut self, org: OrgId, lines: &[LogLine]) -> StoreResult<()> {
        crate::telemetry::insert_logs(self.tx()?, org, lines).await
    }

    async fn insert_spans(&mut self, org: OrgId, spans: &[Span]) -> StoreResult<()> {
        crate::telemetry::insert_spans(self.tx()?, org, spans).await
    }

    async fn insert_metric_points(&mut self, org: OrgId, points: &[MetricPoint]) -> StoreResult<()> {
        crate::telemetry::insert_metrics(self.tx()?, org, points).await
    }

    async fn prune_telemetry(&mut self, org: OrgId, before: Timestamp, limit: u32) -> StoreResult<u64> {
        crate::telemetry::prune(self.tx()?, org, before, limit).await
    }

    async fn insert_llm_exchange(&mut self, exchange: &NewLlmExchange) -> StoreResult<i64> {
        crate::noise_llm::insert_exchange(self.tx()?, exchange).await
    }

    async fn catalog_entities(&mut self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>> {
        crate::investigation::catalog(&mut **self.tx()?, org).await
    }

    async fn upsert_catalog_entity(
        &mut self,
        org: OrgId,
        entity: &staunch_domain::catalog::CatalogEntity,
        at: Timestamp,
    ) -> StoreResult<()> {
        crate::investigation::upsert_entity(self.tx()?, org, entity, at).await
    }

    async fn delete_catalog_entity(&mut self, org: OrgId, entity_ref: &str) -> StoreResult<()> {
        crate::investigation::delete_entity(self.tx()?, org, entity_ref).await
    }

    async fn save_investigation(&mut self, org: OrgId, investigation: &StoredInvestigation) -> StoreResult<()> {
        crate::investigation::save(self.tx()?, org, investigation).await
    }

    async fn index_incident_texts(&mut self, org: OrgId, incident_id: i64, limit: u32) -> StoreResult<u64> {
        let added = crate::investigation::index_texts(self.tx()?, org, incident_id, limit).await?;
        self.indexed_texts += added;
        Ok(added)
    }

    async fn add_incident_texts(&mut self, org: OrgId, incident_id: i64, texts: &[IncidentText]) -> StoreResult<u64> {
        let added = crate::investigation::add_texts(self.tx()?, org, incident_id, texts).await?;
        self.indexed_texts += added;
        Ok(added)
    }

    async fn index_every_incident_text(&mut self) -> StoreResult<u64> {
        let added = crate::investigation::index_every_text(self.tx()?).await?;
        self.indexed_texts += added;
        Ok(added)
    }
}
