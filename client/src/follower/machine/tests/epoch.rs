//! The log's epoch across reconnects: each room resumes with the epoch its seqs came
//! from, a server whose log is another (a restored backup) is answered by reloading,
//! and a seq of unknown epoch (the owner's, an old server's) is sent alone.

use super::*;

fn welcome_at(epoch: u64) -> Welcome {
    Welcome {
        epoch: Some(epoch),
        ..welcome()
    }
}

/// A kitchen online at head 10 of epoch 7.
fn kitchen_at_epoch_7() -> Machine {
    let mut m = machine(&[A, B], &kitchen());
    run(
        &mut m,
        &[
            (
                Input::Start,
                &["connecting ws://a:7787 attempt 1", "connect 0"],
            ),
            (Input::Connected(welcome_at(7)), &["load"]),
            (
                Input::Loaded {
                    orders: Vec::new(),
                    head: 10,
                },
                &[
                    "snapshot at 10",
                    "subscribe restaurant:r1 from 10 of epoch 7",
                ],
            ),
            (
                Input::Subscribed {
                    head: 10,
                    epoch: Some(7),
                },
                &[
                    "resumed restaurant:r1 from 10",
                    "subscribe chat:r1 from 10 of epoch 7",
                ],
            ),
            (
                Input::Subscribed {
                    head: 12,
                    epoch: Some(7),
                },
                &["resumed chat:r1 from 10", "online ws://a:7787"],
            ),
        ],
    );
    m
}

#[test]
fn a_room_resumes_with_the_epoch_its_seqs_came_from_on_any_server() {
    let mut m = kitchen_at_epoch_7();
    assert!(m.event("restaurant:r1", Some(11)));
    run(
        &mut m,
        &[
            // Another node of the same database: the same epoch, so the seqs hold.
            (
                Input::Lost(None),
                &["connecting ws://b:7787 attempt 1", "connect 1"],
            ),
            (
                Input::Connected(welcome_at(7)),
                &["subscribe restaurant:r1 from 11 of epoch 7"],
            ),
            (
                Input::Subscribed {
                    head: 40,
                    epoch: Some(7),
                },
                &[
                    "resumed restaurant:r1 from 11",
                    "subscribe chat:r1 from 10 of epoch 7",
                ],
            ),
            (
                Input::Subscribed {
                    head: 40,
                    epoch: Some(7),
                },
                &["resumed chat:r1 from 10", "online ws://b:7787"],
            ),
        ],
    );
}

#[test]
fn a_restored_log_is_answered_by_reloading_then_resuming_in_its_epoch() {
    let mut m = kitchen_at_epoch_7();
    assert!(m.event("restaurant:r1", Some(11)));
    run(
        &mut m,
        &[
            (
                Input::Lost(None),
                &["connecting ws://b:7787 attempt 1", "connect 1"],
            ),
            // The server tells its epoch, but the seqs held are epoch 7's: they are sent
            // with it, and the server that knows another log says so.
            (
                Input::Connected(welcome_at(9)),
                &["subscribe restaurant:r1 from 11 of epoch 7"],
            ),
            (
                Input::SubscribeFailed(server_error(ErrorCode::ResyncRequired)),
                &["load"],
            ),
            (
                Input::Loaded {
                    orders: Vec::new(),
                    head: 30,
                },
                &[
                    "snapshot at 30",
                    "subscribe restaurant:r1 from 30 of epoch 9",
                ],
            ),
            (
                Input::Subscribed {
                    head: 30,
                    epoch: Some(9),
                },
                &[
                    "resumed restaurant:r1 from 30",
                    "subscribe chat:r1 from 30 of epoch 9",
                ],
            ),
            (
                Input::Subscribed {
                    head: 31,
                    epoch: Some(9),
                },
                &["resumed chat:r1 from 30", "online ws://b:7787"],
            ),
        ],
    );
}

#[test]
fn without_a_snapshot_another_log_goes_on_from_its_head_and_says_so() {
    let mut m = machine(
        &[A],
        &spec(&[("restaurant:r1", None)], false, Policy::DISPLAY),
    );
    m.step(Input::Start);
    m.step(Input::Connected(welcome_at(7)));
    m.step(Input::Subscribed {
        head: 3,
        epoch: Some(7),
    });
    assert!(m.event("restaurant:r1", Some(4)));
    m.step(Input::Lost(None));
    m.step(Input::Woke);
    run(
        &mut m,
        &[
            (
                Input::Connected(welcome_at(9)),
                &["subscribe restaurant:r1 from 4 of epoch 7"],
            ),
            (
                Input::SubscribeFailed(server_error(ErrorCode::ResyncRequired)),
                &["subscribe restaurant:r1 from head"],
            ),
            (
                Input::Subscribed {
                    head: 6,
                    epoch: Some(9),
                },
                &["resumed restaurant:r1 from 6 missed", "online ws://a:7787"],
            ),
        ],
    );
    // Its seqs are epoch 9's now.
    assert!(m.event("restaurant:r1", Some(7)));
    m.step(Input::Lost(None));
    m.step(Input::Woke);
    let actions: Vec<String> = m
        .step(Input::Connected(welcome_at(9)))
        .iter()
        .map(short)
        .collect();
    assert_eq!(actions, ["subscribe restaurant:r1 from 7 of epoch 9"]);
}

#[test]
fn a_seq_of_unknown_epoch_is_sent_alone() {
    // The owner's own seq (`chit watch --since 5`): its epoch is not known.
    let mut m = machine(
        &[A],
        &spec(&[("restaurant:r1", Some(5))], false, Policy::COMMAND),
    );
    m.step(Input::Start);
    let actions: Vec<String> = m
        .step(Input::Connected(welcome_at(7)))
        .iter()
        .map(short)
        .collect();
    assert_eq!(actions, ["subscribe restaurant:r1 from 5"]);
    m.step(Input::Subscribed {
        head: 8,
        epoch: Some(7),
    });
    // A server before epochs: nothing to send, as before.
    let mut m = machine(&[A], &spec(&[("riders", None)], false, Policy::DISPLAY));
    m.step(Input::Start);
    m.step(Input::Connected(welcome()));
    m.step(Input::Subscribed {
        head: 3,
        epoch: None,
    });
    m.step(Input::Lost(None));
    m.step(Input::Woke);
    let actions: Vec<String> = m
        .step(Input::Connected(welcome()))
        .iter()
        .map(short)
        .collect();
    assert_eq!(actions, ["subscribe riders from 3"]);
}

#[test]
fn a_room_joined_at_run_time_resumes_in_the_epoch_its_reply_gave() {
    let mut m = machine(&[A], &spec(&[], false, Policy::DISPLAY));
    m.step(Input::Start);
    m.step(Input::Connected(welcome_at(7)));
    m.step(Input::Request(Request {
        id: 1,
        msg: ClientMsg::Subscribe {
            room: "order:7".into(),
            since: None,
            epoch: None,
        },
    }));
    m.step(Input::Replied(Ok(ServerMsg::Subscribed {
        room: "order:7".into(),
        head: 20,
        epoch: Some(7),
    })));
    assert!(m.event("order:7", Some(21)));
    m.step(Input::Lost(None));
    m.step(Input::Woke);
    let actions: Vec<String> = m
        .step(Input::Connected(welcome_at(7)))
        .iter()
        .map(short)
        .collect();
    assert_eq!(actions, ["subscribe order:7 from 21 of epoch 7"]);
}
