//! Nothing is missed: resuming with `since` after a disconnect, a snapshot followed by
//! a subscribe while orders pour in, and a restart (graceful or kill -9) of the server.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use chit_client::Client;
use chit_e2e::{ServerProcess, TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, Status};

#[tokio::test]
async fn resume_after_disconnect_receives_exactly_the_missed_events() {
    let server = TestServer::start().await;
    let (placer, _p) = server.admin().await;
    let (watcher, mut events) = server.admin().await;
    let head = watcher.subscribe("restaurant:r1", None).await.unwrap();
    let (first, _) = placer.place_order(order("r1"), None).await.unwrap();
    let seen = next_stored(&mut events).await;
    assert_eq!(seen.order_event().unwrap().order.id, first.id);
    let last = seen.seq.unwrap();
    assert!(last > head);
    drop(watcher);
    drop(events);

    // While the watcher is away: two new orders, one update, and noise in r2.
    let (a, _) = placer.place_order(order("r1"), None).await.unwrap();
    placer.place_order(order("r2"), None).await.unwrap();
    placer
        .update_status(first.id, Status::Confirmed, None, false)
        .await
        .unwrap();
    let (b, _) = placer.place_order(order("r1"), None).await.unwrap();

    let (watcher, mut events) = server.admin().await;
    watcher
        .subscribe("restaurant:r1", Some(last))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let event = next_stored(&mut events).await;
        assert_eq!(event.room, "restaurant:r1");
        got.push((event.kind, event.order_event().unwrap().order.id));
    }
    assert_eq!(
        got,
        [
            (EventKind::NewOrder, a.id),
            (EventKind::OrderUpdate, first.id),
            (EventKind::NewOrder, b.id)
        ]
    );
    // Then live, with nothing repeated at the seam.
    let (c, _) = placer.place_order(order("r1"), None).await.unwrap();
    let live = next_stored(&mut events).await;
    assert_eq!(live.order_event().unwrap().order.id, c.id);
}

/// A customer's room and an order's room are read from the restaurant's rows: what one
/// replays after a disconnect is, seq for seq, what a watcher that stayed saw live.
#[tokio::test]
async fn customer_and_order_rooms_resume_with_the_seqs_they_were_sent_live() {
    let server = TestServer::start().await;
    let (placer, _p) = server.admin().await;
    let (first, _) = placer.place_order(order("r1"), None).await.unwrap();
    let rooms = [
        "customer:0812345678".to_string(),
        format!("order:{}", first.id),
    ];
    let (stayed, mut live) = server.admin().await;
    let (left, mut left_events) = server.admin().await;
    for room in &rooms {
        stayed.subscribe(room, Some(0)).await.unwrap();
        left.subscribe(room, Some(0)).await.unwrap();
    }
    let seen = |e: &chit_protocol::Event| {
        let o = e.order_event().unwrap();
        (
            e.room.clone(),
            e.seq.unwrap(),
            e.kind,
            o.order.id,
            o.order.status,
        )
    };
    // Both replay the first order from the start.
    let mut before = Vec::new();
    for _ in 0..2 {
        before.push(seen(&next_stored(&mut left_events).await));
    }
    drop(left);
    drop(left_events);

    // While one is away: the first order moves on, the customer orders twice more (in
    // r1 and r2), and another customer's order lands in r1.
    placer
        .update_status(first.id, Status::Confirmed, None, false)
        .await
        .unwrap();
    placer.place_order(order("r2"), None).await.unwrap();
    placer
        .place_order(chit_e2e::order_for("r1", "0899999999"), None)
        .await
        .unwrap();
    placer
        .update_status(first.id, Status::Preparing, None, false)
        .await
        .unwrap();
    placer.place_order(order("r1"), None).await.unwrap();

    // The one that stayed: the first order twice (replayed), then what came meanwhile.
    let mut all = Vec::new();
    for _ in 0..2 + 2 * 2 + 2 {
        all.push(seen(&next_stored(&mut live).await));
    }
    assert_eq!(all[..2], before[..]);
    let (back, mut back_events) = server.admin().await;
    let mut replayed = Vec::new();
    for room in &rooms {
        let last = before.iter().filter(|e| &e.0 == room).map(|e| e.1).max();
        back.subscribe(room, last).await.unwrap();
    }
    for _ in 0..all.len() - 2 {
        replayed.push(seen(&next_stored(&mut back_events).await));
    }
    let by_room = |events: &[(String, u64, EventKind, i64, Status)], room: &str| {
        events
            .iter()
            .filter(|e| e.0 == room)
            .cloned()
            .collect::<Vec<_>>()
    };
    for room in &rooms {
        assert_eq!(by_room(&replayed, room), by_room(&all[2..], room), "{room}");
    }
    let customer = by_room(&all[2..], &rooms[0]);
    assert_eq!(
        customer.len(),
        4,
        "two updates and two new orders: {customer:?}"
    );
    assert!(customer.windows(2).all(|w| w[0].1 < w[1].1), "{customer:?}");
}

#[tokio::test]
async fn a_since_from_another_log_or_the_future_must_resync() {
    let server = TestServer::start().await;
    let (client, _events) = server.admin().await;
    client.place_order(order("r1"), None).await.unwrap();
    let err = client
        .subscribe("restaurant:r1", Some(1_000_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResyncRequired));
    // The connection stays usable and a fresh subscribe works.
    assert!(client.subscribe("restaurant:r1", None).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_subscribe_misses_nothing_while_orders_are_placed() {
    let server = TestServer::start().await;
    let (placer, _p) = server.admin().await;
    let total = 300;
    let placing = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..total {
            let key = Some(format!("k{i}"));
            ids.push(placer.place_order(order("r1"), key).await.unwrap().0.id);
        }
        ids
    });
    // Take the snapshot while orders are flowing.
    let (kitchen, mut events) = server.admin().await;
    let (snapshot, head) = kitchen
        .list_orders(Some("r1".into()), None, Some(1000))
        .await
        .unwrap();
    kitchen
        .subscribe("restaurant:r1", Some(head))
        .await
        .unwrap();
    let mut known: BTreeSet<i64> = snapshot.iter().map(|o| o.id).collect();
    let mut last_seq = head;
    let placed: BTreeSet<i64> = placing.await.unwrap().into_iter().collect();
    while known.len() < placed.len() {
        let event = next_stored(&mut events).await;
        let seq = event.seq.unwrap();
        assert!(
            seq > last_seq,
            "events arrive in order, none twice ({seq} after {last_seq})"
        );
        last_seq = seq;
        let id = event.order_event().unwrap().order.id;
        assert!(
            known.insert(id),
            "order {id} was in the snapshot and also replayed"
        );
    }
    assert_eq!(known, placed);
}

#[tokio::test]
async fn a_graceful_restart_keeps_orders_and_seq() {
    let server = TestServer::start().await;
    let (client, _events) = server.admin().await;
    let (placed, _) = client
        .place_order(order("r1"), Some("k1".into()))
        .await
        .unwrap();
    client
        .update_status(placed.id, Status::Confirmed, None, false)
        .await
        .unwrap();
    let (_, head) = client.list_orders(None, None, None).await.unwrap();
    drop(client);
    let dir = server.stop().await;

    let server = TestServer::in_dir(dir, Default::default()).await;
    let (client, mut events) = server.admin().await;
    let (orders, head_after) = client.list_orders(None, None, None).await.unwrap();
    assert_eq!(head_after, head);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, Status::Confirmed);
    let (again, dup) = client
        .place_order(order("r1"), Some("k1".into()))
        .await
        .unwrap();
    assert!(dup && again.id == placed.id);
    client.subscribe("restaurant:r1", Some(head)).await.unwrap();
    let (next, _) = client.place_order(order("r1"), None).await.unwrap();
    let event = next_stored(&mut events).await;
    assert_eq!(event.seq, Some(head + 1), "seq continues after a restart");
    assert_eq!(event.order_event().unwrap().order.id, next.id);
}

/// kill -9 the real binary: everything acknowledged is there after a restart, seq goes
/// on, and `chit watch --since` replays exactly what came after, then goes on live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_acknowledged_orders_survive_and_watch_since_replays() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let token = server.admin_token();
    let (client, _events) = Client::connect(&server.url, &token, "test").await.unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let (o, _) = client
            .place_order(order("r1"), Some(format!("k{i}")))
            .await
            .unwrap();
        acknowledged.push(o.id);
    }
    let (_, seen_head) = client.list_orders(None, None, None).await.unwrap();
    // More after the point the watcher will resume from.
    let (after_a, _) = client.place_order(order("r1"), None).await.unwrap();
    client
        .update_status(acknowledged[0], Status::Confirmed, None, false)
        .await
        .unwrap();
    let (after_b, _) = client.place_order(order("r2"), None).await.unwrap();
    drop(client);
    server.kill();

    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let (client, _events) = Client::connect(&server.url, &token, "test").await.unwrap();
    let (orders, head) = client.list_orders(None, None, Some(1000)).await.unwrap();
    let stored: Vec<i64> = orders.iter().map(|o| o.id).collect();
    for id in acknowledged.iter().chain([&after_a.id, &after_b.id]) {
        assert!(
            stored.contains(id),
            "acknowledged order {id} survived kill -9"
        );
    }
    assert_eq!(orders.len(), 22);
    assert!(head > seen_head);

    let mut watch = std::process::Command::new(chit_e2e::bin("chit"))
        .args(["watch", "restaurant:r1", "--since"])
        .arg(seen_head.to_string())
        .env("CHIT_SERVER", &server.url)
        .env("CHIT_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(watch.stderr.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || stderr.next().unwrap().unwrap())
        .await
        .unwrap();
    assert!(ready.contains("watching restaurant:r1"), "{ready}");
    let (live, _) = client.place_order(order("r1"), None).await.unwrap();
    let stdout = BufReader::new(watch.stdout.take().unwrap());
    let lines: Vec<serde_json::Value> = tokio::task::spawn_blocking(move || {
        stdout
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .filter(|e: &serde_json::Value| e.get("seq").is_some())
            .take(3)
            .collect()
    })
    .await
    .unwrap();
    watch.kill().unwrap();
    watch.wait().unwrap();
    let got: Vec<(String, i64)> = lines
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("new_order".to_string(), after_a.id),
            ("order_update".to_string(), acknowledged[0]),
            ("new_order".to_string(), live.id)
        ]
    );
    let seqs: Vec<u64> = lines.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs[0] > seen_head);
}

/// SIGTERM: the server closes its clients with "going away", checkpoints the WAL into
/// the database file and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_clients_checkpoints_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let token = server.admin_token();
    let (client, mut events) = Client::connect(&server.url, &token, "test").await.unwrap();
    let (placed, _) = client.place_order(order("r1"), None).await.unwrap();
    let wal = dir.path().join("chit.db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0,
        "writes went to the WAL"
    );
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(events.recv().await.is_none(), "the connection was closed");
    assert_eq!(
        client.close_reason().as_deref(),
        Some("server shutting down")
    );
    assert_eq!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0),
        0,
        "the WAL was checkpointed"
    );
    assert_eq!(
        count_orders(&db),
        1,
        "order {} is in the database file",
        placed.id
    );
}

fn count_orders(db: &std::path::Path) -> i64 {
    let conn = chit_e2e::chit_server::store::open_connection(db, true).unwrap();
    conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .unwrap()
}

/// An order's room is replayed from the restaurant's log rows that name the order (and
/// its own chat): what a subscriber saw live, with the same seqs, is what a later
/// subscriber replays, and no other order's events are in it.
#[tokio::test]
async fn an_order_room_replays_exactly_what_it_sent_live() {
    let server = TestServer::start().await;
    let (client, _c) = server.admin().await;
    let (watcher, mut events) = server.admin().await;
    let (other, _) = client.place_order(order("r1"), None).await.unwrap();
    let (placed, _) = client.place_order(order("r1"), None).await.unwrap();
    let room = format!("order:{}", placed.id);
    let head = watcher.subscribe(&room, Some(0)).await.unwrap();
    let mut live = Vec::new();
    // Replayed first: its new_order.
    live.push(next_stored(&mut events).await);
    for status in [Status::Confirmed, Status::Preparing] {
        client
            .update_status(placed.id, status, None, false)
            .await
            .unwrap();
        client
            .update_status(other.id, status, None, false)
            .await
            .unwrap();
        live.push(next_stored(&mut events).await);
    }
    client.chat_send(&room, "two minutes").await.unwrap();
    live.push(next_stored(&mut events).await);
    client
        .update_status(placed.id, Status::Confirmed, None, true)
        .await
        .unwrap();
    live.push(next_stored(&mut events).await);
    let kinds: Vec<EventKind> = live.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::NewOrder,
            EventKind::OrderUpdate,
            EventKind::OrderUpdate,
            EventKind::ChatMessage,
            EventKind::OrderUpdate
        ]
    );
    assert!(live.iter().all(|e| e.room == room));
    assert!(live[0].seq.unwrap() <= head);
    assert!(live.windows(2).all(|w| w[0].seq < w[1].seq));
    let (late, mut replayed) = server.admin().await;
    late.subscribe(&room, Some(0)).await.unwrap();
    for want in &live {
        let got = next_stored(&mut replayed).await;
        assert_eq!(
            (&got.room, got.seq, got.kind, &got.data),
            (&want.room, want.seq, want.kind, &want.data)
        );
    }
    // From the middle, too.
    let (mid, mut from_mid) = server.admin().await;
    mid.subscribe(&room, live[2].seq).await.unwrap();
    for want in &live[3..] {
        assert_eq!(next_stored(&mut from_mid).await.seq, want.seq);
    }
}
