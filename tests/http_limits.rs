//! Bad input and limits over HTTP, against the real server: every kind of bad request
//! gets its status and a clear sentence, the rate limit is per token, `/healthz` says when
//! the store cannot take a write, and slow, oversized or idle connections are cut off and
//! counted against the connection limit.

use std::time::Duration;

use chit_e2e::TestServer;
use chit_e2e::api::{Api, error, order_json};
use chit_protocol::Role;
use chit_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is left unread: the client is told not to send another
            // request on this connection (one sent there would meet a closed socket).
            let connection = res.headers().get("connection");
            assert_eq!(
                connection.map(|v| v.as_bytes()),
                Some(&b"close"[..]),
                "{what}"
            );
        }
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
    // A whole number written as JSON Schema allows (2.0) is a whole number.
    let mut o = order_json("r1");
    o["items"][0]["qty"] = json!(2.0);
    let (status, placed) = api.post("/v1/orders", &server.admin, &o).await;
    assert_eq!(
        (status, placed["order"]["items"][0]["qty"].as_u64()),
        (StatusCode::CREATED, Some(2))
    );
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
    if server.pg().is_some() {
        // What follows holds SQLite's database-wide write lock, which PostgreSQL has no
        // counterpart of (its probe takes no lock: store/postgres/webhooks.rs).
        return;
    }

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

    // A client that shuts its side once the request is sent still gets the answer, even
    // from a handler that waits for the writer.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    half.shutdown().await.unwrap();
    let got = read_to_close(&mut half, Duration::from_secs(10)).await;
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );

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
