//! Orders placed for later on the real server, with tokio's clock paused and the
//! server's clock running on it: held until due_at less the longest prep, fired exactly
//! once (also after a restart that slept through the time), at once when the time has
//! passed, refused more than 14 days ahead.

use std::time::Duration;

use chit_e2e::kitchen::{self, logged, next_of, set_status, update_item};
use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, ItemState, NewItem, NewOrder, Role, Status};
use chit_server::Config;
use chit_server::clock::Clock;

const HOUR: Duration = Duration::from_secs(3600);

const MENU: &str = "default_station = \"wok\"\nprep_minutes = 10\n\
    [[category]]\nname = \"Mains\"\nstation = \"wok\"\nitems = [\"Pad Thai\", { name = \"Gai yang\", prep_minutes = 25 }]\n\
    [[category]]\nname = \"Drinks\"\nstation = \"bar\"\nprep_minutes = 2\nitems = [\"Cha yen\"]\n";

fn config(clock: &Clock) -> Config {
    let mut config = Config::default();
    config.store.clock = clock.clone();
    config
}

fn due(clock: &Clock, from_now: Duration, items: &[&str]) -> NewOrder {
    let at = clock.now_ms() + from_now.as_millis() as i64;
    let mut o = order("r1");
    o.items = items.iter().map(|i| NewItem::parse(i).unwrap()).collect();
    o.due_at = Some(chit_protocol::format_time(at));
    o
}

/// A server on `clock` with MENU for r1, taken up.
async fn server(clock: &Clock) -> TestServer {
    let server = TestServer::with_config(config(clock)).await;
    let (admin, mut events) = server.admin().await;
    admin.subscribe("restaurant:r1", None).await.unwrap();
    kitchen::load_menu_text(&server, "r1", MENU);
    next_of(&mut events, EventKind::MenuUpdate, Duration::from_secs(30)).await;
    server
}

#[tokio::test]
async fn a_held_order_fires_once_at_due_less_its_longest_prep() {
    let clock = Clock::tokio();
    let server = server(&clock).await;
    let (kitchen, mut events) = server
        .connect(&server.token(Role::Kitchen, Some("r1")))
        .await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();
    tokio::time::pause();
    let (placed, _) = kitchen
        .place_order(
            due(
                &clock,
                2 * HOUR,
                &["Pad Thai @ 120", "Gai yang @ 150", "Cha yen @ 40"],
            ),
            None,
        )
        .await
        .unwrap();
    let due_at = placed.due_ms().unwrap();
    assert_eq!(
        placed.fire_ms(),
        Some(due_at - 25 * 60_000),
        "the grill's 25 minutes"
    );
    assert!(placed.is_held() && placed.status == Status::Pending);
    assert_eq!(next_stored(&mut events).await.kind, EventKind::NewOrder);

    let fired = next_of(&mut events, EventKind::OrderFired, 3 * HOUR).await;
    let at = chit_protocol::parse_time(&fired.at).unwrap();
    assert!(at >= placed.fire_ms().unwrap(), "not before its time");
    assert!(
        at < placed.fire_ms().unwrap() + 60_000,
        "within a minute of it: {}",
        fired.at
    );
    let order = fired.order_event().unwrap().order;
    assert!(!order.is_held() && order.fired_at.is_some());
    assert_eq!(
        order.status,
        Status::Pending,
        "fired into the kitchen, not moved on"
    );

    // Hours later it has not fired again.
    tokio::time::sleep(2 * HOUR).await;
    kitchen.ping().await.unwrap();
    while let Some(e) = events.try_recv() {
        assert_ne!(e.kind, EventKind::OrderFired, "fired twice");
    }
    assert_eq!(
        logged(&server, EventKind::OrderFired),
        [(fired.seq.unwrap(), Some(placed.id))]
    );
    assert_eq!(kitchen.get_order(placed.id).await.unwrap(), order);
}

#[tokio::test]
async fn a_server_down_at_fire_time_fires_at_once_on_start_and_only_once() {
    let clock = Clock::tokio();
    let server = server(&clock).await;
    let (admin, _events) = server.admin().await;
    let (placed, _) = admin
        .place_order(due(&clock, HOUR, &["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    assert!(placed.is_held());
    let head = admin.subscribe("restaurant:r1", None).await.unwrap();
    drop(admin);
    let dir = server.stop().await;

    // Down for three hours, through the fire time.
    tokio::time::pause();
    tokio::time::sleep(3 * HOUR).await;
    let server = TestServer::in_dir(dir, config(&clock)).await;
    let (admin, mut events) = server.admin().await;
    admin.subscribe("restaurant:r1", Some(head)).await.unwrap();
    let fired = next_of(&mut events, EventKind::OrderFired, HOUR).await;
    let at = chit_protocol::parse_time(&fired.at).unwrap();
    assert!(
        at > placed.due_ms().unwrap(),
        "fired on start, after it was due"
    );
    assert_eq!(fired.order_event().unwrap().order.id, placed.id);

    // Stopped and started again: nothing more fires.
    drop(admin);
    let dir = server.stop().await;
    let server = TestServer::in_dir(dir, config(&clock)).await;
    tokio::time::sleep(HOUR).await;
    let (admin, _e) = server.admin().await;
    admin.ping().await.unwrap();
    assert_eq!(logged(&server, EventKind::OrderFired).len(), 1);
    assert!(!admin.get_order(placed.id).await.unwrap().is_held());
}

#[tokio::test]
async fn a_due_time_already_passed_fires_at_once() {
    let clock = Clock::tokio();
    let server = server(&clock).await;
    let (admin, mut events) = server.admin().await;
    admin.subscribe("restaurant:r1", None).await.unwrap();
    // Due in five minutes, but a Pad Thai takes ten: its fire time has passed too.
    for from_now in [Duration::ZERO, Duration::from_secs(300)] {
        let mut o = due(&clock, from_now, &["Pad Thai @ 120"]);
        if from_now.is_zero() {
            o.due_at = Some(chit_protocol::format_time(clock.now_ms() - 3_600_000));
        }
        let (placed, _) = admin.place_order(o, None).await.unwrap();
        assert!(!placed.is_held() && placed.fired_at.is_some(), "{placed:?}");
        let kinds = [
            next_stored(&mut events).await,
            next_stored(&mut events).await,
        ];
        assert_eq!(
            kinds.map(|e| e.kind),
            [EventKind::NewOrder, EventKind::OrderFired]
        );
    }
}

#[tokio::test]
async fn more_than_fourteen_days_ahead_is_refused_and_nothing_is_written() {
    let clock = Clock::tokio();
    let server = server(&clock).await;
    let (admin, _events) = server.admin().await;
    let head = admin.subscribe("restaurant:r1", None).await.unwrap();
    let ok = due(
        &clock,
        14 * 24 * HOUR - Duration::from_secs(60),
        &["Pad Thai @ 120"],
    );
    let (placed, _) = admin.place_order(ok, None).await.unwrap();
    assert!(placed.is_held());
    let too_far = due(&clock, 15 * 24 * HOUR, &["Pad Thai @ 120"]);
    let e = admin.place_order(too_far, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    assert!(e.to_string().contains("more than 14 days ahead"), "{e}");
    let bad = NewOrder {
        due_at: Some("next tuesday".into()),
        ..order("r1")
    };
    let e = admin.place_order(bad, None).await.unwrap_err();
    assert!(e.to_string().contains("not an RFC 3339 time"), "{e}");
    let orders = admin
        .list_orders(Some("r1".into()), None, None)
        .await
        .unwrap()
        .0;
    assert_eq!(orders.len(), 1, "only the first was placed");
    assert_eq!(
        admin.subscribe("restaurant:r1", None).await.unwrap(),
        head + 1
    );
}

#[tokio::test]
async fn working_on_a_held_order_fires_it_and_cancelling_one_never_fires() {
    let clock = Clock::tokio();
    let server = server(&clock).await;
    let (kitchen, mut events) = server
        .connect(&server.token(Role::Kitchen, Some("r1")))
        .await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();
    let (early, _) = kitchen
        .place_order(due(&clock, HOUR, &["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    let (cancelled, _) = kitchen
        .place_order(due(&clock, HOUR, &["Cha yen @ 40"]), None)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(next_stored(&mut events).await.kind, EventKind::NewOrder);
    }
    // The cook starts it early: it fires first, then the item moves.
    let o = update_item(&kitchen, early.id, 1, ItemState::Started, false)
        .await
        .unwrap();
    assert!(!o.is_held() && o.status == Status::Preparing);
    let kinds: Vec<EventKind> = [
        next_stored(&mut events).await,
        next_stored(&mut events).await,
        next_stored(&mut events).await,
    ]
    .into_iter()
    .map(|e| e.kind)
    .collect();
    assert_eq!(
        kinds,
        [
            EventKind::OrderFired,
            EventKind::ItemUpdate,
            EventKind::OrderUpdate
        ]
    );
    set_status(&kitchen, cancelled.id, Status::Cancelled, false)
        .await
        .unwrap();
    tokio::time::pause();
    tokio::time::sleep(3 * HOUR).await;
    kitchen.ping().await.unwrap();
    assert_eq!(
        logged(&server, EventKind::OrderFired),
        [(logged(&server, EventKind::OrderFired)[0].0, Some(early.id))],
        "the cancelled order never fired, the early one once"
    );
}
