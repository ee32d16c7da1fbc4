//! Three chit-server nodes on one PostgreSQL database, fanned out over one real
//! `nats-server`: what any node commits reaches the subscribers of every node, once, in
//! the one seq order; with NATS gone (killed, or never configured) the nodes follow the
//! database and still lose nothing.

use std::collections::HashSet;
use std::sync::Arc;

use chit_client::Events;
use chit_e2e::nats::Nats;
use chit_e2e::pg::PgDb;
use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{Event, EventKind, Role, Status};
use chit_server::Config;
use chit_server::follow::FollowConfig;

/// `n` nodes on a new database, fanned out over `nats` if given, following the
/// database as they do by default.
async fn nodes(n: usize, nats: Option<&Nats>) -> (Arc<PgDb>, Vec<TestServer>) {
    let follow = FollowConfig {
        peers: nats.map(|n| n.url.clone()),
        ..FollowConfig::default()
    };
    nodes_following(n, follow).await
}

/// `n` nodes fanned out over `nats` that never read the head on their own: what other
/// nodes commit reaches them over NATS, or not at all (a gap before one of their own
/// events is still filled). Returns once all have subscribed.
async fn nats_only(n: usize, nats: &Nats) -> (Arc<PgDb>, Vec<TestServer>) {
    let hour = std::time::Duration::from_secs(3600);
    let follow = FollowConfig {
        peers: Some(nats.url.clone()),
        check_every: hour,
        poll_every: hour,
        ..FollowConfig::default()
    };
    let nodes = nodes_following(n, follow).await;
    std::thread::scope(|s| {
        s.spawn(|| nats.wait_for_subscribers("chit.", n))
            .join()
            .unwrap()
    });
    nodes
}

async fn nodes_following(n: usize, follow: FollowConfig) -> (Arc<PgDb>, Vec<TestServer>) {
    let db = Arc::new(std::thread::spawn(PgDb::create).join().unwrap());
    let mut nodes = Vec::new();
    for _ in 0..n {
        let config = Config {
            follow: follow.clone(),
            ..Config::default()
        };
        let dir = tempfile::tempdir().unwrap();
        nodes.push(TestServer::on_database(db.clone(), dir, config).await);
    }
    (db, nodes)
}

fn start_nats() -> Nats {
    std::thread::spawn(Nats::start).join().unwrap()
}

/// A kitchen display of r1 on `node`, subscribed to its restaurant's room.
async fn kitchen(node: &TestServer) -> (chit_client::Client, Events) {
    let (client, events) = node.connect(&node.token(Role::Kitchen, Some("r1"))).await;
    client.subscribe("restaurant:r1", None).await.unwrap();
    (client, events)
}

/// The next `n` stored events.
async fn stored(events: &mut Events, n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        out.push(next_stored(events).await);
    }
    out
}

/// Places `n` orders one after another; their ids.
async fn place(pos: &chit_client::Client, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(pos.place_order(order("r1"), None).await.unwrap().0.id);
    }
    ids
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq.unwrap()).collect()
}

/// An order placed on node A reaches the kitchen displays on A, B and C as the same
/// event (the same seq, kind, time and data).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_on_one_node_reaches_subscribers_on_every_node() {
    let nats = start_nats();
    let (_db, nodes) = nats_only(3, &nats).await;
    let mut displays = Vec::new();
    for node in &nodes {
        displays.push(kitchen(node).await);
    }
    let (pos, _events) = nodes[0]
        .connect(&nodes[0].token(Role::Pos, Some("r1")))
        .await;
    let placed = pos.place_order(order("r1"), None).await.unwrap().0;
    let mut seen = Vec::new();
    for (_, events) in &mut displays {
        let event = next_stored(events).await;
        assert_eq!(event.kind, EventKind::NewOrder);
        assert_eq!(event.data["id"].as_i64(), Some(placed.id));
        seen.push(event);
    }
    assert_eq!(seen[0], seen[1], "B saw what A did");
    assert_eq!(seen[0], seen[2], "C saw what A did");
}

/// A placer on each of three nodes at once: every display on every node sees every
/// event once, in one increasing seq order, the same on all nodes, and every order
/// placed is among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_placers_on_three_nodes_make_one_order_of_events_on_every_node() {
    const EACH: usize = 25;
    let nats = start_nats();
    let (_db, nodes) = nats_only(3, &nats).await;
    let mut displays = Vec::new();
    for node in &nodes {
        // Two displays a node: what one node's hub delivers, each of its sessions gets.
        displays.push(kitchen(node).await);
        displays.push(kitchen(node).await);
    }
    let mut placers = Vec::new();
    for node in &nodes {
        // The admin: it may place and confirm.
        placers.push(node.admin().await);
    }
    let placing = placers.iter().map(|(pos, _)| {
        let pos = pos.clone();
        async move {
            let mut ids = Vec::new();
            for _ in 0..EACH {
                let placed = pos.place_order(order("r1"), None).await.unwrap().0;
                // A change too: not only new orders travel.
                pos.update_status(placed.id, Status::Confirmed, None, false)
                    .await
                    .unwrap();
                ids.push(placed.id);
            }
            ids
        }
    });
    let placed: Vec<i64> = futures_util::future::join_all(placing)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut first: Option<Vec<Event>> = None;
    for (i, (_, events)) in displays.iter_mut().enumerate() {
        let got = stored(events, 2 * placed.len()).await;
        let seqs = seqs(&got);
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "display {i}: seqs increase, each once: {seqs:?}"
        );
        let new: HashSet<i64> = got
            .iter()
            .filter(|e| e.kind == EventKind::NewOrder)
            .map(|e| e.data["id"].as_i64().unwrap())
            .collect();
        assert_eq!(new, placed.iter().copied().collect(), "display {i}");
        match &first {
            None => first = Some(got),
            Some(first) => assert_eq!(&got, first, "display {i} saw what display 0 did"),
        }
    }
}

/// Without NATS the nodes read each other's commits from the database: B's display
/// sees A's orders, changes and chat as A's display does, frame for frame (those read
/// back from the log are what the writer published).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_nodes_follow_each_other_through_the_database() {
    let (_db, nodes) = nodes(2, None).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (on_a, mut seen_on_a) = a.admin().await;
    let (on_b, mut seen_on_b) = b.admin().await;
    // Without an id of its own, a customer is known by the phone number.
    let customer = format!("customer:{}", order("r1").customer.phone);
    for client in [&on_a, &on_b] {
        client.subscribe("restaurant:r1", None).await.unwrap();
        client.subscribe(&customer, None).await.unwrap();
        client.subscribe("chat:staff", None).await.unwrap();
    }
    let placed = on_a.place_order(order("r1"), None).await.unwrap().0;
    for status in [Status::Confirmed, Status::Preparing, Status::Ready] {
        on_a.update_status(placed.id, status, None, false)
            .await
            .unwrap();
    }
    on_a.chat_send("chat:staff", "table 4 is waiting")
        .await
        .unwrap();
    // The order's four events twice (its restaurant's and its customer's room), the
    // chat once.
    let n = 4 * 2 + 1;
    let on_a_events = stored(&mut seen_on_a, n).await;
    let on_b_events = stored(&mut seen_on_b, n).await;
    assert_eq!(on_b_events, on_a_events);
    assert!(
        on_b_events
            .iter()
            .any(|e| e.room == customer && e.data["id"].as_i64() == Some(placed.id))
    );
    assert!(on_b_events.iter().any(|e| e.kind == EventKind::ChatMessage));
}

/// nats-server killed while orders flow on A, then started again: B's display sees
/// every order once, in order, through the outage (read from the database meanwhile)
/// and after it (over NATS again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_on_through_a_nats_outage_with_nothing_lost_or_doubled() {
    let mut nats = start_nats();
    let (_db, nodes) = nodes(2, Some(&nats)).await;
    let (pos, _events) = nodes[0]
        .connect(&nodes[0].token(Role::Pos, Some("r1")))
        .await;
    let (_display, mut seen) = kitchen(&nodes[1]).await;
    let mut placed = place(&pos, 10).await;
    let before = stored(&mut seen, 10).await;
    nats.kill();
    placed.extend(place(&pos, 10).await);
    let during = stored(&mut seen, 10).await;
    std::thread::scope(|s| s.spawn(|| nats.restart()).join().unwrap());
    // Whether or not the nodes are connected again yet, nothing is lost.
    placed.extend(place(&pos, 10).await);
    let after = stored(&mut seen, 10).await;
    let all: Vec<Event> = [before, during, after].concat();
    let ids: Vec<i64> = all.iter().map(|e| e.data["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, placed, "every order once, in the order placed");
    assert!(seqs(&all).windows(2).all(|w| w[0] < w[1]));
}
