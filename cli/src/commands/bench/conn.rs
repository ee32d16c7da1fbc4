//! A lean connection for load: one task owns one WebSocket, writes frames it builds
//! itself and reads only the fields it needs, so the load generator spends little of
//! the CPU it shares with the server. It connects through `chit-client` (the server
//! list, TLS, the token) like every client; the full client lives there too.

use std::borrow::Cow;
use std::time::Duration;

use chit_client::Connector;
use chit_client::transport::{Socket, Timing};
use chit_protocol::{ClientFrame, ClientMsg, ServerFrame, ServerMsg, Stats};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The parts of a server frame the load generator looks at.
#[derive(Deserialize)]
pub struct Incoming<'a> {
    pub id: Option<u64>,
    #[serde(rename = "type", borrow)]
    pub frame: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub data: Option<OrderRef<'a>>,
}

/// An order as carried by an event or a reply: its id and its customer's name, which
/// the load generator uses to number its orders.
#[derive(Deserialize)]
pub struct OrderRef<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub customer: Option<CustomerRef<'a>>,
}

#[derive(Deserialize)]
pub struct CustomerRef<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

impl Incoming<'_> {
    /// The number `n` of an order whose customer is named `{prefix}{n}`.
    pub fn order_number(&self, prefix: char) -> Option<usize> {
        let name = &self.data.as_ref()?.customer.as_ref()?.name;
        name.strip_prefix(prefix)?.parse().ok()
    }

    pub fn is_event(&self, kind: &str) -> bool {
        self.frame == "event" && self.kind.as_deref() == Some(kind)
    }
}

pub struct Conn {
    ws: Socket,
    /// How long TCP, TLS (for wss://) and the WebSocket handshake took.
    pub timing: Timing,
}

/// Why a connection could not be used.
#[derive(Debug)]
pub struct ConnError(pub String);

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Conn {
    /// Connects to the first server of `target` and says hello; `read_buffer` is
    /// tungstenite's buffer per connection (small for thousands of idle connections,
    /// larger for busy ones).
    pub async fn open(target: &Connector, read_buffer: usize) -> Result<Conn, ConnError> {
        Conn::open_to(target, 0, read_buffer).await
    }

    /// Connects to the `i`-th server of `target` (round robin past the end of its list)
    /// and says hello.
    pub async fn open_to(
        target: &Connector,
        i: usize,
        read_buffer: usize,
    ) -> Result<Conn, ConnError> {
        let config = WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(64 * 1024)
            .max_frame_size(Some(16 << 20));
        let (ws, timing) = target
            .socket(i, config)
            .await
            .map_err(|e| ConnError(e.to_string()))?;
        let mut conn = Conn { ws, timing };
        let hello = ClientMsg::Hello {
            token: target.token().to_string(),
            client: Some("chit-bench".into()),
            protocol: chit_protocol::PROTOCOL_VERSION,
        };
        match conn.call(hello).await? {
            ServerMsg::Welcome(_) => Ok(conn),
            ServerMsg::Error { code, message } => Err(ConnError(format!(
                "the server refused hello: {message} ({code})"
            ))),
            other => Err(ConnError(format!("unexpected reply to hello: {other:?}"))),
        }
    }

    /// Sends one request and waits (10 s at most) for its reply, skipping events.
    pub async fn call(&mut self, msg: ClientMsg) -> Result<ServerMsg, ConnError> {
        let id = u64::MAX;
        self.send(&ClientFrame {
            id: Some(id.into()),
            msg,
        })
        .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = tokio::time::timeout_at(deadline, self.recv())
                .await
                .map_err(|_| ConnError("no reply within 10 s".into()))??;
            let frame: ServerFrame = serde_json::from_str(text.as_str())
                .map_err(|e| ConnError(format!("unreadable reply: {e}")))?;
            if frame.id.as_ref().and_then(|v| v.as_u64()) == Some(id) {
                return Ok(frame.msg);
            }
        }
    }

    /// The server's figures (admin tokens get the `server` part).
    pub async fn stats(&mut self) -> Result<Stats, ConnError> {
        match self.call(ClientMsg::Stats { restaurant: None }).await? {
            ServerMsg::Stats(stats) => Ok(stats),
            ServerMsg::Error { code, message } => {
                Err(ConnError(format!("stats refused: {message} ({code})")))
            }
            other => Err(ConnError(format!("unexpected reply to stats: {other:?}"))),
        }
    }

    pub async fn subscribe(&mut self, room: &str) -> Result<(), ConnError> {
        let msg = ClientMsg::Subscribe {
            room: room.to_string(),
            since: None,
            epoch: None,
        };
        match self.call(msg).await? {
            ServerMsg::Subscribed { .. } => Ok(()),
            ServerMsg::Error { code, message } => Err(ConnError(format!(
                "subscribing to '{room}' refused: {message} ({code})"
            ))),
            other => Err(ConnError(format!(
                "unexpected reply to subscribe: {other:?}"
            ))),
        }
    }

    async fn send(&mut self, frame: &ClientFrame) -> Result<(), ConnError> {
        self.feed(frame).await?;
        self.flush().await
    }

    /// Queues a frame without flushing; [`flush`](Conn::flush) writes what is queued.
    pub async fn feed(&mut self, frame: &ClientFrame) -> Result<(), ConnError> {
        let text = serde_json::to_string(frame).expect("serializable");
        self.ws
            .feed(Message::text(text))
            .await
            .map_err(|e| ConnError(format!("sending failed: {e}")))
    }

    pub async fn flush(&mut self) -> Result<(), ConnError> {
        self.ws
            .flush()
            .await
            .map_err(|e| ConnError(format!("sending failed: {e}")))
    }

    /// The next text frame from the server.
    pub async fn recv(&mut self) -> Result<Utf8Bytes, ConnError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    return Err(ConnError(format!("the server closed the connection {why}")));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(ConnError(format!("connection lost: {e}"))),
                None => return Err(ConnError("connection lost".into())),
            }
        }
    }

    /// A text frame that has already arrived, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<Result<Utf8Bytes, ConnError>> {
        self.recv().now_or_never()
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}
