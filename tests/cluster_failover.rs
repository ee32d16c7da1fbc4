//! Three real `chit-server` processes on one PostgreSQL database and one `nats-server`,
//! and clients given all three (`--server A,B,C`): a node killed with SIGKILL under
//! load, ten times over. Placers and a watcher move to a live node; every acknowledged
//! order is in the database once; the watcher, resuming on another node with its last
//! seq, receives exactly what it missed: every stored order once, in seq order.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use chit_e2e::ServerProcess;
use chit_e2e::nats::Nats;
use chit_e2e::pg::PgDb;
use chit_e2e::tls::{Ca, Nginx};
use chit_e2e::watch::{self, Watcher, chit};

/// A port free now, for a node that is started again on it after each kill.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Three `chit-server` processes on one new database and one `nats-server`, each on a
/// port of its own that it gets again when started again.
struct Cluster {
    db: PgDb,
    nats: Nats,
    dirs: Vec<tempfile::TempDir>,
    ports: Vec<u16>,
    nodes: Vec<Option<ServerProcess>>,
}

impl Cluster {
    fn start() -> Cluster {
        let mut cluster = Cluster {
            db: PgDb::create(),
            nats: Nats::start(),
            dirs: (0..3).map(|_| tempfile::tempdir().unwrap()).collect(),
            ports: (0..3).map(|_| free_port()).collect(),
            nodes: Vec::new(),
        };
        cluster.nodes = (0..3).map(|i| Some(cluster.node(i))).collect();
        cluster
    }

    fn node(&self, i: usize) -> ServerProcess {
        let flags = ["--store", self.db.url(), "--peers", &self.nats.url];
        let listen = format!("127.0.0.1:{}", self.ports[i]);
        ServerProcess::start_with(&self.dirs[i].path().join("chit.db"), &listen, &flags)
    }

    fn token(&self) -> String {
        self.nodes[0].as_ref().unwrap().admin_token()
    }

    /// Node `i`, killed with SIGKILL.
    fn kill(&mut self, i: usize) {
        self.nodes[i].take().unwrap().kill();
    }

    /// Node `i`, started again on its port.
    fn restart(&mut self, i: usize) {
        self.nodes[i] = Some(self.node(i));
    }
}

/// Places one order through whichever of `servers` answers; its id if acknowledged.
fn place(servers: &str, token: &str, dir: &Path, n: usize) -> Option<i64> {
    watch::place(chit(servers, token, dir), &format!("guest {n}")).ok()
}

#[test]
fn nodes_killed_under_load_ten_times_lose_no_acknowledged_order_and_no_event() {
    const TRIALS: usize = 10;
    let mut cluster = Cluster::start();
    let token = cluster.token();
    let servers = cluster
        .ports
        .iter()
        .map(|p| format!("ws://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let home = tempfile::tempdir().unwrap();

    // The watcher: on the first node, until it dies.
    let watcher = Watcher::start(chit(&servers, &token, home.path()));

    // Two placers, each through the list, until told to stop (at most 2,000 orders).
    let (acked_tx, acked_rx) = mpsc::channel();
    let unanswered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let placers: Vec<_> = (0..2)
        .map(|p| {
            let (servers, token) = (servers.clone(), token.clone());
            let home = home.path().to_path_buf();
            let (acked, unanswered, stop) = (acked_tx.clone(), unanswered.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0..1000 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match place(&servers, &token, &home, p * 1000 + n) {
                        Some(id) => acked.send(id).unwrap(),
                        None => _ = unanswered.fetch_add(1, Ordering::Relaxed),
                    }
                }
            })
        })
        .collect();
    drop(acked_tx);
    let mut acked = Vec::new();
    // Waits until `more` orders past those are acknowledged.
    let mut acked_more = |more: usize| {
        for _ in 0..more {
            let id = acked_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("orders are acknowledged again");
            acked.push(id);
        }
    };

    for trial in 0..TRIALS {
        let victim = trial % 3;
        acked_more(5);
        cluster.kill(victim);
        // The others take the load.
        acked_more(5);
        cluster.restart(victim);
    }
    acked_more(5);
    stop.store(true, Ordering::Relaxed);
    for placer in placers {
        placer.join().unwrap();
    }
    acked.extend(acked_rx.try_iter());

    // Every acknowledged order is stored once; its new_order logged once.
    let (stored, logged) = stored_orders(&cluster.db);
    for id in &acked {
        assert!(stored.contains(id), "acknowledged order {id} is stored");
    }
    for id in &stored {
        assert_eq!(
            logged.get(id),
            Some(&1),
            "order {id}'s new_order is logged once"
        );
    }
    // An order whose answer was lost with its node may be stored too, and is watched.
    assert!(stored.len() >= acked.len());
    assert!(stored.len() <= acked.len() + unanswered.load(Ordering::Relaxed));

    // The watcher saw every stored order once, in seq order, across its moves.
    watcher.saw_each_once(&stored);
    // It did move: its first node was the first killed.
    let moves = watcher.moves();
    assert!(moves >= 1, "the watcher moved to another node");
    eprintln!(
        "{} orders stored, {} acknowledged, {} unanswered; the watcher moved {moves} times",
        stored.len(),
        acked.len(),
        unanswered.load(Ordering::Relaxed)
    );
}

/// The orders the database holds, and how often each one's new_order is logged.
fn stored_orders(db: &PgDb) -> (Vec<i64>, HashMap<i64, i64>) {
    let mut client = db.connect();
    let stored: Vec<i64> = client
        .query("SELECT id FROM orders ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let logged: HashMap<i64, i64> = client
        .query(
            "SELECT order_id, count(*) FROM events WHERE kind = 'new_order' GROUP BY order_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (stored, logged)
}

/// The same behind nginx with the shipped `contrib/nginx-chit-cluster.conf`: clients
/// know one URL, each node is killed in turn (and started again) while orders are placed
/// through nginx, and the watcher, whose node is among them, sees every order once.
#[test]
fn behind_nginx_each_node_killed_in_turn_loses_nothing() {
    let mut cluster = Cluster::start();
    let token = cluster.token();
    let ca = Ca::new();
    let addrs: Vec<SocketAddr> = cluster
        .ports
        .iter()
        .map(|p| ([127, 0, 0, 1], *p).into())
        .collect();
    let nginx = Nginx::start_cluster(&ca, &addrs);
    let home = tempfile::tempdir().unwrap();
    let ca_file = ca.write(home.path());
    let through_nginx = || {
        let mut cmd = chit(&nginx.url, &token, home.path());
        cmd.env("CHIT_CA_FILE", &ca_file);
        cmd
    };
    let watcher = Watcher::start(through_nginx());
    let place = |n: usize| {
        let placed = watch::place(through_nginx(), &format!("guest {n}"));
        placed.unwrap_or_else(|e| panic!("placed through nginx with a node down: {e}"));
    };
    let mut n = 0;
    for victim in 0..3 {
        for _ in 0..3 {
            place(n);
            n += 1;
        }
        cluster.kill(victim);
        for _ in 0..3 {
            place(n);
            n += 1;
        }
        cluster.restart(victim);
    }
    let (stored, logged) = stored_orders(&cluster.db);
    assert_eq!(
        stored.len(),
        n,
        "every order placed through nginx is stored"
    );
    assert!(stored.iter().all(|id| logged.get(id) == Some(&1)));
    watcher.saw_each_once(&stored);
    assert!(
        watcher.moves() >= 1,
        "the watcher's node was killed, and it moved"
    );
}
