//! A crash in the middle of load: `kill -9` at a random moment, restart, and check that
//! nothing acknowledged was lost or doubled, in the database or at the kitchen. The real
//! `chit-server` binary, the real client, loopback. Ten trials in a row are `#[ignore]`d;
//! `scripts/faults.sh crash` runs them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chit_client::Client;
use chit_e2e::{ServerProcess, order};
use chit_server::store::{self, queries};
use tokio::time::{Instant, timeout};

/// A tiny xorshift for kill times: tests need variety, not secrecy.
fn random_below(n: u64) -> u64 {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % n
}

/// Places orders with keys `c{client}-{n}` until the connection dies; returns the keys
/// acknowledged, with their order ids.
async fn place_until_lost(url: String, token: String, c: usize) -> Vec<(String, i64)> {
    let Ok((client, _)) = Client::connect(&url, &token, "test").await else {
        return Vec::new();
    };
    let mut acked = Vec::new();
    for round in 0..10_000 {
        let batch = (0..8).map(|j| {
            let key = format!("c{c}-{}", round * 8 + j);
            let client = client.clone();
            async move {
                let placed = client.place_order(order("r1"), Some(key.clone())).await;
                placed.map(|(o, _)| (key, o.id))
            }
        });
        let results = futures_util::future::join_all(batch).await;
        let lost = results.iter().any(Result::is_err);
        acked.extend(results.into_iter().flatten());
        if lost {
            break;
        }
    }
    acked
}

/// The retries after a crash come as fast as one connection can send them; rate limits
/// are not what these trials are about.
const UNLIMITED: &[&str] = &["--rate-limit", "0"];

/// One trial: load, SIGKILL at a random moment, restart, check.
async fn crash_trial(trial: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start_with(&db, "127.0.0.1:0", UNLIMITED);
    let token = server.admin_token();

    // The kitchen: everything new in restaurant:r1, by seq.
    let (kitchen, mut kitchen_events) = Client::connect(&server.url, &token, "kitchen")
        .await
        .unwrap();
    kitchen.subscribe("restaurant:r1", Some(0)).await.unwrap();
    let clients: Vec<_> = (0..4)
        .map(|c| tokio::spawn(place_until_lost(server.url.clone(), token.clone(), c)))
        .collect();

    let kill_after = Duration::from_millis(100 + random_below(400));
    tokio::time::sleep(kill_after).await;
    server.kill();

    let mut acked: HashMap<String, i64> = HashMap::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    let mut seen: BTreeMap<u64, i64> = BTreeMap::new();
    while let Some(event) = kitchen_events.recv().await {
        if let (Some(seq), Some(e)) = (event.seq, event.order_event()) {
            seen.insert(seq, e.order.id);
        }
    }

    // Restart; the kitchen resumes from the last seq it saw; every client retries the
    // keys it had not seen acknowledged (as a point of sale would).
    let server = ServerProcess::start_with(&db, "127.0.0.1:0", UNLIMITED);
    let (kitchen, mut kitchen_events) = Client::connect(&server.url, &token, "kitchen")
        .await
        .unwrap();
    let last_seq = seen.keys().next_back().copied().unwrap_or(0);
    kitchen
        .subscribe("restaurant:r1", Some(last_seq))
        .await
        .unwrap();
    let (retry, _) = Client::connect(&server.url, &token, "pos").await.unwrap();
    let tried: Vec<String> = (0..4)
        .flat_map(|c| {
            let most = acked
                .keys()
                .filter(|k| k.starts_with(&format!("c{c}-")))
                .filter_map(|k| k.rsplit('-').next()?.parse::<usize>().ok())
                .max()
                .map_or(0, |m| m + 9);
            (0..most).map(move |n| format!("c{c}-{n}"))
        })
        .collect();
    let mut final_ids: HashMap<String, i64> = HashMap::new();
    for key in &tried {
        let (o, duplicate) = retry
            .place_order(order("r1"), Some(key.clone()))
            .await
            .unwrap();
        if let Some(&id) = acked.get(key) {
            assert!(
                duplicate,
                "trial {trial}: acknowledged key {key} placed again"
            );
            assert_eq!(o.id, id, "trial {trial}: key {key} changed order");
        }
        final_ids.insert(key.clone(), o.id);
    }

    // The kitchen ends with every order exactly once.
    let wanted: HashSet<i64> = final_ids.values().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut resumed_twice = Vec::new();
    while wanted.iter().any(|id| !seen.values().any(|v| v == id)) && Instant::now() < deadline {
        let Ok(Some(event)) = timeout(Duration::from_secs(5), kitchen_events.recv()).await else {
            break;
        };
        if let (Some(seq), Some(e)) = (event.seq, event.order_event())
            && seen.insert(seq, e.order.id).is_some()
        {
            resumed_twice.push(seq);
        }
    }
    assert!(
        resumed_twice.is_empty(),
        "trial {trial}: replayed twice: {resumed_twice:?}"
    );
    let mut per_order: HashMap<i64, usize> = HashMap::new();
    for id in seen.values() {
        *per_order.entry(*id).or_default() += 1;
    }
    for id in &wanted {
        assert_eq!(
            per_order.get(id),
            Some(&1),
            "trial {trial}: order {id} reached the kitchen {:?} times",
            per_order.get(id)
        );
    }

    // And the database holds exactly one order per key, every acknowledged one among them.
    let conn = store::open_connection(&db, true).unwrap();
    let orders: i64 = conn
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    let keys: i64 = conn
        .query_row("SELECT COUNT(*) FROM idempotency_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        orders, keys,
        "trial {trial}: an order without its key, or twice"
    );
    assert_eq!(orders as usize, tried.len());
    for (key, id) in &acked {
        assert_eq!(
            queries::find_key(&conn, "r1", key).unwrap(),
            Some(*id),
            "trial {trial}: acknowledged order {id} ({key}) is missing"
        );
    }
    eprintln!(
        "trial {trial}: killed after {kill_after:?} with {} acknowledged; {} orders in all",
        acked.len(),
        orders
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_under_load_nothing_acknowledged_is_lost_or_doubled() {
    crash_trial(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: 10 crash trials in a row; run by scripts/faults.sh"]
async fn ten_crash_trials_in_a_row() {
    for trial in 1..=10 {
        crash_trial(trial).await;
    }
}
