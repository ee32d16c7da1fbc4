//! The idle scenario: hold N authenticated connections that do nothing and read how
//! much the server's resident memory grew per connection (from its own `stats`), then
//! again after each joined a customer room of its own. Beside it, what each connection
//! cost this side: the time to open it (TLS included, for wss://) and memory.

use chit_client::Connector;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::conn::{Conn, ConnError};
use super::figures::Latency;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub connections: usize,
    pub opened: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub open_secs: f64,
    pub connections_per_sec: f64,
    /// The server's figures after a warm-up, with the idle connections, and after
    /// each of them joined a room.
    pub rss_warm_bytes: u64,
    pub rss_idle_bytes: u64,
    pub rss_joined_bytes: u64,
    pub bytes_per_idle_connection: f64,
    pub bytes_per_joined_connection: f64,
    pub server_connections: u64,
    pub server_open_fds: u64,
    pub still_open: usize,
    /// This side: opening a connection (TCP, TLS, WebSocket handshake, hello), and the
    /// TLS handshake alone (n = 0 for ws://).
    pub open_latency: Latency,
    pub tls_handshake: Latency,
    /// This process's resident memory grew by this much per idle connection, and it
    /// spent this much CPU opening each.
    pub client_bytes_per_connection: f64,
    pub client_cpu_us_per_open: f64,
    pub complete: bool,
}

/// Connections opened before the baseline figure, so that one-off allocations (the
/// first connection's buffers, read connections, thread stacks) are not counted.
const WARM_UP: usize = 100;
/// Connections opened at once.
const BATCH: usize = 200;
/// tungstenite's read buffer on this side; idle connections receive little.
const READ_BUFFER: usize = 2048;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Join,
    Stop,
}

struct Held {
    tasks: Vec<JoinHandle<bool>>,
    /// (to open, TLS handshake) of each connection opened after the warm-up.
    timings: Vec<(Duration, Option<Duration>)>,
    joined: Arc<AtomicUsize>,
    failed: usize,
    first_error: Option<String>,
}

/// Opens `n` connections, `BATCH` at a time, each held by a task that reads (so that
/// heartbeats are answered) and joins `customer:idle-{i}` when asked.
async fn open(
    target: &Connector,
    n: usize,
    first: usize,
    phase: &watch::Receiver<Phase>,
    held: &mut Held,
    deadline: Instant,
) {
    let mut i = 0;
    while i < n && Instant::now() < deadline {
        let batch = BATCH.min(n - i);
        let timed = |_| async {
            let start = Instant::now();
            let conn = Conn::open(target, READ_BUFFER).await;
            (start.elapsed(), conn)
        };
        let opened = join_all((0..batch).map(timed)).await;
        for (j, (took, conn)) in opened.into_iter().enumerate() {
            if first > 0
                && let Ok(conn) = &conn
            {
                held.timings.push((took, conn.timing.tls));
            }
            match conn {
                Ok(conn) => held.tasks.push(tokio::spawn(hold(
                    conn,
                    first + i + j,
                    phase.clone(),
                    held.joined.clone(),
                ))),
                Err(e) => {
                    held.failed += 1;
                    held.first_error.get_or_insert(e.0);
                }
            }
        }
        i += batch;
    }
}

/// Returns whether the connection was still open when told to stop.
async fn hold(
    mut conn: Conn,
    i: usize,
    mut phase: watch::Receiver<Phase>,
    joined: Arc<AtomicUsize>,
) -> bool {
    loop {
        tokio::select! {
            text = conn.recv() => if text.is_err() { return false },
            changed = phase.changed() => {
                if changed.is_err() {
                    return false;
                }
                let now = *phase.borrow_and_update();
                match now {
                    Phase::Join => {
                        if conn.subscribe(&format!("customer:idle-{i}")).await.is_err() {
                            return false;
                        }
                        joined.fetch_add(1, Ordering::Relaxed);
                    }
                    Phase::Stop => {
                        conn.close().await;
                        return true;
                    }
                    Phase::Idle => {}
                }
            }
        }
    }
}

/// The server's figures once its memory has settled: read a few times, a second apart.
async fn settled(admin: &mut Conn) -> Result<chit_protocol::ServerStats, ConnError> {
    let mut last = admin.stats().await?.server.unwrap_or_default();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = admin.stats().await?.server.unwrap_or_default();
    }
    Ok(last)
}

pub async fn run(
    target: &Connector,
    admin: &mut Conn,
    n: usize,
    deadline: Instant,
) -> Result<Report, ConnError> {
    let (phase_tx, phase) = watch::channel(Phase::Idle);
    let mut held = Held {
        tasks: Vec::with_capacity(n + WARM_UP),
        timings: Vec::with_capacity(n),
        joined: Arc::default(),
        failed: 0,
        first_error: None,
    };
    open(target, WARM_UP, 0, &phase, &mut held, deadline).await;
    let warm = settled(admin).await?;
    let own_warm = chit_protocol::process::rss_bytes();
    let warm_failed = held.failed;
    let started = Instant::now();
    let cpu_before = chit_protocol::process::cpu_ms();
    open(target, n, WARM_UP, &phase, &mut held, deadline).await;
    let open_cpu_ms = chit_protocol::process::cpu_ms().saturating_sub(cpu_before);
    let open_secs = started.elapsed().as_secs_f64();
    let opened = held.tasks.len().saturating_sub(WARM_UP - warm_failed);
    let idle = settled(admin).await?;
    let own_idle = chit_protocol::process::rss_bytes();

    let _ = phase_tx.send(Phase::Join);
    let all = held.tasks.len();
    let until = (Instant::now() + Duration::from_secs(60)).min(deadline);
    while held.joined.load(Ordering::Relaxed) < all && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let joined = settled(admin).await?;
    let _ = phase_tx.send(Phase::Stop);
    let mut still_open = 0;
    for task in held.tasks {
        if task.await.unwrap_or(false) {
            still_open += 1;
        }
    }
    let per = |after: u64| {
        if opened == 0 {
            0.0
        } else {
            (after as f64 - warm.rss_bytes as f64) / opened as f64
        }
    };
    Ok(Report {
        connections: n,
        opened,
        failed: held.failed,
        first_error: held.first_error,
        open_secs,
        connections_per_sec: if open_secs > 0.0 {
            opened as f64 / open_secs
        } else {
            0.0
        },
        rss_warm_bytes: warm.rss_bytes,
        rss_idle_bytes: idle.rss_bytes,
        rss_joined_bytes: joined.rss_bytes,
        bytes_per_idle_connection: per(idle.rss_bytes),
        bytes_per_joined_connection: per(joined.rss_bytes),
        server_connections: idle.connections,
        server_open_fds: idle.open_fds,
        still_open,
        open_latency: Latency::of(held.timings.iter().map(|(took, _)| *took).collect()),
        tls_handshake: Latency::of(held.timings.iter().filter_map(|(_, tls)| *tls).collect()),
        client_bytes_per_connection: if opened == 0 {
            0.0
        } else {
            (own_idle as f64 - own_warm as f64) / opened as f64
        },
        client_cpu_us_per_open: if opened == 0 {
            0.0
        } else {
            open_cpu_ms as f64 * 1000.0 / opened as f64
        },
        complete: opened == n && held.failed == 0 && still_open == n + WARM_UP,
    })
}
