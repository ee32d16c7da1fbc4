//! Reading a request: who sent it (`Authorization: Bearer`, through the same token
//! table and rate limit as everything else), its query, and its JSON body within the
//! limits (64 KiB, the handshake timeout, a JSON content type).

use std::sync::Arc;

use chit_protocol::{ErrorCode, MAX_FRAME_BYTES};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{StatusCode, Uri};
use serde::de::DeserializeOwned;

use super::reply::Failure;
use crate::auth::Principal;
use crate::context::Ctx;
use crate::error::Refusal;
use crate::store::validate::clean;

/// The largest body read, as for a WebSocket frame; past it, `413`.
pub(super) const MAX_BODY: usize = MAX_FRAME_BYTES;

/// The token of `Authorization: Bearer <token>`, if the request has one.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Failure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    match token {
        Some(token) => Ok(Some(token)),
        None => Err(Refusal::new(
            ErrorCode::Unauthorized,
            "the Authorization header must be 'Bearer <token>'",
        )
        .into()),
    }
}

/// Who sent the request, from its bearer token (or, where `query_token` allows it, an
/// `access_token` query parameter, for clients such as a browser's EventSource that
/// cannot set headers); refused past the token's rate limit.
pub(super) async fn who(
    ctx: &Ctx,
    parts: &Parts,
    query_token: Option<&str>,
) -> Result<Arc<Principal>, Failure> {
    let token = match (bearer(&parts.headers)?, query_token) {
        (Some(token), _) | (None, Some(token)) => token,
        (None, None) => {
            return Err(Refusal::new(
                ErrorCode::Unauthorized,
                "this request needs a token: send 'Authorization: Bearer <token>'",
            )
            .into());
        }
    };
    let who = ctx.http.authenticate(&ctx.store, token).await?;
    let config = &ctx.config;
    if !ctx
        .http
        .allow(who.token_id, config.rate_limit, config.rate_burst)
    {
        return Err(Refusal::new(
            ErrorCode::RateLimited,
            format!(
                "more than {} requests a second with this token: slow down and retry",
                config.rate_limit
            ),
        )
        .into());
    }
    Ok(who)
}

/// The body as `T`, read within the limits. JSON is what is read; `curl -d` labels it
/// `application/x-www-form-urlencoded`, which is taken as JSON too, while any other
/// type is refused (`415`).
pub(super) async fn json_body<T: DeserializeOwned>(
    ctx: &Ctx,
    parts: &Parts,
    body: Incoming,
    what: &str,
) -> Result<T, Failure> {
    let bytes = raw_body(ctx, parts, body).await?;
    parse_json(&bytes, what)
}

/// `bytes` as `T`; a refusal names the field at fault (`items[0].qty: …`).
pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Failure> {
    let e = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    if e.is_syntax() || e.is_eof() {
        return Err(Failure::bad_request(format!("malformed JSON: {e}")));
    }
    // Read again, only now, to learn where it went wrong.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let message = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) if e.path().iter().next().is_some() => {
            format!("bad {what}: {}: {}", e.path(), e.inner())
        }
        _ => format!("bad {what}: {e}"),
    };
    Err(Failure::bad_request(message))
}

/// The body's bytes, read within the limits (see [`json_body`]).
pub(super) async fn raw_body(
    ctx: &Ctx,
    parts: &Parts,
    body: Incoming,
) -> Result<bytes::Bytes, Failure> {
    check_content_type(&parts.headers)?;
    let too_large = || {
        unread(Failure::from(Refusal::new(
            ErrorCode::TooLarge,
            format!("a body may be at most {MAX_BODY} bytes"),
        )))
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let reading = Limited::new(body, MAX_BODY).collect();
    match tokio::time::timeout(ctx.config.handshake_timeout, reading).await {
        Err(_) => Err(unread(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::BadRequest,
            format!(
                "the body did not arrive within {} s",
                ctx.config.handshake_timeout.as_secs()
            ),
        ))),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(Failure::bad_request(format!(
            "the body could not be read: {e}"
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// `failure`, answered before the request's body was read to its end: the connection is
/// closed after it, and says so (`Connection: close`), so that the client sends its next
/// request on another one rather than on a connection the server no longer reads.
fn unread(mut failure: Failure) -> Failure {
    failure.header(header::CONNECTION, HeaderValue::from_static("close"));
    failure
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Failure> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
        || essence == "application/x-www-form-urlencoded";
    if json {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            format!(
                "the body must be JSON (Content-Type: application/json), not '{}'",
                clean(&essence)
            ),
        ))
    }
}

/// A request's query parameters, each named at most once and each one the endpoint
/// knows (a misspelt filter is refused rather than ignored).
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(uri: &Uri, known: &[&str]) -> Result<Query, Failure> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(Failure::bad_request(format!(
                    "unknown query parameter '{}' (this endpoint takes: {})",
                    clean(name),
                    known.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(Failure::bad_request(format!(
                    "query parameter '{name}' is given twice"
                )));
            }
        }
        Ok(Query(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter within `min..=max`.
    pub fn number(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, Failure> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Failure::bad_request(format!(
                "{name} must be a whole number from {min} to {max}, not '{}'",
                clean(text)
            ))),
        }
    }
}

/// A restaurant id given in a query, checked.
pub(super) fn restaurant_id(text: &str) -> Result<&str, Failure> {
    if chit_protocol::room::valid_ident(text) {
        Ok(text)
    } else {
        Err(Failure::bad_request(format!(
            "restaurant '{}' is not a valid id (1-64 letters, digits, '_', '-' or '.')",
            clean(text)
        )))
    }
}

/// The `{id}` of a path such as `/v1/orders/{id}`.
pub(super) fn order_id(text: &str) -> Result<i64, Failure> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            Failure::bad_request(format!(
                "'{}' is not an order id (a whole number from 1)",
                clean(text)
            ))
        })
}
