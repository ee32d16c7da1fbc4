//! chit-server nodes on one PostgreSQL database: what one commits, the others' writers
//! see, so the order rules hold exactly once across nodes: idempotency keys, daily
//! order numbers, first-come claims, one gapless log, today's figures counting every
//! node's orders, and a group that collides with another node's tried again unseen.
//! (Fan-out between nodes is `cluster.rs`'s: these tests watch the node they ask, or
//! the database.)

use chit_e2e::nodes::{WAIT, nodes, rows, rows_until, two_nodes};
use chit_e2e::order;
use chit_protocol::{ErrorCode, EventKind, Role, Status};
use chit_server::Config;

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
