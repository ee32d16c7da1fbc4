//! The writer's side of orders placed for later: a new order's due and fire times, the
//! fire schedule, and firing. An order is fired in the writer's transaction that takes
//! it off the schedule and logs its `order_fired` event, so it fires exactly once: a
//! crash before that commit leaves it on the schedule (the next start fires it at once),
//! a crash after it leaves the event in the log (clients replay it).

use crate::store::tx::Tx;
use chit_protocol::{EventKind, Item, Order, Room, Status};

use super::{Batch, Data, emit};
use crate::error::Refusal;
use crate::kitchen::schedule;
use crate::store::queries::Times;

/// Held orders fired in one transaction at most (more fire in the next one at once).
const FIRE_AT_ONCE: u32 = 1000;

/// The times of a new order due at `due_at` with routed `items`: refused if due more
/// than 14 days ahead; fired now if its fire time has come (a due time in the past
/// among them).
pub(super) fn times(
    batch: &Batch,
    due_at: Option<i64>,
    items: &[Item],
) -> Result<Option<Times>, Refusal> {
    let Some(due_at) = due_at else {
        return Ok(None);
    };
    schedule::check_due(due_at, batch.now)?;
    let fire_at = schedule::fire_at(due_at, items);
    Ok(Some(Times {
        due_at,
        fire_at,
        fired_at: (fire_at <= batch.now).then_some(batch.now),
    }))
}

/// After a new order is stored: a held one goes on the schedule; one fired at once has
/// its `order_fired` (`json`: the order) right after its `new_order`.
pub(super) fn placed(
    tx: &dyn Tx,
    batch: &mut Batch,
    order: &Order,
    times: Option<Times>,
    json: &str,
) -> Result<(), Refusal> {
    match times {
        None => Ok(()),
        Some(Times {
            fired_at: None,
            fire_at,
            ..
        }) => {
            tx.schedule_fire(order.id, fire_at)?;
            batch.schedule_changed = true;
            Ok(())
        }
        Some(_) => {
            emit(
                batch,
                &[Room::Restaurant(order.restaurant.clone())],
                EventKind::OrderFired,
                Data::Json(json.to_string()),
                Some(order),
            );
            Ok(())
        }
    }
}

/// Fires every held order whose fire time has come by the group's time. Another node's
/// writer may be firing the same orders: taking one off the schedule waits for it, and
/// an order it took off first (it fired it, or it was cancelled) is left alone.
pub(super) fn fire_due(tx: &dyn Tx, batch: &mut Batch) -> Result<(), Refusal> {
    for id in tx.due_fires(batch.now, FIRE_AT_ONCE)? {
        if !tx.unschedule(id)? {
            continue;
        }
        let Some(mut order) = tx.get_order(id)? else {
            continue;
        };
        if order.is_held() {
            fire(tx, batch, &mut order)?;
        }
    }
    Ok(())
}

/// Before a change to a held order: work on it (a status bump, an item started) fires
/// it first, as the kitchen has started early; cancelling or rejecting it takes it off
/// the schedule unfired.
pub(super) fn before_change(
    tx: &dyn Tx,
    batch: &mut Batch,
    order: &mut Order,
    to: Option<Status>,
) -> Result<(), Refusal> {
    if !order.is_held() {
        return Ok(());
    }
    tx.unschedule(order.id)?;
    match to {
        Some(Status::Cancelled | Status::Rejected) => Ok(()),
        _ => fire(tx, batch, order),
    }
}

/// Fires `order` now: its `fired_at` and an `order_fired` event for its rooms.
fn fire(tx: &dyn Tx, batch: &mut Batch, order: &mut Order) -> Result<(), Refusal> {
    tx.save_fired(order.id, batch.now)?;
    order.fired_at = Some(batch.at.clone());
    order.updated_at = batch.at.clone();
    let json = serde_json::to_string(&*order).expect("serializable");
    emit(
        batch,
        &[Room::Restaurant(order.restaurant.clone())],
        EventKind::OrderFired,
        Data::Json(json),
        Some(order),
    );
    Ok(())
}
