//! The connection behind `chit chat join`: a follower of the room (which reconnects,
//! fails over and resumes from the last seq, so nothing is missed or shown twice), the
//! last messages on joining, and the room's requests — messages said, who is here,
//! earlier pages — sent in order through it, waiting for a connection when there is
//! none. What the follower reports becomes [`Item`]s for the screen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chit_client::{Follower, LinkState, Policy, Request, ServerError, Spec, Update};
use chit_protocol::{ChatMessage, ClientMsg, Event, Member, ServerMsg};
use tokio::sync::mpsc;

use crate::commands::watch::stopped;
use crate::connect::connector;
use crate::{Failure, Global};

/// What the connection side tells the screen.
pub enum Item {
    Event(Event),
    /// The connection dropped; reconnecting.
    Lost(String),
    /// Back; `missed` if the server no longer had everything since we left.
    Reconnected {
        missed: bool,
    },
    /// Cannot go on (the token was revoked, the room refused).
    Fatal(Failure),
    Sent(Result<ChatMessage, (String, ServerError)>),
    /// Who is here, and this connection's session.
    Who(Result<Vec<Member>, ServerError>, u64),
    Page(Result<Vec<ChatMessage>, ServerError>),
}

/// What a request was for, to make its reply an [`Item`].
enum Asked {
    Say(String),
    Who,
    Page,
}

#[derive(Default)]
struct Shared {
    online: AtomicBool,
    session: AtomicU64,
    asked: Mutex<HashMap<u64, Asked>>,
}

/// A followed room.
pub struct Link {
    pub room: String,
    /// The name this token speaks as (from the first welcome).
    pub me: String,
    follower: Follower,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    closed: bool,
}

/// The id of the request for the messages shown on joining.
const HISTORY_ID: u64 = 0;

impl Link {
    /// Connects and subscribes (failing as other commands do if that is impossible),
    /// reads the newest `history` messages up to the subscribe, and starts following.
    pub async fn open(
        global: &Global,
        room: &str,
        history: u32,
    ) -> Result<(Link, Vec<ChatMessage>, mpsc::UnboundedReceiver<Item>), Failure> {
        let spec = Spec {
            rooms: vec![(room.to_string(), None)],
            snapshot: None,
            policy: Policy::COMMAND,
        };
        let (follower, mut updates) = Follower::spawn(connector(global)?, spec);
        let shared = Arc::new(Shared::default());
        // Until the first messages arrive, live ones wait here, to come after them.
        let mut early = Vec::new();
        let mut me = String::new();
        let messages = loop {
            let Some(update) = updates.recv().await else {
                return Err(Failure::refused("the connection task stopped"));
            };
            match update {
                Update::Resumed { from, .. } if me.is_empty() => {
                    // Up to and including the head: everything after it arrives live.
                    follower.send(Request {
                        id: HISTORY_ID,
                        msg: ClientMsg::ChatHistory {
                            room: room.to_string(),
                            before: Some(from + 1),
                            limit: Some(history),
                        },
                    });
                }
                Update::State(LinkState::Online { welcome, .. }) if me.is_empty() => {
                    me = welcome.name.clone();
                    shared.online.store(true, Ordering::Relaxed);
                    shared.session.store(welcome.session, Ordering::Relaxed);
                }
                Update::Reply {
                    id: HISTORY_ID,
                    result,
                } => match result {
                    Ok(ServerMsg::Messages { messages }) => break messages,
                    Ok(_) => break Vec::new(),
                    Err(e) => return Err(Failure::refused(format!("{e} ({})", e.code))),
                },
                Update::Stopped(stop) => return Err(stopped(stop)),
                other => early.push(other),
            }
        };
        let (items_tx, items) = mpsc::unbounded_channel();
        tokio::spawn(relay(
            room.to_string(),
            early,
            updates,
            shared.clone(),
            items_tx,
        ));
        let link = Link {
            room: room.to_string(),
            me,
            follower,
            shared,
            next_id: AtomicU64::new(HISTORY_ID + 1),
            closed: false,
        };
        Ok((link, messages, items))
    }

    /// Whether the link is connected now.
    pub fn is_online(&self) -> bool {
        self.shared.online.load(Ordering::Relaxed)
    }

    fn ask(&self, asked: Asked, msg: ClientMsg) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.shared.asked.lock().unwrap().insert(id, asked);
        self.follower.send(Request { id, msg });
    }

    /// Queues a message; its outcome arrives as [`Item::Sent`].
    pub fn say(&self, text: String) {
        if self.closed {
            return;
        }
        let msg = ClientMsg::ChatSend {
            room: self.room.clone(),
            text: text.clone(),
        };
        self.ask(Asked::Say(text), msg);
    }

    /// No more messages will be queued.
    pub fn close(&mut self) {
        self.closed = true;
    }

    pub fn typing(&self, active: bool) {
        let msg = ClientMsg::Typing {
            room: self.room.clone(),
            active,
        };
        // Sent at once if connected, else dropped: it has no reply.
        self.follower.send(Request { id: u64::MAX, msg });
    }

    /// Asks who is here; the answer arrives as [`Item::Who`]. False if not connected.
    pub fn who(&self) -> bool {
        if !self.is_online() {
            return false;
        }
        let msg = ClientMsg::Presence {
            room: self.room.clone(),
        };
        self.ask(Asked::Who, msg);
        true
    }

    /// Asks for up to `limit` messages before seq `before`; they arrive as
    /// [`Item::Page`]. False if not connected.
    pub fn page(&self, before: Option<u64>, limit: u32) -> bool {
        if !self.is_online() {
            return false;
        }
        let msg = ClientMsg::ChatHistory {
            room: self.room.clone(),
            before,
            limit: Some(limit),
        };
        self.ask(Asked::Page, msg);
        true
    }
}

/// Turns what the follower says into items for the screen.
async fn relay(
    room: String,
    early: Vec<Update>,
    mut updates: mpsc::UnboundedReceiver<Update>,
    shared: Arc<Shared>,
    items: mpsc::UnboundedSender<Item>,
) {
    let mut missed = false;
    let mut pending = early.into_iter();
    loop {
        let update = match pending.next() {
            Some(update) => update,
            None => match updates.recv().await {
                Some(update) => update,
                None => return,
            },
        };
        let item = match update {
            Update::Event(event) if event.room == room => Item::Event(event),
            Update::State(LinkState::Online { welcome, .. }) => {
                shared.session.store(welcome.session, Ordering::Relaxed);
                if shared.online.swap(true, Ordering::Relaxed) {
                    continue;
                }
                Item::Reconnected {
                    missed: std::mem::take(&mut missed),
                }
            }
            Update::State(LinkState::Reconnecting { reason, .. })
            | Update::State(LinkState::Connecting {
                after: Some(reason),
                ..
            }) => {
                if !shared.online.swap(false, Ordering::Relaxed) {
                    continue;
                }
                Item::Lost(reason.to_string())
            }
            Update::Resumed { missed: true, .. } => {
                missed = true;
                continue;
            }
            Update::Reply { id, result } => {
                let asked = shared.asked.lock().unwrap().remove(&id);
                match asked {
                    Some(Asked::Say(text)) => Item::Sent(match result {
                        Ok(ServerMsg::Ok { message: Some(m) }) => Ok(m),
                        Ok(other) => Err((text, unexpected(&other))),
                        Err(e) => Err((text, e)),
                    }),
                    Some(Asked::Who) => {
                        let me = shared.session.load(Ordering::Relaxed);
                        Item::Who(
                            result.and_then(|r| match r {
                                ServerMsg::Presence { members, .. } => Ok(members),
                                other => Err(unexpected(&other)),
                            }),
                            me,
                        )
                    }
                    Some(Asked::Page) => Item::Page(result.and_then(|r| match r {
                        ServerMsg::Messages { messages } => Ok(messages),
                        other => Err(unexpected(&other)),
                    })),
                    None => continue,
                }
            }
            Update::Stopped(stop) => {
                let _ = items.send(Item::Fatal(stopped(stop)));
                return;
            }
            _ => continue,
        };
        if items.send(item).is_err() {
            return;
        }
    }
}

fn unexpected(reply: &ServerMsg) -> ServerError {
    ServerError {
        code: chit_protocol::ErrorCode::Internal,
        message: format!("an unexpected reply: {reply:?}"),
    }
}
