//! The displays' connection to the server: connects, loads a snapshot, subscribes from
//! the snapshot's head, and forwards events; on any disconnect it reports the state,
//! reconnects forever with backoff and jitter, and resumes each room from its last seq.
//! Requests made while offline wait in order and are sent on reconnect.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chit_protocol::client::Events;
use chit_protocol::{
    Backoff, Client, ClientError, ClientMsg, ErrorCode, Event, Order, ServerMsg, Status, Welcome,
};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

/// What to load and follow.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    pub url: String,
    pub token: String,
    pub client: String,
    pub rooms: Vec<String>,
    /// `list_orders` filter for the snapshot.
    pub restaurant: Option<String>,
    pub statuses: Vec<Status>,
}

/// A request from the display, with the display's own id for the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: u64,
    pub msg: ClientMsg,
}

/// What the link tells the display.
#[allow(clippy::large_enum_variant)] // each moves once through a channel; boxing buys nothing
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// Trying to connect (attempt 1 is the first).
    Connecting {
        attempt: u32,
    },
    /// Connected and subscribed; the display is live.
    Online(Welcome),
    /// Disconnected; the next attempt comes after `retry_in`.
    Offline {
        retry_in: Duration,
        reason: String,
    },
    /// A full picture of the open orders, replacing what the display had.
    Snapshot {
        orders: Vec<Order>,
        head: u64,
    },
    Event(Event),
    /// The answer to request `id`: the server's reply or its refusal.
    Reply {
        id: u64,
        result: Result<ServerMsg, (ErrorCode, String)>,
    },
    /// Something only a person can fix (a revoked token, a room this token may not
    /// join); the link keeps retrying slowly.
    Refused(String),
}

/// The display's end of the link.
pub struct Link {
    tx: mpsc::UnboundedSender<Request>,
}

impl Link {
    /// Starts the link task; events arrive on the returned receiver.
    pub fn spawn(spec: LinkSpec) -> (Link, mpsc::UnboundedReceiver<LinkEvent>) {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(spec, req_rx, ev_tx));
        (Link { tx: req_tx }, ev_rx)
    }

    /// Queues a request; it is sent now if online, or after the next reconnect.
    pub fn send(&self, request: Request) {
        let _ = self.tx.send(request);
    }
}

struct State {
    spec: LinkSpec,
    /// Rooms the display joined at run time (a `subscribe` request), followed across
    /// reconnects like the spec's own.
    joined: Vec<String>,
    /// The last seq seen per room; empty until the first snapshot.
    since: HashMap<String, u64>,
    queue: VecDeque<Request>,
    events: mpsc::UnboundedSender<LinkEvent>,
}

impl State {
    fn tell(&self, event: LinkEvent) -> bool {
        self.events.send(event).is_ok()
    }
}

async fn run(
    spec: LinkSpec,
    mut requests: mpsc::UnboundedReceiver<Request>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    let mut state = State {
        spec,
        joined: Vec::new(),
        since: HashMap::new(),
        queue: VecDeque::new(),
        events,
    };
    let mut backoff = Backoff::default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !state.tell(LinkEvent::Connecting { attempt }) {
            return;
        }
        let reason = match connect(&mut state).await {
            Ok((client, events)) => {
                backoff.reset();
                attempt = 0;
                serve(&mut state, client, events, &mut requests).await
            }
            Err(e) => {
                if matches!(
                    e.code(),
                    Some(ErrorCode::Unauthorized | ErrorCode::Forbidden)
                ) {
                    state.tell(LinkEvent::Refused(e.to_string()));
                    // Nothing will change until a person acts; do not hammer the server.
                    for _ in 0..4 {
                        backoff.next_delay();
                    }
                }
                e.to_string()
            }
        };
        let delay = backoff.next_delay();
        if !state.tell(LinkEvent::Offline {
            retry_in: delay,
            reason,
        }) {
            return;
        }
        // Keep taking requests while waiting, so they are queued in order.
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                req = requests.recv() => match req {
                    Some(req) if is_transient(&req.msg) => {}
                    Some(req) => state.queue.push_back(req),
                    None => return,
                },
            }
        }
    }
}

/// Connects, loads the snapshot if needed, and subscribes every room.
async fn connect(state: &mut State) -> Result<(Client, Events), ClientError> {
    let spec = &state.spec;
    let (client, events) = Client::connect(&spec.url, &spec.token, &spec.client).await?;
    if spec.rooms.iter().any(|r| !state.since.contains_key(r)) {
        snapshot(state, &client).await?;
    }
    let rooms: Vec<String> = state
        .spec
        .rooms
        .iter()
        .chain(&state.joined)
        .cloned()
        .collect();
    let mut i = 0;
    while i < rooms.len() {
        let room = rooms[i].clone();
        let since = state.since.get(&room).copied();
        match client.subscribe(&room, since).await {
            Ok(_) => i += 1,
            Err(e) if e.code() == Some(ErrorCode::ResyncRequired) => {
                // Too far behind (or a different server): reload and start over.
                for r in &rooms {
                    let _ = client.unsubscribe(r).await;
                }
                snapshot(state, &client).await?;
                i = 0;
            }
            // A room joined at run time may be closed to us by now (an order handed
            // back): stop following it rather than fail the whole display.
            Err(e)
                if state.joined.contains(&room)
                    && matches!(e.code(), Some(ErrorCode::Forbidden | ErrorCode::NotFound)) =>
            {
                state.joined.retain(|r| *r != room);
                state.since.remove(&room);
                i += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((client, events))
}

async fn snapshot(state: &mut State, client: &Client) -> Result<(), ClientError> {
    let spec = &state.spec;
    let statuses = (!spec.statuses.is_empty()).then(|| spec.statuses.clone());
    let (orders, head) = client
        .list_orders(spec.restaurant.clone(), statuses, Some(1000))
        .await?;
    state.since = spec
        .rooms
        .iter()
        .chain(&state.joined)
        .map(|r| (r.clone(), head))
        .collect();
    state.tell(LinkEvent::Snapshot { orders, head });
    Ok(())
}

/// Keeps track of rooms the display joins and leaves with its own requests.
fn follow_rooms(state: &mut State, msg: &ClientMsg, reply: &ServerMsg) {
    match (msg, reply) {
        (ClientMsg::Subscribe { room, .. }, ServerMsg::Subscribed { head, .. }) => {
            if !state.spec.rooms.contains(room) && !state.joined.contains(room) {
                state.joined.push(room.clone());
            }
            state.since.entry(room.clone()).or_insert(*head);
        }
        (ClientMsg::Unsubscribe { room }, _) if !state.spec.rooms.contains(room) => {
            state.joined.retain(|r| r != room);
            state.since.remove(room);
        }
        _ => {}
    }
}

/// Messages with no reply that only matter now (typing): sent at once, never queued.
fn is_transient(msg: &ClientMsg) -> bool {
    matches!(msg, ClientMsg::Typing { .. })
}

type InFlight = BoxFuture<'static, (Request, Result<ServerMsg, ClientError>)>;

/// Forwards events and sends requests one at a time, in order, until the connection
/// drops; returns why it dropped.
async fn serve(
    state: &mut State,
    client: Client,
    mut events: Events,
    requests: &mut mpsc::UnboundedReceiver<Request>,
) -> String {
    if !state.tell(LinkEvent::Online(client.welcome().clone())) {
        return "the display closed".into();
    }
    let mut in_flight: Option<InFlight> = None;
    loop {
        while let Some(req) = state.queue.front().filter(|r| is_transient(&r.msg)) {
            // No reply to wait for, and no point in sending it late.
            let _ = client.send(req.msg.clone());
            state.queue.pop_front();
        }
        if in_flight.is_none()
            && let Some(req) = state.queue.pop_front()
        {
            let c = client.clone();
            in_flight = Some(
                async move {
                    let result = c.request(req.msg.clone()).await;
                    (req, result)
                }
                .boxed(),
            );
        }
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    if let Some(seq) = event.seq {
                        state.since.insert(event.room.clone(), seq);
                    }
                    if !state.tell(LinkEvent::Event(event)) {
                        return "the display closed".into();
                    }
                }
                None => break,
            },
            req = requests.recv() => match req {
                Some(req) => state.queue.push_back(req),
                None => return "the display closed".into(),
            },
            (req, result) = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                in_flight = None;
                match result {
                    Err(ClientError::Disconnected(_)) => {
                        // Unknown whether it was applied: send it again after reconnecting.
                        state.queue.push_front(req);
                        break;
                    }
                    result => {
                        if let Ok(reply) = &result {
                            follow_rooms(state, &req.msg, reply);
                        }
                        let result = result.map_err(|e| (e.code().unwrap_or(ErrorCode::Internal), e.to_string()));
                        state.tell(LinkEvent::Reply { id: req.id, result });
                    }
                }
            }
        }
    }
    if let Some(fut) = in_flight.take() {
        // The connection is gone; whatever was in flight goes back to the queue.
        let (req, _) = fut.await;
        state.queue.push_front(req);
    }
    client
        .close_reason()
        .unwrap_or_else(|| "connection lost".into())
}
