//! Rooms and requests across reconnects: each room resumed from its last seq, a resync
//! reloaded (or, without a snapshot, gone on from the head), rooms the owner joins
//! followed, and requests sent in order and sent again after a drop.

use super::*;

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
                Input::Subscribed {
                    head: 40,
                    epoch: None,
                },
                &["resumed restaurant:r1 from 11", "subscribe chat:r1 from 10"],
            ),
            (
                Input::Subscribed {
                    head: 40,
                    epoch: None,
                },
                &["resumed chat:r1 from 10", "online ws://a:7787"],
            ),
        ],
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
                Input::Subscribed {
                    head: 90,
                    epoch: None,
                },
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
                Input::Subscribed {
                    head: 90,
                    epoch: None,
                },
                &["resumed restaurant:r1 from 90", "subscribe chat:r1 from 90"],
            ),
            (
                Input::Subscribed {
                    head: 90,
                    epoch: None,
                },
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
                Input::Subscribed {
                    head: 90,
                    epoch: None,
                },
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
fn rooms_joined_at_run_time_are_followed_until_closed_to_us() {
    let mut m = machine(&[A], &spec(&[("riders", None)], false, Policy::DISPLAY));
    m.step(Input::Start);
    m.step(Input::Connected(welcome()));
    m.step(Input::Subscribed {
        head: 3,
        epoch: None,
    });
    let join = Input::Request(Request {
        id: 5,
        msg: ClientMsg::Subscribe {
            room: "order:7".into(),
            since: None,
            epoch: None,
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
                    epoch: None,
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
                Input::Subscribed {
                    head: 30,
                    epoch: None,
                },
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
