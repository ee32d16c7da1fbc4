//! `/v1/orders`: place (answered once committed, `Idempotency-Key`), list with a
//! cursor, get, and change status. Each goes through the same service functions, the
//! same writer and the same role rules as the WebSocket requests of the same name.

use std::sync::Arc;

use chit_protocol::{Fulfilment, NewCustomer, NewItem, NewOrder, Order, Status};
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
    #[serde(default = "one")]
    qty: u32,
    unit_price: i64,
    #[serde(default)]
    note: Option<String>,
}

fn one() -> u32 {
    1
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
                })
                .collect(),
            note: self.note,
            fulfilment: self.fulfilment,
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
    let key = match (idempotency_key(&parts.headers)?, order.key.take()) {
        (Some(header), Some(body)) if header != body => {
            return Err(Failure::bad_request(format!(
                "the Idempotency-Key header '{}' and the body's key '{}' differ",
                clean(&header),
                clean(&body)
            )));
        }
        (header, body) => header.or(body),
    };
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
    let restaurant = query.get("restaurant").map(str::to_string);
    if let Some(r) = &restaurant
        && !chit_protocol::room::valid_ident(r)
    {
        return Err(Failure::bad_request(format!(
            "restaurant '{}' is not a valid id (1-64 letters, digits, '_', '-' or '.')",
            clean(r)
        )));
    }
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
    let page = service::read(&ctx.store, who, move |conn, _| {
        service::list_orders(conn, &filter)
    })
    .await?;
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
    let order = service::read(&ctx.store, who, move |conn, who| {
        service::get_order(conn, who, order_id)
    })
    .await?;
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
}

/// `PATCH /v1/orders/{id}` with `{"status", "reason"?, "recall"?}`.
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
        change.recall,
    )
    .await?;
    let order = match made {
        Some(made) => made.to_string(),
        None => serde_json::to_string(&order).expect("orders serialize"),
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
    recall: bool,
) -> Result<(Order, Option<Arc<str>>), Failure> {
    let op = service::change_status(order_id, status, reason, recall)?;
    match ctx.store.write(who, op).await? {
        Written::Order { order, json, .. } => Ok((order, json)),
        Written::Chat(_) => {
            Err(Refusal::internal("a status change did not return its order").into())
        }
    }
}
