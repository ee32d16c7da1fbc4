//! The connection state a display shows, derived from link events. Shared by the
//! kitchen display and the rider console.

use crate::link::LinkEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// Before the first connection.
    Connecting,
    Online,
    /// Down since `since` (Unix ms); the next attempt is at `retry_at`.
    Offline {
        since: i64,
        retry_at: i64,
        reason: String,
    },
    /// The server refused who we are or what we asked to follow.
    Refused {
        since: i64,
        reason: String,
    },
}

impl Conn {
    pub fn is_online(&self) -> bool {
        *self == Conn::Online
    }

    /// Applies a link event about the connection; returns whether it came back online
    /// after being down.
    pub fn apply(&mut self, event: &LinkEvent, now: i64) -> bool {
        let down_since = match self {
            Conn::Offline { since, .. } | Conn::Refused { since, .. } => Some(*since),
            _ => None,
        };
        match event {
            LinkEvent::Connecting { .. } => false,
            LinkEvent::Online(_) => {
                *self = Conn::Online;
                down_since.is_some()
            }
            LinkEvent::Offline { retry_in, reason } => {
                if let Conn::Refused { since, reason } = self {
                    // Keep showing why: it needs a person.
                    *self = Conn::Refused {
                        since: *since,
                        reason: reason.clone(),
                    };
                } else {
                    *self = Conn::Offline {
                        since: down_since.unwrap_or(now),
                        retry_at: now + retry_in.as_millis() as i64,
                        reason: reason.clone(),
                    };
                }
                false
            }
            LinkEvent::Refused(reason) => {
                *self = Conn::Refused {
                    since: down_since.unwrap_or(now),
                    reason: reason.clone(),
                };
                false
            }
            _ => false,
        }
    }

    /// One line for the header: `online`, `connecting`, `reconnecting in 3 s`, …
    pub fn label(&self, now: i64) -> String {
        match self {
            Conn::Connecting => "connecting".into(),
            Conn::Online => "online".into(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn offline_keeps_its_first_moment_across_retries() {
        let mut conn = Conn::Online;
        let down = LinkEvent::Offline {
            retry_in: Duration::from_secs(2),
            reason: "lost".into(),
        };
        conn.apply(&down, 1_000);
        conn.apply(&down, 5_000);
        assert_eq!(
            conn,
            Conn::Offline {
                since: 1_000,
                retry_at: 7_000,
                reason: "lost".into()
            }
        );
        assert_eq!(conn.label(5_500), "reconnecting in 2 s");
        assert_eq!(conn.label(7_000), "reconnecting now");
    }
}
