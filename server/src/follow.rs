//! Following the log where several nodes write it (PostgreSQL): every committed event,
//! this node's or another's, reaches this node's hub once, strictly in seq order.
//!
//! This node's writer hands each committed batch here; [`peers`] (NATS core subjects,
//! `--peers`) carries it to the other nodes and theirs to this one. The seqs say what
//! is missing: an event waits until those before it are delivered, a gap that stays
//! open for [`FollowConfig::gap_wait`] is filled from the database, and the log's head
//! is read every [`FollowConfig::check_every`] (every [`FollowConfig::poll_every`]
//! while NATS is not connected, or not configured), so that a lost message costs a
//! delay, never an event. Nothing here is on the write path: an acknowledged change is
//! committed before any of this sees it.

mod peers;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::frames::Published;
use crate::hub::Hub;
use crate::store::{Figures, Store};

/// How a node follows the log.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The NATS server (`nats://host:port`) the nodes fan their commits out over; none:
    /// other nodes' commits are read from the database only.
    pub peers: Option<String>,
    /// How long a gap in the seqs may stay open before it is read from the database.
    pub gap_wait: Duration,
    /// How often the log's head is read while NATS is connected.
    pub check_every: Duration,
    /// How often the log's head is read while it is not (or no `peers` are set).
    pub poll_every: Duration,
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig {
            peers: None,
            gap_wait: Duration::from_millis(10),
            check_every: Duration::from_secs(1),
            poll_every: Duration::from_millis(200),
        }
    }
}

/// Rows read from the database at a time.
const PAGE: u32 = 1000;

/// A batch this node's writer committed.
pub(crate) struct Committed {
    pub events: Vec<Published>,
    pub figures: Vec<Figures>,
}

/// The events committed, held until each can be delivered in seq order.
struct Sequence {
    /// Every seq up to this one is delivered.
    delivered: u64,
    /// Events after a gap, by seq (a seq's events: each room it was sent to).
    waiting: BTreeMap<u64, Vec<Published>>,
    /// Since when the first waiting event has waited for the gap before it.
    gap_since: Option<Instant>,
}

impl Sequence {
    fn new(delivered: u64) -> Sequence {
        Sequence {
            delivered,
            waiting: BTreeMap::new(),
            gap_since: None,
        }
    }

    /// Takes in committed events (in seq order, a seq's events together, as a commit
    /// published them). A seq already delivered or waiting is dropped: it came by
    /// another way too (NATS and the database).
    fn add(&mut self, events: Vec<Published>) {
        let mut taking = None;
        for event in events {
            let Some(seq) = event.seq else { continue };
            if taking != Some(seq) {
                if seq <= self.delivered || self.waiting.contains_key(&seq) {
                    continue;
                }
                taking = Some(seq);
            }
            self.waiting.entry(seq).or_default().push(event);
        }
    }

    /// The events that can be delivered now, in seq order.
    fn ready(&mut self, now: Instant) -> Vec<Published> {
        let mut out = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.delivered + 1 {
                break;
            }
            self.delivered += 1;
            out.extend(entry.remove());
        }
        self.gap_since = match self.waiting.is_empty() {
            true => None,
            false => Some(self.gap_since.unwrap_or(now)),
        };
        out
    }

    /// After a read of the log from `delivered` whose first row is `first` (or none,
    /// with the head at `head`): seqs before it that are still missing are not in the
    /// log (retention removed them), so waiting for them would wait forever.
    fn read_from(&mut self, first: Option<u64>, head: u64) {
        let known = first.unwrap_or(head + 1);
        let upto = match self.waiting.first_key_value() {
            Some((&seq, _)) => known.min(seq),
            None => known,
        };
        if upto > self.delivered + 1 {
            tracing::warn!(
                "seqs {} to {} are not in the log (removed by retention): skipped",
                self.delivered + 1,
                upto - 1
            );
            self.delivered = upto - 1;
        }
    }
}

/// Delivers every committed event, this node's (from `local`) and the others', to
/// `hub` in seq order until `stop`; `heads` and the store's head follow what is
/// delivered.
pub(crate) async fn run(
    hub: Hub,
    store: Store,
    heads: watch::Sender<u64>,
    mut local: mpsc::UnboundedReceiver<Committed>,
    config: FollowConfig,
    stop: CancellationToken,
) {
    let mut log = Sequence::new(store.head());
    let (remote_tx, mut remote) = mpsc::channel::<Vec<Published>>(1024);
    let peers = match &config.peers {
        Some(url) => connect(url, &store, remote_tx, &stop).await,
        None => None,
    };
    let mut next_check = Instant::now();
    loop {
        let gap_due = log.gap_since.map(|since| since + config.gap_wait);
        let mut read = false;
        tokio::select! {
            batch = local.recv() => {
                let Some(batch) = batch else { return };
                if let Some(peers) = &peers {
                    peers.send(&batch.events);
                }
                hub.figures_changed(batch.figures);
                log.add(batch.events);
            }
            Some(events) = remote.recv() => {
                touch_restaurants(&hub, &events);
                log.add(events);
            }
            _ = tokio::time::sleep_until(gap_due.unwrap_or(next_check)), if gap_due.is_some() => {
                read = true;
            }
            _ = tokio::time::sleep_until(next_check) => read = true,
            _ = stop.cancelled() => return,
        }
        if read {
            let every = match peers.as_ref().is_some_and(peers::Peers::connected) {
                true => config.check_every,
                false => config.poll_every,
            };
            next_check = Instant::now() + every;
            match store.log_after(log.delivered, PAGE).await {
                Ok((events, head)) => {
                    let first = events.first().and_then(|e| e.seq);
                    let full = events.len() >= PAGE as usize;
                    touch_restaurants(&hub, &events);
                    log.add(events);
                    log.read_from(first, head);
                    if full {
                        // More rows than a page: read on at once.
                        next_check = Instant::now();
                    }
                }
                Err(e) => tracing::debug!("reading the log failed: {}", e.message),
            }
        }
        let out = log.ready(Instant::now());
        if !out.is_empty() {
            store.saw_head(log.delivered);
            heads.send_replace(log.delivered);
            hub.publish(out);
        }
    }
}

/// This node's side of the fan-out over NATS at `url`; none (after saying why) if it
/// cannot be set up: the database is followed alone then.
async fn connect(
    url: &str,
    store: &Store,
    remote: mpsc::Sender<Vec<Published>>,
    stop: &CancellationToken,
) -> Option<peers::Peers> {
    let instance = match store.instance().await {
        Ok(instance) => instance,
        Err(e) => {
            tracing::error!("not fanning out over NATS: {}", e.message);
            return None;
        }
    };
    match peers::Peers::start(url, instance, store.epoch(), remote, stop.clone()).await {
        Ok(peers) => Some(peers),
        Err(e) => {
            tracing::error!("not fanning out over NATS at {url}: {e}");
            None
        }
    }
}

/// Marks the figures of the restaurants of events another node committed as changed
/// (they are read from the database: this node's writer did not count them).
fn touch_restaurants(hub: &Hub, events: &[Published]) {
    let figures: Vec<Figures> = events
        .iter()
        .filter_map(|e| e.room.strip_prefix("restaurant:"))
        .map(|restaurant| Figures {
            restaurant: restaurant.to_string(),
            today: None,
        })
        .collect();
    hub.figures_changed(figures);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(room: &str, seq: u64) -> Published {
        Published {
            room: room.into(),
            seq: Some(seq),
            frame: format!("{room}/{seq}").into(),
        }
    }

    fn seqs(events: &[Published]) -> Vec<(u64, &str)> {
        events.iter().map(|e| (e.seq.unwrap(), &*e.room)).collect()
    }

    #[test]
    fn events_are_delivered_in_seq_order_once_the_gap_before_them_is_filled() {
        let now = Instant::now();
        let mut log = Sequence::new(4);
        log.add(vec![event("restaurant:r1", 7), event("order:1", 7)]);
        assert!(log.ready(now).is_empty());
        assert_eq!(log.gap_since, Some(now));
        log.add(vec![event("restaurant:r1", 5)]);
        let out = log.ready(now);
        assert_eq!(seqs(&out), [(5, "restaurant:r1")]);
        assert_eq!(log.gap_since, Some(now), "6 is still missing");
        // 6 arrives from the database, and 7 again with it: 7 once.
        log.add(vec![
            event("rider:a", 6),
            event("restaurant:r1", 7),
            event("order:1", 7),
        ]);
        let out = log.ready(now);
        assert_eq!(
            seqs(&out),
            [(6, "rider:a"), (7, "restaurant:r1"), (7, "order:1")]
        );
        assert_eq!(log.delivered, 7);
        assert_eq!(log.gap_since, None);
        // Old news is dropped.
        log.add(vec![event("restaurant:r1", 3), event("restaurant:r1", 7)]);
        assert!(log.ready(now).is_empty());
        assert!(log.waiting.is_empty());
    }

    #[test]
    fn seqs_the_log_no_longer_has_are_skipped_not_waited_for() {
        let now = Instant::now();
        let mut log = Sequence::new(10);
        log.add(vec![event("restaurant:r1", 20)]);
        assert!(log.ready(now).is_empty());
        // The log read from 10 starts at 15: 11 to 14 are gone.
        log.add(vec![event("restaurant:r1", 15)]);
        log.read_from(Some(15), 20);
        assert_eq!(log.delivered, 14);
        assert_eq!(seqs(&log.ready(now)), [(15, "restaurant:r1")]);
        assert_eq!(log.delivered, 15, "16 to 19 are still awaited");
        // Nothing after 15 is in the log, and its head is 20: 16 to 19 are gone.
        log.read_from(None, 20);
        assert_eq!(seqs(&log.ready(now)), [(20, "restaurant:r1")]);
        // A head ahead with nothing waiting and nothing read: the rows were removed.
        log.read_from(None, 25);
        assert_eq!(log.delivered, 25);
    }
}
