//! `--server A,B`: the first URL dead and the second live, commands and `chit watch` use
//! the live one; and a watcher whose server is killed with SIGKILL while a second server
//! comes up on the same database moves over, says so, and misses nothing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use chit_e2e::{ServerProcess, TestServer, bin};

/// A port nothing listens on (and, for a while, nothing will).
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn chit(servers: &str, token: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(bin("chit"));
    cmd.env("CHIT_SERVER", servers)
        .env("CHIT_TOKEN", token)
        .env("XDG_CONFIG_HOME", dir)
        .env_remove("CHIT_DB")
        .env_remove("CHIT_CONFIG");
    cmd
}

fn place(servers: &str, token: &str, dir: &std::path::Path, name: &str) -> i64 {
    let out = chit(servers, token, dir)
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["order"]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_first_server_is_passed_over() {
    let server = TestServer::start().await;
    let servers = format!("ws://127.0.0.1:{},{}", dead_port(), server.url);
    let id = place(&servers, &server.admin, server.dir(), "Ann");
    let out = chit(&servers, &server.admin, server.dir())
        .args(["watch", "restaurant:r1", "--since", "0", "--count", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["data"]["id"], id);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("connected to {}", server.url)),
        "{said}"
    );
    // Both dead: exit 3, each one's reason.
    let both = format!(
        "ws://127.0.0.1:{},ws://127.0.0.1:{}",
        dead_port(),
        dead_port()
    );
    let out = chit(&both, &server.admin, server.dir())
        .args(["order", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("none of the 2 servers could be used"),
        "{said}"
    );
}

#[test]
fn a_watcher_moves_to_the_second_server_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let first = ServerProcess::start(&db, "127.0.0.1:0");
    let token = first.admin_token();
    let second_port = dead_port();
    let second_url = format!("ws://127.0.0.1:{second_port}");
    let servers = format!("{},{second_url}", first.url);

    let mut watch = chit(&servers, &token, dir.path())
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
    let (lines_tx, lines) = mpsc::channel();
    let stdout = BufReader::new(watch.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["kind"] == "new_order" {
                let _ = lines_tx.send((
                    v["seq"].as_u64().unwrap(),
                    v["data"]["id"].as_i64().unwrap(),
                ));
            }
        }
    });
    let wait_said = |text: &str| loop {
        let line = said
            .recv_timeout(std::time::Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("chit watch never said '{text}'"));
        if line.contains(text) {
            return line;
        }
    };
    wait_said("watching restaurant:r1");

    let mut placed: Vec<i64> = (0..3)
        .map(|i| place(&first.url, &token, dir.path(), &format!("before {i}")))
        .collect();
    first.kill();
    let second = ServerProcess::start(&db, &format!("127.0.0.1:{second_port}"));
    // Placed on the second server, perhaps before the watcher has found it.
    for i in 0..3 {
        placed.push(place(
            &second.url,
            &token,
            dir.path(),
            &format!("after {i}"),
        ));
    }
    let moved = wait_said(&format!("reconnected to {second_url}"));
    assert!(moved.contains(&second_url), "{moved}");
    placed.push(place(&second.url, &token, dir.path(), "later"));

    let got: Vec<(u64, i64)> = (0..placed.len())
        .map(|_| {
            lines
                .recv_timeout(std::time::Duration::from_secs(15))
                .expect("every order reaches the watcher")
        })
        .collect();
    let ids: Vec<i64> = got.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, placed, "each order once, in order");
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "seqs increase: {got:?}"
    );
    watch.kill().unwrap();
    watch.wait().unwrap();
}
