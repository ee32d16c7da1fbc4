//! The kitchen's events as the real `chit` prints them while it follows a real server:
//! `chit order watch` says when a held order is fired and each item bumped or recalled
//! at its station (in local time, as its other lines), and `chit watch` carries
//! `item_update`, `order_fired` and `menu_update` as JSON Lines.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chit_e2e::TestServer;
use chit_e2e::kitchen::{self, next_of};
use chit_protocol::EventKind;
use serde_json::Value;

fn run(server: &TestServer, args: &[&str]) -> Output {
    let out = server.chit().args(args).output().expect("run chit");
    assert!(
        out.status.success(),
        "chit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A server with the example Thai menu in use.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    let (admin, mut events) = server.admin().await;
    admin.subscribe("restaurant:thai-1", None).await.unwrap();
    kitchen::load_menu(&server, "thai-1", &kitchen::thai_menu());
    next_of(&mut events, EventKind::MenuUpdate, Duration::from_secs(10)).await;
    server
}

/// Places a pickup order for thai-1 due in two hours (held: the grill's 15 minutes
/// come later) and returns its id.
fn place_held(server: &TestServer) -> String {
    let due = chit_protocol::format_time(chit_protocol::now_ms() + 2 * 3_600_000);
    let out = run(
        server,
        &[
            "order",
            "place",
            "--restaurant",
            "thai-1",
            "--name",
            "Ann",
            "--phone",
            "0812345678",
            "--pickup",
            "--item",
            "2 x Gai yang @ 150",
            "--item",
            "Cha yen @ 45",
            "--due",
            &due,
            "--json",
        ],
    );
    let placed: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(placed["order"]["fire_at"].is_string(), "held: {placed}");
    placed["order"]["id"].to_string()
}

/// The lines a running `chit` prints, read on a thread so that a line that never
/// comes fails the test instead of hanging it.
struct Lines {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Lines {
    fn spawn(server: &TestServer, args: &[&str]) -> Lines {
        let mut child = server
            .chit()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chit");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines { child, lines }
    }

    fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line within 20 s")
    }

    /// The next line without its time of day, checking that it starts with one
    /// (`15:12:03  `, local time).
    fn said(&self) -> String {
        let line = self.next();
        let (time, said) = line.split_once("  ").unwrap_or(("", &line));
        let digits: Vec<&str> = time.split(':').collect();
        assert!(
            digits.len() == 3
                && digits
                    .iter()
                    .all(|d| d.len() == 2 && d.parse::<u8>().is_ok()),
            "a time of day first: {line:?}"
        );
        said.to_string()
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_watch_says_when_a_held_order_fires_and_each_item_moves() {
    let server = server().await;
    let id = place_held(&server);
    let watch = Lines::spawn(&server, &["order", "watch", &id]);
    assert_eq!(watch.said(), format!("order {id} (#1): pending"));

    // The grill starts it early: it is fired into the kitchen, then the item moves and
    // the order with it.
    run(&server, &["order", "item", &id, "1", "started"]);
    let fired = watch.said();
    assert!(
        fired.starts_with(&format!("order {id} (#1): fired into the kitchen, due ")),
        "{fired}"
    );
    assert_eq!(watch.said(), "#1 grill: 2 x Gai yang started");
    assert_eq!(
        watch.said(),
        format!("order {id} (#1): pending -> preparing")
    );

    run(&server, &["order", "item", &id, "1", "done"]);
    assert_eq!(watch.said(), "#1 grill: 2 x Gai yang done");
    run(&server, &["order", "item", &id, "1", "started", "--recall"]);
    assert_eq!(
        watch.said(),
        "#1 grill: 2 x Gai yang back to started (recalled from done)"
    );
    run(&server, &["order", "item", &id, "2", "done"]);
    assert_eq!(watch.said(), "#1 bar: 1 x Cha yen done");
    run(&server, &["order", "item", &id, "1", "done"]);
    assert_eq!(watch.said(), "#1 grill: 2 x Gai yang done");

    // The expo sends it out; the watch ends with the order.
    for status in ["ready", "delivered"] {
        run(&server, &["order", "status", &id, status]);
        let line = watch.said();
        assert!(line.ends_with(&format!("-> {status}")), "{line}");
    }
    let mut watch = watch;
    assert!(watch.child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chit_watch_prints_bumps_fires_and_menu_changes_as_json_lines() {
    let server = server().await;
    let (admin, _events) = server.admin().await;
    let head = admin.subscribe("restaurant:thai-1", None).await.unwrap();
    let id = place_held(&server);
    run(&server, &["order", "item", &id, "2", "started"]);
    run(
        &server,
        &["menu", "86", "Som tam", "--restaurant", "thai-1"],
    );
    run(
        &server,
        &["menu", "restore", "Som tam", "--restaurant", "thai-1"],
    );
    let watch = Lines::spawn(
        &server,
        &["watch", "restaurant:thai-1", "--since", &head.to_string()],
    );
    // The stored events since head, replayed in order (live analytics skipped).
    let events: Vec<Value> = std::iter::repeat_with(|| {
        serde_json::from_str::<Value>(&watch.next()).expect("a JSON line")
    })
    .filter(|e| e["seq"].is_u64())
    .take(6)
    .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "new_order",
            "order_fired",
            "item_update",
            "order_update",
            "menu_update",
            "menu_update"
        ]
    );
    assert_eq!(events[2]["data"]["item"], 2);
    assert_eq!(events[2]["data"]["previous_state"], "queued");
    assert_eq!(events[2]["data"]["items"][1]["state"], "started");
    assert_eq!(events[2]["data"]["items"][1]["station"], "bar");
    assert!(events[1]["data"]["fired_at"].is_string());
    assert_eq!(events[4]["data"]["change"], "unavailable");
    assert_eq!(events[4]["data"]["item"], "Som tam");
    assert_eq!(events[5]["data"]["change"], "restored");
}
