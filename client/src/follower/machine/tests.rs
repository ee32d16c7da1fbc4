//! The machine as tables: each row an input and the actions it must lead to, written
//! short (`connect 1`, `sleep 500ms`, `subscribe restaurant:r1 from 11`). Delays are
//! read without jitter.

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
        Action::Subscribe { room, since } => match since {
            Some(s) => format!("subscribe {room} from {s}"),
            None => format!("subscribe {room} from head"),
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
                Input::Subscribed { head: 10 },
                &["resumed restaurant:r1 from 10", "subscribe chat:r1 from 10"],
            ),
            (
                Input::Subscribed { head: 12 },
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
fn resumes_each_room_from_its_last_seq_and_drops_repeats() {
    let mut m = online_kitchen(&[A]);
    assert!(m.event("restaurant:r1", Some(11)));
    assert!(!m.event("restaurant:r1", Some(11)), "a repeat is dropped");
    assert!(!m.event("restaurant:r1", Some(9)));
    assert!(m.event("restaurant:r1", None), "live-only events pass");
    assert!(m.event("order:5", Some(3)), "rooms not followed pass");
    run(
        &mut m,
        &[
            (
                Input::Lost(Some("going away".into())),
                &["reconnecting in 500ms: lost", "sleep 500ms"],
            ),
            // News from the old connection changes nothing.
            (Input::Lost(None), &[]),
            (Input::Replied(Ok(ServerMsg::Pong)), &[]),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            // No reload: every room knows where it was.
            (
                Input::Connected(welcome()),
                &["subscribe restaurant:r1 from 11"],
            ),
            (
                Input::Subscribed { head: 40 },
                &["resumed restaurant:r1 from 11", "subscribe chat:r1 from 10"],
            ),
            (
                Input::Subscribed { head: 40 },
                &["resumed chat:r1 from 10", "online ws://a:7787"],
            ),
        ],
    );
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
                Input::Subscribed { head: 7 },
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
fn resync_reloads_the_snapshot_leaving_rooms_already_joined() {
    let mut m = online_kitchen(&[A]);
    m.step(Input::Lost(None));
    m.step(Input::Woke);
    run(
        &mut m,
        &[
            (
                Input::Connected(welcome()),
                &["subscribe restaurant:r1 from 10"],
            ),
            (
                Input::Subscribed { head: 90 },
                &["resumed restaurant:r1 from 10", "subscribe chat:r1 from 10"],
            ),
            (
                Input::SubscribeFailed(server_error(ErrorCode::ResyncRequired)),
                &["load leaving restaurant:r1"],
            ),
            (
                Input::Loaded {
                    orders: Vec::new(),
                    head: 90,
                },
                &["snapshot at 90", "subscribe restaurant:r1 from 90"],
            ),
            (
                Input::Subscribed { head: 90 },
                &["resumed restaurant:r1 from 90", "subscribe chat:r1 from 90"],
            ),
            (
                Input::Subscribed { head: 90 },
                &["resumed chat:r1 from 90", "online ws://a:7787"],
            ),
        ],
    );
}

#[test]
fn without_a_snapshot_resync_goes_on_from_the_head_and_says_so() {
    let mut m = machine(
        &[A],
        &spec(&[("restaurant:r1", Some(5))], false, Policy::COMMAND),
    );
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                Input::Connected(welcome()),
                &["subscribe restaurant:r1 from 5"],
            ),
            (
                Input::SubscribeFailed(server_error(ErrorCode::ResyncRequired)),
                &["subscribe restaurant:r1 from head"],
            ),
            (
                Input::Subscribed { head: 90 },
                &["resumed restaurant:r1 from 90 missed", "online ws://a:7787"],
            ),
        ],
    );
}

#[test]
fn requests_wait_in_order_and_go_again_after_a_drop() {
    let mut m = machine(&[A], &spec(&[], false, Policy::DISPLAY));
    let typing = Input::Request(Request {
        id: 9,
        msg: ClientMsg::Typing {
            room: "chat:r1".into(),
            active: true,
        },
    });
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (req(1), &[]),
            (req(2), &[]),
            // Typing while offline is pointless later: dropped.
            (typing.clone(), &[]),
            (
                Input::Connected(welcome()),
                &["online ws://a:7787", "send #1"],
            ),
            (req(3), &[]),
            (typing, &["send now"]),
            (
                Input::Replied(Ok(ServerMsg::Pong)),
                &["reply #1 ok", "send #2"],
            ),
            // #2 was in flight: unknown whether it was applied, so it goes again.
            (
                Input::Lost(None),
                &["reconnecting in 500ms: lost", "sleep 500ms"],
            ),
            (
                Input::Woke,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (
                Input::Connected(welcome()),
                &["online ws://a:7787", "send #2"],
            ),
            (
                Input::Replied(Err(server_error(ErrorCode::InvalidTransition))),
                &["reply #2 invalid_transition", "send #3"],
            ),
            (Input::Replied(Ok(ServerMsg::Pong)), &["reply #3 ok"]),
        ],
    );
    assert_eq!(m.queued(), 0);
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
    m.step(Input::Subscribed { head: 3 });
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
fn rooms_joined_at_run_time_are_followed_until_closed_to_us() {
    let mut m = machine(&[A], &spec(&[("riders", None)], false, Policy::DISPLAY));
    m.step(Input::Start);
    m.step(Input::Connected(welcome()));
    m.step(Input::Subscribed { head: 3 });
    let join = Input::Request(Request {
        id: 5,
        msg: ClientMsg::Subscribe {
            room: "order:7".into(),
            since: None,
        },
    });
    run(
        &mut m,
        &[
            (join, &["send #5"]),
            (
                Input::Replied(Ok(ServerMsg::Subscribed {
                    room: "order:7".into(),
                    head: 20,
                })),
                &["reply #5 ok"],
            ),
        ],
    );
    assert!(m.event("order:7", Some(21)));
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
            (Input::Connected(welcome()), &["subscribe riders from 3"]),
            (
                Input::Subscribed { head: 30 },
                &["resumed riders from 3", "subscribe order:7 from 21"],
            ),
            // Handed back meanwhile: the room is let go, the rest goes on.
            (
                Input::SubscribeFailed(server_error(ErrorCode::Forbidden)),
                &["online ws://a:7787"],
            ),
        ],
    );
    let leave = Input::Request(Request {
        id: 6,
        msg: ClientMsg::Unsubscribe {
            room: "riders".into(),
        },
    });
    run(
        &mut m,
        &[
            (leave, &["send #6"]),
            (
                Input::Replied(Ok(ServerMsg::Ok { message: None })),
                &["reply #6 ok"],
            ),
        ],
    );
    // A room of the spec is kept, whatever the owner asked.
    assert!(!m.event("riders", Some(3)));
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
