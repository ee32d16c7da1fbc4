//! Webhooks out, to a real HTTP receiver on 127.0.0.1: every event once and in seq
//! order, signed; a receiver that fails gets the same `webhook-id` until it recovers
//! and the endpoint shows as failing meanwhile; a slow endpoint delays no other; a
//! `kill -9` of the real server with deliveries pending loses none.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chit_client::Client;
use chit_e2e::receiver::{Delivery, Receiver};
use chit_e2e::{Offline, TestServer, TestStore, order};
use chit_protocol::Status;
use chit_server::Config;
use chit_server::webhooks::{WebhookConfig, sign};
use hyper::StatusCode;

/// `chit-server webhook ARGS` on `on`'s database; its stdout (the secret, for `add`).
fn webhook(on: &(impl Offline + ?Sized), args: &[&str]) -> std::process::Output {
    on.offline()
        .arg("webhook")
        .args(args)
        .output()
        .expect("run chit-server webhook")
}

fn add(on: &(impl Offline + ?Sized), url: &str, more: &[&str]) -> String {
    let mut args = vec!["add", "--url", url];
    args.extend_from_slice(more);
    let out = webhook(on, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

/// Checks a delivery's signature as a receiver would, at the time it was signed.
fn signed(secret: &str, d: &Delivery) -> bool {
    let now: i64 = d.timestamp.parse().unwrap();
    sign::verify(
        secret,
        Some(&d.id),
        Some(&d.timestamp),
        Some(&d.signature),
        d.body.as_bytes(),
        now,
    )
    .is_ok()
}

fn seq(d: &Delivery) -> u64 {
    d.json()["seq"].as_u64().expect("an event's seq")
}

/// The deliveries that were acknowledged (2xx).
fn acknowledged(got: &[Delivery]) -> Vec<Delivery> {
    got.iter().filter(|d| d.answered < 300).cloned().collect()
}

fn fast_retries() -> Config {
    Config {
        webhooks: WebhookConfig {
            retry_delays: vec![Duration::from_millis(20), Duration::from_millis(50)],
            failing_after: 3,
            timeout: Duration::from_secs(2),
        },
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_asked_for_arrives_once_in_order_and_signed() {
    let server = TestServer::start().await;
    let (client, _) = server.admin().await;
    client.place_order(order("r1"), None).await.unwrap();
    let all = Receiver::start().await;
    let some = Receiver::start().await;
    let all_secret = add(&server, &all.url(), &[]);
    let some_secret = add(
        &server,
        &some.url(),
        &["--events", "order_update", "--restaurant", "r1"],
    );
    // Events from when it was added: the order placed before is not sent. The server
    // picks the endpoints up within a second; until then events wait in the log.
    let mut ids = Vec::new();
    for restaurant in ["r1", "r2", "r1"] {
        ids.push(
            client
                .place_order(order(restaurant), None)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    for id in &ids {
        client
            .update_status(*id, Status::Confirmed, None, false)
            .await
            .unwrap();
    }
    client.chat_send("chat:staff", "two minutes").await.unwrap();
    let got = all
        .wait_for(Duration::from_secs(15), |d| d.len() >= 7)
        .await;
    let kinds: Vec<String> = got
        .iter()
        .map(|d| d.json()["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "new_order",
            "new_order",
            "new_order",
            "order_update",
            "order_update",
            "order_update",
            "chat_message"
        ]
    );
    let seqs: Vec<u64> = got.iter().map(seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order: {seqs:?}"
    );
    for d in &got {
        assert!(
            signed(&all_secret, d),
            "signed with the endpoint's secret: {d:?}"
        );
        assert!(!signed(&some_secret, d));
        let event = d.json();
        assert!(event.get("type").is_none(), "the event JSON, not the frame");
        for field in ["room", "seq", "kind", "at", "data"] {
            assert!(event.get(field).is_some(), "{field} in {event}");
        }
    }
    assert_eq!(got[0].json()["data"]["id"], ids[0]);
    let filtered = some
        .wait_for(Duration::from_secs(15), |d| d.len() >= 2)
        .await;
    let orders: Vec<i64> = filtered
        .iter()
        .map(|d| d.json()["data"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, [ids[0], ids[2]], "only r1's order updates");
    assert!(filtered.iter().all(|d| signed(&some_secret, d)));
    // Nothing more arrives for either: the next delivery is the next order's.
    client.place_order(order("r1"), None).await.unwrap();
    let got = all
        .wait_for(Duration::from_secs(15), |d| d.len() >= 8)
        .await;
    assert_eq!(got.len(), 8);
    assert_eq!(some.deliveries().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_every_event_once_with_stable_ids() {
    let server = TestServer::with_config(fast_retries()).await;
    // Five failures in a row (503, then 500s), then it answers.
    let answers = Arc::new(|n: usize| {
        let status = match n {
            0 => StatusCode::SERVICE_UNAVAILABLE,
            1..=4 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::NO_CONTENT,
        };
        (status, Duration::ZERO)
    });
    let receiver = Receiver::answering(answers).await;
    let secret = add(&server, &receiver.url(), &["--events", "new_order"]);
    let (client, _) = server.admin().await;
    // Wait until the server runs the endpoint: its first failure shows in stats.
    let mut placed = vec![client.place_order(order("r1"), None).await.unwrap().0.id];
    receiver
        .wait_for(Duration::from_secs(15), |d| d.len() >= 4)
        .await;
    let stats = client.stats(None).await.unwrap().server.unwrap();
    assert_eq!(stats.webhooks.len(), 1);
    let status = &stats.webhooks[0];
    assert_eq!(status.state, "failing", "{status:?}");
    assert!(
        status.failures >= 3 && status.last_error.as_deref().unwrap_or("").contains("500"),
        "{status:?}"
    );
    let metrics = reqwest::get(format!("{}/metrics", server.http_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("chit_webhook_failing{webhook=\"1\"} 1"),
        "{metrics}"
    );
    // Orders go on being placed meanwhile, and are not slowed by the failing endpoint.
    for _ in 0..4 {
        placed.push(client.place_order(order("r1"), None).await.unwrap().0.id);
    }
    let got = receiver
        .wait_for(Duration::from_secs(15), |d| acknowledged(d).len() >= 5)
        .await;
    let ok = acknowledged(&got);
    let orders: Vec<i64> = ok
        .iter()
        .map(|d| d.json()["data"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, placed, "every event once, in order");
    // The first event was tried six times, always as the same message.
    let first: Vec<&Delivery> = got.iter().filter(|d| d.id == ok[0].id).collect();
    assert_eq!(first.len(), 6);
    assert!(
        first
            .iter()
            .all(|d| d.body == ok[0].body && signed(&secret, d))
    );
    let ids: BTreeSet<&str> = ok.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 5, "one id per event");
    let stats = client.stats(None).await.unwrap().server.unwrap();
    assert_eq!(
        (stats.webhooks[0].state.as_str(), stats.webhooks[0].failures),
        ("ok", 0)
    );
    let list = webhook(&server, &["list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains(&receiver.url()) && text.contains(" ok "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_dead_endpoint_delays_no_other_and_not_the_orders() {
    let mut config = fast_retries();
    config.webhooks.timeout = Duration::from_secs(30);
    let server = TestServer::with_config(config).await;
    // One receiver takes 30 s to answer anything; another is gone altogether.
    let slow = Receiver::answering(Arc::new(|_| (StatusCode::OK, Duration::from_secs(30)))).await;
    let quick = Receiver::start().await;
    add(&server, &slow.url(), &[]);
    add(&server, "http://127.0.0.1:9/nobody", &[]);
    add(&server, &quick.url(), &[]);
    let (client, _) = server.admin().await;
    let started = tokio::time::Instant::now();
    for _ in 0..30 {
        client.place_order(order("r1"), None).await.unwrap();
    }
    let placing = started.elapsed();
    quick
        .wait_for(Duration::from_secs(10), |d| d.len() >= 30)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the quick endpoint was held up"
    );
    assert!(placing < Duration::from_secs(5), "placing took {placing:?}");
    assert!(
        slow.deliveries().is_empty(),
        "the slow one is still on its first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_commands_list_test_and_remove() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let bad = webhook(&server, &["add", "--url", "ftp://shop.example/x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("http"));
    let bad = webhook(
        &server,
        &["add", "--url", &receiver.url(), "--events", "typing"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("typing"));
    let secret = add(&server, &receiver.url(), &["--restaurant", "r1"]);
    let out = webhook(&server, &["test", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = receiver
        .wait_for(Duration::from_secs(5), |d| !d.is_empty())
        .await;
    assert_eq!(got[0].json()["kind"], "webhook_test");
    assert!(got[0].id.starts_with("test_") && signed(&secret, &got[0]));
    let out = webhook(&server, &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("restaurant r1") && text.contains("ok"),
        "{text}"
    );
    let dead = add(&server, "http://127.0.0.1:9/gone", &[]);
    assert_ne!(dead, secret);
    let out = webhook(&server, &["test", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not delivered"));
    let out = webhook(&server, &["remove", "2"]);
    assert!(out.status.success());
    let out = webhook(&server, &["remove", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let out = webhook(&server, &["list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn a_kill_9_with_deliveries_pending_loses_none() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = TestStore::in_dir(dir.path());
        // The receiver takes 5 ms a delivery, so deliveries fall behind the orders.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let receiver = Receiver::answering(Arc::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            (StatusCode::OK, Duration::from_millis(5))
        }))
        .await;
        let server = store.start();
        let secret = add(&store, &receiver.url(), &["--events", "new_order"]);
        let (client, _) = Client::connect(&server.url, &server.admin_token(), "test")
            .await
            .unwrap();
        const ORDERS: usize = 300;
        let mut placed = Vec::new();
        for _ in 0..ORDERS {
            placed.push(client.place_order(order("r1"), None).await.unwrap().0.id);
        }
        drop(client);
        // Killed in the middle of delivering.
        receiver
            .wait_for(Duration::from_secs(30), |d| d.len() >= 20)
            .await;
        server.kill();
        let before = receiver.deliveries().len();
        assert!(before < ORDERS, "the kill came before the end ({before})");
        let server = store.start();
        let got = receiver
            .wait_for(Duration::from_secs(60), |d| {
                d.iter().map(seq).collect::<BTreeSet<_>>().len() >= ORDERS
            })
            .await;
        drop(server);
        // Every order arrived, each event under one id, with a good signature; first
        // arrivals in seq order; any repeat is of what was sent just before the kill.
        let mut ids: BTreeMap<u64, String> = BTreeMap::new();
        let mut firsts = Vec::new();
        for d in &got {
            assert!(signed(&secret, d));
            match ids.get(&seq(d)) {
                Some(id) => assert_eq!(id, &d.id, "the same webhook-id on every attempt"),
                None => {
                    ids.insert(seq(d), d.id.clone());
                    firsts.push(seq(d));
                }
            }
        }
        assert!(
            firsts.windows(2).all(|w| w[0] < w[1]),
            "first arrivals in order"
        );
        let orders: BTreeSet<i64> = got
            .iter()
            .map(|d| d.json()["data"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            orders,
            placed.into_iter().collect::<BTreeSet<_>>(),
            "none skipped"
        );
        assert!(calls.load(Ordering::Relaxed) >= ORDERS);
    });
}
