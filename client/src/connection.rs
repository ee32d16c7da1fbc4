//! One connection to one server: `hello`, requests matched to replies by `id`, and the
//! stream of events. Staying connected across drops is the [`follower`](crate::follower)'s
//! job; a [`Client`] is one connection and ends with it.

use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use chit_protocol::{
    ChatMessage, ClientFrame, ClientMsg, Event, Member, NewOrder, Order, ServerFrame, ServerMsg,
    Stats, Status, Welcome,
};

use crate::error::{ClientError, ConnectError};
use crate::servers::Endpoint;
use crate::tls::Trust;
use crate::transport::{self, Socket};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<ServerMsg>>>>;

/// One connection to a chit server. Cheap to clone; requests may run concurrently.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    close_reason: Arc<Mutex<Option<String>>>,
    welcome: Welcome,
}

/// What a `subscribe` answered: the room's newest seq, and the epoch of the log it is
/// a seq of (none from a server before epochs). Resume later with both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    pub head: u64,
    pub epoch: Option<u64>,
}

/// The events the server pushes on a connection, in the order it sent them. `recv`
/// returns `None` once the connection is gone.
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Client {
    /// Connects to `url`, says `hello` with `token`, and returns the client and its event
    /// stream. `wss://` trusts the system's roots; [`Connector`](crate::Connector) adds
    /// a `--ca-file` and a list of servers.
    pub async fn connect(
        url: &str,
        token: &str,
        client_name: &str,
    ) -> Result<(Client, Events), ConnectError> {
        static SYSTEM: std::sync::OnceLock<Trust> = std::sync::OnceLock::new();
        let endpoint = Endpoint::parse(url)?;
        let trust = SYSTEM.get_or_init(Trust::default);
        Client::connect_to(&endpoint, trust, token, client_name).await
    }

    /// Connects to `endpoint` trusting `trust`, and says `hello`.
    pub async fn connect_to(
        endpoint: &Endpoint,
        trust: &Trust,
        token: &str,
        client_name: &str,
    ) -> Result<(Client, Events), ConnectError> {
        let config = WebSocketConfig::default().max_frame_size(Some(16 << 20));
        let (ws, timing) = transport::open(endpoint, trust, config).await?;
        tracing::debug!("connected to {endpoint}: {timing:?}");
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        let close_reason = Arc::new(Mutex::new(None));
        tokio::spawn(drive(
            ws,
            out_rx,
            event_tx,
            pending.clone(),
            close_reason.clone(),
        ));

        let hello = ClientMsg::Hello {
            token: token.to_string(),
            client: Some(client_name.to_string()),
            protocol: chit_protocol::PROTOCOL_VERSION,
        };
        let first = RawClient {
            out: &out_tx,
            pending: &pending,
            close_reason: &close_reason,
        };
        let welcome = match first.request(0, hello).await {
            Ok(ServerMsg::Welcome(w)) => w,
            Ok(other) => {
                return Err(ConnectError::NotChit {
                    url: endpoint.url.clone(),
                    reason: format!("it answered hello with {}", describe(&other)),
                });
            }
            Err(ClientError::Server { code, message }) => {
                return Err(ConnectError::Refused {
                    url: endpoint.url.clone(),
                    code,
                    message,
                });
            }
            Err(e) => {
                return Err(ConnectError::Unreachable {
                    url: endpoint.url.clone(),
                    reason: format!("{e} before answering hello"),
                });
            }
        };
        let client = Client {
            inner: Arc::new(Inner {
                out: out_tx,
                pending,
                next_id: AtomicU64::new(1),
                close_reason,
                welcome,
            }),
        };
        Ok((client, Events { rx: event_rx }))
    }

    pub fn welcome(&self) -> &Welcome {
        &self.inner.welcome
    }

    /// Whether the connection is still up.
    pub fn is_open(&self) -> bool {
        !self.inner.out.is_closed()
    }

    /// Sends a request and waits for its reply; an `error` reply becomes `Err`.
    pub async fn request(&self, msg: ClientMsg) -> Result<ServerMsg, ClientError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        RawClient {
            out: &self.inner.out,
            pending: &self.inner.pending,
            close_reason: &self.inner.close_reason,
        }
        .request(id, msg)
        .await
    }

    /// Sends a message that has no reply (`typing`).
    pub fn send(&self, msg: ClientMsg) -> Result<(), ClientError> {
        let text = serde_json::to_string(&ClientFrame { id: None, msg }).expect("serializable");
        self.inner
            .out
            .send(text)
            .map_err(|_| ClientError::Disconnected(self.close_reason()))
    }

    /// Why the server closed the connection, if it said.
    pub fn close_reason(&self) -> Option<String> {
        self.inner.close_reason.lock().unwrap().clone()
    }

    /// Subscribes to `room`, replaying events after `since`; returns the room's head.
    pub async fn subscribe(&self, room: &str, since: Option<u64>) -> Result<u64, ClientError> {
        Ok(self.resume(room, since, None).await?.head)
    }

    /// Subscribes to `room`, replaying events after `since` if they are of the log
    /// `epoch` names (the epoch `since` was read in, from a `welcome` or a
    /// [`Joined`]); a server whose log is another refuses with `resync_required`.
    pub async fn resume(
        &self,
        room: &str,
        since: Option<u64>,
        epoch: Option<u64>,
    ) -> Result<Joined, ClientError> {
        let msg = ClientMsg::Subscribe {
            room: room.to_string(),
            since,
            epoch,
        };
        match self.request(msg).await? {
            ServerMsg::Subscribed { head, epoch, .. } => Ok(Joined { head, epoch }),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn unsubscribe(&self, room: &str) -> Result<(), ClientError> {
        let msg = ClientMsg::Unsubscribe {
            room: room.to_string(),
        };
        self.request(msg).await.map(drop)
    }

    /// Places an order; returns it and whether the key had been used before.
    pub async fn place_order(
        &self,
        order: NewOrder,
        key: Option<String>,
    ) -> Result<(Order, bool), ClientError> {
        match self.request(ClientMsg::PlaceOrder { order, key }).await? {
            ServerMsg::Order { order, duplicate } => Ok((order, duplicate.unwrap_or(false))),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn update_status(
        &self,
        order_id: i64,
        status: Status,
        reason: Option<String>,
        recall: bool,
    ) -> Result<Order, ClientError> {
        let msg = ClientMsg::UpdateStatus {
            order_id,
            status,
            reason,
            recall,
            force: false,
        };
        self.order_reply(msg).await
    }

    pub async fn get_order(&self, order_id: i64) -> Result<Order, ClientError> {
        self.order_reply(ClientMsg::GetOrder { order_id }).await
    }

    pub async fn claim_order(&self, order_id: i64) -> Result<Order, ClientError> {
        self.order_reply(ClientMsg::ClaimOrder { order_id }).await
    }

    pub async fn release_order(&self, order_id: i64) -> Result<Order, ClientError> {
        self.order_reply(ClientMsg::ReleaseOrder { order_id }).await
    }

    pub async fn assign_order(&self, order_id: i64, rider: &str) -> Result<Order, ClientError> {
        let msg = ClientMsg::AssignOrder {
            order_id,
            rider: rider.to_string(),
        };
        self.order_reply(msg).await
    }

    async fn order_reply(&self, msg: ClientMsg) -> Result<Order, ClientError> {
        match self.request(msg).await? {
            ServerMsg::Order { order, .. } => Ok(order),
            other => Err(unexpected(&other)),
        }
    }

    /// Lists orders, newest first for history and oldest first for open ones (as the
    /// server sorts them), with the event head for a gap-free subscribe.
    pub async fn list_orders(
        &self,
        restaurant: Option<String>,
        status: Option<Vec<Status>>,
        limit: Option<u32>,
    ) -> Result<(Vec<Order>, u64), ClientError> {
        let (orders, head, _) = self
            .list_orders_page(restaurant, status, limit, None)
            .await?;
        Ok((orders, head))
    }

    /// One page of [`list_orders`](Client::list_orders) from `cursor` (none: the newest),
    /// and the cursor of the page of older orders if there is one.
    pub async fn list_orders_page(
        &self,
        restaurant: Option<String>,
        status: Option<Vec<Status>>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<(Vec<Order>, u64, Option<String>), ClientError> {
        let msg = ClientMsg::ListOrders {
            restaurant,
            status,
            limit,
            cursor,
        };
        match self.request(msg).await? {
            ServerMsg::Orders {
                orders,
                head,
                next_cursor,
            } => Ok((orders, head, next_cursor)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn chat_send(&self, room: &str, text: &str) -> Result<ChatMessage, ClientError> {
        let msg = ClientMsg::ChatSend {
            room: room.to_string(),
            text: text.to_string(),
        };
        match self.request(msg).await? {
            ServerMsg::Ok { message: Some(m) } => Ok(m),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<ChatMessage>, ClientError> {
        let msg = ClientMsg::ChatHistory {
            room: room.to_string(),
            before,
            limit,
        };
        match self.request(msg).await? {
            ServerMsg::Messages { messages } => Ok(messages),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn presence(&self, room: &str) -> Result<Vec<Member>, ClientError> {
        let msg = ClientMsg::Presence {
            room: room.to_string(),
        };
        match self.request(msg).await? {
            ServerMsg::Presence { members, .. } => Ok(members),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn stats(&self, restaurant: Option<String>) -> Result<Stats, ClientError> {
        match self.request(ClientMsg::Stats { restaurant }).await? {
            ServerMsg::Stats(stats) => Ok(stats),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn ping(&self) -> Result<(), ClientError> {
        match self.request(ClientMsg::Ping).await? {
            ServerMsg::Pong => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(msg: &ServerMsg) -> ClientError {
    ClientError::Unexpected(describe(msg))
}

fn describe(msg: &ServerMsg) -> String {
    serde_json::to_string(msg).unwrap_or_default()
}

struct RawClient<'a> {
    out: &'a mpsc::UnboundedSender<String>,
    pending: &'a Pending,
    close_reason: &'a Arc<Mutex<Option<String>>>,
}

impl RawClient<'_> {
    async fn request(&self, id: u64, msg: ClientMsg) -> Result<ServerMsg, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let frame = ClientFrame {
            id: Some(id.into()),
            msg,
        };
        let text = serde_json::to_string(&frame).expect("serializable");
        let lost = || ClientError::Disconnected(self.close_reason.lock().unwrap().clone());
        if self.out.send(text).is_err() {
            self.pending.lock().unwrap().remove(&id);
            return Err(lost());
        }
        match rx.await {
            Ok(ServerMsg::Error { code, message }) => Err(ClientError::Server { code, message }),
            Ok(reply) => Ok(reply),
            Err(_) => Err(lost()),
        }
    }
}

/// Owns the socket: writes queued frames, routes replies to their waiters and events
/// to the event stream. When it returns, every waiter and the event stream see the end.
async fn drive(
    mut ws: Socket,
    mut out: mpsc::UnboundedReceiver<String>,
    events: mpsc::UnboundedSender<Event>,
    pending: Pending,
    close_reason: Arc<Mutex<Option<String>>>,
) {
    loop {
        tokio::select! {
            frame = out.recv() => match frame {
                Some(text) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    break;
                }
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => route(text.as_str(), &events, &pending),
                Some(Ok(Message::Close(frame))) => {
                    if let Some(frame) = frame.filter(|f| !f.reason.is_empty()) {
                        *close_reason.lock().unwrap() = Some(frame.reason.to_string());
                    }
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    close_reason.lock().unwrap().get_or_insert_with(|| e.to_string());
                    break;
                }
                None => break,
            },
        }
    }
    out.close();
    pending.lock().unwrap().clear();
}

fn route(text: &str, events: &mpsc::UnboundedSender<Event>, pending: &Pending) {
    let frame: ServerFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!("unreadable frame from server: {e}");
            return;
        }
    };
    match (frame.id.as_ref().and_then(|v| v.as_u64()), frame.msg) {
        (Some(id), msg) => {
            if let Some(waiter) = pending.lock().unwrap().remove(&id) {
                let _ = waiter.send(msg);
            }
        }
        (None, ServerMsg::Event(event)) => {
            let _ = events.send(event);
        }
        (None, ServerMsg::Error { code, message }) => {
            tracing::warn!("server error: {code}: {message}");
        }
        (None, other) => tracing::debug!("unsolicited message: {other:?}"),
    }
}
