//! Kitchen stations on the real server: a menu loaded with the real `chit-server menu
//! load` while the server runs, orders routed by it, items bumped at their stations,
//! the order following its items, the expo's ready (refused until every item is done,
//! unless forced), recalls, replay, and restaurants without a menu as before.

use std::time::Duration;

use chit_e2e::kitchen::{self, next_of, set_status, update_item};
use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, ItemState, MenuChange, NewItem, Order, Role, Status};

const WAIT: Duration = Duration::from_secs(10);

/// A server with the example Thai menu loaded for thai-1, and a kitchen display
/// subscribed to thai-1 that saw the menu arrive.
async fn with_menu() -> (TestServer, chit_client::Client, chit_client::Events) {
    let server = TestServer::start().await;
    let (kitchen, mut events) = server
        .connect(&server.token(Role::Kitchen, Some("thai-1")))
        .await;
    kitchen.subscribe("restaurant:thai-1", None).await.unwrap();
    let said = kitchen::load_menu(&server, "thai-1", &kitchen::thai_menu());
    assert!(said.contains("loaded menu version 1 of 'thai-1'"), "{said}");
    // The running server takes it up within a second, with a stored event.
    let loaded = next_of(&mut events, EventKind::MenuUpdate, WAIT).await;
    assert!(loaded.seq.is_some(), "menu_update is stored, with a seq");
    let update = loaded.menu_update().unwrap();
    assert_eq!(update.change, MenuChange::Loaded);
    let menu = update.menu.expect("the menu comes with the event");
    assert_eq!(
        menu.stations,
        ["wok", "curry", "grill", "fry", "salad", "bar"]
    );
    (server, kitchen, events)
}

fn thai_order(items: &[&str]) -> chit_protocol::NewOrder {
    let mut o = order("thai-1");
    o.items = items.iter().map(|i| NewItem::parse(i).unwrap()).collect();
    o
}

/// An item as routed: name, station, category, prep minutes.
type Routed<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<u32>);

fn stations(order: &Order) -> Vec<Routed<'_>> {
    order
        .items
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.station.as_deref(),
                i.category.as_deref(),
                i.prep_minutes,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_loaded_menu_routes_each_item_to_its_station() {
    let (server, kitchen, _events) = with_menu().await;
    let (placed, _) = kitchen
        .place_order(
            thai_order(&[
                "2 x  pad   THAI @ 120",
                "ไก่ย่าง @ 150",
                "Thai iced tea @ 45",
                "Mystery special @ 200",
                "Green curry @ 160 [Starters]",
                "Chef's dumplings @ 90 [drinks]",
            ]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        stations(&placed),
        [
            (
                "pad   THAI",
                Some("wok"),
                Some("Noodles & stir-fries"),
                Some(8)
            ),
            ("ไก่ย่าง", Some("grill"), Some("Grill"), Some(15)),
            ("Thai iced tea", Some("bar"), Some("Drinks"), Some(2)),
            // Not on the menu: the default station, never dropped.
            ("Mystery special", Some("wok"), None, Some(10)),
            // A category the order names decides the station.
            ("Green curry", Some("fry"), Some("Starters"), Some(12)),
            ("Chef's dumplings", Some("bar"), Some("drinks"), Some(2)),
        ]
    );
    assert!(placed.items.iter().all(|i| i.state == ItemState::Queued));
    // What is stored is what was answered.
    let (admin, _e) = server.admin().await;
    assert_eq!(admin.get_order(placed.id).await.unwrap(), placed);
}

#[tokio::test]
async fn items_bump_at_their_stations_and_the_expo_makes_the_order_ready() {
    let (server, kitchen, mut events) = with_menu().await;
    let (placed, _) = kitchen
        .place_order(
            thai_order(&["Pad Thai @ 120", "Gai yang @ 150", "Cha yen @ 45"]),
            None,
        )
        .await
        .unwrap();
    next_of(&mut events, EventKind::NewOrder, WAIT).await;

    // The first item started makes a pending order preparing.
    let after = update_item(&kitchen, placed.id, 2, ItemState::Started, false)
        .await
        .unwrap();
    assert_eq!(after.status, Status::Preparing);
    assert_eq!(after.items[1].state, ItemState::Started);
    assert!(after.items[1].started_at.is_some());
    let bumped = next_stored(&mut events).await;
    assert_eq!(bumped.kind, EventKind::ItemUpdate);
    let item = bumped.item_event().unwrap();
    assert_eq!((item.item, item.previous_state), (2, ItemState::Queued));
    assert_eq!(item.order.items[1].state, ItemState::Started);
    let moved = next_stored(&mut events).await;
    assert_eq!(moved.kind, EventKind::OrderUpdate);
    let moved = moved.order_event().unwrap();
    assert_eq!(
        (moved.previous, moved.order.status),
        (Some(Status::Pending), Status::Preparing)
    );

    // Not ready while an item is not done: the refusal says where things stand.
    let e = set_status(&kitchen, placed.id, Status::Ready, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidTransition));
    assert!(
        e.to_string().contains("(wok 0/1, grill 0/1, bar 0/1)"),
        "{e}"
    );
    // Straight to done, done, and a recall of one step back, then done again.
    for (n, state, recall) in [
        (1, ItemState::Done, false),
        (2, ItemState::Done, false),
        (2, ItemState::Started, true),
        (2, ItemState::Done, false),
        (3, ItemState::Done, false),
    ] {
        let o = update_item(&kitchen, placed.id, n, state, recall)
            .await
            .unwrap();
        assert_eq!(o.items[n as usize - 1].state, state);
        assert_eq!(
            o.status,
            Status::Preparing,
            "items alone never make it ready"
        );
    }
    let e = update_item(&kitchen, placed.id, 3, ItemState::Queued, true)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("a recall goes back exactly one step"),
        "{e}"
    );
    let ready = set_status(&kitchen, placed.id, Status::Ready, false)
        .await
        .unwrap();
    assert!(ready.all_done() && ready.status == Status::Ready);
    let (admin, _e) = server.admin().await;
    assert_eq!(
        admin.get_order(placed.id).await.unwrap().status,
        Status::Ready
    );
}

#[tokio::test]
async fn the_expo_may_force_an_order_ready_and_nothing_else_forces() {
    let (_server, kitchen, _events) = with_menu().await;
    let (placed, _) = kitchen
        .place_order(thai_order(&["Pad Thai @ 120", "Som tam @ 80"]), None)
        .await
        .unwrap();
    update_item(&kitchen, placed.id, 1, ItemState::Done, false)
        .await
        .unwrap();
    let e = set_status(&kitchen, placed.id, Status::Confirmed, true)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest), "{e}");
    let forced = set_status(&kitchen, placed.id, Status::Ready, true)
        .await
        .unwrap();
    assert_eq!(forced.status, Status::Ready);
    assert_eq!(
        forced.items[1].state,
        ItemState::Queued,
        "force changes no item"
    );
}

#[tokio::test]
async fn item_bumps_are_checked_and_refused_plainly() {
    let (_server, kitchen, _events) = with_menu().await;
    let (placed, _) = kitchen
        .place_order(thai_order(&["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    let cases = [
        (
            0,
            ItemState::Started,
            false,
            ErrorCode::BadRequest,
            "numbered from 1",
        ),
        (
            2,
            ItemState::Started,
            false,
            ErrorCode::NotFound,
            "has 1 item: there is no item 2",
        ),
        (
            1,
            ItemState::Queued,
            false,
            ErrorCode::InvalidTransition,
            "is already queued",
        ),
    ];
    for (n, state, recall, code, says) in cases {
        let e = update_item(&kitchen, placed.id, n, state, recall)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(code), "{e}");
        assert!(e.to_string().contains(says), "{e} !~ {says}");
    }
    let e = update_item(&kitchen, 999, 1, ItemState::Started, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    set_status(&kitchen, placed.id, Status::Cancelled, false)
        .await
        .unwrap();
    let e = update_item(&kitchen, placed.id, 1, ItemState::Started, false)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("is cancelled: its items no longer change"),
        "{e}"
    );
}

#[tokio::test]
async fn a_restaurant_without_a_menu_keeps_whole_tickets() {
    let server = TestServer::start().await;
    let (kitchen, _events) = server
        .connect(&server.token(Role::Kitchen, Some("r1")))
        .await;
    let (placed, _) = kitchen.place_order(order("r1"), None).await.unwrap();
    assert!(!placed.has_stations());
    assert!(
        placed.items.iter().all(|i| i.station.is_none()
            && i.prep_minutes.is_none()
            && i.state == ItemState::Queued)
    );
    // The status bumps of a display without stations, as before: ready with every item
    // still queued.
    for status in [Status::Confirmed, Status::Preparing, Status::Ready] {
        let o = kitchen
            .update_status(placed.id, status, None, false)
            .await
            .unwrap();
        assert_eq!(o.status, status);
    }
    // Items can still be bumped one by one.
    let o = update_item(&kitchen, placed.id, 1, ItemState::Done, false)
        .await
        .unwrap();
    assert_eq!(o.items[0].state, ItemState::Done);
}

#[tokio::test]
async fn item_updates_reach_the_order_and_customer_rooms_and_replay_in_order() {
    let (server, kitchen, _events) = with_menu().await;
    let (placed, _) = kitchen
        .place_order(thai_order(&["Pad Thai @ 120", "Cha yen @ 45"]), None)
        .await
        .unwrap();
    let customer = server.token(Role::Customer, Some(&placed.customer.id));
    let (ann, mut ann_events) = server.connect(&customer).await;
    ann.subscribe(&format!("customer:{}", placed.customer.id), None)
        .await
        .unwrap();
    update_item(&kitchen, placed.id, 1, ItemState::Started, false)
        .await
        .unwrap();
    update_item(&kitchen, placed.id, 1, ItemState::Done, false)
        .await
        .unwrap();
    let live: Vec<(u64, EventKind)> = [
        next_stored(&mut ann_events).await,
        next_stored(&mut ann_events).await,
        next_stored(&mut ann_events).await,
    ]
    .into_iter()
    .map(|e| (e.seq.unwrap(), e.kind))
    .collect();
    assert_eq!(
        live.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
        [
            EventKind::ItemUpdate,
            EventKind::OrderUpdate,
            EventKind::ItemUpdate
        ]
    );
    // A display that resumes from before them gets the same events, same seqs, in order.
    for room in [
        "restaurant:thai-1".to_string(),
        format!("order:{}", placed.id),
    ] {
        let (again, mut replay) = server.admin().await;
        again.subscribe(&room, Some(live[0].0 - 1)).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let e = next_stored(&mut replay).await;
            seen.push((e.seq.unwrap(), e.kind));
        }
        assert_eq!(seen, live, "{room}");
    }
}

#[tokio::test]
async fn speed_of_service_counts_items_per_station_and_orders_to_ready() {
    let (server, kitchen, mut events) = with_menu().await;
    for _ in 0..2 {
        let (o, _) = kitchen
            .place_order(thai_order(&["Pad Thai @ 120", "Cha yen @ 45"]), None)
            .await
            .unwrap();
        for n in [1, 2] {
            update_item(&kitchen, o.id, n, ItemState::Done, false)
                .await
                .unwrap();
        }
        set_status(&kitchen, o.id, Status::Ready, false)
            .await
            .unwrap();
    }
    let stats = kitchen.stats(None).await.unwrap();
    let speed = &stats.today.speed;
    assert_eq!(speed.items.count, 4);
    assert_eq!(speed.orders.count, 2);
    let names: Vec<_> = speed.stations.iter().map(|s| s.station.as_str()).collect();
    assert_eq!(names, ["wok", "bar"], "in the menu's order");
    assert!(speed.items.median_minutes.unwrap() < 1.0);
    // The figures sent to the restaurant's room say the same.
    loop {
        let e = next_of(&mut events, EventKind::AnalyticsUpdate, WAIT).await;
        let sent: chit_protocol::Analytics = serde_json::from_value(e.data).unwrap();
        if sent.speed.orders.count == 2 {
            assert_eq!(sent.speed, *speed);
            break;
        }
    }
    // Recalling a done item takes its time back out.
    let (admin, _e) = server.admin().await;
    let (o, _) = admin
        .place_order(thai_order(&["Som tam @ 80"]), None)
        .await
        .unwrap();
    update_item(&admin, o.id, 1, ItemState::Done, false)
        .await
        .unwrap();
    assert_eq!(
        admin
            .stats(Some("thai-1".into()))
            .await
            .unwrap()
            .today
            .speed
            .items
            .count,
        5
    );
    update_item(&admin, o.id, 1, ItemState::Started, true)
        .await
        .unwrap();
    assert_eq!(
        admin
            .stats(Some("thai-1".into()))
            .await
            .unwrap()
            .today
            .speed
            .items
            .count,
        4
    );
}

#[tokio::test]
async fn a_new_menu_routes_the_orders_after_it() {
    let (server, kitchen, mut events) = with_menu().await;
    let (before, _) = kitchen
        .place_order(thai_order(&["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    let text = "stations = [\"hot\", \"cold\"]\n\
                [[category]]\nname = \"Noodles\"\nstation = \"hot\"\nprep_minutes = 7\nitems = [\"Pad Thai\"]\n";
    let said = kitchen::load_menu_text(&server, "thai-1", text);
    assert!(said.contains("version 2"), "{said}");
    let update = next_of(&mut events, EventKind::MenuUpdate, WAIT)
        .await
        .menu_update()
        .unwrap();
    assert_eq!(update.menu.unwrap().version, 2);
    let (after, _) = kitchen
        .place_order(thai_order(&["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    assert_eq!(before.items[0].station.as_deref(), Some("wok"));
    assert_eq!(after.items[0].station.as_deref(), Some("hot"));
    assert_eq!(after.items[0].prep_minutes, Some(7));
    let (menu, _) = kitchen::get_menu(&kitchen, "thai-1").await.unwrap();
    assert_eq!(menu.unwrap().stations, ["hot", "cold"]);
}
