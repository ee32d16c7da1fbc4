//! The kitchen's commands of the real `chit` and `chit-server` binaries against a real
//! server: loading and showing a menu, orders with a due time, priority, source and
//! item categories, item bumps and the forced ready from scripts, 86 and its refusals
//! (per line in batch entry), and speed of service in `chit stats`.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use chit_e2e::TestServer;
use chit_e2e::kitchen::{self, next_of};
use chit_protocol::EventKind;
use serde_json::Value;

fn run(server: &TestServer, args: &[&str]) -> Output {
    server.chit().args(args).output().expect("run chit")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(stdout(out).trim()).expect("one JSON document")
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

const PLACE: &[&str] = &[
    "order",
    "place",
    "--restaurant",
    "thai-1",
    "--name",
    "Ann",
    "--phone",
    "0812345678",
    "--pickup",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_carry_due_priority_source_and_categories_and_items_bump_from_scripts() {
    let server = server().await;
    let mut args = PLACE.to_vec();
    args.extend([
        "--item",
        "2 x Pad Thai @ 120",
        "--item",
        "Chef's special @ 200 [Grill]",
        "--item",
        "Cha yen @ 45",
        "--priority",
        "rush",
        "--source",
        "phone",
        "--due",
        "2099-01-01T12:00:00Z",
        "--json",
    ]);
    let out = run(&server, &args);
    assert_eq!(out.status.code(), Some(1), "more than 14 days ahead");
    assert!(
        stderr(&out).contains("more than 14 days ahead"),
        "{}",
        stderr(&out)
    );
    let due = chit_protocol::format_time(chit_protocol::now_ms() + 2 * 3_600_000);
    let n = args.len();
    args[n - 2] = &due;
    let placed = json(&run(&server, &args));
    let order = &placed["order"];
    assert_eq!(order["priority"], "rush");
    assert_eq!(order["source"], "phone");
    assert_eq!(order["items"][1]["category"], "Grill");
    assert_eq!(order["items"][1]["station"], "grill");
    // Like priority when normal, an item's state is left out while it is queued.
    assert!(order["items"][0].get("state").is_none(), "{order}");
    assert!(order["fire_at"].is_string() && order["fired_at"].is_null());
    let id = order["id"].as_i64().unwrap().to_string();

    let out = run(&server, &["order", "item", &id, "2", "started"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("order {id} (#1) item 2, Chef's special at grill: started (order preparing)")
    );
    let shown = stdout(&run(&server, &["order", "show", &id]));
    for line in [
        "preparing, pickup, total 485.00, RUSH, from phone",
        "1.   2 x Pad Thai @ 120.00",
        "grill    started",
        "bar      queued",
        "fired ",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
    // Not ready while items are not done; the expo's --force is.
    let out = run(&server, &["order", "status", &id, "ready"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has items not done (wok 0/1, grill 0/1, bar 0/1)"),
        "{}",
        stderr(&out)
    );
    let out = run(&server, &["order", "item", &id, "2", "queued"]);
    assert_eq!(out.status.code(), Some(1), "going back needs --recall");
    let recalled = json(&run(
        &server,
        &["order", "item", &id, "2", "queued", "--recall", "--json"],
    ));
    assert!(
        recalled["order"]["items"][1].get("state").is_none(),
        "queued again"
    );
    let out = run(&server, &["order", "item", &id, "7", "done"]);
    assert!(
        stderr(&out).contains("there is no item 7"),
        "{}",
        stderr(&out)
    );
    let forced = json(&run(
        &server,
        &["order", "status", &id, "ready", "--force", "--json"],
    ));
    assert_eq!(forced["order"]["status"], "ready");
    let out = run(&server, &["order", "item", &id, "x", "done"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_six_restore_and_batch_entry_reports_each_line() {
    let server = server().await;
    let out = run(
        &server,
        &[
            "menu",
            "86",
            "ผัดไทย",
            "--restaurant",
            "thai-1",
            "--until",
            "23:59",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Pad Thai is unavailable at thai-1 until "),
        "{}",
        stdout(&out)
    );
    let listed = json(&run(
        &server,
        &["menu", "unavailable", "--restaurant", "thai-1", "--json"],
    ));
    assert_eq!(listed["items"][0]["item"], "Pad Thai");
    let human = stdout(&run(
        &server,
        &["menu", "unavailable", "--restaurant", "thai-1"],
    ));
    assert!(
        human.contains("Pad Thai  until ") && human.contains("by admin"),
        "{human}"
    );

    let lines = [
        r#"{"restaurant":"thai-1","customer":{"name":"Ann","phone":"0812345678"},"fulfilment":"pickup","items":[{"name":"Som tam","unit_price":8000}],"source":"web"}"#,
        r#"{"restaurant":"thai-1","customer":{"name":"Bo","phone":"0812345679"},"fulfilment":"pickup","items":[{"name":"Pad Thai","qty":2,"unit_price":12000}]}"#,
        r#"{"restaurant":"thai-1","customer":{"name":"Cy","phone":"0812345670"},"fulfilment":"pickup","items":[{"name":"Gai yang","unit_price":15000,"category":"Grill"}],"priority":"rush"}"#,
    ]
    .join("\n");
    let mut child = server
        .chit()
        .args(["order", "place", "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a line failed");
    let said = stdout(&out);
    let said: Vec<&str> = said.lines().collect();
    assert!(said[0].starts_with("line 1: order "), "{said:?}");
    assert!(
        said[1].starts_with("line 2: failed: 'Pad Thai' is unavailable at thai-1 until ")
            && said[1].ends_with("(unavailable)"),
        "{said:?}"
    );
    assert!(said[2].starts_with("line 3: order "), "{said:?}");
    assert!(
        stderr(&out).contains("1 of 3 lines failed"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &server,
        &["menu", "restore", "Pad Thai", "--restaurant", "thai-1"],
    );
    assert_eq!(stdout(&out).trim(), "Pad Thai is available again at thai-1");
    let out = run(
        &server,
        &["menu", "restore", "Pad Thai", "--restaurant", "thai-1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not unavailable"),
        "{}",
        stderr(&out)
    );
    let out = run(&server, &["menu", "unavailable", "--restaurant", "thai-1"]);
    assert_eq!(stdout(&out).trim(), "nothing is unavailable at thai-1");
    let out = run(
        &server,
        &[
            "menu",
            "86",
            "Pad Thai",
            "--restaurant",
            "thai-1",
            "--until",
            "soon",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a time"), "{}", stderr(&out));
    let out = run(&server, &["menu", "unavailable"]);
    assert_eq!(out.status.code(), Some(2), "an admin names the restaurant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menus_show_from_both_binaries_and_a_bad_file_names_its_line() {
    let server = server().await;
    let shown = stdout(&run(&server, &["menu", "show", "--restaurant", "thai-1"]));
    assert!(
        shown.starts_with("thai-1: menu version 1, loaded "),
        "{shown}"
    );
    assert!(
        shown.contains("\ngrill\n  Grill (15 min)\n    Gai yang"),
        "{shown}"
    );
    let as_json = json(&run(
        &server,
        &["menu", "show", "--restaurant", "thai-1", "--json"],
    ));
    assert_eq!(as_json["menu"]["stations"][0], "wok");
    let none = stdout(&run(&server, &["menu", "show", "--restaurant", "r9"]));
    assert!(none.contains("r9 has no menu"), "{none}");

    let on_server = server
        .offline()
        .args(["menu", "show", "--restaurant", "thai-1"])
        .output()
        .unwrap();
    let on_server = stdout(&on_server);
    assert!(
        on_server.contains("Pad Thai") && on_server.contains("also: Phad Thai, ผัดไทย"),
        "{on_server}"
    );

    let bad = server.dir().join("bad.toml");
    std::fs::write(
        &bad,
        "[[category]]\nname = \"Noodles\"\nstation = \"w o k\"\nitems = [\"Pad Thai\"]\n",
    )
    .unwrap();
    let out = server
        .offline()
        .args(["menu", "load", "--restaurant", "thai-1"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "{}:3: category[1].station: 'w o k' is not a station name",
            bad.display()
        )),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chit_stats_shows_speed_of_service() {
    let server = server().await;
    let mut args = PLACE.to_vec();
    args.extend([
        "--item",
        "Pad Thai @ 120",
        "--item",
        "Cha yen @ 45",
        "--json",
    ]);
    let placed = json(&run(&server, &args));
    let id = placed["order"]["id"].as_i64().unwrap().to_string();
    for n in ["1", "2"] {
        assert!(
            run(&server, &["order", "item", &id, n, "done"])
                .status
                .success()
        );
    }
    assert!(
        run(&server, &["order", "status", &id, "ready"])
            .status
            .success()
    );
    let stats = json(&run(
        &server,
        &["stats", "--restaurant", "thai-1", "--json"],
    ));
    assert_eq!(stats["speed"]["items"]["count"], 2);
    assert_eq!(stats["speed"]["orders"]["count"], 1);
    assert_eq!(stats["speed"]["stations"][0]["station"], "wok");
    let human = stdout(&run(&server, &["stats", "--restaurant", "thai-1"]));
    assert!(human.contains("speed of service today:"), "{human}");
    assert!(
        human.contains(
            "items, in the kitchen to done:  median 0.0 min, 90th percentile 0.0 min (2)"
        ),
        "{human}"
    );
    assert!(human.contains("  wok     median"), "{human}");
}

/// `make demo`'s sample orders, fed to `chit order place --file -` as the demo does: all
/// placed, and every dish of the Thai kitchen found on its menu.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_orders_are_placed_and_found_on_the_menu() {
    let server = server().await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo-orders.sh");
    let mut lines = String::new();
    for _ in 0..5 {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("4")
            .output()
            .unwrap();
        assert!(out.status.success());
        lines += &String::from_utf8(out.stdout).unwrap();
    }
    let mut child = server
        .chit()
        .args(["order", "place", "--file", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    let results: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 20);
    for r in &results {
        let order = &r["order"];
        let names: Vec<&str> = order["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        let mut unique = names.clone();
        unique.dedup();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "each dish once: {names:?}");
        if order["restaurant"] == "thai-1" {
            for item in order["items"].as_array().unwrap() {
                assert!(item["category"].is_string(), "not on the menu: {item}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_show_into_a_closed_pipe_ends_quietly() {
    let server = server().await;
    // A reader that is already gone, as `chit-server menu show | head -0` leaves it: every
    // write fails with a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = server
        .offline()
        .args(["menu", "show", "--restaurant", "thai-1"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
