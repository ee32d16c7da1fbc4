//! `/v1/orders`: place (answered once committed, `Idempotency-Key`), list with a
//! cursor, get, change status, and move one item at its station. Each goes through the same service functions, the
//! same writer and the same role rules as the WebSocket requests of the same name.

use std::sync::Arc;

use chit_protocol::{
    Fulfilment, ItemState, NewCustomer, NewItem, NewOrder, Order, Priority, Status,
};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::Body;
use super::reply::{Failure, json, json_value};
use super::request::{self, Query};
use crate::auth::Principal;
use crate::context::Ctx;
use crate::error::Refusal;
use crate::service::{self, ListQuery, MAX_LIST_LIMIT};
use crate::store::Written;
use crate::store::validate::clean;

/// A JSON Lines order (as `chit order place --file` reads) taken strictly: a field the
/// order does not have is refused, not ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrderBody {
    restaurant: String,
    customer: CustomerBody,
    items: Vec<ItemBody>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    fulfilment: Fulfilment,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    priority: Priority,
    #[serde(default)]
    due_at: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    #[serde(default)]
    id: Option<String>,
    name: String,
    phone: String,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    name: String,
    #[serde(default = "one", deserialize_with = "whole")]
    qty: u32,
    #[serde(deserialize_with = "whole")]
    unit_price: i64,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

fn one() -> u32 {
    1
}

/// A whole number, written as JSON may write one: `2`, or `2.0` (JSON Schema's integer).
pub(super) fn whole<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let number = serde_json::Number::deserialize(de)?;
    let n = match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => n,
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
        _ => return Err(D::Error::custom(format!("{number} is not a whole number"))),
    };
    T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
}

impl OrderBody {
    pub fn into_order(self) -> NewOrder {
        NewOrder {
            restaurant: self.restaurant,
            customer: NewCustomer {
                id: self.customer.id,
                name: self.customer.name,
                phone: self.customer.phone,
                address: self.customer.address,
            },
            items: self
                .items
                .into_iter()
                .map(|i| NewItem {
                    name: i.name,
                    qty: i.qty,
                    unit_price: i.unit_price,
                    note: i.note,
                    category: i.category,
                })
                .collect(),
            note: self.note,
            fulfilment: self.fulfilment,
            source: self.source,
            priority: self.priority,
            due_at: self.due_at,
        }
    }
}

/// `POST /v1/orders`.
pub(super) async fn place(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
) -> Result<Response<Body>, Failure> {
    let who = request::who(ctx, &parts, None).await?;
    let mut order: OrderBody = request::json_body(ctx, &parts, body, "order").await?;
    // The header, as HTTP APIs have it; a key in the body (a JSON Lines order's) serves
    // when there is none, and is checked either way.
    let body_key = crate::store::validate::check_key(order.key.take())?;
    let key = idempotency_key(&parts.headers)?.or(body_key);
    let (response, _) = place_order(ctx, who, order.into_order(), key).await?;
    Ok(response)
}

/// Places an order for `who` and answers `201 {order, duplicate: false}` once it is
/// committed, or `200 {order, duplicate: true}` for a key used before.
pub(super) async fn place_order(
    ctx: &Ctx,
    who: Arc<Principal>,
    order: NewOrder,
    key: Option<String>,
) -> Result<(Response<Body>, Order), Failure> {
    let op = service::place(order, key)?;
    let Written::Order {
        order,
        duplicate,
        json: made,
    } = ctx.store.write(who, op).await?
    else {
        return Err(Refusal::internal("placing an order did not return it").into());
    };
    let order_json = match made {
        Some(made) => made.to_string(),
        None => serde_json::to_string(&order).expect("orders serialize"),
    };
    let body = format!(r#"{{"order":{order_json},"duplicate":{duplicate}}}"#);
    let status = if duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((json(status, body), order))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => value.to_str().map(|k| Some(k.to_string())).map_err(|_| {
            Failure::bad_request("the Idempotency-Key header must be printable ASCII")
        }),
    }
}

#[derive(Serialize)]
struct Page {
    orders: Vec<Order>,
    head: u64,
    next_cursor: Option<String>,
}

/// `GET /v1/orders?restaurant=&status=a,b&limit=&cursor=`.
pub(super) async fn list(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    let query = Query::parse(&parts.uri, &["restaurant", "status", "limit", "cursor"])?;
    let who = request::who(ctx, &parts, None).await?;
    let restaurant = match query.get("restaurant") {
        Some(r) => Some(request::restaurant_id(r)?.to_string()),
        None => None,
    };
    let status = query.get("status").map(statuses).transpose()?;
    let limit = query
        .number("limit", 1, u64::from(MAX_LIST_LIMIT))?
        .map(|n| n as u32);
    let list = ListQuery {
        restaurant,
        status,
        limit,
        cursor: query.get("cursor").map(str::to_string),
    };
    let filter = service::order_filter(&who, list)?;
    let page = ctx.store.list_orders(who, filter).await?;
    Ok(json_value(
        StatusCode::OK,
        &Page {
            orders: page.orders,
            head: page.head,
            next_cursor: page.next_cursor,
        },
    ))
}

/// `pending,ready`: status names exactly as the protocol writes them.
pub(super) fn statuses(text: &str) -> Result<Vec<Status>, Failure> {
    text.split(',')
        .map(|name| {
            Status::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| {
                    let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                    Failure::bad_request(format!(
                        "unknown status '{}' (one of: {})",
                        clean(name),
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

#[derive(Serialize)]
struct OneOrder {
    order: Order,
}

/// `GET /v1/orders/{id}`.
pub(super) async fn get(ctx: &Ctx, parts: Parts, id: &str) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    let order_id = request::order_id(id)?;
    let who = request::who(ctx, &parts, None).await?;
    let order = ctx.store.order(who, order_id).await?;
    Ok(json_value(StatusCode::OK, &OneOrder { order }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: Status,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    recall: bool,
    #[serde(default)]
    force: bool,
}

/// `PATCH /v1/orders/{id}` with `{"status", "reason"?, "recall"?, "force"?}`.
pub(super) async fn patch(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
    id: &str,
) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    let order_id = request::order_id(id)?;
    let who = request::who(ctx, &parts, None).await?;
    let change: StatusChange = request::json_body(ctx, &parts, body, "status change").await?;
    let (order, made) = change_status(
        ctx,
        who,
        order_id,
        change.status,
        change.reason,
        (change.recall, change.force),
    )
    .await?;
    let order = match made {
        Some(made) => made.to_string(),
        None => serde_json::to_string(&order).expect("orders serialize"),
    };
    Ok(json(StatusCode::OK, format!(r#"{{"order":{order}}}"#)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemChange {
    state: ItemState,
    #[serde(default)]
    recall: bool,
}

/// `PATCH /v1/orders/{id}/items/{n}` with `{"state", "recall"?}`: item `n` counts from
/// 1, as `update_item` counts it.
pub(super) async fn patch_item(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
    id: &str,
    n: &str,
) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    let order_id = request::order_id(id)?;
    let item = n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        Failure::bad_request(format!(
            "'{}' is not an item number (items count from 1, as the ticket prints them)",
            clean(n)
        ))
    })?;
    let who = request::who(ctx, &parts, None).await?;
    let change: ItemChange = request::json_body(ctx, &parts, body, "item change").await?;
    let op = service::update_item(order_id, item, change.state, change.recall)?;
    let order = match ctx.store.write(who, op).await? {
        Written::Order {
            json: Some(json), ..
        } => json.to_string(),
        Written::Order { order, .. } => serde_json::to_string(&order).expect("orders serialize"),
        Written::Chat(_) | Written::Unavailable { .. } => {
            return Err(Refusal::internal("an item change did not return its order").into());
        }
    };
    Ok(json(StatusCode::OK, format!(r#"{{"order":{order}}}"#)))
}

/// Changes an order's status for `who`; the order once committed, and its JSON when
/// the change made it.
pub(super) async fn change_status(
    ctx: &Ctx,
    who: Arc<Principal>,
    order_id: i64,
    status: Status,
    reason: Option<String>,
    (recall, force): (bool, bool),
) -> Result<(Order, Option<Arc<str>>), Failure> {
    let op = service::change_status(order_id, status, reason, recall, force)?;
    match ctx.store.write(who, op).await? {
        Written::Order { order, json, .. } => Ok((order, json)),
        Written::Chat(_) | Written::Unavailable { .. } => {
            Err(Refusal::internal("a status change did not return its order").into())
        }
    }
}
