//! The group-commit machine: one thread owns the write connection, takes jobs from a
//! channel, applies everything queued in one transaction, and only after the commit
//! publishes the events, in commit order, and answers the callers. What each change
//! does is the order rules' (`rules`); the events they log are built in `events`.
//! Where other nodes' writers share the database, a group that collides with one of
//! theirs (a deadlock, a serialization failure) is tried again whole, unseen by callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chit_protocol::ErrorCode;
use tokio::sync::{Notify, mpsc, oneshot};

use super::events;
use super::rules::{self, Batch, Kitchen};
use super::today::{Figures, Today};
use super::tx::{Begun, Tx, TxResult, WriteConn};
use super::{Change, Write, WriteResult, Written};
use crate::auth::Principal;
use crate::clock::Clock;
use crate::error::Refusal;
use crate::frames::Published;

/// At most this many jobs go into one transaction.
const MAX_BATCH: usize = 1024;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// A group that collides with another node's transaction (a deadlock, a serialization
/// failure) is tried this many times at most before its requests are refused.
const MAX_TRIES: u32 = 10;

#[allow(clippy::large_enum_variant)] // jobs move once through a channel; boxing buys nothing
pub(super) enum Job {
    Write {
        who: Arc<Principal>,
        op: Write,
        reply: oneshot::Sender<WriteResult>,
    },
    /// A change of the server's own (a webhook's cursor, a health probe), made in the
    /// next group's transaction and answered after its commit.
    Apply {
        change: Change,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// Do what the clock or another process has made due: fire held orders whose time
    /// has come, end 86s whose `until` has passed, take up menus loaded beside the
    /// server. Answered after the commit.
    Due {
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// Finish what is queued before this, checkpoint, and stop.
    Shutdown,
}

impl Change {
    fn make(&self, tx: &dyn Tx) -> TxResult<()> {
        match self {
            Change::WebhookProgress { id, progress } => tx.save_webhook_progress(*id, progress),
            Change::Probe => tx.probe(),
        }
    }
}

pub(super) struct Writer<C> {
    pub conn: C,
    pub jobs: mpsc::Receiver<Job>,
    pub publish: Box<dyn FnMut(Vec<Published>, Vec<Figures>) + Send>,
    pub today: Today,
    pub head: Arc<AtomicU64>,
    /// Transactions committed so far; the checkpointer watches it.
    pub commits: Arc<AtomicU64>,
    /// Held for each transaction; the checkpointer takes it to catch up with the log.
    pub gate: Arc<std::sync::Mutex<()>>,
    pub retention: Duration,
    pub group_sizes: Option<prometheus_client::metrics::histogram::Histogram>,
    pub clock: Clock,
    /// Menus and 86s as the writer last committed them.
    pub kitchen: Kitchen,
    /// Told after a commit that put something new on the clock's list (a held order,
    /// an 86), so that the timer looks again at what is due next.
    pub due_changed: Arc<Notify>,
    /// Whether other nodes' writers share the database (see `WriteConn::shared`).
    pub shared: bool,
}

impl<C: WriteConn> Writer<C> {
    pub fn run(mut self) {
        let mut last_prune = Instant::now() - PRUNE_EVERY;
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        let mut stopping = false;
        while !stopping {
            let Some(first) = self.jobs.blocking_recv() else {
                break;
            };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match self.jobs.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut writes = Vec::with_capacity(jobs.len());
            let mut changes = Vec::new();
            let mut due = Vec::new();
            for job in jobs.drain(..) {
                match job {
                    Job::Write { who, op, reply } => writes.push((who, op, reply)),
                    Job::Apply { change, reply } => changes.push((change, reply)),
                    Job::Due { reply } => due.push(reply),
                    Job::Shutdown => stopping = true,
                }
            }
            if !writes.is_empty() || !changes.is_empty() || !due.is_empty() {
                let gate = self.gate.clone();
                let _turn = gate.lock().unwrap_or_else(|e| e.into_inner());
                self.commit_batch(writes, changes, due);
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                self.prune();
            }
        }
        if let Err(e) = self.conn.at_shutdown() {
            tracing::warn!("checkpoint at shutdown failed: {e}");
        }
        tracing::debug!("writer stopped");
    }

    fn commit_batch(
        &mut self,
        writes: Vec<(Arc<Principal>, Write, oneshot::Sender<WriteResult>)>,
        changes: Vec<(Change, oneshot::Sender<Result<(), Refusal>>)>,
        due: Vec<oneshot::Sender<Result<(), Refusal>>>,
    ) {
        let t0 = Instant::now();
        let n_jobs = writes.len() + changes.len() + due.len();
        let (writes, replies): (Vec<_>, Vec<_>) =
            writes.into_iter().map(|(w, op, r)| ((w, op), r)).unzip();
        let (changes, change_replies): (Vec<_>, Vec<_>) = changes.into_iter().unzip();
        let mut tries = 1;
        let outcome = loop {
            let outcome = self.try_batch(&writes, &changes, !due.is_empty(), t0);
            match outcome {
                Err(failed) if failed.conflict && tries < MAX_TRIES => {
                    tracing::debug!(
                        "{n_jobs} changes collided with another node's (try {tries}), trying again: {}",
                        failed.error
                    );
                    back_off(tries);
                    tries += 1;
                }
                outcome => break outcome,
            }
        };
        match outcome {
            Ok(done) => {
                let Done {
                    batch,
                    mut results,
                    chats,
                    new_head,
                } = done;
                // A follower of other nodes' commits may have raised it past this group's.
                self.head.fetch_max(new_head, Ordering::AcqRel);
                // A chat message is answered as stored, with its id and seq.
                let mut chats = chats.into_iter();
                for result in &mut results {
                    if let Ok(Written::Chat(message)) = result
                        && let Some(stored) = chats.next()
                    {
                        *message = stored;
                    }
                }
                let kitchen = batch.kitchen;
                let figures = self.today.commit(batch.today, |r| kitchen.stations(r));
                self.kitchen = kitchen;
                if batch.schedule_changed {
                    self.due_changed.notify_one();
                }
                if !batch.events.is_empty() || !figures.is_empty() {
                    (self.publish)(batch.events, figures);
                }
                for (result, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(result);
                }
                for reply in change_replies.into_iter().chain(due) {
                    let _ = reply.send(Ok(()));
                }
                self.commits.fetch_add(1, Ordering::Release);
                if let Some(sizes) = &self.group_sizes {
                    sizes.observe(n_jobs as f64);
                }
            }
            Err(Failed { error, results, .. }) => {
                tracing::error!(
                    "commit failed, {} requests refused with 'internal': {error}",
                    replies.len()
                );
                let mut results = results.into_iter();
                for reply in replies {
                    let refusal = match results.next() {
                        Some(Err(r)) if r.code != ErrorCode::Internal => r,
                        _ => storage_refusal(),
                    };
                    let _ = reply.send(Err(refusal));
                }
                for reply in change_replies.into_iter().chain(due) {
                    let _ = reply.send(Err(storage_refusal()));
                }
            }
        }
    }

    /// Applies a group in one transaction and commits it; on failure, nothing of it
    /// stays (the kitchen and today's sums it took are read again by the next group).
    fn try_batch(
        &mut self,
        writes: &[(Arc<Principal>, Write)],
        changes: &[Change],
        due: bool,
        t0: Instant,
    ) -> Result<Done, Failed> {
        let n_jobs = writes.len() + changes.len() + usize::from(due);
        let now = self.clock.now_ms();
        let head = self.head.load(Ordering::Acquire);
        let mut new_head = head;
        let mut chats = Vec::new();
        if self.shared {
            // Other nodes change menus and 86s too: read them again in this transaction.
            self.kitchen = Kitchen::default();
        }
        let begun = self.conn.begin();
        let mut batch = Batch::new(
            now,
            self.today.begin(begun.as_ref().ok().map(C::Begun::tx), now),
            std::mem::take(&mut self.kitchen),
        );
        let mut results = Vec::with_capacity(writes.len());
        // Every refusal is decided before its job writes anything, so a refused job
        // needs no savepoint; a job that fails after writing (a storage error) fails
        // the whole transaction, and every job in it is refused.
        let mut failure: Option<String> = None;
        let begun = match begun {
            Err(e) => {
                return Err(Failed {
                    conflict: e.is_conflict(),
                    error: e.to_string(),
                    results,
                });
            }
            Ok(begun) => begun,
        };
        let tx = begun.tx();
        if self.shared
            && let Err(e) = rules::lock_first(tx, &mut batch, writes.iter().map(|(_, op)| op))
        {
            failure = Some(format!("locking the group's rows failed: {e}"));
        }
        // What is due goes first: it came due before the requests queued with it.
        if failure.is_none()
            && due
            && let Err(e) = rules::run_due(tx, &mut batch)
        {
            failure = Some(format!("firing held orders and ending 86s failed: {e}"));
        }
        for (who, op) in writes {
            if failure.is_some() {
                results.push(Err(storage_refusal()));
                continue;
            }
            let (seqs_before, events_before) = (batch.seqs, batch.pending.len());
            let changes_before = tx.changes();
            let result = rules::apply(tx, &mut batch, who, op);
            if let Err(r) = &result {
                // SQLite may have rolled the transaction back by itself.
                if tx.changes() != changes_before || r.code == ErrorCode::Internal || tx.aborted() {
                    failure = Some(format!("a change failed: {}", r.message));
                }
                batch.seqs = seqs_before;
                batch.pending.truncate(events_before);
            }
            results.push(result);
        }
        if failure.is_none()
            && let Err(e) = rules::save_numbers(tx, &batch)
        {
            failure = Some(format!("saving order numbers failed: {e}"));
        }
        for change in changes {
            if failure.is_none()
                && let Err(e) = change.make(tx)
            {
                failure = Some(format!("a server change failed: {e}"));
            }
        }
        // The events go last, numbered only now (see `events::Pending`).
        if failure.is_none() && batch.seqs > 0 {
            let n = batch.seqs;
            match tx.take_seqs(n, head).and_then(|first| {
                new_head = first + n - 1;
                events::write(tx, &mut batch, first)
            }) {
                Ok(stored) => chats = stored,
                Err(e) => failure = Some(format!("writing the events failed: {e}")),
            }
        }
        if let Some(error) = failure {
            return Err(Failed {
                conflict: tx.conflicted(),
                error,
                results,
            });
        }
        let applied = Instant::now();
        let committed = begun.commit();
        tracing::debug!(
            "committed {n_jobs} changes: applied in {:?}, committed in {:?}",
            applied - t0,
            applied.elapsed()
        );
        match committed {
            Ok(()) => Ok(Done {
                batch,
                results,
                chats,
                new_head,
            }),
            Err(e) => Err(Failed {
                conflict: e.is_conflict(),
                error: e.to_string(),
                results,
            }),
        }
    }

    fn prune(&mut self) {
        let before = self.clock.now_ms() - self.retention.as_millis() as i64;
        match self.conn.prune_events(before) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "retention removed {n} events older than {:?}",
                self.retention
            ),
            Err(e) => tracing::warn!("pruning events failed: {e}"),
        }
    }
}

/// A group that committed.
struct Done {
    batch: Batch,
    /// Each write's answer, in the order of the writes.
    results: Vec<WriteResult>,
    /// The chat messages as stored.
    chats: Vec<chit_protocol::ChatMessage>,
    new_head: u64,
}

/// A group that did not commit.
struct Failed {
    error: String,
    /// Whether it collided with another node's transaction (tried again, if so).
    conflict: bool,
    /// The answers of the writes applied before it failed.
    results: Vec<WriteResult>,
}

/// Before try `tries + 1` of a group that collided: none at first, then a few random
/// milliseconds, more each time, so that two nodes' writers fall out of step.
fn back_off(tries: u32) {
    if tries < 2 {
        return;
    }
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let ms = u64::from(byte[0] % 8 + 1) * u64::from(tries);
    std::thread::sleep(Duration::from_millis(ms));
}

fn storage_refusal() -> Refusal {
    Refusal::internal("the server could not save this (storage error); nothing was changed")
}
