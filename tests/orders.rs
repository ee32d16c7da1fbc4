//! Orders end to end through the real client: placing, the status machine, idempotent
//! keys, validation, events in every room that follows an order, and figures.

use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, Fulfilment, Status};

#[tokio::test]
async fn placing_an_order_notifies_the_restaurant_customer_and_order_rooms() {
    let server = TestServer::start().await;
    let (client, mut events) = server.admin().await;
    for room in ["restaurant:r1", "customer:0812345678"] {
        client.subscribe(room, None).await.unwrap();
    }
    let (placed, duplicate) = client.place_order(order("r1"), None).await.unwrap();
    assert!(!duplicate);
    assert_eq!(placed.total, 2 * 12000 + 3500);
    assert_eq!(placed.status, Status::Pending);
    assert_eq!(placed.number, 1);
    assert_eq!(placed.customer.id, "0812345678");

    let mut rooms = Vec::new();
    for _ in 0..2 {
        let event = next_stored(&mut events).await;
        assert_eq!(event.kind, EventKind::NewOrder);
        assert_eq!(event.order_event().unwrap().order, placed);
        rooms.push(event.room);
    }
    rooms.sort();
    assert_eq!(rooms, ["customer:0812345678", "restaurant:r1"]);
    assert_eq!(client.get_order(placed.id).await.unwrap(), placed);
    let (second, _) = client.place_order(order("r1"), None).await.unwrap();
    assert_eq!(second.number, 2);
}

#[tokio::test]
async fn every_valid_transition_is_applied_and_published() {
    let server = TestServer::start().await;
    let (client, mut events) = server.admin().await;
    let paths: &[(Fulfilment, &[Status])] = &[
        (
            Fulfilment::Delivery,
            &[
                Status::Confirmed,
                Status::Preparing,
                Status::Ready,
                Status::PickedUp,
                Status::Delivered,
            ],
        ),
        (
            Fulfilment::Pickup,
            &[
                Status::Confirmed,
                Status::Preparing,
                Status::Ready,
                Status::Delivered,
            ],
        ),
        (Fulfilment::Delivery, &[Status::Rejected]),
        (Fulfilment::Delivery, &[Status::Cancelled]),
        (Fulfilment::Pickup, &[Status::Confirmed, Status::Cancelled]),
        (
            Fulfilment::Delivery,
            &[Status::Confirmed, Status::Preparing, Status::Cancelled],
        ),
        (
            Fulfilment::Pickup,
            &[
                Status::Confirmed,
                Status::Preparing,
                Status::Ready,
                Status::Cancelled,
            ],
        ),
    ];
    for (fulfilment, path) in paths {
        let mut new = order("r1");
        new.fulfilment = *fulfilment;
        let (placed, _) = client.place_order(new, None).await.unwrap();
        let room = format!("order:{}", placed.id);
        client.subscribe(&room, None).await.unwrap();
        let mut previous = Status::Pending;
        for status in *path {
            let order = client
                .update_status(placed.id, *status, None, false)
                .await
                .unwrap();
            assert_eq!(order.status, *status);
            let event = next_stored(&mut events).await;
            assert_eq!(
                (event.room.as_str(), event.kind),
                (room.as_str(), EventKind::OrderUpdate)
            );
            let change = event.order_event().unwrap();
            assert_eq!(
                (change.previous, change.order.status),
                (Some(previous), *status)
            );
            previous = *status;
        }
        client.unsubscribe(&room).await.unwrap();
    }
}

#[tokio::test]
async fn every_invalid_transition_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let (client, mut events) = server.admin().await;
    client.subscribe("restaurant:r1", None).await.unwrap();
    for fulfilment in [Fulfilment::Delivery, Fulfilment::Pickup] {
        for from in Status::ALL {
            // Reach `from` along a valid path, then try every other status.
            let mut new = order("r1");
            new.fulfilment = fulfilment;
            let (placed, _) = client.place_order(new, None).await.unwrap();
            let path: &[Status] = match (from, fulfilment) {
                (Status::Pending, _) => &[],
                (Status::Confirmed, _) => &[Status::Confirmed],
                (Status::Preparing, _) => &[Status::Confirmed, Status::Preparing],
                (Status::Ready, _) => &[Status::Confirmed, Status::Preparing, Status::Ready],
                (Status::PickedUp, Fulfilment::Pickup) => continue,
                (Status::PickedUp, _) => &[
                    Status::Confirmed,
                    Status::Preparing,
                    Status::Ready,
                    Status::PickedUp,
                ],
                (Status::Delivered, Fulfilment::Pickup) => &[
                    Status::Confirmed,
                    Status::Preparing,
                    Status::Ready,
                    Status::Delivered,
                ],
                (Status::Delivered, _) => &[
                    Status::Confirmed,
                    Status::Preparing,
                    Status::Ready,
                    Status::PickedUp,
                    Status::Delivered,
                ],
                (Status::Rejected, _) => &[Status::Rejected],
                (Status::Cancelled, _) => &[Status::Cancelled],
            };
            for s in path {
                client
                    .update_status(placed.id, *s, None, false)
                    .await
                    .unwrap();
            }
            let before = client.get_order(placed.id).await.unwrap();
            assert_eq!(before.status, from);
            for to in Status::ALL {
                if from.can_become(to, fulfilment) {
                    continue;
                }
                let err = client
                    .update_status(placed.id, to, None, false)
                    .await
                    .unwrap_err();
                assert_eq!(
                    err.code(),
                    Some(ErrorCode::InvalidTransition),
                    "{from} -> {to}"
                );
                assert!(
                    err.to_string().contains(&format!("cannot become {to}")),
                    "{err}"
                );
            }
            assert_eq!(client.get_order(placed.id).await.unwrap(), before);
        }
    }
    // Drain: the only stored events are those of the valid steps above; none came
    // from a refused change (each event's status differs from its previous).
    while let Some(event) = events.try_recv() {
        if let Some(change) = event.order_event() {
            assert_ne!(change.previous, Some(change.order.status));
        }
    }
}

#[tokio::test]
async fn a_recall_steps_back_exactly_one_bump() {
    let server = TestServer::start().await;
    let (client, _events) = server.admin().await;
    let (placed, _) = client.place_order(order("r1"), None).await.unwrap();
    client
        .update_status(placed.id, Status::Confirmed, None, false)
        .await
        .unwrap();
    client
        .update_status(placed.id, Status::Preparing, None, false)
        .await
        .unwrap();
    let back = client
        .update_status(placed.id, Status::Confirmed, None, true)
        .await
        .unwrap();
    assert_eq!(back.status, Status::Confirmed);
    let err = client
        .update_status(placed.id, Status::Ready, None, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidTransition));
    let err = client
        .update_status(placed.id, Status::Preparing, None, false)
        .await;
    assert!(err.is_ok(), "forward again after a recall");
}

#[tokio::test]
async fn the_same_key_returns_the_first_order_and_publishes_nothing_new() {
    let server = TestServer::start().await;
    let (client, mut events) = server.admin().await;
    client.subscribe("restaurant:r1", None).await.unwrap();
    let key = Some("pos-1-0001".to_string());
    let (first, dup) = client.place_order(order("r1"), key.clone()).await.unwrap();
    assert!(!dup);
    let mut changed = order("r1");
    changed.note = Some("a retry with a different body".into());
    let (again, dup) = client.place_order(changed, key.clone()).await.unwrap();
    assert!(dup);
    assert_eq!(again, first);
    // Another restaurant's key space is separate.
    let (other, dup) = client.place_order(order("r2"), key).await.unwrap();
    assert!(!dup);
    assert_ne!(other.id, first.id);
    let (next, _) = client.place_order(order("r1"), None).await.unwrap();
    assert_eq!(
        next_stored(&mut events)
            .await
            .order_event()
            .unwrap()
            .order
            .id,
        first.id
    );
    assert_eq!(
        next_stored(&mut events)
            .await
            .order_event()
            .unwrap()
            .order
            .id,
        next.id
    );
}

#[tokio::test]
async fn bad_orders_are_refused_with_reasons_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let (client, _events) = server.admin().await;
    type Change = fn(&mut chit_protocol::NewOrder);
    let cases: Vec<(Change, &str)> = vec![
        (|o| o.items.clear(), "at least one item"),
        (
            |o| o.items = vec![o.items[0].clone(); 101],
            "at most 100 items",
        ),
        (|o| o.items[0].qty = 100_000, "quantity"),
        (|o| o.items[0].unit_price = 1 << 60, "price"),
        (|o| o.items[0].unit_price = -1, "price"),
        (|o| o.note = Some("n".repeat(5000)), "longer than"),
        (|o| o.customer.address = None, "address"),
        (
            |o| o.restaurant = "no spaces please".into(),
            "not a valid id",
        ),
    ];
    for (change, expected) in cases {
        let mut bad = order("r1");
        change(&mut bad);
        let err = client.place_order(bad, None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::BadRequest), "{err}");
        assert!(err.to_string().contains(expected), "{err} !~ {expected}");
    }
    let (orders, head) = client.list_orders(None, None, None).await.unwrap();
    assert!(orders.is_empty());
    assert_eq!(head, 0);
    let err = client.get_order(999).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let err = client
        .update_status(999, Status::Confirmed, None, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
}

#[tokio::test]
async fn list_filters_by_restaurant_and_status_oldest_first() {
    let server = TestServer::start().await;
    let (client, _events) = server.admin().await;
    let mut ids = Vec::new();
    for r in ["r1", "r1", "r2", "r1"] {
        ids.push(client.place_order(order(r), None).await.unwrap().0.id);
    }
    client
        .update_status(ids[1], Status::Confirmed, None, false)
        .await
        .unwrap();
    client
        .update_status(ids[1], Status::Preparing, None, false)
        .await
        .unwrap();
    client
        .update_status(ids[3], Status::Rejected, None, false)
        .await
        .unwrap();
    let (orders, head) = client
        .list_orders(
            Some("r1".into()),
            Some(vec![Status::Pending, Status::Preparing]),
            None,
        )
        .await
        .unwrap();
    let listed: Vec<i64> = orders.iter().map(|o| o.id).collect();
    assert_eq!(listed, [ids[0], ids[1]]);
    // One row per new order and per update for r1's or r2's room, and one for the
    // riders when the delivery order starts preparing.
    assert_eq!(head, 8, "head counts every stored event");
    let (limited, _) = client.list_orders(None, None, Some(2)).await.unwrap();
    assert_eq!(
        limited.iter().map(|o| o.id).collect::<Vec<_>>(),
        [ids[2], ids[3]]
    );
}

#[tokio::test]
async fn list_orders_pages_with_a_cursor_until_none_remain() {
    let server = TestServer::start().await;
    let (client, _) = server.admin().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let restaurant = if i % 3 == 2 { "r2" } else { "r1" };
        ids.push(
            client
                .place_order(order(restaurant), None)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    let r1: Vec<i64> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, id)| *id)
        .collect();
    // Pages of 2, newest first, each oldest first; the last says so with no cursor.
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let (orders, head, next) = client
            .list_orders_page(Some("r1".into()), None, Some(2), cursor.clone())
            .await
            .unwrap();
        assert_eq!(head, 7);
        pages.push(orders.iter().map(|o| o.id).collect::<Vec<_>>());
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "the cursor must come to an end");
    }
    assert_eq!(
        pages,
        [vec![r1[3], r1[4]], vec![r1[1], r1[2]], vec![r1[0]],]
    );
    // A page that holds everything has no cursor.
    let (all, _, next) = client
        .list_orders_page(Some("r1".into()), None, Some(5), None)
        .await
        .unwrap();
    assert_eq!((all.len(), next), (5, None));
    let err = client
        .list_orders_page(None, None, None, Some("the middle".into()))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(chit_protocol::ErrorCode::BadRequest),
        "{err}"
    );
    assert!(err.to_string().contains("cursor"), "{err}");
}

#[tokio::test]
async fn stats_count_today_and_the_restaurant_room_gets_analytics() {
    let server = TestServer::start().await;
    let (client, mut events) = server.admin().await;
    client.subscribe("restaurant:r1", None).await.unwrap();
    let (a, _) = client.place_order(order("r1"), None).await.unwrap();
    let (b, _) = client.place_order(order("r1"), None).await.unwrap();
    client.place_order(order("r2"), None).await.unwrap();
    client
        .update_status(b.id, Status::Rejected, None, false)
        .await
        .unwrap();
    for s in [Status::Confirmed, Status::Preparing, Status::Ready] {
        client.update_status(a.id, s, None, false).await.unwrap();
    }
    let stats = client.stats(Some("r1".into())).await.unwrap();
    assert_eq!(stats.today.total_orders, 2);
    assert_eq!(stats.today.total_revenue, a.total);
    assert_eq!(stats.today.pending_orders, 0);
    assert_eq!(stats.today.open_orders, 1);
    assert_eq!(stats.today.cancelled_orders, 1);
    assert!(stats.today.avg_ready_minutes.is_some());
    assert!(stats.server.is_some(), "admins see server figures");
    // analytics_update events arrive and eventually reflect every change.
    loop {
        let event = chit_e2e::next_event(&mut events).await;
        if event.kind == EventKind::AnalyticsUpdate
            && event.data["open_orders"] == 1
            && event.data["total_orders"] == 2
        {
            assert_eq!(event.seq, None);
            break;
        }
    }
}

/// The figures sent after changes are kept as running sums by the writer; after many
/// concurrent changes of every kind (grouped into shared commits) they must equal the
/// figures read from the database.
#[tokio::test]
async fn figures_sent_after_many_changes_equal_the_figures_read_back() {
    let server = TestServer::start().await;
    let (watcher, mut events) = server.admin().await;
    for r in ["r1", "r2"] {
        watcher
            .subscribe(&format!("restaurant:{r}"), None)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (client, _events) = server.admin().await;
        tasks.push(tokio::spawn(async move {
            let _events = _events;
            for i in 0..12 {
                let r = if (c + i) % 2 == 0 { "r1" } else { "r2" };
                let (o, _) = client.place_order(order(r), None).await.unwrap();
                let path: &[(Status, bool)] = match i % 6 {
                    0 => &[],
                    1 => &[(Status::Rejected, false)],
                    2 => &[(Status::Confirmed, false), (Status::Preparing, false)],
                    // Ready, back to preparing, ready again: counted as ready once, from
                    // the first time.
                    3 => &[
                        (Status::Confirmed, false),
                        (Status::Preparing, false),
                        (Status::Ready, false),
                        (Status::Preparing, true),
                        (Status::Ready, false),
                    ],
                    4 => &[
                        (Status::Confirmed, false),
                        (Status::Preparing, false),
                        (Status::Ready, false),
                        (Status::PickedUp, false),
                        (Status::Delivered, false),
                    ],
                    _ => &[(Status::Confirmed, false), (Status::Cancelled, false)],
                };
                for (status, recall) in path {
                    client
                        .update_status(o.id, *status, None, *recall)
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut read = std::collections::HashMap::new();
    for r in ["r1", "r2"] {
        let stats = watcher.stats(Some(r.into())).await.unwrap();
        assert_eq!(stats.today.total_orders, 24);
        read.insert(
            format!("restaurant:{r}"),
            serde_json::to_value(&stats.today).unwrap(),
        );
    }
    // The last update sent for each restaurant is the one read back; an update that
    // never matches fails the test by timing out.
    let mut sent = std::collections::HashMap::new();
    while sent != read {
        let event = chit_e2e::next_event(&mut events).await;
        if event.kind == EventKind::AnalyticsUpdate {
            sent.insert(event.room, event.data);
        }
    }
}
