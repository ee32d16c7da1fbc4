//! What an operator reads out of a live server with the real `chit-server` binary:
//! `backup` while orders flow (the copy has everything acknowledged before it began,
//! and a server serves it) and `export` (CSV with Thai names that reads back exactly,
//! days cut at local midnight). On PostgreSQL too (`CHIT_TEST_STORE=postgres`): its
//! backup is a SQLite file of the same kind, which `chit-server migrate` puts back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chit_client::Client;
use chit_e2e::pg::PgDb;
use chit_e2e::{Offline, ServerProcess, TestServer, TestStore, order};
use chit_protocol::Order;
use chit_server::store::{self, queries, validate};
use tokio::time::Instant;

/// Places orders on `connections` connections, one in flight on each, until `stop` or
/// 3,000 orders or 60 s; records each acknowledged order's id as it is acknowledged.
async fn place_orders(
    url: String,
    token: String,
    acked: Arc<Mutex<Vec<i64>>>,
    stop: Arc<AtomicBool>,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (url, token, acked, stop) = (url.clone(), token.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (client, _events) = Client::connect(&url, &token, "placer").await.unwrap();
            for n in 0..750 {
                if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    return;
                }
                let key = Some(format!("c{c}-{n}"));
                let (placed, _) = client.place_order(order("r1"), key).await.unwrap();
                acked.lock().unwrap().push(placed.id);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// `chit-server backup COPY [--force]` on `on`'s database, run to its end.
fn backup(on: &(impl Offline + ?Sized), copy: &Path, force: bool) -> std::process::Output {
    let mut cmd = on.offline();
    cmd.arg("backup").arg(copy);
    if force {
        cmd.arg("--force");
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_orders_flow_has_every_acknowledged_order_and_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(TestStore::in_dir(dir.path()));
    let server = store.start();
    let token = server.admin_token();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let placer = tokio::spawn(place_orders(
        server.url.clone(),
        token.clone(),
        acked.clone(),
        stop.clone(),
    ));
    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 {
        assert!(started.elapsed() < Duration::from_secs(30), "orders flow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("chit.db");
    let before: Vec<i64> = acked.lock().unwrap().clone();
    let (store2, copy2) = (store.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || backup(&*store2, &copy2, false))
        .await
        .unwrap();
    let during = acked.lock().unwrap().len();
    eprintln!(
        "{} orders acknowledged before the backup, {during} when it ended",
        before.len()
    );
    assert!(
        during > before.len(),
        "orders were placed while the backup ran"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.starts_with(&format!("wrote '{}': ", copy.display())),
        "{said}"
    );
    assert!(said.contains("integrity ok"), "{said}");

    // Orders kept coming while it ran, and go on after.
    let after_backup = during + 50;
    while acked.lock().unwrap().len() < after_backup {
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "orders still flow"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    placer.await.unwrap();

    let conn = rusqlite::Connection::open(&copy).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let in_copy: std::collections::HashSet<i64> = conn
        .prepare("SELECT id FROM orders")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let missing: Vec<_> = before.iter().filter(|id| !in_copy.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, not in it: {missing:?}"
    );
    assert!(
        said.contains(&format!(", {} orders, ", in_copy.len())),
        "{said}"
    );
    drop(conn);

    // A server on the copy serves them, with the same tokens.
    let restored = ServerProcess::start(&copy, "127.0.0.1:0");
    let (client, _events) = Client::connect(&restored.url, &token, "test")
        .await
        .unwrap();
    for id in &before {
        assert_eq!(client.get_order(*id).await.unwrap().id, *id);
    }
    drop(client);
    assert!(restored.terminate().success());
    if store.pg().is_some() {
        restores_into_postgres(&copy, &token, &before).await;
    }

    // A second backup to the same place is refused unless forced.
    let refused = backup(&*store, &copy, false);
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8(refused.stderr).unwrap();
    assert!(why.contains("already exists; pass --force"), "{why}");
    let forced = backup(&*store, &copy, true);
    assert!(forced.status.success());
    assert!(server.terminate().success());
}

/// A PostgreSQL store's backup goes back into a new PostgreSQL database with
/// `chit-server migrate`, and a server there serves its orders to its tokens and goes
/// on numbering the log after the copy's head.
async fn restores_into_postgres(copy: &Path, token: &str, before: &[i64]) {
    let copied_head = rusqlite::Connection::open(copy)
        .unwrap()
        .query_row("SELECT MAX(seq) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let target = std::thread::spawn(PgDb::create).join().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let out = chit_e2e::offline(&db, None)
        .arg("migrate")
        .arg("--from")
        .arg(copy)
        .arg("--to")
        .arg(target.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = ServerProcess::start_with(&db, "127.0.0.1:0", &["--store", target.url()]);
    let (client, mut events) = Client::connect(&server.url, token, "test").await.unwrap();
    for id in before {
        assert_eq!(client.get_order(*id).await.unwrap().id, *id);
    }
    client.subscribe("restaurant:r1", None).await.unwrap();
    client.place_order(order("r1"), None).await.unwrap();
    let placed = chit_e2e::next_stored(&mut events).await;
    assert!(
        placed.seq.unwrap() > copied_head as u64,
        "seq {:?} after the copy's {copied_head}",
        placed.seq
    );
    drop(client);
    assert!(server.terminate().success());
}

const BANGKOK: &str = "ICT-7"; // UTC+7, no daylight saving; a POSIX TZ needs no tzdata

/// Stores an order placed at `at` (Unix ms) straight into the database, as the writer
/// does, for times a live server cannot be asked to place orders at.
fn insert_at(db: &Path, name: &str, at: i64) -> Order {
    let conn = store::open_connection(db, true).unwrap();
    let mut new = order("r1");
    new.customer.name = name.into();
    let valid = validate::validate(new, None).unwrap();
    let items = queries::plain_items(&valid);
    let stamp = chit_protocol::format_time(at);
    queries::insert_order(&conn, &valid, 1, items, None, (at, &stamp)).unwrap()
}

fn export(on: &(impl Offline + ?Sized), tz: &str, args: &[&str]) -> std::process::Output {
    on.offline()
        .arg("export")
        .args(args)
        .env("TZ", tz)
        .output()
        .unwrap()
}

fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_reader(bytes);
    assert_eq!(
        reader.headers().unwrap(),
        chit_server::ops::export::CSV_COLUMNS.as_slice()
    );
    reader.records().map(Result::unwrap).collect()
}

/// `at` in Bangkok as (date, "date time").
fn bangkok(rfc3339: &str) -> (String, String) {
    let ms = chit_protocol::parse_time(rfc3339).unwrap() + 7 * 3_600_000;
    let local = chit_protocol::format_time(ms);
    (local[..10].to_string(), local[..19].replace('T', " "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_thai_orders_reads_back_exactly_and_days_end_at_local_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let store = TestStore::in_dir(dir.path());
    // On PostgreSQL the orders are written to a SQLite file first, then migrated in.
    let db = match store.pg() {
        None => store.db.clone(),
        Some(_) => dir.path().join("seed.db"),
    };
    // Around Bangkok's midnight starting 2026-11-22 (17:00 UTC the day before).
    let midnight = chit_protocol::parse_time("2026-11-21T17:00:00Z").unwrap();
    let day = 24 * 3_600_000;
    let late = insert_at(&db, "ก่อนเที่ยงคืน", midnight - 1);
    let first = insert_at(&db, "หลังเที่ยงคืน", midnight);
    let last = insert_at(&db, "สุดท้าย", midnight + day - 1);
    let next = insert_at(&db, "วันถัดไป", midnight + day);
    if let Some(pg) = store.pg() {
        let out = chit_e2e::offline(&db, None)
            .args(["migrate", "--to", pg.url()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let ids = |rows: &[csv::StringRecord]| {
        let mut ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
        ids.dedup();
        ids
    };
    let out = export(
        &store,
        BANGKOK,
        &["--from", "2026-11-22", "--to", "2026-11-22"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&csv_rows(&out.stdout)), [first.id, last.id]);
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(
        said.contains(
            "exported 2 orders (4 items) placed 2026-11-22 to 2026-11-22 local time (UTC+07:00)"
        ),
        "{said}"
    );
    let out = export(
        &store,
        BANGKOK,
        &["--from", "2026-11-21", "--to", "2026-11-22"],
    );
    assert_eq!(ids(&csv_rows(&out.stdout)), [late.id, first.id, last.id]);
    // The same date in UTC is another span of time.
    let out = export(
        &store,
        "UTC",
        &["--from", "2026-11-22", "--to", "2026-11-22"],
    );
    assert_eq!(ids(&csv_rows(&out.stdout)), [last.id, next.id]);

    // Orders placed through a live server, with Thai and Chinese names, items and
    // notes holding commas and quotes; exported to a file while it runs.
    let server = TestServer::in_dir(dir, chit_server::Config::default()).await;
    let (client, _events) = server.admin().await;
    let mut placed = Vec::new();
    for (restaurant, name, item, note) in [
        (
            "r1",
            "สมชาย ใจดี",
            "2 x ผัดกะเพรา, ไข่ดาว @ 65.50",
            "เผ็ดน้อย \"ไม่ใส่ผงชูรส\"",
        ),
        ("r2", "王小明", "1 x 宫保鸡丁 @ 88", "少辣, 谢谢"),
        ("r1", "Ann", "3 x Som tam @ 45", "no peanuts"),
    ] {
        let mut new = order(restaurant);
        new.customer.name = name.into();
        new.items[0] = chit_protocol::NewItem::parse(item).unwrap();
        new.note = Some(note.into());
        placed.push(client.place_order(new, None).await.unwrap().0);
    }
    let today = bangkok(&placed[0].created_at).0;
    let file = server.dir().join("orders.csv");
    std::fs::write(&file, "an older export\n").unwrap();
    let file_arg = file.to_str().unwrap();
    let out = export(
        &server,
        BANGKOK,
        &[
            "--from",
            &today,
            "--to",
            &today,
            "--restaurant",
            "r1",
            "--output",
            file_arg,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let rows = csv_rows(&std::fs::read(&file).unwrap());
    let expected: Vec<Vec<String>> = placed
        .iter()
        .filter(|o| o.restaurant == "r1")
        .flat_map(|o| {
            let (date, local) = bangkok(&o.created_at);
            o.items.iter().enumerate().map(move |(i, item)| {
                let money = chit_protocol::money::format;
                vec![
                    o.id.to_string(),
                    o.number.to_string(),
                    date.clone(),
                    local.clone(),
                    o.created_at.clone(),
                    o.updated_at.clone(),
                    o.restaurant.clone(),
                    "pending".into(),
                    "delivery".into(),
                    o.customer.id.clone(),
                    o.customer.name.clone(),
                    o.customer.phone.clone(),
                    o.customer.address.clone().unwrap_or_default(),
                    String::new(),
                    o.note.clone().unwrap_or_default(),
                    (i + 1).to_string(),
                    item.name.clone(),
                    item.qty.to_string(),
                    money(item.unit_price),
                    money(item.unit_price * i64::from(item.qty)),
                    String::new(),
                    money(o.total),
                ]
            })
        })
        .collect();
    let got: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(str::to_string).collect())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got[0][16], "ผัดกะเพรา, ไข่ดาว");
    assert_eq!(got[0][18], "65.50");

    // JSON Lines: the orders as the protocol has them.
    let out = export(
        &server,
        BANGKOK,
        &["--from", &today, "--to", &today, "--format", "jsonl"],
    );
    let orders: Vec<Order> = BufReader::new(out.stdout.as_slice())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(orders, placed);

    // Bad input: a clear sentence, exit 1, and the file left as it was.
    for (args, says) in [
        (
            ["--from", "2026-02-30", "--to", "2026-03-01"],
            "'2026-02-30' is not a date",
        ),
        (
            ["--from", "2026-11-02", "--to", "2026-11-01"],
            "--from 2026-11-02 is after --to 2026-11-01",
        ),
    ] {
        let out = export(
            &server,
            BANGKOK,
            &[&args[..], &["--output", file_arg]].concat(),
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
    assert_eq!(
        csv_rows(&std::fs::read(&file).unwrap()).len(),
        expected.len()
    );
    drop(client);
    server.stop().await;
}
