//! The two kinds of connection in the orders scenario: a placing client and a kitchen.
//! Each task owns its connection, writes what it may have in flight, then reads what
//! has arrived, in batches.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chit_protocol::{ClientFrame, ClientMsg, Status};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::{READ_BATCH, Shared, new_order};
use crate::commands::bench::conn::{Conn, ConnError, Incoming};

pub(super) struct ClientResult {
    pub(super) acked: u64,
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) ack: Vec<Duration>,
    pub(super) last_ack: Duration,
    pub(super) update_notify: Vec<Duration>,
}

/// A placing client: keeps up to P orders in flight until none are left, says so, then
/// watches its customer room for status updates until told to stop. With `watch_only`
/// it places nothing (its orders go over HTTP) and only watches.
pub(super) async fn client(
    mut conn: Conn,
    c: usize,
    shared: Arc<Shared>,
    placed: oneshot::Sender<()>,
    mut stop: watch::Receiver<bool>,
    watch_only: bool,
) -> Result<ClientResult, ConnError> {
    let p = &shared.params;
    let mut r = ClientResult {
        acked: 0,
        errors: BTreeMap::new(),
        ack: Vec::with_capacity(p.orders / p.clients.max(1) + 1),
        last_ack: Duration::ZERO,
        update_notify: Vec::new(),
    };
    let mut in_flight = 0;
    let mut exhausted = watch_only;
    let mut placed = Some(placed);
    loop {
        if !exhausted {
            let mut fed = false;
            while in_flight < p.in_flight {
                let n = shared.next.fetch_add(1, Ordering::Relaxed);
                if n >= p.orders || Instant::now() >= shared.deadline {
                    exhausted = true;
                    break;
                }
                let frame = ClientFrame {
                    id: Some((n as u64).into()),
                    msg: ClientMsg::PlaceOrder {
                        order: new_order(n, p.restaurants, c),
                        key: None,
                    },
                };
                shared.stamp(&shared.placed[n]);
                conn.feed(&frame).await?;
                in_flight += 1;
                fed = true;
            }
            if fed {
                conn.flush().await?;
            }
        }
        if exhausted
            && in_flight == 0
            && let Some(placed) = placed.take()
        {
            let _ = placed.send(());
        }
        let first = tokio::select! {
            text = conn.recv() => text?,
            _ = stop.changed() => return Ok(r),
            _ = tokio::time::sleep_until(shared.deadline) => return Ok(r),
        };
        let mut next = Some(Ok(first));
        let mut handled = 0;
        while let Some(text) = next {
            let text = text?;
            'frame: {
                let Ok(frame) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    *r.errors.entry("unreadable".into()).or_default() += 1;
                    break 'frame;
                };
                if let Some(n) = frame.id.map(|id| id as usize).filter(|n| *n < p.orders) {
                    in_flight -= 1;
                    if frame.frame == "order" {
                        r.acked += 1;
                        if let Some(sent) = shared.since(&shared.placed[n]) {
                            r.ack.push(sent);
                        }
                        r.last_ack = shared.start.elapsed();
                    } else {
                        let code = frame.code.as_deref().unwrap_or("unexpected reply");
                        *r.errors.entry(code.to_string()).or_default() += 1;
                    }
                } else if frame.is_event("order_update")
                    && let Some(n) = frame.order_number('b').filter(|n| *n < p.orders)
                    && let Some(sent) = shared.since(&shared.updated[n])
                {
                    r.update_notify.push(sent);
                    shared.update_notified.fetch_add(1, Ordering::Relaxed);
                }
            }
            handled += 1;
            next = if handled < READ_BATCH {
                conn.try_recv()
            } else {
                None
            };
        }
    }
}

pub(super) struct KitchenResult {
    pub(super) notify: Vec<Duration>,
    pub(super) updates_acked: u64,
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) last_update: Duration,
}

/// A kitchen: times every new order it is shown; once given its plan, confirms those
/// orders with up to P updates in flight; stops when told.
pub(super) async fn kitchen(
    mut conn: Conn,
    k: usize,
    shared: Arc<Shared>,
    mut plan: oneshot::Receiver<Vec<i64>>,
    mut stop: watch::Receiver<bool>,
) -> Result<KitchenResult, ConnError> {
    let p = &shared.params;
    let mut r = KitchenResult {
        notify: Vec::with_capacity(p.orders / p.kitchens.max(1) + 1),
        updates_acked: 0,
        errors: BTreeMap::new(),
        last_update: Duration::ZERO,
    };
    // Order id -> its number, for the orders this kitchen was shown.
    let mut numbers = HashMap::new();
    let mut todo: Option<std::vec::IntoIter<i64>> = None;
    let mut in_flight = 0;
    loop {
        if let Some(queue) = &mut todo {
            let mut fed = false;
            while in_flight < p.in_flight {
                let Some(order_id) = queue.next() else { break };
                let Some(&n) = numbers.get(&order_id) else {
                    continue;
                };
                let frame = ClientFrame {
                    id: Some((n as u64).into()),
                    msg: ClientMsg::UpdateStatus {
                        order_id,
                        status: Status::Confirmed,
                        reason: None,
                        recall: false,
                        force: false,
                    },
                };
                shared.stamp(&shared.updated[n]);
                conn.feed(&frame).await?;
                in_flight += 1;
                fed = true;
            }
            if fed {
                conn.flush().await?;
            }
        }
        let first = tokio::select! {
            text = conn.recv() => text?,
            given = &mut plan, if todo.is_none() => {
                todo = Some(given.unwrap_or_default().into_iter());
                continue;
            }
            _ = stop.changed() => return Ok(r),
            _ = tokio::time::sleep_until(shared.deadline) => return Ok(r),
        };
        let mut next = Some(Ok(first));
        let mut handled = 0;
        while let Some(text) = next {
            let text = text?;
            'frame: {
                let Ok(frame) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    *r.errors.entry("unreadable".into()).or_default() += 1;
                    break 'frame;
                };
                if frame.id.is_some_and(|id| (id as usize) < p.orders) {
                    in_flight -= 1;
                    if frame.frame == "order" {
                        r.updates_acked += 1;
                        r.last_update = shared.start.elapsed();
                        shared.updates_done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        let code = frame.code.as_deref().unwrap_or("unexpected reply");
                        *r.errors.entry(code.to_string()).or_default() += 1;
                        shared.updates_done.fetch_add(1, Ordering::Relaxed);
                    }
                } else if frame.is_event("new_order")
                    && let Some(n) = frame.order_number('b').filter(|n| *n < p.orders)
                    && let Some(sent) = shared.since(&shared.placed[n])
                {
                    r.notify.push(sent);
                    shared.notified.fetch_add(1, Ordering::Relaxed);
                    if let Some(id) = frame.data.as_ref().and_then(|d| d.id) {
                        numbers.insert(id, n);
                        shared.shown[k].lock().unwrap().push(id);
                    }
                }
            }
            handled += 1;
            next = if handled < READ_BATCH {
                conn.try_recv()
            } else {
                None
            };
        }
    }
}
