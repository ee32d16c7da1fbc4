//! A request for a WebSocket (RFC 6455 section 4.2): checked here and answered `101`;
//! the connection then hands its socket to the WebSocket side.

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::reply::{Failure, empty};
use super::{Body, UpgradeSlot};

/// Whether `req` asks to become a WebSocket (`Upgrade: websocket`).
pub(super) fn is_websocket<B>(req: &Request<B>) -> bool {
    has_token(req.headers(), header::UPGRADE, "websocket")
}

/// Answers a WebSocket request: `101` with the accept key, the upgrade left in `slot`.
pub(super) fn accept<B>(
    mut req: Request<B>,
    slot: &UpgradeSlot,
) -> Result<Response<Body>, Failure> {
    let headers = req.headers();
    if req.method() != Method::GET {
        return Err(Failure::bad_request("a WebSocket is opened with GET"));
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(Failure::bad_request(
            "a WebSocket request needs 'Connection: Upgrade'",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut failure = Failure::new(
            StatusCode::UPGRADE_REQUIRED,
            chit_protocol::ErrorCode::BadRequest,
            "this server speaks WebSocket version 13",
        );
        failure.header(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(failure);
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(Failure::bad_request(
            "a WebSocket request needs a Sec-WebSocket-Key",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    *slot.lock().unwrap() = Some(hyper::upgrade::on(&mut req));
    let mut response = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = response.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    Ok(response)
}

/// Whether a comma-separated header holds `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}
