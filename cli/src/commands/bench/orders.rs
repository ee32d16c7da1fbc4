//! The orders scenario: K kitchens subscribe to their restaurants' rooms, C clients
//! each keep at most P orders un-acknowledged until N are placed, then the kitchens
//! confirm U of the orders they were shown while the clients watch their customer
//! rooms. Orders are numbered by their customer's name (`b{n}`), so a kitchen can
//! time a notification that arrives before the placing client's acknowledgement.

mod http;
mod roles;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chit_protocol::{Fulfilment, NewCustomer, NewItem, NewOrder, ServerStats};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use self::roles::{client, kitchen};
use super::conn::{Conn, ConnError};
use super::figures::{Latency, ServerUse, host_busy_secs, own_cpu_secs};
use super::nodes::{Node, Nodes};

#[derive(Debug, Clone, Serialize)]
pub struct Params {
    pub kitchens: usize,
    pub restaurants: usize,
    pub clients: usize,
    pub in_flight: usize,
    pub orders: usize,
    pub updates: usize,
    /// Orders are placed over HTTP (`POST /v1/orders`) rather than WebSocket.
    pub http: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub orders_acked: u64,
    pub order_errors: BTreeMap<String, u64>,
    pub place_secs: f64,
    pub orders_per_sec: f64,
    pub ack_latency: Latency,
    pub notify_expected: u64,
    pub notify_latency: Latency,
    pub updates_acked: u64,
    pub update_errors: BTreeMap<String, u64>,
    pub update_secs: f64,
    pub updates_per_sec: f64,
    pub update_notify_latency: Latency,
    /// The servers' use: with several nodes, their sum (events/s: the first node's).
    pub server: ServerUse,
    /// Each node's own, when the scenario used more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeUse>,
    pub loadgen_cpu_secs: f64,
    /// CPU other processes on this machine used meanwhile (the load is not alone when
    /// this is more than a small fraction of the run's seconds).
    pub other_cpu_secs: f64,
    pub wall_secs: f64,
    pub complete: bool,
}

/// One node's use of a scenario on several.
#[derive(Debug, Clone, Serialize)]
pub struct NodeUse {
    pub url: String,
    #[serde(flatten)]
    pub server: ServerUse,
}

/// What every task of the scenario shares: when each order and update was sent, in
/// nanoseconds after `start` (0: not yet), and the counters the coordinator watches.
struct Shared {
    start: Instant,
    placed: Vec<AtomicU64>,
    updated: Vec<AtomicU64>,
    next: AtomicUsize,
    notified: AtomicU64,
    update_notified: AtomicU64,
    updates_done: AtomicU64,
    /// Per kitchen: the ids of the orders it was shown, in the order it saw them.
    shown: Vec<Mutex<Vec<i64>>>,
    deadline: Instant,
    params: Params,
}

impl Shared {
    fn stamp(&self, slot: &AtomicU64) {
        slot.store(
            self.start.elapsed().as_nanos() as u64 + 1,
            Ordering::Relaxed,
        );
    }

    fn since(&self, slot: &AtomicU64) -> Option<Duration> {
        let sent = slot.load(Ordering::Relaxed);
        (sent > 0).then(|| {
            self.start
                .elapsed()
                .saturating_sub(Duration::from_nanos(sent - 1))
        })
    }
}

fn restaurant(r: usize) -> String {
    format!("bench-{}", r + 1)
}

fn phone(client: usize) -> String {
    format!("555-01{client:02}")
}

fn new_order(n: usize, restaurants: usize, client: usize) -> NewOrder {
    NewOrder {
        restaurant: restaurant(n % restaurants),
        customer: NewCustomer {
            id: None,
            name: format!("b{n}"),
            phone: phone(client),
            address: Some(format!("{n} Loop Rd")),
        },
        items: vec![
            NewItem {
                name: "Margherita".into(),
                qty: 2,
                unit_price: 950,
                note: None,
                category: None,
            },
            NewItem {
                name: "Cola".into(),
                qty: 1,
                unit_price: 200,
                note: None,
                category: None,
            },
        ],
        note: None,
        fulfilment: Fulfilment::Delivery,
        ..Default::default()
    }
}

/// Runs the scenario on the servers `nodes` gives each connection; `admins` read the
/// figures of each server used (`Nodes::used`), in that order.
pub async fn run(
    nodes: &Nodes,
    admins: &mut [Conn],
    params: Params,
    deadline: Instant,
) -> Result<Report, ConnError> {
    let mut kitchens_per_restaurant = vec![0u64; params.restaurants];
    let mut kitchen_conns = Vec::new();
    for i in 0..params.kitchens {
        let r = i % params.restaurants;
        let node = nodes.kitchen(i);
        let mut conn = Conn::open_to(node.target, node.index, BUSY_READ_BUFFER).await?;
        conn.subscribe(&format!("restaurant:{}", restaurant(r)))
            .await?;
        kitchens_per_restaurant[r] += 1;
        kitchen_conns.push(conn);
    }
    let mut client_conns = Vec::new();
    for c in 0..params.clients {
        let node = nodes.placer(c);
        let mut conn = Conn::open_to(node.target, node.index, BUSY_READ_BUFFER).await?;
        let digits: String = phone(c).chars().filter(char::is_ascii_digit).collect();
        conn.subscribe(&format!("customer:{digits}")).await?;
        client_conns.push(conn);
    }
    let shared = Arc::new(Shared {
        start: Instant::now(),
        placed: (0..params.orders).map(|_| AtomicU64::new(0)).collect(),
        updated: (0..params.orders).map(|_| AtomicU64::new(0)).collect(),
        next: AtomicUsize::new(0),
        notified: AtomicU64::new(0),
        update_notified: AtomicU64::new(0),
        updates_done: AtomicU64::new(0),
        shown: (0..params.kitchens).map(|_| Mutex::default()).collect(),
        deadline,
        params: params.clone(),
    });
    let (stop_tx, stop) = watch::channel(false);
    let before = figures(admins).await?;
    let cpu_before = own_cpu_secs();
    let host_before = host_busy_secs();

    let mut kitchens = Vec::new();
    let mut plans = Vec::new();
    for (k, conn) in kitchen_conns.into_iter().enumerate() {
        let (plan_tx, plan_rx) = oneshot::channel();
        plans.push(plan_tx);
        kitchens.push(tokio::spawn(kitchen(
            conn,
            k,
            shared.clone(),
            plan_rx,
            stop.clone(),
        )));
    }
    let placing_started = shared.start.elapsed();
    let mut clients = Vec::new();
    let mut placed_signals = Vec::new();
    let mut http_placers = Vec::new();
    for (c, conn) in client_conns.into_iter().enumerate() {
        let (placed_tx, placed_rx) = oneshot::channel();
        if params.http {
            // The WebSocket connection only watches; HTTP connections place.
            let addr = http_addr(nodes.placer(c))?;
            let token = nodes.placing.token().to_string();
            let placing = http::place(addr, token, c, params.in_flight, shared.clone());
            http_placers.push(tokio::spawn(placing));
        } else {
            placed_signals.push(placed_rx);
        }
        let watch_only = params.http;
        clients.push(tokio::spawn(client(
            conn,
            c,
            shared.clone(),
            placed_tx,
            stop.clone(),
            watch_only,
        )));
    }
    // Placing ends when every client has its acknowledgements (or gave up).
    for placed in placed_signals {
        let _ = placed.await;
    }
    let mut over_http = http::Placed::default();
    for placer in http_placers {
        let r = placer
            .await
            .map_err(|e| ConnError(format!("an HTTP placer failed: {e}")))??;
        over_http.acked += r.acked;
        merge(&mut over_http.errors, r.errors);
        over_http.ack.extend(r.ack);
        over_http.last_ack = over_http.last_ack.max(r.last_ack);
    }
    let issued = shared.next.load(Ordering::Relaxed).min(params.orders);
    let notify_expected: u64 = (0..issued)
        .map(|n| kitchens_per_restaurant[n % params.restaurants])
        .sum();
    wait_for(
        &shared.notified,
        notify_expected,
        Duration::from_secs(10),
        deadline,
    )
    .await;

    // Then each kitchen confirms its share of the orders it was shown.
    let updates_started = shared.start.elapsed();
    let shown = shared
        .shown
        .iter()
        .map(|s| std::mem::take(&mut *s.lock().unwrap()))
        .collect();
    let planned = plan_updates(shown, params.updates);
    let planned_total: usize = planned.iter().map(Vec::len).sum();
    for (plan, tx) in planned.into_iter().zip(plans) {
        let _ = tx.send(plan);
    }
    let limit = Duration::from_secs(60);
    wait_for(&shared.updates_done, planned_total as u64, limit, deadline).await;
    let limit = Duration::from_secs(10);
    wait_for(
        &shared.update_notified,
        planned_total as u64,
        limit,
        deadline,
    )
    .await;
    let after = figures(admins).await?;
    let busy_secs = shared.start.elapsed().saturating_sub(placing_started);
    let loadgen_cpu_secs = own_cpu_secs() - cpu_before;
    let host_secs = host_busy_secs() - host_before;
    let _ = stop_tx.send(true);

    let mut orders_acked = over_http.acked;
    let mut order_errors = over_http.errors;
    let mut ack = over_http.ack;
    let mut last_ack = placing_started.max(over_http.last_ack);
    let mut update_notify = Vec::new();
    for task in clients {
        let r = task
            .await
            .map_err(|e| ConnError(format!("client task failed: {e}")))??;
        orders_acked += r.acked;
        merge(&mut order_errors, r.errors);
        ack.extend(r.ack);
        last_ack = last_ack.max(r.last_ack);
        update_notify.extend(r.update_notify);
    }
    let mut notify = Vec::new();
    let mut updates_acked = 0;
    let mut update_errors = BTreeMap::new();
    let mut last_update = updates_started;
    for task in kitchens {
        let r = task
            .await
            .map_err(|e| ConnError(format!("kitchen task failed: {e}")))??;
        notify.extend(r.notify);
        updates_acked += r.updates_acked;
        merge(&mut update_errors, r.errors);
        last_update = last_update.max(r.last_update);
    }
    let place_secs = (last_ack - placing_started).as_secs_f64();
    let update_secs = (last_update - updates_started).as_secs_f64();
    let per_sec = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let notify_latency = Latency::of(notify);
    let update_notify_latency = Latency::of(update_notify);
    let complete = orders_acked == params.orders as u64
        && notify_latency.n as u64 == notify_expected
        && planned_total == params.updates.min(params.orders)
        && updates_acked == planned_total as u64
        && update_notify_latency.n == planned_total;
    let ops = orders_acked + updates_acked;
    let secs = busy_secs.as_secs_f64();
    let each: Vec<ServerUse> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| ServerUse::between(b, a, ops, secs))
        .collect();
    let server = ServerUse::sum(&each, ops);
    let used = nodes.used(params.clients, params.kitchens);
    let nodes = if each.len() > 1 {
        used.iter()
            .zip(each)
            .map(|(node, server)| NodeUse {
                url: node.url().to_string(),
                server,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Report {
        orders_acked,
        order_errors,
        place_secs,
        orders_per_sec: per_sec(orders_acked, place_secs),
        ack_latency: Latency::of(ack),
        notify_expected,
        notify_latency,
        updates_acked,
        update_errors,
        update_secs,
        updates_per_sec: per_sec(updates_acked, update_secs),
        update_notify_latency,
        other_cpu_secs: (host_secs - server.cpu_secs - loadgen_cpu_secs).max(0.0),
        wall_secs: busy_secs.as_secs_f64(),
        server,
        nodes,
        loadgen_cpu_secs,
        complete,
        params,
    })
}

/// Each admin connection's server figures.
async fn figures(admins: &mut [Conn]) -> Result<Vec<ServerStats>, ConnError> {
    let mut all = Vec::with_capacity(admins.len());
    for admin in admins {
        all.push(admin.stats().await?.server.unwrap_or_default());
    }
    Ok(all)
}

/// `host:port` of a server, where it answers HTTP too (`ws://` only: the load generator
/// speaks plain HTTP).
fn http_addr(node: Node<'_>) -> Result<String, ConnError> {
    let endpoint = node.target.servers().get(node.index);
    if endpoint.secure {
        return Err(ConnError(format!(
            "--http needs a ws:// server URL, not '{}'",
            endpoint.url
        )));
    }
    Ok(if endpoint.host.contains(':') {
        format!("[{}]:{}", endpoint.host, endpoint.port)
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    })
}

/// tungstenite's read buffer for the scenario's busy connections.
const BUSY_READ_BUFFER: usize = 16 * 1024;
/// Frames handled before a task goes back to sending.
const READ_BATCH: usize = 256;

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (code, n) in from {
        *into.entry(code).or_default() += n;
    }
}

/// Waits (polling, bounded by `limit` and the deadline) until `counter` reaches `want`.
async fn wait_for(counter: &AtomicU64, want: u64, limit: Duration, deadline: Instant) {
    let until = (Instant::now() + limit).min(deadline);
    while counter.load(Ordering::Relaxed) < want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Spreads `updates` over the kitchens, round robin, each confirming orders it was
/// shown, each order once.
fn plan_updates(shown: Vec<Vec<i64>>, updates: usize) -> Vec<Vec<i64>> {
    let mut plans = vec![Vec::new(); shown.len()];
    let mut seen = HashSet::new();
    let longest = shown.iter().map(Vec::len).max().unwrap_or(0);
    'rounds: for round in 0..longest {
        for (k, orders) in shown.iter().enumerate() {
            if seen.len() == updates {
                break 'rounds;
            }
            if let Some(id) = orders.get(round)
                && seen.insert(*id)
            {
                plans[k].push(*id);
            }
        }
    }
    plans
}
