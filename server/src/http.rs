//! HTTP on the WebSocket port: every connection starts as HTTP/1.1 (hyper). A request
//! that asks for a WebSocket is answered `101` and the socket goes back to the caller,
//! which speaks chit's protocol on it (tokio-tungstenite); every other request is
//! served here: the REST API, event streams, webhooks in, health, metrics, OpenAPI.

mod compat;
mod events;
mod hooks;
mod ops;
mod orders;
mod reply;
mod request;
mod route;
mod state;
mod upgrade;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::context::Ctx;

pub(crate) use state::State;

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The largest request head (request line and headers) read; past it, `431`.
const MAX_HEAD: usize = 16 * 1024;

/// Where a request that asked for a WebSocket leaves its upgrade for the connection.
type UpgradeSlot = Arc<Mutex<Option<hyper::upgrade::OnUpgrade>>>;

/// Serves HTTP on a new connection until it closes, or until a request asks for a
/// WebSocket: then returns the socket and whatever the peer sent after that request.
/// A peer has `handshake_timeout` for each request head, and as long between requests
/// on a kept-alive connection.
pub(crate) async fn serve(stream: TcpStream, ctx: &Ctx) -> Option<(TcpStream, Vec<u8>)> {
    let slot = UpgradeSlot::default();
    let service = {
        let (ctx, slot) = (ctx.clone(), slot.clone());
        service_fn(move |req| {
            let (ctx, slot) = (ctx.clone(), slot.clone());
            async move { Ok::<_, Infallible>(route::handle(req, &ctx, &slot).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(ctx.config.handshake_timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = ctx.shutdown.cancelled() => {
            // Requests under way are answered (streams end at shutdown), then it closes.
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(Duration::from_secs(3), conn.as_mut()).await {
                Ok(served) => served,
                Err(_) => return None,
            }
        }
    };
    if let Err(e) = served {
        tracing::debug!("http connection ended: {e}");
    }
    let upgrade = slot.lock().unwrap().take()?;
    let upgraded = upgrade.await.ok()?;
    let parts = upgraded.downcast::<TokioIo<TcpStream>>().ok()?;
    Some((parts.io.into_inner(), parts.read_buf.to_vec()))
}
