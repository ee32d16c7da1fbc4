//! `POST /v1/hooks/{name}`: orders delivered by other systems (a web shop, a delivery
//! platform) as Standard Webhooks, signed with the secret `chit-server hook add` gave.
//! A good signature less than 5 minutes old places the order as the hook's own pos
//! token, with `webhook-id` as its idempotency key: a replay creates nothing.

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use super::Body;
use super::orders::{self, OrderBody};
use super::reply::Failure;
use super::request::{self, Query};
use crate::context::Ctx;
use crate::error::Refusal;
use crate::metrics::WebhookLabels;
use crate::store::validate::clean;
use crate::webhooks::sign;

pub(super) async fn receive(
    ctx: &Ctx,
    parts: Parts,
    body: Incoming,
    name: &str,
) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    let bytes = request::raw_body(ctx, &parts, body).await?;
    let hook = ctx.store.hook(name.to_string()).await?.ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            chit_protocol::ErrorCode::NotFound,
            format!("no hook named '{}'", clean(name)),
        )
    })?;
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let id = header("webhook-id");
    let now = chit_protocol::now_ms() / 1000;
    let checked = sign::verify(
        &hook.secret,
        id,
        header("webhook-timestamp"),
        header("webhook-signature"),
        &bytes,
        now,
    );
    if let Err(why) = checked {
        tracing::warn!("hook '{}': refused a delivery: {why}", hook.name);
        ctx.http
            .metrics
            .hook_refusals
            .get_or_create(&WebhookLabels {
                webhook: hook.name.clone(),
            })
            .inc();
        return Err(Refusal::new(
            chit_protocol::ErrorCode::Unauthorized,
            format!("the delivery was refused: {why}"),
        )
        .into());
    }
    let id = id.unwrap_or_default().to_string();
    let token_id = hook.token_id;
    let who = ctx.store.token_by_id(token_id).await?.ok_or_else(|| {
        Refusal::new(
            chit_protocol::ErrorCode::Unauthorized,
            format!("hook '{}' was revoked", hook.name),
        )
    })?;
    let config = &ctx.config;
    if !ctx
        .http
        .allow(who.token_id, config.rate_limit, config.rate_burst)
    {
        return Err(Refusal::new(
            chit_protocol::ErrorCode::RateLimited,
            "too many deliveries a second: retry shortly",
        )
        .into());
    }
    let order: OrderBody = request::parse_json(&bytes, "order")?;
    if order.key.as_ref().is_some_and(|key| *key != id) {
        return Err(Failure::bad_request(
            "a hook's order takes its idempotency key from webhook-id: leave 'key' out",
        ));
    }
    let (response, _) = orders::place_order(ctx, who.into(), order.into_order(), Some(id)).await?;
    Ok(response)
}
