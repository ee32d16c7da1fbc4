//! The writer's side of item bumps (`update_item`): the rule is
//! [`crate::kitchen::items::bump`]; here it is saved and told. An `item_update` goes to
//! the order's rooms (its restaurant's, and as every order event its `order:ID` and
//! `customer:ID`, so a customer can follow the cooking); a bump that starts the order
//! adds the `order_update` that says so; a held order is fired first.

use std::sync::Arc;

use crate::store::tx::Tx;
use chit_protocol::{EventKind, ItemState, Room};

use super::{Batch, Written, change, fire, load};
use crate::auth::{self, Principal};
use crate::error::Refusal;
use crate::kitchen::{items, speed};
use crate::store::events::{Data, emit, item_event_data};

pub(super) fn update_item(
    tx: &dyn Tx,
    batch: &mut Batch,
    who: &Principal,
    (order_id, n): (i64, u32),
    state: ItemState,
    recall: bool,
) -> Result<Written, Refusal> {
    let mut order = load(tx, order_id)?;
    auth::check_items(who, &order)?;
    // Decided before anything is written: the bump, tried on a copy.
    let mut tried = order.clone();
    items::bump(&mut tried, n, state, recall, &batch.at)?;
    batch.today.load(tx, &order.restaurant)?;
    fire::before_change(tx, batch, &mut order, None)?;
    let at = n as usize - 1;
    let start = speed::kitchen_start(&order);
    let was_done = speed::item_duration(&order.items[at], start);
    let bumped = items::bump(&mut order, n, state, recall, &batch.at)?;
    let now_done = speed::item_duration(&order.items[at], start);
    let created = order.created_ms();
    let station = order.items[at].station.clone();
    for (ms, sign) in [(was_done, -1), (now_done, 1)] {
        if let Some(ms) = ms {
            batch
                .today
                .count_item(&order.restaurant, created, station.as_deref(), ms, sign);
        }
    }
    tx.save_items(&order, batch.now)?;
    order.updated_at = batch.at.clone();
    let json: Arc<str> = serde_json::to_string(&order).expect("serializable").into();
    let data = item_event_data(&json, n, bumped.previous);
    emit(
        batch,
        &[Room::Restaurant(order.restaurant.clone())],
        EventKind::ItemUpdate,
        Data::Json(data),
        Some(&order),
    );
    match bumped.status_before {
        Some(before) => {
            let rider = order.rider.clone();
            change(tx, batch, order, (before, rider), None)
        }
        None => Ok(Written::Order {
            order,
            duplicate: false,
            json: Some(json),
        }),
    }
}
