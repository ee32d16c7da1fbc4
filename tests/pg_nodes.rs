//! chit-server nodes on one PostgreSQL database: what one commits, the others' writers
//! see, so the rules hold exactly once across nodes: first-come claims, idempotency
//! keys, daily order numbers, held orders fired and 86s ended once, webhooks delivered
//! once (by the node holding the lease), today's figures counting every node's orders.
//! (Fan-out between nodes, so that a subscriber on one sees the others' events live, is
//! not built here: each test watches the node it asks, or the database.)

use std::sync::Arc;
use std::time::Duration;

use chit_e2e::pg::PgDb;
use chit_e2e::receiver::Receiver;
use chit_e2e::{TestServer, order};
use chit_protocol::{ErrorCode, EventKind, Role, Status};
use chit_server::Config;

/// How long a condition is waited for before the test fails.
const WAIT: Duration = Duration::from_secs(20);

async fn two_nodes() -> (Arc<PgDb>, TestServer, TestServer) {
    let (db, mut nodes) = nodes(2, Config::default()).await;
    let b = nodes.pop().unwrap();
    (db, nodes.pop().unwrap(), b)
}

/// `n` nodes on one new database, started one after another.
async fn nodes(n: usize, config: Config) -> (Arc<PgDb>, Vec<TestServer>) {
    let db = Arc::new(std::thread::spawn(PgDb::create).join().unwrap());
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(node(&db, config.clone()).await);
    }
    (db, nodes)
}

async fn node(db: &Arc<PgDb>, config: Config) -> TestServer {
    TestServer::on_database(db.clone(), tempfile::tempdir().unwrap(), config).await
}

/// Runs `query` on the database off the test's threads (the client blocks on a runtime
/// of its own); its rows.
async fn rows(db: &Arc<PgDb>, query: &'static str) -> Vec<postgres::Row> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.connect().query(query, &[]).unwrap())
        .await
        .unwrap()
}

/// Reads `query` again (every 50 ms) until `done` holds for its rows, for at most
/// [`WAIT`]; the rows.
async fn rows_until(
    db: &Arc<PgDb>,
    query: &'static str,
    what: &str,
    done: impl Fn(&[postgres::Row]) -> bool,
) -> Vec<postgres::Row> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let got = rows(db, query).await;
        if done(&got) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
    }
}

/// 10 rounds: the same idempotency key sent to every node at once, as a client retrying
/// through a load balancer would. One order is placed each round: every node answers
/// with it, all but one as a duplicate; none refuses, and the database has one order
/// and one key per round. With two nodes and with three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_on_every_node_at_once_places_one_order() {
    for n in [2, 3] {
        let (db, nodes) = nodes(n, Config::default()).await;
        let mut clients = Vec::new();
        for node in &nodes {
            clients.push(node.admin().await);
        }
        for round in 0..10 {
            let key = format!("retry-{round}");
            let answers = futures_util::future::join_all(
                clients
                    .iter()
                    .map(|(c, _)| c.place_order(order("r1"), Some(key.clone()))),
            )
            .await;
            let answers: Vec<_> = answers
                .into_iter()
                .map(|a| a.unwrap_or_else(|e| panic!("{n} nodes, round {round}: refused: {e}")))
                .collect();
            let id = answers[0].0.id;
            assert!(
                answers.iter().all(|(o, _)| o.id == id),
                "{n} nodes, round {round}: one order for the key: {answers:?}"
            );
            let fresh = answers.iter().filter(|(_, duplicate)| !duplicate).count();
            assert_eq!(
                fresh, 1,
                "{n} nodes, round {round}: one placed, the rest duplicates"
            );
        }
        let counts = rows(
            &db,
            "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM idempotency_keys),
                    (SELECT COUNT(DISTINCT number) FROM orders)",
        )
        .await;
        let counts: (i64, i64, i64) = (counts[0].get(0), counts[0].get(1), counts[0].get(2));
        assert_eq!(
            counts,
            (10, 10, 10),
            "{n} nodes: orders, keys, distinct numbers"
        );
    }
}

/// Orders placed on three nodes at once for one restaurant get the day's numbers 1, 2,
/// 3, … each once: the daily number row is locked by the writer that numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_order_numbers_are_given_once_across_nodes() {
    let (db, nodes) = nodes(3, Config::default()).await;
    let mut clients = Vec::new();
    for node in &nodes {
        clients.push(node.admin().await.0);
    }
    let placing = clients.iter().map(|c| async move {
        let mut numbers = Vec::new();
        for _ in 0..15 {
            numbers.push(c.place_order(order("r1"), None).await.unwrap().0.number);
        }
        numbers
    });
    let mut numbers: Vec<u32> = futures_util::future::join_all(placing)
        .await
        .into_iter()
        .flatten()
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=45).collect::<Vec<u32>>());
    let last = rows(
        &db,
        "SELECT last FROM order_numbers WHERE restaurant = 'r1'",
    )
    .await;
    assert_eq!(last.iter().map(|r| r.get::<_, i64>(0)).max(), Some(45));
}

/// 10 rounds: an order offered to riders, one rider claiming it on each of three nodes
/// at once. Exactly one claim wins each round, the others are told `conflict`, and the
/// order is stored as the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_race_across_three_nodes_has_one_winner_each_round() {
    let (_db, nodes) = nodes(3, Config::default()).await;
    let (admin, _events) = nodes[0].admin().await;
    let mut riders = Vec::new();
    for (node, name) in nodes.iter().zip(["ann", "bo", "cy"]) {
        riders.push(node.connect(&node.token(Role::Rider, Some(name))).await);
    }
    for round in 0..10 {
        let placed = admin.place_order(order("r1"), None).await.unwrap().0;
        for status in [Status::Confirmed, Status::Preparing] {
            admin
                .update_status(placed.id, status, None, false)
                .await
                .unwrap();
        }
        let claims = futures_util::future::join_all(
            riders.iter().map(|(rider, _)| rider.claim_order(placed.id)),
        )
        .await;
        let won: Vec<String> = claims
            .iter()
            .filter_map(|c| c.as_ref().ok())
            .map(|o| o.rider.clone().expect("claimed"))
            .collect();
        assert_eq!(won.len(), 1, "round {round}: one winner, got {claims:?}");
        for lost in claims.iter().filter_map(|c| c.as_ref().err()) {
            assert_eq!(
                lost.code(),
                Some(ErrorCode::Conflict),
                "round {round}: {lost}"
            );
        }
        // Read back on another node than the one that placed it.
        let stored = nodes[2].admin().await.0.get_order(placed.id).await.unwrap();
        assert_eq!(
            stored.rider.as_deref(),
            Some(won[0].as_str()),
            "round {round}"
        );
    }
}

/// Orders placed on both nodes at once take seqs from the one counter: the log has no
/// gap and no seq twice, and each node's answers are in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_placed_on_two_nodes_at_once_share_one_gapless_log() {
    let (db, a, b) = two_nodes().await;
    let (on_a, _ea) = a.admin().await;
    let (on_b, _eb) = b.admin().await;
    let place = |client: &chit_client::Client| {
        let client = client.clone();
        async move {
            let mut ids = Vec::new();
            for _ in 0..30 {
                ids.push(client.place_order(order("r1"), None).await.unwrap().0.id);
            }
            ids
        }
    };
    let (from_a, from_b) = tokio::join!(place(&on_a), place(&on_b));
    // The client blocks on a runtime of its own: off the test's.
    let log: Vec<(i64, i64)> = std::thread::spawn(move || {
        db.connect()
            .query(
                "SELECT seq, order_id FROM events WHERE room = 'restaurant:r1' ORDER BY seq",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    })
    .join()
    .unwrap();
    let seqs: Vec<i64> = log.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<i64>>(), "one gapless log");
    let mut placed: Vec<i64> = from_a.into_iter().chain(from_b).collect();
    placed.sort();
    let mut logged: Vec<i64> = log.iter().map(|(_, id)| *id).collect();
    logged.sort();
    assert_eq!(placed, logged);
}

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

/// The next `analytics_update` that counts `n` orders today.
async fn told(events: &mut chit_client::Events, n: i64) -> chit_protocol::Event {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, chit_e2e::next_event(events))
            .await
            .unwrap_or_else(|_| panic!("no analytics_update with {n} orders"));
        if event.kind == EventKind::AnalyticsUpdate && event.data["total_orders"] == n {
            return event;
        }
    }
}

/// Today's figures sent on a node count every node's orders, not only its own commits:
/// B places one, A two, B one more; B's restaurant room is then told of four.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_sent_on_a_node_count_every_nodes_orders() {
    let (_db, a, b) = two_nodes().await;
    let (on_a, _ea) = a.admin().await;
    let (on_b, mut events) = b.admin().await;
    on_b.subscribe("restaurant:r1", None).await.unwrap();
    on_b.place_order(order("r1"), None).await.unwrap();
    told(&mut events, 1).await;
    on_a.place_order(order("r1"), None).await.unwrap();
    on_a.place_order(order("r1"), None).await.unwrap();
    let last = on_b.place_order(order("r1"), None).await.unwrap().0;
    let four = told(&mut events, 4).await;
    assert_eq!(four.data["total_revenue"], 4 * last.total);
    // A rejects B's order; B's next change counts that too.
    on_a.update_status(last.id, Status::Rejected, None, false)
        .await
        .unwrap();
    on_b.place_order(order("r1"), None).await.unwrap();
    let five = told(&mut events, 5).await;
    assert_eq!(five.data["cancelled_orders"], 1, "{}", five.data);
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

/// A group that deadlocks with another node's transaction is tried again whole, and the
/// caller is answered as if nothing happened. The other transaction (on a connection of
/// the test's own, as another node's writer would hold them) holds `log_head`, which the
/// writer takes last; the writer holds the order it changes; then the other asks for
/// that order. PostgreSQL breaks the deadlock by failing the writer's transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_deadlocks_with_another_nodes_is_retried_unseen() {
    let (db, mut nodes) = nodes(1, Config::default()).await;
    let a = nodes.pop().unwrap();
    let (admin, _events) = a.admin().await;
    let placed = admin.place_order(order("r1"), None).await.unwrap().0;
    let (go, went) = std::sync::mpsc::channel::<()>();
    let (holding, held) = tokio::sync::oneshot::channel::<()>();
    let other = {
        let (db, id) = (db.clone(), placed.id);
        std::thread::spawn(move || {
            let mut c = db.connect();
            // The writer, which waits first, finds the deadlock (and fails) first.
            let _ = c.batch_execute("SET deadlock_timeout = '30s'");
            let mut tx = c.transaction().unwrap();
            tx.query("SELECT seq FROM log_head FOR UPDATE", &[])
                .unwrap();
            holding.send(()).unwrap();
            went.recv().unwrap();
            tx.query("SELECT id FROM orders WHERE id = $1 FOR UPDATE", &[&id])
                .unwrap();
            tx.commit().unwrap();
        })
    };
    held.await.unwrap();
    let update = {
        let admin = admin.clone();
        tokio::spawn(async move {
            admin
                .update_status(placed.id, Status::Confirmed, None, false)
                .await
        })
    };
    // The writer has locked the order and waits for log_head.
    rows_until(
        &db,
        "SELECT 1 FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
        "the writer to wait for log_head",
        |r| !r.is_empty(),
    )
    .await;
    go.send(()).unwrap();
    let updated = tokio::time::timeout(WAIT, update).await.unwrap().unwrap();
    let updated = updated.expect("answered, not refused");
    assert_eq!(updated.status, Status::Confirmed);
    tokio::task::spawn_blocking(move || other.join().unwrap())
        .await
        .unwrap();
    let log = rows(&db, "SELECT seq, kind FROM events ORDER BY seq").await;
    let kinds: Vec<(i64, String)> = log.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        kinds,
        [
            (1, "new_order".to_string()),
            (2, "order_update".to_string())
        ],
        "the retried group logged once"
    );
}
