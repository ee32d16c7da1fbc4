//! The real kitchen display in a real terminal (tmux) against the real server binary:
//! an order placed with the CLI appears and rings the bell, a key bumps it, and a
//! killed and restarted server shows as offline, then recovers with what was placed
//! during the outage.

use std::process::Command;

use chit_e2e::{ServerProcess, Tmux, bin, wait_until};

fn chit(server: &ServerProcess, args: &[&str]) -> std::process::Output {
    Command::new(bin("chit"))
        .args(args)
        .env("CHIT_SERVER", &server.url)
        .env("CHIT_TOKEN", server.admin_token())
        .env_remove("CHIT_DB")
        .output()
        .expect("run chit")
}

fn place(server: &ServerProcess, name: &str) -> i64 {
    let out = chit(
        server,
        &[
            "order",
            "place",
            "--restaurant",
            "r1",
            "--name",
            name,
            "--phone",
            "0812345678",
            "--address",
            "12 Sukhumvit",
            "--item",
            "2 x Pad Thai @ 120",
            "--note",
            "no peanuts",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["order"]["id"].as_i64().unwrap()
}

fn status_of(server: &ServerProcess, id: i64) -> String {
    let out = chit(server, &["order", "show", &id.to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["order"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_kitchen_display_shows_bumps_and_recovers_from_a_server_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let listen = server.url.trim_start_matches("ws://").to_string();
    let token = String::from_utf8(
        Command::new(bin("chit-server"))
            .arg("--db")
            .arg(&db)
            .args(["token", "issue", "--role", "kitchen", "--restaurant", "r1"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let raw = dir.path().join("terminal.raw");
    let command = format!(
        "CHIT_SERVER={} CHIT_TOKEN={} {} --restaurant r1 --bell --log {}",
        server.url,
        token.trim(),
        bin("chit-kitchen").display(),
        dir.path().join("kitchen.log").display()
    );
    let term = Tmux::start(100, 30, &command);
    term.record(&raw);
    term.wait_text("● online");

    let first = place(&server, "Ann Bell");
    let screen = term.wait_text("Ann Bell");
    assert!(screen.contains("NEW ★"), "{screen}");
    assert!(screen.contains("2 x Pad Thai"));
    assert!(
        wait_until("a bell", || std::fs::read(&raw)
            .ok()
            .filter(|b| b.contains(&7u8)))
        .is_some(),
        "--bell rings the terminal bell on a new order"
    );

    term.keys(&["Enter"]);
    assert!(
        wait_until("confirmed", || (status_of(&server, first) == "confirmed")
            .then_some(()))
        .is_some()
    );
    term.wait_text("CONFIRMED");

    server.kill();
    let screen = term.wait_text("OFFLINE since");
    assert!(screen.contains("RECONNECTING"), "{screen}");
    // A bump pressed while offline is queued and shown as such.
    term.keys(&["Enter"]);
    term.wait_text("(queued)");

    let server = ServerProcess::start(&db, &listen);
    let during = place(&server, "Dao Outage");
    let screen = term.wait_for("recovery", |s| {
        s.contains("Dao Outage") && s.contains("● online")
    });
    assert!(!screen.contains("OFFLINE"), "{screen}");
    assert!(
        wait_until("the queued bump", || (status_of(&server, first)
            == "preparing")
            .then_some(()))
        .is_some()
    );
    term.wait_text("PREPARING");
    assert_eq!(status_of(&server, during), "pending");

    term.keys(&["q"]);
    term.wait_text("Quit the kitchen display?");
    term.keys(&["y"]);
    term.wait_for("the display to exit", |s| !s.contains("chit kitchen"));
}
