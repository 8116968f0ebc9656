//! The engine giving way: a transaction that finds another organisation's work arrived while
//! it was being filled rolls back and lets that work commit first. Also where the engine runs
//! with SQLite: on a thread of its own.

use super::*;
use staunch_store::AlertFilter;
use tokio::sync::oneshot::error::TryRecvError;

const CONFIG: &str = "
services:
  - id: checkout
organisations:
  - id: quiet
    services:
      - id: latency
";

fn ingest(org: OrgId, service_id: &str, count: usize) -> Command {
    ingest_for_tests(org, service_id, count, 0)
}

type Answer = tokio::sync::oneshot::Receiver<Result<Reply, EngineError>>;

fn request(command: Command) -> (Request, Answer) {
    let (reply, answer) = tokio::sync::oneshot::channel();
    (Request { command, audit: None, reply }, answer)
}

fn stored(answer: &mut Answer) -> Option<u32> {
    match answer.try_recv() {
        Ok(Ok(Reply::Ingested(receipt))) => Some(receipt.alerts_stored),
        Ok(other) => panic!("unexpected answer {other:?}"),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Closed) => panic!("dropped without an answer"),
    }
}

async fn alert_count(store: &dyn Store, org: OrgId, service_id: &str) -> usize {
    let filter = AlertFilter { service_id: Some(service_id.into()), limit: 10_000, ..Default::default() };
    store.alerts(org, &filter).await.expect("alerts read").len()
}

/// An engine on a fresh database with two organisations: the flooding one and the quiet one.
struct TwoOrganisations {
    store: Arc<dyn Store>,
    engine: Engine,
    handle: EngineHandle,
    flooding: OrgId,
    quiet: OrgId,
    _directory: tempfile::TempDir,
}

async fn two_organisations() -> TwoOrganisations {
    two_organisations_with(staunch_store_sqlite::Durability::Normal).await
}

async fn two_organisations_with(durability: staunch_store_sqlite::Durability) -> TwoOrganisations {
    let (store, config, ids, directory) = super::store_for_tests_with(CONFIG, durability).await;
    let (outbox, _inbox) = crate::outbox::channel();
    let (engine, handle) = super::engine(store.clone(), Arc::new(config), Arc::new(crate::clock::SystemClock), outbox);
    TwoOrganisations { store, engine, handle, flooding: ids[0], quiet: ids[1], _directory: directory }
}

#[tokio::test]
async fn a_quiet_organisation_waiting_when_a_transaction_starts_has_it_alone() {
    let TwoOrganisations { store, mut engine, flooding, quiet, _directory, .. } = two_organisations().await;
    let flood_events = 3 * BATCH_EVENTS_ALONE as usize;
    let (flood, mut flood_answer) = request(ingest(flooding, "checkout", flood_events));
    engine.enqueue(flood);
    engine.run_transaction().await;
    assert_eq!(alert_count(&*store, flooding, "checkout").await, BATCH_EVENTS_ALONE as usize);

    let (quiet_request, mut quiet_answer) = request(ingest(quiet, "latency", 1));
    engine.enqueue(quiet_request);
    engine.run_transaction().await;
    assert_eq!(stored(&mut quiet_answer), Some(1));
    assert_eq!(alert_count(&*store, flooding, "checkout").await, BATCH_EVENTS_ALONE as usize, "none of the backlog rode along");

    while !engine.queued.is_empty() {
        engine.run_transaction().await;
    }
    assert_eq!(stored(&mut flood_answer), Some(flood_events as u32));
}

#[tokio::test]
async fn a_floods_transactions_are_short_while_another_organisation_has_work() {
    let TwoOrganisations { store, mut engine, flooding, quiet, _directory, .. } = two_organisations().await;
    let (quiet_request, mut quiet_answer) = request(ingest(quiet, "latency", 1));
    engine.enqueue(quiet_request);
    engine.run_transaction().await;
    assert_eq!(stored(&mut quiet_answer), Some(1));

    // Nothing of the quiet organisation is queued any more, but it had work a moment ago.
    let (flood, _flood_answer) = request(ingest(flooding, "checkout", 3 * BATCH_EVENTS_ALONE as usize));
    engine.enqueue(flood);
    engine.run_transaction().await;
    assert_eq!(alert_count(&*store, flooding, "checkout").await, BATCH_EVENTS_SHARED as usize);
}

#[tokio::test]
async fn a_flood_in_progress_gives_way_to_a_newcomer_and_loses_nothing() {
    let TwoOrganisations { store, mut engine, handle, flooding, quiet, _directory } = two_organisations().await;

    // The flood is queued before the transaction starts; the quiet organisation's alert is
    // on the channel, so the engine finds it after applying the flood's first slice.
    let (flood, mut flood_answer) = request(ingest(flooding, "checkout", 4 * slices::SLICE_EVENTS));
    engine.enqueue(flood);
    let (quiet_request, mut quiet_answer) = request(ingest(quiet, "latency", 1));
    handle.sender.try_send(quiet_request).expect("room on the channel");

    engine.run_transaction().await;
    assert_eq!(stored(&mut quiet_answer), Some(1), "the newcomer is committed by the first transaction");
    assert_eq!(stored(&mut flood_answer), None, "the flood is not answered before it is committed");
    assert_eq!(alert_count(&*store, quiet, "latency").await, 1);
    assert_eq!(alert_count(&*store, flooding, "checkout").await, 0, "the flood's first slice was rolled back");
    assert_eq!(engine.queued.len(), 4, "all four of the flood's slices wait again");

    // Work that gave way once does not give way again: a newcomer arriving now joins it.
    let (second_quiet, mut second_answer) = request(ingest(quiet, "latency", 2));
    handle.sender.try_send(second_quiet).expect("room on the channel");
    engine.run_transaction().await;
    assert_eq!(alert_count(&*store, flooding, "checkout").await, slices::SLICE_EVENTS, "one slice, then the newcomer's");
    assert_eq!(stored(&mut second_answer), Some(1), "latency-0 again is deduplicated, latency-1 is new");

    while !engine.queued.is_empty() {
        engine.run_transaction().await;
    }
    assert_eq!(stored(&mut flood_answer), Some((4 * slices::SLICE_EVENTS) as u32), "answered once, every alert stored");
    assert_eq!(alert_count(&*store, flooding, "checkout").await, 4 * slices::SLICE_EVENTS);
    assert_eq!(alert_count(&*store, quiet, "latency").await, 2);
}

#[tokio::test]
async fn due_jobs_wait_for_a_quiet_organisations_work_for_a_bounded_time() {
    let TwoOrganisations { mut engine, handle, flooding, quiet, _directory, .. } = two_organisations().await;
    let start = std::time::Instant::now();
    assert!(engine.due_jobs_may_run(start), "nothing is queued");

    let (flood, _flood_answer) = request(ingest(flooding, "checkout", 3 * BATCH_EVENTS_ALONE as usize));
    engine.enqueue(flood);
    assert!(!engine.due_jobs_may_run(start), "work that arrived to an empty queue goes first");
    engine.run_transaction().await;
    assert!(engine.due_jobs_may_run(start), "a flood's backlog never holds jobs back");

    let (quiet_request, mut quiet_answer) = request(ingest(quiet, "latency", 1));
    handle.sender.try_send(quiet_request).expect("room on the channel");
    assert!(!engine.due_jobs_may_run(start), "the quiet alert on the channel goes first");
    assert!(!engine.due_jobs_may_run(start + JOBS_GIVE_WAY_AT_MOST / 2));
    assert!(engine.due_jobs_may_run(start + JOBS_GIVE_WAY_AT_MOST), "jobs wait a bounded time");
    assert!(!engine.due_jobs_may_run(start + JOBS_GIVE_WAY_AT_MOST), "once they ran, a new wait begins");

    engine.run_transaction().await;
    assert_eq!(stored(&mut quiet_answer), Some(1));
    assert!(engine.due_jobs_may_run(start + JOBS_GIVE_WAY_AT_MOST), "the quiet work was served");
}

#[tokio::test]
async fn with_sqlite_the_engine_answers_from_a_thread_of_its_own_until_shutdown() {
    let TwoOrganisations { store, engine, handle, quiet, _directory, .. } = two_organisations().await;
    let (shutdown_sender, shutdown) = broadcast::channel(1);
    let stopped = start(engine, shutdown).expect("engine started");
    let (quiet_request, answer) = request(ingest(quiet, "latency", 1));
    handle.sender.send(quiet_request).await.expect("the engine is listening");
    assert!(matches!(answer.await, Ok(Ok(Reply::Ingested(_)))), "answered after its commit");
    #[cfg(target_os = "linux")]
    assert!(threads_named("staunch-engine") >= 1, "no thread of its own");
    shutdown_sender.send(()).expect("the engine is subscribed");
    stopped.await.expect("the engine reports that it stopped");
    assert_eq!(alert_count(&*store, quiet, "latency").await, 1);
}

#[tokio::test]
async fn the_engine_stops_once_every_handlers_handle_is_gone() {
    let TwoOrganisations { mut engine, handle, _directory, .. } = two_organisations().await;
    // The handle it gives its own investigation refreshes does not keep it running.
    engine.refresh_queue();
    let (_shutdown_sender, shutdown) = broadcast::channel(1);
    let stopped = start(engine, shutdown).expect("engine started");
    drop(handle);
    tokio::time::timeout(Duration::from_secs(10), stopped).await.expect("stopped in time").expect("stop reported");
}

#[cfg(target_os = "linux")]
fn threads_named(name: &str) -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("this process's threads");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// With commits synced, an organisation alone is answered once the sync thread has synced its
/// commits (the engine does not wait); once another has work, each commit is synced before
/// the engine goes on, so the answer is there when the transaction returns.
#[tokio::test]
async fn commits_are_synced_apart_from_the_engine_only_while_one_organisation_has_work() {
    let TwoOrganisations { store, mut engine, flooding, quiet, _directory, .. } =
        two_organisations_with(staunch_store_sqlite::Durability::Full).await;
    let flood_events = 3 * BATCH_EVENTS_ALONE as usize;
    let (flood, flood_answer) = request(ingest(flooding, "checkout", flood_events));
    engine.enqueue(flood);
    assert!(!engine.shared());
    while !engine.queued.is_empty() {
        engine.run_transaction().await;
    }
    let answered = tokio::time::timeout(std::time::Duration::from_secs(20), flood_answer).await.expect("answered in time");
    let Ok(Ok(Reply::Ingested(receipt))) = answered else { panic!("flood answered with {answered:?}") };
    assert_eq!(receipt.alerts_stored, flood_events as u32);
    assert_eq!(alert_count(&*store, flooding, "checkout").await, flood_events);

    let (quiet_request, mut quiet_answer) = request(ingest(quiet, "latency", 1));
    engine.enqueue(quiet_request);
    assert!(engine.shared());
    engine.run_transaction().await;
    assert_eq!(stored(&mut quiet_answer), Some(1), "answered before the transaction returned");
}
