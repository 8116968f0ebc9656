//! Large ingest requests cut into slices, and their replies put back together.
//!
//! The engine checks for other organisations' work between slices, not only between
//! transactions (see `Engine::run_transaction`), so a quiet organisation's alert waits behind
//! at most one slice of a flood. A request cut into several slices may therefore be committed
//! by several transactions; it is answered once, after the last of them, so a 2xx still means
//! every one of its alerts is durable. If one of them fails, the sender is answered with the
//! error at once, and a retry deduplicates whatever was already stored.

use super::EngineError;
use super::commands::{Command, IngestReceipt, Reply};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The most alert events one queued piece of work carries.
pub(super) const SLICE_EVENTS: usize = 32;

/// Where a piece of work's outcome goes.
pub(super) enum ReplyTo {
    Whole(oneshot::Sender<Result<Reply, EngineError>>),
    Slice(Arc<Mutex<Gathering>>),
}

/// The slices of one request still to commit, and what those committed have done.
pub(super) struct Gathering {
    outstanding: usize,
    receipt: IngestReceipt,
    sender: Option<oneshot::Sender<Result<Reply, EngineError>>>,
}

impl ReplyTo {
    pub(super) fn send(self, outcome: Result<Reply, EngineError>) {
        match self {
            ReplyTo::Whole(sender) => {
                let _ = sender.send(outcome);
            }
            ReplyTo::Slice(gathering) => {
                let mut gathering = gathering.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                gathering.slice_done(outcome);
            }
        }
    }
}

impl Gathering {
    fn slice_done(&mut self, outcome: Result<Reply, EngineError>) {
        debug_assert!(self.outstanding > 0, "a slice reports once");
        self.outstanding = self.outstanding.saturating_sub(1);
        match outcome {
            Ok(Reply::Ingested(receipt)) => merge_receipt(&mut self.receipt, receipt),
            Ok(_) => debug_assert!(false, "an ingest slice is answered with a receipt"),
            Err(error) => {
                if let Some(sender) = self.sender.take() {
                    let _ = sender.send(Err(error));
                }
                return;
            }
        }
        if self.outstanding == 0
            && let Some(sender) = self.sender.take()
        {
            let _ = sender.send(Ok(Reply::Ingested(std::mem::take(&mut self.receipt))));
        }
    }
}

fn merge_receipt(total: &mut IngestReceipt, part: IngestReceipt) {
    for incident_id in part.incidents_opened {
        if !total.incidents_opened.contains(&incident_id) {
            total.incidents_opened.push(incident_id);
        }
    }
    total.alerts_stored += part.alerts_stored;
    total.deduplicated += part.deduplicated;
    total.resolved += part.resolved;
    total.silenced += part.silenced;
    total.ignored += part.ignored;
}

/// Cuts an ingest command of more than `SLICE_EVENTS` events into slices in their order, each
/// answered into one gathering; anything else is one piece answered directly.
pub(super) fn cut(command: Command, sender: oneshot::Sender<Result<Reply, EngineError>>) -> Vec<(Command, ReplyTo)> {
    match command {
        Command::Ingest { org, service_id, format, events, truncated_alerts } if events.len() > SLICE_EVENTS => {
            let slice_count = events.len().div_ceil(SLICE_EVENTS);
            let gathering = Arc::new(Mutex::new(Gathering {
                outstanding: slice_count,
                receipt: IngestReceipt::default(),
                sender: Some(sender),
            }));
            let mut events = events.into_iter();
            (0..slice_count)
                .map(|_| {
                    let slice: Vec<_> = events.by_ref().take(SLICE_EVENTS).collect();
                    let command = Command::Ingest {
                        org,
                        service_id: service_id.clone(),
                        format,
                        events: slice,
                        // Each incident is opened by one slice, which notes the truncation on it.
                        truncated_alerts,
                    };
                    (command, ReplyTo::Slice(gathering.clone()))
                })
                .collect()
        }
        command => vec![(command, ReplyTo::Whole(sender))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use staunch_store::OrgId;

    fn ingest(event_count: usize) -> Command {
        super::super::ingest_for_tests(OrgId::DEFAULT, "checkout", event_count, 7)
    }

    fn receipt(stored: u32, opened: &[i64]) -> Result<Reply, EngineError> {
        Ok(Reply::Ingested(IngestReceipt { alerts_stored: stored, incidents_opened: opened.to_vec(), ..Default::default() }))
    }

    fn event_counts(pieces: &[(Command, ReplyTo)]) -> Vec<(usize, u64)> {
        pieces
            .iter()
            .map(|(command, _)| match command {
                Command::Ingest { events, truncated_alerts, .. } => (events.len(), *truncated_alerts),
                _ => unreachable!("only ingest commands here"),
            })
            .collect()
    }

    #[test]
    fn small_requests_and_other_commands_stay_whole() {
        let (sender, _receiver) = oneshot::channel();
        let pieces = cut(ingest(SLICE_EVENTS), sender);
        assert_eq!(event_counts(&pieces), vec![(SLICE_EVENTS, 7)]);
        assert!(matches!(pieces[0].1, ReplyTo::Whole(_)));
    }

    #[test]
    fn a_large_request_is_answered_once_after_its_last_slice() {
        let (sender, mut receiver) = oneshot::channel();
        let pieces = cut(ingest(2 * SLICE_EVENTS + 1), sender);
        assert_eq!(event_counts(&pieces), vec![(SLICE_EVENTS, 7), (SLICE_EVENTS, 7), (1, 7)]);
        let mut replies = pieces.into_iter().map(|(_, reply)| reply);
        replies.next().expect("first").send(receipt(32, &[5]));
        replies.next().expect("second").send(receipt(30, &[5, 6]));
        assert!(receiver.try_recv().is_err(), "not answered while a slice is outstanding");
        replies.next().expect("third").send(receipt(1, &[]));
        let Ok(Ok(Reply::Ingested(total))) = receiver.try_recv() else { panic!("answered after the last slice") };
        assert_eq!((total.alerts_stored, total.incidents_opened), (63, vec![5, 6]));
    }

    #[test]
    fn a_failed_slice_answers_the_error_at_once() {
        let (sender, mut receiver) = oneshot::channel();
        let pieces = cut(ingest(SLICE_EVENTS + 1), sender);
        let mut replies = pieces.into_iter().map(|(_, reply)| reply);
        let first = replies.next().expect("first");
        replies.next().expect("second").send(Err(EngineError::ShuttingDown));
        assert!(matches!(receiver.try_recv(), Ok(Err(EngineError::ShuttingDown))));
        first.send(receipt(32, &[]));
    }
}
