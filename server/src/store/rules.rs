//! The order rules: what each change a client asks for does in the writer's
//! transaction (who may make it, whether the order can move so, what is saved, which
//! events are logged), and what the clock makes due. The kitchen's changes (item bumps,
//! firing held orders, menus and 86) are in its submodules. The machine that groups
//! changes into commits is `writer`'s; today's figures are `today`'s.

mod fire;
mod items;
mod menus;

use std::collections::HashMap;
use std::sync::Arc;

use super::tx::{Tx, TxResult};
use chit_protocol::{ChatMessage, ErrorCode, EventKind, Fulfilment, Order, Role, Room, Status};

use super::events::{Data, Pending, emit, order_event_data};
use super::queries;
use super::today::Group;
use super::validate::ValidOrder;
use super::{Write, WriteResult, Written};
use crate::auth::{self, Principal};
use crate::error::Refusal;
use crate::frames::Published;
pub(super) use menus::Kitchen;

/// What one transaction has produced so far.
pub(super) struct Batch {
    /// How many seqs the events logged so far take.
    pub seqs: u64,
    /// The events logged so far, numbered when the group is written.
    pub pending: Vec<Pending>,
    /// The frames of the group's events, once numbered.
    pub events: Vec<Published>,
    pub now: i64,
    /// `now` as the protocol writes times, made once for the group.
    pub at: String,
    /// Whether each token seen in this batch is still live (checked once per batch).
    live_tokens: HashMap<i64, bool>,
    /// Per restaurant: the last short number stored for today, as read when the group
    /// began, and the last given so far (saved once before the commit, if it moved).
    numbers: HashMap<String, (u32, u32)>,
    /// Today's figures, as this group's changes have moved them so far.
    pub today: Group,
    /// Menus and 86s, taken for the group and put back only if it commits (else they
    /// are read again).
    pub kitchen: Kitchen,
    /// Whether this group scheduled something for the clock (a held order, an 86).
    pub schedule_changed: bool,
}

impl Batch {
    /// A group's start: its time, today's sums and the kitchen's state as of the last
    /// commit.
    pub fn new(now: i64, today: Group, kitchen: Kitchen) -> Batch {
        Batch {
            seqs: 0,
            pending: Vec::new(),
            events: Vec::new(),
            now,
            at: chit_protocol::format_time(now),
            live_tokens: HashMap::new(),
            numbers: HashMap::new(),
            today,
            kitchen,
            schedule_changed: false,
        }
    }
}

/// Makes `op` for `who` in the group's transaction, or refuses it before it writes
/// anything (a storage error after writing fails the whole group).
pub(super) fn apply(tx: &dyn Tx, batch: &mut Batch, who: &Principal, op: &Write) -> WriteResult {
    let live = match batch.live_tokens.get(&who.token_id) {
        Some(live) => *live,
        None => {
            let live = tx.token_is_live(who.token_id)?;
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
        Write::PlaceOrder { order } => place_order(tx, batch, who, order),
        &Write::UpdateStatus {
            order_id,
            status,
            ref reason,
            recall,
            force,
        } => {
            let mut order = load(tx, order_id)?;
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
            batch.today.load(tx, &order.restaurant)?;
            fire::before_change(tx, batch, &mut order, Some(status))?;
            let previous = (order.status, order.rider.clone());
            order.status = status;
            change(tx, batch, order, previous, reason.clone())
        }
        &Write::UpdateItem {
            order_id,
            item,
            state,
            recall,
        } => items::update_item(tx, batch, who, (order_id, item), state, recall),
        Write::MarkUnavailable {
            restaurant,
            item,
            until,
        } => menus::mark_unavailable(tx, batch, who, restaurant, item, *until),
        Write::MarkAvailable { restaurant, item } => {
            menus::mark_available(tx, batch, who, restaurant, item)
        }
        &Write::Claim { order_id } => {
            let Some(me) = who.rider.clone().filter(|_| who.role == Role::Rider) else {
                return Err(Refusal::forbidden(
                    "only riders claim orders (an admin assigns them)",
                ));
            };
            let mut order = load(tx, order_id)?;
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
            change(tx, batch, order, previous, None)
        }
        &Write::Release { order_id } => {
            let mut order = load(tx, order_id)?;
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
            change(tx, batch, order, previous, None)
        }
        &Write::Assign {
            order_id,
            ref rider,
        } => {
            if who.role != Role::Admin {
                return Err(Refusal::forbidden("only an admin assigns orders to riders"));
            }
            let mut order = load(tx, order_id)?;
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
            order.rider = Some(rider.clone());
            change(tx, batch, order, previous, None)
        }
        Write::Chat { room, text } => chat(tx, batch, who, room.clone(), text.clone()),
    }
}

/// What a `Due` job does, in the group's transaction.
pub(super) fn run_due(tx: &dyn Tx, batch: &mut Batch) -> Result<(), Refusal> {
    fire::fire_due(tx, batch)?;
    menus::expire(tx, batch)?;
    menus::take_up_loads(tx, batch)
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

fn load(tx: &dyn Tx, order_id: i64) -> Result<Order, Refusal> {
    tx.get_order(order_id)?
        .ok_or_else(|| Refusal::not_found(format!("order {order_id} does not exist")))
}

fn place_order(tx: &dyn Tx, batch: &mut Batch, who: &Principal, v: &ValidOrder) -> WriteResult {
    let restaurant = v.order.restaurant.clone();
    auth::check_place(who, &restaurant, &v.customer_id)?;
    if let Some(key) = &v.key
        && let Some(id) = tx.find_key(&restaurant, key)?
    {
        let order = tx
            .get_order(id)?
            .ok_or_else(|| Refusal::internal(format!("order {id} for key '{key}' is missing")))?;
        return Ok(Written::Order {
            order,
            duplicate: true,
            json: None,
        });
    }
    // Refused (an item run out of, a due time too far ahead) before anything is written,
    // and before it is given a number.
    let items = menus::route(tx, batch, &restaurant, queries::plain_items(v))?;
    let times = fire::times(batch, v.due_at, &items)?;
    // Another node may have placed an order with this key since `find_key` looked: its
    // order, once that node's transaction commits, is this one's.
    if let Some(key) = &v.key
        && let Some(id) = tx.claim_key(&restaurant, key, batch.now)?
    {
        let order = tx
            .get_order(id)?
            .ok_or_else(|| Refusal::internal(format!("order {id} for key '{key}' is missing")))?;
        return Ok(Written::Order {
            order,
            duplicate: true,
            json: None,
        });
    }
    let number = match batch.numbers.get_mut(&restaurant) {
        Some((_, last)) => {
            *last += 1;
            *last
        }
        None => {
            let stored = tx.last_number(&restaurant, &batch.today.date)?;
            batch
                .numbers
                .insert(restaurant.clone(), (stored, stored + 1));
            stored + 1
        }
    };
    batch.today.load(tx, &restaurant)?;
    let order = tx.insert_order(v, number, items, times, (batch.now, &batch.at))?;
    if let Some(key) = &v.key {
        tx.insert_key(&restaurant, key, order.id, batch.now)?;
    }
    let json: Arc<str> = serde_json::to_string(&order).expect("serializable").into();
    let data = order_event_data(&json, None, None);
    emit(
        batch,
        &[Room::Restaurant(order.restaurant.clone())],
        EventKind::NewOrder,
        Data::Json(data),
        Some(&order),
    );
    fire::placed(tx, batch, &order, times, &json)?;
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
    tx: &dyn Tx,
    batch: &mut Batch,
    mut order: Order,
    (previous, previous_rider): (Status, Option<String>),
    reason: Option<String>,
) -> WriteResult {
    let shares = if order.status != previous {
        batch.today.load(tx, &order.restaurant)?;
        let (created_at, ready_at) = tx.order_times(order.id)?;
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
    tx.save_order_state(&order, batch.now)?;
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
        batch,
        &rooms,
        EventKind::OrderUpdate,
        Data::Json(data),
        Some(&order),
    );
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

fn chat(tx: &dyn Tx, batch: &mut Batch, who: &Principal, room: Room, text: String) -> WriteResult {
    let order = match &room {
        Room::Order(id) => Some(load(tx, *id)?),
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
    // Stored, with its id and seq, when the group's events are written; the writer
    // answers with the message as stored.
    let message = ChatMessage {
        id: 0,
        room: room.to_string(),
        seq: None,
        author: who.name(),
        role: who.role,
        text,
        at: batch.at.clone(),
    };
    emit(
        batch,
        &[room],
        EventKind::ChatMessage,
        Data::Chat(message.clone()),
        None,
    );
    Ok(Written::Chat(message))
}

/// Saves the last order number given today per restaurant, once per group.
pub(super) fn save_numbers(tx: &dyn Tx, batch: &Batch) -> TxResult<()> {
    for (restaurant, (stored, last)) in &batch.numbers {
        if last != stored {
            tx.save_number(restaurant, &batch.today.date, *last)?;
        }
    }
    Ok(())
}

/// Before a group's changes, where other nodes' writers share the database: takes the
/// locks its changes will need in one order (the orders they change, by id, then the
/// daily number rows of the restaurants they place orders for, by name), so that two
/// nodes' groups wait for each other rather than deadlock.
pub(super) fn lock_first<'a>(
    tx: &dyn Tx,
    batch: &mut Batch,
    writes: impl Iterator<Item = &'a Write> + Clone,
) -> TxResult<()> {
    let mut orders: Vec<i64> = writes
        .clone()
        .filter_map(|op| match op {
            Write::UpdateStatus { order_id, .. }
            | Write::UpdateItem { order_id, .. }
            | Write::Claim { order_id }
            | Write::Release { order_id }
            | Write::Assign { order_id, .. } => Some(*order_id),
            Write::Chat {
                room: Room::Order(id),
                ..
            } => Some(*id),
            _ => None,
        })
        .collect();
    orders.sort_unstable();
    orders.dedup();
    tx.lock_orders(&orders)?;
    let mut restaurants: Vec<&str> = writes
        .filter_map(|op| match op {
            Write::PlaceOrder { order } => Some(order.order.restaurant.as_str()),
            _ => None,
        })
        .collect();
    restaurants.sort_unstable();
    restaurants.dedup();
    for restaurant in restaurants {
        if !batch.numbers.contains_key(restaurant) {
            let stored = tx.last_number(restaurant, &batch.today.date)?;
            batch
                .numbers
                .insert(restaurant.to_string(), (stored, stored));
        }
    }
    Ok(())
}
