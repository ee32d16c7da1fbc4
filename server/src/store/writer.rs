//! The single writer: one thread owns the write connection, takes jobs from a channel,
//! applies everything queued in one transaction (group commit), and only after the
//! commit publishes the events, in commit order, and answers the callers. The kitchen's
//! changes (item bumps, firing held orders, menus and 86) are in its submodules.

mod fire;
mod items;
mod menus;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chit_protocol::{
    ChatMessage, ErrorCode, EventKind, Fulfilment, ItemState, Order, Role, Room, Status,
    UnavailableItem,
};
use rusqlite::Connection;
use tokio::sync::{Notify, mpsc, oneshot};

use super::queries;
use super::today::{Figures, Group, Today};
use super::validate::ValidOrder;
use crate::auth::{self, Principal};
use crate::clock::Clock;
use crate::error::Refusal;
use crate::frames::{Published, event_frame};
pub(super) use menus::Kitchen;

/// At most this many jobs go into one transaction.
const MAX_BATCH: usize = 1024;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[allow(clippy::large_enum_variant)] // a change moves once to the writer; boxing buys nothing
pub enum Write {
    PlaceOrder {
        order: ValidOrder,
    },
    UpdateStatus {
        order_id: i64,
        status: Status,
        reason: Option<String>,
        recall: bool,
        /// Ready although items are not done (the expo's confirmed override).
        force: bool,
    },
    UpdateItem {
        order_id: i64,
        /// Counting from 1.
        item: u32,
        state: ItemState,
        recall: bool,
    },
    MarkUnavailable {
        restaurant: String,
        item: String,
        /// Unix ms; none: the end of the local day.
        until: Option<i64>,
    },
    MarkAvailable {
        restaurant: String,
        item: String,
    },
    Claim {
        order_id: i64,
    },
    Release {
        order_id: i64,
    },
    Assign {
        order_id: i64,
        rider: String,
    },
    Chat {
        room: Room,
        text: String,
    },
}

#[allow(clippy::large_enum_variant)] // a result moves once to its caller
#[derive(Debug, Clone)]
pub enum Written {
    /// The order as it now is; `json` is its JSON when the change already made it for
    /// its event (the reply then reuses it).
    Order {
        order: Order,
        duplicate: bool,
        json: Option<Arc<str>>,
    },
    Chat(ChatMessage),
    /// What a restaurant has run out of, after an 86 changed.
    Unavailable {
        restaurant: String,
        items: Vec<UnavailableItem>,
    },
}

pub type WriteResult = Result<Written, Refusal>;

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

/// What an [`Job::Apply`] does in the writer's transaction.
pub type Change = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;

pub(super) struct Writer {
    pub conn: Connection,
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
}

/// What one transaction has produced so far.
struct Batch {
    next_seq: u64,
    events: Vec<Published>,
    now: i64,
    /// `now` as the protocol writes times, made once for the group.
    at: String,
    /// Whether each token seen in this batch is still live (checked once per batch).
    live_tokens: HashMap<i64, bool>,
    /// The last short number given today per restaurant, saved once before the commit.
    numbers: HashMap<String, u32>,
    /// Today's figures, as this group's changes have moved them so far.
    today: Group,
    /// Menus and 86s, taken for the group and put back only if it commits (else they
    /// are read again).
    kitchen: Kitchen,
    /// Whether this group scheduled something for the clock (a held order, an 86).
    schedule_changed: bool,
}

impl Writer {
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
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
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
        let mut change_replies = Vec::with_capacity(changes.len());
        let now = self.clock.now_ms();
        let mut batch = Batch {
            next_seq: self.head.load(Ordering::Acquire) + 1,
            events: Vec::new(),
            now,
            at: chit_protocol::format_time(now),
            live_tokens: HashMap::new(),
            numbers: HashMap::new(),
            today: self.today.begin(&self.conn, now),
            kitchen: std::mem::take(&mut self.kitchen),
            schedule_changed: false,
        };
        let mut results = Vec::with_capacity(writes.len());
        // Every refusal is decided before its job writes anything, so a refused job
        // needs no savepoint; a job that fails after writing (a storage error) fails
        // the whole transaction, and every job in it is refused.
        let mut failure: Option<String> = None;
        let committed = match self.conn.transaction() {
            Err(e) => Err(e.to_string()),
            Ok(tx) => {
                // What is due goes first: it came due before the requests queued with it.
                if !due.is_empty()
                    && let Err(e) = run_due(&tx, &mut batch)
                {
                    failure = Some(format!("firing held orders and ending 86s failed: {e}"));
                }
                for (who, op, reply) in writes {
                    if failure.is_some() {
                        results.push((Err(storage_refusal()), reply));
                        continue;
                    }
                    let (seq_before, events_before) = (batch.next_seq, batch.events.len());
                    let changes_before = tx.total_changes();
                    let result = apply(&tx, &mut batch, &who, op);
                    if let Err(r) = &result {
                        // SQLite may have rolled the transaction back by itself.
                        if tx.total_changes() != changes_before
                            || r.code == ErrorCode::Internal
                            || tx.is_autocommit()
                        {
                            failure = Some(format!("a change failed: {}", r.message));
                        }
                        batch.next_seq = seq_before;
                        batch.events.truncate(events_before);
                    }
                    results.push((result, reply));
                }
                if failure.is_none()
                    && let Err(e) = save_numbers(&tx, &batch)
                {
                    failure = Some(format!("saving order numbers failed: {e}"));
                }
                for (change, reply) in changes {
                    if failure.is_none()
                        && let Err(e) = change(&tx)
                    {
                        failure = Some(format!("a server change failed: {e}"));
                    }
                    change_replies.push(reply);
                }
                match failure.take() {
                    Some(e) => Err(e),
                    None => {
                        let applied = Instant::now();
                        let r = tx.commit().map_err(|e| e.to_string());
                        tracing::debug!(
                            "committed {n_jobs} changes: applied in {:?}, committed in {:?}",
                            applied - t0,
                            applied.elapsed()
                        );
                        r
                    }
                }
            }
        };
        match committed {
            Ok(()) => {
                self.head.store(batch.next_seq - 1, Ordering::Release);
                let kitchen = batch.kitchen;
                let figures = self.today.commit(batch.today, |r| kitchen.stations(r));
                self.kitchen = kitchen;
                if batch.schedule_changed {
                    self.due_changed.notify_one();
                }
                if !batch.events.is_empty() || !figures.is_empty() {
                    (self.publish)(batch.events, figures);
                }
                for (result, reply) in results {
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
            Err(e) => {
                tracing::error!(
                    "commit failed, {} requests refused with 'internal': {e}",
                    results.len()
                );
                for (result, reply) in results {
                    let refusal = match result {
                        Err(r) if r.code != ErrorCode::Internal => r,
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

    fn prune(&mut self) {
        let before = self.clock.now_ms() - self.retention.as_millis() as i64;
        match queries::prune_events(&self.conn, before) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "retention removed {n} events older than {:?}",
                self.retention
            ),
            Err(e) => tracing::warn!("pruning events failed: {e}"),
        }
    }
}

fn apply(conn: &Connection, batch: &mut Batch, who: &Principal, op: Write) -> WriteResult {
    let live = match batch.live_tokens.get(&who.token_id) {
        Some(live) => *live,
        None => {
            let live = queries::token_is_live(conn, who.token_id)?;
            batch.live_tokens.insert(who.token_id, live);
            live
        }
    };
    if !live {
        return Err(Refusal::new(
            ErrorCode::Unauthorized,
            "this token has been revoked",
        ));
    }
    match op {
        Write::PlaceOrder { order } => place_order(conn, batch, who, order),
        Write::UpdateStatus {
            order_id,
            status,
            reason,
            recall,
            force,
        } => {
            let mut order = load(conn, order_id)?;
            if recall {
                if !matches!(who.role, Role::Admin | Role::Kitchen) {
                    return Err(Refusal::forbidden("only a kitchen can recall a bump"));
                }
                auth::check_update(who, &order, status)?;
                if order.status.recall_to(order.fulfilment) != Some(status) {
                    return Err(invalid(
                        &order,
                        status,
                        "a recall goes back exactly one step",
                    ));
                }
            } else {
                auth::check_update(who, &order, status)?;
                if !order.status.can_become(status, order.fulfilment) {
                    return Err(invalid(&order, status, ""));
                }
            }
            if status == Status::Ready && !recall {
                crate::kitchen::items::check_ready(&order, force)?;
            }
            batch.today.load(conn, &order.restaurant)?;
            fire::before_change(conn, batch, &mut order, Some(status))?;
            let previous = (order.status, order.rider.clone());
            order.status = status;
            change(conn, batch, order, previous, reason)
        }
        Write::UpdateItem {
            order_id,
            item,
            state,
            recall,
        } => items::update_item(conn, batch, who, (order_id, item), state, recall),
        Write::MarkUnavailable {
            restaurant,
            item,
            until,
        } => menus::mark_unavailable(conn, batch, who, &restaurant, &item, until),
        Write::MarkAvailable { restaurant, item } => {
            menus::mark_available(conn, batch, who, &restaurant, &item)
        }
        Write::Claim { order_id } => {
            let Some(me) = who.rider.clone().filter(|_| who.role == Role::Rider) else {
                return Err(Refusal::forbidden(
                    "only riders claim orders (an admin assigns them)",
                ));
            };
            let mut order = load(conn, order_id)?;
            if order.fulfilment == Fulfilment::Pickup {
                return Err(Refusal::new(
                    ErrorCode::InvalidTransition,
                    format!("order {order_id} is for pickup: there is nothing to deliver"),
                ));
            }
            match order.rider.as_deref() {
                Some(r) if r == me => {
                    return Ok(Written::Order {
                        order,
                        duplicate: false,
                        json: None,
                    });
                }
                Some(_) => {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("order {order_id} was already claimed by another rider"),
                    ));
                }
                None => {}
            }
            if !matches!(order.status, Status::Preparing | Status::Ready) {
                return Err(Refusal::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "order {order_id} is {}: it is not offered to riders",
                        order.status
                    ),
                ));
            }
            let previous = (order.status, order.rider.take());
            order.rider = Some(me);
            change(conn, batch, order, previous, None)
        }
        Write::Release { order_id } => {
            let mut order = load(conn, order_id)?;
            let mine = who.role == Role::Rider && order.rider == who.rider;
            if !(mine || who.role == Role::Admin) {
                return Err(Refusal::forbidden(format!(
                    "order {order_id} is not claimed by this rider"
                )));
            }
            if order.rider.is_none()
                || order.status.is_terminal()
                || order.status == Status::PickedUp
            {
                return Err(Refusal::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "order {order_id} cannot be released: it is {}{}",
                        order.status,
                        if order.rider.is_none() {
                            " and unclaimed"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            let previous = (order.status, order.rider.take());
            change(conn, batch, order, previous, None)
        }
        Write::Assign { order_id, rider } => {
            if who.role != Role::Admin {
                return Err(Refusal::forbidden("only an admin assigns orders to riders"));
            }
            let mut order = load(conn, order_id)?;
            if order.fulfilment == Fulfilment::Pickup
                || order.status.is_terminal()
                || order.status == Status::PickedUp
            {
                return Err(Refusal::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "order {order_id} is {} ({:?}): it cannot be assigned",
                        order.status, order.fulfilment
                    ),
                ));
            }
            let previous = (order.status, order.rider.take());
            order.rider = Some(rider);
            change(conn, batch, order, previous, None)
        }
        Write::Chat { room, text } => chat(conn, batch, who, room, text),
    }
}

/// What [`Job::Due`] does, in the group's transaction.
fn run_due(conn: &Connection, batch: &mut Batch) -> Result<(), Refusal> {
    fire::fire_due(conn, batch)?;
    menus::expire(conn, batch)?;
    menus::take_up_loads(conn, batch)
}

fn storage_refusal() -> Refusal {
    Refusal::internal("the server could not save this (storage error); nothing was changed")
}

fn invalid(order: &Order, to: Status, why: &str) -> Refusal {
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    Refusal::new(
        ErrorCode::InvalidTransition,
        format!(
            "order {} is {}: it cannot become {to}{why}",
            order.id, order.status
        ),
    )
}

fn load(conn: &Connection, order_id: i64) -> Result<Order, Refusal> {
    queries::get_order(conn, order_id)?
        .ok_or_else(|| Refusal::not_found(format!("order {order_id} does not exist")))
}

fn place_order(
    conn: &Connection,
    batch: &mut Batch,
    who: &Principal,
    v: ValidOrder,
) -> WriteResult {
    let restaurant = v.order.restaurant.clone();
    auth::check_place(who, &restaurant, &v.customer_id)?;
    if let Some(key) = &v.key
        && let Some(id) = queries::find_key(conn, &restaurant, key)?
    {
        let order = queries::get_order(conn, id)?
            .ok_or_else(|| Refusal::internal(format!("order {id} for key '{key}' is missing")))?;
        return Ok(Written::Order {
            order,
            duplicate: true,
            json: None,
        });
    }
    // Refused (an item run out of, a due time too far ahead) before anything is written,
    // and before it is given a number.
    let items = menus::route(conn, batch, &restaurant, queries::plain_items(&v))?;
    let times = fire::times(batch, v.due_at, &items)?;
    let number = match batch.numbers.get_mut(&restaurant) {
        Some(last) => {
            *last += 1;
            *last
        }
        None => {
            let number = queries::last_number(conn, &restaurant, &batch.today.date)? + 1;
            batch.numbers.insert(restaurant.clone(), number);
            number
        }
    };
    batch.today.load(conn, &restaurant)?;
    let order = queries::insert_order(conn, &v, number, items, times, (batch.now, &batch.at))?;
    if let Some(key) = &v.key {
        queries::insert_key(conn, &restaurant, key, order.id, batch.now)?;
    }
    let json: Arc<str> = serde_json::to_string(&order).expect("serializable").into();
    let data = order_event_data(&json, None, None);
    emit(
        conn,
        batch,
        &[Room::Restaurant(order.restaurant.clone())],
        EventKind::NewOrder,
        &data,
        Some(&order),
    )?;
    fire::placed(conn, batch, &order, times, &json)?;
    let share = queries::Share {
        total: order.total,
        status: order.status,
        created_at: batch.now,
        ready_at: None,
    };
    batch.today.count(&order.restaurant, None, Some(share));
    Ok(Written::Order {
        order,
        duplicate: false,
        json: Some(json),
    })
}

/// Saves an order's new status or rider and tells every room that follows it.
fn change(
    conn: &Connection,
    batch: &mut Batch,
    mut order: Order,
    (previous, previous_rider): (Status, Option<String>),
    reason: Option<String>,
) -> WriteResult {
    let shares = if order.status != previous {
        batch.today.load(conn, &order.restaurant)?;
        let (created_at, ready_at) = queries::order_times(conn, order.id)?;
        let before = queries::Share {
            total: order.total,
            status: previous,
            created_at,
            ready_at,
        };
        let ready_now = (order.status == Status::Ready).then_some(batch.now);
        let after = queries::Share {
            status: order.status,
            ready_at: ready_at.or(ready_now),
            ..before
        };
        Some((before, after))
    } else {
        None
    };
    queries::save_order_state(conn, &order, batch.now)?;
    order.updated_at = batch.at.clone();
    let json: Arc<str> = serde_json::to_string(&order).expect("serializable").into();
    let data = order_event_data(&json, Some(previous), reason.as_deref());
    let mut rooms = vec![Room::Restaurant(order.restaurant.clone())];
    let offered = |s: Status| matches!(s, Status::Preparing | Status::Ready);
    if order.fulfilment == Fulfilment::Delivery
        && (offered(order.status) || offered(previous) || order.rider != previous_rider)
    {
        rooms.push(Room::Riders);
    }
    if let Some(rider) = &order.rider {
        rooms.push(Room::Rider(rider.clone()));
    }
    if let Some(rider) = previous_rider.filter(|r| Some(r) != order.rider.as_ref()) {
        rooms.push(Room::Rider(rider));
    }
    emit(
        conn,
        batch,
        &rooms,
        EventKind::OrderUpdate,
        &data,
        Some(&order),
    )?;
    if let Some((before, after)) = shares {
        batch
            .today
            .count(&order.restaurant, Some(before), Some(after));
        // Speed of service counts an order's first ready, as the average does.
        if let (None, Some(ready)) = (before.ready_at, after.ready_at) {
            let ms = (ready - crate::kitchen::speed::kitchen_start(&order)).max(0);
            batch
                .today
                .count_ready(&order.restaurant, before.created_at, ms);
        }
    }
    Ok(Written::Order {
        order,
        duplicate: false,
        json: Some(json),
    })
}

fn chat(
    conn: &Connection,
    batch: &mut Batch,
    who: &Principal,
    room: Room,
    text: String,
) -> WriteResult {
    let order = match &room {
        Room::Order(id) => Some(load(conn, *id)?),
        _ => None,
    };
    if !matches!(room, Room::Chat(_) | Room::Order(_)) {
        return Err(Refusal::bad_request(format!(
            "'{room}' is not a chat room (use chat:NAME or order:ID)"
        )));
    }
    if !auth::can_join(who, &room, order.as_ref()) {
        return Err(Refusal::forbidden(format!(
            "this token may not talk in '{room}'"
        )));
    }
    let room_name = room.to_string();
    let mut message = ChatMessage {
        id: 0,
        room: room_name.clone(),
        seq: Some(batch.next_seq),
        author: who.name(),
        role: who.role,
        text,
        at: batch.at.clone(),
    };
    message.id = queries::insert_chat(conn, &message, batch.now)?;
    let data = serde_json::to_string(&message).expect("serializable");
    emit(conn, batch, &[room], EventKind::ChatMessage, &data, None)?;
    Ok(Written::Chat(message))
}

/// Appends one event for `rooms` (one seq each, the data stored once) and queues its
/// frames for publishing after the commit. An order's event is stored for its rooms
/// (the restaurant's first) and sent to `order:ID` and `customer:ID` with the restaurant
/// row's seq: that row names the order, and replaying either room reads it.
fn emit(
    conn: &Connection,
    batch: &mut Batch,
    rooms: &[Room],
    kind: EventKind,
    data: &str,
    order: Option<&Order>,
) -> rusqlite::Result<()> {
    debug_assert!(
        order.is_none() || matches!(rooms.first(), Some(Room::Restaurant(_))),
        "an order's event is stored first for its restaurant"
    );
    let first = batch.next_seq;
    let names: Vec<String> = rooms.iter().map(Room::to_string).collect();
    let order_id = order.map(|o| o.id);
    queries::insert_event(
        conn,
        first,
        &names,
        kind.as_str(),
        batch.now,
        data,
        order_id,
    )?;
    batch.next_seq += names.len() as u64;
    let mut frames: Vec<(u64, String)> = (first..).zip(names).collect();
    if let Some(order) = order {
        // Beside the restaurant's row they are read from, in seq order.
        let derived = [
            Room::Order(order.id),
            Room::Customer(order.customer.id.clone()),
        ];
        frames.splice(1..1, derived.map(|room| (first, room.to_string())));
    }
    for (seq, room) in frames {
        let frame = event_frame(&room, Some(seq), kind.as_str(), batch.now, data);
        batch.events.push(Published {
            room: room.into(),
            seq: Some(seq),
            frame: frame.into(),
        });
    }
    Ok(())
}

/// The data of an order's event, as `OrderEvent` serializes it (the order's fields, then
/// the status it had and the reason, if any), around the order's JSON made once.
fn order_event_data(order_json: &str, previous: Option<Status>, reason: Option<&str>) -> String {
    let fields = order_json
        .strip_suffix('}')
        .expect("an order serializes to a JSON object");
    let mut data = String::with_capacity(order_json.len() + 64);
    data.push_str(fields);
    if let Some(previous) = previous {
        data.push_str(r#","previous":"#);
        data.push_str(&serde_json::to_string(&previous).expect("serializable"));
    }
    if let Some(reason) = reason {
        data.push_str(r#","reason":"#);
        data.push_str(&serde_json::to_string(reason).expect("serializable"));
    }
    data.push('}');
    data
}

fn save_numbers(conn: &Connection, batch: &Batch) -> rusqlite::Result<()> {
    for (restaurant, last) in &batch.numbers {
        queries::save_number(conn, restaurant, &batch.today.date, *last)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chit_protocol::OrderEvent;

    use super::*;

    #[test]
    fn an_order_event_made_around_the_order_json_is_what_serde_makes() {
        let text = r#"{"id":4,"number":2,"restaurant":"r1","customer":{"id":"c1","name":"Ana","phone":"555","address":"1 \"Road\""},"items":[{"name":"Tea","qty":1,"unit_price":250,"note":"hot"}],"total":250,"note":null,"fulfilment":"delivery","status":"ready","rider":null,"created_at":"2026-11-22T14:00:00.000Z","updated_at":"2026-11-22T14:05:00.000Z"}"#;
        let order: Order = serde_json::from_str(text).unwrap();
        let json = serde_json::to_string(&order).unwrap();
        let cases = [
            (None, None),
            (Some(Status::Preparing), None),
            (Some(Status::Pending), Some("out of \"tea\"\n")),
            (None, Some("")),
        ];
        for (previous, reason) in cases {
            let made = order_event_data(&json, previous, reason);
            let serde = serde_json::to_string(&OrderEvent {
                order: order.clone(),
                previous,
                reason: reason.map(str::to_string),
            })
            .unwrap();
            assert_eq!(made, serde);
        }
    }
}
