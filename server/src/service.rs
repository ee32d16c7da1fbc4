//! What a request does, whichever way it came (a WebSocket frame or an HTTP request):
//! the checks and reads shared by `dispatch` and `http`, so that every role rule,
//! validation and snapshot is written once. Writes go to the store's writer, which
//! applies the role rules of `auth` inside its transaction.

use std::sync::Arc;

use chit_protocol::{ItemState, Menu, NewOrder, Role, Status, UnavailableItem};

use crate::auth::{self, Principal};
use crate::error::Refusal;
pub(crate) use crate::store::resync;
use crate::store::validate::{self, clean};
use crate::store::{Store, Write, queries};

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

/// What a client asks of `list_orders` (or `GET /v1/orders`).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListQuery {
    pub restaurant: Option<String>,
    pub status: Option<Vec<Status>>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
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

/// `restaurant`'s menu (none loaded: none) and what it has run out of at `now`, if
/// `who` may read them.
pub(crate) async fn menu(
    store: &Store,
    who: Arc<Principal>,
    restaurant: String,
    now: i64,
) -> Result<(Option<Menu>, Vec<UnavailableItem>), Refusal> {
    restaurant_id(&restaurant)?;
    auth::check_menu_read(&who, &restaurant)?;
    store.menu(who, restaurant, now).await
}

/// What `restaurant` has run out of at `now`, soonest back first, if `who` may read it.
pub(crate) async fn unavailable(
    store: &Store,
    who: Arc<Principal>,
    restaurant: String,
    now: i64,
) -> Result<Vec<UnavailableItem>, Refusal> {
    restaurant_id(&restaurant)?;
    auth::check_menu_read(&who, &restaurant)?;
    store.unavailable(who, restaurant, now).await
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
