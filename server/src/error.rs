//! The server's refusal type: a protocol error code and a sentence for the peer.

use chit_protocol::ErrorCode;

/// A request the server will not carry out, with the reason the peer is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::BadRequest, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::Internal, message)
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Refusal {
        Refusal::from(crate::store::StoreError::from(e))
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Refusal {
        tracing::error!("database error: {e}");
        Refusal::internal(
            "the server could not complete this request (storage error); nothing was changed",
        )
    }
}
