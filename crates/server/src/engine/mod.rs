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
/// How often the engine re-reads when the next job is due. Jobs it schedules itself it knows
/// of at once; the re-read finds jobs other processes scheduled (replicas sharing a database).
const JOB_POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct EngineHandle {
    sender: mpsc::Sender<Envelope>,
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
        self.sender.send(Envelope { command, audit, reply: reply_sender }).await.map_err(|_| EngineError::ShuttingDown)?;
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

struct Envelope {
    command: Command,
    audit: Option<Audit>,
    reply: tokio::sync::oneshot::Sender<Result<Reply, EngineError>>,
}

pub struct Engine {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    outbox: OutboxHandle,
    receiver: mpsc::Receiver<Envelope>,
    /// Commands received and not yet applied, per organisation (see `staunch_domain::fairness`).
    queued: DeficitRoundRobin<OrgId, Envelope>,
    /// When the earliest job is due, as far as this engine knows (see `JOB_POLL`).
    next_job_due: Option<Timestamp>,
    next_job_due_read_at: std::time::Instant,
    noise: crate::noise::NoiseModels,
    /// Consulted by investigation refreshes when `llm:` names a provider.
    language_model: Option<crate::llm::LanguageModel>,
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
    };
    (engine, EngineHandle { sender })
}

impl Engine {
    /// The noise models this engine scores new alerts with, for the worker that trains them
    /// and the API that shows them.
    pub fn noise_models(&self) -> crate::noise::NoiseModels {
        self.noise.clone()
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
            while self.queued.len() < MAX_QUEUED {
                match self.receiver.try_recv() {
                    Ok(envelope) => self.enqueue(envelope),
                    Err(_) => break,
                }
            }
            if !self.queued.is_empty() {
                let budget = if self.queued.tenants() > 1 { BATCH_EVENTS_SHARED } else { BATCH_EVENTS_ALONE };
                let batch = self.queued.take(budget);
                self.apply_batch(batch).await;
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
            let _ = envelope.reply.send(Err(EngineError::ShuttingDown));
        }
        tracing::info!("engine stopped");
    }

    fn enqueue(&mut self, envelope: Envelope) {
        let (org, cost) = (envelope.command.org(), envelope.command.cost());
        self.queued.push(org, envelope, cost);
    }

    async fn apply_batch(&mut self, batch: Vec<Envelope>) {
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let size = batch.len();
        let outcome = async {
            let mut tx = self.store.begin().await?;
            let mut context = commands::ApplyContext::new(&self.config, &self.noise, now);
            let mut replies = Vec::with_capacity(batch.len());
            let mut index = 0;
            while index < batch.len() {
                // Consecutive ingest commands go through intake together, sharing its bulk reads.
                let run: Vec<intake::IngestRequest<'_>> =
                    batch[index..].iter().map_while(|envelope| envelope.command.as_ingest()).collect();
                if run.is_empty() {
                    let reply = commands::apply(&mut *tx, &mut context, &batch[index].command).await?;
                    if let Some(entry) = batch[index].audit.as_ref().and_then(|audit| audit.entry(now, &reply)) {
                        tx.append_audit(&entry).await?;
                    }
                    replies.push(reply);
                    index += 1;
                    continue;
                }
                index += run.len();
                let receipts = intake::ingest_run(&mut *tx, &mut context, &run).await?;
                replies.extend(receipts.into_iter().map(Reply::Ingested));
            }
            timeline::flush(&mut *tx, &mut context).await?;
            tx.commit().await?;
            Ok::<_, StoreError>((replies, context.handed_over, context.earliest_job))
        }
        .await;
        match outcome {
            Ok((replies, handed_over, earliest_job)) => {
                self.outbox.hand_over(handed_over);
                self.jobs_scheduled(earliest_job);
                for (envelope, reply) in batch.into_iter().zip(replies) {
                    let _ = envelope.reply.send(Ok(reply));
                }
            }
            Err(error) => {
                tracing::error!(%error, batch = size, "batch rolled back");
                let message = error.to_string();
                for envelope in batch {
                    let _ = envelope.reply.send(Err(EngineError::Store(StoreError::Backend(message.clone()))));
                }
            }
        }
        metrics::histogram!("staunch_engine_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("staunch_engine_batch_size").record(size as f64);
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
                        let lease = crate::investigation::lease_job(job.org, incident_id, now);
                        context.earliest_job = Some(context.earliest_job.map_or(lease.run_at, |due| due.min(lease.run_at)));
                        let lease_id = tx.schedule_job(&lease).await?;
                        investigations.push((job.org, incident_id, lease_id));
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
                for (org, incident_id, lease_id) in investigations {
                    let (store, clock, language_model) = (self.store.clone(), self.clock.clone(), self.language_model.clone());
                    tokio::spawn(async move {
                        let refreshed = crate::investigation::refresh(store, clock, language_model, org, incident_id, lease_id);
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
