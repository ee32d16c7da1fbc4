//! Work done once across chit-server nodes on one PostgreSQL database, not once per
//! node: webhooks delivered by the node holding the lease (another takes over when it
//! stops), held orders fired and 86s ended once though every node's clock looks (and
//! on time by another node when the one that placed them stopped), a menu
//! loaded beside the servers taken up once, and the kitchen's menus and 86s as every
//! node's writer changes them.

use std::sync::Arc;
use std::time::Duration;

use chit_e2e::nodes::{WAIT, node, rows, rows_until, two_nodes};
use chit_e2e::order;
use chit_e2e::pg::PgDb;
use chit_e2e::receiver::Receiver;
use chit_protocol::ErrorCode;
use chit_server::Config;

/// Adds a webhook endpoint for every event to the database, as `chit-server webhook
/// add` does (from the head on).
async fn add_webhook(db: &Arc<PgDb>, url: String) {
    let db = db.clone();
    let s = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
    tokio::task::spawn_blocking(move || {
        db.connect()
            .execute(
                "INSERT INTO webhooks (url, secret, created_at, delivered_seq)
                 VALUES ($1, $2, $3, (SELECT seq FROM log_head))",
                &[&url, &s, &chit_protocol::now_ms()],
            )
            .unwrap()
    })
    .await
    .unwrap();
}

/// Two nodes, one webhook endpoint (a real HTTP receiver): orders placed on both
/// nodes reach it once each, not once per node, from the node holding the lease. Then
/// that node stops: the other takes the lease over within seconds and delivers what
/// follows, from the saved cursor, still each event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_delivered_once_by_the_node_holding_the_lease() {
    assert_eq!(chit_server::store::postgres::lease::WEBHOOKS, 1667787124);
    let receiver = Receiver::start().await;
    let db = Arc::new(std::thread::spawn(PgDb::create).join().unwrap());
    let mut a = node(&db, Config::default()).await;
    add_webhook(&db, receiver.url()).await;
    // A alone: it takes the lease.
    let lease_taken = |r: &[postgres::Row]| r[0].get::<_, i64>(0) == 1;
    rows_until(&db, LEASE_HOLDERS, "node A to take the lease", lease_taken).await;
    let b = node(&db, Config::default()).await;
    let (on_a, _ea) = a.admin().await;
    let (on_b, _eb) = b.admin().await;
    for _ in 0..5 {
        on_a.place_order(order("r1"), None).await.unwrap();
        on_b.place_order(order("r2"), None).await.unwrap();
    }
    // One more commit on each node: a node delivering (lease or not) would wake for
    // its own and deliver everything before it.
    on_a.place_order(order("r1"), None).await.unwrap();
    on_b.place_order(order("r2"), None).await.unwrap();
    receiver.wait_for(WAIT, |got| unique(got) >= 12).await;
    rows_until(
        &db,
        "SELECT delivered_seq FROM webhooks",
        "the cursor to be saved",
        |r| r[0].get::<_, i64>(0) == 12,
    )
    .await;
    let got = receiver.deliveries();
    assert_eq!(got.len(), 12, "each event once, not once per node");

    // A stops (its tasks save their cursors, its session lets the lock go).
    a.shutdown().await;
    let stopped = tokio::time::Instant::now();
    for _ in 0..5 {
        on_b.place_order(order("r2"), None).await.unwrap();
    }
    let got = receiver.wait_for(WAIT, |got| unique(got) >= 17).await;
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "B took over in {:?}",
        stopped.elapsed()
    );
    rows_until(&db, LEASE_HOLDERS, "B to hold the lease", lease_taken).await;
    let seqs: Vec<u64> = got
        .iter()
        .map(|d| d.json()["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=17).collect::<Vec<u64>>(),
        "every event once, in order"
    );
}

/// How many sessions hold the webhook lease.
const LEASE_HOLDERS: &str = "SELECT COUNT(*) FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objid = 1667787124
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// How many different events (webhook ids) arrived.
fn unique(got: &[chit_e2e::receiver::Delivery]) -> usize {
    got.iter()
        .map(|d| d.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Held orders placed on two nodes, all due at one time: both nodes' clocks fire them
/// at once, and each is fired once (one `order_fired` in the log each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_orders_fire_once_across_nodes() {
    let (db, a, b) = two_nodes().await;
    let (on_a, _ea) = a.admin().await;
    let (on_b, _eb) = b.admin().await;
    // Fired 2 s from now (the due time less the default prep time of 15 minutes).
    let due = chit_protocol::now_ms() + 15 * 60_000 + 2_000;
    let held = |c: &chit_client::Client| {
        let c = c.clone();
        async move {
            for _ in 0..10 {
                let mut o = order("r1");
                o.due_at = Some(chit_protocol::format_time(due));
                let placed = c.place_order(o, None).await.unwrap().0;
                assert!(placed.is_held(), "{placed:?}");
            }
        }
    };
    tokio::join!(held(&on_a), held(&on_b));
    rows_until(
        &db,
        "SELECT 1 FROM fire_schedule",
        "every held order to fire",
        |r| r.is_empty(),
    )
    .await;
    let fired = rows(
        &db,
        "SELECT o.id, (SELECT COUNT(*) FROM events e
                       WHERE e.kind = 'order_fired' AND e.order_id = o.id)
         FROM orders o ORDER BY o.id",
    )
    .await;
    let counts: Vec<(i64, i64)> = fired.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(counts.len(), 20);
    assert!(
        counts.iter().all(|(_, n)| *n == 1),
        "fired once each: {counts:?}"
    );
}

/// 86s ending at one time, made on two nodes: both nodes' clocks end them, and each
/// ends once (one `menu_update`, expired, for each item). A menu loaded beside the
/// servers is taken up once, and then routes the orders of both nodes; an 86 made on
/// one node refuses the item on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_sixes_and_menu_loads_hold_across_nodes() {
    let (db, a, b) = two_nodes().await;
    let (on_a, _ea) = a.admin().await;
    let (on_b, _eb) = b.admin().await;
    // Both nodes read r1's kitchen (no menu, nothing 86'd) before anything changes.
    on_a.place_order(order("r1"), None).await.unwrap();
    on_b.place_order(order("r1"), None).await.unwrap();
    let until = Some(chit_protocol::format_time(chit_protocol::now_ms() + 2_000));
    for (client, item) in [(&on_a, "Som tam"), (&on_b, "Khao soi"), (&on_a, "Cha yen")] {
        chit_e2e::kitchen::mark_unavailable(client, "r1", item, until.clone())
            .await
            .unwrap();
    }
    rows_until(&db, "SELECT 1 FROM unavailable", "every 86 to end", |r| {
        r.is_empty()
    })
    .await;
    let menu = chit_server::kitchen::menu_file::parse(
        "menu.toml",
        "default_station = \"wok\"\n[[category]]\nname = \"Mains\"\nstation = \"wok\"\nitems = [\"Pad Thai\"]\n",
        "r1",
    )
    .unwrap();
    let json = serde_json::to_string(&chit_protocol::Menu { version: 1, ..menu }).unwrap();
    {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            // As `chit-server menu load` leaves it for the servers.
            db.connect()
                .execute(
                    "INSERT INTO menu_loads (restaurant, menu, version, loaded_at)
                     VALUES ('r1', $1, 1, $2)",
                    &[&json, &chit_protocol::now_ms()],
                )
                .unwrap()
        })
        .await
        .unwrap();
    }
    rows_until(&db, "SELECT 1 FROM menus", "the menu to be taken up", |r| {
        !r.is_empty()
    })
    .await;
    let updates = rows(
        &db,
        "SELECT data FROM events WHERE kind = 'menu_update' ORDER BY seq",
    )
    .await;
    let updates: Vec<serde_json::Value> = updates
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
        .collect();
    let mut expired: Vec<&str> = updates
        .iter()
        .filter(|u| u["expired"] == true)
        .map(|u| u["item"].as_str().unwrap())
        .collect();
    expired.sort();
    assert_eq!(
        expired,
        ["Cha yen", "Khao soi", "Som tam"],
        "each 86 ends once"
    );
    let loaded = updates.iter().filter(|u| u["change"] == "loaded").count();
    assert_eq!(loaded, 1, "the menu is taken up once");

    // Whichever node took it up, both route by it now.
    for client in [&on_a, &on_b] {
        let placed = client.place_order(order("r1"), None).await.unwrap().0;
        assert_eq!(
            placed.items[0].station.as_deref(),
            Some("wok"),
            "{placed:?}"
        );
    }
    // An 86 on A holds on B.
    chit_e2e::kitchen::mark_unavailable(&on_a, "r1", "Pad Thai", None)
        .await
        .unwrap();
    let refused = on_b.place_order(order("r1"), None).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Unavailable), "{refused}");
}

/// A held order placed on a node that then stops is fired on time by another node,
/// whose clock no commit of its own woke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_order_of_a_stopped_node_fires_on_another_on_time() {
    let (db, mut a, _b) = two_nodes().await;
    let (on_a, _ea) = a.admin().await;
    let mut o = order("r1");
    // Fired 2 s from now (the due time less the default prep time of 15 minutes).
    let fire_at = chit_protocol::now_ms() + 2_000;
    o.due_at = Some(chit_protocol::format_time(fire_at + 15 * 60_000));
    let placed = on_a.place_order(o, None).await.unwrap().0;
    assert!(placed.is_held());
    a.shutdown().await;
    let fired = rows_until(
        &db,
        "SELECT at FROM events WHERE kind = 'order_fired'",
        "B to fire A's held order",
        |r| !r.is_empty(),
    )
    .await;
    let at: i64 = fired[0].get(0);
    assert!(
        (fire_at..fire_at + 3_000).contains(&at),
        "fired {} ms after its time",
        at - fire_at
    );
}
