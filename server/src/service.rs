//! What a request does, whichever way it came (a WebSocket frame or an HTTP request):
//! the checks and reads shared by `dispatch` and `http`, so that every role rule,
//! validation and snapshot is written once. Writes go to the store's writer, which
//! applies the role rules of `auth` inside its transaction.

use std::sync::Arc;

use chit_protocol::{
    ErrorCode, ItemState, Menu, NewOrder, Order, Role, Room, ServerStats, Stats, Status,
    UnavailableItem,
};
use rusqlite::Connection;

use crate::auth::{self, Principal};
use crate::error::Refusal;
use crate::frames;
use crate::session::Replay;
use crate::store::validate::{self, clean};
use crate::store::{Store, Write, kitchen_sql, queries};

/// The most events one subscribe replays; a peer that missed more reloads instead.
pub(crate) const MAX_REPLAY: u32 = 100_000;
/// Orders in a page when none is asked for, and the most a page may hold.
pub(crate) const LIST_LIMIT: u32 = 100;
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;

/// An order to place, checked and cleaned for the writer.
pub(crate) fn place(order: NewOrder, key: Option<String>) -> Result<Write, Refusal> {
    validate::validate(order, key).map(|order| Write::PlaceOrder { order })
}

/// A status change for the writer (which checks who may make it, and whether the status
/// machine allows it, in its transaction).
pub(crate) fn change_status(
    order_id: i64,
    status: Status,
    reason: Option<String>,
    recall: bool,
    force: bool,
) -> Result<Write, Refusal> {
    if force && (status != Status::Ready || recall) {
        return Err(Refusal::bad_request(
            "force makes an order ready although items are not done: it goes with status ready only",
        ));
    }
    let reason = reason.map(|r| clean(&r)).filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > validate::MAX_NOTE)
    {
        return Err(Refusal::bad_request(
            "the reason is longer than 500 characters",
        ));
    }
    Ok(Write::UpdateStatus {
        order_id,
        status,
        reason,
        recall,
        force,
    })
}

/// An item bump for the writer (which checks who may make it and whether the item can
/// move so, in its transaction). Items count from 1.
pub(crate) fn update_item(
    order_id: i64,
    item: u32,
    state: ItemState,
    recall: bool,
) -> Result<Write, Refusal> {
    if item == 0 {
        return Err(Refusal::bad_request(
            "items are numbered from 1, as the ticket prints them",
        ));
    }
    Ok(Write::UpdateItem {
        order_id,
        item,
        state,
        recall,
    })
}

/// A restaurant id as a menu request names it.
fn restaurant_id(restaurant: &str) -> Result<(), Refusal> {
    if chit_protocol::room::valid_ident(restaurant) {
        Ok(())
    } else {
        Err(Refusal::bad_request(format!(
            "restaurant '{}' is not a valid id (1-64 letters, digits, '_', '-' or '.')",
            clean(restaurant)
        )))
    }
}

/// An item's name as an 86 names it.
fn item_name(item: &str) -> Result<String, Refusal> {
    let item = clean(item);
    if item.is_empty() || item.chars().count() > validate::MAX_NAME {
        return Err(Refusal::bad_request(format!(
            "an item's name must be 1 to {} characters",
            validate::MAX_NAME
        )));
    }
    Ok(item)
}

/// An 86 for the writer: `until` as RFC 3339 (none: the end of the local day).
pub(crate) fn mark_unavailable(
    restaurant: String,
    item: &str,
    until: Option<&str>,
) -> Result<Write, Refusal> {
    restaurant_id(&restaurant)?;
    let until = match until {
        None => None,
        Some(text) => Some(validate::parse_time(text).ok_or_else(|| {
            Refusal::bad_request(format!(
                "until '{}' is not an RFC 3339 time (like 2026-11-22T23:00:00+07:00)",
                clean(text)
            ))
        })?),
    };
    Ok(Write::MarkUnavailable {
        restaurant,
        item: item_name(item)?,
        until,
    })
}

/// The end of an 86, for the writer.
pub(crate) fn mark_available(restaurant: String, item: &str) -> Result<Write, Refusal> {
    restaurant_id(&restaurant)?;
    Ok(Write::MarkAvailable {
        restaurant,
        item: item_name(item)?,
    })
}

/// `restaurant`'s menu (none loaded: none) and what it has run out of at `now`, if
/// `who` may read them.
pub(crate) fn menu(
    conn: &Connection,
    who: &Principal,
    restaurant: &str,
    now: i64,
) -> Result<(Option<Menu>, Vec<UnavailableItem>), Refusal> {
    restaurant_id(restaurant)?;
    auth::check_menu_read(who, restaurant)?;
    let tx = conn.unchecked_transaction()?;
    let menu = kitchen_sql::live_menu(&tx, restaurant)?;
    let unavailable = kitchen_sql::unavailable(&tx, restaurant, now)?;
    tx.commit()?;
    Ok((menu, unavailable))
}

/// What `restaurant` has run out of at `now`, soonest back first, if `who` may read it.
pub(crate) fn unavailable(
    conn: &Connection,
    who: &Principal,
    restaurant: &str,
    now: i64,
) -> Result<Vec<UnavailableItem>, Refusal> {
    restaurant_id(restaurant)?;
    auth::check_menu_read(who, restaurant)?;
    Ok(kitchen_sql::unavailable(conn, restaurant, now)?)
}

/// Runs `f` on a read connection after checking that the token is still live.
pub(crate) async fn read<T, F>(store: &Store, who: Arc<Principal>, f: F) -> Result<T, Refusal>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &Principal) -> Result<T, Refusal> + Send + 'static,
{
    store
        .read(move |conn| {
            check_live(conn, &who)?;
            f(conn, &who)
        })
        .await
}

pub(crate) fn check_live(conn: &Connection, who: &Principal) -> Result<(), Refusal> {
    if queries::token_is_live(conn, who.token_id)? {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::Unauthorized,
            "this token has been revoked",
        ))
    }
}

/// One order, if `who` may see it.
pub(crate) fn get_order(
    conn: &Connection,
    who: &Principal,
    order_id: i64,
) -> Result<Order, Refusal> {
    match queries::get_order(conn, order_id)? {
        Some(order) if auth::can_see(who, &order) => Ok(order),
        Some(_) => Err(Refusal::forbidden(format!(
            "this token may not see order {order_id}"
        ))),
        None => Err(Refusal::not_found(format!(
            "order {order_id} does not exist"
        ))),
    }
}

/// What a client asks of `list_orders` (or `GET /v1/orders`).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListQuery {
    pub restaurant: Option<String>,
    pub status: Option<Vec<Status>>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A page of orders (oldest first), the head read in the same snapshot, and the cursor
/// of the page of older orders, if there are any.
#[derive(Debug, Clone)]
pub(crate) struct OrdersPage {
    pub orders: Vec<Order>,
    pub head: u64,
    pub next_cursor: Option<String>,
}

/// Narrows a listing to what `who` may see.
pub(crate) fn order_filter(who: &Principal, q: ListQuery) -> Result<queries::OrderFilter, Refusal> {
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(parse_cursor(c)?),
    };
    let mut filter = queries::OrderFilter {
        restaurant: q.restaurant,
        statuses: q.status.unwrap_or_default(),
        limit: q.limit.unwrap_or(LIST_LIMIT).clamp(1, MAX_LIST_LIMIT),
        before,
        ..Default::default()
    };
    match who.role {
        Role::Admin => {}
        Role::Kitchen | Role::Pos => {
            if filter.restaurant.is_some() && filter.restaurant != who.restaurant {
                return Err(Refusal::forbidden(format!(
                    "this token may not list orders of restaurant '{}'",
                    clean(&filter.restaurant.unwrap_or_default())
                )));
            }
            filter.restaurant = who.restaurant.clone();
        }
        Role::Rider => filter.rider_view = who.rider.clone(),
        Role::Customer => filter.customer = who.customer.clone(),
    }
    Ok(filter)
}

/// A cursor is the id of the oldest order of the page before; it reads as opaque.
fn parse_cursor(cursor: &str) -> Result<i64, Refusal> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            Refusal::bad_request(format!(
                "cursor '{}' is not one this server gave (use next_cursor from the page before)",
                clean(cursor)
            ))
        })
}

/// The newest `filter.limit` orders below the cursor, oldest first, with the head read
/// in the same snapshot.
pub(crate) fn list_orders(
    conn: &Connection,
    filter: &queries::OrderFilter,
) -> Result<OrdersPage, Refusal> {
    let tx = conn.unchecked_transaction()?;
    let (orders, more) = queries::list_orders(&tx, filter)?;
    let head = queries::head(&tx)?;
    tx.commit()?;
    let next_cursor = more
        .then(|| orders.first().map(|o| o.id.to_string()))
        .flatten();
    Ok(OrdersPage {
        orders,
        head,
        next_cursor,
    })
}

/// The restaurant a `stats` request is about: a kitchen's or a pos token's own when it
/// names none; refused if `who` may not read it.
pub(crate) fn stats_scope(
    who: &Principal,
    restaurant: Option<String>,
) -> Result<Option<String>, Refusal> {
    let restaurant = match (who.role, restaurant) {
        (Role::Kitchen | Role::Pos, None) => who.restaurant.clone(),
        (_, r) => r,
    };
    auth::check_stats(who, restaurant.as_deref())?;
    Ok(restaurant)
}

/// Today's figures for `restaurant` (all, if none), and the server's own for admins
/// (`server`, completed here from the database, webhook endpoints included).
pub(crate) fn stats(
    conn: &Connection,
    restaurant: Option<String>,
    server: Option<(ServerStats, &crate::webhooks::WebhookConfig)>,
) -> Result<Stats, Refusal> {
    let since = queries::local_day(conn)?.start;
    let mut today = queries::analytics(conn, restaurant.as_deref(), since)?;
    today.speed = speed(conn, restaurant.as_deref(), since)?;
    today.restaurant = restaurant;
    let server = match server {
        None => None,
        Some((mut st, webhooks)) => {
            st.orders_total = queries::count_orders(conn).unwrap_or(0);
            st.head = queries::head(conn).unwrap_or(0);
            st.webhooks = webhook_statuses(conn, webhooks)?;
            Some(st)
        }
    };
    Ok(Stats { today, server })
}

/// Today's speed of service, as the writer's figures count it: for one restaurant with
/// its stations in its menu's order; for all, their items and orders together.
fn speed(
    conn: &Connection,
    restaurant: Option<&str>,
    since: i64,
) -> Result<chit_protocol::Speed, Refusal> {
    let mut samples = kitchen_sql::speed_samples(conn, restaurant, since)?;
    Ok(match restaurant {
        Some(r) => {
            let stations = kitchen_sql::live_menu(conn, r)?
                .map(|m| m.stations)
                .unwrap_or_default();
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
pub(crate) fn webhook_statuses(
    conn: &Connection,
    config: &crate::webhooks::WebhookConfig,
) -> Result<Vec<chit_protocol::WebhookStatus>, Refusal> {
    Ok(crate::webhooks::queries::webhooks(conn)?
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
pub(crate) fn check_join(conn: &Connection, who: &Principal, room: &Room) -> Result<(), Refusal> {
    let order = match room {
        Room::Order(id) => Some(
            queries::get_order(conn, *id)?
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
pub(crate) fn replay(
    conn: &Connection,
    room: &str,
    since: Option<u64>,
    limit: u32,
) -> Result<(Replay, bool), Refusal> {
    let tx = conn.unchecked_transaction()?;
    let head = queries::head(&tx)?;
    let Some(since) = since else {
        let replay = Replay {
            head,
            frames: Vec::new(),
        };
        return Ok((replay, false));
    };
    let pruned = queries::meta(&tx, "pruned_through")?;
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
    let mut events = queries::events_since(&tx, room, since, limit.saturating_add(1))?;
    tx.commit()?;
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
