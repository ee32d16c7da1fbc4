//! The `chit` binary as scripts use it: human and JSON output, exit codes, batch entry
//! from JSON Lines, and `order watch` following an order to its end.

use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};

use chit_e2e::TestServer;
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

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

const PLACE: &[&str] = &[
    "order",
    "place",
    "--restaurant",
    "r1",
    "--name",
    "Ann",
    "--phone",
    "0812345678",
    "--address",
    "12 Sukhumvit",
    "--item",
    "2 x Pad Thai @ 120.00",
    "--item",
    "Iced tea @ 35",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn place_change_show_list_and_stats() {
    let server = TestServer::start().await;
    let out = run(&server, PLACE);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("total 275.00"), "{}", stdout(&out));

    let mut args = PLACE.to_vec();
    args.push("--json");
    let out = run(&server, &args);
    let placed = &json_lines(&out)[0];
    assert_eq!(placed["order"]["total"], 27500);
    assert_eq!(placed["duplicate"], false);
    let id = placed["order"]["id"].as_i64().unwrap().to_string();

    for status in ["confirmed", "preparing"] {
        let out = run(&server, &["order", "status", &id, status]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(status));
    }
    let out = run(&server, &["order", "status", &id, "delivered"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot become delivered") && err.contains("invalid_transition"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one clear sentence: {err}");

    let out = run(&server, &["order", "show", &id, "--json"]);
    assert_eq!(json_lines(&out)[0]["order"]["status"], "preparing");
    let out = run(&server, &["order", "show", &id]);
    assert!(
        stdout(&out).contains("2 x Pad Thai @ 120.00"),
        "{}",
        stdout(&out)
    );

    let out = run(
        &server,
        &[
            "--json",
            "order",
            "list",
            "--restaurant",
            "r1",
            "--status",
            "pending,preparing",
        ],
    );
    let listed = &json_lines(&out)[0];
    let statuses: Vec<&str> = listed["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "preparing"]);
    let out = run(
        &server,
        &[
            "order",
            "list",
            "--restaurant",
            "r1",
            "--status",
            "preparing",
        ],
    );
    assert_eq!(stdout(&out).lines().count(), 1);

    // A listing that does not hold every order says so, and where the rest begins.
    let out = run(&server, &["order", "list", "--limit", "1"]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("more orders remain") && err.contains("--cursor"),
        "{err}"
    );
    let out = run(&server, &["--json", "order", "list", "--limit", "1"]);
    let page = &json_lines(&out)[0];
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_string();
    let out = run(
        &server,
        &[
            "--json", "order", "list", "--limit", "1", "--cursor", &cursor,
        ],
    );
    let last = &json_lines(&out)[0];
    assert_eq!(last["orders"].as_array().unwrap().len(), 1);
    assert!(last["next_cursor"].is_null(), "{last}");
    assert_ne!(last["orders"][0]["id"], page["orders"][0]["id"]);
    let out = run(&server, &["order", "list"]);
    assert!(
        !stderr(&out).contains("more orders remain"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &server,
        &["order", "cancel", &id, "--reason", "out of noodles"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&server, &["stats", "--restaurant", "r1", "--json"]);
    let stats = &json_lines(&out)[0];
    assert_eq!(
        (
            stats["total_orders"].as_u64(),
            stats["cancelled_orders"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let out = run(&server, &["stats", "--restaurant", "r1"]);
    assert!(stdout(&out).contains("2 orders"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_entry_reports_each_line_keeps_going_and_is_idempotent() {
    let server = TestServer::start().await;
    let file = server.dir().join("orders.jsonl");
    let lines = [
        r#"{"restaurant":"r1","customer":{"name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000}],"note":"no peanuts","key":"pos-1-0001"}"#,
        r#"{"restaurant":"r1","customer":{"name":"Bo"},"items":[]}"#,
        "this is not json",
        r#"{"restaurant":"r1","customer":{"name":"Cy","phone":"0811111111"},"items":[{"name":"Khao soi","unit_price":9000}],"fulfilment":"pickup","key":"pos-1-0002"}"#,
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let path = file.to_str().unwrap();
    let out = run(&server, &["order", "place", "--file", path, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad line makes the exit code 1"
    );
    let results = json_lines(&out);
    assert_eq!(results.len(), 4, "one result per line");
    let oks: Vec<bool> = results.iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [true, false, false, true]);
    assert_eq!(results[1]["line"], 2);
    assert_eq!(results[3]["order"]["fulfilment"], "pickup");
    let first_ids: Vec<Value> = results.iter().map(|r| r["order"]["id"].clone()).collect();

    // The same file again creates nothing new.
    let out = run(&server, &["order", "place", "--file", path, "--json"]);
    let again = json_lines(&out);
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(again[3]["duplicate"], true);
    assert_eq!(again[0]["order"]["id"], first_ids[0]);
    assert_eq!(again[3]["order"]["id"], first_ids[3]);
    let out = run(&server, &["--json", "order", "list"]);
    assert_eq!(json_lines(&out)[0]["orders"].as_array().unwrap().len(), 2);

    // From stdin, human output.
    let mut child = server
        .chit()
        .args(["order", "place", "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines[0].replace("0001", "0003").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        stdout(&out).starts_with("line 1: order 3"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_connection_failures_have_their_exit_codes() {
    let server = TestServer::start().await;
    let out = run(
        &server,
        &[
            "order",
            "place",
            "--restaurant",
            "r1",
            "--name",
            "A",
            "--phone",
            "1",
            "--item",
            "Pad Thai",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "a bad --item is a usage error");
    assert!(stderr(&out).contains("NAME @ PRICE"), "{}", stderr(&out));
    let out = run(&server, &["order", "status", "1", "teleported"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&server, &["watch", "lobby"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&server, &["order", "show", "12345"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"));
    let out = server
        .chit()
        .args(["order", "list", "--token", "chit_nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "bad token: {}", stderr(&out));
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = server
        .chit()
        .args([
            "order",
            "list",
            "--server",
            &format!("ws://127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot reach the server"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_watch_follows_an_order_and_exits_when_it_is_done() {
    let server = TestServer::start().await;
    let mut args = PLACE.to_vec();
    args.extend(["--pickup", "--json"]);
    let placed = json_lines(&run(&server, &args))[0]["order"]["id"].to_string();
    run(&server, &["order", "status", &placed, "confirmed"]);
    let mut watch = server
        .chit()
        .args(["order", "watch", &placed])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    // The history so far comes first ...
    assert!(lines.next().unwrap().unwrap().ends_with("pending"));
    assert!(
        lines
            .next()
            .unwrap()
            .unwrap()
            .contains("pending -> confirmed")
    );
    // ... then what happens next, until the order is done.
    for status in ["preparing", "ready", "delivered"] {
        assert!(
            run(&server, &["order", "status", &placed, status])
                .status
                .success()
        );
        let line = lines.next().unwrap().unwrap();
        assert!(line.ends_with(&format!("-> {status}")), "{line}");
    }
    assert!(watch.wait().unwrap().success());
}

/// `chit order list` lines Thai and Chinese names up by display width (a Thai name's
/// marks take no column, a Chinese character two), and prints times in local time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_list_lines_up_wide_names_and_shows_local_times() {
    let server = TestServer::start().await;
    let names = [
        "Ann",
        "สมชาย ใจดี",
        "王小明",
        "กิตติศักดิ์ ศรีสุขวัฒนกุลชัย",
        "欧阳娜娜和她的朋友们一起来点餐了",
    ];
    for name in names {
        let mut args = PLACE.to_vec();
        args[5] = name;
        let out = run(&server, &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let bangkok = |args: &[&str]| {
        let out = server
            .chit()
            .args(args)
            .env("TZ", "ICT-7")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let text = bangkok(&["order", "list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), names.len(), "{text}");
    // The column after the name starts at one place on every line, and so does the
    // time at the end.
    let name_ends: Vec<usize> = lines
        .iter()
        .map(|l| chit_text::width(&l[..l.find(" items").expect(l)]))
        .collect();
    assert!(name_ends.windows(2).all(|w| w[0] == w[1]), "{text}");
    let widths: Vec<usize> = lines.iter().map(|l| chit_text::width(l)).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    assert!(
        text.contains("สมชาย ใจดี      "),
        "a short name is padded: {text}"
    );
    assert!(
        text.contains("欧阳娜娜和她的…  "),
        "a long one is cut by columns: {text}"
    );

    // Local time: the wire's UTC time seven hours on, in Bangkok.
    let out = run(&server, &["--json", "order", "list"]);
    let listed = &json_lines(&out)[0]["orders"];
    let first = &listed[0];
    let at = first["created_at"].as_str().unwrap();
    let local = chit_protocol::format_time(chit_protocol::parse_time(at).unwrap() + 7 * 3_600_000);
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(&format!("{} ", first["id"])))
        .unwrap();
    assert!(line.ends_with(&local[11..19]), "{line} vs {at}");
    let id = first["id"].to_string();
    let shown = bangkok(&["order", "show", &id]);
    let placed = format!("placed    {} +07:00", local[..19].replace('T', " "));
    assert!(shown.contains(&placed), "{shown}");
}
