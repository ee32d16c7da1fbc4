//! Faults: a client that stops reading, floods of connections, bursts against the rate
//! limit, and a disk that fills up (a crash under load is in `crash.rs`). Each runs the
//! real server (in process, or the real binary where it must be limited) and the real
//! client over loopback. The long flood is `#[ignore]`d; `scripts/faults.sh` runs it.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use chit_client::Client;
use chit_e2e::{ServerProcess, TestServer, bin, next_event, order};
use chit_protocol::{ClientMsg, ErrorCode, NewItem, NewOrder, ServerMsg};
use chit_server::Config;
use chit_server::store;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

// ---- rate limits ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_within_the_rate_limit_passes_and_more_is_refused_without_disconnect() {
    let config = Config {
        rate_limit: 50,
        rate_burst: 200,
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let (client, _) = server.admin().await;

    // A burst as large as the limit allows: every request answered, none refused.
    let burst = futures_util::future::join_all((0..200).map(|_| client.ping())).await;
    assert!(burst.iter().all(Result::is_ok), "{burst:?}");

    // Past it: refused with rate_limited, and the connection stays up.
    let over = futures_util::future::join_all((0..200).map(|_| client.ping())).await;
    let refused = over
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == Some(ErrorCode::RateLimited)))
        .count();
    assert!(
        refused >= 100,
        "only {refused} of 200 over the limit were refused"
    );
    assert!(
        over.iter()
            .all(|r| r.is_ok() || matches!(r, Err(e) if e.code() == Some(ErrorCode::RateLimited))),
        "{over:?}"
    );
    assert!(client.is_open());
    // Tokens come back at 50 a second: the connection serves again (bounded tries).
    let mut served = false;
    for _ in 0..100_000 {
        if client.ping().await.is_ok() {
            served = true;
            break;
        }
    }
    assert!(served && client.is_open());
}

// ---- slow consumer --------------------------------------------------------------------

/// An order whose events are large (~13 KB), so that socket buffers fill quickly.
fn big_order(restaurant: &str, n: usize) -> NewOrder {
    let mut o = order(restaurant);
    o.customer.name = format!("big{n}");
    o.items = (0..100)
        .map(|i| NewItem {
            name: format!("{i:03} {}", "x".repeat(110)),
            qty: 1,
            unit_price: 100,
            note: None,
            category: None,
        })
        .collect();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_resumes_with_everything() {
    let config = Config {
        outbound_queue: 16,
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let (admin, _) = server.admin().await;

    // The slow client: a raw socket with a small receive buffer that subscribes and
    // then reads nothing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(server.url.as_str(), stream)
        .await
        .unwrap();
    let hello = serde_json::json!({"type": "hello", "id": 1, "token": server.admin, "protocol": 1});
    slow.send(Message::text(hello.to_string())).await.unwrap();
    let subscribe = serde_json::json!({"type": "subscribe", "id": 2, "room": "restaurant:r1"});
    slow.send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    loop {
        let frame = next_text(&mut slow).await.expect("subscribed");
        if frame["type"] == "subscribed" {
            break;
        }
    }
    let connections_with_slow = admin.stats(None).await.unwrap().server.unwrap().connections;
    assert_eq!(connections_with_slow, 2);

    // Orders flow until the server lets the slow client go (bounded).
    let mut placed = Vec::new();
    let mut kicked = false;
    for n in 0..2000 {
        let (o, _) = admin.place_order(big_order("r1", n), None).await.unwrap();
        placed.push(o.id);
        if n % 10 == 9 && admin.stats(None).await.unwrap().server.unwrap().connections == 1 {
            kicked = true;
            break;
        }
    }
    assert!(kicked, "the slow client was never disconnected");
    for n in 0..5 {
        let (o, _) = admin
            .place_order(big_order("r1", 10_000 + n), None)
            .await
            .unwrap();
        placed.push(o.id);
    }

    // Reading again: what was buffered, then the end of the connection.
    let mut last_seq = 0;
    let mut seen = Vec::new();
    let ended = timeout(Duration::from_secs(30), async {
        while let Some(frame) = next_text(&mut slow).await {
            if frame["type"] == "event" && frame["kind"] == "new_order" {
                last_seq = frame["seq"].as_u64().unwrap();
                seen.push(frame["data"]["id"].as_i64().unwrap());
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the slow connection did not end");
    assert!(seen.len() < placed.len(), "the slow client got everything");

    // Resuming from the last seq it read: everything else, exactly once, in order.
    let (resumed, mut events) = server.admin().await;
    resumed
        .subscribe("restaurant:r1", Some(last_seq))
        .await
        .unwrap();
    while seen.len() < placed.len() {
        let event = next_event(&mut events).await;
        if let Some(e) = event.order_event().filter(|_| event.seq.is_some()) {
            seen.push(e.order.id);
        }
    }
    assert_eq!(seen, placed);
}

/// The next text frame as JSON; `None` once the connection ends (closed or reset).
async fn next_text<S>(ws: &mut S) -> Option<serde_json::Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match timeout(Duration::from_secs(30), ws.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

// ---- connection limits and floods -----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_refused_and_others_keep_working() {
    let config = Config {
        max_connections: 4,
        ..Config::default()
    };
    let server = TestServer::with_config(config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(server.admin().await.0);
    }
    let refused = Client::connect(&server.url, &server.admin, "test").await;
    assert!(refused.is_err(), "a fifth connection was let in");
    for client in &held {
        client.ping().await.unwrap();
    }
    drop(held.pop());
    // The server sees the close, then has room again (bounded retries, no sleeps).
    let mut let_in = None;
    for _ in 0..1000 {
        if let Ok((client, _)) = Client::connect(&server.url, &server.admin, "test").await {
            let_in = Some(client);
            break;
        }
        tokio::task::yield_now().await;
    }
    let_in
        .expect("a connection is let in once one closed")
        .ping()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_says_hello_is_closed_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start_with(&db, "127.0.0.1:0", &["--handshake-timeout", "1"]);
    let addr = server.url.trim_start_matches("ws://").to_string();
    let started = Instant::now();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 64];
    let read = timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("closed within 10 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// Opens `n` connections in every way a flood might (plain TCP and silence, half a
/// handshake, a full handshake without hello, a full session) and drops them all with a
/// reset. Returns how many were accepted far enough to get a WebSocket handshake.
async fn flood(addr: &str, url: &str, token: &str, n: usize) -> usize {
    let mut upgraded = 0;
    let mut kept = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let opened = futures_util::future::join_all(chunk.iter().map(|i| async move {
            let stream = TcpStream::connect(addr).await.ok()?;
            stream.set_zero_linger().ok()?;
            match i % 4 {
                0 => Some((Some(stream), None, false)),
                1 => {
                    let mut stream = stream;
                    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.ok()?;
                    Some((Some(stream), None, false))
                }
                _ => {
                    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.ok()?;
                    if i % 4 == 3 {
                        let hello = serde_json::json!({"type": "hello", "id": 1, "token": token, "protocol": 1});
                        ws.send(Message::text(hello.to_string())).await.ok()?;
                        ws.next().await?.ok()?;
                    }
                    Some((None, Some(ws), true))
                }
            }
        }))
        .await;
        for (stream, ws, up) in opened.into_iter().flatten() {
            upgraded += usize::from(up);
            kept.push((stream, ws));
        }
    }
    // Abruptly: linger 0 turns the close into a reset.
    for (stream, ws) in kept {
        drop(stream);
        if let Some(ws) = ws {
            let tcp = ws.into_inner();
            let _ = tcp.set_zero_linger();
            drop(tcp);
        }
    }
    upgraded
}

async fn flood_and_recover(n: usize, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let limit = (n + 100).to_string();
    let server = ServerProcess::start_with(
        &db,
        "127.0.0.1:0",
        &["--handshake-timeout", "2", "--max-connections", &limit],
    );
    let token = server.admin_token();
    let addr = server.url.trim_start_matches("ws://").to_string();
    let (watcher, _) = Client::connect(&server.url, &token, "test").await.unwrap();
    flood(&addr, &server.url, &token, 200).await;
    let before = settle(&watcher, |s| s.connections == 1).await;
    // The server's pool of read connections (8, two descriptors each) fills on demand
    // and may grow during the flood; anything else the flood opened must be gone.
    let allowed = before.open_fds + 16;

    for round in 0..rounds {
        // Another client keeps being served while the flood goes on.
        let serving = async {
            let (client, _) = Client::connect(&server.url, &token, "test").await.unwrap();
            let mut placed = 0;
            for _ in 0..20 {
                client.place_order(order("r1"), None).await.unwrap();
                placed += 1;
            }
            placed
        };
        let (upgraded, placed) = tokio::join!(flood(&addr, &server.url, &token, n), serving);
        assert_eq!(placed, 20, "round {round}");
        assert!(
            upgraded >= n / 2 * 9 / 10,
            "round {round}: only {upgraded} upgraded"
        );
    }

    // Everything the flood opened goes away: connections and descriptors back where
    // they were (bounded wait: the handshake timeout closes the silent ones).
    // Memory too: freed pages go back to the system (within 16 MiB of the start).
    let rss_allowed = before.rss_bytes + (16 << 20);
    let after = settle(&watcher, |s| {
        s.connections == before.connections && s.open_fds <= allowed && s.rss_bytes <= rss_allowed
    })
    .await;
    eprintln!(
        "flood of {n} x {rounds}: rss {:.1} MiB before, {:.1} MiB after; {} descriptors before, {} after",
        before.rss_bytes as f64 / 1048576.0,
        after.rss_bytes as f64 / 1048576.0,
        before.open_fds,
        after.open_fds
    );
    assert_eq!(after.connections, before.connections);
    assert!(
        after.open_fds <= allowed,
        "descriptors: {} before, {} after: {:?}",
        before.open_fds,
        after.open_fds,
        descriptors(server.pid())
    );
    assert!(after.rss_bytes <= rss_allowed, "memory did not come back");
    watcher.ping().await.unwrap();
}

/// What a process's descriptors point at, counted by kind (for failure messages).
fn descriptors(pid: u32) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        let kind = target
            .split(['[', ':'])
            .next()
            .unwrap_or_default()
            .to_string();
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

/// The server's figures once `done` holds for them, or after 30 s.
async fn settle(
    watcher: &Client,
    done: impl Fn(&chit_protocol::ServerStats) -> bool,
) -> chit_protocol::ServerStats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = watcher.stats(None).await.unwrap().server.unwrap();
        if done(&now) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_dropped_connections_leaves_the_server_serving_and_clean() {
    flood_and_recover(400, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: 10,000 connections, 3 rounds; run by scripts/faults.sh"]
async fn a_flood_of_ten_thousand_connections_three_times() {
    flood_and_recover(10_000, 3).await;
}

// ---- a full disk ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_with_internal_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    {
        let conn = store::open_connection(&db, true).unwrap();
        store::ensure_admin_token(&conn, &db).unwrap();
    }
    // A file-size limit stands in for a full disk: writes past 2 MiB fail with EFBIG
    // (SIGXFSZ is ignored, as the shell's trap passes on through exec).
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -S -f 2048; exec "$0" --db "$1" --listen 127.0.0.1:0"#)
        .arg(bin("chit-server"))
        .arg(&db);
    let server = ServerProcess::spawn(cmd, &db);
    let (client, _) = Client::connect(&server.url, &server.admin_token(), "test")
        .await
        .unwrap();

    let mut acked = Vec::new();
    let mut refused = None;
    for n in 0..2000 {
        match client.place_order(big_order("r1", n), None).await {
            Ok((o, _)) => acked.push(o.id),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the disk never filled");
    assert_eq!(refused.code(), Some(ErrorCode::Internal), "{refused}");
    assert!(client.is_open(), "a storage error dropped the connection");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logged("refused with 'internal'") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server.logged("refused with 'internal'"),
        "no log line: {:?}",
        server.log.lock().unwrap()
    );
    // Still full: still refused, still up; reads still work.
    let again = client.place_order(big_order("r1", 9999), None).await;
    assert_eq!(again.unwrap_err().code(), Some(ErrorCode::Internal));
    client.get_order(acked[0]).await.unwrap();

    // The disk has room again: writes succeed at once, nothing needs a restart.
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(server.pid().to_string())
        .arg("--fsize=unlimited")
        .status()
        .unwrap();
    assert!(status.success());
    let (o, _) = client
        .place_order(big_order("r1", 10_000), None)
        .await
        .unwrap();
    acked.push(o.id);
    match client.request(ClientMsg::Ping).await.unwrap() {
        ServerMsg::Pong => {}
        other => panic!("{other:?}"),
    }

    // Every acknowledged order is there, after a hard stop too.
    server.kill();
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let (client, _) = Client::connect(&server.url, &server.admin_token(), "test")
        .await
        .unwrap();
    for id in &acked {
        client.get_order(*id).await.unwrap();
    }
}

// ---- the log ----------------------------------------------------------------------------

/// The WAL header's checkpoint sequence number: SQLite adds one each time it starts the
/// log over from its beginning.
fn log_restarts(db: &std::path::Path) -> Option<u32> {
    use std::io::Read;
    let mut path = db.as_os_str().to_owned();
    path.push("-wal");
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    Some(u32::from_be_bytes([
        header[12], header[13], header[14], header[15],
    ]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_starts_over_while_orders_keep_coming() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let mut config = Config::default();
    // Every checkpoint counts as quick: what is tested is that the log starts over
    // under steady commits, not how fast this machine's disk is.
    config.store.checkpoint_hold = Duration::from_secs(10);
    config.rate_limit = 0;
    let server = TestServer::with_config(config).await;
    let (client, _) = server.admin().await;
    let client = Arc::new(client);
    let stop = Arc::new(AtomicBool::new(false));
    let placed = Arc::new(AtomicU64::new(0));
    // Four clients, each placing its next order as soon as the last is acknowledged,
    // so that commits keep coming while the checkpointer copies.
    let placers: Vec<_> = (0..4)
        .map(|_| {
            let (client, stop, placed) = (client.clone(), stop.clone(), placed.clone());
            tokio::spawn(async move {
                for _ in 0..5_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    client.place_order(order("r1"), None).await.expect("placed");
                    placed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let under_way = |n: u64| placed.load(Ordering::Relaxed) >= n;
    while !under_way(200) {
        assert!(Instant::now() < deadline, "orders are not being placed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = log_restarts(&server.db()).expect("a log file");
    loop {
        let now = log_restarts(&server.db()).expect("a log file");
        if now > before {
            assert!(
                !placers.iter().all(|p| p.is_finished()),
                "the log started over ({before} -> {now}) only after the orders stopped"
            );
            break;
        }
        assert!(
            Instant::now() < deadline && !placers.iter().all(|p| p.is_finished()),
            "the log never started over while {} orders were placed",
            placed.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for placer in placers {
        placer.await.expect("placer");
    }
}
