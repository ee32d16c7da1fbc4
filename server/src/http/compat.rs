//! The seed design's API, for web shops written against it: `POST /api/orders`,
//! `PATCH /api/orders/{id}`, `GET /api/orders?restaurantId=&status=`. Its bodies (camel
//! case, prices and `totalAmount` in major units, statuses in upper case) are turned
//! into chit's and back; everything else is `/v1`'s: the same service, writer and
//! role rules.

use chit_protocol::{Fulfilment, NewCustomer, NewItem, NewOrder, Order, Status, money};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Number;

use super::Body;
use super::orders;
use super::reply::{Failure, json_value};
use super::request::{self, Query};
use crate::context::Ctx;
use crate::service::{self, ListQuery, MAX_LIST_LIMIT};
use crate::store::Write;
use crate::store::validate::clean;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedOrder {
    customer_info: SeedCustomer,
    restaurant_id: SeedId,
    items: Vec<SeedItem>,
    total_amount: Number,
    #[serde(default, alias = "notes")]
    note: Option<String>,
    #[serde(default)]
    fulfilment: Option<Fulfilment>,
}

#[derive(Deserialize)]
struct SeedCustomer {
    name: String,
    phone: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// A restaurant id, which the seed allowed to be a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum SeedId {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
struct SeedItem {
    name: String,
    #[serde(alias = "qty", default = "one", deserialize_with = "orders::whole")]
    quantity: u32,
    price: Number,
    #[serde(default)]
    note: Option<String>,
}

fn one() -> u32 {
    1
}

/// An amount in major units (`12.5`, `120`) as minor units, exactly, or why not.
fn minor_units(what: &str, amount: &Number) -> Result<i64, Failure> {
    money::parse(&amount.to_string()).ok_or_else(|| {
        Failure::bad_request(format!(
            "{what} {amount} is not an amount of money (0 or more, at most two decimals)"
        ))
    })
}

/// An order as the seed's API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedView {
    id: i64,
    number: u32,
    restaurant_id: String,
    customer_info: SeedCustomerView,
    items: Vec<SeedItemView>,
    total_amount: f64,
    status: String,
    fulfilment: Fulfilment,
    note: Option<String>,
    rider: Option<String>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct SeedCustomerView {
    id: String,
    name: String,
    phone: String,
    address: Option<String>,
}

#[derive(Serialize)]
struct SeedItemView {
    name: String,
    quantity: u32,
    price: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn major(minor: i64) -> f64 {
    minor as f64 / 100.0
}

fn view(order: Order) -> SeedView {
    SeedView {
        id: order.id,
        number: order.number,
        restaurant_id: order.restaurant,
        customer_info: SeedCustomerView {
            id: order.customer.id,
            name: order.customer.name,
            phone: order.customer.phone,
            address: order.customer.address,
        },
        items: order
            .items
            .into_iter()
            .map(|i| SeedItemView {
                name: i.name,
                quantity: i.qty,
                price: major(i.unit_price),
                note: i.note,
            })
            .collect(),
        total_amount: major(order.total),
        status: order.status.as_str().to_ascii_uppercase(),
        fulfilment: order.fulfilment,
        note: order.note,
        rider: order.rider,
        created_at: order.created_at,
        updated_at: order.updated_at,
    }
}

/// A status as the seed wrote it (`CONFIRMED`, `OUT_FOR_DELIVERY`) or as chit does.
fn seed_status(text: &str) -> Result<Status, Failure> {
    let wanted = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let status = match wanted.as_str() {
        "accepted" => Ok(Status::Confirmed),
        "out_for_delivery" => Ok(Status::PickedUp),
        _ => wanted.parse::<Status>(),
    };
    status.map_err(|_| {
        Failure::bad_request(format!(
            "unknown status '{}' (one of: PENDING, CONFIRMED, PREPARING, READY, PICKED_UP, DELIVERED, REJECTED, CANCELLED)",
            clean(text)
        ))
    })
}

/// `POST /api/orders`: `201` with the order (`200` for an `Idempotency-Key` seen before).
pub(super) async fn place(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
) -> Result<Response<Body>, Failure> {
    let who = request::who(ctx, &parts, None).await?;
    let seed: SeedOrder = request::json_body(ctx, &parts, body, "order").await?;
    let mut items = Vec::with_capacity(seed.items.len());
    for (i, item) in seed.items.into_iter().enumerate() {
        items.push(NewItem {
            unit_price: minor_units(&format!("item {}'s price", i + 1), &item.price)?,
            name: item.name,
            qty: item.quantity,
            note: item.note,
            category: None,
        });
    }
    let total_amount = minor_units("totalAmount", &seed.total_amount)?;
    let restaurant = match seed.restaurant_id {
        SeedId::Text(id) => id,
        SeedId::Number(n) => n.to_string(),
    };
    let has_address = seed.customer_info.address.is_some();
    let order = NewOrder {
        restaurant,
        customer: NewCustomer {
            id: seed.customer_info.id,
            name: seed.customer_info.name,
            phone: seed.customer_info.phone,
            address: seed.customer_info.address,
        },
        items,
        note: seed.note,
        // The seed had no pickup; an order without an address is one.
        fulfilment: seed.fulfilment.unwrap_or(if has_address {
            Fulfilment::Delivery
        } else {
            Fulfilment::Pickup
        }),
        ..Default::default()
    };
    let key = match parts.headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    Failure::bad_request("the Idempotency-Key header must be printable ASCII")
                })?
                .to_string(),
        ),
    };
    // The total is checked against what the server computes, before anything is saved.
    if let Write::PlaceOrder { order: valid } = service::place(order.clone(), key.clone())?
        && valid.total != total_amount
    {
        return Err(Failure::bad_request(format!(
            "totalAmount {} does not match the items' total {}",
            money::format(total_amount),
            money::format(valid.total)
        )));
    }
    let (response, order) = orders::place_order(ctx, who, order, key).await?;
    Ok(json_value(response.status(), &view(order)))
}

/// `GET /api/orders?restaurantId=&status=`: the newest orders (100, or `limit`), oldest
/// first; a `Link: <…>; rel="next"` header points to older ones when there are more.
pub(super) async fn list(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    let query = Query::parse(&parts.uri, &["restaurantId", "status", "limit", "cursor"])?;
    let who = request::who(ctx, &parts, None).await?;
    let status = match query.get("status") {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(seed_status)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let list = ListQuery {
        restaurant: query.get("restaurantId").map(str::to_string),
        status,
        limit: query
            .number("limit", 1, u64::from(MAX_LIST_LIMIT))?
            .map(|n| n as u32),
        cursor: query.get("cursor").map(str::to_string),
    };
    let filter = service::order_filter(&who, list)?;
    let page = ctx.store.list_orders(who, filter).await?;
    let views: Vec<SeedView> = page.orders.into_iter().map(view).collect();
    let mut response = json_value(StatusCode::OK, &views);
    if let Some(next) = page.next_cursor {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for name in ["restaurantId", "status", "limit"] {
            if let Some(value) = query.get(name) {
                link.append_pair(name, value);
            }
        }
        link.append_pair("cursor", &next);
        let value = format!("</api/orders?{}>; rel=\"next\"", link.finish());
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
struct SeedStatus {
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `PATCH /api/orders/{id}` with `{"status": "CONFIRMED"}`: the order as it now is.
pub(super) async fn patch(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
    id: &str,
) -> Result<Response<Body>, Failure> {
    let order_id = request::order_id(id)?;
    let who = request::who(ctx, &parts, None).await?;
    let change: SeedStatus = request::json_body(ctx, &parts, body, "status change").await?;
    let status = seed_status(&change.status)?;
    let (order, _) =
        orders::change_status(ctx, who, order_id, status, change.reason, (false, false)).await?;
    Ok(json_value(StatusCode::OK, &view(order)))
}
