//! The real `chit` CLI as a test's client of a server list: [`chit`] to run it,
//! [`place`] to place an order with it, and [`Watcher`] (`chit watch restaurant:r1`) as
//! a subscriber, its new orders read off stdout and its lines off stderr as they come.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `chit` for `servers` (one URL or a list) with `token`, no config file but `home`'s.
pub fn chit(servers: &str, token: &str, home: &std::path::Path) -> Command {
    let mut cmd = Command::new(crate::bin("chit"));
    cmd.env("CHIT_SERVER", servers)
        .env("CHIT_TOKEN", token)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("CHIT_DB")
        .env_remove("CHIT_CONFIG");
    cmd
}

/// Places a pickup order for r1 in `name` with `chit` (as made by [`chit`]): its id,
/// or what the CLI said if it failed.
pub fn place(mut chit: Command, name: &str) -> Result<i64, String> {
    let out = chit
        .args(["order", "place", "--restaurant", "r1", "--name", name])
        .args([
            "--phone",
            "0812345678",
            "--pickup",
            "--item",
            "Soup @ 50",
            "--json",
        ])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(v["order"]["id"].as_i64().expect("the order's id"))
}

/// `chit watch restaurant:r1`, and what it prints: the seq and order of each new_order
/// on stdout, its lines on stderr.
pub struct Watcher {
    child: std::process::Child,
    said: mpsc::Receiver<String>,
    seen: mpsc::Receiver<(u64, i64)>,
}

impl Watcher {
    /// Starts `chit` (a command for the `chit` binary, its server and token set)
    /// watching, and returns once it says it watches.
    pub fn start(mut chit: Command) -> Watcher {
        let mut child = chit
            .args(["watch", "restaurant:r1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (said_tx, said) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = said_tx.send(line);
            }
        });
        let (seen_tx, seen) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                if v["kind"] == "new_order" {
                    let event = (
                        v["seq"].as_u64().unwrap(),
                        v["data"]["id"].as_i64().unwrap(),
                    );
                    let _ = seen_tx.send(event);
                }
            }
        });
        let watcher = Watcher { child, said, seen };
        watcher.wait_said("watching restaurant:r1");
        watcher
    }

    /// The first line it says from now on that contains `text` (within 15 s).
    pub fn wait_said(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let line = self
                .said
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("chit watch never said '{text}'"));
            if line.contains(text) {
                return line;
            }
        }
    }

    /// The next `n` new orders it shows, as (seq, order id), each within 15 s.
    pub fn next_orders(&self, n: usize) -> Vec<(u64, i64)> {
        (0..n)
            .map(|i| {
                self.seen
                    .recv_timeout(Duration::from_secs(15))
                    .unwrap_or_else(|_| panic!("the watcher saw {i} of {n} orders"))
            })
            .collect()
    }

    /// Asserts that the orders `stored` (sorted) reach it, each once, in seq order.
    pub fn saw_each_once(&self, stored: &[i64]) {
        let got = self.next_orders(stored.len());
        assert!(
            got.windows(2).all(|w| w[0].0 < w[1].0),
            "seqs increase: {got:?}"
        );
        let mut ids: Vec<i64> = got.iter().map(|(_, id)| *id).collect();
        ids.sort();
        assert_eq!(ids, stored, "each stored order once");
    }

    /// How often it has said it reconnected (to another server, or through a proxy)
    /// among the lines not yet read.
    pub fn moves(&self) -> usize {
        self.said
            .try_iter()
            .filter(|l| l.contains("reconnected to"))
            .count()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
