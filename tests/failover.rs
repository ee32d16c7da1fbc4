//! `--server A,B`: the first URL dead and the second live, commands and `chit watch` use
//! the live one; and a watcher whose server is killed with SIGKILL while a second server
//! comes up on the same database moves over, says so, and misses nothing.

use chit_e2e::watch::{self, Watcher, chit};
use chit_e2e::{ServerProcess, TestServer};

/// A port nothing listens on (and, for a while, nothing will).
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn place(servers: &str, token: &str, dir: &std::path::Path, name: &str) -> i64 {
    watch::place(chit(servers, token, dir), name).unwrap_or_else(|e| panic!("{e}"))
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

    let watcher = Watcher::start(chit(&servers, &token, dir.path()));

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
    let moved = watcher.wait_said(&format!("reconnected to {second_url}"));
    assert!(moved.contains(&second_url), "{moved}");
    placed.push(place(&second.url, &token, dir.path(), "later"));

    let got = watcher.next_orders(placed.len());
    let ids: Vec<i64> = got.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, placed, "each order once, in order");
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "seqs increase: {got:?}"
    );
}
