//! Responses: JSON bodies, and refusals as `{"error":{"code","message"}}` with the
//! status each protocol error code maps to (the same codes as over WebSocket).

use bytes::Bytes;
use chit_protocol::ErrorCode;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::Body;
use crate::error::Refusal;

pub(super) const JSON: &str = "application/json";

/// A response with `body` as its JSON.
pub(super) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// A response with `value` serialized as its JSON.
pub(super) fn json_value(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    json(
        status,
        serde_json::to_vec(value).expect("replies serialize"),
    )
}

pub(super) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed_unsync());
    *response.status_mut() = status;
    response
}

/// The HTTP status of a protocol error code.
pub(super) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        // An item the restaurant has run out of is a conflict with its state, as the
        // design says: 409, the order untouched.
        ErrorCode::InvalidTransition | ErrorCode::Conflict | ErrorCode::Unavailable => {
            StatusCode::CONFLICT
        }
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        // The events asked for are no longer kept: reload, then follow from the head.
        ErrorCode::ResyncRequired => StatusCode::GONE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A request refused: its status, the protocol error, and any headers it needs
/// (`WWW-Authenticate`, `Retry-After`, `Allow`).
#[derive(Debug)]
pub(super) struct Failure {
    pub status: StatusCode,
    pub refusal: Refusal,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Failure {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            refusal: Refusal::new(code, message),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Refusal::bad_request(message).into()
    }

    pub fn header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.push((name, value));
    }

    pub fn into_response(self) -> Response<Body> {
        #[derive(serde::Serialize)]
        struct Error<'a> {
            error: Inner<'a>,
        }
        #[derive(serde::Serialize)]
        struct Inner<'a> {
            code: ErrorCode,
            message: &'a str,
        }
        let body = Error {
            error: Inner {
                code: self.refusal.code,
                message: &self.refusal.message,
            },
        };
        let mut response = json_value(self.status, &body);
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        let mut failure = Failure {
            status: status_of(refusal.code),
            refusal,
            headers: Vec::new(),
        };
        match failure.refusal.code {
            ErrorCode::Unauthorized => failure.header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"chit\""),
            ),
            ErrorCode::RateLimited => {
                failure.header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            _ => {}
        }
        failure
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Failure {
        Refusal::from(e).into()
    }
}
