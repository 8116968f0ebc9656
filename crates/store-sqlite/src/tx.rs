//! Write transactions of the SQLite backend, run on the write connection (`writer.rs`) by
//! the task that holds it: a method runs its statements to completion before it returns, so
//! a transaction never waits on another thread.

use crate::alert_keys::{self, TxKeys};
use crate::codec::{json_text, micros, optional_micros};
use crate::reads::{INCIDENT_COLUMNS, incident_select};
use crate::statement::{insert_error, query};
use crate::wal_sync::WalSync;
use crate::writer::{Writer, statement_chunks};
use crate::{backend, closed};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::Connection;
use staunch_store::codec;
use staunch_store::*;

/// The writer, or nothing once the store is closed.
pub(crate) type WriteConnection = tokio::sync::OwnedMutexGuard<Option<Writer>>;

pub(crate) struct SqliteTx {
    /// Held until commit or drop: this is the one writer.
    writer: WriteConnection,
    /// Between `BEGIN IMMEDIATE` and a successful `COMMIT`.
    open: bool,
    /// Dedup keys this transaction inserted or found absent (see `alert_keys.rs`).
    keys: TxKeys,
}

impl SqliteTx {
    pub(crate) fn begin(writer: WriteConnection) -> StoreResult<SqliteTx> {
        if let Some(wal_sync) = writer.as_ref().and_then(|writer| writer.wal_sync.as_ref()) {
            wal_sync.check_usable()?;
        }
        let mut tx = SqliteTx { writer, open: false, keys: TxKeys::default() };
        query("BEGIN IMMEDIATE").execute(tx.connection()?).map_err(backend)?;
        tx.open = true;
        Ok(tx)
    }

    fn writer(&self) -> StoreResult<&Writer> {
        self.writer.as_ref().ok_or_else(closed)
    }

    pub(crate) fn connection(&self) -> StoreResult<&Connection> {
        Ok(&self.writer()?.connection)
    }

    /// The writer beside this transaction's keys, borrowed apart for a key lookup.
    fn writer_and_keys(&mut self) -> StoreResult<(&Writer, &mut TxKeys)> {
        Ok((self.writer.as_ref().ok_or_else(closed)?, &mut self.keys))
    }

    /// Commits and returns once the commit is durable.
    pub(crate) fn commit_now(self) -> StoreResult<()> {
        match self.commit_unsynced()? {
            Some(wal_sync) => wal_sync.sync_now(),
            None => Ok(()),
        }
    }

    /// Commits, writing out a bucket of dedup keys first when memory holds more than its limit.
    /// The commit is visible, and durable once the returned syncer (if any) has synced the WAL.
    fn commit_unsynced(mut self) -> StoreResult<Option<WalSync>> {
        let keys = std::mem::take(&mut self.keys);
        let writer = self.writer()?;
        let buckets = writer.keys.buckets_to_write(&keys);
        alert_keys::write(&writer.connection, &writer.keys, &keys, &buckets)?;
        query("COMMIT").execute(&writer.connection).map_err(backend)?;
        self.open = false;
        let Some(writer) = self.writer.as_mut() else { return Ok(None) };
        writer.keys.committed(keys, &buckets);
        writer.checkpointer.committed(&writer.connection);
        Ok(writer.wal_sync.clone())
    }

    /// Checks that none of `alerts` has a key already taken, looking up only the keys this
    /// transaction has not already found absent.
    fn check_keys_free(&mut self, alerts: &[NewAlert]) -> StoreResult<()> {
        let conflict = || StoreError::Conflict { what: "alert with this dedup key".into() };
        let mut unchecked: std::collections::BTreeMap<OrgId, Vec<(String, String)>> = Default::default();
        let mut seen = std::collections::HashSet::new();
        for alert in alerts {
            let key: alert_keys::KeyText = (alert.org.0, alert.service_id.clone(), alert.dedup_key.clone());
            if !seen.insert(key.clone()) {
                return Err(conflict());
            }
            if !self.keys.take_absent(&key) {
                unchecked.entry(alert.org).or_default().push((key.1, key.2));
            }
        }
        for (org, keys) in unchecked {
            let (writer, tx_keys) = self.writer_and_keys()?;
            if !alert_keys::find(writer, tx_keys, org, &keys)?.is_empty() {
                return Err(conflict());
            }
            for (service_id, dedup_key) in keys {
                self.keys.take_absent(&(org.0, service_id, dedup_key));
            }
        }
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Some(writer) = self.writer.as_ref()
            && let Err(error) = writer.connection.execute_batch("ROLLBACK")
        {
            tracing::warn!(%error, "rollback failed");
        }
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        (*self).commit_now()
    }

    async fn commit_then(self: Box<Self>, on_durable: OnDurable) -> StoreResult<()> {
        match (*self).commit_unsynced()? {
            Some(wal_sync) => wal_sync.after_next_sync(on_durable),
            None => on_durable(Ok(())),
        }
        Ok(())
    }

    async fn alerts_by_dedup_keys(&mut self, org: OrgId, keys: &[(String, String)]) -> StoreResult<Vec<Alert>> {
        let (writer, tx_keys) = self.writer_and_keys()?;
        alert_keys::find(writer, tx_keys, org, keys)
    }

    async fn insert_alerts(&mut self, alerts: &[NewAlert]) -> StoreResult<Vec<i64>> {
        self.check_keys_free(alerts)?;
        let mut ids = Vec::with_capacity(alerts.len());
        for chunk in statement_chunks(alerts) {
            let mut query = query(
                "INSERT INTO alerts (org_id, service_id, dedup_key, firing, summary, severity, labels, annotations, details, \
                 links, images, format, incident_id, silenced_by, first_seen, last_seen, starts_at, resolved_at, event_count) ",
            );
            query.push_values(chunk, |row, alert| {
                row.push_bind(alert.org.0)
                    .push_bind(&alert.service_id)
                    .push_bind(&alert.dedup_key)
                    .push_bind(alert.firing)
                    .push_bind(&alert.summary)
                    .push_bind(alert.severity.as_str())
                    .push_bind(json_text(&alert.labels))
                    .push_bind(json_text(&alert.annotations))
                    .push_bind(json_text(&alert.details))
                    .push_bind(json_text(&alert.links))
                    .push_bind(json_text(&alert.images))
                    .push_bind(alert.format.as_str())
                    .push_bind(alert.incident_id)
                    .push_bind(alert.silenced_by)
                    .push_bind(micros(alert.received_at))
                    .push_bind(micros(alert.received_at))
                    .push_bind(optional_micros(alert.starts_at))
                    .push_bind(Option::<i64>::None)
                    .push_bind(1_i64);
            });
            // Ids are handed out in order within one statement (AUTOINCREMENT, one writer), so
            // the chunk's rows are the ids ending at the last one.
            let done = query.execute(self.connection()?).map_err(backend)?;
            debug_assert_eq!(done.rows_affected(), chunk.len() as u64);
            let first = done.last_insert_rowid() - chunk.len() as i64 + 1;
            for (offset, alert) in chunk.iter().enumerate() {
                let id = first + offset as i64;
                self.keys.inserted(alert.org.0, &alert.service_id, &alert.dedup_key, id);
                ids.push(id);
            }
        }
        Ok(ids)
    }

    async fn update_alert(&mut self, alert: &Alert) -> StoreResult<()> {
        query(
            "UPDATE alerts SET firing = ?, summary = ?, severity = ?, labels = ?, annotations = ?, details = ?, links = ?, \
             images = ?, format = ?, incident_id = ?, silenced_by = ?, last_seen = ?, starts_at = ?, resolved_at = ?, \
             event_count = ? WHERE org_id = ? AND id = ?",
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
        .execute(self.connection()?)
        .map_err(backend)?;
        Ok(())
    }

    async fn count_firing_alerts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<u64> {
        let count: Option<i64> = query("SELECT COUNT(*) FROM alerts WHERE org_id = ? AND incident_id = ? AND firing = 1")
            .bind(org.0)
            .bind(incident_id)
            .fetch_scalar(self.connection()?)?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }

    async fn incident(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>> {
        let sql = format!("{} WHERE org_id = ? AND id = ?", incident_select());
        query(sql).bind(org.0).bind(incident_id).fetch_one_decoded(self.connection()?, |row| codec::incident(row))
    }

    async fn incidents_by_ids(&mut self, org: OrgId, incident_ids: &[i64]) -> StoreResult<Vec<Incident>> {
        let mut incidents = Vec::with_capacity(incident_ids.len());
        for chunk in statement_chunks(incident_ids) {
            let mut query = query(incident_select());
            query.push(" WHERE org_id = ").push_bind(org.0).push(" AND id IN ").push_list(chunk);
            incidents.extend(query.fetch_decoded(self.connection()?, |row| codec::incident(row))?);
        }
        Ok(incidents)
    }

    async fn open_incidents_for_groups(&mut self, org: OrgId, groups: &[(String, String)]) -> StoreResult<Vec<Incident>> {
        let mut incidents = Vec::new();
        for chunk in statement_chunks(groups) {
            let mut query = query(format!("SELECT {INCIDENT_COLUMNS} FROM ("));
            query.push_values(chunk, |row, (first, second)| {
                row.push_bind(first).push_bind(second);
            });
            query.push(") AS wanted JOIN incidents ON incidents.org_id = ").push_bind(org.0);
            query.push(" AND incidents.service_id = wanted.column1 AND incidents.group_key = wanted.column2");
            query.push(" AND incidents.state <> 'resolved'");
            incidents.extend(query.fetch_decoded(self.connection()?, |row| codec::incident(row))?);
        }
        Ok(incidents)
    }

    async fn insert_incident(&mut self, incident: &NewIncident) -> StoreResult<Incident> {
        let result = query(
            "INSERT INTO incidents (org_id, title, service_id, severity, state, group_key, escalation_policy_id, \
             auto_resolve, created_at, updated_at, noise_ppm) VALUES (?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?, ?)",
        )
        .bind(incident.org.0)
        .bind(&incident.title)
        .bind(&incident.service_id)
        .bind(incident.severity.as_str())
        .bind(&incident.group_key)
        .bind(&incident.escalation_policy_id)
        .bind(incident.auto_resolve)
        .bind(micros(incident.created_at))
        .bind(micros(incident.created_at))
        .bind(incident.noise_probability.map(probability_to_ppm))
        .execute(self.connection()?)
        .map_err(|error| insert_error(error, "open incident for this group"))?;
        Ok(Incident {
            id: result.last_insert_rowid(),
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
        query(
            "UPDATE incidents SET title = ?, severity = ?, state = ?, assignee = ?, escalation_policy_id = ?, \
             escalation_level = ?, escalation_cycle = ?, auto_resolve = ?, updated_at = ?, acknowledged_at = ?, \
             mitigated_at = ?, resolved_at = ? WHERE org_id = ? AND id = ?",
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
        .execute(self.connection()?)
        .map_err(backend)?;
        Ok(())
    }

    async fn append_timeline_entries(&mut self, entries: &[NewTimelineEntry]) -> StoreResult<()> {
        for chunk in statement_chunks(entries) {
            let mut query = query("INSERT INTO timeline (org_id, incident_id, at, actor_kind, actor_id, kind, data) ");
            query.push_values(chunk, |row, entry| {
                row.push_bind(entry.org.0)
                    .push_bind(entry.incident_id)
                    .push_bind(micros(entry.at))
                    .push_bind(&entry.actor.kind)
                    .push_bind(&entry.actor.id)
                    .push_bind(&entry.kind)
                    .push_bind(json_text(&entry.data));
            });
            query.execute(self.connection()?).map_err(backend)?;
        }
        Ok(())
    }

    async fn schedule_job(&mut self, job: &NewJob) -> StoreResult<i64> {
        let result = query("INSERT INTO jobs (org_id, kind, incident_id, run_at, payload) VALUES (?, ?, ?, ?, ?)")
            .bind(job.org.0)
            .bind(job.kind.as_str())
            .bind(job.incident_id)
            .bind(micros(job.run_at))
            .bind(json_text(&job.payload))
            .execute(self.connection()?)
            .map_err(backend)?;
        Ok(result.last_insert_rowid())
    }

    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Job>> {
        // BEGIN IMMEDIATE already holds the only write lock: no other engine can take these.
        query("SELECT id, org_id, kind, incident_id, run_at, payload FROM jobs WHERE run_at <= ? ORDER BY run_at, id LIMIT ?")
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_decoded(self.connection()?, |row| codec::job(row))
    }

    async fn delete_job(&mut self, job_id: i64) -> StoreResult<()> {
        query("DELETE FROM jobs WHERE id = ?").bind(job_id).execute(self.connection()?).map_err(backend)?;
        Ok(())
    }

    async fn delete_incident_jobs(&mut self, org: OrgId, incident_id: i64, kind: JobKind) -> StoreResult<u64> {
        let result = query("DELETE FROM jobs WHERE org_id = ? AND incident_id = ? AND kind = ?")
            .bind(org.0)
            .bind(incident_id)
            .bind(kind.as_str())
            .execute(self.connection()?)
            .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn enqueue_delivery(&mut self, delivery: &NewDelivery) -> StoreResult<Option<i64>> {
        let state = if delivery.leased_until.is_some() { "sending" } else { "pending" };
        query(
            "INSERT INTO deliveries (org_id, incident_id, idempotency_key, user_id, contact_method_id, channel, event, \
             payload, state, attempts, next_attempt_at, lease_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) \
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
        .bind(micros(delivery.created_at))
        .fetch_scalar(self.connection()?)
    }

    async fn finish_delivery(&mut self, org: OrgId, delivery_id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
        let statement = match outcome {
            DeliveryOutcome::Sent { at } => query(
                "UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?, lease_until = NULL \
                 WHERE org_id = ? AND id = ?",
            )
            .bind(micros(*at)),
            DeliveryOutcome::Retry { error, next_attempt_at } => query(
                "UPDATE deliveries SET state = 'pending', attempts = attempts + 1, last_error = ?, next_attempt_at = ?, \
                 lease_until = NULL WHERE org_id = ? AND id = ?",
            )
            .bind(error)
            .bind(micros(*next_attempt_at)),
            DeliveryOutcome::Failed { error, at: _ } => query(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ?, lease_until = NULL \
                 WHERE org_id = ? AND id = ?",
            )
            .bind(error),
        };
        statement.bind(org.0).bind(delivery_id).execute(self.connection()?).map_err(backend)?;
        Ok(())
    }

    async fn paged_contacts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Vec<(String, String)>> {
        let rows = query(
            "SELECT DISTINCT user_id, contact_method_id FROM deliveries WHERE org_id = ? AND incident_id = ? AND event = 'page' \
             ORDER BY user_id, contact_method_id",
        )
        .bind(org.0)
        .bind(incident_id)
        .fetch_all(self.connection()?)
        .map_err(backend)?;
        rows.iter().map(|row| Ok((row.get(0)?, row.get(1)?))).collect()
    }

    async fn insert_change_event(&mut self, event: &NewChangeEvent) -> StoreResult<i64> {
        let result = query(
            "INSERT INTO change_events (org_id, service_id, summary, source, at, received_at, details, links) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.org.0)
        .bind(&event.service_id)
        .bind(&event.summary)
        .bind(&event.source)
        .bind(micros(event.at))
        .bind(micros(event.received_at))
        .bind(json_text(&event.details))
        .bind(json_text(&event.links))
        .execute(self.connection()?)
        .map_err(backend)?;
        Ok(result.last_insert_rowid())
    }

    async fn insert_silence(&mut self, silence: &NewSilence) -> StoreResult<i64> {
        let result =
            query("INSERT INTO silences (org_id, matchers, starts_at, ends_at, created_by, comment) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(silence.org.0)
                .bind(&silence.matchers)
                .bind(micros(silence.starts_at))
                .bind(micros(silence.ends_at))
                .bind(json_text(&silence.created_by))
                .bind(&silence.comment)
                .execute(self.connection()?)
                .map_err(backend)?;
        Ok(result.last_insert_rowid())
    }

    async fn active_silences(&mut self, org: OrgId, at: Timestamp) -> StoreResult<Vec<Silence>> {
        query(
            "SELECT id, org_id, matchers, starts_at, ends_at, created_by, comment FROM silences \
             WHERE org_id = ? AND starts_at <= ? AND ends_at > ? ORDER BY id",
        )
        .bind(org.0)
        .bind(micros(at))
        .bind(micros(at))
        .fetch_decoded(self.connection()?, |row| codec::silence(row))
    }

    async fn expire_silence(&mut self, org: OrgId, silence_id: i64, at: Timestamp) -> StoreResult<bool> {
        let result = query("UPDATE silences SET ends_at = ? WHERE org_id = ? AND id = ? AND ends_at > ?")
            .bind(micros(at))
            .bind(org.0)
            .bind(silence_id)
            .bind(micros(at))
            .execute(self.connection()?)
            .map_err(backend)?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_api_token(&mut self, token: &NewApiToken) -> StoreResult<i64> {
        let result =
            query("INSERT INTO api_tokens (org_id, name, user_id, role, token_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(token.org.0)
                .bind(&token.name)
                .bind(&token.user_id)
                .bind(token.role.as_str())
                .bind(&token.token_sha256)
                .bind(micros(token.created_at))
                .execute(self.connection()?)
                .map_err(|error| insert_error(error, "api token"))?;
        Ok(result.last_insert_rowid())
    }

    async fn append_audit(&mut self, entry: &NewAuditEntry) -> StoreResult<()> {
        query(
            "INSERT INTO audit_log (org_id, at, actor_kind, actor_id, origin, action, target, details) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(entry.org.0)
        .bind(micros(entry.at))
        .bind(&entry.actor.kind)
        .bind(&entry.actor.id)
        .bind(&entry.origin)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(json_text(&entry.details))
        .execute(self.connection()?)
        .map_err(backend)?;
        Ok(())
    }

    async fn tables_with_rows(&mut self) -> StoreResult<Vec<&'static str>> {
        crate::export::tables_with_rows(self.connection()?)
    }

    async fn import_rows(&mut self, table: &'static dump::Table, rows: &[Vec<dump::Cell>]) -> StoreResult<()> {
        crate::export::import_rows(self.connection()?, table, rows)?;
        if table.name == "alerts" {
            for (org, service_id, dedup_key, id) in crate::export::alert_keys_of(table, rows)? {
                self.keys.imported(org, &service_id, &dedup_key, id);
            }
        }
        Ok(())
    }

    async fn reset_id_sequences(&mut self) -> StoreResult<()> {
        crate::export::reset_id_sequences(self.connection()?)
    }

    async fn add_slo_events(&mut self, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
        crate::slo_buckets::add(self.connection()?, org, slo_id, counts)
    }

    async fn prune_slo_buckets(&mut self, org: OrgId, slo_id: &str, before: Timestamp) -> StoreResult<u64> {
        crate::slo_buckets::prune(self.connection()?, org, slo_id, before)
    }

    async fn insert_action_item(&mut self, item: &NewActionItem) -> StoreResult<ActionItem> {
        crate::action_items::insert(self.connection()?, item)
    }

    async fn action_item(&mut self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>> {
        crate::action_items::one(self.connection()?, org, action_item_id)
    }

    async fn update_action_item(&mut self, item: &ActionItem) -> StoreResult<()> {
        crate::action_items::update(self.connection()?, item)
    }

    async fn insert_runbook_run(&mut self, run: &NewRunbookRun) -> StoreResult<i64> {
        crate::runbook_runs::insert(self.connection()?, run)
    }

    async fn runbook_run_for_update(&mut self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>> {
        crate::runbook_runs::one(self.connection()?, org, run_id)
    }

    async fn update_runbook_run(&mut self, run: &RunbookRun) -> StoreResult<()> {
        crate::runbook_runs::update(self.connection()?, run)
    }

    async fn recent_change_events(&mut self, org: OrgId, service_id: &str, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        crate::deploy_links::recent_changes(self.connection()?, org, service_id, limit)
    }

    async fn insert_deploy_link(&mut self, link: &NewDeployLink) -> StoreResult<bool> {
        crate::deploy_links::insert(self.connection()?, link)
    }

    async fn settle_rollback(&mut self, org: OrgId, incident_id: i64, settlement: &RollbackSettlement) -> StoreResult<bool> {
        crate::deploy_links::settle(self.connection()?, org, incident_id, settlement)
    }

    async fn insert_log_lines(&mut self, org: OrgId, lines: &[LogLine]) -> StoreResult<()> {
        crate::telemetry::insert_logs(self.connection()?, org, lines)
    }

    async fn insert_spans(&mut self, org: OrgId, spans: &[Span]) -> StoreResult<()> {
        crate::telemetry::insert_spans(self.connection()?, org, spans)
    }

    async fn insert_metric_points(&mut self, org: OrgId, points: &[MetricPoint]) -> StoreResult<()> {
        crate::telemetry::insert_metrics(self.connection()?, org, points)
    }

    async fn prune_telemetry(&mut self, org: OrgId, before: Timestamp, limit: u32) -> StoreResult<u64> {
        crate::telemetry::prune(self.connection()?, org, before, limit)
    }

    async fn insert_llm_exchange(&mut self, exchange: &NewLlmExchange) -> StoreResult<i64> {
        crate::noise_llm::insert_exchange(self.connection()?, exchange)
    }

    async fn catalog_entities(&mut self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>> {
        crate::investigation::catalog(self.connection()?, org)
    }

    async fn upsert_catalog_entity(
        &mut self,
        org: OrgId,
        entity: &staunch_domain::catalog::CatalogEntity,
        at: Timestamp,
    ) -> StoreResult<()> {
        crate::investigation::upsert_entity(self.connection()?, org, entity, at)
    }

    async fn delete_catalog_entity(&mut self, org: OrgId, entity_ref: &str) -> StoreResult<()> {
        crate::investigation::delete_entity(self.connection()?, org, entity_ref)
    }

    async fn save_investigation(&mut self, org: OrgId, investigation: &StoredInvestigation) -> StoreResult<()> {
        crate::investigation::save(self.connection()?, org, investigation)
    }

    async fn index_incident_texts(&mut self, org: OrgId, incident_id: i64, limit: u32) -> StoreResult<u64> {
        crate::investigation::index_texts(self.connection()?, org, incident_id, limit)
    }

    async fn add_incident_texts(&mut self, org: OrgId, incident_id: i64, texts: &[IncidentText]) -> StoreResult<u64> {
        let texts: Vec<(String, i64)> = texts.iter().map(|text| (text.body.clone(), micros(text.at))).collect();
        crate::investigation::add_texts(self.connection()?, org, incident_id, &texts)
    }

    async fn index_every_incident_text(&mut self) -> StoreResult<u64> {
        crate::investigation::index_every_text(self.connection()?)
    }
}
