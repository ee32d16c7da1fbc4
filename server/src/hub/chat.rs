//! What the hub keeps live about chat: presence (who is in a room, announced as they
//! come and go), who is shown typing (and ends that after a quiet spell, so every
//! client agrees), and each member's chat send rate. Fan-out itself is the hub's.

use chit_protocol::chat::{PresenceAction, PresenceChange, TYPING_EVERY, TYPING_SHOWN, Typing};
use chit_protocol::{EventKind, Member};
use tokio::time::Instant;

use super::{Hub, SessionId};
use crate::limits::RateLimiter;

/// A member shown typing in a room: when it was last relayed, and until when it shows.
pub(super) struct Typist {
    pub relayed: Instant,
    pub until: Instant,
}

/// How many chat messages a member (a token, over all its connections) may send.
#[derive(Debug, Clone, Copy)]
pub struct ChatRate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for ChatRate {
    fn default() -> Self {
        ChatRate {
            per_minute: 60,
            burst: 10,
        }
    }
}

/// Rooms whose joins and leaves are announced as `presence` events.
pub(super) fn announces_presence(room: &str) -> bool {
    room.starts_with("chat:") || room.starts_with("order:")
}

impl Hub {
    /// Lists the session among the members of a room it joined, and tells the others.
    pub fn present(&self, session: SessionId, room: &str) {
        let member = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.get_mut(&session) else {
                return;
            };
            if !entry.rooms.contains(room) || !entry.present.insert(room.to_string()) {
                return;
            }
            entry.member.clone()
        };
        if announces_presence(room) {
            self.announce(room, &member, PresenceAction::Join);
        }
    }

    /// Relays that `session` is (or stopped) typing in `room` to the room's other
    /// members: `active` at most once per [`TYPING_EVERY`], and `false` only if it
    /// was shown typing. Returns `false` if the session is not in the room.
    pub fn typing(&self, session: SessionId, room: &str, active: bool) -> bool {
        let now = Instant::now();
        let key = (session, room.to_string());
        let member = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.get(&session) else {
                return false;
            };
            if !entry.present.contains(room) {
                return false;
            }
            let member = entry.member.clone();
            if !active {
                if state.typing.remove(&key).is_none() {
                    return true;
                }
            } else if let Some(t) = state.typing.get(&key)
                && now.duration_since(t.relayed) < TYPING_EVERY
            {
                return true;
            } else {
                let until = now + TYPING_SHOWN;
                state.typing.insert(
                    key,
                    Typist {
                        relayed: now,
                        until,
                    },
                );
                self.inner.typing_due.notify_one();
            }
            member
        };
        self.publish_typing(room, &member, active);
        true
    }

    /// Ends the typing indicator of every member not refreshed within
    /// [`TYPING_SHOWN`], by relaying `active: false`. Runs until dropped.
    pub async fn expire_typing(&self) {
        loop {
            let due = {
                let state = self.inner.state.lock().unwrap();
                state.typing.values().map(|t| t.until).min()
            };
            match due {
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = self.inner.typing_due.notified() => continue,
                },
                None => {
                    self.inner.typing_due.notified().await;
                    continue;
                }
            }
            let now = Instant::now();
            let expired: Vec<(String, Member)> = {
                let mut state = self.inner.state.lock().unwrap();
                let keys: Vec<_> = state
                    .typing
                    .iter()
                    .filter(|(_, t)| t.until <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.into_iter()
                    .filter_map(|key| {
                        state.typing.remove(&key);
                        let member = state.sessions.get(&key.0)?.member.clone();
                        Some((key.1, member))
                    })
                    .collect()
            };
            for (room, member) in expired {
                self.publish_typing(&room, &member, false);
            }
        }
    }

    pub(super) fn publish_typing(&self, room: &str, member: &Member, active: bool) {
        let data = Typing {
            session: member.session,
            name: member.name.clone(),
            role: member.role,
            active,
        };
        let data = serde_json::to_string(&data).expect("serializable");
        self.publish_live(room, EventKind::Typing, &data, Some(member.session));
    }

    /// Whether the member with `token_id` may send another chat message now.
    pub fn allow_chat(&self, token_id: i64) -> bool {
        let rate = self.inner.chat_rate;
        self.inner
            .chat_senders
            .lock()
            .unwrap()
            .entry(token_id)
            .or_insert_with(|| RateLimiter::per_minute(rate.per_minute, rate.burst))
            .allow(Instant::now())
    }

    pub fn chat_rate(&self) -> ChatRate {
        self.inner.chat_rate
    }

    pub(super) fn announce(&self, room: &str, member: &Member, action: PresenceAction) {
        let data = PresenceChange {
            action,
            session: member.session,
            name: member.name.clone(),
            role: member.role,
        };
        let data = serde_json::to_string(&data).expect("serializable");
        self.publish_live(room, EventKind::Presence, &data, Some(member.session));
    }

    /// Who is in `room` now.
    pub fn members(&self, room: &str) -> Vec<Member> {
        let state = self.inner.state.lock().unwrap();
        let mut members: Vec<Member> = state
            .rooms
            .get(room)
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|s| state.sessions.get(s))
            .filter(|e| e.present.contains(room))
            .map(|e| e.member.clone())
            .collect();
        members.sort_by_key(|m| m.session);
        members
    }
}

#[cfg(test)]
mod tests {
    use chit_protocol::Role;

    use super::*;
    use crate::hub::Outbound;

    fn frame(out: &Outbound) -> serde_json::Value {
        serde_json::from_str(out.frame.as_str()).unwrap()
    }

    #[tokio::test]
    async fn presence_is_announced_only_once_a_subscribe_is_allowed() {
        let hub = Hub::new(16);
        let a = hub.register(1, "Ann".into(), Role::Kitchen);
        let b = hub.register(2, "Bo".into(), Role::Rider);
        let c = hub.register(3, "Cy".into(), Role::Customer);
        hub.join(a.id, "chat:staff");
        hub.present(a.id, "chat:staff");
        // A subscribe still being checked is neither listed nor announced, and one
        // refused leaves no trace.
        hub.join(c.id, "chat:staff");
        assert_eq!(hub.members("chat:staff").len(), 1);
        hub.leave(c.id, "chat:staff");
        hub.join(b.id, "chat:staff");
        hub.present(b.id, "chat:staff");
        let joined = frame(&a.rx.recv().await);
        assert_eq!(joined["kind"], "presence");
        assert_eq!(joined["data"]["action"], "join");
        assert_eq!(joined["data"]["name"], "Bo");
        assert_eq!(hub.members("chat:staff").len(), 2);
        hub.remove(b.id);
        let left = frame(&a.rx.recv().await);
        assert_eq!(left["data"]["action"], "leave");
        assert_eq!(hub.members("chat:staff").len(), 1);
        assert!(a.rx.try_recv().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn typing_is_throttled_and_ends_after_a_quiet_spell() {
        let hub = Hub::new(16);
        let expiry = tokio::spawn({
            let hub = hub.clone();
            async move { hub.expire_typing().await }
        });
        let a = hub.register(1, "Ann".into(), Role::Kitchen);
        let b = hub.register(2, "Bo".into(), Role::Rider);
        for s in [a.id, b.id] {
            hub.join(s, "chat:staff");
            hub.present(s, "chat:staff");
        }
        let _ = a.rx.recv().await; // Bo's join
        assert!(!hub.typing(b.id, "chat:other", true), "not in that room");
        let start = Instant::now();
        assert!(hub.typing(b.id, "chat:staff", true));
        assert!(hub.typing(b.id, "chat:staff", true), "dropped: too soon");
        let shown = frame(&a.rx.recv().await);
        assert_eq!(
            (&shown["data"]["name"], &shown["data"]["active"]),
            (&"Bo".into(), &true.into())
        );
        assert!(a.rx.try_recv().is_none());
        let ended = frame(&a.rx.recv().await);
        assert_eq!(ended["data"]["active"], false);
        assert_eq!(start.elapsed(), TYPING_SHOWN);
        // Stopping when not shown says nothing.
        assert!(hub.typing(b.id, "chat:staff", false));
        assert!(a.rx.try_recv().is_none());
        expiry.abort();
    }

    #[tokio::test]
    async fn leaving_while_typing_ends_the_indicator_first() {
        let hub = Hub::new(16);
        let a = hub.register(1, "Ann".into(), Role::Kitchen);
        let b = hub.register(2, "Bo".into(), Role::Rider);
        for s in [a.id, b.id] {
            hub.join(s, "chat:staff");
            hub.present(s, "chat:staff");
        }
        let _ = a.rx.recv().await;
        hub.typing(b.id, "chat:staff", true);
        let _ = a.rx.recv().await;
        hub.remove(b.id);
        let ended = frame(&a.rx.recv().await);
        assert_eq!(
            (ended["kind"].as_str(), &ended["data"]["active"]),
            (Some("typing"), &false.into())
        );
        let left = frame(&a.rx.recv().await);
        assert_eq!(left["data"]["action"], "leave");
    }

    #[test]
    fn the_chat_rate_is_per_token_across_connections() {
        let hub = Hub::with_chat_rate(
            16,
            ChatRate {
                per_minute: 1,
                burst: 2,
            },
        );
        assert!(hub.allow_chat(7) && hub.allow_chat(7));
        assert!(!hub.allow_chat(7));
        assert!(hub.allow_chat(8), "another member is not held back");
    }
}
