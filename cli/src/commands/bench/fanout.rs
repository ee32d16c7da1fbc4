//! The fan-out scenario: N connections subscribe to one customer room; one order for
//! that customer is placed at a time, and each subscriber times its arrival from the
//! moment it was sent. The next order goes out once all have it (or after 5 s).

use chit_client::Connector;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chit_protocol::{ClientMsg, Fulfilment, NewCustomer, NewItem, NewOrder, ServerMsg};
use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::conn::{Conn, ConnError, Incoming};
use super::figures::{Latency, own_cpu_secs};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub subscribers: usize,
    pub subscribed: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub events: usize,
    pub delivered: u64,
    pub expected: u64,
    /// From sending the order to each subscriber reading its event.
    pub delivery_latency: Latency,
    /// Per event: from sending the order until the last subscriber read it.
    pub reach_all: Latency,
    /// CPU used while the events were sent, by the server and by this process.
    pub server_cpu_secs: f64,
    pub loadgen_cpu_secs: f64,
    pub complete: bool,
}

/// Phone of the customer whose room the subscribers join (its id is the digits).
const PHONE: &str = "555-9000";
const ROOM: &str = "customer:5559000";
const BATCH: usize = 200;
const READ_BUFFER: usize = 2048;
/// Events sent before the measured ones, so that first-use costs are not counted.
const WARM_UP: usize = 1;

struct Shared {
    start: Instant,
    sent: Vec<AtomicU64>,
    received: Vec<AtomicU64>,
    events: usize,
}

fn order(e: usize) -> NewOrder {
    NewOrder {
        restaurant: "bench-fanout".into(),
        customer: NewCustomer {
            id: None,
            name: format!("f{e}"),
            phone: PHONE.into(),
            address: Some("1 Fan Rd".into()),
        },
        items: vec![NewItem {
            name: "Tea".into(),
            qty: 1,
            unit_price: 100,
            note: None,
            category: None,
        }],
        note: None,
        fulfilment: Fulfilment::Delivery,
        ..Default::default()
    }
}

pub async fn run(
    target: &Connector,
    publisher: &mut Conn,
    n: usize,
    events: usize,
    deadline: Instant,
) -> Result<Report, ConnError> {
    let total = events + WARM_UP;
    let shared = Arc::new(Shared {
        start: Instant::now(),
        sent: (0..total).map(|_| AtomicU64::new(0)).collect(),
        received: (0..total).map(|_| AtomicU64::new(0)).collect(),
        events: total,
    });
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    let mut i = 0;
    while i < n && Instant::now() < deadline {
        let batch = BATCH.min(n - i);
        let opened = join_all((0..batch).map(|_| async {
            let mut conn = Conn::open(target, READ_BUFFER).await?;
            conn.subscribe(ROOM).await?;
            Ok::<_, ConnError>(conn)
        }))
        .await;
        for conn in opened {
            match conn {
                Ok(conn) => {
                    tasks.push(tokio::spawn(subscriber(conn, shared.clone(), stop.clone())))
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e.0);
                }
            }
        }
        i += batch;
    }
    let subscribed = tasks.len();
    let server_before = publisher.stats().await?.server.unwrap_or_default();
    let own_before = own_cpu_secs();

    for e in 0..total {
        if Instant::now() >= deadline {
            break;
        }
        shared.sent[e].store(
            shared.start.elapsed().as_nanos() as u64 + 1,
            Ordering::Relaxed,
        );
        match publisher
            .call(ClientMsg::PlaceOrder {
                order: order(e),
                key: None,
            })
            .await?
        {
            ServerMsg::Order { .. } => {}
            ServerMsg::Error { code, message } => {
                return Err(ConnError(format!(
                    "placing the fan-out order failed: {message} ({code})"
                )));
            }
            other => return Err(ConnError(format!("unexpected reply: {other:?}"))),
        }
        let until = (Instant::now() + Duration::from_secs(5)).min(deadline);
        while shared.received[e].load(Ordering::Relaxed) < subscribed as u64
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Let the subscribers go back to waiting before the next one.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let own_cpu = own_cpu_secs() - own_before;
    let server_after = publisher.stats().await?.server.unwrap_or_default();
    let _ = stop_tx.send(true);

    let mut delivery = Vec::new();
    let mut last = vec![Duration::ZERO; total];
    for task in tasks {
        for (e, took) in task.await.unwrap_or_default() {
            if e >= WARM_UP {
                delivery.push(took);
            }
            last[e] = last[e].max(took);
        }
    }
    let delivered = delivery.len() as u64;
    let expected = (subscribed * events) as u64;
    Ok(Report {
        subscribers: n,
        subscribed,
        failed,
        first_error,
        events,
        delivered,
        expected,
        delivery_latency: Latency::of(delivery),
        reach_all: Latency::of(last.into_iter().skip(WARM_UP).collect()),
        server_cpu_secs: server_after.cpu_ms.saturating_sub(server_before.cpu_ms) as f64 / 1000.0,
        loadgen_cpu_secs: own_cpu,
        complete: subscribed == n && delivered == (n * events) as u64,
    })
}

/// Reads events until told to stop; returns (event number, time since it was sent).
async fn subscriber(
    mut conn: Conn,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Vec<(usize, Duration)> {
    let mut got = Vec::with_capacity(shared.events);
    loop {
        let text = tokio::select! {
            text = conn.recv() => match text {
                Ok(text) => text,
                Err(_) => return got,
            },
            _ = stop.changed() => {
                conn.close().await;
                return got;
            }
        };
        let Ok(frame) = serde_json::from_str::<Incoming>(text.as_str()) else {
            continue;
        };
        if !frame.is_event("new_order") {
            continue;
        }
        let Some(e) = frame.order_number('f').filter(|e| *e < shared.events) else {
            continue;
        };
        let sent = shared.sent[e].load(Ordering::Relaxed);
        if sent == 0 {
            continue;
        }
        let took = shared
            .start
            .elapsed()
            .saturating_sub(Duration::from_nanos(sent - 1));
        got.push((e, took));
        shared.received[e].fetch_add(1, Ordering::Relaxed);
    }
}
