//! `chit watch ROOM…`: events as JSON Lines, and [`Watch`], the follower that `chit
//! order watch` shares, with what the link does said on stderr.

use chit_client::{Follower, LinkState, Policy, Refusal, Spec, Stop, Update};
use chit_protocol::Event;
use clap::Args;
use tokio::sync::mpsc;

use crate::connect::connector;
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
    let mut watch = Watch::start(global, rooms)?;
    let mut seen = 0;
    while args.count.is_none_or(|n| seen < n) {
        let event = watch.next().await?;
        json(&event);
        seen += 1;
    }
    Ok(())
}

/// Rooms followed across disconnects and failovers: each resumes from the last seq
/// delivered, so nothing is missed or repeated. Says on stderr where it is.
pub struct Watch {
    _follower: Follower,
    updates: mpsc::UnboundedReceiver<Update>,
    /// Down since it was last online (so "back" is said once).
    down: bool,
    was_online: bool,
}

impl Watch {
    pub fn start(global: &Global, rooms: Vec<(String, Option<u64>)>) -> Result<Watch, Failure> {
        let spec = Spec {
            rooms,
            snapshot: None,
            policy: Policy::COMMAND,
        };
        let (follower, updates) = Follower::spawn(connector(global)?, spec);
        Ok(Watch {
            _follower: follower,
            updates,
            down: false,
            was_online: false,
        })
    }

    /// The next event; an error once the follower has given up.
    pub async fn next(&mut self) -> Result<Event, Failure> {
        loop {
            let Some(update) = self.updates.recv().await else {
                return Err(Failure::refused("the connection task stopped"));
            };
            match update {
                Update::Event(event) => return Ok(event),
                Update::Resumed { room, from, missed } => {
                    if missed {
                        eprintln!(
                            "chit: {room}: the server no longer has every event since the last one printed; going on from the newest event"
                        );
                    }
                    eprintln!("chit: watching {room} from seq {from}");
                }
                Update::State(state) => self.say(&state),
                Update::Stopped(stop) => return Err(stopped(stop)),
                Update::Snapshot { .. } | Update::Reply { .. } => {}
            }
        }
    }

    fn say(&mut self, state: &LinkState) {
        match state {
            LinkState::Online { url, servers, .. } => {
                let back = std::mem::take(&mut self.down) && self.was_online;
                self.was_online = true;
                if back {
                    eprintln!("chit: reconnected to {url}");
                } else if *servers > 1 {
                    eprintln!("chit: connected to {url}");
                }
            }
            LinkState::Reconnecting { retry_in, reason } => {
                self.down = true;
                eprintln!(
                    "chit: {reason}; reconnecting in {:.1} s",
                    retry_in.as_secs_f64()
                );
            }
            LinkState::Connecting {
                url,
                after: Some(down),
                ..
            } => {
                self.down = true;
                eprintln!("chit: {down}; trying {url}");
            }
            LinkState::Connecting { .. } | LinkState::Refused { .. } => {}
        }
    }
}

/// Why the follower gave up, as the command's failure: a refused room or request is
/// the server refusing (1), a token or certificate or no server at all is 3.
pub fn stopped(stop: Stop) -> Failure {
    match &stop {
        Stop::Refused(r @ Refusal::Server { code, .. })
            if *code != chit_protocol::ErrorCode::Unauthorized =>
        {
            Failure::refused(r.to_string())
        }
        _ => Failure::unreachable(stop.to_string()),
    }
}
