//! The log's epoch with the real `chit-server` and the real client: `welcome` and
//! `subscribed` carry the database's epoch, a restart keeps it, and every restore of a
//! `chit-server backup` copy starts a new one. After a restore whose log went back and
//! grew again past a client's last seq, resuming with that seq and its epoch is told
//! `resync_required` (the follower reloads and ends with the right orders), where the
//! seq alone would have replayed with a silent gap; a seq of the log's own epoch still
//! replays exactly. `GET /v1/events` takes `epoch` the same way.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chit_client::{
    Client, ClientError, Connector, Events, Follower, LinkState, Policy, Servers, Snapshot, Spec,
    Update, tls::Trust,
};
use chit_e2e::{ServerProcess, TestServer, bin, order};
use chit_protocol::{ErrorCode, EventKind, Status};
use chit_server::store::{epoch, queries};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

const ROOM: &str = "restaurant:r1";

/// `chit-server --db DB backup COPY`, which must succeed.
fn backup(db: &Path, copy: &Path) {
    let out = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(db)
        .arg("backup")
        .arg(copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restores `copy` over `db` as the README says (the server stopped): the copy in
/// place, the old database's `-wal` and `-shm` removed.
fn restore(copy: &Path, db: &Path) {
    std::fs::copy(copy, db).unwrap();
    for ext in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(db.with_extension(ext));
    }
}

/// The epoch and the head stored in a database file (read as it is: no migration,
/// nothing written).
fn stored(db: &Path) -> (u64, u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    (epoch::read(&conn).unwrap(), queries::head(&conn).unwrap())
}

async fn connect(url: &str, token: &str) -> (Client, Events) {
    Client::connect(url, token, "epoch test").await.unwrap()
}

/// Places an order for r1 by a customer called `name`.
async fn place(client: &Client, name: &str) -> i64 {
    let mut new = order("r1");
    new.customer.name = name.into();
    client.place_order(new, None).await.unwrap().0.id
}

/// The stored events already received on `events`: a ping's answer comes after every
/// event the server sent before it (a replay included).
async fn received(client: &Client, events: &mut Events) -> Vec<chit_protocol::Event> {
    client.ping().await.unwrap();
    let mut got = Vec::new();
    while let Some(event) = events.try_recv() {
        if event.seq.is_some() {
            got.push(event);
        }
    }
    got
}

/// The customer names of the `new_order` events among `events`, in order.
fn names(events: &[chit_protocol::Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::NewOrder)
        .filter_map(|e| e.order_event().map(|o| o.order.customer.name))
        .collect()
}

/// The next update, failing the test if none comes within 20 s.
async fn next(updates: &mut UnboundedReceiver<Update>) -> Update {
    tokio::time::timeout(Duration::from_secs(20), updates.recv())
        .await
        .expect("an update within 20 s")
        .expect("the follower is running")
}

/// Updates until one matches `wanted` (returned); the others are kept in `seen`.
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

fn is_online(update: &Update) -> bool {
    matches!(update, Update::State(LinkState::Online { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_and_subscribed_carry_the_epoch_a_restart_keeps_and_each_restore_renews() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let token = server.admin_token();
    let (client, _events) = connect(&server.url, &token).await;
    let first = client.welcome().epoch.expect("welcome carries the epoch");
    assert!((1..=epoch::MAX).contains(&first), "{first}");
    assert_eq!(stored(&db).0, first, "the database's own");
    let joined = client.resume(ROOM, None, None).await.unwrap();
    assert_eq!(joined.epoch, Some(first), "subscribed carries it too");
    place(&client, "Ann").await;
    drop(client);
    assert!(server.terminate().success());

    // A restart serves the same log: the same epoch.
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let (client, _events) = connect(&server.url, &token).await;
    assert_eq!(client.welcome().epoch, Some(first));
    drop(client);

    // Another database has another epoch.
    let other = TestServer::start().await;
    let (elsewhere, _events) = other.admin().await;
    assert_ne!(elsewhere.welcome().epoch, Some(first));

    // A backup's copy, restored, is another log; restoring it again, yet another.
    let copy = dir.path().join("backup.db");
    backup(&db, &copy);
    assert_eq!(
        stored(&db).0,
        first,
        "the backup leaves the database's epoch"
    );
    let restored_db = dir.path().join("restored.db");
    let mut seen = vec![first];
    for _ in 0..2 {
        restore(&copy, &restored_db);
        let restored = ServerProcess::start(&restored_db, "127.0.0.1:0");
        let (client, _events) = connect(&restored.url, &token).await;
        let now = client.welcome().epoch.unwrap();
        assert!(!seen.contains(&now), "{now} after {seen:?}");
        assert_eq!(client.get_order(1).await.unwrap().customer.name, "Ann");
        drop(client);
        assert!(restored.terminate().success());
        // ... which it keeps across restarts.
        let again = ServerProcess::start(&restored_db, "127.0.0.1:0");
        let (client, _events) = connect(&again.url, &token).await;
        assert_eq!(client.welcome().epoch, Some(now));
        drop(client);
        assert!(again.terminate().success());
        seen.push(now);
    }
    // The live database was never touched.
    let (client, _events) = connect(&server.url, &token).await;
    assert_eq!(client.welcome().epoch, Some(first));
    drop(client);
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_rewound_the_log_a_resuming_client_reloads_instead_of_missing_orders() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let copy = dir.path().join("backup.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let listen = server.url.trim_start_matches("ws://").to_string();
    let token = server.admin_token();

    // A kitchen display's follower: the open orders, then the room from their head.
    let connector = Connector::new(
        Servers::parse(&server.url).unwrap(),
        Trust::default(),
        token.clone(),
        "kitchen display",
    );
    let spec = Spec {
        rooms: vec![(ROOM.into(), None)],
        snapshot: Some(Snapshot {
            restaurant: Some("r1".into()),
            statuses: vec![Status::Pending],
        }),
        policy: Policy::DISPLAY,
    };
    let (_follower, mut updates) = Follower::spawn(connector, spec);
    until(&mut updates, &mut Vec::new(), is_online).await;

    let (pos, _) = connect(&server.url, &token).await;
    let old_epoch = pos.welcome().epoch.unwrap();
    let kept = ["kept 1", "kept 2"];
    for name in kept {
        place(&pos, name).await;
    }
    backup(&db, &copy);
    let (_, backup_head) = stored(&copy);
    // Acknowledged after the backup: the restore loses them.
    for name in ["lost 1", "lost 2", "lost 3"] {
        place(&pos, name).await;
    }
    // A client that saw everything: its last seq, and that seq's epoch.
    let (watcher, _) = connect(&server.url, &token).await;
    let last = watcher.resume(ROOM, None, None).await.unwrap().head;
    assert!(last >= backup_head + 3, "{backup_head} {last}");
    let mut shown = Vec::new();
    while names(&events_of(&shown)).len() < 5 {
        shown.push(next(&mut updates).await);
    }
    assert_eq!(
        names(&events_of(&shown)),
        ["kept 1", "kept 2", "lost 1", "lost 2", "lost 3"]
    );
    drop((pos, watcher));
    assert!(server.terminate().success());

    // The restore, then orders on the restored log (on another port, the display
    // away) until it has grown past the client's last seq, over seqs it already had.
    restore(&copy, &db);
    let restored = ServerProcess::start(&db, "127.0.0.1:0");
    let (pos, _) = connect(&restored.url, &token).await;
    let new_epoch = pos.welcome().epoch.unwrap();
    assert_ne!(new_epoch, old_epoch, "a restored backup is another log");
    let mut after = Vec::new();
    while stored(&db).1 < last + 2 {
        let name = format!("after {}", after.len() + 1);
        place(&pos, &name).await;
        after.push(name);
    }
    drop(pos);
    assert!(restored.terminate().success());
    // Restarted where the display looks for it.
    let server = ServerProcess::start(&db, &listen);

    // The seq with its epoch: another log's, so no replay but resync_required.
    let (client, mut events) = connect(&server.url, &token).await;
    assert_eq!(
        client.welcome().epoch,
        Some(new_epoch),
        "kept across the restart"
    );
    match client.resume(ROOM, Some(last), Some(old_epoch)).await {
        Err(ClientError::Server { code, message }) => {
            assert_eq!(code, ErrorCode::ResyncRequired, "{message}");
            assert!(message.contains("another log"), "{message}");
        }
        other => panic!("resuming another log's seq: {other:?}"),
    }
    assert!(
        received(&client, &mut events).await.is_empty(),
        "nothing replayed"
    );

    // What the seq alone gets (a client from before epochs): a replay that looks whole
    // and silently leaves out the orders placed over the seqs it had already seen.
    let (alone, mut alone_events) = connect(&server.url, &token).await;
    alone.resume(ROOM, Some(last), None).await.unwrap();
    let replayed = names(&received(&alone, &mut alone_events).await);
    let missed: Vec<&String> = after.iter().filter(|n| !replayed.contains(n)).collect();
    assert!(
        !replayed.is_empty() && missed.len() >= 3,
        "the gap an epoch prevents: replayed {replayed:?}, missed {missed:?}"
    );
    assert_eq!(replayed, after[after.len() - replayed.len()..]);

    // A seq of the log's own epoch still replays exactly: every order since the restore.
    let (same, mut same_events) = connect(&server.url, &token).await;
    let joined = same
        .resume(ROOM, Some(backup_head), Some(new_epoch))
        .await
        .unwrap();
    assert_eq!(joined.epoch, Some(new_epoch));
    let replay = received(&same, &mut same_events).await;
    assert_eq!(names(&replay), after);
    assert!(replay.iter().all(|e| e.seq.unwrap() > backup_head));
    assert_eq!(replay.last().and_then(|e| e.seq), Some(joined.head));

    // The display came back with its old seq and epoch, was told to resync, and
    // reloaded: it shows exactly the restored database's orders, lost ones gone.
    let mut back = Vec::new();
    let snapshot = until(&mut updates, &mut back, |u| {
        matches!(u, Update::Snapshot { .. })
    })
    .await;
    let Update::Snapshot { orders, head } = snapshot else {
        unreachable!()
    };
    let mut expected: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
    expected.extend(after.iter().cloned());
    let shown: Vec<String> = orders.into_iter().map(|o| o.customer.name).collect();
    assert_eq!(shown, expected);
    assert_eq!(head, joined.head);
    let resumed = until(&mut updates, &mut back, |u| {
        matches!(u, Update::Resumed { .. })
    })
    .await;
    assert_eq!(
        resumed,
        Update::Resumed {
            room: ROOM.into(),
            from: head,
            missed: false,
        }
    );
    until(&mut updates, &mut back, is_online).await;
    assert!(
        names(&events_of(&back)).is_empty(),
        "no event of the old seqs passed for new: {back:?}"
    );
    // And it follows the restored log from there: the next order is the next event.
    let (pos, _) = connect(&server.url, &token).await;
    place(&pos, "marker").await;
    loop {
        if let Update::Event(e) = next(&mut updates).await
            && e.seq.is_some()
        {
            assert_eq!(names(&[e]), ["marker"]);
            break;
        }
    }
    drop(pos);
    assert!(server.terminate().success());
}

/// The events among a follower's updates.
fn events_of(updates: &[Update]) -> Vec<chit_protocol::Event> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_take_the_epoch_as_subscribe_does() {
    let server = TestServer::start().await;
    let (pos, _) = server.admin().await;
    let ours = pos.welcome().epoch.unwrap();
    let other = TestServer::start().await;
    let theirs = other.admin().await.0.welcome().epoch.unwrap();
    assert_ne!(ours, theirs);
    for name in ["Ann", "Bo"] {
        place(&pos, name).await;
    }
    let http = reqwest::Client::new();
    let get = |query: String, last: Option<u64>| {
        let mut req = http
            .get(format!("{}/v1/events?{query}", server.http_url()))
            .bearer_auth(&server.admin);
        if let Some(last) = last {
            req = req.header("last-event-id", last.to_string());
        }
        req.send()
    };

    // A long poll tells the epoch, and resumes within it.
    let res = get(format!("room={ROOM}&since=0&wait=0"), None)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["epoch"], ours);
    assert_eq!(answer["events"].as_array().unwrap().len(), 2);
    let first = answer["events"][0]["seq"].as_u64().unwrap();
    let res = get(
        format!("room={ROOM}&since={first}&epoch={ours}&wait=0"),
        None,
    )
    .await
    .unwrap();
    let answer: Value = res.json().await.unwrap();
    let events = answer["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["customer"]["name"], "Bo");

    // Another log's epoch: 410 resync_required, for a poll and for a stream resumed
    // with Last-Event-ID alike.
    for (query, last) in [
        (
            format!("room={ROOM}&since={first}&epoch={theirs}&wait=0"),
            None,
        ),
        (format!("room={ROOM}&epoch={theirs}"), Some(first)),
    ] {
        let res = get(query.clone(), last).await.unwrap();
        assert_eq!(res.status(), StatusCode::GONE, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "resync_required", "{body}");
    }
    // An epoch is a number from 1 to 2^53 - 1.
    let res = get(format!("room={ROOM}&since=1&epoch=0"), None)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A stream's first event tells the epoch too.
    let res = get(format!("room={ROOM}&epoch={ours}"), Some(first))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    let mut text = String::new();
    while !text.contains("\n\nid: ") {
        use futures_util::StreamExt;
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("the stream moves")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let subscribed = text
        .lines()
        .skip_while(|l| *l != "event: subscribed")
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let subscribed: Value = serde_json::from_str(subscribed).unwrap();
    assert_eq!(subscribed["epoch"], ours, "{text}");
    assert_eq!(subscribed["room"], ROOM);
}
