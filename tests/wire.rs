//! The raw wire, as a third-party WebSocket client sees it: hello by hand, every class
//! of bad input answered with a clear error while the connection stays up, oversize
//! frames, the heartbeat, and graceful shutdown; the fuzz targets' seeds are frames the
//! server reads.

use std::time::Duration;

use chit_e2e::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw(server: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(&server.url).await.unwrap();
    ws
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next text frame as JSON (skipping pings).
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("readable");
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn hello(server: &TestServer) -> Ws {
    let mut ws = raw(server).await;
    send(
        &mut ws,
        &json!({"type": "hello", "id": 1, "token": server.admin, "client": "raw", "protocol": 1})
            .to_string(),
    )
    .await;
    let welcome = recv(&mut ws).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["id"], 1);
    assert_eq!(welcome["role"], "admin");
    ws
}

#[tokio::test]
async fn a_client_typing_json_by_hand_places_and_sees_an_order() {
    let server = TestServer::start().await;
    let mut ws = hello(&server).await;
    send(
        &mut ws,
        r#"{"type":"subscribe","id":2,"room":"restaurant:r1"}"#,
    )
    .await;
    let subscribed = recv(&mut ws).await;
    assert_eq!(
        (subscribed["type"].as_str(), subscribed["id"].as_i64()),
        (Some("subscribed"), Some(2))
    );
    send(&mut ws, r#"{"type":"place_order","id":"pos-3","order":{"restaurant":"r1","customer":{"name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000}]},"key":"pos-1-0001"}"#).await;
    let mut got_reply = false;
    let mut got_event = false;
    while !(got_reply && got_event) {
        let frame = recv(&mut ws).await;
        match frame["type"].as_str() {
            Some("order") => {
                assert_eq!(frame["id"], "pos-3", "string ids are echoed");
                assert_eq!(frame["order"]["total"], 24000);
                assert_eq!(frame["duplicate"], false);
                got_reply = true;
            }
            Some("event") if frame["kind"] == "new_order" => {
                assert_eq!(frame["room"], "restaurant:r1");
                assert!(frame["seq"].as_u64().unwrap() >= 1);
                assert_eq!(frame["data"]["customer"]["name"], "Ann");
                got_event = true;
            }
            _ => {}
        }
    }
    send(&mut ws, r#"{"type":"ping","id":9}"#).await;
    loop {
        let frame = recv(&mut ws).await;
        if frame["type"] == "pong" {
            assert_eq!(frame["id"], 9);
            break;
        }
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_connection_stays_up() {
    let server = TestServer::start().await;
    let mut ws = hello(&server).await;
    let many_items: Vec<Value> = (0..101)
        .map(|_| json!({"name": "x", "qty": 1, "unit_price": 1}))
        .collect();
    let cases: Vec<(String, &str, &str)> = vec![
        ("{not json".into(), "bad_request", "malformed JSON"),
        ("[1,2,3]".into(), "bad_request", "JSON object"),
        (r#"{"id":5}"#.into(), "bad_request", "needs a \"type\""),
        (r#"{"type":"launch_rockets","id":6}"#.into(), "bad_request", "unknown message type 'launch_rockets'"),
        (r#"{"type":"update_status","id":7,"order_id":1}"#.into(), "bad_request", "missing field `status`"),
        (r#"{"type":"update_status","id":8,"order_id":"one","status":"ready"}"#.into(), "bad_request", "bad 'update_status'"),
        (r#"{"type":"update_status","id":9,"order_id":1,"status":"teleported"}"#.into(), "bad_request", "unknown variant"),
        (r#"{"type":"subscribe","id":10,"room":"lobby"}"#.into(), "bad_request", "unknown room 'lobby'"),
        (json!({"type":"place_order","id":11,"order":{"restaurant":"r1","customer":{"name":"A","phone":"1","address":"x"},"items":many_items}}).to_string(), "bad_request", "at most 100 items"),
        (json!({"type":"place_order","id":12,"order":{"restaurant":"r1","customer":{"name":"A","phone":"1","address":"x"},"items":[{"name":"x","qty":4000000000u64,"unit_price":1}]}}).to_string(), "bad_request", "quantity"),
        (json!({"type":"place_order","id":13,"order":{"restaurant":"r1","customer":{"name":"A","phone":"1","address":"x"},"items":[{"name":"x","qty":1,"unit_price":99999999999i64}]}}).to_string(), "bad_request", "price"),
        (json!({"type":"place_order","id":14,"order":{"restaurant":"r1","customer":{"name":"A".repeat(1000),"phone":"1","address":"x"},"items":[{"name":"x","unit_price":1}]}}).to_string(), "bad_request", "longer than"),
        (r#"{"type":"hello","id":15,"token":"x","protocol":1}"#.into(), "bad_request", "already said hello"),
        (r#"{"type":"get_order","id":16,"order_id":424242}"#.into(), "not_found", "does not exist"),
    ];
    for (frame, code, words) in cases {
        send(&mut ws, &frame).await;
        let reply = recv(&mut ws).await;
        assert_eq!(reply["type"], "error", "{frame} -> {reply}");
        assert_eq!(reply["code"], code, "{frame} -> {reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(
            message.contains(words),
            "{frame}: '{message}' should say '{words}'"
        );
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let reply = recv(&mut ws).await;
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_str()),
        (Some("error"), Some("bad_request"))
    );
    // Still up: a valid request works.
    send(&mut ws, r#"{"type":"ping","id":99}"#).await;
    assert_eq!(recv(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn an_oversize_frame_is_refused_with_too_large_and_the_server_stays_up() {
    let server = TestServer::start().await;
    let mut ws = hello(&server).await;
    let huge =
        json!({"type": "chat_send", "room": "chat:staff", "text": "x".repeat(100_000)}).to_string();
    // The server may close before the whole frame is written.
    let _ = ws.send(Message::text(huge)).await;
    let mut saw_error = false;
    let mut close_code = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                saw_error |= v["code"] == "too_large";
            }
            Message::Close(frame) => close_code = frame.map(|f| f.code),
            _ => {}
        }
    }
    assert!(saw_error, "the peer is told why");
    assert_eq!(close_code, Some(CloseCode::Size));
    let mut again = hello(&server).await;
    send(&mut again, r#"{"type":"ping","id":1}"#).await;
    assert_eq!(recv(&mut again).await["type"], "pong");
}

#[tokio::test]
async fn nothing_but_hello_is_served_before_hello() {
    let server = TestServer::start().await;
    let mut ws = raw(&server).await;
    send(&mut ws, r#"{"type":"list_orders","id":1}"#).await;
    let reply = recv(&mut ws).await;
    assert_eq!(
        (reply["code"].as_str(), reply["id"].as_i64()),
        (Some("unauthorized"), Some(1))
    );
    send(
        &mut ws,
        r#"{"type":"hello","id":2,"token":"chit_wrong","protocol":1}"#,
    )
    .await;
    let reply = recv(&mut ws).await;
    assert_eq!(reply["code"], "unauthorized");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("unknown or revoked token")
    );
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_drops_a_silent_peer_and_keeps_a_live_one() {
    let server = TestServer::start().await;
    // A live client: its reader answers every ping.
    let mut live = hello(&server).await;
    let live_reader = tokio::spawn(async move {
        let mut pings = 0;
        while let Some(Ok(msg)) = live.next().await {
            if matches!(msg, Message::Ping(_)) {
                pings += 1;
                if pings == 4 {
                    return pings;
                }
            }
        }
        pings
    });
    // A silent client: says hello, then never reads again, so never answers a ping.
    let mut silent = hello(&server).await;
    tokio::time::sleep(Duration::from_secs(95)).await;
    // After two silent intervals (30 s each) the server hung up.
    let mut ended = false;
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(1), silent.next()).await {
        match next {
            Some(Ok(_)) => continue,
            _ => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the silent peer was dropped");
    assert_eq!(
        live_reader.await.unwrap(),
        4,
        "the live peer kept getting pings past 95 s"
    );
}

#[tokio::test]
async fn shutdown_closes_every_client_with_going_away_and_returns() {
    let mut server = TestServer::start().await;
    let mut a = hello(&server).await;
    let mut b = hello(&server).await;
    server.shutdown().await;
    for ws in [&mut a, &mut b] {
        let mut code = None;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(frame) = msg {
                code = frame.map(|f| f.code);
            }
        }
        assert_eq!(code, Some(CloseCode::Away));
    }
    assert!(
        tokio_tungstenite::connect_async(&server.url).await.is_err(),
        "no longer accepting"
    );
}

/// `fuzz/seeds/frame` and `fuzz/seeds/dispatch` hold the same valid frames, one of each
/// kind the fuzzers start from (the kitchen's requests among them): each is read by the
/// server's own parser.
#[test]
fn every_fuzz_seed_is_a_frame_the_server_reads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut kinds = std::collections::BTreeSet::new();
    for target in ["frame", "dispatch"] {
        let dir = root.join(target);
        for entry in std::fs::read_dir(&dir).expect("the seeds") {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let same = std::fs::read_to_string(root.join("frame").join(path.file_name().unwrap()));
            assert_eq!(
                same.ok().as_deref(),
                Some(text.as_str()),
                "{}",
                path.display()
            );
            if let Err((_, refusal)) = chit_e2e::chit_server::parse_frame(&text) {
                panic!("{}: {refusal:?}", path.display());
            }
            let value: Value = serde_json::from_str(&text).unwrap();
            kinds.insert(value["type"].as_str().unwrap().to_string());
        }
    }
    for kind in [
        "place_order",
        "update_status",
        "update_item",
        "get_menu",
        "mark_unavailable",
        "mark_available",
        "list_unavailable",
        "list_orders",
    ] {
        assert!(kinds.contains(kind), "no seed for {kind}");
    }
}
