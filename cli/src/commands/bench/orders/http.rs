//! The orders scenario's placing over HTTP (`chit bench --http`): each client places
//! through `in_flight` kept-alive HTTP/1.1 connections (HTTP/1.1 has one request in
//! flight per connection), `POST /v1/orders` each, while its WebSocket connection
//! still watches the customer room and the kitchens listen as ever.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Shared, new_order};
use crate::commands::bench::conn::ConnError;

/// What one client's HTTP connections placed.
#[derive(Default)]
pub(super) struct Placed {
    pub acked: u64,
    pub errors: BTreeMap<String, u64>,
    pub ack: Vec<Duration>,
    pub last_ack: Duration,
}

/// Places orders for client `c` over `connections` HTTP connections to `addr` until
/// none are left (or the deadline).
pub(super) async fn place(
    addr: String,
    token: String,
    c: usize,
    connections: usize,
    shared: Arc<Shared>,
) -> Result<Placed, ConnError> {
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, token, shared) = (addr.clone(), token.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            one_connection(&addr, &token, c, &shared).await
        }));
    }
    let mut placed = Placed::default();
    for task in tasks {
        let r = task
            .await
            .map_err(|e| ConnError(format!("an HTTP placer failed: {e}")))??;
        placed.acked += r.acked;
        for (code, n) in r.errors {
            *placed.errors.entry(code).or_default() += n;
        }
        placed.ack.extend(r.ack);
        placed.last_ack = placed.last_ack.max(r.last_ack);
    }
    Ok(placed)
}

async fn one_connection(
    addr: &str,
    token: &str,
    c: usize,
    shared: &Shared,
) -> Result<Placed, ConnError> {
    let p = &shared.params;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| ConnError(format!("cannot connect to '{addr}': {e}")))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| ConnError(format!("HTTP handshake with '{addr}' failed: {e}")))?;
    tokio::spawn(conn);
    let authorization = format!("Bearer {token}");
    let mut r = Placed::default();
    loop {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= p.orders || Instant::now() >= shared.deadline {
            return Ok(r);
        }
        let body = serde_json::to_vec(&new_order(n, p.restaurants, c)).expect("serializable");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/orders")
            .header("host", addr)
            .header("authorization", &authorization)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        shared.stamp(&shared.placed[n]);
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| ConnError(format!("an HTTP request failed: {e}")))?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| ConnError(format!("reading an HTTP reply failed: {e}")))?
            .to_bytes();
        if status == StatusCode::CREATED {
            r.acked += 1;
            if let Some(sent) = shared.since(&shared.placed[n]) {
                r.ack.push(sent);
            }
            r.last_ack = shared.start.elapsed();
        } else {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| status.to_string());
            *r.errors.entry(code).or_default() += 1;
        }
    }
}
