//! Two chit-server nodes on one PostgreSQL database: what one commits, the other's
//! writer sees, so first-come rules hold across nodes. (Fan-out between nodes, so that
//! a subscriber on one sees the other's events live, is not built yet.)

use std::sync::Arc;

use chit_e2e::pg::PgDb;
use chit_e2e::{TestServer, order};
use chit_protocol::{ErrorCode, Role, Status};
use chit_server::Config;

async fn two_nodes() -> (Arc<PgDb>, TestServer, TestServer) {
    let db = Arc::new(std::thread::spawn(PgDb::create).join().unwrap());
    let a = TestServer::on_database(db.clone(), tempfile::tempdir().unwrap(), Config::default());
    let a = a.await;
    let b = TestServer::on_database(db.clone(), tempfile::tempdir().unwrap(), Config::default());
    (db, a, b.await)
}

/// 10 rounds: an order offered to riders, one rider claiming it on each node at once.
/// Exactly one claim wins each round, the other is told `conflict`, and the order is
/// stored as the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_race_across_nodes_has_one_winner_each_round() {
    let (_db, a, b) = two_nodes().await;
    let (admin, _events) = a.admin().await;
    let (ann, _e1) = a.connect(&a.token(Role::Rider, Some("ann"))).await;
    let (bo, _e2) = b.connect(&b.token(Role::Rider, Some("bo"))).await;
    for round in 0..10 {
        let placed = admin.place_order(order("r1"), None).await.unwrap().0;
        for status in [Status::Confirmed, Status::Preparing] {
            admin
                .update_status(placed.id, status, None, false)
                .await
                .unwrap();
        }
        let (first, second) = tokio::join!(ann.claim_order(placed.id), bo.claim_order(placed.id));
        let winner = match (&first, &second) {
            (Ok(o), Err(e)) | (Err(e), Ok(o)) => {
                assert_eq!(e.code(), Some(ErrorCode::Conflict), "round {round}: {e}");
                o.rider.clone().expect("claimed")
            }
            _ => panic!("round {round}: one winner expected, got {first:?} and {second:?}"),
        };
        let stored = b.admin().await.0.get_order(placed.id).await.unwrap();
        assert_eq!(
            stored.rider.as_deref(),
            Some(winner.as_str()),
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
