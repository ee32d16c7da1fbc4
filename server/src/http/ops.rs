//! The operational endpoints: `/healthz` (can the store take a write now?),
//! `/metrics` (Prometheus), `/v1/openapi.json` (this API described) and `/v1/stats`.

use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use super::Body;
use super::reply::{Failure, json, json_value};
use super::request::{self, Query};
use crate::context::Ctx;
use crate::service;

/// How long the store has to answer a health probe.
const HEALTH_WAIT: Duration = Duration::from_secs(2);

/// The OpenAPI 3.1 description of every endpoint, as served.
pub(super) const OPENAPI: &str = include_str!("openapi.json");

/// `GET /healthz`: `200 {"status":"ok"}` when the writer takes a write lock and commits
/// within two seconds, `503 {"status":"unavailable","error":…}` otherwise. No token.
pub(super) async fn healthz(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    // A statement that needs the write lock but changes nothing: the writer must be
    // running and the database writable by it (not locked by another process, not
    // failing), yet the commit writes no page.
    let probe = ctx.store.apply(crate::store::Change::Probe);
    let problem = match tokio::time::timeout(HEALTH_WAIT, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(r)) => Some(r.message),
        Err(_) => Some(format!(
            "the database did not take a write within {} s",
            HEALTH_WAIT.as_secs()
        )),
    };
    let (status, body) = match problem {
        None => (StatusCode::OK, serde_json::json!({"status": "ok"})),
        Some(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "error": error}),
        ),
    };
    let mut response = json_value(status, &body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /metrics`: Prometheus' text format (OpenMetrics). No token.
pub(super) async fn metrics(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    let orders = ctx.store.newest_order_id().await.unwrap_or(0);
    let scrape = crate::metrics::Scrape {
        sessions: ctx.hub.session_count() as u64,
        events_published: ctx.hub.events_total(),
        head: ctx.store.head(),
        orders,
    };
    let text = ctx.http.metrics.encode(scrape);
    let mut response = json(StatusCode::OK, text);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

/// `GET /v1/openapi.json`. No token.
pub(super) async fn openapi(parts: Parts) -> Result<Response<Body>, Failure> {
    Query::parse(&parts.uri, &[])?;
    Ok(json(StatusCode::OK, OPENAPI))
}

/// `GET /v1/stats?restaurant=`: the `stats` reply.
pub(super) async fn stats(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    let query = Query::parse(&parts.uri, &["restaurant"])?;
    let who = request::who(ctx, &parts, None).await?;
    if let Some(r) = query.get("restaurant") {
        request::restaurant_id(r)?;
    }
    let restaurant = service::stats_scope(&who, query.get("restaurant").map(str::to_string))?;
    let server = (who.role == chit_protocol::Role::Admin).then(|| crate::server_stats(ctx));
    let server = server.map(|st| (st, ctx.config.webhooks.clone()));
    let stats = ctx.store.stats(who, restaurant, server).await?;
    Ok(json_value(StatusCode::OK, &stats))
}
