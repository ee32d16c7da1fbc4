//! The fan-out between nodes over NATS core subjects: each node publishes the events of
//! its commits on `chit.<instance>.log` (the instance names the database, so clusters
//! of other databases on the same NATS server do not mix) and takes in the others'.
//! Delivery over NATS is at most once; what a message loses, the follower reads from
//! the database, so nothing here retries or waits: a publish that cannot be queued at
//! once is dropped.
//!
//! A message is the log's epoch, then each event as its seq, its room and its frame,
//! lengths first (big-endian). A message from a database of another epoch (restored,
//! rewound) is ignored.

use std::sync::Arc;

use async_nats::connection::State;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::frames::Published;

/// What a message holds at most (NATS refuses over its `max_payload`, 1 MiB by
/// default): a bigger batch goes as several, split between seqs.
const MESSAGE_BYTES: usize = 256 * 1024;
/// Messages waiting to be written to NATS; more are dropped (the others read them).
const OUTGOING: usize = 256;

/// This node's side of the fan-out.
pub(super) struct Peers {
    outgoing: mpsc::Sender<Bytes>,
    client: Arc<async_nats::Client>,
    epoch: u64,
}

impl Peers {
    /// Connects to NATS at `url` (in the background, retrying for as long as it takes:
    /// only an address that is not one fails here) and starts taking in the other
    /// nodes' events into `remote`, until `stop`.
    pub(super) async fn start(
        url: &str,
        instance: u64,
        epoch: u64,
        remote: mpsc::Sender<Vec<Published>>,
        stop: CancellationToken,
    ) -> Result<Peers, async_nats::ConnectError> {
        let subject = format!("chit.{instance}.log");
        let client = async_nats::ConnectOptions::new()
            .name("chit-server")
            .no_echo()
            .retry_on_initial_connect()
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("NATS disconnected: following the database meanwhile")
                    }
                    other => tracing::debug!("NATS: {other}"),
                }
            })
            .connect(url)
            .await?;
        let client = Arc::new(client);
        let (outgoing, queued) = mpsc::channel::<Bytes>(OUTGOING);
        tokio::spawn(publish(
            client.clone(),
            subject.clone(),
            queued,
            stop.clone(),
        ));
        tokio::spawn(take_in(client.clone(), subject, epoch, remote, stop));
        Ok(Peers {
            outgoing,
            client,
            epoch,
        })
    }

    /// Whether NATS is connected now.
    pub(super) fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Queues this node's committed `events` for the other nodes.
    pub(super) fn send(&self, events: &[Published]) {
        for message in encode(self.epoch, events) {
            if self.outgoing.try_send(message).is_err() {
                tracing::debug!("NATS is not keeping up: a batch is left to the database");
            }
        }
    }
}

/// Writes the queued messages to NATS, until `stop`.
async fn publish(
    client: Arc<async_nats::Client>,
    subject: String,
    mut queued: mpsc::Receiver<Bytes>,
    stop: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            m = queued.recv() => m,
            _ = stop.cancelled() => None,
        };
        let Some(message) = message else { return };
        if let Err(e) = client.publish(subject.clone(), message).await {
            tracing::debug!("publishing to NATS failed: {e}");
        }
    }
}

/// Takes in the other nodes' messages (the subscription outlives reconnects), until
/// `stop`.
async fn take_in(
    client: Arc<async_nats::Client>,
    subject: String,
    epoch: u64,
    remote: mpsc::Sender<Vec<Published>>,
    stop: CancellationToken,
) {
    let mut subscription = match client.subscribe(subject).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("subscribing on NATS failed: {e}; following the database only");
            return;
        }
    };
    loop {
        let message = tokio::select! {
            m = subscription.next() => m,
            _ = stop.cancelled() => return,
        };
        let Some(message) = message else { return };
        match decode(message.payload) {
            Some((theirs, events)) if theirs == epoch => {
                if remote.send(events).await.is_err() {
                    return;
                }
            }
            Some(_) => tracing::debug!("a NATS message of another epoch: ignored"),
            None => tracing::warn!("a malformed message on the log's subject: ignored"),
        }
    }
}

/// `events` as messages of at most [`MESSAGE_BYTES`] (or one event, if bigger), split
/// between seqs: a seq's events (each room it went to) travel together.
fn encode(epoch: u64, events: &[Published]) -> Vec<Bytes> {
    let mut messages = Vec::new();
    let mut message = BytesMut::new();
    let mut last = None;
    for event in events {
        let Some(seq) = event.seq else { continue };
        if message.len() >= MESSAGE_BYTES && last != Some(seq) {
            messages.push(std::mem::take(&mut message).freeze());
        }
        if message.is_empty() {
            message.put_u64(epoch);
        }
        let room = event.room.as_bytes();
        let frame = event.frame.as_bytes();
        let (Ok(room_len), Ok(frame_len)) = (u16::try_from(room.len()), u32::try_from(frame.len()))
        else {
            continue;
        };
        message.put_u64(seq);
        message.put_u16(room_len);
        message.put_slice(room);
        message.put_u32(frame_len);
        message.put_slice(frame);
        last = Some(seq);
    }
    if !message.is_empty() {
        messages.push(message.freeze());
    }
    messages
}

/// A message's epoch and events; `None` if it is not one [`encode`] made.
fn decode(mut payload: Bytes) -> Option<(u64, Vec<Published>)> {
    if payload.remaining() < 8 {
        return None;
    }
    let epoch = payload.get_u64();
    let mut events = Vec::new();
    while payload.has_remaining() {
        if payload.remaining() < 10 {
            return None;
        }
        let seq = payload.get_u64();
        let room_len = usize::from(payload.get_u16());
        if payload.remaining() < room_len + 4 {
            return None;
        }
        let room = std::str::from_utf8(&payload.split_to(room_len))
            .ok()?
            .into();
        let frame_len = payload.get_u32() as usize;
        if payload.remaining() < frame_len {
            return None;
        }
        let frame = String::from_utf8(payload.split_to(frame_len).to_vec()).ok()?;
        events.push(Published {
            room,
            seq: Some(seq),
            frame: frame.into(),
        });
    }
    Some((epoch, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(room: &str, seq: u64, size: usize) -> Published {
        Published {
            room: room.into(),
            seq: Some(seq),
            frame: format!("{{\"seq\":{seq},\"pad\":\"{}\"}}", "x".repeat(size)).into(),
        }
    }

    #[test]
    fn a_batch_travels_as_it_was_committed_and_a_big_one_splits_between_seqs() {
        let small = vec![
            event("restaurant:r1", 7, 10),
            event("order:3", 7, 10),
            event("rider:ann", 8, 0),
        ];
        let messages = encode(42, &small);
        assert_eq!(messages.len(), 1);
        let (epoch, events) = decode(messages[0].clone()).unwrap();
        assert_eq!(epoch, 42);
        let got: Vec<_> = events
            .iter()
            .map(|e| (&*e.room, e.seq, e.frame.as_str()))
            .collect();
        let sent: Vec<_> = small
            .iter()
            .map(|e| (&*e.room, e.seq, e.frame.as_str()))
            .collect();
        assert_eq!(got, sent);

        // 40 events of 10 KB each, two rooms per seq: split, never inside a seq.
        let big: Vec<Published> = (1..=20)
            .flat_map(|seq| {
                [
                    event("restaurant:r1", seq, 10_000),
                    event("order:1", seq, 10_000),
                ]
            })
            .collect();
        let messages = encode(1, &big);
        assert!(messages.len() > 1);
        let mut all = Vec::new();
        for m in &messages {
            assert!(m.len() <= MESSAGE_BYTES + 2 * 10_100, "{}", m.len());
            let (_, events) = decode(m.clone()).unwrap();
            assert_eq!(events.len() % 2, 0, "a seq's two rooms travel together");
            all.extend(events);
        }
        assert_eq!(all.len(), big.len());
        assert!(
            all.iter()
                .zip(&big)
                .all(|(a, b)| a.frame == b.frame && a.room == b.room)
        );
    }

    #[test]
    fn a_malformed_message_is_refused_whole() {
        let good = encode(1, &[event("restaurant:r1", 1, 5)]).remove(0);
        for cut in [0, 7, 9, 17, good.len() - 1] {
            assert!(decode(good.slice(..cut)).is_none(), "cut at {cut}");
        }
        assert!(decode(good.slice(..8)).is_some_and(|(_, e)| e.is_empty()));
        let mut bad_utf8 = BytesMut::from(&good[..]);
        let at = 8 + 8 + 2;
        bad_utf8[at] = 0xff;
        assert!(decode(bad_utf8.freeze()).is_none());
    }
}
