//! `chit watch ROOM…`: events as JSON Lines, and [`Follow`], the reconnecting,
//! resuming subscriber that `chit order watch` shares.

use std::time::Duration;

use chit_protocol::client::Events;
use chit_protocol::{Backoff, Client, ErrorCode, Event};
use clap::Args;

use crate::connect::connect;
use crate::output::json;
use crate::{Failure, Global, Outcome};

#[derive(Args)]
pub struct WatchArgs {
    /// Rooms: restaurant:ID, order:ID, customer:ID, riders, rider:NAME, chat:NAME
    #[arg(required = true)]
    rooms: Vec<String>,
    /// Replay stored events after this seq first.
    #[arg(long)]
    since: Option<u64>,
    /// Exit after this many events.
    #[arg(long)]
    count: Option<u64>,
}

pub async fn run(global: &Global, args: WatchArgs) -> Outcome {
    for room in &args.rooms {
        chit_protocol::Room::parse(room).map_err(Failure::usage)?;
    }
    let rooms = args.rooms.into_iter().map(|r| (r, args.since)).collect();
    let mut follow = Follow::new(rooms);
    let mut seen = 0;
    while args.count.is_none_or(|n| seen < n) {
        let event = follow.next(global).await?;
        json(&event);
        seen += 1;
    }
    Ok(())
}

/// Follows rooms across disconnects: reconnects forever with backoff and jitter, and
/// resubscribes each room from the last seq it delivered, so nothing is missed or
/// repeated.
pub struct Follow {
    rooms: Vec<(String, Option<u64>)>,
    conn: Option<(Client, Events)>,
    backoff: Backoff,
    connected_once: bool,
}

impl Follow {
    pub fn new(rooms: Vec<(String, Option<u64>)>) -> Follow {
        Follow {
            rooms,
            conn: None,
            backoff: Backoff::default(),
            connected_once: false,
        }
    }

    pub async fn next(&mut self, global: &Global) -> Result<Event, Failure> {
        loop {
            if self.conn.is_none() {
                self.connect(global).await?;
            }
            let (client, events) = self.conn.as_mut().expect("connected above");
            match events.recv().await {
                Some(event) => {
                    if let (Some(seq), Some(entry)) = (
                        event.seq,
                        self.rooms.iter_mut().find(|(r, _)| *r == event.room),
                    ) {
                        entry.1 = Some(seq);
                    }
                    return Ok(event);
                }
                None => {
                    let why = client.close_reason().unwrap_or_else(|| "closed".into());
                    eprintln!("chit: connection lost ({why}); reconnecting");
                    self.conn = None;
                }
            }
        }
    }

    async fn connect(&mut self, global: &Global) -> Result<(), Failure> {
        loop {
            match self.try_connect(global).await {
                Ok(conn) => {
                    if self.connected_once {
                        eprintln!("chit: reconnected");
                    }
                    self.connected_once = true;
                    self.backoff.reset();
                    self.conn = Some(conn);
                    return Ok(());
                }
                Err(failure)
                    if failure.code == 3
                        && self.connected_once
                        && !failure.message.contains("unauthorized") =>
                {
                    let delay = self.backoff.next_delay();
                    eprintln!(
                        "chit: {}; retrying in {:.1} s",
                        failure.message,
                        delay.as_secs_f64()
                    );
                    tokio::time::sleep(delay.max(Duration::from_millis(100))).await;
                }
                Err(failure) => return Err(failure),
            }
        }
    }

    async fn try_connect(&mut self, global: &Global) -> Result<(Client, Events), Failure> {
        let (client, events) = connect(global).await?;
        for (room, since) in &mut self.rooms {
            let head = match client.subscribe(room, *since).await {
                Ok(head) => head,
                Err(e) if e.code() == Some(ErrorCode::ResyncRequired) => {
                    eprintln!("chit: {room}: {e}; going on from the newest event");
                    client.subscribe(room, None).await?
                }
                Err(e) => return Err(e.into()),
            };
            let from = *since.get_or_insert(head);
            eprintln!("chit: watching {room} from seq {from}");
        }
        Ok((client, events))
    }
}
