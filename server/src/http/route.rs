//! Which handler answers a request, by method and path; what is timed and counted for
//! `/metrics`; and a refusal turned into its response.

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::time::Instant;

use super::reply::Failure;
use super::{Body, UpgradeSlot, compat, events, hooks, ops, orders, upgrade};
use crate::context::Ctx;
use crate::metrics::{EndpointLabels, ResponseLabels};

/// Answers one request: a WebSocket upgrade, or an endpoint of the API.
pub(super) async fn handle(
    req: Request<Incoming>,
    ctx: &Ctx,
    slot: &UpgradeSlot,
) -> Response<Body> {
    if upgrade::is_websocket(&req) {
        return upgrade::accept(req, slot).unwrap_or_else(Failure::into_response);
    }
    let started = Instant::now();
    let (endpoint, result) = endpoint(req, ctx).await;
    let response = result.unwrap_or_else(Failure::into_response);
    let metrics = &ctx.http.metrics;
    metrics
        .http_duration
        .get_or_create(&EndpointLabels { endpoint })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_responses
        .get_or_create(&ResponseLabels {
            endpoint,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

type Answer = Result<Response<Body>, Failure>;

/// The endpoint's name (for metrics) and its answer.
async fn endpoint(req: Request<Incoming>, ctx: &Ctx) -> (&'static str, Answer) {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(&path).split('/').collect();
    let method = parts.method.clone();
    use Method as M;
    match (&method, segments.as_slice()) {
        (&M::GET, ["healthz"]) => ("GET /healthz", ops::healthz(ctx, parts).await),
        (&M::GET, ["metrics"]) => ("GET /metrics", ops::metrics(ctx, parts).await),
        (&M::GET, ["v1", "openapi.json"]) => ("GET /v1/openapi.json", ops::openapi(parts).await),
        (&M::GET, ["v1", "stats"]) => ("GET /v1/stats", ops::stats(ctx, parts).await),
        (&M::POST, ["v1", "orders"]) => ("POST /v1/orders", orders::place(ctx, parts, body).await),
        (&M::GET, ["v1", "orders"]) => ("GET /v1/orders", orders::list(ctx, parts).await),
        (&M::GET, ["v1", "orders", id]) => {
            ("GET /v1/orders/{id}", orders::get(ctx, parts, id).await)
        }
        (&M::PATCH, ["v1", "orders", id]) => (
            "PATCH /v1/orders/{id}",
            orders::patch(ctx, parts, body, id).await,
        ),
        (&M::PATCH, ["v1", "orders", id, "items", n]) => (
            "PATCH /v1/orders/{id}/items/{n}",
            orders::patch_item(ctx, parts, body, id, n).await,
        ),
        (&M::GET, ["v1", "events"]) => ("GET /v1/events", events::follow(ctx, parts).await),
        (&M::POST, ["v1", "hooks", name]) => (
            "POST /v1/hooks/{name}",
            hooks::receive(ctx, parts, body, name).await,
        ),
        (&M::POST, ["api", "orders"]) => {
            ("POST /api/orders", compat::place(ctx, parts, body).await)
        }
        (&M::GET, ["api", "orders"]) => ("GET /api/orders", compat::list(ctx, parts).await),
        (&M::PATCH, ["api", "orders", id]) => (
            "PATCH /api/orders/{id}",
            compat::patch(ctx, parts, body, id).await,
        ),
        (_, path) => match allowed(path) {
            Some(allow) => ("other", Err(not_allowed(&method, allow))),
            None => ("other", Err(not_found(&parts.uri))),
        },
    }
}

/// The methods a known path is served with.
fn allowed(path: &[&str]) -> Option<&'static str> {
    match path {
        ["healthz"] | ["metrics"] | ["v1", "openapi.json"] | ["v1", "stats"] | ["v1", "events"] => {
            Some("GET")
        }
        ["v1", "orders"] | ["api", "orders"] => Some("GET, POST"),
        ["v1", "orders", _] => Some("GET, PATCH"),
        ["v1", "orders", _, "items", _] => Some("PATCH"),
        ["api", "orders", _] => Some("PATCH"),
        ["v1", "hooks", _] => Some("POST"),
        _ => None,
    }
}

fn not_allowed(method: &Method, allow: &'static str) -> Failure {
    let mut failure = Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        chit_protocol::ErrorCode::BadRequest,
        format!("{method} is not served here: use {allow}"),
    );
    failure.header(header::ALLOW, HeaderValue::from_static(allow));
    failure
}

fn not_found(uri: &hyper::Uri) -> Failure {
    let path: String = crate::store::validate::clean(uri.path())
        .chars()
        .take(200)
        .collect();
    Failure::new(
        StatusCode::NOT_FOUND,
        chit_protocol::ErrorCode::NotFound,
        format!("nothing is served at '{path}' (the API is described at /v1/openapi.json)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path served is described, with exactly the methods it is served with.
    #[test]
    fn the_openapi_document_describes_every_route_and_no_other() {
        let doc: serde_json::Value = serde_json::from_str(ops::OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut served = 0;
        for (path, item) in paths {
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let allow = allowed(&segments).unwrap_or_else(|| panic!("{path} is not served"));
            let mut methods: Vec<String> = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .map(|k| k.to_uppercase())
                .collect();
            methods.sort();
            assert_eq!(methods.join(", "), allow, "{path}");
            served += allow.split(", ").count();
        }
        // Every route of `endpoint` (WebSocket upgrades aside).
        assert_eq!(served, 14);
    }
}
