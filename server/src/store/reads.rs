//! The reads the server makes of the store, each in one snapshot (`Snapshot`, which
//! every backend implements): what `Store`'s read methods run off the async threads. The role rules they apply are `auth`'s.

use chit_protocol::{Analytics, ErrorCode, Menu, Order, Room, ServerStats, Stats, UnavailableItem};

use super::queries;
use super::snapshot::Snapshot;
use crate::auth::{self, Principal};
use crate::error::Refusal;
use crate::frames;
use crate::session::Replay;

/// `restaurant`'s menu (none loaded: none) and what it has run out of at `now`.
pub fn menu(
    snap: &dyn Snapshot,
    restaurant: &str,
    now: i64,
) -> Result<(Option<Menu>, Vec<UnavailableItem>), Refusal> {
    let menu = snap.live_menu(restaurant)?;
    let unavailable = snap.unavailable(restaurant, now)?;
    Ok((menu, unavailable))
}

/// What `restaurant` has run out of at `now`, soonest back first.
pub fn unavailable(
    snap: &dyn Snapshot,
    restaurant: &str,
    now: i64,
) -> Result<Vec<UnavailableItem>, Refusal> {
    Ok(snap.unavailable(restaurant, now)?)
}

pub fn check_live(snap: &dyn Snapshot, who: &Principal) -> Result<(), Refusal> {
    if snap.token_is_live(who.token_id)? {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::Unauthorized,
            "this token has been revoked",
        ))
    }
}

/// One order, if `who` may see it.
pub fn get_order(snap: &dyn Snapshot, who: &Principal, order_id: i64) -> Result<Order, Refusal> {
    match snap.get_order(order_id)? {
        Some(order) if auth::can_see(who, &order) => Ok(order),
        Some(_) => Err(Refusal::forbidden(format!(
            "this token may not see order {order_id}"
        ))),
        None => Err(Refusal::not_found(format!(
            "order {order_id} does not exist"
        ))),
    }
}

/// A page of orders (oldest first), the head read in the same snapshot, and the cursor
/// of the page of older orders, if there are any.
#[derive(Debug, Clone)]
pub struct OrdersPage {
    pub orders: Vec<Order>,
    pub head: u64,
    pub next_cursor: Option<String>,
}

/// The newest `filter.limit` orders below the cursor, oldest first, with the head read
/// in the same snapshot.
pub fn list_orders(
    snap: &dyn Snapshot,
    filter: &queries::OrderFilter,
) -> Result<OrdersPage, Refusal> {
    let (orders, more) = snap.list_orders(filter)?;
    let head = snap.head()?;
    let next_cursor = more
        .then(|| orders.first().map(|o| o.id.to_string()))
        .flatten();
    Ok(OrdersPage {
        orders,
        head,
        next_cursor,
    })
}

/// Today's figures for `restaurant` (all, if none), and the server's own for admins
/// (`server`, completed here from the database, webhook endpoints included).
pub fn stats(
    snap: &dyn Snapshot,
    restaurant: Option<String>,
    server: Option<(ServerStats, &crate::webhooks::WebhookConfig)>,
) -> Result<Stats, Refusal> {
    let since = snap.local_day()?.start;
    let mut today = snap.analytics(restaurant.as_deref(), since)?;
    today.speed = speed(snap, restaurant.as_deref(), since)?;
    today.restaurant = restaurant;
    let server = match server {
        None => None,
        Some((mut st, webhooks)) => {
            st.orders_total = snap.count_orders().unwrap_or(0);
            st.head = snap.head().unwrap_or(0);
            st.webhooks = webhook_statuses(snap, webhooks)?;
            Some(st)
        }
    };
    Ok(Stats { today, server })
}

/// Today's figures for `restaurant` (from `since`, Unix ms), read from its orders as the
/// writer's running sums count them, speed of service included.
pub fn figures(snap: &dyn Snapshot, restaurant: &str, since: i64) -> Result<Analytics, Refusal> {
    let mut today = snap.analytics(Some(restaurant), since)?;
    today.speed = speed(snap, Some(restaurant), since)?;
    Ok(today)
}

/// Today's speed of service, as the writer's figures count it: for one restaurant with
/// its stations in its menu's order; for all, their items and orders together.
fn speed(
    snap: &dyn Snapshot,
    restaurant: Option<&str>,
    since: i64,
) -> Result<chit_protocol::Speed, Refusal> {
    let mut samples = snap.speed_samples(restaurant, since)?;
    Ok(match restaurant {
        Some(r) => {
            let stations = snap.live_menu(r)?.map(|m| m.stations).unwrap_or_default();
            samples.remove(r).unwrap_or_default().speed(&stations)
        }
        None => {
            let mut all = crate::kitchen::speed::Samples::default();
            for s in samples.into_values() {
                all.items.extend(&s.items);
                all.orders.extend(&s.orders);
            }
            chit_protocol::Speed {
                stations: Vec::new(),
                ..all.speed(&[])
            }
        }
    })
}

/// Every webhook endpoint and how its deliveries go.
pub fn webhook_statuses(
    snap: &dyn Snapshot,
    config: &crate::webhooks::WebhookConfig,
) -> Result<Vec<chit_protocol::WebhookStatus>, Refusal> {
    Ok(snap
        .webhooks()?
        .into_iter()
        .map(|e| chit_protocol::WebhookStatus {
            id: e.id,
            url: e.url,
            state: config.state(e.progress.failures).to_string(),
            delivered_seq: e.progress.delivered_seq,
            delivered_total: e.progress.delivered_total,
            failures: e.progress.failures,
            last_error: e.progress.last_error,
        })
        .collect())
}

/// Whether `who` may follow `room` (order rooms need the order, read here).
pub fn check_join(snap: &dyn Snapshot, who: &Principal, room: &Room) -> Result<(), Refusal> {
    let order = match room {
        Room::Order(id) => Some(
            snap.get_order(*id)?
                .ok_or_else(|| Refusal::not_found(format!("order {id} does not exist")))?,
        ),
        _ => None,
    };
    if auth::can_join(who, room, order.as_ref()) {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!(
            "this token may not join '{room}'"
        )))
    }
}

/// The stored events of `room` after `since` (at most `limit`), as event frames, with
/// the head read in the same snapshot, and whether more than `limit` were there;
/// `resync_required` if they are no longer all kept (or `since` is ahead of the log).
/// No `since`: nothing to replay, only the head.
pub fn replay(
    snap: &dyn Snapshot,
    room: &str,
    since: Option<u64>,
    limit: u32,
) -> Result<(Replay, bool), Refusal> {
    let head = snap.head()?;
    let Some(since) = since else {
        let replay = Replay {
            head,
            frames: Vec::new(),
        };
        return Ok((replay, false));
    };
    let pruned = snap.meta("pruned_through")?;
    if since < pruned {
        return Err(resync(format!(
            "events up to seq {pruned} are no longer kept: reload the orders and subscribe from the new head"
        )));
    }
    if since > head {
        return Err(resync(format!(
            "seq {since} is ahead of this server's log (head {head}): reload the orders and subscribe from the new head"
        )));
    }
    let mut events = snap.events_since(room, since, limit.saturating_add(1))?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let frames = events
        .into_iter()
        .map(|e| {
            let frame = frames::stored_event_frame(room, Some(e.seq), &e.kind, e.at, &e.data);
            (e.seq, frame.into())
        })
        .collect();
    Ok((Replay { head, frames }, more))
}

/// The refusal a client that cannot resume gets: it reloads its snapshot instead.
pub(crate) fn resync(why: String) -> Refusal {
    Refusal::new(ErrorCode::ResyncRequired, why)
}
