//! Stations and the expo in real terminals (tmux) against the real server binary: a
//! menu loaded with `chit-server menu load`, a grill display, a fry display and an
//! expo; an order with items for three stations. Each station's bumps show on the
//! expo, the expo asks before sending out an order that is not done, and its bump makes
//! the order ready as `chit order show` sees it.

use std::process::Command;

use chit_e2e::{ServerProcess, Tmux, bin, wait_until};

const MENU: &str = r#"
stations = ["grill", "fry", "bar"]
default_station = "grill"
prep_minutes = 8

[[category]]
name = "Burgers"
station = "grill"
items = ["Cheeseburger"]

[[category]]
name = "Sides"
station = "fry"
prep_minutes = 5
items = ["Fries"]

[[category]]
name = "Drinks"
station = "bar"
prep_minutes = 2
items = ["Cola"]
"#;

fn chit(server: &ServerProcess, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin("chit"))
        .args(args)
        .env("CHIT_SERVER", &server.url)
        .env("CHIT_TOKEN", server.admin_token())
        .env_remove("CHIT_DB")
        .env_remove("CHIT_CONFIG")
        .output()
        .expect("run chit");
    assert!(
        out.status.success(),
        "chit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn order_json(server: &ServerProcess, id: i64) -> serde_json::Value {
    let out = chit(server, &["order", "show", &id.to_string(), "--json"]);
    serde_json::from_slice(&out.stdout).expect("order show --json")
}

fn display(server: &ServerProcess, token: &str, dir: &std::path::Path, screen: &[&str]) -> Tmux {
    let name = screen.join("-").replace("--", "");
    let command = format!(
        "CHIT_CONFIG= CHIT_SERVER={} CHIT_TOKEN={} {} --restaurant r1 --mute --log {} {}",
        server.url,
        token,
        bin("chit-kitchen").display(),
        dir.join(format!("{name}.log")).display(),
        screen.join(" ")
    );
    let term = Tmux::start(100, 30, &command);
    term.wait_text("● online");
    term
}

#[test]
fn bumps_at_each_station_show_on_the_expo_and_its_bump_makes_the_order_ready() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let menu = dir.path().join("menu.toml");
    std::fs::write(&menu, MENU).unwrap();
    let loaded = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(&db)
        .args(["menu", "load", "--restaurant", "r1"])
        .arg(&menu)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
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
    let token = token.trim();
    let grill = display(&server, token, dir.path(), &["--station", "grill"]);
    let fry = display(&server, token, dir.path(), &["--station", "fry"]);
    let expo = display(&server, token, dir.path(), &["--expo"]);
    expo.wait_text("chit expo · r1");
    grill.wait_text("nothing for grill");

    // The server takes the menu up while it runs: the displays hear of it.
    assert!(
        wait_until("the server to take the menu up", || {
            let out = chit(&server, &["menu", "show", "--restaurant", "r1", "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            v["menu"]["stations"].is_array().then_some(())
        })
        .is_some()
    );
    let out = chit(
        &server,
        &[
            "order",
            "place",
            "--restaurant",
            "r1",
            "--name",
            "Ann Expo",
            "--phone",
            "0812345678",
            "--pickup",
            "--item",
            "2 x Cheeseburger @ 90",
            "--item",
            "2 x Fries @ 40",
            "--item",
            "1 x Cola @ 30",
            "--json",
        ],
    );
    let placed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = placed["order"]["id"].as_i64().unwrap();
    let routed: Vec<&str> = placed["order"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["station"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(routed, ["grill", "fry", "bar"]);

    let screen = grill.wait_text("2 x Cheeseburger");
    assert!(
        !screen.contains("Fries"),
        "the grill sees only its items:\n{screen}"
    );
    assert!(screen.contains("also: fry — · bar —"), "{screen}");
    fry.wait_text("2 x Fries");
    expo.wait_text("grill — · fry — · bar —");

    // The expo accepts the new order, then will not send it out unasked while items
    // are not done.
    expo.keys(&["Enter"]);
    expo.wait_text("CONFIRMED");
    expo.keys(&["Enter"]);
    expo.wait_text("Send it out as ready anyway?");
    expo.keys(&["n"]);
    expo.wait_for("the question to close", |s| !s.contains("anyway?"));

    // The grill starts its items (the order is now preparing), then finishes them.
    grill.keys(&["Enter"]);
    expo.wait_text("grill 0/1▸");
    grill.keys(&["Enter"]);
    grill.wait_text("nothing for grill");
    expo.wait_text("grill ✓ · fry — · bar —");
    assert_eq!(order_json(&server, id)["order"]["status"], "preparing");

    // The fryer's bump bar: the digit bumps its first ticket.
    fry.keys(&["1"]);
    fry.wait_text("▸ 2 x Fries");
    fry.keys(&["1"]);
    fry.wait_text("nothing for fry");
    expo.wait_text("grill ✓ · fry ✓ · bar —");

    // No bar screen today: the bartender's bump comes from the CLI.
    chit(&server, &["order", "item", &id.to_string(), "3", "done"]);
    let screen = expo.wait_text("ALL DONE ✓");
    assert!(screen.contains("grill ✓ · fry ✓ · bar ✓"), "{screen}");

    expo.keys(&["Enter"]);
    assert!(
        wait_until("ready", || (order_json(&server, id)["order"]["status"]
            == "ready")
            .then_some(()))
        .is_some(),
        "the expo's bump makes the order ready"
    );
    expo.wait_text("READY");
}
