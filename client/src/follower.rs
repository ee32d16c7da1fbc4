//! The one follower every long-lived client uses: it stays connected to one of the
//! servers forever (failing over between them, backing off with jitter up to 30 s),
//! loads a snapshot if asked, resumes every room from its last seq, reloads on
//! `resync_required`, sends queued requests in order once connected again, and says
//! what the link is doing as [`LinkState`] values. [`machine`] decides; [`driver`]
//! does the I/O.

pub mod driver;
pub mod machine;

use std::time::Duration;

use chit_protocol::{ClientMsg, ErrorCode, Event, Order, ServerMsg, Status, Welcome};

pub use driver::Follower;

use crate::connector::Unavailable;
use crate::error::{ConnectError, ServerError};

/// A request from the owner, with the owner's own id for the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: u64,
    pub msg: ClientMsg,
}

/// The open orders to load before following (`list_orders`, every page of them, so
/// none is left out however many there are), replacing the owner's picture on every
/// load.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub restaurant: Option<String>,
    pub statuses: Vec<Status>,
}

/// When the follower gives up rather than trying forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// If no server of the list can be used at the start, stop (a command that must
    /// say so at once) instead of trying forever (a display).
    pub give_up_at_first: bool,
    /// Stop even so if, at the start, no server's certificate checks out: that will
    /// not change until a person acts (a display says so and exits).
    pub give_up_if_untrusted_at_first: bool,
    /// Stop at a refusal that needs a person (a revoked token, a room closed to this
    /// token, a certificate that does not check out) instead of retrying slowly.
    pub stop_when_refused: bool,
}

impl Policy {
    /// Displays: never give up (but on certificates nothing trusts), show why.
    pub const DISPLAY: Policy = Policy {
        give_up_at_first: false,
        give_up_if_untrusted_at_first: true,
        stop_when_refused: false,
    };
    /// Commands: fail at once when nothing answers at the start or a person must act.
    pub const COMMAND: Policy = Policy {
        give_up_at_first: true,
        give_up_if_untrusted_at_first: true,
        stop_when_refused: true,
    };
}

/// What to follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Rooms and the seq to resume each from (`None`: from its head when joined).
    pub rooms: Vec<(String, Option<u64>)>,
    /// Load this before subscribing, and again when a room must resync. Without it, a
    /// room that must resync goes on from its head, and [`Update::Resumed`] says so.
    pub snapshot: Option<Snapshot>,
    pub policy: Policy,
}

/// What the link is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    /// Trying `url`; attempt 1 is the first since the link was last online. `after` is
    /// why the previous server is not in use, when the link fails over at once.
    Connecting {
        url: String,
        attempt: u32,
        after: Option<Down>,
    },
    /// Connected to `url` (one of `servers`) and following every room.
    Online {
        url: String,
        servers: usize,
        welcome: Welcome,
    },
    /// Down; the next attempt comes after `retry_in`.
    Reconnecting { retry_in: Duration, reason: Down },
    /// `url` refused what only a person can mend.
    Refused { url: String, refusal: Refusal },
}

/// Why the link is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// A server could not be connected to.
    Failed(ConnectError),
    /// The connection went away, with the server's reason if it gave one.
    Lost {
        url: String,
        reason: Option<String>,
    },
    Refused(Refusal),
}

/// Something only a person can mend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The connection itself: a bad or revoked token, a certificate, a URL.
    Connect(ConnectError),
    /// The server refused what the link must do with this token (`what`: "subscribing
    /// to restaurant:r2").
    Server {
        what: String,
        code: ErrorCode,
        message: String,
    },
}

impl Refusal {
    /// The error code behind it, if the server gave one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Refusal::Connect(ConnectError::Refused { code, .. }) | Refusal::Server { code, .. } => {
                Some(*code)
            }
            Refusal::Connect(_) => None,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Connect(e) => write!(f, "{e}"),
            Refusal::Server {
                what,
                code,
                message,
            } => write!(f, "{what}: {message} ({code})"),
        }
    }
}

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Down::Failed(e) => write!(f, "{e}"),
            Down::Lost { url, reason: None } => write!(f, "the connection to '{url}' was lost"),
            Down::Lost {
                url,
                reason: Some(why),
            } => write!(f, "the connection to '{url}' was lost ({why})"),
            Down::Refused(r) => write!(f, "{r}"),
        }
    }
}

/// Why the follower stopped (only under [`Policy::COMMAND`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Unavailable(Unavailable),
    Refused(Refusal),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Unavailable(u) => write!(f, "{u}"),
            Stop::Refused(r) => write!(f, "{r}"),
        }
    }
}

/// What the follower tells its owner, in order.
// Built and consumed once per event or reply; boxing the order list buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    State(LinkState),
    /// The open orders, replacing whatever the owner had.
    Snapshot {
        orders: Vec<Order>,
        head: u64,
    },
    Event(Event),
    /// The answer to the owner's request `id`.
    Reply {
        id: u64,
        result: Result<ServerMsg, ServerError>,
    },
    /// `room` is followed from seq `from` (after each subscribe); `missed` if the
    /// server no longer had everything since the last seq and there was no snapshot to
    /// reload.
    Resumed {
        room: String,
        from: u64,
        missed: bool,
    },
    /// Given up; nothing more comes.
    Stopped(Stop),
}
