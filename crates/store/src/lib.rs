//! The storage boundary of Staunch.
//!
//! [`Store`] is the one trait every backend implements (SQLite embedded, PostgreSQL for
//! scale-out). Writes happen inside a [`StoreTx`] so that the engine can group many commands
//! into one durable commit. Every method that touches tenant data takes the [`OrgId`]; the
//! backends put it in every `WHERE` clause, so tenants are isolated in the storage layer.
//! [`conformance`] holds the test suite every backend must pass.

pub mod codec;
pub mod conformance;
pub mod conformance_telemetry;
mod deploy_records;
pub mod dump;
mod error;
mod investigation_records;
mod records;
mod runbook_records;
mod scoped;
mod telemetry_records;

pub use codec::timestamp_from_micros;
pub use deploy_records::*;
pub use error::{StoreError, StoreResult};
pub use investigation_records::*;
pub use records::*;
pub use runbook_records::*;
pub use scoped::Scoped;
pub use telemetry_records::*;

use async_trait::async_trait;
use jiff::Timestamp;
pub use staunch_domain::tenant::OrgSlug;

/// Reads, and the operations that run in their own short transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a write transaction. Nothing it does is visible or durable until `commit`.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;

    async fn incident(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>>;
    async fn incidents(&self, org: OrgId, filter: &IncidentFilter) -> StoreResult<Vec<Incident>>;
    async fn alert(&self, org: OrgId, alert_id: i64) -> StoreResult<Option<Alert>>;
    async fn alerts(&self, org: OrgId, filter: &AlertFilter) -> StoreResult<Vec<Alert>>;
    async fn timeline(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<TimelineEntry>>;
    async fn deliveries(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<Delivery>>;
    async fn change_events(&self, org: OrgId, service_id: Option<&str>, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
    async fn silences(&self, org: OrgId) -> StoreResult<Vec<Silence>>;

    /// The audit log of `org`, newest first.
    async fn audit_log(&self, org: OrgId, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;

    /// Makes sure an organisation exists for each slug (creating the missing ones, keeping the
    /// name of existing ones) and returns their ids in the order given. `default` is always
    /// [`OrgId::DEFAULT`]. Safe to run from several replicas at once.
    async fn ensure_organisations(&self, organisations: &[(OrgSlug, String)]) -> StoreResult<Vec<OrgId>>;

    /// Finds an API token by the SHA-256 of its secret. Not scoped: the token decides the org.
    async fn api_token_by_hash(&self, token_sha256: &str) -> StoreResult<Option<ApiToken>>;
    async fn api_token_count(&self) -> StoreResult<u64>;

    /// The earliest `run_at` among scheduled jobs, across all tenants.
    async fn next_job_due(&self) -> StoreResult<Option<Timestamp>>;

    /// Leases up to `limit` deliveries that are due at `now` (pending ones, and sending ones
    /// whose lease ran out because their sender died), marking them `sending` until
    /// `lease_until`.
    async fn claim_deliveries(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>>;

    /// Returns every `sending` delivery to `pending` at once, for a process that knows it is
    /// the only sender (the SQLite engine lock): what a killed predecessor was sending goes out
    /// again right away, with its idempotency key, instead of after the lease. Replicas that
    /// share a database must not call this; they wait for leases to run out.
    async fn release_delivery_leases(&self) -> StoreResult<u64>;

    /// Tries to become the one process that runs singleton work (periodic evaluations that
    /// must not run twice). `None`: another process leads. Leadership ends when the returned
    /// value is dropped, or by itself when its holder's connection dies.
    async fn try_lead(&self) -> StoreResult<Option<Box<dyn Leadership>>>;

    /// The database's own clock, when replicas should share it instead of trusting their own
    /// (PostgreSQL's `now()`); `None` for an embedded database.
    async fn database_time(&self) -> StoreResult<Option<Timestamp>>;

    /// The schema version the database is at: the number of migrations applied.
    async fn schema_version(&self) -> StoreResult<i64>;
    /// `sqlite` or `postgres`, as an export names its source.
    fn backend_name(&self) -> &'static str;
    /// Whether a write transaction runs its statements on the calling thread without yielding
    /// (an embedded database), rather than awaiting another process. The engine, which owns
    /// the writes, then runs on a thread of its own instead of one of the runtime's workers.
    fn writes_hold_the_calling_thread(&self) -> bool {
        false
    }
    /// A read-only view of the whole database as of now, for `staunch export`: every page it
    /// returns comes from the same snapshot, whatever is written meanwhile.
    async fn begin_export(&self) -> StoreResult<Box<dyn ExportSnapshot>>;

    /// The per-minute event counts of one SLO from the minute containing `from` on, oldest
    /// first.
    async fn slo_buckets(&self, org: OrgId, slo_id: &str, from: Timestamp) -> StoreResult<Vec<SloBucket>>;

    /// Adds event counts to their minutes in a transaction of their own; durable on return.
    async fn add_slo_events(&self, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.add_slo_events(org, slo_id, counts).await?;
        tx.commit().await
    }

    /// The action items of one incident, oldest first.
    async fn action_items(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<ActionItem>>;
    async fn action_item(&self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>>;
    /// The runbook runs of one incident, oldest first.
    async fn runbook_runs(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<RunbookRun>>;
    async fn runbook_run(&self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>>;
    /// Runs the executor advances on its own (`running`, `undoing`), across all tenants,
    /// oldest first.
    async fn active_runbook_runs(&self) -> StoreResult<Vec<RunbookRun>>;
    /// Per (symptom, runbook), the runs that were not dry runs and how many of them worked
    /// (see [`RunbookOutcomes`]). Runs still going count as attempts only once they stop.
    async fn runbook_outcomes(&self, org: OrgId) -> StoreResult<Vec<RunbookOutcomes>>;
    /// The deploy an incident is linked to, if any.
    async fn deploy_link(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<DeployLink>>;
    /// Links whose rollback is still `pending`, across all tenants, oldest first.
    async fn pending_rollbacks(&self, limit: u32) -> StoreResult<Vec<DeployLink>>;

    /// Pushed log lines of `org` inside the query (see [`TelemetryQuery`]), oldest first.
    async fn telemetry_logs(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<LogLine>>;
    /// Pushed spans of `org` that started inside the query, oldest first.
    async fn telemetry_spans(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<Span>>;
    /// Pushed metric points of `org` inside the query, oldest first.
    async fn telemetry_metrics(&self, org: OrgId, query: &TelemetryQuery) -> StoreResult<Vec<MetricPoint>>;

    /// Stores log lines in a transaction of their own; durable on return.
    async fn add_log_lines(&self, org: OrgId, lines: &[LogLine]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.insert_log_lines(org, lines).await?;
        tx.commit().await
    }
    /// Stores spans in a transaction of their own; durable on return.
    async fn add_spans(&self, org: OrgId, spans: &[Span]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.insert_spans(org, spans).await?;
        tx.commit().await
    }
    /// Stores metric points in a transaction of their own; durable on return.
    async fn add_metric_points(&self, org: OrgId, points: &[MetricPoint]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.insert_metric_points(org, points).await?;
        tx.commit().await
    }
    /// One bounded pruning batch in a transaction of its own (see [`StoreTx::prune_telemetry`]).
    async fn prune_telemetry(&self, org: OrgId, before: Timestamp, limit: u32) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let deleted = tx.prune_telemetry(org, before, limit).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// The paging incident openings of `org` created in `[since, before)` (the newest `limit`,
    /// returned oldest first) with what became of them before `before`: the first human action
    /// (a timeline entry by a user or token, or an acknowledgement by the sender) and the
    /// first resolution (the incident's or its alert's). Nothing at or after `before` is read,
    /// so a model trained on the answer has not seen the future. Tickets nobody acted on are
    /// left out (they paged nobody, so nobody acting says little); a ticket somebody acted on
    /// is kept, so a kind the model wrongly tickets can still be learnt back as actionable.
    async fn noise_history(
        &self,
        org: OrgId,
        since: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<staunch_domain::noise::HistoricalAlert>>;

    /// The language-model exchanges about one incident, oldest first.
    async fn llm_exchanges(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<LlmExchange>>;

    /// Keeps one language-model exchange, in a transaction of its own; durable on return.
    async fn insert_llm_exchange(&self, exchange: &NewLlmExchange) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = tx.insert_llm_exchange(exchange).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The organisation's catalog entities, by entity ref.
    async fn catalog(&self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>>;
    /// Change events whose `at` lies in `[from, until]`, newest first, at most `limit`; read
    /// through the `(org, at)` index so the cost follows the window, not the history.
    async fn change_events_between(
        &self,
        org: OrgId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ChangeEvent>>;
    /// Past incidents whose title, alerts or notes share words with the query, best first.
    async fn similar_incidents(&self, org: OrgId, query: &SimilarIncidentQuery) -> StoreResult<Vec<SimilarIncidentHit>>;
    /// The latest stored investigation of an incident.
    async fn investigation(&self, org: OrgId, incident_id: i64) -> StoreResult<Option<StoredInvestigation>>;
    /// Every text [`StoreTx::index_incident_texts`] would add, as of what is committed, in its
    /// order (the title first, then the alerts' by id). Read outside any transaction, so a
    /// flooded incident's hundreds of texts are worked out once and then added a few per
    /// transaction with [`StoreTx::add_incident_texts`], instead of being worked out again by
    /// each of those transactions.
    async fn incident_texts_to_index(&self, org: OrgId, incident_id: i64) -> StoreResult<Vec<IncidentText>>;
}

/// Held leadership for singleton work (see [`Store::try_lead`]).
#[async_trait]
pub trait Leadership: Send + Sync {
    /// Whether leadership is still held: a holder that lost its database connection has lost
    /// it, and another process may already lead.
    async fn still_held(&mut self) -> bool;
}

/// Told once a commit is durable, or given the error that means it may not be. Runs on
/// whichever thread learnt it (for SQLite, the thread that syncs the WAL): it must be short.
pub type OnDurable = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// A write transaction. Dropping it without `commit` rolls it back.
#[async_trait]
pub trait StoreTx: Send {
    /// Commits; returns once the commit is durable.
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Commits and returns once the commit is visible, which may be before it is durable;
    /// `on_durable` is told when it is. Nothing done on the strength of the commit may leave
    /// the process before then (a reply, a page). A backend whose commits cost a sync each
    /// (SQLite's) shares one sync among the commits made meanwhile, so the writer goes on to
    /// the next transaction instead of waiting for the disk. An `Err` means the commit did not
    /// happen, and `on_durable` is never called.
    async fn commit_then(self: Box<Self>, on_durable: OnDurable) -> StoreResult<()> {
        self.commit().await?;
        on_durable(Ok(()));
        Ok(())
    }

    /// The alerts named by `(service_id, dedup_key)` pairs, in no particular order; keys with
    /// no alert are left out. One round trip for a whole batch of events.
    async fn alerts_by_dedup_keys(&mut self, org: OrgId, keys: &[(String, String)]) -> StoreResult<Vec<Alert>>;
    /// Inserts alerts and returns their ids in the order given.
    async fn insert_alerts(&mut self, alerts: &[NewAlert]) -> StoreResult<Vec<i64>>;

    async fn alert_by_dedup_key(&mut self, org: OrgId, service_id: &str, dedup_key: &str) -> StoreResult<Option<Alert>> {
        let keys = [(service_id.to_string(), dedup_key.to_string())];
        Ok(self.alerts_by_dedup_keys(org, &keys).await?.into_iter().next())
    }

    async fn insert_alert(&mut self, alert: &NewAlert) -> StoreResult<i64> {
        let ids = self.insert_alerts(std::slice::from_ref(alert)).await?;
        ids.into_iter().next().ok_or_else(|| StoreError::Backend("insert returned no id".into()))
    }
    async fn update_alert(&mut self, alert: &Alert) -> StoreResult<()>;
    /// Firing alerts still attached to the incident.
    async fn count_firing_alerts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<u64>;

    async fn incident(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Option<Incident>>;
    async fn incidents_by_ids(&mut self, org: OrgId, incident_ids: &[i64]) -> StoreResult<Vec<Incident>>;
    /// The open incidents of `(service_id, group_key)` pairs, in no particular order.
    async fn open_incidents_for_groups(&mut self, org: OrgId, groups: &[(String, String)]) -> StoreResult<Vec<Incident>>;

    async fn open_incident_for_group(&mut self, org: OrgId, service_id: &str, group_key: &str) -> StoreResult<Option<Incident>> {
        let groups = [(service_id.to_string(), group_key.to_string())];
        Ok(self.open_incidents_for_groups(org, &groups).await?.into_iter().next())
    }
    async fn insert_incident(&mut self, incident: &NewIncident) -> StoreResult<Incident>;
    async fn update_incident(&mut self, incident: &Incident) -> StoreResult<()>;

    /// Appends entries in the order given (a later entry always sorts after an earlier one).
    async fn append_timeline_entries(&mut self, entries: &[NewTimelineEntry]) -> StoreResult<()>;

    async fn append_timeline(&mut self, entry: &NewTimelineEntry) -> StoreResult<()> {
        self.append_timeline_entries(std::slice::from_ref(entry)).await
    }

    async fn schedule_job(&mut self, job: &NewJob) -> StoreResult<i64>;
    /// Locks and returns up to `limit` jobs due at `now`, oldest first. The caller deletes each
    /// one it finishes in the same transaction, so a crash leaves the job in place.
    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Job>>;
    async fn delete_job(&mut self, job_id: i64) -> StoreResult<()>;
    async fn delete_incident_jobs(&mut self, org: OrgId, incident_id: i64, kind: JobKind) -> StoreResult<u64>;

    /// Adds a delivery to the outbox and returns its id, or `None` (changing nothing) when a
    /// delivery with the same idempotency key exists: a retry never pages twice.
    async fn enqueue_delivery(&mut self, delivery: &NewDelivery) -> StoreResult<Option<i64>>;
    async fn finish_delivery(&mut self, org: OrgId, delivery_id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// Distinct (user, contact method) pairs that were paged for an incident.
    async fn paged_contacts(&mut self, org: OrgId, incident_id: i64) -> StoreResult<Vec<(String, String)>>;

    async fn insert_change_event(&mut self, event: &NewChangeEvent) -> StoreResult<i64>;
    async fn insert_silence(&mut self, silence: &NewSilence) -> StoreResult<i64>;
    /// Silences whose time range contains `at`, read inside the transaction.
    async fn active_silences(&mut self, org: OrgId, at: Timestamp) -> StoreResult<Vec<Silence>>;
    async fn expire_silence(&mut self, org: OrgId, silence_id: i64, at: Timestamp) -> StoreResult<bool>;
    async fn insert_api_token(&mut self, token: &NewApiToken) -> StoreResult<i64>;
    /// Appends to the audit log; it commits or rolls back with the change it records.
    async fn append_audit(&mut self, entry: &NewAuditEntry) -> StoreResult<()>;

    /// The tables holding rows other than those the migrations seed; an import wants none.
    async fn tables_with_rows(&mut self) -> StoreResult<Vec<&'static str>>;
    /// Inserts exported rows as they are, ids included (replacing seeded rows with the same
    /// id). Cells come in `table.columns` order, checked by [`dump::row_cells`].
    async fn import_rows(&mut self, table: &'static dump::Table, rows: &[Vec<dump::Cell>]) -> StoreResult<()>;
    /// Moves every table's id generator past its largest id, so rows inserted after an import
    /// get fresh ids.
    async fn reset_id_sequences(&mut self) -> StoreResult<()>;
    /// Adds each count to the bucket of the minute containing its `minute` (creating the
    /// bucket), so concurrent writers for one minute add up instead of overwriting.
    async fn add_slo_events(&mut self, org: OrgId, slo_id: &str, counts: &[SloBucket]) -> StoreResult<()>;
    /// Deletes the buckets of one SLO older than the minute containing `before`.
    async fn prune_slo_buckets(&mut self, org: OrgId, slo_id: &str, before: Timestamp) -> StoreResult<u64>;

    async fn insert_action_item(&mut self, item: &NewActionItem) -> StoreResult<ActionItem>;
    /// Read inside the transaction, for a change to it.
    async fn action_item(&mut self, org: OrgId, action_item_id: i64) -> StoreResult<Option<ActionItem>>;
    /// Writes text, owner, due date, status and `updated_at` of an existing item.
    async fn update_action_item(&mut self, item: &ActionItem) -> StoreResult<()>;
    async fn insert_runbook_run(&mut self, run: &NewRunbookRun) -> StoreResult<i64>;
    /// Reads a run inside the transaction, locking it against concurrent writers where the
    /// backend allows it (PostgreSQL `FOR UPDATE`; SQLite has one writer anyway).
    async fn runbook_run_for_update(&mut self, org: OrgId, run_id: i64) -> StoreResult<Option<RunbookRun>>;
    /// Writes a run's progress (state included) and `updated_at`/`finished_at`.
    async fn update_runbook_run(&mut self, run: &RunbookRun) -> StoreResult<()>;

    /// The newest `limit` change events of one service, newest (by arrival) first, this
    /// transaction's own included.
    async fn recent_change_events(&mut self, org: OrgId, service_id: &str, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
    /// Links an incident to a deploy; `false` (changing nothing) when it is already linked.
    async fn insert_deploy_link(&mut self, link: &NewDeployLink) -> StoreResult<bool>;
    /// Moves the incident's rollback out of `pending`; `false` (changing nothing) when it is
    /// not pending (any more). On PostgreSQL a concurrent settlement waits for this one's
    /// commit and then finds nothing pending, so a rollback is settled once.
    async fn settle_rollback(&mut self, org: OrgId, incident_id: i64, settlement: &RollbackSettlement) -> StoreResult<bool>;

    async fn insert_log_lines(&mut self, org: OrgId, lines: &[LogLine]) -> StoreResult<()>;
    async fn insert_spans(&mut self, org: OrgId, spans: &[Span]) -> StoreResult<()>;
    async fn insert_metric_points(&mut self, org: OrgId, points: &[MetricPoint]) -> StoreResult<()>;
    /// Deletes up to `limit` rows of each telemetry table of `org` timestamped before `before`
    /// (spans by their start) and returns how many went; fewer than `limit` per table means
    /// nothing older is left.
    async fn prune_telemetry(&mut self, org: OrgId, before: Timestamp, limit: u32) -> StoreResult<u64>;
    async fn insert_llm_exchange(&mut self, exchange: &NewLlmExchange) -> StoreResult<i64>;

    /// The organisation's catalog, read inside the transaction.
    async fn catalog_entities(&mut self, org: OrgId) -> StoreResult<Vec<staunch_domain::catalog::CatalogEntity>>;
    /// Inserts or replaces one entity (by its entity ref).
    async fn upsert_catalog_entity(
        &mut self,
        org: OrgId,
        entity: &staunch_domain::catalog::CatalogEntity,
        at: Timestamp,
    ) -> StoreResult<()>;
    async fn delete_catalog_entity(&mut self, org: OrgId, entity_ref: &str) -> StoreResult<()>;

    /// Makes `entities` the organisation's whole catalog: adds the new, rewrites the changed,
    /// deletes the ones no longer there, and says which.
    async fn replace_catalog(
        &mut self,
        org: OrgId,
        entities: &[staunch_domain::catalog::CatalogEntity],
        at: Timestamp,
    ) -> StoreResult<CatalogSync> {
        let existing: std::collections::BTreeMap<String, staunch_domain::catalog::CatalogEntity> =
            self.catalog_entities(org).await?.into_iter().map(|entity| (catalog_entity_key(&entity), entity)).collect();
        let mut sync = CatalogSync::default();
        let mut wanted = std::collections::BTreeSet::new();
        for entity in entities {
            let key = catalog_entity_key(entity);
            wanted.insert(key.clone());
            match existing.get(&key) {
                Some(old) if old == entity => sync.unchanged += 1,
                Some(_) => {
                    self.upsert_catalog_entity(org, entity, at).await?;
                    sync.updated.push(key);
                }
                None => {
                    self.upsert_catalog_entity(org, entity, at).await?;
                    sync.added.push(key);
                }
            }
        }
        for key in existing.keys().filter(|key| !wanted.contains(*key)) {
            self.delete_catalog_entity(org, key).await?;
            sync.removed.push(key.clone());
        }
        Ok(sync)
    }

    /// Stores the latest investigation of an incident, replacing the previous one.
    async fn save_investigation(&mut self, org: OrgId, investigation: &StoredInvestigation) -> StoreResult<()>;

    /// Adds an incident's words to the search of past incidents: its title (known from its
    /// opening) and the distinct texts (summary and label values) of its first
    /// [`SEARCHED_ALERTS_PER_INCIDENT`] alerts by id, each known from the earliest first sighting
    /// among the alerts that carry it. A text already indexed for the incident is not added
    /// again, so calling this twice adds nothing. At most `limit` texts are added, the title
    /// first, then the alerts' in id order, so a caller can keep each transaction short and
    /// call again while `limit` were added. Returns how many texts were added.
    async fn index_incident_texts(&mut self, org: OrgId, incident_id: i64, limit: u32) -> StoreResult<u64>;
    /// Adds the given texts of an incident to the search of past incidents, each that is not
    /// already indexed for it (a body given twice, once); nothing for an incident the
    /// organisation does not have. Returns how many texts were added.
    async fn add_incident_texts(&mut self, org: OrgId, incident_id: i64, texts: &[IncidentText]) -> StoreResult<u64>;
    /// [`StoreTx::index_incident_texts`] for every incident of every organisation (an import).
    async fn index_every_incident_text(&mut self) -> StoreResult<u64>;
}

/// Whole-table reads from one consistent snapshot (see [`Store::begin_export`]).
#[async_trait]
pub trait ExportSnapshot: Send {
    /// Up to `limit` rows of `table` with an id above `after_id`, in id order, each a JSON
    /// object shaped by [`dump::row_to_json`].
    async fn export_rows(
        &mut self,
        table: &'static dump::Table,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<serde_json::Value>>;
}
