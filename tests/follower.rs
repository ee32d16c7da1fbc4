//! The follower against the real `chit-server`, killed with SIGKILL and started again on
//! the same address and database: it says so as typed states, resumes from the last
//! seq without reloading, passes every event on exactly once (also those placed while
//! it was away), and sends the request queued meanwhile once it is back. Its snapshot
//! holds every open order, however many pages of `list_orders` they take.

use std::time::Duration;

use chit_client::follower::driver::SNAPSHOT_PAGE;
use chit_client::{
    Client, Connector, Down, Follower, LinkState, Policy, Request, Servers, Snapshot, Spec, Update,
    tls::Trust,
};
use chit_e2e::{ServerProcess, TestServer, order};
use chit_protocol::{ClientMsg, EventKind, ServerMsg, Status};
use tokio::sync::mpsc::UnboundedReceiver;

/// The next update, failing the test if none comes within 15 s.
async fn next(updates: &mut UnboundedReceiver<Update>) -> Update {
    tokio::time::timeout(Duration::from_secs(15), updates.recv())
        .await
        .expect("an update within 15 s")
        .expect("the follower is running")
}

/// Updates until `wanted` matches one (which is returned); the others are kept.
async fn until(
    updates: &mut UnboundedReceiver<Update>,
    seen: &mut Vec<Update>,
    wanted: impl Fn(&Update) -> bool,
) -> Update {
    loop {
        let update = next(updates).await;
        if wanted(&update) {
            return update;
        }
        seen.push(update);
    }
}

/// The ids of the orders in `new_order` events among `updates`, in order.
fn new_orders(updates: &[Update]) -> Vec<i64> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event(e) if e.kind == EventKind::NewOrder => {
                e.order_event().map(|o| o.order.id)
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_rides_out_a_killed_and_restarted_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let listen = server.url.trim_start_matches("ws://").to_string();
    let token = server.admin_token();
    let connector = Connector::new(
        Servers::parse(&server.url).unwrap(),
        Trust::default(),
        token.clone(),
        "follower test",
    );
    let spec = Spec {
        rooms: vec![("restaurant:r1".into(), None)],
        snapshot: Some(Snapshot {
            restaurant: Some("r1".into()),
            statuses: vec![Status::Pending, Status::Confirmed],
        }),
        policy: Policy::DISPLAY,
    };
    let (follower, mut updates) = Follower::spawn(connector, spec);
    let mut seen = Vec::new();
    until(&mut updates, &mut seen, |u| {
        matches!(u, Update::State(LinkState::Online { .. }))
    })
    .await;
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Snapshot { orders, .. } if orders.is_empty())),
        "{seen:?}"
    );

    let (pos, _) = Client::connect(&server.url, &token, "pos").await.unwrap();
    let mut placed = Vec::new();
    for _ in 0..3 {
        placed.push(pos.place_order(order("r1"), None).await.unwrap().0.id);
    }
    let mut before = Vec::new();
    while new_orders(&before).len() < 3 {
        before.push(next(&mut updates).await);
    }
    assert_eq!(new_orders(&before), placed);

    server.kill();
    let down = until(&mut updates, &mut Vec::new(), |u| {
        matches!(u, Update::State(LinkState::Reconnecting { .. }))
    })
    .await;
    assert!(
        matches!(
            &down,
            Update::State(LinkState::Reconnecting {
                reason: Down::Lost { .. } | Down::Failed(_),
                ..
            })
        ),
        "{down:?}"
    );
    // Asked while the server is down: it waits and goes once the link is back.
    follower.send(Request {
        id: 7,
        msg: ClientMsg::UpdateStatus {
            order_id: placed[0],
            status: Status::Confirmed,
            reason: None,
            recall: false,
            force: false,
        },
    });

    let server = ServerProcess::start(&db, &listen);
    // Placed before the follower is back: it must come by replay.
    let (pos, _) = Client::connect(&server.url, &token, "pos").await.unwrap();
    let during = pos.place_order(order("r1"), None).await.unwrap().0.id;

    let mut after = Vec::new();
    let reply = until(&mut updates, &mut after, |u| {
        matches!(u, Update::Reply { id: 7, .. })
    })
    .await;
    assert!(
        matches!(&reply, Update::Reply { result: Ok(ServerMsg::Order { order, .. }), .. } if order.status == Status::Confirmed),
        "{reply:?}"
    );
    let confirmed = |updates: &[Update]| {
        updates.iter().any(|u| {
            matches!(u, Update::Event(e) if e.kind == EventKind::OrderUpdate
                && e.order_event().is_some_and(|o| o.order.status == Status::Confirmed))
        })
    };
    while new_orders(&after).is_empty() || !confirmed(&after) {
        after.push(next(&mut updates).await);
    }
    assert_eq!(
        new_orders(&after),
        [during],
        "exactly once, nothing repeated"
    );
    assert!(
        !after.iter().any(|u| matches!(u, Update::Snapshot { .. })),
        "resumed from the last seq, not reloaded: {after:?}"
    );
    assert!(
        after
            .iter()
            .any(|u| matches!(u, Update::State(LinkState::Online { .. })))
    );
    // Nothing else was waiting to come: the next stored event is a marker placed now.
    let marker = pos.place_order(order("r1"), None).await.unwrap().0.id;
    loop {
        if let Update::Event(e) = next(&mut updates).await
            && e.seq.is_some()
        {
            assert_eq!(e.order_event().map(|o| o.order.id), Some(marker), "{e:?}");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_more_open_orders_than_a_page_holds_every_one() {
    let server = TestServer::start().await;
    let (pos, _) = server.admin().await;
    // A page and a quarter of open orders, placed 125 at a time.
    let total = SNAPSHOT_PAGE as usize * 5 / 4;
    let mut open = Vec::with_capacity(total);
    for _ in 0..total / 125 {
        let placed =
            futures_util::future::join_all((0..125).map(|_| pos.place_order(order("r1"), None)))
                .await;
        open.extend(placed.into_iter().map(|r| r.expect("placed").0.id));
    }
    // Left out: one no longer open, one of another restaurant.
    let cancelled = pos.place_order(order("r1"), None).await.unwrap().0.id;
    pos.update_status(cancelled, Status::Cancelled, None, false)
        .await
        .unwrap();
    pos.place_order(order("r2"), None).await.unwrap();
    open.sort_unstable();

    let connector = Connector::new(
        Servers::parse(&server.url).unwrap(),
        Trust::default(),
        server.admin.clone(),
        "follower test",
    );
    let spec = Spec {
        rooms: vec![("restaurant:r1".into(), None)],
        snapshot: Some(Snapshot {
            restaurant: Some("r1".into()),
            statuses: vec![Status::Pending, Status::Confirmed],
        }),
        policy: Policy::DISPLAY,
    };
    let (_follower, mut updates) = Follower::spawn(connector, spec);
    let mut seen = Vec::new();
    let Update::Snapshot { orders, .. } = until(&mut updates, &mut seen, |u| {
        matches!(u, Update::Snapshot { .. })
    })
    .await
    else {
        unreachable!()
    };
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    assert_eq!(ids.len(), total, "every open order, not the first page");
    assert_eq!(ids, open, "each once, oldest first");

    // Followed from the first page's head: the next order comes as an event, alone.
    until(&mut updates, &mut seen, |u| {
        matches!(u, Update::State(LinkState::Online { .. }))
    })
    .await;
    let next_one = pos.place_order(order("r1"), None).await.unwrap().0.id;
    let mut after = Vec::new();
    while new_orders(&after).is_empty() {
        after.push(next(&mut updates).await);
    }
    assert_eq!(new_orders(&after), [next_one]);
}
