//! The engine: the single task that writes. It owns group commit and the escalation timers.
//!
//! Handlers send [`Command`]s and wait for the reply. The engine takes every command already
//! queued, applies them all in one transaction, commits once, and only then replies, so a
//! 2xx always means durable and the cost of a commit is shared by everything in the batch.
//! Between batches it runs escalation jobs that have come due.

mod action_items;
mod commands;
pub mod deploys;
mod escalate;
mod intake;
mod slices;
mod state_change;
mod timeline;

pub use action_items::{ActionItemAction, ActionItemPatch};
pub use commands::*;

use crate::clock::Clock;
use crate::outbox::OutboxHandle;
use jiff::Timestamp;
use staunch_config::Config;
use staunch_domain::fairness::DeficitRoundRobin;
use staunch_store::{JobKind, OrgId, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How many alert events one transaction takes when only one organisation has work queued
/// (other commands count as one). Large enough that a commit's cost is shared widely.
const BATCH_EVENTS_ALONE: u64 = 256;
/// The same when several organisations have work queued: shorter transactions, so a quiet
/// organisation's alert waits behind less of a busy one's.
const BATCH_EVENTS_SHARED: u64 = 64;
/// What each organisation may take per round of the fair queue.
const FAIR_QUANTUM: u64 = 32;
/// Commands taken off the channel into the fair queue at most; beyond this, senders wait
/// on the channel (backpressure).
const MAX_QUEUED: usize = 8192;
/// Investigation refreshes computed at once. They read a lot and rank on the CPU; one at a
/// time leaves the other core and the other reading connections to the API and the pages,
/// and a burst of incidents (a flood opens hundreds) is worked through in order instead of
/// all at once.
const INVESTIGATIONS_AT_ONCE: usize = 1;
/// How often the engine re-reads when the next job is due. Jobs it schedules itself it knows
/// of at once; the re-read finds jobs other processes scheduled (replicas sharing a database).
const JOB_POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct EngineHandle {
    sender: mpsc::Sender<Request>,
}

impl EngineHandle {
    /// Sends a command and waits until it is committed (or failed).
    pub async fn submit(&self, command: Command) -> Result<Reply, EngineError> {
        self.send(command, None).await
    }

    /// Like `submit`, and records the change in the audit log in the same transaction.
    pub async fn submit_audited(&self, command: Command, audit: Audit) -> Result<Reply, EngineError> {
        self.send(command, Some(audit)).await
    }

    async fn send(&self, command: Command, audit: Option<Audit>) -> Result<Reply, EngineError> {
        let (reply_sender, reply_receiver) = tokio::sync::oneshot::channel();
        self.sender.send(Request { command, audit, reply: reply_sender }).await.map_err(|_| EngineError::ShuttingDown)?;
        reply_receiver.await.map_err(|_| EngineError::ShuttingDown)?
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// A command as a handler sent it.
struct Request {
    command: Command,
    audit: Option<Audit>,
    reply: tokio::sync::oneshot::Sender<Result<Reply, EngineError>>,
}

/// A piece of queued work: a whole command, or a slice of a large ingest command.
struct Envelope {
    command: Command,
    audit: Option<Audit>,
    reply: slices::ReplyTo,
}

pub struct Engine {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    outbox: OutboxHandle,
    receiver: mpsc::Receiver<Request>,
    /// Commands received and not yet applied, per organisation (see `staunch_domain::fairness`).
    queued: DeficitRoundRobin<OrgId, Envelope>,
    /// When the earliest job is due, as far as this engine knows (see `JOB_POLL`).
    next_job_due: Option<Timestamp>,
    next_job_due_read_at: std::time::Instant,
    noise: crate::noise::NoiseModels,
    /// Consulted by investigation refreshes when `llm:` names a provider.
    language_model: Option<crate::llm::LanguageModel>,
    /// Read by investigation refreshes when `telemetry.prometheus` is set.
    prometheus: Option<crate::signals::PrometheusSignals>,
    /// Turns of the refreshes (see `INVESTIGATIONS_AT_ONCE`).
    investigation_turns: Arc<tokio::sync::Semaphore>,
}

pub fn engine(store: Arc<dyn Store>, config: Arc<Config>, clock: Arc<dyn Clock>, outbox: OutboxHandle) -> (Engine, EngineHandle) {
    let (sender, receiver) = mpsc::channel(8192);
    let engine = Engine {
        store,
        config,
        clock,
        outbox,
        receiver,
        queued: DeficitRoundRobin::new(FAIR_QUANTUM),
        next_job_due: None,
        next_job_due_read_at: std::time::Instant::now() - JOB_POLL,
        noise: crate::noise::NoiseModels::default(),
        language_model: None,
        prometheus: None,
        investigation_turns: Arc::new(tokio::sync::Semaphore::new(INVESTIGATIONS_AT_ONCE)),
    };
    (engine, EngineHandle { sender })
}

impl Engine {
    /// The noise models this engine scores new alerts with, for the worker that trains them
    /// and the API that shows them.
    pub fn noise_models(&self) -> crate::noise::NoiseModels {
        self.noise.clone()
    }

    /// Metric series pulled from Prometheus for the investigations it runs.
    pub fn with_prometheus(mut self, prometheus: Option<crate::signals::PrometheusSignals>) -> Engine {
        self.prometheus = prometheus;
        self
    }

    /// The language model investigation refreshes consult (off by default).
    pub fn with_language_model(mut self, language_model: Option<crate::llm::LanguageModel>) -> Engine {
        self.language_model = language_model;
        self
    }

    pub async fn run(mut self, mut shutdown: broadcast::Receiver<()>) {
        loop {
            if self.queued.is_empty() {
                tokio::select! {
                    biased;
                    _ = shutdown.recv() => break,
                    envelope = self.receiver.recv() => match envelope {
                        Some(envelope) => self.enqueue(envelope),
                        None => break,
                    },
                    _ = tokio::time::sleep(JOB_POLL) => {}
                }
            } else if !matches!(shutdown.try_recv(), Err(broadcast::error::TryRecvError::Empty)) {
                break;
            }
            self.receive_queued();
            if !self.queued.is_empty() {
                self.run_transaction().await;
                // A transaction on the SQLite writer runs without yielding, and the handlers
                // it just answered were woken onto this worker thread, where no other thread
                // may take the first of them: let them run before the next transaction.
                tokio::task::yield_now().await;
            }
            if self.next_job_due_read_at.elapsed() >= JOB_POLL {
                self.read_next_job_due().await;
            }
            if self.next_job_due.is_some_and(|due| due <= self.clock.now()) {
                self.run_due_jobs().await;
                self.read_next_job_due().await;
            }
        }
        // Commands still queued were never committed: their senders get an error, not a 2xx.
        self.receiver.close();
        while let Ok(envelope) = self.receiver.try_recv() {
            self.enqueue(envelope);
        }
        for envelope in self.queued.take(u64::MAX) {
            envelope.reply.send(Err(EngineError::ShuttingDown));
        }
        tracing::info!("engine stopped");
    }

    fn enqueue(&mut self, request: Request) {
        let Request { command, mut audit, reply } = request;
        // An audited change is one entry in the audit log, so it is never cut.
        let pieces = if audit.is_some() { vec![(command, slices::ReplyTo::Whole(reply))] } else { slices::cut(command, reply) };
        for (command, reply) in pieces {
            let (org, cost) = (command.org(), command.cost());
            self.queued.push(org, Envelope { command, audit: audit.take(), reply }, cost);
        }
    }

    /// Moves what handlers have sent into the fair queue, up to `MAX_QUEUED`.
    fn receive_queued(&mut self) {
        while self.queued.len() < MAX_QUEUED {
            match self.receiver.try_recv() {
                Ok(request) => self.enqueue(request),
                Err(_) => break,
            }
        }
    }

    /// One transaction: takes queued work a slice at a time in fair order, applies it, and
    /// commits once; then answers. Between slices it looks for new work: once an organisation
    /// with nothing in this transaction yet has had its slice, the transaction commits, so a
    /// quiet organisation waits for a slice or two of a busy one's flood, not a whole batch.
    async fn run_transaction(&mut self) {
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let mut taken = Vec::new();
        let outcome = self.fill_and_commit(now, &mut taken).await;
        let size = taken.len();
        match outcome {
            Ok((replies, handed_over, earliest_job)) => {
                self.outbox.hand_over(handed_over);
                self.jobs_scheduled(earliest_job);
                debug_assert_eq!(replies.len(), taken.len(), "one reply per piece of work");
                for (envelope, reply) in taken.into_iter().zip(replies) {
                    envelope.reply.send(Ok(reply));
                }
            }
            Err(error) => {
                tracing::error!(%error, batch = size, "batch rolled back");
                let message = error.to_string();
                for envelope in taken {
                    envelope.reply.send(Err(EngineError::Store(StoreError::Backend(message.clone()))));
                }
            }
        }
        metrics::histogram!("staunch_engine_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("staunch_engine_batch_size").record(size as f64);
    }

    /// The body of `run_transaction`: everything it takes is pushed to `taken`, applied or not,
    /// so a failure answers all of it.
    async fn fill_and_commit(&mut self, now: Timestamp, taken: &mut Vec<Envelope>) -> Result<Applied, StoreError> {
        let (config, noise) = (self.config.clone(), self.noise.clone());
        let budget = if self.queued.tenants() > 1 { BATCH_EVENTS_SHARED } else { BATCH_EVENTS_ALONE };
        let mut spent = 0;
        let mut orgs_in_transaction: Vec<OrgId> = Vec::new();
        // Organisations whose work arrived while this transaction was being filled.
        let mut newcomers: Vec<OrgId> = Vec::new();
        let mut tx = self.store.begin().await?;
        let mut context = commands::ApplyContext::new(&config, &noise, now);
        let mut replies = Vec::new();
        while spent < budget {
            let first = taken.len();
            taken.extend(self.queued.take((slices::SLICE_EVENTS as u64).min(budget - spent)));
            if taken.len() == first {
                break;
            }
            for envelope in &taken[first..] {
                spent += envelope.command.cost();
                if !orgs_in_transaction.contains(&envelope.command.org()) {
                    orgs_in_transaction.push(envelope.command.org());
                }
            }
            apply_pieces(&mut *tx, &mut context, &taken[first..], now, &mut replies).await?;
            if !newcomers.is_empty() && newcomers.iter().all(|org| orgs_in_transaction.contains(org)) {
                break;
            }
            self.receive_queued();
            for org in self.queued.tenants_other_than(&orgs_in_transaction) {
                if !newcomers.contains(org) {
                    newcomers.push(*org);
                }
            }
        }
        timeline::flush(&mut *tx, &mut context).await?;
        tx.commit().await?;
        Ok((replies, context.handed_over, context.earliest_job))
    }

    async fn read_next_job_due(&mut self) {
        self.next_job_due_read_at = std::time::Instant::now();
        match self.store.next_job_due().await {
            Ok(due) => self.next_job_due = due,
            Err(error) => tracing::error!(%error, "cannot read job queue"),
        }
    }

    /// Jobs scheduled by a transaction that committed make the next one due sooner.
    fn jobs_scheduled(&mut self, earliest: Option<Timestamp>) {
        if let Some(earliest) = earliest {
            self.next_job_due = Some(self.next_job_due.map_or(earliest, |due| due.min(earliest)));
        }
    }

    async fn run_due_jobs(&mut self) {
        let now = self.clock.now();
        let outcome = async {
            let mut tx = self.store.begin().await?;
            let jobs = tx.due_jobs(now, 256).await?;
            let mut context = commands::ApplyContext::new(&self.config, &self.noise, now);
            let mut investigations = Vec::new();
            for job in &jobs {
                match (job.kind, job.incident_id) {
                    // Computed after this commit, outside the writer (it reads a lot); the
                    // lease job left in its place runs it again if this process dies first.
                    (JobKind::Investigate, Some(incident_id)) => {
                        let claim = crate::investigation::claim(&mut *tx, job.org, incident_id, now).await?;
                        let lease_due = claim.lease_ends;
                        context.earliest_job = Some(context.earliest_job.map_or(lease_due, |due| due.min(lease_due)));
                        investigations.push(claim);
                    }
                    _ => escalate::run_job(&mut *tx, &mut context, job).await?,
                }
                tx.delete_job(job.id).await?;
            }
            timeline::flush(&mut *tx, &mut context).await?;
            tx.commit().await?;
            Ok::<_, StoreError>((jobs.len(), context.handed_over, context.earliest_job, investigations))
        }
        .await;
        match outcome {
            Ok((count, handed_over, earliest_job, investigations)) => {
                if count > 0 {
                    tracing::debug!(count, "ran due jobs");
                }
                self.outbox.hand_over(handed_over);
                self.jobs_scheduled(earliest_job);
                for claim in investigations {
                    let (store, clock, language_model) = (self.store.clone(), self.clock.clone(), self.language_model.clone());
                    let (prometheus, turns) = (self.prometheus.clone(), self.investigation_turns.clone());
                    tokio::spawn(async move {
                        let Ok(_turn) = turns.acquire_owned().await else { return };
                        let incident_id = claim.incident_id;
                        let refreshed = crate::investigation::refresh(store, clock, language_model, prometheus, claim);
                        if let Err(error) = refreshed.await {
                            tracing::warn!(%error, incident_id, "investigation not stored; it runs again when its lease ends");
                        }
                    });
                }
            }
            Err(error) => tracing::error!(%error, "job batch rolled back; it will be retried"),
        }
    }
}

/// What a committed transaction produced: one reply per piece of work, the pages leased to
/// this process's outbox, and the earliest job it scheduled.
type Applied = (Vec<Reply>, Vec<staunch_store::Delivery>, Option<Timestamp>);

/// Applies `pieces` in order inside the transaction, pushing one reply each.
async fn apply_pieces(
    tx: &mut dyn staunch_store::StoreTx,
    context: &mut commands::ApplyContext<'_>,
    pieces: &[Envelope],
    now: Timestamp,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let mut index = 0;
    while index < pieces.len() {
        // Consecutive ingest commands go through intake together, sharing its bulk reads.
        let run: Vec<intake::IngestRequest<'_>> =
            pieces[index..].iter().map_while(|envelope| envelope.command.as_ingest()).collect();
        if run.is_empty() {
            let reply = commands::apply(tx, context, &pieces[index].command).await?;
            if let Some(entry) = pieces[index].audit.as_ref().and_then(|audit| audit.entry(now, &reply)) {
                tx.append_audit(&entry).await?;
            }
            replies.push(reply);
            index += 1;
            continue;
        }
        index += run.len();
        let receipts = intake::ingest_run(tx, context, &run).await?;
        replies.extend(receipts.into_iter().map(Reply::Ingested));
    }
    Ok(())
}
