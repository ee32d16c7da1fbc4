//! The HTTP API on the WebSocket port, driven by a real HTTP client against the real
//! server: placing (answered once committed, idempotent across HTTP and WebSocket),
//! listing with a cursor, status changes, every role's rules, and every kind of bad
//! input getting its status and a clear sentence.

use std::time::Duration;

use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, Role, Status};
use chit_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn order_json(restaurant: &str) -> Value {
    json!({
        "restaurant": restaurant,
        "customer": {"name": "Ann", "phone": "0812345678", "address": "12 Sukhumvit"},
        "items": [{"name": "Pad Thai", "qty": 2, "unit_price": 12000}, {"name": "Iced tea", "unit_price": 3500}],
        "note": "no peanuts"
    })
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &TestServer) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.http_url(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    async fn patch(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(token), Some(body))
            .await
    }
}

/// The `{"error":{"code","message"}}` of a refusal, checked for its shape.
fn error(body: &Value) -> (&str, &str) {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.is_empty());
    (code, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_over_http_is_committed_first_beeps_the_kitchen_and_is_idempotent() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (kitchen, mut events) = server.admin().await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();

    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "shop-1001")
        // As `curl -d @order.json` sends it: no JSON content type.
        .header("content-type", "application/x-www-form-urlencoded")
        .body(order_json("r1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let placed: Value = res.json().await.unwrap();
    assert_eq!(placed["duplicate"], false);
    assert_eq!(placed["order"]["total"], 27500);
    let id = placed["order"]["id"].as_i64().unwrap();
    // Answered only after the commit: the order is already in the database.
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    let stored: i64 = conn
        .query_row("SELECT total FROM orders WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 27500);
    let event = next_stored(&mut events).await;
    assert_eq!(event.kind, EventKind::NewOrder);
    assert_eq!(event.data["id"], id);

    // The same key again: the same order, 200, duplicate, and nothing new published.
    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "shop-1001")
        .json(&order_json("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        (again["duplicate"].clone(), again["order"]["id"].as_i64()),
        (json!(true), Some(id))
    );

    // One key across HTTP and WebSocket: whichever came first is the order.
    let (ws_order, duplicate) = kitchen
        .place_order(order("r1"), Some("shop-1001".into()))
        .await
        .unwrap();
    assert_eq!((ws_order.id, duplicate), (id, true));
    let (first, _) = kitchen
        .place_order(order("r1"), Some("pos-7".into()))
        .await
        .unwrap();
    let mut body = order_json("r1");
    body["key"] = json!("pos-7");
    let (status, via_http) = api.post("/v1/orders", &server.admin, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(via_http["order"]["id"], first.id);
    // A key in the body and a different one in the header is a mistake, said so.
    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "other")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The kitchen saw the one new order placed over WebSocket, nothing for duplicates.
    let next = next_stored(&mut events).await;
    assert_eq!(next.data["id"], first.id);
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_follow_the_state_machine_and_a_wrong_one_changes_nothing() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let path = format!("/v1/orders/{id}");
    let (status, body) = api
        .patch(&path, &server.admin, &json!({"status": "ready"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (code, message) = error(&body);
    assert_eq!(code, "invalid_transition");
    assert!(message.contains("cannot become ready"), "{message}");
    let (_, now) = api.get(&path, &server.admin).await;
    assert_eq!(now["order"]["status"], "pending", "nothing changed");

    for next in ["confirmed", "preparing", "ready"] {
        let (status, body) = api
            .patch(&path, &server.admin, &json!({"status": next}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["order"]["status"], next);
    }
    let (status, body) = api
        .patch(
            &path,
            &server.admin,
            &json!({"status": "cancelled", "reason": "oven broke"}),
        )
        .await;
    assert_eq!(
        (status, body["order"]["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, body) = api
        .patch(&path, &server.admin, &json!({"status": "nonsense"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error(&body).1.contains("nonsense"), "{body}");
    let (status, _) = api
        .patch(
            "/v1/orders/999",
            &server.admin,
            &json!({"status": "confirmed"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get("/v1/orders/999", &server.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.get("/v1/orders/seven", &server.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error(&body).1.contains("seven"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_by_restaurant_and_status_and_pages_with_a_cursor() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let mut r1 = Vec::new();
    for i in 0..5 {
        let restaurant = if i == 2 { "r2" } else { "r1" };
        let (_, placed) = api
            .post("/v1/orders", &server.admin, &order_json(restaurant))
            .await;
        if restaurant == "r1" {
            r1.push(placed["order"]["id"].as_i64().unwrap());
        }
    }
    api.patch(
        &format!("/v1/orders/{}", r1[0]),
        &server.admin,
        &json!({"status": "confirmed"}),
    )
    .await;
    let (status, page) = api
        .get(
            "/v1/orders?restaurant=r1&status=pending,confirmed&limit=3",
            &server.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids = |page: &Value| -> Vec<i64> {
        page["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&page), r1[1..]);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("more remain")
        .to_string();
    assert!(page["head"].as_u64().unwrap() >= 5);
    let (_, last) = api
        .get(
            &format!("/v1/orders?restaurant=r1&status=pending,confirmed&limit=3&cursor={cursor}"),
            &server.admin,
        )
        .await;
    assert_eq!(ids(&last), [r1[0]]);
    assert!(last["next_cursor"].is_null());
    let (_, pending) = api
        .get("/v1/orders?restaurant=r1&status=confirmed", &server.admin)
        .await;
    assert_eq!(ids(&pending), [r1[0]]);

    // A misspelt filter is refused, not ignored (it would list every restaurant).
    for (query, what) in [
        ("restaurantId=r1", "restaurantId"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("status=PENDING", "PENDING"),
        ("restaurant=r1&restaurant=r2", "twice"),
        ("cursor=abc", "cursor"),
        ("restaurant=r%201", "not a valid id"),
    ] {
        let (status, body) = api.get(&format!("/v1/orders?{query}"), &server.admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(error(&body).1.contains(what), "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_rule_holds_over_http() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let kitchen = server.token(Role::Kitchen, Some("r1"));
    let other_kitchen = server.token(Role::Kitchen, Some("r2"));
    let pos = server.token(Role::Pos, Some("r1"));
    let rider = server.token(Role::Rider, Some("bo"));
    let customer = server.token(Role::Customer, Some("0812345678"));
    let stranger = server.token(Role::Customer, Some("0899999999"));

    // Placing: the restaurant's own kitchen and pos, the customer as themself.
    for (who, token, allowed) in [
        ("kitchen r1", &kitchen, true),
        ("pos r1", &pos, true),
        ("customer", &customer, true),
        ("kitchen r2", &other_kitchen, false),
        ("rider", &rider, false),
        ("another customer", &stranger, false),
    ] {
        let (status, body) = api.post("/v1/orders", token, &order_json("r1")).await;
        let expected = if allowed {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, expected, "{who} placing: {body}");
    }
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let path = format!("/v1/orders/{id}");
    // Seeing one order.
    for (who, token, expected) in [
        ("kitchen r1", &kitchen, StatusCode::OK),
        ("customer", &customer, StatusCode::OK),
        ("kitchen r2", &other_kitchen, StatusCode::FORBIDDEN),
        ("rider (not offered yet)", &rider, StatusCode::FORBIDDEN),
        ("another customer", &stranger, StatusCode::FORBIDDEN),
    ] {
        let (status, _) = api.get(&path, token).await;
        assert_eq!(status, expected, "{who} getting order {id}");
    }
    // Listing another restaurant is refused; a customer lists only its own orders.
    let (status, _) = api.get("/v1/orders?restaurant=r2", &kitchen).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, mine) = api.get("/v1/orders", &stranger).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 0);
    // Changing status: pos may only cancel, a rider only what it claimed.
    let (status, _) = api
        .patch(&path, &pos, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .patch(&path, &rider, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .patch(&path, &kitchen, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .patch(&path, &customer, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a customer cancels only pending orders"
    );
    let (status, _) = api
        .patch(&path, &pos, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Statistics: a kitchen its own restaurant, a customer none.
    let (status, stats) = api.get("/v1/stats", &kitchen).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["restaurant"], "r1");
    assert!(
        stats.get("server").is_none(),
        "server figures are for admins"
    );
    let (status, _) = api.get("/v1/stats?restaurant=r2", &kitchen).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.get("/v1/stats", &customer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, all) = api.get("/v1/stats", &server.admin).await;
    assert!(all["server"]["connections"].is_u64(), "{all}");

    // A revoked token stops working at once.
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    conn.execute(
        "UPDATE tokens SET revoked_at = 1 WHERE role = 'kitchen' AND restaurant = 'r1'",
        [],
    )
    .unwrap();
    let (status, body) = api.get(&path, &kitchen).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = api.post("/v1/orders", &kitchen, &order_json("r1")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_status_and_a_clear_sentence() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let url = api.url("/v1/orders");
    let http = &api.http;

    let res = http
        .post(&url)
        .json(&order_json("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"chit\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(error(&body).0, "unauthorized");
    let res = http
        .post(&url)
        .bearer_auth("chit_nonsense")
        .json(&order_json("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = http
        .post(&url)
        .header("authorization", "Basic abc")
        .json(&order_json("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let cases: Vec<(&str, String, &str, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            r#"{"restaurant": "r1", "#.into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            "not an object",
            "[1,2]".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "order",
        ),
        (
            "wrong content type",
            order_json("r1").to_string(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "text/plain",
        ),
        (
            "unknown field",
            {
                let mut o = order_json("r1");
                o["colour"] = json!("red");
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            "unknown item field",
            {
                let mut o = order_json("r1");
                o["items"][0]["price"] = json!(12);
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "price",
        ),
        (
            "absurd quantity",
            {
                let mut o = order_json("r1");
                o["items"][0]["qty"] = json!(5000);
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "quantity 5000",
        ),
        (
            "negative quantity",
            {
                let mut o = order_json("r1");
                o["items"][0]["qty"] = json!(-1);
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "qty",
        ),
        (
            "absurd price",
            {
                let mut o = order_json("r1");
                o["items"][0]["unit_price"] = json!(1e30);
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "unit_price",
        ),
        (
            "no items",
            {
                let mut o = order_json("r1");
                o["items"] = json!([]);
                o.to_string()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "at least one item",
        ),
        (
            "oversize body",
            {
                let mut o = order_json("r1");
                o["note"] = json!("x".repeat(70_000));
                o.to_string()
            },
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "65536",
        ),
    ];
    for (what, body, content_type, status, says) in cases {
        let res = http
            .post(&url)
            .bearer_auth(&server.admin)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{what}");
        let body: Value = res.json().await.unwrap();
        assert!(error(&body).1.contains(says), "{what}: {body}");
    }

    let (status, body) = api.get("/v1/nothing", &server.admin).await;
    assert_eq!(
        (status, error(&body).0),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let res = http
        .delete(&url)
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, POST");

    // The server kept serving through all of it, and saved nothing.
    let (status, page) = api.get("/v1/orders", &server.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["orders"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_applies_per_token_over_http() {
    let config = Config {
        rate_limit: 5,
        rate_burst: 10,
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let api = Api::new(&server);
    let other = server.token(Role::Kitchen, Some("r1"));
    let mut refused = None;
    // The burst is allowed in full; the request after it is refused (a few more are
    // tried in case tokens came back meanwhile).
    for i in 0..30 {
        let res = api
            .http
            .get(api.url("/v1/orders"))
            .bearer_auth(&server.admin)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(res.headers()["retry-after"], "1");
            let body: Value = res.json().await.unwrap();
            assert_eq!(error(&body).0, "rate_limited");
            refused = Some(i);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let refused = refused.expect("the limit refused a request");
    assert!(refused >= 10, "the burst of 10 was cut at {refused}");
    // Another token has its own limit.
    let (status, _) = api.get("/v1/orders", &other).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_without_a_token_and_says_when_the_store_cannot_take_a_write() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let res = api.http.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));

    // Another process holds the database's write lock: the store cannot answer.
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let res = api.http.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["error"].as_str().unwrap().contains("database"),
        "{body}"
    );
    conn.execute_batch("ROLLBACK").unwrap();
    // Once it is let go, healthy again (the probe that timed out finishes first).
    let mut healthy = false;
    for _ in 0..10 {
        let res = api.http.get(api.url("/healthz")).send().await.unwrap();
        if res.status() == StatusCode::OK {
            healthy = true;
            break;
        }
    }
    assert!(healthy, "healthy again once the lock is released");
}

/// Reads from `stream` until it closes; the bytes read.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut out))
        .await
        .expect("the server closed the connection in time");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_or_oversized_requests_are_cut_off_and_connections_count_against_the_limit() {
    let config = Config {
        handshake_timeout: Duration::from_secs(1),
        max_connections: 3,
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let addr = server.addr;

    // A head that never ends: closed after the timeout, with nothing served.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let got = read_to_close(&mut slow, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"));

    // A body that never arrives: 408 after the timeout.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"restaurant\":",
        server.admin
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let got = read_to_close(&mut slow, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    // A header over the limit: 431.
    let mut big = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    big.write_all(head.as_bytes()).await.unwrap();
    let got = read_to_close(&mut big, Duration::from_secs(10)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 431"));

    // Kept-alive connections count: three are held, a fourth is turned away.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(conn);
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let got = read_to_close(&mut fourth, Duration::from_secs(10)).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    // An idle kept-alive connection is closed after the timeout, which makes room.
    let got = read_to_close(&mut held[0], Duration::from_secs(10)).await;
    assert!(got.is_empty());
    drop(held);
    let mut let_in = false;
    for _ in 0..100 {
        let Ok(res) = reqwest::get(format!("{}/healthz", server.http_url())).await else {
            tokio::task::yield_now().await;
            continue;
        };
        let_in = res.status() == StatusCode::OK;
        break;
    }
    assert!(let_in, "a new connection is served once others closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_http_share_the_port_and_the_order_path() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (client, mut events) = server.admin().await;
    client.subscribe("customer:0812345678", None).await.unwrap();
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let event = next_stored(&mut events).await;
    assert_eq!(
        (event.kind, event.data["id"].as_i64()),
        (EventKind::NewOrder, Some(id))
    );
    // A change over WebSocket is what HTTP reads back, and the other way round.
    client
        .update_status(id, Status::Confirmed, None, false)
        .await
        .unwrap();
    let (_, now) = api.get(&format!("/v1/orders/{id}"), &server.admin).await;
    assert_eq!(now["order"]["status"], "confirmed");
    api.patch(
        &format!("/v1/orders/{id}"),
        &server.admin,
        &json!({"status": "preparing"}),
    )
    .await;
    let order = client.get_order(id).await.unwrap();
    assert_eq!(order.status, Status::Preparing);
    let update = next_stored(&mut events).await;
    assert_eq!(update.data["status"], "confirmed");
    let update = next_stored(&mut events).await;
    assert_eq!(update.data["status"], "preparing");
    // A plain GET of the WebSocket URL is answered, not hung up on.
    let res = reqwest::get(format!("{}/", server.http_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err = client
        .list_orders_page(None, None, None, Some("x".into()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest));
}
