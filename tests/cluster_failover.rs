//! Three real `chit-server` processes on one PostgreSQL database and one `nats-server`,
//! and clients given all three (`--server A,B,C`): a node killed with SIGKILL under
//! load, ten times over. Placers and a watcher move to a live node; every acknowledged
//! order is in the database once; the watcher, resuming on another node with its last
//! seq, receives exactly what it missed: every stored order once, in seq order.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use chit_e2e::nats::Nats;
use chit_e2e::pg::PgDb;
use chit_e2e::{ServerProcess, bin};

/// A port free now, for a node that is started again on it after each kill.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn node(dir: &Path, port: u16, db: &PgDb, nats: &Nats) -> ServerProcess {
    let flags = ["--store", db.url(), "--peers", &nats.url];
    ServerProcess::start_with(&dir.join("chit.db"), &format!("127.0.0.1:{port}"), &flags)
}

fn chit(servers: &str, token: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(bin("chit"));
    cmd.env("CHIT_SERVER", servers)
        .env("CHIT_TOKEN", token)
        .env("XDG_CONFIG_HOME", dir)
        .env_remove("CHIT_DB")
        .env_remove("CHIT_CONFIG");
    cmd
}

/// Places one order through whichever of `servers` answers; its id if acknowledged.
fn place(servers: &str, token: &str, dir: &Path, n: usize) -> Option<i64> {
    let out = chit(servers, token, dir)
        .args(["order", "place", "--restaurant", "r1", "--name"])
        .arg(format!("guest {n}"))
        .args(["--phone", "0812345678", "--pickup", "--item", "Soup @ 50"])
        .arg("--json")
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["order"]["id"].as_i64()
}

#[test]
fn nodes_killed_under_load_ten_times_lose_no_acknowledged_order_and_no_event() {
    const TRIALS: usize = 10;
    let db = PgDb::create();
    let nats = Nats::start();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut nodes: Vec<Option<ServerProcess>> = (0..3)
        .map(|i| Some(node(dirs[i].path(), ports[i], &db, &nats)))
        .collect();
    let token = nodes[0].as_ref().unwrap().admin_token();
    let servers = ports
        .iter()
        .map(|p| format!("ws://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let home = tempfile::tempdir().unwrap();

    // The watcher: on the first node, until it dies.
    let mut watch = chit(&servers, &token, home.path())
        .args(["watch", "restaurant:r1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (said_tx, said) = mpsc::channel();
    let stderr = BufReader::new(watch.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = said_tx.send(line);
        }
    });
    let (seen_tx, seen) = mpsc::channel();
    let stdout = BufReader::new(watch.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["kind"] == "new_order" {
                let _ = seen_tx.send((
                    v["seq"].as_u64().unwrap(),
                    v["data"]["id"].as_i64().unwrap(),
                ));
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let line = said
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("chit watch says it watches");
        if line.contains("watching restaurant:r1") {
            break;
        }
    }

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
        nodes[victim].take().unwrap().kill();
        // The others take the load.
        acked_more(5);
        nodes[victim] = Some(node(dirs[victim].path(), ports[victim], &db, &nats));
    }
    acked_more(5);
    stop.store(true, Ordering::Relaxed);
    for placer in placers {
        placer.join().unwrap();
    }
    acked.extend(acked_rx.try_iter());

    // Every acknowledged order is stored once; its new_order logged once.
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
    let mut got = Vec::new();
    while got.len() < stored.len() {
        let event = seen
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("the watcher saw {} of {} orders", got.len(), stored.len()));
        got.push(event);
    }
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "seqs increase: {got:?}"
    );
    let mut ids: Vec<i64> = got.iter().map(|(_, id)| *id).collect();
    ids.sort();
    assert_eq!(ids, stored, "each stored order once");
    // It did move: its first node was the first killed.
    let moves = said
        .try_iter()
        .filter(|l| l.contains("reconnected to"))
        .count();
    assert!(moves >= 1, "the watcher moved to another node");
    eprintln!(
        "{} orders stored, {} acknowledged, {} unanswered; the watcher moved {moves} times",
        stored.len(),
        acked.len(),
        unanswered.load(Ordering::Relaxed)
    );
    watch.kill().unwrap();
    watch.wait().unwrap();
}
