//! The hub: live sessions and the rooms they joined. Fan-out puts the same frame into
//! every member's bounded queue with `try_send`; a full queue means a slow consumer,
//! which is told to go (it resumes later with `since`). No lock is held across `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chit_protocol::{EventKind, Member, Role, now_ms};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::frames::{Published, event_frame};

pub type SessionId = u64;
pub type Outbound = Arc<Published>;

/// Why a session was told to go; the connection closes with this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickReason {
    SlowConsumer,
    Revoked,
}

/// The signal a session's connection task waits on to be disconnected.
#[derive(Default)]
pub struct Kick {
    reason: OnceLock<KickReason>,
    token: CancellationToken,
}

impl Kick {
    fn kick(&self, reason: KickReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub async fn kicked(&self) -> KickReason {
        self.token.cancelled().await;
        self.reason
            .get()
            .copied()
            .unwrap_or(KickReason::SlowConsumer)
    }
}

/// What a connection gets when it registers: its id, its queue and its kick signal.
pub struct SessionHandle {
    pub id: SessionId,
    pub rx: mpsc::Receiver<Outbound>,
    pub kick: Arc<Kick>,
}

struct SessionEntry {
    tx: mpsc::Sender<Outbound>,
    kick: Arc<Kick>,
    token_id: i64,
    member: Member,
    rooms: HashSet<String>,
}

#[derive(Default)]
struct State {
    rooms: HashMap<String, HashMap<SessionId, mpsc::Sender<Outbound>>>,
    sessions: HashMap<SessionId, SessionEntry>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    next_session: AtomicU64,
    queue_limit: usize,
    dirty_restaurants: Mutex<HashSet<String>>,
    analytics_due: Notify,
    events_total: AtomicU64,
}

/// Rooms whose joins and leaves are announced as `presence` events.
fn announces_presence(room: &str) -> bool {
    room.starts_with("chat:") || room.starts_with("order:")
}

impl Hub {
    /// A hub whose sessions may each have `queue_limit` frames waiting to be written.
    pub fn new(queue_limit: usize) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::default(),
                next_session: AtomicU64::new(1),
                queue_limit: queue_limit.max(1),
                dirty_restaurants: Mutex::default(),
                analytics_due: Notify::new(),
                events_total: AtomicU64::new(0),
            }),
        }
    }

    pub fn register(&self, token_id: i64, name: String, role: Role) -> SessionHandle {
        let id = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.inner.queue_limit);
        let kick = Arc::new(Kick::default());
        let entry = SessionEntry {
            tx,
            kick: kick.clone(),
            token_id,
            member: Member {
                session: id,
                name,
                role,
            },
            rooms: HashSet::new(),
        };
        self.inner.state.lock().unwrap().sessions.insert(id, entry);
        SessionHandle { id, rx, kick }
    }

    /// Adds the session to `room`: from now on it receives the room's events.
    pub fn join(&self, session: SessionId, room: &str) {
        let member = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.get_mut(&session) else {
                return;
            };
            if !entry.rooms.insert(room.to_string()) {
                return;
            }
            let tx = entry.tx.clone();
            let member = entry.member.clone();
            state
                .rooms
                .entry(room.to_string())
                .or_default()
                .insert(session, tx);
            member
        };
        if announces_presence(room) {
            self.announce(room, &member, "join");
        }
    }

    pub fn leave(&self, session: SessionId, room: &str) {
        let member = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.get_mut(&session) else {
                return;
            };
            if !entry.rooms.remove(room) {
                return;
            }
            let member = entry.member.clone();
            remove_member(&mut state.rooms, room, session);
            member
        };
        if announces_presence(room) {
            self.announce(room, &member, "leave");
        }
    }

    /// Forgets a session and takes it out of every room.
    pub fn remove(&self, session: SessionId) {
        let (member, rooms) = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.remove(&session) else {
                return;
            };
            for room in &entry.rooms {
                remove_member(&mut state.rooms, room, session);
            }
            (entry.member, entry.rooms)
        };
        for room in rooms.iter().filter(|r| announces_presence(r)) {
            self.announce(room, &member, "leave");
        }
    }

    /// Delivers committed events to every member of their rooms, in the order given.
    pub fn publish(&self, events: Vec<Published>) {
        self.inner
            .events_total
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        let mut dirty = Vec::new();
        {
            let state = self.inner.state.lock().unwrap();
            let mut slow = Vec::new();
            for event in events {
                if let Some(r) = event.room.strip_prefix("restaurant:") {
                    dirty.push(r.to_string());
                }
                let Some(members) = state.rooms.get(&*event.room) else {
                    continue;
                };
                let event = Arc::new(event);
                for (session, tx) in members {
                    if tx.try_send(event.clone()).is_err() {
                        slow.push(*session);
                    }
                }
            }
            for session in slow {
                if let Some(entry) = state.sessions.get(&session) {
                    entry.kick.kick(KickReason::SlowConsumer);
                }
            }
        }
        if !dirty.is_empty() {
            self.inner.dirty_restaurants.lock().unwrap().extend(dirty);
            self.inner.analytics_due.notify_one();
        }
    }

    /// Sends a live-only event (no seq, not stored) to a room, except to `skip`.
    pub fn publish_live(&self, room: &str, kind: EventKind, data: &str, skip: Option<SessionId>) {
        let frame = event_frame(room, None, kind.as_str(), now_ms(), data);
        let event = Arc::new(Published {
            room: room.into(),
            seq: None,
            frame: frame.into(),
        });
        let state = self.inner.state.lock().unwrap();
        let Some(members) = state.rooms.get(room) else {
            return;
        };
        for (session, tx) in members {
            if Some(*session) != skip
                && tx.try_send(event.clone()).is_err()
                && let Some(entry) = state.sessions.get(session)
            {
                entry.kick.kick(KickReason::SlowConsumer);
            }
        }
    }

    fn announce(&self, room: &str, member: &Member, action: &str) {
        let data = serde_json::json!({
            "action": action,
            "session": member.session,
            "name": member.name,
            "role": member.role,
        });
        self.publish_live(
            room,
            EventKind::Presence,
            &data.to_string(),
            Some(member.session),
        );
    }

    /// Who is in `room` now.
    pub fn members(&self, room: &str) -> Vec<Member> {
        let state = self.inner.state.lock().unwrap();
        let mut members: Vec<Member> = state
            .rooms
            .get(room)
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|s| state.sessions.get(s).map(|e| e.member.clone()))
            .collect();
        members.sort_by_key(|m| m.session);
        members
    }

    pub fn has_members(&self, room: &str) -> bool {
        self.inner
            .state
            .lock()
            .unwrap()
            .rooms
            .get(room)
            .is_some_and(|m| !m.is_empty())
    }

    /// Disconnects every session whose token is in `revoked`.
    pub fn kick_tokens(&self, revoked: &HashSet<i64>) {
        let state = self.inner.state.lock().unwrap();
        for entry in state.sessions.values() {
            if revoked.contains(&entry.token_id) {
                entry.kick.kick(KickReason::Revoked);
            }
        }
    }

    pub fn session_count(&self) -> usize {
        self.inner.state.lock().unwrap().sessions.len()
    }

    pub fn events_total(&self) -> u64 {
        self.inner.events_total.load(Ordering::Relaxed)
    }

    /// Waits until some restaurant's figures changed, then returns which ones.
    pub async fn dirty_restaurants(&self) -> HashSet<String> {
        loop {
            let taken = std::mem::take(&mut *self.inner.dirty_restaurants.lock().unwrap());
            if !taken.is_empty() {
                return taken;
            }
            self.inner.analytics_due.notified().await;
        }
    }

    /// Marks a restaurant's figures as worth sending again (a new subscriber).
    pub fn touch_restaurant(&self, restaurant: &str) {
        self.inner
            .dirty_restaurants
            .lock()
            .unwrap()
            .insert(restaurant.to_string());
        self.inner.analytics_due.notify_one();
    }
}

fn remove_member(
    rooms: &mut HashMap<String, HashMap<SessionId, mpsc::Sender<Outbound>>>,
    room: &str,
    session: SessionId,
) {
    if let Some(members) = rooms.get_mut(room) {
        members.remove(&session);
        if members.is_empty() {
            rooms.remove(room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(room: &str, seq: u64) -> Published {
        Published {
            room: room.into(),
            seq: Some(seq),
            frame: event_frame(room, Some(seq), "new_order", 0, "{}").into(),
        }
    }

    #[tokio::test]
    async fn delivers_only_to_members_in_order() {
        let hub = Hub::new(16);
        let mut a = hub.register(1, "a".into(), Role::Kitchen);
        let mut b = hub.register(2, "b".into(), Role::Kitchen);
        hub.join(a.id, "restaurant:r1");
        hub.join(b.id, "restaurant:r2");
        hub.publish(vec![
            event("restaurant:r1", 1),
            event("restaurant:r2", 2),
            event("restaurant:r1", 3),
        ]);
        assert_eq!(a.rx.recv().await.unwrap().seq, Some(1));
        assert_eq!(a.rx.recv().await.unwrap().seq, Some(3));
        assert_eq!(b.rx.recv().await.unwrap().seq, Some(2));
        assert!(a.rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_slow_consumer_is_kicked_and_others_are_not() {
        let hub = Hub::new(2);
        let slow = hub.register(1, "slow".into(), Role::Kitchen);
        let mut fast = hub.register(2, "fast".into(), Role::Kitchen);
        hub.join(slow.id, "restaurant:r1");
        hub.join(fast.id, "restaurant:r1");
        for seq in 1..=3 {
            hub.publish(vec![event("restaurant:r1", seq)]);
            assert_eq!(fast.rx.recv().await.unwrap().seq, Some(seq));
        }
        let reason = tokio::time::timeout(std::time::Duration::from_secs(1), slow.kick.kicked())
            .await
            .expect("the slow session is kicked");
        assert_eq!(reason, KickReason::SlowConsumer);
        assert!(!fast.kick.token.is_cancelled());
    }

    #[tokio::test]
    async fn presence_is_announced_to_others_in_chat_rooms() {
        let hub = Hub::new(16);
        let mut a = hub.register(1, "Ann".into(), Role::Kitchen);
        let b = hub.register(2, "Bo".into(), Role::Rider);
        hub.join(a.id, "chat:staff");
        hub.join(b.id, "chat:staff");
        let joined = a.rx.recv().await.unwrap();
        assert!(joined.frame.as_str().contains(r#""action":"join""#));
        assert!(joined.frame.as_str().contains("Bo"));
        assert_eq!(hub.members("chat:staff").len(), 2);
        hub.remove(b.id);
        let left = a.rx.recv().await.unwrap();
        assert!(left.frame.as_str().contains(r#""action":"leave""#));
        assert_eq!(hub.members("chat:staff").len(), 1);
    }
}
