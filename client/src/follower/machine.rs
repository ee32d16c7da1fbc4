//! The follower's decisions as a pure state machine: given what just happened (an
//! [`Input`]), what to do next (a list of [`Action`]s) — which server to try, how long to
//! wait, what to subscribe from which seq, when to reload, which queued request goes
//! out, what to tell the owner. No I/O and no clock: the driver does those, and tests
//! feed it tables.

use std::collections::VecDeque;
use std::time::Duration;

use chit_protocol::{ClientMsg, ErrorCode, Order, ServerMsg, Welcome};

use super::{Down, LinkState, Policy, Refusal, Request, Spec, Stop, Update};
use crate::backoff::Backoff;
use crate::connector::Unavailable;
use crate::error::{ConnectError, ServerError};

/// What happened, as the driver saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Start,
    /// The server asked for answered `hello`.
    Connected(Welcome),
    ConnectFailed(ConnectError),
    Loaded {
        orders: Vec<Order>,
        head: u64,
    },
    LoadFailed(ServerError),
    /// The room being subscribed to was joined; `head` is its newest seq, of the log
    /// `epoch` names (none from a server before epochs).
    Subscribed {
        head: u64,
        epoch: Option<u64>,
    },
    SubscribeFailed(ServerError),
    /// The connection went away (the server's reason, if it said one).
    Lost(Option<String>),
    /// The wait before the next attempt is over.
    Woke,
    /// The owner asks for something.
    Request(Request),
    /// The answer to the owner's request in flight.
    Replied(Result<ServerMsg, ServerError>),
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Drop any connection and connect to the server at this index of the list.
    Connect(usize),
    /// Drop any connection and wait, then report [`Input::Woke`].
    Sleep(Duration),
    /// Leave these rooms, then load the snapshot.
    Load {
        leave: Vec<String>,
    },
    /// Subscribe, replaying after `since` if the server's log is still the one of
    /// `epoch` (else it answers `resync_required`).
    Subscribe {
        room: String,
        since: Option<u64>,
        epoch: Option<u64>,
    },
    /// Send the owner's request and report its answer.
    Send(Request),
    /// Send a message that has no answer (typing).
    SendNow(ClientMsg),
    Tell(Update),
}

#[derive(Debug, Clone, PartialEq)]
struct Followed {
    room: String,
    /// The last seq delivered (or the head it was joined at); `None` until known.
    since: Option<u64>,
    /// The epoch of the log `since` is a seq of; `None` if unknown (a seq the owner
    /// gave, a server before epochs): then the seq alone is trusted.
    epoch: Option<u64>,
    /// Joined at run time by the owner's own `subscribe`, rather than in the spec.
    joined: bool,
    /// The seq asked for by the subscribe in flight.
    asked: Option<u64>,
    /// The server no longer had everything since `since`: following from its head.
    missed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting,
    Loading,
    Subscribing(usize),
    Online,
    Waiting,
    Stopped,
}

/// The follower's state. [`Machine::step`] is the transition function.
#[derive(Debug, Clone)]
pub struct Machine {
    urls: Vec<String>,
    /// The server being tried, or in use.
    at: usize,
    /// Servers tried in this round, the current one included.
    tried: usize,
    /// Connection attempts since the link was last online.
    attempt: u32,
    phase: Phase,
    backoff: Backoff,
    policy: Policy,
    rooms: Vec<Followed>,
    snapshot: bool,
    loaded: bool,
    queue: VecDeque<Request>,
    in_flight: Option<Request>,
    welcome: Option<Welcome>,
    ever_online: bool,
    /// Why each server of this round failed, for giving up with all the reasons.
    failures: Vec<ConnectError>,
}

impl Machine {
    pub fn new(urls: Vec<String>, spec: &Spec, backoff: Backoff) -> Machine {
        assert!(!urls.is_empty(), "a follower needs a server");
        let rooms = spec
            .rooms
            .iter()
            .map(|(room, since)| Followed {
                room: room.clone(),
                since: *since,
                epoch: None,
                joined: false,
                asked: None,
                missed: false,
            })
            .collect();
        Machine {
            urls,
            at: 0,
            tried: 0,
            attempt: 0,
            phase: Phase::Idle,
            backoff,
            policy: spec.policy,
            rooms,
            snapshot: spec.snapshot.is_some(),
            loaded: false,
            queue: VecDeque::new(),
            in_flight: None,
            welcome: None,
            ever_online: false,
            failures: Vec::new(),
        }
    }

    pub fn is_online(&self) -> bool {
        self.phase == Phase::Online
    }

    /// Requests waiting to be sent (the one in flight included).
    pub fn queued(&self) -> usize {
        self.queue.len() + usize::from(self.in_flight.is_some())
    }

    /// Takes in an event; returns whether to pass it on (false for one already passed
    /// on, which a replay after a reconnect may repeat).
    pub fn event(&mut self, room: &str, seq: Option<u64>) -> bool {
        let Some(seq) = seq else {
            return true;
        };
        match self.rooms.iter_mut().find(|r| r.room == room) {
            Some(r) if r.since.is_some_and(|s| seq <= s) => false,
            Some(r) => {
                r.since = Some(seq);
                true
            }
            None => true,
        }
    }

    /// What to do after `input`.
    pub fn step(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match (self.phase, input) {
            (Phase::Idle, Input::Start) => {
                self.tried = 1;
                self.connect(None, &mut out);
            }
            (_, Input::Request(req)) => self.request(req, &mut out),
            (Phase::Connecting, Input::Connected(welcome)) => {
                self.welcome = Some(welcome);
                if self.snapshot && !self.loaded {
                    self.phase = Phase::Loading;
                    out.push(Action::Load { leave: Vec::new() });
                } else {
                    self.subscribe_from(0, &mut out);
                }
            }
            (Phase::Connecting, Input::ConnectFailed(e)) => {
                self.failures.push(e.clone());
                // At the start a command tries every server before giving up.
                let first_round = self.policy.give_up_at_first && !self.ever_online;
                if e.needs_a_person() && !first_round {
                    self.refused(Refusal::Connect(e), &mut out);
                } else {
                    self.fail(Down::Failed(e), &mut out);
                }
            }
            (Phase::Loading, Input::Loaded { orders, head }) => {
                self.loaded = true;
                // The head is this server's, read on this connection.
                let epoch = self.welcome.as_ref().and_then(|w| w.epoch);
                for r in &mut self.rooms {
                    r.since = Some(head);
                    r.epoch = epoch;
                    r.missed = false;
                }
                out.push(Action::Tell(Update::Snapshot { orders, head }));
                self.subscribe_from(0, &mut out);
            }
            (Phase::Loading, Input::LoadFailed(e)) => {
                self.server_refused("loading the open orders", e, &mut out);
            }
            (Phase::Subscribing(i), Input::Subscribed { head, epoch }) => {
                let r = &mut self.rooms[i];
                let from = r.asked.unwrap_or(head);
                if r.since.is_none() {
                    r.since = Some(head);
                }
                // From here on its seqs (the replay's, the live events') are this log's.
                r.epoch = epoch;
                out.push(Action::Tell(Update::Resumed {
                    room: r.room.clone(),
                    from,
                    missed: std::mem::take(&mut r.missed),
                }));
                self.subscribe_from(i + 1, &mut out);
            }
            (Phase::Subscribing(i), Input::SubscribeFailed(e)) => {
                self.subscribe_failed(i, e, &mut out)
            }
            (Phase::Loading | Phase::Subscribing(_) | Phase::Online, Input::Lost(reason)) => {
                if let Some(req) = self.in_flight.take() {
                    // Unknown whether it was applied: it goes again after reconnecting.
                    self.queue.push_front(req);
                }
                self.tried = 1;
                let down = Down::Lost {
                    url: self.url(),
                    reason,
                };
                self.fail(down, &mut out);
            }
            (Phase::Waiting, Input::Woke) => {
                // A new round: only its own failures count.
                self.failures.clear();
                self.tried = 1;
                self.connect(None, &mut out);
            }
            (Phase::Online, Input::Replied(result)) => {
                if let Some(req) = self.in_flight.take() {
                    if let Ok(reply) = &result {
                        self.follow_rooms(&req.msg, reply);
                    }
                    out.push(Action::Tell(Update::Reply { id: req.id, result }));
                }
                self.pump(&mut out);
            }
            // Anything else is news from a connection already given up on.
            _ => {}
        }
        out
    }

    fn url(&self) -> String {
        self.urls[self.at].clone()
    }

    /// Tries the current server; `after` is the failure that led here, if any.
    fn connect(&mut self, after: Option<Down>, out: &mut Vec<Action>) {
        self.phase = Phase::Connecting;
        self.attempt += 1;
        out.push(Action::Tell(Update::State(LinkState::Connecting {
            url: self.url(),
            attempt: self.attempt,
            after,
        })));
        out.push(Action::Connect(self.at));
    }

    /// Subscribes the next room from index `i`, or goes online when all are.
    fn subscribe_from(&mut self, i: usize, out: &mut Vec<Action>) {
        match self.rooms.get_mut(i) {
            Some(r) => {
                r.asked = r.since;
                self.phase = Phase::Subscribing(i);
                out.push(Action::Subscribe {
                    room: r.room.clone(),
                    since: r.since,
                    epoch: r.since.and(r.epoch),
                });
            }
            None => self.online(out),
        }
    }

    fn online(&mut self, out: &mut Vec<Action>) {
        self.phase = Phase::Online;
        self.attempt = 0;
        self.tried = 0;
        self.backoff.reset();
        self.ever_online = true;
        self.failures.clear();
        out.push(Action::Tell(Update::State(LinkState::Online {
            url: self.url(),
            servers: self.urls.len(),
            welcome: self.welcome.clone().expect("online after a welcome"),
        })));
        self.pump(out);
    }

    fn subscribe_failed(&mut self, i: usize, e: ServerError, out: &mut Vec<Action>) {
        let r = &mut self.rooms[i];
        match e.code {
            ErrorCode::ResyncRequired if r.asked.is_some() => {
                if self.snapshot {
                    // Too far behind, or another log (a restored backup, another
                    // database: the epoch differs): reload and start over.
                    self.loaded = false;
                    self.phase = Phase::Loading;
                    let leave = self.rooms[..i].iter().map(|r| r.room.clone()).collect();
                    out.push(Action::Load { leave });
                } else {
                    r.since = None;
                    r.epoch = None;
                    r.asked = None;
                    r.missed = true;
                    out.push(Action::Subscribe {
                        room: r.room.clone(),
                        since: None,
                        epoch: None,
                    });
                }
            }
            // A room joined at run time may be closed to us by now (an order handed
            // back): stop following it rather than fail the whole link.
            ErrorCode::Forbidden | ErrorCode::NotFound if r.joined => {
                self.rooms.remove(i);
                self.subscribe_from(i, out);
            }
            _ => {
                let what = format!("subscribing to {}", r.room);
                self.server_refused(&what, e, out);
            }
        }
    }

    /// A request of the follower's own was refused: a refusal if it needs a person,
    /// else a passing failure of this connection.
    fn server_refused(&mut self, what: &str, e: ServerError, out: &mut Vec<Action>) {
        if e.code.needs_a_person() {
            let refusal = Refusal::Server {
                what: what.to_string(),
                code: e.code,
                message: e.message,
            };
            self.refused(refusal, out);
        } else {
            self.tried = 1;
            let down = Down::Lost {
                url: self.url(),
                reason: Some(format!("{what}: {} ({})", e.message, e.code)),
            };
            self.fail(down, out);
        }
    }

    fn refused(&mut self, refusal: Refusal, out: &mut Vec<Action>) {
        out.push(Action::Tell(Update::State(LinkState::Refused {
            url: self.url(),
            refusal: refusal.clone(),
        })));
        if self.policy.stop_when_refused {
            self.stop(Stop::Refused(refusal), out);
            return;
        }
        // Nothing will change until a person acts: do not hammer the server.
        self.backoff.slow_down(4);
        if self.phase != Phase::Connecting {
            self.tried = 1;
        }
        self.fail(Down::Refused(refusal), out);
    }

    /// After a failure: the next server of the round at once, or when the round is
    /// over, a wait (or giving up, if the policy says so before ever being online).
    fn fail(&mut self, down: Down, out: &mut Vec<Action>) {
        let n = self.urls.len();
        if self.tried < n {
            self.at = (self.at + 1) % n;
            self.tried += 1;
            self.connect(Some(down), out);
            return;
        }
        if !self.ever_online {
            let untrusted =
                self.failures.len() >= n && self.failures.iter().all(ConnectError::is_untrusted);
            if self.policy.give_up_at_first
                || (self.policy.give_up_if_untrusted_at_first && untrusted)
            {
                let failures = std::mem::take(&mut self.failures);
                self.stop(Stop::Unavailable(Unavailable(failures)), out);
                return;
            }
        }
        self.at = (self.at + 1) % n;
        self.tried = 0;
        self.phase = Phase::Waiting;
        let delay = self.backoff.next_delay();
        out.push(Action::Tell(Update::State(LinkState::Reconnecting {
            retry_in: delay,
            reason: down,
        })));
        out.push(Action::Sleep(delay));
    }

    fn stop(&mut self, why: Stop, out: &mut Vec<Action>) {
        self.phase = Phase::Stopped;
        out.push(Action::Tell(Update::Stopped(why)));
    }

    fn request(&mut self, req: Request, out: &mut Vec<Action>) {
        if is_transient(&req.msg) {
            // No reply to wait for, and no point in sending it late.
            if self.phase == Phase::Online {
                out.push(Action::SendNow(req.msg));
            }
            return;
        }
        self.queue.push_back(req);
        self.pump(out);
    }

    /// Sends the next queued request, one at a time and in order, while online.
    fn pump(&mut self, out: &mut Vec<Action>) {
        if self.phase != Phase::Online || self.in_flight.is_some() {
            return;
        }
        if let Some(req) = self.queue.pop_front() {
            self.in_flight = Some(req.clone());
            out.push(Action::Send(req));
        }
    }

    /// Keeps track of the rooms the owner joins and leaves with its own requests.
    fn follow_rooms(&mut self, msg: &ClientMsg, reply: &ServerMsg) {
        match (msg, reply) {
            (ClientMsg::Subscribe { room, .. }, ServerMsg::Subscribed { head, epoch, .. })
                if !self.rooms.iter().any(|r| r.room == *room) =>
            {
                self.rooms.push(Followed {
                    room: room.clone(),
                    since: Some(*head),
                    epoch: *epoch,
                    joined: true,
                    asked: None,
                    missed: false,
                });
            }
            (ClientMsg::Unsubscribe { room }, _) => {
                self.rooms.retain(|r| !(r.joined && r.room == *room));
            }
            _ => {}
        }
    }
}

/// Messages with no reply that only matter now (typing): sent at once, never queued.
fn is_transient(msg: &ClientMsg) -> bool {
    matches!(msg, ClientMsg::Typing { .. })
}

#[cfg(test)]
mod tests;
