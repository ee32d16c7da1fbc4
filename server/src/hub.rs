//! The hub: live sessions and the rooms they joined. Fan-out puts the same frame into
//! every member's bounded queue with `try_send`; a full queue means a slow consumer,
//! which is told to go (it resumes later with `since`). No lock is held across `.await`.
//! What is live about chat (presence, typing, chat rate) is `chat`'s.

mod chat;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chit_protocol::chat::PresenceAction;
use chit_protocol::{Analytics, EventKind, Member, Role, now_ms};
use tokio::sync::Notify;

use crate::frames::{Published, event_frame};
use crate::limits::RateLimiter;
use crate::store::Figures;
pub use chat::ChatRate;
use chat::{Typist, announces_presence};

pub type SessionId = u64;
pub type Outbound = Arc<Published>;

/// A session's bounded queue of frames to write: the hub puts, the connection takes.
/// A plain deque behind a lock, so an idle connection's queue costs a hundred bytes
/// rather than the slot blocks a channel allocates up front.
pub struct Outbox {
    queue: Mutex<VecDeque<Outbound>>,
    ready: Notify,
    limit: usize,
}

impl Outbox {
    fn new(limit: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            limit,
        })
    }

    /// Queues `event`, or gives it back if `limit` frames are already waiting.
    pub fn try_send(&self, event: Outbound) -> Result<(), Outbound> {
        let mut queue = self.queue.lock().unwrap();
        if queue.len() >= self.limit {
            return Err(event);
        }
        let was_empty = queue.is_empty();
        queue.push_back(event);
        drop(queue);
        if was_empty {
            // Stored as a permit when the connection is not waiting yet.
            self.ready.notify_one();
        }
        Ok(())
    }

    pub fn try_recv(&self) -> Option<Outbound> {
        self.queue.lock().unwrap().pop_front()
    }

    /// The next frame, waiting for one.
    pub async fn recv(&self) -> Outbound {
        loop {
            if let Some(event) = self.try_recv() {
                return event;
            }
            self.ready.notified().await;
        }
    }
}

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
    kicked: Notify,
}

impl Kick {
    fn kick(&self, reason: KickReason) {
        if self.reason.set(reason).is_ok() {
            self.kicked.notify_waiters();
        }
    }

    pub async fn kicked(&self) -> KickReason {
        let notified = self.kicked.notified();
        tokio::pin!(notified);
        // Registered before the reason is looked at, so a kick in between is not missed.
        notified.as_mut().enable();
        if let Some(reason) = self.reason.get() {
            return *reason;
        }
        notified.await;
        self.reason
            .get()
            .copied()
            .unwrap_or(KickReason::SlowConsumer)
    }
}

/// What a connection gets when it registers: its id, its queue and its kick signal.
pub struct SessionHandle {
    pub id: SessionId,
    pub rx: Arc<Outbox>,
    pub kick: Arc<Kick>,
}

struct SessionEntry {
    tx: Arc<Outbox>,
    kick: Arc<Kick>,
    token_id: i64,
    member: Member,
    rooms: HashSet<String>,
    /// Rooms whose subscribe was allowed: the session is listed and announced there.
    present: HashSet<String>,
}

#[derive(Default)]
struct State {
    rooms: HashMap<String, HashMap<SessionId, Arc<Outbox>>>,
    // Boxed: the table keeps spare slots as it grows, and a slot is then a pointer.
    sessions: HashMap<SessionId, Box<SessionEntry>>,
    typing: HashMap<(SessionId, String), Typist>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    next_session: AtomicU64,
    queue_limit: usize,
    /// Restaurants whose figures are due to be sent: with them if the writer knew them,
    /// `None` if they are to be read.
    dirty_restaurants: Mutex<HashMap<String, Option<Analytics>>>,
    analytics_due: Notify,
    events_total: AtomicU64,
    typing_due: Notify,
    chat_rate: ChatRate,
    chat_senders: Mutex<HashMap<i64, RateLimiter>>,
}

impl Hub {
    /// A hub whose sessions may each have `queue_limit` frames waiting to be written.
    pub fn new(queue_limit: usize) -> Hub {
        Hub::with_chat_rate(queue_limit, ChatRate::default())
    }

    pub fn with_chat_rate(queue_limit: usize, chat_rate: ChatRate) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::default(),
                next_session: AtomicU64::new(1),
                queue_limit: queue_limit.max(1),
                dirty_restaurants: Mutex::default(),
                analytics_due: Notify::new(),
                events_total: AtomicU64::new(0),
                typing_due: Notify::new(),
                chat_rate,
                chat_senders: Mutex::default(),
            }),
        }
    }

    pub fn register(&self, token_id: i64, name: String, role: Role) -> SessionHandle {
        let id = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        let tx = Outbox::new(self.inner.queue_limit);
        let rx = tx.clone();
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
            present: HashSet::new(),
        };
        self.inner
            .state
            .lock()
            .unwrap()
            .sessions
            .insert(id, Box::new(entry));
        SessionHandle { id, rx, kick }
    }

    /// Adds the session to `room`: from now on it receives the room's events. It is
    /// not listed or announced until [`present`](Hub::present), once the subscribe
    /// is known to be allowed.
    pub fn join(&self, session: SessionId, room: &str) {
        let mut state = self.inner.state.lock().unwrap();
        let Some(entry) = state.sessions.get_mut(&session) else {
            return;
        };
        if !entry.rooms.insert(room.to_string()) {
            return;
        }
        let tx = entry.tx.clone();
        state
            .rooms
            .entry(room.to_string())
            .or_default()
            .insert(session, tx);
    }

    pub fn leave(&self, session: SessionId, room: &str) {
        let (member, typing, present) = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.get_mut(&session) else {
                return;
            };
            if !entry.rooms.remove(room) {
                return;
            }
            let present = entry.present.remove(room);
            let member = entry.member.clone();
            remove_member(&mut state.rooms, room, session);
            let typing = state.typing.remove(&(session, room.to_string())).is_some();
            (member, typing, present)
        };
        if typing {
            self.publish_typing(room, &member, false);
        }
        if present && announces_presence(room) {
            self.announce(room, &member, PresenceAction::Leave);
        }
    }

    /// Forgets a session and takes it out of every room.
    pub fn remove(&self, session: SessionId) {
        let (member, present, typing) = {
            let mut state = self.inner.state.lock().unwrap();
            let Some(entry) = state.sessions.remove(&session) else {
                return;
            };
            for room in &entry.rooms {
                remove_member(&mut state.rooms, room, session);
            }
            let mut typing = Vec::new();
            state.typing.retain(|(s, room), _| {
                let mine = *s == session;
                if mine {
                    typing.push(room.clone());
                }
                !mine
            });
            (entry.member, entry.present, typing)
        };
        for room in &typing {
            self.publish_typing(room, &member, false);
        }
        for room in present.iter().filter(|r| announces_presence(r)) {
            self.announce(room, &member, PresenceAction::Leave);
        }
    }

    /// Delivers committed events to every member of their rooms, in the order given.
    pub fn publish(&self, events: Vec<Published>) {
        self.inner
            .events_total
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        {
            let state = self.inner.state.lock().unwrap();
            let mut slow = Vec::new();
            for event in events {
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
    }

    /// Marks restaurants' figures as changed by a commit, to be sent (coalesced).
    pub fn figures_changed(&self, figures: Vec<Figures>) {
        if figures.is_empty() {
            return;
        }
        let mut dirty = self.inner.dirty_restaurants.lock().unwrap();
        for f in figures {
            dirty.insert(f.restaurant, f.today);
        }
        drop(dirty);
        self.inner.analytics_due.notify_one();
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

    /// Waits until some restaurant's figures changed, then returns which ones (with the
    /// figures, where known).
    pub async fn dirty_restaurants(&self) -> HashMap<String, Option<Analytics>> {
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
            .entry(restaurant.to_string())
            .or_insert(None);
        self.inner.analytics_due.notify_one();
    }
}

fn remove_member(
    rooms: &mut HashMap<String, HashMap<SessionId, Arc<Outbox>>>,
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
        let a = hub.register(1, "a".into(), Role::Kitchen);
        let b = hub.register(2, "b".into(), Role::Kitchen);
        hub.join(a.id, "restaurant:r1");
        hub.join(b.id, "restaurant:r2");
        hub.publish(vec![
            event("restaurant:r1", 1),
            event("restaurant:r2", 2),
            event("restaurant:r1", 3),
        ]);
        assert_eq!(a.rx.recv().await.seq, Some(1));
        assert_eq!(a.rx.recv().await.seq, Some(3));
        assert_eq!(b.rx.recv().await.seq, Some(2));
        assert!(a.rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_slow_consumer_is_kicked_and_others_are_not() {
        let hub = Hub::new(2);
        let slow = hub.register(1, "slow".into(), Role::Kitchen);
        let fast = hub.register(2, "fast".into(), Role::Kitchen);
        hub.join(slow.id, "restaurant:r1");
        hub.join(fast.id, "restaurant:r1");
        for seq in 1..=3 {
            hub.publish(vec![event("restaurant:r1", seq)]);
            assert_eq!(fast.rx.recv().await.seq, Some(seq));
        }
        let reason = tokio::time::timeout(std::time::Duration::from_secs(1), slow.kick.kicked())
            .await
            .expect("the slow session is kicked");
        assert_eq!(reason, KickReason::SlowConsumer);
        assert!(fast.kick.reason.get().is_none());
    }
}
