//! The machine as tables: each row an input and the actions it must lead to, written
//! short (`connect 1`, `sleep 500ms`, `subscribe restaurant:r1 from 11`). Delays are
//! read without jitter.

mod epoch;
mod rooms;

use super::*;
use crate::follower::Snapshot;
use chit_protocol::Role;

const A: &str = "ws://a:7787";
const B: &str = "ws://b:7787";

fn welcome() -> Welcome {
    Welcome {
        session: 1,
        role: Role::Kitchen,
        server: "chit-server".into(),
        protocol: 1,
        heartbeat: 30,
        name: "kitchen r1".into(),
        restaurant: Some("r1".into()),
        rider: None,
        customer: None,
        epoch: None,
    }
}

fn spec(rooms: &[(&str, Option<u64>)], snapshot: bool, policy: Policy) -> Spec {
    Spec {
        rooms: rooms.iter().map(|(r, s)| (r.to_string(), *s)).collect(),
        snapshot: snapshot.then(Snapshot::default),
        policy,
    }
}

fn machine(urls: &[&str], spec: &Spec) -> Machine {
    Machine::new(
        urls.iter().map(|u| u.to_string()).collect(),
        spec,
        Backoff::without_jitter(),
    )
}

fn short(action: &Action) -> String {
    match action {
        Action::Connect(i) => format!("connect {i}"),
        Action::Sleep(d) => format!("sleep {}ms", d.as_millis()),
        Action::Load { leave } if leave.is_empty() => "load".into(),
        Action::Load { leave } => format!("load leaving {}", leave.join(",")),
        Action::Subscribe { room, since, epoch } => match (since, epoch) {
            (Some(s), Some(e)) => format!("subscribe {room} from {s} of epoch {e}"),
            (Some(s), None) => format!("subscribe {room} from {s}"),
            (None, None) => format!("subscribe {room} from head"),
            (None, Some(e)) => format!("subscribe {room} from head of epoch {e}?"),
        },
        Action::Send(req) => format!("send #{}", req.id),
        Action::SendNow(_) => "send now".into(),
        Action::Tell(update) => match update {
            Update::State(LinkState::Connecting { url, attempt, .. }) => {
                format!("connecting {url} attempt {attempt}")
            }
            Update::State(LinkState::Online { url, .. }) => format!("online {url}"),
            Update::State(LinkState::Reconnecting { retry_in, reason }) => {
                let why = match reason {
                    Down::Failed(_) => "failed",
                    Down::Lost { .. } => "lost",
                    Down::Refused(_) => "refused",
                };
                format!("reconnecting in {}ms: {why}", retry_in.as_millis())
            }
            Update::State(LinkState::Refused { url, .. }) => format!("refused {url}"),
            Update::Snapshot { head, .. } => format!("snapshot at {head}"),
            Update::Reply { id, result } => match result {
                Ok(_) => format!("reply #{id} ok"),
                Err(e) => format!("reply #{id} {}", e.code),
            },
            Update::Resumed { room, from, missed } => {
                let missed = if *missed { " missed" } else { "" };
                format!("resumed {room} from {from}{missed}")
            }
            Update::Stopped(Stop::Refused(_)) => "stopped: refused".into(),
            Update::Stopped(Stop::Unavailable(u)) => format!("stopped: unavailable {}", u.0.len()),
            Update::Event(_) => "event".into(),
        },
    }
}

/// Feeds each input and checks the actions it leads to.
fn run(m: &mut Machine, table: &[(Input, &[&str])]) {
    for (i, (input, expected)) in table.iter().enumerate() {
        let got: Vec<String> = m.step(input.clone()).iter().map(short).collect();
        assert_eq!(got, *expected, "row {i}: {input:?}");
    }
}

fn unreachable(url: &str) -> Input {
    Input::ConnectFailed(ConnectError::Unreachable {
        url: url.into(),
        reason: "connection refused".into(),
    })
}

fn refused_token(url: &str) -> Input {
    Input::ConnectFailed(ConnectError::Refused {
        url: url.into(),
        code: ErrorCode::Unauthorized,
        message: "unknown or revoked token".into(),
    })
}

fn server_error(code: ErrorCode) -> ServerError {
    ServerError {
        code,
        message: "no".into(),
    }
}

fn req(id: u64) -> Input {
    Input::Request(Request {
        id,
        msg: ClientMsg::Ping,
    })
}

fn kitchen() -> Spec {
    spec(
        &[("restaurant:r1", None), ("chat:r1", None)],
        true,
        Policy::DISPLAY,
    )
}

/// A kitchen machine brought online at head 10.
fn online_kitchen(urls: &[&str]) -> Machine {
    let mut m = machine(urls, &kitchen());
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (Input::Connected(welcome()), &["load"]),
            (
                Input::Loaded {
                    orders: Vec::new(),
                    head: 10,
                },
                &["snapshot at 10", "subscribe restaurant:r1 from 10"],
            ),
            (
                Input::Subscribed {
                    head: 10,
                    epoch: None,
                },
                &["resumed restaurant:r1 from 10", "subscribe chat:r1 from 10"],
            ),
            (
                Input::Subscribed {
                    head: 12,
                    epoch: None,
                },
                &["resumed chat:r1 from 10", "online ws://a:7787"],
            ),
        ],
    );
    assert!(m.is_online());
    m
}

#[test]
fn loads_then_subscribes_every_room_from_the_snapshot_head() {
    online_kitchen(&[A]);
}

#[test]
fn fails_over_at_once_and_backs_off_after_each_round() {
    let mut m = machine(&[A, B], &spec(&[("riders", None)], false, Policy::DISPLAY));
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                unreachable(A),
                &["connecting ws://b:7787 attempt 2", "connect 1"],
            ),
            (
                unreachable(B),
                &["reconnecting in 500ms: failed", "sleep 500ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 3", "connect 0"],
            ),
            (
                unreachable(A),
                &["connecting ws://b:7787 attempt 4", "connect 1"],
            ),
            (
                unreachable(B),
                &["reconnecting in 1000ms: failed", "sleep 1000ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 5", "connect 0"],
            ),
            (
                unreachable(A),
                &["connecting ws://b:7787 attempt 6", "connect 1"],
            ),
            (Input::Connected(welcome()), &["subscribe riders from head"]),
            (
                Input::Subscribed {
                    head: 7,
                    epoch: None,
                },
                &["resumed riders from 7", "online ws://b:7787"],
            ),
            // Losing B goes straight to A (B counts as tried), and waits once A fails.
            (
                Input::Lost(None),
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                unreachable(A),
                &["reconnecting in 500ms: failed", "sleep 500ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://b:7787 attempt 2", "connect 1"],
            ),
        ],
    );
}

#[test]
fn the_wait_doubles_up_to_thirty_seconds() {
    let mut m = machine(&[A], &spec(&[], false, Policy::DISPLAY));
    m.step(Input::Start);
    let mut waits = Vec::new();
    for _ in 0..9 {
        let actions = m.step(unreachable(A));
        let Some(Action::Sleep(d)) = actions.last() else {
            panic!("{actions:?}");
        };
        waits.push(d.as_millis());
        m.step(Input::Woke);
    }
    assert_eq!(
        waits,
        [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
}

#[test]
fn a_display_shows_a_refusal_and_retries_slowly() {
    let mut m = machine(&[A], &spec(&[("riders", None)], false, Policy::DISPLAY));
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                refused_token(A),
                &[
                    "refused ws://a:7787",
                    "reconnecting in 8000ms: refused",
                    "sleep 8000ms",
                ],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 2", "connect 0"],
            ),
            (Input::Connected(welcome()), &["subscribe riders from head"]),
            (
                Input::SubscribeFailed(server_error(ErrorCode::Forbidden)),
                &[
                    "refused ws://a:7787",
                    "reconnecting in 30000ms: refused",
                    "sleep 30000ms",
                ],
            ),
        ],
    );
}

#[test]
fn a_command_gives_up_when_nothing_answers_at_first_or_a_person_must_act() {
    let cmd = spec(&[("restaurant:r1", None)], false, Policy::COMMAND);
    let mut m = machine(&[A, B], &cmd);
    let bad_cert = Input::ConnectFailed(ConnectError::Tls {
        url: B.into(),
        problem: crate::TlsProblem::UnknownIssuer,
    });
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                unreachable(A),
                &["connecting ws://b:7787 attempt 2", "connect 1"],
            ),
            (bad_cert, &["stopped: unavailable 2"]),
            (Input::Woke, &[]),
        ],
    );
    let mut m = machine(&[A, B], &cmd);
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                Input::Connected(welcome()),
                &["subscribe restaurant:r1 from head"],
            ),
            (
                Input::SubscribeFailed(server_error(ErrorCode::Forbidden)),
                &["refused ws://a:7787", "stopped: refused"],
            ),
        ],
    );
    // Once it has been online, a command follows through outages like a display ...
    let mut m = machine(&[A], &cmd);
    m.step(Input::Start);
    m.step(Input::Connected(welcome()));
    m.step(Input::Subscribed {
        head: 3,
        epoch: None,
    });
    run(
        &mut m,
        &[
            (
                Input::Lost(None),
                &["reconnecting in 500ms: lost", "sleep 500ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                unreachable(A),
                &["reconnecting in 1000ms: failed", "sleep 1000ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 2", "connect 0"],
            ),
            // ... but stops when its token is revoked.
            (
                refused_token(A),
                &["refused ws://a:7787", "stopped: refused"],
            ),
        ],
    );
}

#[test]
fn a_passing_server_error_is_a_drop_not_a_refusal() {
    let mut m = machine(&[A], &kitchen());
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (Input::Connected(welcome()), &["load"]),
            (
                Input::LoadFailed(server_error(ErrorCode::Internal)),
                &["reconnecting in 500ms: lost", "sleep 500ms"],
            ),
        ],
    );
}

#[test]
fn a_display_stops_only_when_no_certificate_checks_out_at_the_start() {
    let untrusted = |url: &str| {
        Input::ConnectFailed(ConnectError::Tls {
            url: url.into(),
            problem: crate::TlsProblem::UnknownIssuer,
        })
    };
    let display = spec(&[("riders", None)], false, Policy::DISPLAY);
    let mut m = machine(&[A], &display);
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                untrusted(A),
                &["refused ws://a:7787", "stopped: unavailable 1"],
            ),
        ],
    );
    // One server down and one untrusted: the first may come back, so it keeps trying.
    let mut m = machine(&[A, B], &display);
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                unreachable(A),
                &["connecting ws://b:7787 attempt 2", "connect 1"],
            ),
            (
                untrusted(B),
                &[
                    "refused ws://b:7787",
                    "reconnecting in 8000ms: refused",
                    "sleep 8000ms",
                ],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 3", "connect 0"],
            ),
        ],
    );
}
