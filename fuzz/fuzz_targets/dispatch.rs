//! The request dispatcher, end to end: each input goes as one frame to a real server on
//! a throwaway database (loopback, admin or kitchen token), followed by a ping. The
//! server must answer the ping, whatever came before it: no panic, no hang, no lost
//! connection except for the frames the protocol says end one.
#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<
    tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
>;

struct Harness {
    runtime: Runtime,
    url: String,
    tokens: [String; 2],
    conns: Mutex<[Option<Ws>; 2]>,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // A panic on any server thread is a finding: stop the fuzzer there.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("chit.db");
        let (url, tokens) = runtime.block_on(async {
            use chit_server::auth::{Principal, hash_token, new_token};
            use chit_server::store::{self, queries};
            let conn = store::open_connection(&db, false).expect("db");
            store::ensure_admin_token(&conn, &db).expect("admin token");
            let admin = std::fs::read_to_string(store::admin_token_path(&db))
                .expect("admin token file")
                .trim()
                .to_string();
            let kitchen = new_token();
            let p = Principal {
                token_id: 0,
                role: chit_protocol::Role::Kitchen,
                restaurant: Some("r1".into()),
                rider: None,
                customer: None,
                label: None,
            };
            queries::insert_token(&conn, &hash_token(&kitchen), &p, 0).expect("token");
            let mut config = chit_server::Config {
                rate_limit: 0,
                ..chit_server::Config::default()
            };
            config.store.durable = false;
            let server = chit_server::Server::open(&db, config).expect("server");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}", listener.local_addr().unwrap());
            tokio::spawn(server.run(listener, std::future::pending()));
            (url, [admin, kitchen])
        });
        Harness {
            runtime,
            url,
            tokens,
            conns: Mutex::new([None, None]),
            _dir: dir,
        }
    })
}

async fn connect(url: &str, token: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    let hello = serde_json::json!({"type": "hello", "id": 0, "token": token, "protocol": 1});
    ws.send(Message::text(hello.to_string())).await.expect("hello");
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("no welcome");
        };
        if t.as_str().contains("\"welcome\"") {
            return ws;
        }
    }
}

/// Sends the input, then a ping; true if the pong came back, false if the server
/// closed the connection (as it does for oversized frames).
async fn exchange(ws: &mut Ws, data: &[u8]) -> bool {
    let frame = match std::str::from_utf8(data) {
        Ok(text) => Message::text(text.to_string()),
        Err(_) => Message::binary(data.to_vec()),
    };
    if ws.send(frame).await.is_err() {
        return false;
    }
    let ping = r#"{"type":"ping","id":"fuzz-ping"}"#;
    if ws.send(Message::text(ping)).await.is_err() {
        return false;
    }
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) if t.as_str().contains("\"fuzz-ping\"") => {
                    assert!(t.as_str().contains("\"pong\""), "ping answered with {t}");
                    return true;
                }
                Ok(Message::Close(_)) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        false
    })
    .await;
    waited.expect("the server did not answer a ping within 10 s")
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let who = data.len() % 2;
    let mut conns = h.conns.lock().unwrap();
    h.runtime.block_on(async {
        let mut ws = match conns[who].take() {
            Some(ws) => ws,
            None => connect(&h.url, &h.tokens[who]).await,
        };
        if exchange(&mut ws, data).await {
            conns[who] = Some(ws);
        }
    });
});
