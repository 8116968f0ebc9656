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
#[cfg(test)]
mod give_way_tests;
mod intake;
#[cfg(test)]
mod investigation_bound_tests;
mod retry;
mod slices;
mod state_change;
mod timeline;

pub use action_items::{ActionItemAction, ActionItemPatch};
pub use commands::*;

use crate::clock::Clock;
use crate::locks::lock;
use crate::outbox::OutboxHandle;
use jiff::Timestamp;
use staunch_config::Config;
use staunch_domain::active_tenants::ActiveTenants;
use staunch_domain::fairness::DeficitRoundRobin;
use staunch_store::{JobKind, OnDurable, OrgId, Store, StoreError, StoreTx};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How many alert events one transaction takes when only one organisation has work queued
/// (other commands count as one). Large enough that a commit's cost is shared widely.
const BATCH_EVENTS_ALONE: u64 = 256;
/// The same when several organisations have a backlog, or have had work within
/// `SHARED_AFTER_WORK`: one slice, so each transaction waits behind as little of the others'
/// as slicing allows. (A quiet organisation's work is committed on its own, see
/// `run_transaction`, but it still waits for the commit in progress when it arrives.) Under a
/// sustained flood, 64 events instead of 256 paged a quiet organisation's alerts in 7.2 and
/// 8.8 ms at p99 instead of 10.9 and 10.4 on a slow disk. With 32 instead of 64, on a faster
/// machine, the quiet organisation's alerts under the issue's flood were paged in 1.77 and
/// 1.96 ms at p99 (two sets of 100 and 120) instead of 2.57 and 2.60, while the flood took
/// about a fifth fewer alerts per second (`docs/benchmarks.md`, "a flood's transactions one
/// slice long").
const BATCH_EVENTS_SHARED: u64 = slices::SLICE_EVENTS as u64;
/// How long an organisation counts as having work after its last command: a quiet
/// organisation's alerts are rarely queued when a flood's transaction starts, so its queue
/// alone would leave the flood's transactions long.
const SHARED_AFTER_WORK: Duration = Duration::from_secs(60);
/// Alert events queued behind a lone organisation's commit (other commands count as one) from
/// which the engine goes on without waiting for the commit's sync: a slice's worth (see
/// `Engine::commit`).
const SYNC_APART_FROM_QUEUED: u64 = slices::SLICE_EVENTS as u64;
/// What each organisation may take per round of the fair queue.
const FAIR_QUANTUM: u64 = 32;
/// Commands taken off the channel into the fair queue at most; beyond this, senders wait
/// on the channel (backpressure).
const MAX_QUEUED: usize = 8192;
/// How often the engine re-reads when the next job is due. Jobs it schedules itself it knows
/// of at once; the re-read finds jobs other processes scheduled (replicas sharing a database).
const JOB_POLL: Duration = Duration::from_millis(250);
/// How long due jobs may wait, at a time, for quiet organisations' work (see
/// `Engine::due_jobs_may_run`).
const JOBS_GIVE_WAY_AT_MOST: Duration = Duration::from_millis(100);

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

/// A handle that does not keep the engine's channel open: what the engine gives the work it
/// starts itself (investigation refreshes), so the channel still closes, and the engine
/// stops, once every handler's handle is gone.
#[derive(Clone)]
pub(crate) struct WeakEngineHandle {
    sender: mpsc::WeakSender<Request>,
}

impl WeakEngineHandle {
    pub(crate) async fn submit(&self, command: Command) -> Result<Reply, EngineError> {
        let sender = self.sender.upgrade().ok_or(EngineError::ShuttingDown)?;
        EngineHandle { sender }.submit(command).await
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
    /// A transaction applied it and then gave way to a newcomer (see `run_transaction`); a
    /// transaction holding it does not give way again, so every piece of work is rolled back
    /// at most once.
    put_back: bool,
}

pub struct Engine {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    outbox: OutboxHandle,
    receiver: mpsc::Receiver<Request>,
    /// For the investigation refreshes it starts, which store their results through it.
    handle: WeakEngineHandle,
    /// Commands received and not yet applied, per organisation (see `staunch_domain::fairness`).
    queued: DeficitRoundRobin<OrgId, Envelope>,
    /// Organisations that have had work within `SHARED_AFTER_WORK`.
    active: ActiveTenants<OrgId>,
    /// When the earliest job is due, as far as this engine knows (see `JOB_POLL`).
    next_job_due: Option<Timestamp>,
    next_job_due_read_at: std::time::Instant,
    /// When the next job batch may be tried after failed ones.
    job_batch_retry: retry::RetryPause,
    /// Since when due jobs have given way to quiet organisations' work.
    jobs_giving_way_since: Option<std::time::Instant>,
    noise: crate::noise::NoiseModels,
    /// Consulted by investigation refreshes when `llm:` names a provider.
    language_model: Option<crate::llm::LanguageModel>,
    /// Read by investigation refreshes when `telemetry.prometheus` is set.
    prometheus: Option<crate::signals::PrometheusSignals>,
    /// Claimed investigations waiting for their refresh; started with the first claim, once
    /// the language model and Prometheus are set.
    refreshes: Option<crate::investigation::RefreshQueue>,
    /// The server's runtime, where refreshes run (the engine has a thread of its own, see
    /// `start`).
    runtime: tokio::runtime::Handle,
    /// How long each incident's pending investigation may still be postponed.
    investigation_bursts: timeline::Bursts,
}

/// Starts the engine, which runs until `shutdown`; the receiver completes once it has stopped.
///
/// With SQLite the engine gets a thread of its own, with a single-threaded runtime. SQLite's
/// writer runs on the thread that begins the transaction and never yields, so on the server's
/// runtime the engine held one of its workers for every transaction (0.2–5 ms under a flood)
/// while the requests queued on that worker waited; on its own thread it takes turns from the
/// kernel's scheduler and the runtime's workers all serve HTTP. Under a sustained flood a quiet
/// organisation's pages arrived sooner (`docs/benchmarks.md`, "the engine on a thread of its
/// own"). PostgreSQL's statements are awaited I/O, so the engine holds no worker while they
/// run, and each would cost one more wake-up from another thread: there it stays a task.
pub fn start(engine: Engine, shutdown: broadcast::Receiver<()>) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let (stopped_sender, stopped) = tokio::sync::oneshot::channel::<()>();
    if !engine.store.writes_hold_the_calling_thread() {
        tokio::spawn(async move {
            engine.run(shutdown).await;
            let _ = stopped_sender.send(());
        });
        return Ok(stopped);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("staunch-engine".into()).spawn(move || {
        runtime.block_on(engine.run(shutdown));
        let _ = stopped_sender.send(());
    })?;
    Ok(stopped)
}

pub fn engine(store: Arc<dyn Store>, config: Arc<Config>, clock: Arc<dyn Clock>, outbox: OutboxHandle) -> (Engine, EngineHandle) {
    let (sender, receiver) = mpsc::channel(8192);
    let weak_handle = WeakEngineHandle { sender: sender.downgrade() };
    let engine = Engine {
        store,
        config,
        clock,
        outbox,
        receiver,
        handle: weak_handle,
        queued: DeficitRoundRobin::new(FAIR_QUANTUM),
        active: ActiveTenants::new(SHARED_AFTER_WORK),
        next_job_due: None,
        next_job_due_read_at: std::time::Instant::now() - JOB_POLL,
        job_batch_retry: retry::RetryPause::default(),
        jobs_giving_way_since: None,
        noise: crate::noise::NoiseModels::default(),
        language_model: None,
        prometheus: None,
        refreshes: None,
        runtime: tokio::runtime::Handle::current(),
        investigation_bursts: timeline::Bursts::default(),
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
            }
            if self.next_job_due_read_at.elapsed() >= JOB_POLL {
                self.read_next_job_due().await;
            }
            let jobs_due = self.next_job_due.is_some_and(|due| due <= self.clock.now());
            let at = std::time::Instant::now();
            if jobs_due && self.job_batch_retry.allows(at) && self.due_jobs_may_run(at) {
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

    /// Due jobs go after a quiet organisation's work: work that arrived to an empty queue
    /// (`DeficitRoundRobin::newly_waiting`) is committed first, for at most
    /// `JOBS_GIVE_WAY_AT_MOST` at a time. Under a flood, a quiet organisation's alert had
    /// waited for the job batch (investigation claims, escalations: 1.4–7.7 ms with its
    /// commit, and up to 6.5 ms more waiting for the writer) behind the flood's transaction.
    /// A flood alone never makes jobs wait: its queue is never empty, so it is not newly
    /// waiting.
    fn due_jobs_may_run(&mut self, now: std::time::Instant) -> bool {
        self.receive_queued();
        if self.queued.newly_waiting().is_empty() {
            self.jobs_giving_way_since = None;
            return true;
        }
        let since = *self.jobs_giving_way_since.get_or_insert(now);
        if now.duration_since(since) < JOBS_GIVE_WAY_AT_MOST {
            return false;
        }
        self.jobs_giving_way_since = None;
        true
    }

    fn enqueue(&mut self, request: Request) {
        let Request { command, mut audit, reply } = request;
        self.active.seen(command.org(), std::time::Instant::now());
        // An audited change is one entry in the audit log, so it is never cut.
        let pieces = if audit.is_some() { vec![(command, slices::ReplyTo::Whole(reply))] } else { slices::cut(command, reply) };
        for (command, reply) in pieces {
            let (org, cost) = (command.org(), command.cost());
            self.queued.push(org, Envelope { command, audit: audit.take(), reply, put_back: false }, cost);
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
    /// commits once; then answers.
    ///
    /// Quiet organisations (work arriving to an empty queue, see
    /// `DeficitRoundRobin::newly_waiting`) do not share a busy one's transaction. Waiting when
    /// it starts, their first slices are committed on their own. Arriving while it is filled
    /// (it looks between slices), they make it give way: it rolls back, the work it had taken
    /// goes back to the front of its queues, and theirs is committed on its own. A quiet
    /// organisation's alert thus waits for the slice being applied when it arrives, not for a
    /// busy one's batch to be applied and its pages written and synced.
    async fn run_transaction(&mut self) {
        let now = self.clock.now();
        let newly_waiting = self.queued.newly_waiting().to_vec();
        let mut source = if !newly_waiting.is_empty() && self.queued.tenants() > newly_waiting.len() {
            Source::Newcomers(newly_waiting)
        } else {
            Source::Fair
        };
        // At most twice: a transaction of newcomers never gives way.
        loop {
            let started = std::time::Instant::now();
            let mut taken = Vec::new();
            match self.fill(now, &mut taken, source).await {
                Ok(Filled::GaveWay { newcomers }) => {
                    metrics::counter!("staunch_engine_transactions_given_way_total").increment(1);
                    self.put_back(taken);
                    source = Source::Newcomers(newcomers);
                    continue;
                }
                Ok(Filled::Applied(tx, context_after)) => return self.commit_and_answer(tx, taken, context_after, started).await,
                Err(error) => return answer_failed(taken, error),
            }
        }
    }

    /// Commits a filled transaction and answers what it took once the commit is durable.
    async fn commit_and_answer(
        &mut self,
        tx: Box<dyn StoreTx>,
        taken: Vec<Envelope>,
        applied: AppliedWork,
        started: std::time::Instant,
    ) {
        let AppliedWork { replies, handed_over, earliest_job, counts } = applied;
        debug_assert_eq!(replies.len(), taken.len(), "one reply per piece of work");
        metrics::histogram!("staunch_engine_batch_size").record(taken.len() as f64);
        let outbox = self.outbox.clone();
        let waiting = Arc::new(std::sync::Mutex::new(Some(taken)));
        let waiting_for_sync = waiting.clone();
        let on_durable: OnDurable = Box::new(move |outcome| {
            let Some(taken) = lock(&waiting_for_sync).take() else { return };
            metrics::histogram!("staunch_engine_batch_seconds").record(started.elapsed().as_secs_f64());
            match outcome {
                Ok(()) => {
                    outbox.hand_over(handed_over);
                    for (envelope, reply) in taken.into_iter().zip(replies) {
                        envelope.reply.send(Ok(reply));
                    }
                }
                Err(error) => answer_failed(taken, error),
            }
        });
        match self.commit(tx, on_durable).await {
            Ok(()) => {
                self.jobs_scheduled(earliest_job);
                counts.report();
            }
            // Not committed: the callback was dropped unrun, and what it held is answered here.
            Err(error) => {
                if let Some(taken) = lock(&waiting).take() {
                    answer_failed(taken, error);
                }
            }
        }
    }

    /// Commits `tx`, and calls `on_durable` once the commit is durable.
    ///
    /// While one organisation alone has work and at least `SYNC_APART_FROM_QUEUED` events of
    /// it are queued, the engine does not wait for the disk: it goes on to the next
    /// transaction, and one sync serves every commit made while the last one ran
    /// (`StoreTx::commit_then`). Single-tenant ingest took 13–39% more alerts per second at
    /// batch 100 (28% on average over three pairs). Otherwise each commit waits for its own
    /// sync, on this thread, as before:
    /// - with little queued the next transaction would be small: at batch 1 (16 senders, each
    ///   waiting for its answer), handing over every commit with anything queued shrank
    ///   transactions from 7–9 commands to 5–7, for no more alerts per second;
    /// - while several organisations have work, pipelined syncs kept the disk always syncing a
    ///   flood's commits, and a quiet organisation's commit waited for the rest of that sync
    ///   before its own, so its pages came later (p50 3.9–4.6 ms against 3.0–3.1 ms) even with
    ///   one sync in flight at a time (`docs/benchmarks.md`, "syncs off the engine's path").
    async fn commit(&mut self, tx: Box<dyn StoreTx>, on_durable: OnDurable) -> Result<(), StoreError> {
        self.receive_queued();
        if self.shared() || self.queued.cost() < SYNC_APART_FROM_QUEUED {
            tx.commit().await?;
            on_durable(Ok(()));
            return Ok(());
        }
        tx.commit_then(on_durable).await
    }

    /// Whether several organisations have work queued or have had work within
    /// `SHARED_AFTER_WORK`.
    fn shared(&self) -> bool {
        self.queued.tenants() > 1 || self.active.several(std::time::Instant::now())
    }

    /// Returns work a rolled-back transaction had taken to the front of its organisations'
    /// queues, in the order it was taken.
    fn put_back(&mut self, taken: Vec<Envelope>) {
        let mut by_org: Vec<(OrgId, Vec<(Envelope, u64)>)> = Vec::new();
        for mut envelope in taken {
            debug_assert!(!envelope.put_back, "work is rolled back for a newcomer at most once");
            envelope.put_back = true;
            let (org, cost) = (envelope.command.org(), envelope.command.cost());
            match by_org.iter_mut().find(|(queued_org, _)| *queued_org == org) {
                Some((_, pieces)) => pieces.push((envelope, cost)),
                None => by_org.push((org, vec![(envelope, cost)])),
            }
        }
        for (org, pieces) in by_org {
            self.queued.put_back(org, pieces);
        }
    }

    /// The body of `run_transaction` up to the commit: everything it takes is pushed to
    /// `taken`, applied or not, so a failure answers all of it.
    async fn fill(&mut self, now: Timestamp, taken: &mut Vec<Envelope>, source: Source) -> Result<Filled, StoreError> {
        let (config, noise) = (self.config.clone(), self.noise.clone());
        let mut tx = self.store.begin().await?;
        let mut context = commands::ApplyContext::new(&config, &noise, now);
        let mut replies = Vec::new();
        match source {
            Source::Newcomers(newcomers) => {
                let first = self.take_first_slices(&newcomers, taken);
                apply_pieces(&mut *tx, &mut context, &taken[first..], now, &mut replies).await?;
            }
            Source::Fair => {
                let budget = if self.shared() { BATCH_EVENTS_SHARED } else { BATCH_EVENTS_ALONE };
                let mut spent = 0;
                let waiting_at_start = self.queued.newly_waiting().to_vec();
                while spent < budget {
                    let first = taken.len();
                    taken.extend(self.queued.take((slices::SLICE_EVENTS as u64).min(budget - spent)));
                    if taken.len() == first {
                        break;
                    }
                    spent += taken[first..].iter().map(|envelope| envelope.command.cost()).sum::<u64>();
                    apply_pieces(&mut *tx, &mut context, &taken[first..], now, &mut replies).await?;
                    self.receive_queued();
                    let newcomers = self.queued.newly_waiting().to_vec();
                    if newcomers.is_empty() {
                        continue;
                    }
                    let arrived_since_start = newcomers.iter().any(|org| !waiting_at_start.contains(org));
                    if arrived_since_start && !taken.iter().any(|envelope| envelope.put_back) {
                        // Dropping the transaction rolls it back.
                        return Ok(Filled::GaveWay { newcomers });
                    }
                    // Waiting from the start, or this work gave way once already: the
                    // newcomers' slices join this transaction, which then commits.
                    let first = self.take_first_slices(&newcomers, taken);
                    apply_pieces(&mut *tx, &mut context, &taken[first..], now, &mut replies).await?;
                    break;
                }
            }
        }
        timeline::flush(&mut *tx, &mut context, &mut self.investigation_bursts).await?;
        let applied =
            AppliedWork { replies, handed_over: context.handed_over, earliest_job: context.earliest_job, counts: context.counts };
        Ok(Filled::Applied(tx, applied))
    }

    /// Takes one slice of each of `orgs` onto `taken`; returns where they begin.
    fn take_first_slices(&mut self, orgs: &[OrgId], taken: &mut Vec<Envelope>) -> usize {
        let first = taken.len();
        for org in orgs {
            taken.extend(self.queued.take_from(org, slices::SLICE_EVENTS as u64));
        }
        first
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
        let (config, noise) = (self.config.clone(), self.noise.clone());
        let outcome = async {
            let mut tx = self.store.begin().await?;
            let jobs = tx.due_jobs(now, 256).await?;
            let mut context = commands::ApplyContext::new(&config, &noise, now);
            let mut investigations = Vec::new();
            for job in &jobs {
                match (job.kind, job.incident_id) {
                    // Computed after this commit, outside the writer (it reads a lot); the
                    // lease job left in its place runs it again if this process dies first.
                    (JobKind::Investigate, Some(incident_id)) => {
                        let claim = crate::investigation::claim(&mut *tx, job.org, incident_id, now).await?;
                        self.investigation_bursts.claimed(job.org, incident_id);
                        let lease_due = claim.lease_ends;
                        context.earliest_job = Some(context.earliest_job.map_or(lease_due, |due| due.min(lease_due)));
                        investigations.push(claim);
                    }
                    _ => escalate::run_job(&mut *tx, &mut context, job).await?,
                }
                tx.delete_job(job.id).await?;
            }
            timeline::flush(&mut *tx, &mut context, &mut self.investigation_bursts).await?;
            Ok::<_, StoreError>((tx, jobs.len(), context, investigations))
        }
        .await;
        // Pages and investigations wait for the commit to be durable, as replies do (see
        // `commit_and_answer`); the engine does not.
        let committed = match outcome {
            Ok((tx, count, context, investigations)) => {
                // Started only for claims: the queue's task is not wanted before the first.
                let refreshes = (!investigations.is_empty()).then(|| self.refresh_queue().clone());
                let outbox = self.outbox.clone();
                let handed_over = context.handed_over;
                let on_durable: OnDurable = Box::new(move |outcome| match outcome {
                    Ok(()) => {
                        outbox.hand_over(handed_over);
                        if let Some(refreshes) = refreshes {
                            investigations.into_iter().for_each(|claim| refreshes.push(claim));
                        }
                    }
                    // Their jobs and leases run again after the restart a failed sync asks for.
                    Err(error) => tracing::error!(%error, "a job batch's pages and investigations wait for a restart"),
                });
                self.commit(tx, on_durable).await.map(|()| (count, context.earliest_job, context.counts))
            }
            Err(error) => Err(error),
        };
        match committed {
            Ok((count, earliest_job, counts)) => {
                counts.report();
                self.job_batch_retry.succeeded();
                if count > 0 {
                    tracing::debug!(count, "ran due jobs");
                }
                self.jobs_scheduled(earliest_job);
            }
            Err(error) => {
                let (failures, pause) = self.job_batch_retry.failed(std::time::Instant::now());
                tracing::error!(%error, failures, retry_in = %pause, "job batch rolled back; it will be retried");
            }
        }
    }

    fn refresh_queue(&mut self) -> &crate::investigation::RefreshQueue {
        self.refreshes.get_or_insert_with(|| {
            crate::investigation::RefreshQueue::start(
                &self.runtime,
                self.handle.clone(),
                self.store.clone(),
                self.clock.clone(),
                self.language_model.clone(),
                self.prometheus.clone(),
            )
        })
    }
}

/// What a transaction's work produced, to be acted on once it is committed: one reply per
/// piece of work, the pages leased to this process's outbox, the earliest job it scheduled,
/// and what it counted.
struct AppliedWork {
    replies: Vec<Reply>,
    handed_over: Vec<staunch_store::Delivery>,
    earliest_job: Option<Timestamp>,
    counts: commands::Counts,
}

/// Answers every piece of work a transaction took with `error`: none of it is durable.
fn answer_failed(taken: Vec<Envelope>, error: StoreError) {
    tracing::error!(%error, batch = taken.len(), "batch failed");
    // Every sender in the batch gets a retryable backend error, even for a conflict: one
    // command's conflict rolled back the others' work too.
    let message = match error {
        StoreError::Backend(message) => message,
        other => other.to_string(),
    };
    for envelope in taken {
        envelope.reply.send(Err(EngineError::Store(StoreError::Backend(message.clone()))));
    }
}

/// Where a transaction takes its work from.
enum Source {
    /// The fair queue, a slice at a time.
    Fair,
    /// The first slice of each of these organisations, which a transaction gave way to.
    Newcomers(Vec<OrgId>),
}

enum Filled {
    /// Filled and not yet committed.
    Applied(Box<dyn StoreTx>, AppliedWork),
    /// Rolled back, so these organisations' work is committed without waiting for it.
    GaveWay { newcomers: Vec<OrgId> },
}

/// An Events API v2 ingest command of `count` trigger events, dedup keys `{service_id}-{n}`.
#[cfg(test)]
fn ingest_for_tests(org: OrgId, service_id: &str, count: usize, truncated_alerts: u64) -> Command {
    let events = (0..count)
        .map(|number| {
            let body = format!(
                r#"{{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger","dedup_key":"{service_id}-{number}","payload":{{"summary":"s","source":"web","severity":"error"}}}}"#
            );
            let event = staunch_domain::ingest::pagerduty::parse_event(body.as_bytes()).expect("valid event");
            let dedup_key = event.dedup_key.clone().expect("dedup key given");
            event.into_alert_event(dedup_key)
        })
        .collect();
    Command::Ingest {
        org,
        service_id: service_id.to_string(),
        format: staunch_domain::alert::SourceFormat::EventsV2,
        events,
        truncated_alerts,
    }
}

/// A fresh SQLite database with `config`'s organisations in it, and the config bound to their
/// ids (in the config's order).
#[cfg(test)]
async fn store_for_tests(config: &str) -> (Arc<dyn Store>, Config, Vec<OrgId>, tempfile::TempDir) {
    store_for_tests_with(config, staunch_store_sqlite::Durability::Normal).await
}

#[cfg(test)]
async fn store_for_tests_with(
    config: &str,
    durability: staunch_store_sqlite::Durability,
) -> (Arc<dyn Store>, Config, Vec<OrgId>, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("staunch.db");
    let store: Arc<dyn Store> =
        Arc::new(staunch_store_sqlite::SqliteStore::open(path.to_str().expect("utf-8"), durability).await.expect("open"));
    let mut config = staunch_config::parse_config(config, "test").expect("config");
    let wanted: Vec<(staunch_domain::tenant::OrgSlug, String)> =
        config.organisations.iter().map(|organisation| (organisation.slug.clone(), organisation.name.clone())).collect();
    let ids = store.ensure_organisations(&wanted).await.expect("organisations");
    config.bind_org_ids(&wanted.into_iter().map(|(slug, _)| slug).zip(ids.iter().copied()).collect::<Vec<_>>());
    (store, config, ids, directory)
}

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
