//! chit's client side of a connection, for every client binary: the list of servers,
//! TLS for `wss://`, which token to use, `hello`, one connection ([`Client`]), and the
//! [`Follower`] that stays connected across drops and failovers. Wire types live in
//! `chit-protocol`; terminals and output are the binaries' own.

pub mod args;
pub mod backoff;
pub mod connection;
pub mod connector;
pub mod error;
pub mod follower;
pub mod servers;
pub mod tls;
pub mod token;
pub mod transport;

pub use args::{ConnectArgs, SetupError};
pub use backoff::Backoff;
pub use connection::{Client, Events, Joined};
pub use connector::{Connector, Unavailable};
pub use error::{ClientError, ConnectError, ServerError, TlsProblem};
pub use follower::{
    Down, Follower, LinkState, Policy, Refusal, Request, Snapshot, Spec, Stop, Update,
};
pub use servers::{Endpoint, Servers};
