//! PostgreSQL restarted under a running node (a server of the test's own, stopped at
//! once as a crash would stop it, then started again): meanwhile writes are refused
//! with `internal` and nothing is acknowledged; afterwards the node writes again by
//! itself, every acknowledged order is there, and a display that stayed connected sees
//! every order once, in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chit_e2e::pg::{PgDb, PrivateCluster};
use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, Role};
use chit_server::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_writes_while_postgresql_is_down_and_recovers_by_itself() {
    let cluster = Arc::new(std::thread::spawn(PrivateCluster::start).join().unwrap());
    let admin = cluster.admin();
    let db = Arc::new(
        std::thread::spawn(move || PgDb::create_on(admin, "chit_restart"))
            .join()
            .unwrap(),
    );
    let node =
        TestServer::on_database(db.clone(), tempfile::tempdir().unwrap(), Config::default()).await;
    let (display, mut seen) = node.connect(&node.token(Role::Kitchen, Some("r1"))).await;
    display.subscribe("restaurant:r1", None).await.unwrap();
    let (pos, _events) = node.connect(&node.token(Role::Pos, Some("r1"))).await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(pos.place_order(order("r1"), None).await.unwrap().0.id);
    }

    let down = cluster.clone();
    std::thread::spawn(move || down.stop()).join().unwrap();
    for _ in 0..3 {
        let refused = pos.place_order(order("r1"), None).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::Internal), "{refused}");
    }

    let up = cluster.clone();
    std::thread::spawn(move || up.start_again()).join().unwrap();
    // The first write after the restart may still meet the lost connection; the node
    // connects again by itself, with no restart of its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        match pos.place_order(order("r1"), None).await {
            Ok((o, _)) => break o.id,
            Err(e) => {
                assert_eq!(e.code(), Some(ErrorCode::Internal), "{e}");
                assert!(Instant::now() < deadline, "the node writes again: {e}");
                // As a point of sale retries: after a pause, not at once.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    placed.push(first);
    for _ in 0..5 {
        placed.push(pos.place_order(order("r1"), None).await.unwrap().0.id);
    }

    let mut got = Vec::new();
    while got.len() < placed.len() {
        let event = next_stored(&mut seen).await;
        if event.kind == EventKind::NewOrder {
            got.push(event.data["id"].as_i64().unwrap());
        }
    }
    assert_eq!(got, placed, "every acknowledged order once, in order");
    let stored: Vec<i64> = std::thread::spawn(move || {
        db.connect()
            .query("SELECT id FROM orders ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
    .join()
    .unwrap();
    assert_eq!(
        stored, placed,
        "nothing acknowledged is lost, nothing refused is stored"
    );
}
