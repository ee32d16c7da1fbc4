//! The connection state a display shows, derived from what its follower reports.
//! Shared by the kitchen display and the rider console.

use chit_client::{LinkState, Refusal, Update};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// Before the first connection.
    Connecting,
    /// Live; `via` names the server when `--server` lists more than one.
    Online { via: Option<String> },
    /// Down since `since` (Unix ms); the next attempt is at `retry_at`.
    Offline {
        since: i64,
        retry_at: i64,
        reason: String,
    },
    /// The server refused who we are or what we asked to follow, or its certificate
    /// does not check out.
    Refused { since: i64, refusal: Refusal },
}

impl Conn {
    pub fn is_online(&self) -> bool {
        matches!(self, Conn::Online { .. })
    }

    /// Applies an update about the connection; returns whether it came back online
    /// after being down.
    pub fn apply(&mut self, update: &Update, now: i64) -> bool {
        let Update::State(state) = update else {
            return false;
        };
        let down_since = match self {
            Conn::Offline { since, .. } | Conn::Refused { since, .. } => Some(*since),
            _ => None,
        };
        match state {
            LinkState::Connecting { .. } => false,
            LinkState::Online { url, servers, .. } => {
                let via = (*servers > 1).then(|| host_port(url));
                *self = Conn::Online { via };
                down_since.is_some()
            }
            LinkState::Reconnecting { retry_in, reason } => {
                if !matches!(self, Conn::Refused { .. }) {
                    *self = Conn::Offline {
                        since: down_since.unwrap_or(now),
                        retry_at: now + retry_in.as_millis() as i64,
                        reason: reason.to_string(),
                    };
                }
                // A refusal stays shown while retrying: it needs a person.
                false
            }
            LinkState::Refused { refusal, .. } => {
                *self = Conn::Refused {
                    since: down_since.unwrap_or(now),
                    refusal: refusal.clone(),
                };
                false
            }
        }
    }

    /// One line for the header: `online`, `connecting`, `reconnecting in 3 s`, …
    pub fn label(&self, now: i64) -> String {
        match self {
            Conn::Connecting => "connecting".into(),
            Conn::Online { via: None } => "online".into(),
            Conn::Online { via: Some(via) } => format!("online via {via}"),
            Conn::Offline { retry_at, .. } => {
                let secs = ((retry_at - now).max(0) + 999) / 1000;
                if secs == 0 {
                    "reconnecting now".into()
                } else {
                    format!("reconnecting in {secs} s")
                }
            }
            Conn::Refused { .. } => "refused".into(),
        }
    }

    /// What a person should look at, for a refusal.
    pub fn hint(refusal: &Refusal) -> &'static str {
        use chit_client::ConnectError;
        match refusal {
            Refusal::Connect(ConnectError::Tls { .. }) => {
                "check --ca-file and the server's certificate"
            }
            Refusal::Connect(ConnectError::BadUrl { .. }) => "check --server",
            _ => "check the token and the restaurant or rider name",
        }
    }
}

/// `kitchen-b:7787` out of `wss://kitchen-b:7787/chit`.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// Updates for the displays' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::time::Duration;

    use chit_client::{ConnectError, Down, LinkState, Refusal, Update};
    use chit_protocol::{ErrorCode, Welcome};

    /// Online as restaurant r1's kitchen.
    pub fn kitchen_online() -> Update {
        online(Welcome {
            session: 1,
            role: chit_protocol::Role::Kitchen,
            server: "test".into(),
            protocol: 1,
            heartbeat: 30,
            name: "kitchen r1".into(),
            restaurant: Some("r1".into()),
            rider: None,
            customer: None,
            epoch: None,
        })
    }

    pub fn online(welcome: Welcome) -> Update {
        Update::State(LinkState::Online {
            url: "ws://127.0.0.1:7787".into(),
            servers: 1,
            welcome,
        })
    }

    pub fn offline(retry_in: Duration) -> Update {
        Update::State(LinkState::Reconnecting {
            retry_in,
            reason: Down::Lost {
                url: "ws://127.0.0.1:7787".into(),
                reason: None,
            },
        })
    }

    pub fn refused() -> Update {
        Update::State(LinkState::Refused {
            url: "ws://127.0.0.1:7787".into(),
            refusal: Refusal::Connect(ConnectError::Refused {
                url: "ws://127.0.0.1:7787".into(),
                code: ErrorCode::Unauthorized,
                message: "unknown or revoked token".into(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_client::Down;
    use std::time::Duration;

    fn reconnecting(secs: u64) -> Update {
        Update::State(LinkState::Reconnecting {
            retry_in: Duration::from_secs(secs),
            reason: Down::Lost {
                url: "ws://a:1".into(),
                reason: None,
            },
        })
    }

    #[test]
    fn offline_keeps_its_first_moment_across_retries() {
        let mut conn = Conn::Online { via: None };
        conn.apply(&reconnecting(2), 1_000);
        conn.apply(&reconnecting(2), 5_000);
        assert_eq!(
            conn,
            Conn::Offline {
                since: 1_000,
                retry_at: 7_000,
                reason: "the connection to 'ws://a:1' was lost".into()
            }
        );
        assert_eq!(conn.label(5_500), "reconnecting in 2 s");
        assert_eq!(conn.label(7_000), "reconnecting now");
    }

    #[test]
    fn the_server_in_use_is_named_when_there_is_a_choice() {
        let welcome = chit_protocol::Welcome {
            session: 1,
            role: chit_protocol::Role::Kitchen,
            server: "chit-server".into(),
            protocol: 1,
            heartbeat: 30,
            name: "pass".into(),
            restaurant: None,
            rider: None,
            customer: None,
            epoch: None,
        };
        let online = |servers| {
            Update::State(LinkState::Online {
                url: "wss://kitchen-b.example:7787/chit".into(),
                servers,
                welcome: welcome.clone(),
            })
        };
        let mut conn = Conn::Connecting;
        assert!(!conn.apply(&online(1), 0));
        assert_eq!(conn.label(0), "online");
        conn.apply(&reconnecting(1), 10);
        assert!(conn.apply(&online(2), 20), "back online");
        assert_eq!(conn.label(20), "online via kitchen-b.example:7787");
    }
}
