//! The connection behind `chit chat join`: connects, subscribes, reads the last
//! messages, then follows the room across disconnects (backoff with jitter, resuming
//! from the last seq it passed on, so nothing is missed or shown twice). Sending runs
//! in its own task, in order, waiting for a connection when there is none.

use std::time::Duration;

use chit_protocol::client::Events;
use chit_protocol::{Backoff, ChatMessage, Client, ClientError, ErrorCode, Event, Member};
use tokio::sync::{mpsc, watch};

use crate::connect::connect;
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
    Sent(Result<ChatMessage, (String, ClientError)>),
    Who(Result<Vec<Member>, ClientError>, u64),
    Page(Result<Vec<ChatMessage>, ClientError>),
}

/// A followed room: the current connection, if any, and where items arrive.
pub struct Link {
    pub room: String,
    /// The name and session this token speaks as (from the first welcome).
    pub me: String,
    client: watch::Receiver<Option<Client>>,
    items: mpsc::UnboundedSender<Item>,
    lines: Option<mpsc::UnboundedSender<String>>,
}

impl Link {
    /// Connects and subscribes (failing as other commands do if that is impossible),
    /// reads the newest `history` messages up to the subscribe, and starts following.
    pub async fn open(
        global: &Global,
        room: &str,
        history: u32,
    ) -> Result<(Link, Vec<ChatMessage>, mpsc::UnboundedReceiver<Item>), Failure> {
        let (client, events, head, _) = subscribe(global, room, None).await?;
        // Up to and including the head: everything after it arrives live.
        let messages = client
            .chat_history(room, Some(head + 1), Some(history))
            .await?;
        let (items_tx, items) = mpsc::unbounded_channel();
        let (current_tx, current) = watch::channel(Some(client.clone()));
        let (lines_tx, lines_rx) = mpsc::unbounded_channel();
        tokio::spawn(follow(
            global.clone(),
            room.to_string(),
            (client.clone(), events),
            head,
            items_tx.clone(),
            current_tx,
        ));
        tokio::spawn(send_in_order(
            room.to_string(),
            lines_rx,
            current.clone(),
            items_tx.clone(),
        ));
        let link = Link {
            room: room.to_string(),
            me: client.welcome().name.clone(),
            client: current,
            items: items_tx,
            lines: Some(lines_tx),
        };
        Ok((link, messages, items))
    }

    /// The connection now, if there is one.
    pub fn client(&self) -> Option<Client> {
        self.client.borrow().clone()
    }

    /// Queues a message; its outcome arrives as [`Item::Sent`].
    pub fn say(&self, text: String) {
        if let Some(lines) = &self.lines {
            let _ = lines.send(text);
        }
    }

    /// No more messages will be queued.
    pub fn close(&mut self) {
        self.lines = None;
    }

    pub fn typing(&self, active: bool) {
        if let Some(client) = self.client() {
            let _ = client.send(chit_protocol::ClientMsg::Typing {
                room: self.room.clone(),
                active,
            });
        }
    }

    /// Asks who is here; the answer arrives as [`Item::Who`]. False if not connected.
    pub fn who(&self) -> bool {
        let Some(client) = self.client() else {
            return false;
        };
        let (room, items) = (self.room.clone(), self.items.clone());
        tokio::spawn(async move {
            let me = client.welcome().session;
            let _ = items.send(Item::Who(client.presence(&room).await, me));
        });
        true
    }

    /// Asks for up to `limit` messages before seq `before`; they arrive as
    /// [`Item::Page`]. False if not connected.
    pub fn page(&self, before: Option<u64>, limit: u32) -> bool {
        let Some(client) = self.client() else {
            return false;
        };
        let (room, items) = (self.room.clone(), self.items.clone());
        tokio::spawn(async move {
            let page = client.chat_history(&room, before, Some(limit)).await;
            let _ = items.send(Item::Page(page));
        });
        true
    }
}

/// Connects and subscribes to `room` from `since`; if the server no longer has that
/// far back, from now on (the `bool` says so).
async fn subscribe(
    global: &Global,
    room: &str,
    since: Option<u64>,
) -> Result<(Client, Events, u64, bool), Failure> {
    let (client, events) = connect(global).await?;
    match client.subscribe(room, since).await {
        Ok(head) => Ok((client, events, head, false)),
        Err(e) if e.code() == Some(ErrorCode::ResyncRequired) => {
            let head = client.subscribe(room, None).await?;
            Ok((client, events, head, true))
        }
        Err(e) => Err(e.into()),
    }
}

async fn follow(
    global: Global,
    room: String,
    first: (Client, Events),
    mut last: u64,
    items: mpsc::UnboundedSender<Item>,
    current: watch::Sender<Option<Client>>,
) {
    let mut conn = Some(first);
    loop {
        let (client, mut events) = match conn.take() {
            Some(conn) => conn,
            None => match reconnect(&global, &room, &mut last).await {
                Ok((client, events, missed)) => {
                    current.send_replace(Some(client.clone()));
                    if items.send(Item::Reconnected { missed }).is_err() {
                        return;
                    }
                    (client, events)
                }
                Err(failure) => {
                    let _ = items.send(Item::Fatal(failure));
                    return;
                }
            },
        };
        while let Some(event) = events.recv().await {
            if let Some(seq) = event.seq {
                if seq <= last {
                    continue;
                }
                last = seq;
            }
            if event.room == room && items.send(Item::Event(event)).is_err() {
                return;
            }
        }
        current.send_replace(None);
        let why = client.close_reason().unwrap_or_else(|| "closed".into());
        if items.send(Item::Lost(why)).is_err() {
            return;
        }
    }
}

/// Tries until connected again, waiting longer after each failure; gives up only on
/// a failure that retrying cannot mend.
async fn reconnect(
    global: &Global,
    room: &str,
    last: &mut u64,
) -> Result<(Client, Events, bool), Failure> {
    let mut backoff = Backoff::default();
    loop {
        match subscribe(global, room, Some(*last)).await {
            Ok((client, events, head, missed)) => {
                if missed {
                    *last = head;
                }
                return Ok((client, events, missed));
            }
            Err(f) if f.code == 3 && !f.message.contains("unauthorized") => {
                let delay = backoff.next_delay();
                tokio::time::sleep(delay.max(Duration::from_millis(100))).await;
            }
            Err(f) => return Err(f),
        }
    }
}

async fn send_in_order(
    room: String,
    mut lines: mpsc::UnboundedReceiver<String>,
    mut current: watch::Receiver<Option<Client>>,
    items: mpsc::UnboundedSender<Item>,
) {
    while let Some(text) = lines.recv().await {
        let Ok(client) = current.wait_for(Option::is_some).await.map(|c| c.clone()) else {
            return;
        };
        let client = client.expect("waited for a connection");
        let sent = client.chat_send(&room, &text).await.map_err(|e| (text, e));
        if items.send(Item::Sent(sent)).is_err() {
            return;
        }
    }
}
