//! Everything a client needs to connect — the servers, what it trusts, its token, its
//! name — and connecting once: to a given server, or to the first of the list that
//! answers. Staying connected is the follower's.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::connection::{Client, Events};
use crate::error::ConnectError;
use crate::servers::Servers;
use crate::tls::Trust;
use crate::transport::{self, Socket, Timing};

/// How to reach chit. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    servers: Servers,
    trust: Arc<Trust>,
    token: String,
    name: String,
}

/// Every server of the list failed; each one's reason, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Unavailable(pub Vec<ConnectError>);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "none of the {} servers could be used: ", all.len())?;
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl Connector {
    /// `name` is what the client calls itself in `hello` (`chit-kitchen 0.1.0`).
    pub fn new(
        servers: Servers,
        trust: Trust,
        token: String,
        name: impl Into<String>,
    ) -> Connector {
        Connector {
            servers,
            trust: Arc::new(trust),
            token,
            name: name.into(),
        }
    }

    pub fn servers(&self) -> &Servers {
        &self.servers
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Connects to the `i`-th server and says hello.
    pub async fn connect(&self, i: usize) -> Result<(Client, Events), ConnectError> {
        Client::connect_to(self.servers.get(i), &self.trust, &self.token, &self.name).await
    }

    /// Connects to the first server of the list that answers; returns its index too.
    pub async fn connect_any(&self) -> Result<(Client, Events, usize), Unavailable> {
        let mut failures = Vec::new();
        for i in 0..self.servers.len() {
            match self.connect(i).await {
                Ok((client, events)) => {
                    for e in &failures {
                        tracing::warn!("{e}; used {} instead", self.servers.get(i));
                    }
                    return Ok((client, events, i));
                }
                Err(e) => failures.push(e),
            }
        }
        Err(Unavailable(failures))
    }

    /// A bare WebSocket to the `i`-th server, before `hello`: for clients that speak
    /// the protocol themselves (the load generator).
    pub async fn socket(
        &self,
        i: usize,
        config: WebSocketConfig,
    ) -> Result<(Socket, Timing), ConnectError> {
        transport::open(self.servers.get(i), &self.trust, config).await
    }
}
