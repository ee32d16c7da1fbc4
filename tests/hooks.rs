//! Webhooks in: `chit-server hook add` (the real binary) and signed deliveries to
//! `POST /v1/hooks/{name}` from a real HTTP client; good ones place orders once per
//! `webhook-id`, bad signatures and stale timestamps are refused and logged.

use chit_client::Client;
use chit_e2e::{Offline, TestStore, next_stored};
use chit_protocol::EventKind;
use chit_server::webhooks::sign;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `chit-server hook ARGS` on the test's database (SQLite or PostgreSQL).
fn hook(store: &TestStore, args: &[&str]) -> std::process::Output {
    store
        .offline()
        .arg("hook")
        .args(args)
        .output()
        .expect("run chit-server hook")
}

fn body(restaurant: &str) -> String {
    json!({
        "restaurant": restaurant,
        "customer": {"name": "Ann", "phone": "0812345678", "address": "12 Sukhumvit"},
        "items": [{"name": "Pad Thai", "qty": 2, "unit_price": 12000}],
    })
    .to_string()
}

async fn deliver(
    url: &str,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            sign::sign(secret, id, timestamp, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_orders_are_placed_once_and_bad_ones_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestStore::in_dir(dir.path());
    let server = db.start();
    let out = hook(&db, &["add", "shop", "--restaurant", "r1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("whsec_"));
    let again = hook(&db, &["add", "shop", "--restaurant", "r1"]);
    assert_eq!(again.status.code(), Some(1), "a name is taken once");
    let base = server.url.replace("ws://", "http://");
    let url = format!("{base}/v1/hooks/shop");
    let (kitchen, mut events) = Client::connect(&server.url, &server.admin_token(), "test")
        .await
        .unwrap();
    kitchen.subscribe("restaurant:r1", None).await.unwrap();
    let now = chit_protocol::now_ms() / 1000;

    let (status, placed) = deliver(&url, &secret, "evt_1001", now, &body("r1")).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["duplicate"], false);
    let event = next_stored(&mut events).await;
    assert_eq!(
        (event.kind, event.data["id"].clone()),
        (EventKind::NewOrder, placed["order"]["id"].clone())
    );
    // The sender retries the same message (a new timestamp, so a new signature).
    let (status, replay) = deliver(&url, &secret, "evt_1001", now + 30, &body("r1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (replay["duplicate"].clone(), replay["order"]["id"].clone()),
        (json!(true), placed["order"]["id"].clone())
    );

    let refusals = [
        (
            "another secret",
            sign::new_secret(),
            "evt_2",
            now,
            body("r1"),
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            "five minutes old and more",
            secret.clone(),
            "evt_3",
            now - 301,
            body("r1"),
            StatusCode::UNAUTHORIZED,
            "5 minutes",
        ),
        (
            "from the future",
            secret.clone(),
            "evt_4",
            now + 400,
            body("r1"),
            StatusCode::UNAUTHORIZED,
            "5 minutes",
        ),
        (
            "another restaurant's order",
            secret.clone(),
            "evt_5",
            now,
            body("r2"),
            StatusCode::FORBIDDEN,
            "r2",
        ),
        (
            "not an order",
            secret.clone(),
            "evt_6",
            now,
            "{\"hello\": 1}".into(),
            StatusCode::BAD_REQUEST,
            "hello",
        ),
    ];
    for (what, key, id, at, body, status, says) in refusals {
        let (got, answer) = deliver(&url, &key, id, at, &body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(says),
            "{what}: {answer}"
        );
    }
    // A body changed after signing does not pass.
    let res = reqwest::Client::new()
        .post(&url)
        .header("webhook-id", "evt_7")
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            sign::sign(&secret, "evt_7", now, body("r1").as_bytes()),
        )
        .body(body("r1").replace("Ann", "Eve"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .post(&url)
        .body(body("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "unsigned");
    let (status, _) = deliver(
        &format!("{base}/v1/hooks/nobody"),
        &secret,
        "evt_8",
        now,
        &body("r1"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        chit_e2e::wait_until("the refusal logged", || server
            .logged("hook 'shop': refused a delivery")
            .then_some(()))
        .is_some()
    );
    // Nothing was placed by any of those.
    let (orders, _) = kitchen.list_orders(None, None, None).await.unwrap();
    assert_eq!(orders.len(), 1);

    let out = hook(&db, &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("shop") && text.contains("restaurant r1") && text.contains("live"),
        "{text}"
    );
    assert!(!text.contains(&secret), "the secret is shown once only");
    assert!(hook(&db, &["remove", "shop"]).status.success());
    let (status, _) = deliver(&url, &secret, "evt_9", now, &body("r1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
