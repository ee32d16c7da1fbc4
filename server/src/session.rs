//! A WebSocket session's request-side state: who it speaks for, the rooms it joined and
//! the requests being answered off its connection task. `dispatch` fills it in; the
//! connection (the transport) writes what comes out of it. Neither imports the other.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::auth::Principal;
use crate::context::Ctx;
use crate::error::Refusal;
use crate::hub::{Outbound, SessionId};

pub(crate) struct Session {
    pub who: Arc<Principal>,
    pub ctx: Ctx,
    pub id: SessionId,
    pub inflight: Inflight,
    pub rooms: HashMap<String, RoomState>,
}

/// A request that finished off the connection task, ready to be written.
pub(crate) enum Done {
    Reply(Utf8Bytes),
    Subscribed {
        id: Option<Value>,
        room: String,
        since: Option<u64>,
        result: Result<Replay, Refusal>,
    },
}

/// The stored events a subscriber missed, as frames, and the head when they were read.
pub(crate) struct Replay {
    pub head: u64,
    pub frames: Vec<(u64, Utf8Bytes)>,
}

/// A subscribed room: the newest seq written to the peer, and while its replay is being
/// read, the live events that arrived meanwhile.
pub(crate) struct RoomState {
    pub threshold: u64,
    pub buffer: Option<Vec<Outbound>>,
}

/// Requests being answered off the connection task. Nothing is allocated until the
/// first one, so a connection that only listens does not pay for it.
#[derive(Default)]
pub(crate) struct Inflight(Option<FuturesUnordered<BoxFuture<'static, Done>>>);

impl Inflight {
    pub fn push(&mut self, request: BoxFuture<'static, Done>) {
        self.0
            .get_or_insert_with(FuturesUnordered::new)
            .push(request);
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesUnordered::len)
    }

    /// The next finished request; pending forever while there is none.
    pub async fn next(&mut self) -> Done {
        match &mut self.0 {
            Some(requests) if !requests.is_empty() => match requests.next().await {
                Some(done) => done,
                None => std::future::pending().await,
            },
            _ => std::future::pending().await,
        }
    }
}
