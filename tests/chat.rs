//! Chat rooms through the real server and client: history paging, resume after a
//! disconnect, typing (relayed, throttled, ended after a quiet spell), presence, text
//! that tries to take over a terminal, who may talk where, and the limits.

use std::time::Duration;

use chit_client::Events;
use chit_e2e::chit_server::Config;
use chit_e2e::chit_server::hub::ChatRate;
use chit_e2e::{TestServer, next_event, next_stored, order};
use chit_protocol::chat::{PresenceAction, is_unsafe};
use chit_protocol::{ChatMessage, ClientMsg, ErrorCode, Event, EventKind, Role, Status};

/// The next event of `kind`, skipping any other.
async fn next_of(events: &mut Events, kind: EventKind) -> Event {
    loop {
        let event = next_event(events).await;
        if event.kind == kind {
            return event;
        }
    }
}

async fn next_message(events: &mut Events) -> ChatMessage {
    next_stored(events)
        .await
        .chat_message()
        .expect("a chat message")
}

fn texts(messages: &[ChatMessage]) -> Vec<String> {
    messages.iter().map(|m| m.text.clone()).collect()
}

fn range(from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|i| format!("m{i}")).collect()
}

fn typing(room: &str, active: bool) -> ClientMsg {
    ClientMsg::Typing {
        room: room.into(),
        active,
    }
}

fn roomy() -> Config {
    Config {
        chat_rate: ChatRate {
            per_minute: 100_000,
            burst: 1000,
        },
        ..Config::default()
    }
}

#[tokio::test]
async fn history_pages_backwards_newest_page_first() {
    let server = TestServer::with_config(roomy()).await;
    let (admin, _e) = server.admin().await;
    for i in 1..=45 {
        admin
            .chat_send("chat:staff", &format!("m{i}"))
            .await
            .unwrap();
        if i % 10 == 0 {
            admin.chat_send("chat:other", "elsewhere").await.unwrap();
        }
    }
    let newest = admin
        .chat_history("chat:staff", None, Some(20))
        .await
        .unwrap();
    assert_eq!(texts(&newest), range(26, 45), "the newest 20, oldest first");
    assert!(newest.windows(2).all(|w| w[0].seq < w[1].seq));
    let before = newest[0].seq;
    let older = admin
        .chat_history("chat:staff", before, Some(20))
        .await
        .unwrap();
    assert_eq!(texts(&older), range(6, 25));
    let oldest = admin
        .chat_history("chat:staff", older[0].seq, Some(20))
        .await
        .unwrap();
    assert_eq!(texts(&oldest), range(1, 5));
    let none = admin
        .chat_history("chat:staff", oldest[0].seq, Some(20))
        .await
        .unwrap();
    assert!(none.is_empty());
    let default = admin.chat_history("chat:staff", None, None).await.unwrap();
    assert_eq!(texts(&default), range(1, 45), "up to 50 by default");
    let err = admin
        .chat_history("restaurant:r1", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest), "{err}");
}

/// The events of a group are numbered when it is written, after the rules ran; the
/// reply must still carry the id and seq the message was stored and sent with, also
/// when several messages and orders share a commit.
#[tokio::test]
async fn a_sent_message_is_answered_as_stored_and_sent() {
    let server = TestServer::start().await;
    let (admin, mut events) = server.admin().await;
    admin.subscribe("chat:staff", None).await.unwrap();
    let sends = (0..8).map(|i| {
        let admin = &admin;
        async move {
            admin
                .chat_send("chat:staff", &format!("m{i}"))
                .await
                .unwrap()
        }
    });
    let mut replies = futures_util::future::join_all(sends).await;
    replies.sort_by_key(|m| m.seq);
    let mut sent = Vec::new();
    for _ in 0..8 {
        sent.push(next_message(&mut events).await);
    }
    assert_eq!(replies, sent);
    let stored = admin
        .chat_history("chat:staff", None, Some(8))
        .await
        .unwrap();
    assert_eq!(stored, sent);
    let ids: std::collections::BTreeSet<_> = sent.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 8, "each message has an id of its own");
    assert!(sent.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test]
async fn resume_after_disconnect_gets_each_missed_message_once() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let rider = server.labelled(Role::Rider, Some("bo"), "bo");
    let (bo, mut events) = server.connect(&rider).await;
    bo.subscribe("chat:staff", None).await.unwrap();
    admin.chat_send("chat:staff", "m1").await.unwrap();
    let first = next_message(&mut events).await;
    assert_eq!(first.text, "m1");
    let last = first.seq.unwrap();
    drop((bo, events));

    for (room, text) in [
        ("chat:staff", "m2"),
        ("chat:staff", "m3"),
        ("chat:other", "not for bo"),
        ("chat:staff", "m4"),
    ] {
        admin.chat_send(room, text).await.unwrap();
    }
    let (bo, mut events) = server.connect(&rider).await;
    bo.subscribe("chat:staff", Some(last)).await.unwrap();
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(next_message(&mut events).await.text);
    }
    assert_eq!(missed, ["m2", "m3", "m4"]);
    // Then live ones, with nothing replayed twice at the seam.
    for text in ["m5", "m6"] {
        admin.chat_send("chat:staff", text).await.unwrap();
        assert_eq!(next_message(&mut events).await.text, text);
    }
}

#[tokio::test]
async fn typing_is_throttled_and_ends_after_six_quiet_seconds() {
    let server = TestServer::start().await;
    let (ann, mut ann_events) = server
        .connect(&server.labelled(Role::Kitchen, Some("r1"), "Ann"))
        .await;
    let (bo, _bo_events) = server
        .connect(&server.labelled(Role::Rider, Some("bo"), "bo"))
        .await;
    ann.subscribe("chat:staff", None).await.unwrap();
    bo.subscribe("chat:staff", None).await.unwrap();
    let joined = next_of(&mut ann_events, EventKind::Presence).await;
    assert_eq!(joined.presence().unwrap().name, "bo");

    tokio::time::pause();
    let start = tokio::time::Instant::now();
    bo.send(typing("chat:staff", true)).unwrap();
    bo.send(typing("chat:staff", true)).unwrap(); // within 2 s: not relayed
    // Both were handled once bo's ping is answered, and anything relayed to Ann is
    // written to her before the answer to her own ping.
    bo.ping().await.unwrap();
    ann.ping().await.unwrap();
    let shown = ann_events
        .try_recv()
        .expect("bo's typing")
        .typing()
        .unwrap();
    assert_eq!(
        (shown.name.as_str(), shown.role, shown.active),
        ("bo", Role::Rider, true)
    );
    assert!(
        ann_events.try_recv().is_none(),
        "the second typing was relayed"
    );

    tokio::time::sleep(Duration::from_secs(4)).await;
    bo.send(typing("chat:staff", true)).unwrap();
    let refreshed = next_event(&mut ann_events).await;
    assert!(refreshed.typing().unwrap().active);

    // No refresh after 4 s: the server ends it at 10 s, not at 6 s.
    let ended = next_event(&mut ann_events).await.typing().unwrap();
    assert!(!ended.active);
    let at = start.elapsed();
    assert!(
        at >= Duration::from_secs(10) && at < Duration::from_millis(10_500),
        "ended after {at:?}"
    );
}

#[tokio::test]
async fn sending_or_leaving_ends_the_typing_indicator() {
    let server = TestServer::start().await;
    let (ann, mut ann_events) = server
        .connect(&server.labelled(Role::Kitchen, Some("r1"), "Ann"))
        .await;
    let (bo, bo_events) = server
        .connect(&server.labelled(Role::Rider, Some("bo"), "bo"))
        .await;
    ann.subscribe("chat:staff", None).await.unwrap();
    bo.subscribe("chat:staff", None).await.unwrap();
    next_of(&mut ann_events, EventKind::Presence).await;

    bo.send(typing("chat:staff", true)).unwrap();
    assert!(next_event(&mut ann_events).await.typing().unwrap().active);
    bo.chat_send("chat:staff", "on my way").await.unwrap();
    let stopped = next_event(&mut ann_events).await;
    assert_eq!(
        stopped.typing().map(|t| t.active),
        Some(false),
        "{stopped:?}"
    );
    assert_eq!(next_message(&mut ann_events).await.text, "on my way");

    // Typing needs the room joined, and is only for chat rooms.
    let (al, mut al_events) = server.connect(&server.token(Role::Rider, Some("al"))).await;
    al.send(typing("chat:staff", true)).unwrap();
    al.subscribe("restaurant:r1", None).await.unwrap_err();
    al.subscribe("riders", None).await.unwrap();
    al.send(typing("riders", true)).unwrap();
    al.ping().await.unwrap();
    assert!(al_events.try_recv().is_none());

    bo.send(typing("chat:staff", true)).unwrap();
    assert!(next_event(&mut ann_events).await.typing().unwrap().active);
    drop((bo, bo_events));
    let stopped = next_event(&mut ann_events).await;
    assert_eq!(
        stopped.typing().map(|t| t.active),
        Some(false),
        "{stopped:?}"
    );
    let left = next_event(&mut ann_events).await.presence().unwrap();
    assert_eq!(
        (left.action, left.name.as_str()),
        (PresenceAction::Leave, "bo")
    );
    assert!(ann_events.try_recv().is_none(), "al's typing went nowhere");
}

#[tokio::test]
async fn presence_lists_members_and_announces_join_and_leave() {
    let server = TestServer::start().await;
    let (ann, mut ann_events) = server
        .connect(&server.labelled(Role::Kitchen, Some("r1"), "Ann"))
        .await;
    let (bo, _b) = server
        .connect(&server.labelled(Role::Rider, Some("bo"), "bo"))
        .await;
    let (cy, _c) = server
        .connect(&server.token(Role::Customer, Some("0812345678")))
        .await;
    let (admin, admin_events) = server.admin().await;
    ann.subscribe("chat:staff", None).await.unwrap();
    bo.subscribe("chat:staff", None).await.unwrap();
    let joined = next_of(&mut ann_events, EventKind::Presence).await;
    let joined = joined.presence().unwrap();
    assert_eq!(
        (joined.action, joined.name.as_str(), joined.role),
        (PresenceAction::Join, "bo", Role::Rider)
    );
    let members = ann.presence("chat:staff").await.unwrap();
    let listed: Vec<_> = members.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(listed, [("Ann", Role::Kitchen), ("bo", Role::Rider)]);

    // A refused subscriber is neither announced nor listed.
    let err = cy.subscribe("chat:staff", None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    admin.subscribe("chat:staff", None).await.unwrap();
    let next = next_of(&mut ann_events, EventKind::Presence).await;
    assert_eq!(next.presence().unwrap().name, "admin");
    assert_eq!(ann.presence("chat:staff").await.unwrap().len(), 3);

    bo.unsubscribe("chat:staff").await.unwrap();
    let left = next_of(&mut ann_events, EventKind::Presence).await;
    let left = left.presence().unwrap();
    assert_eq!(
        (left.action, left.name.as_str()),
        (PresenceAction::Leave, "bo")
    );
    drop((admin, admin_events));
    let left = next_of(&mut ann_events, EventKind::Presence).await;
    assert_eq!(left.presence().unwrap().name, "admin");
    let listed: Vec<_> = ann.presence("chat:staff").await.unwrap();
    assert_eq!(listed.len(), 1);
    let err = cy.presence("chat:staff").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_in_a_message_are_neutralised() {
    let server = TestServer::start().await;
    let (ann, mut ann_events) = server.admin().await;
    ann.subscribe("chat:staff", None).await.unwrap();
    let eve = server.labelled(Role::Kitchen, Some("r1"), "\u{1b}[31mEve\u{202e}");
    let (eve, _e) = server.connect(&eve).await;
    let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}hello\r\n\u{9b}1m \u{202e}dlrow\u{2066} ok";
    let sent = eve.chat_send("chat:staff", hostile).await.unwrap();
    let expected = "[2J]0;ownedhello  1m dlrow ok";
    assert_eq!(sent.text, expected);
    assert_eq!(sent.author, "[31mEve");
    let seen = next_message(&mut ann_events).await;
    assert_eq!(
        (seen.text.as_str(), seen.author.as_str()),
        (expected, "[31mEve")
    );
    let stored = ann.chat_history("chat:staff", None, None).await.unwrap();
    assert_eq!(stored[0].text, expected);
    assert!(!stored[0].text.chars().any(is_unsafe));

    let out = server
        .chit()
        .args(["chat", "history", "chat:staff"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("[31mEve: [2J]0;ownedhello"), "{printed}");
    assert!(
        !printed.chars().any(|c| c != '\n' && is_unsafe(c)),
        "{printed:?}"
    );
}

#[tokio::test]
async fn who_may_talk_where() {
    let server = TestServer::with_config(roomy()).await;
    let (admin, _e) = server.admin().await;
    let (placed, _) = admin.place_order(order("r1"), None).await.unwrap();
    for s in [Status::Confirmed, Status::Preparing] {
        admin
            .update_status(placed.id, s, None, false)
            .await
            .unwrap();
    }
    admin.assign_order(placed.id, "bo").await.unwrap();
    let order_room = format!("order:{}", placed.id);

    let people = [
        ("admin", server.admin.clone()),
        ("kitchen r1", server.token(Role::Kitchen, Some("r1"))),
        ("kitchen r2", server.token(Role::Kitchen, Some("r2"))),
        ("pos r1", server.token(Role::Pos, Some("r1"))),
        ("rider bo", server.token(Role::Rider, Some("bo"))),
        ("rider al", server.token(Role::Rider, Some("al"))),
        (
            "customer ann",
            server.token(Role::Customer, Some("0812345678")),
        ),
        (
            "customer other",
            server.token(Role::Customer, Some("0899999999")),
        ),
    ];
    let rooms: [(&str, &[&str]); 2] = [
        (
            "chat:staff",
            &["admin", "kitchen r1", "kitchen r2", "rider bo", "rider al"],
        ),
        (
            &order_room,
            &["admin", "kitchen r1", "pos r1", "rider bo", "customer ann"],
        ),
    ];
    let verdict = |r: Result<(), chit_client::ClientError>, what: &str| match r {
        Ok(()) => true,
        Err(e) if e.code() == Some(ErrorCode::Forbidden) => false,
        Err(e) => panic!("{what}: {e}"),
    };
    for (who, token) in &people {
        let (c, _events) = server.connect(token).await;
        for (room, allowed) in rooms {
            let expected = allowed.contains(who);
            let what = format!("{who} in {room}");
            let send = c.chat_send(room, &format!("hi from {who}")).await.map(drop);
            assert_eq!(verdict(send, &what), expected, "send: {what}");
            let history = c.chat_history(room, None, None).await.map(drop);
            assert_eq!(verdict(history, &what), expected, "history: {what}");
            let presence = c.presence(room).await.map(drop);
            assert_eq!(verdict(presence, &what), expected, "presence: {what}");
            let join = c.subscribe(room, None).await.map(drop);
            assert_eq!(verdict(join, &what), expected, "join: {what}");
        }
    }
    let err = admin.chat_send("restaurant:r1", "hi").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest), "{err}");
    let err = admin.chat_send("order:99999", "hi").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound), "{err}");
}

#[tokio::test]
async fn messages_are_limited_in_length_and_rate() {
    let config = Config {
        chat_rate: ChatRate {
            per_minute: 1,
            burst: 3,
        },
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let kitchen = server.token(Role::Kitchen, Some("r1"));
    let (k, _e) = server.connect(&kitchen).await;
    let longest = "ก".repeat(2000);
    assert_eq!(
        k.chat_send("chat:staff", &longest).await.unwrap().text,
        longest
    );
    let err = k
        .chat_send("chat:staff", &"x".repeat(2001))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge), "{err}");
    let err = k.chat_send("chat:staff", " \u{1b}\t\n ").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest), "{err}");

    k.chat_send("chat:staff", "two").await.unwrap();
    k.chat_send("chat:staff", "three").await.unwrap();
    let err = k.chat_send("chat:staff", "four").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
    // The limit is the member's, not the connection's.
    let (again, _a) = server.connect(&kitchen).await;
    let err = again.chat_send("chat:staff", "four").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
    let (other, _o) = server.connect(&server.token(Role::Rider, Some("bo"))).await;
    other.chat_send("chat:staff", "still fine").await.unwrap();
    let texts = texts(&other.chat_history("chat:staff", None, None).await.unwrap());
    assert_eq!(texts[1..], ["two", "three", "still fine"]);
}
