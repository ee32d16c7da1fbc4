//! The HTTP side, end to end: each input is one request to a real server on a
//! throwaway database (loopback): the first byte picks the endpoint, the rest is raw
//! header lines and a body (split at the first blank line), sent with an admin token.
//! Whatever it is, the server answers it or closes, and then answers `/healthz`: no
//! panic, no hang, no 5xx.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

struct Harness {
    runtime: Runtime,
    addr: String,
    admin: String,
    _dir: tempfile::TempDir,
}

const TARGETS: &[&str] = &[
    "POST /v1/orders",
    "GET /v1/orders?restaurant=r1&status=pending,ready&limit=5",
    "GET /v1/orders/1",
    "PATCH /v1/orders/1",
    "POST /api/orders",
    "PATCH /api/orders/1",
    "GET /api/orders?restaurantId=r1&status=PENDING",
    "GET /v1/events?room=restaurant:r1&since=0&wait=0",
    "POST /v1/hooks/shop",
    "GET /v1/stats",
    "GET /metrics",
    "GET /",
];

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
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
        let (addr, admin) = runtime.block_on(async {
            use chit_server::store;
            let conn = store::open_connection(&db, false).expect("db");
            store::ensure_admin_token(&conn, &db).expect("admin token");
            let admin = std::fs::read_to_string(store::admin_token_path(&db))
                .expect("admin token file")
                .trim()
                .to_string();
            let mut config = chit_server::Config {
                rate_limit: 0,
                handshake_timeout: Duration::from_millis(300),
                ..chit_server::Config::default()
            };
            config.store.durable = false;
            let server = chit_server::Server::open(&db, config).expect("server");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            tokio::spawn(server.run(listener, std::future::pending()));
            (addr, admin)
        });
        Harness {
            runtime,
            addr,
            admin,
            _dir: dir,
        }
    })
}

/// Sends `request`, closes the sending side, and reads what comes back (2 s at most).
async fn exchange(addr: &str, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("the server accepts");
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    answer
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let h = harness();
    let target = TARGETS[pick as usize % TARGETS.len()];
    let (headers, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let mut request = format!(
        "{target} HTTP/1.1\r\nHost: chit\r\nAuthorization: Bearer {}\r\n",
        h.admin
    )
    .into_bytes();
    for line in headers.split(|b| *b == b'\n') {
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    h.runtime.block_on(async {
        let answer = exchange(&h.addr, &request).await;
        if let Some(status) = answer.get(9..12) {
            assert!(status[0] != b'5', "a 5xx: {}", String::from_utf8_lossy(&answer));
        }
        let health = exchange(&h.addr, b"GET /healthz HTTP/1.1\r\nHost: chit\r\n\r\n").await;
        assert!(
            health.starts_with(b"HTTP/1.1 200"),
            "the server stopped answering after {:?}: {}",
            String::from_utf8_lossy(&request),
            String::from_utf8_lossy(&health)
        );
    });
});
