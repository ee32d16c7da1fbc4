//! The kitchen over HTTP, with a real HTTP client against the real server: an item
//! bumped with `PATCH /v1/orders/{id}/items/{n}` (the same rules and events as
//! `update_item`), the expo's force on `PATCH /v1/orders/{id}`, an unavailable item
//! refused with 409, and the new fields of an order placed with `POST /v1/orders`.

use std::time::Duration;

use chit_e2e::kitchen::{self, mark_unavailable, next_of};
use chit_e2e::{TestServer, next_stored};
use chit_protocol::{EventKind, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .request(method, format!("{}{path}", server.http_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the server answers");
    let status = res.status();
    (status, res.json().await.expect("a JSON body"))
}

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_bump_over_http_as_over_websocket() {
    let server = TestServer::start().await;
    let (watcher, mut events) = server.admin().await;
    watcher.subscribe("restaurant:thai-1", None).await.unwrap();
    kitchen::load_menu(&server, "thai-1", &kitchen::thai_menu());
    next_of(&mut events, EventKind::MenuUpdate, Duration::from_secs(10)).await;
    let cook = server.token(Role::Kitchen, Some("thai-1"));
    let pos = server.token(Role::Pos, Some("thai-1"));

    let due = chit_protocol::format_time(chit_protocol::now_ms() + 3_600_000);
    let (status, placed) = call(
        &server,
        reqwest::Method::POST,
        "/v1/orders",
        &pos,
        json!({
            "restaurant": "thai-1",
            "customer": {"name": "Ann", "phone": "0812345678"},
            "fulfilment": "pickup",
            "items": [{"name": "Pad Thai", "unit_price": 12000}, {"name": "Gai yang", "unit_price": 15000, "category": "Grill"}],
            "source": "web", "priority": "rush", "due_at": due,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let order = &placed["order"];
    assert_eq!(
        (order["source"].as_str(), order["priority"].as_str()),
        (Some("web"), Some("rush"))
    );
    assert_eq!(order["items"][1]["station"], "grill");
    assert!(order["fire_at"].is_string());
    let id = order["id"].as_i64().unwrap();
    next_stored(&mut events).await;

    let path = |n: &str| format!("/v1/orders/{id}/items/{n}");
    let patch = reqwest::Method::PATCH;
    let (status, body) = call(
        &server,
        patch.clone(),
        &path("2"),
        &pos,
        json!({"state": "started"}),
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = call(
        &server,
        patch.clone(),
        &path("2"),
        &cook,
        json!({"state": "started"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["order"]["items"][1]["state"], "started");
    assert_eq!(body["order"]["status"], "preparing");
    assert!(
        body["order"]["fired_at"].is_string(),
        "started early: fired first"
    );
    let kinds: Vec<EventKind> = [
        next_stored(&mut events).await,
        next_stored(&mut events).await,
        next_stored(&mut events).await,
    ]
    .into_iter()
    .map(|e| e.kind)
    .collect();
    assert_eq!(
        kinds,
        [
            EventKind::OrderFired,
            EventKind::ItemUpdate,
            EventKind::OrderUpdate
        ]
    );

    let cases = [
        (
            "0",
            json!({"state": "done"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "x",
            json!({"state": "done"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "9",
            json!({"state": "done"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "2",
            json!({"state": "started"}),
            StatusCode::CONFLICT,
            "invalid_transition",
        ),
        (
            "2",
            json!({"state": "queued", "recall": true, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "2",
            json!({"state": "cooking"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (n, body, expected, expected_code) in cases {
        let (status, answer) = call(&server, patch.clone(), &path(n), &cook, body.clone()).await;
        assert_eq!(
            (status, code(&answer)),
            (expected, expected_code),
            "{n} {body}: {answer}"
        );
    }
    // Ready waits for every station, unless the expo forces it.
    let order_path = format!("/v1/orders/{id}");
    let (status, body) = call(
        &server,
        patch.clone(),
        &order_path,
        &cook,
        json!({"status": "ready"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    let (status, body) = call(
        &server,
        patch.clone(),
        &order_path,
        &cook,
        json!({"status": "ready", "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["order"]["status"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_item_is_a_409_and_nothing_is_placed() {
    let server = TestServer::start().await;
    let (admin, _events) = server.admin().await;
    mark_unavailable(&admin, "r1", "Pad Thai", None)
        .await
        .unwrap();
    let (status, body) = call(
        &server,
        reqwest::Method::POST,
        "/v1/orders",
        &server.admin,
        json!({
            "restaurant": "r1",
            "customer": {"name": "Ann", "phone": "0812345678", "address": "12 Sukhumvit"},
            "items": [{"name": "pad thai", "qty": 2, "unit_price": 12000}],
        }),
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "unavailable"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'Pad Thai' is unavailable at r1"),
        "{body}"
    );
    assert!(
        admin
            .list_orders(Some("r1".into()), None, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}
