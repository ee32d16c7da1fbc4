//! `chit-server migrate --from chit.db --to postgres://…`, the real binary into a real
//! PostgreSQL (a throwaway database each): a real server's database with orders, chat,
//! tokens, a menu, webhooks and an 86 is copied row for row, seqs included, the log's
//! head and the ids go on after what was copied, and a second copy is refused and
//! changes nothing; a database the server is writing to is copied as of one commit; a
//! client that resumes on a node with a seq from before the migration gets what followed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chit_e2e::kitchen::{self, mark_unavailable, next_of};
use chit_e2e::pg::PgDb;
use chit_e2e::receiver::Receiver;
use chit_e2e::{TestServer, bin, order};
use chit_protocol::{EventKind, Role, Status};
use chit_server::store::postgres::{LOG_HEAD, TABLES};
use postgres::types::Type;

/// `chit-server migrate ARGS` with no config file or environment of the user's.
fn migrate(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(bin("chit-server"))
        .arg("migrate")
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("CHIT_CONFIG")
        .env_remove("CHIT_DB")
        .output()
        .expect("run chit-server migrate")
}

fn migrate_into(db: &Path, pg: &PgDb) -> Output {
    migrate(&["--from", db.to_str().unwrap(), "--to", pg.url()])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A value as both databases hold it: chit stores only integers, text and NULL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// A table: its column names in order, and its rows sorted.
type Rows = (Vec<String>, Vec<Vec<Cell>>);

fn sqlite_table(conn: &rusqlite::Connection, table: &str) -> Rows {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let mut rows: Vec<Vec<Cell>> = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                        rusqlite::types::Value::Null => Cell::Null,
                        rusqlite::types::Value::Integer(v) => Cell::Int(v),
                        rusqlite::types::Value::Text(v) => Cell::Text(v),
                        other => panic!("{table}: chit stores no {other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    (columns, rows)
}

fn pg_table(client: &mut postgres::Client, table: &str) -> Rows {
    let stmt = client.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let columns: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut rows: Vec<Vec<Cell>> = client
        .query(&stmt, &[])
        .unwrap()
        .iter()
        .map(|r| {
            stmt.columns()
                .iter()
                .enumerate()
                .map(|(i, c)| match *c.type_() {
                    Type::INT8 => r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                    Type::TEXT => r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
                    ref other => panic!("{table}.{}: unexpected type {other}", c.name()),
                })
                .collect()
        })
        .collect();
    rows.sort();
    (columns, rows)
}

/// Every table but log_head, as PostgreSQL holds it.
fn pg_contents(pg: &PgDb) -> Vec<(&'static str, Rows)> {
    let mut client = pg.connect();
    copied_tables()
        .map(|t| (t, pg_table(&mut client, t)))
        .collect()
}

fn copied_tables() -> impl Iterator<Item = &'static str> {
    TABLES.into_iter().filter(|t| *t != LOG_HEAD)
}

fn log_head(pg: &PgDb) -> i64 {
    pg.connect()
        .query_one("SELECT seq FROM log_head", &[])
        .unwrap()
        .get(0)
}

/// A server's database with some of everything chit keeps; returns it stopped.
async fn busy_database() -> tempfile::TempDir {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    let db = server.db();
    let (admin, _) = server.admin().await;

    // A menu, taken up by the server (menus, with its menu_update event).
    let (thai, mut thai_events) = server
        .connect(&server.token(Role::Kitchen, Some("thai-1")))
        .await;
    thai.subscribe("restaurant:thai-1", None).await.unwrap();
    kitchen::load_menu(&db, "thai-1", &kitchen::thai_menu());
    next_of(
        &mut thai_events,
        EventKind::MenuUpdate,
        Duration::from_secs(30),
    )
    .await;

    // A webhook out that gets deliveries (its cursor moves), and a hook in.
    let out = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(&db)
        .args(["webhook", "add", "--url", &receiver.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(&db)
        .args(["hook", "add", "shop", "--restaurant", "r1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Tokens: with labels, and one revoked.
    let pos = server.labelled(Role::Pos, Some("r1"), "till 1");
    let kitchen_token = server.token(Role::Kitchen, Some("r1"));
    let rider_token = server.labelled(Role::Rider, Some("bo"), "Bo");
    let revoked = server.token(Role::Customer, Some("0812345678"));
    let conn = chit_server::store::open_connection(&db, true).unwrap();
    let revoked_id: i64 = conn
        .query_row(
            "SELECT id FROM tokens WHERE hash = ?1",
            [chit_server::auth::hash_token(&revoked)],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        chit_server::store::queries::revoke_token(&conn, revoked_id, chit_protocol::now_ms())
            .unwrap()
    );

    // Orders, with keys, through their statuses; one claimed by a rider, one held for
    // later, one cancelled; chat in an order's room; an item run out of.
    let (till, _) = server.connect(&pos).await;
    let (cook, _) = server.connect(&kitchen_token).await;
    let (rider, _) = server.connect(&rider_token).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let (placed, duplicate) = till
            .place_order(order("r1"), Some(format!("till-1-{i}")))
            .await
            .unwrap();
        assert!(!duplicate);
        ids.push(placed.id);
    }
    let (again, duplicate) = till
        .place_order(order("r1"), Some("till-1-0".into()))
        .await
        .unwrap();
    assert!(duplicate && again.id == ids[0]);
    for status in [Status::Confirmed, Status::Preparing] {
        cook.update_status(ids[0], status, None, false)
            .await
            .unwrap();
    }
    rider.claim_order(ids[0]).await.unwrap();
    cook.update_status(ids[0], Status::Ready, None, false)
        .await
        .unwrap();
    cook.update_status(ids[1], Status::Rejected, Some("closing".into()), false)
        .await
        .unwrap();
    let mut later = order("r1");
    later.due_at = Some(chit_protocol::format_time(
        chit_protocol::now_ms() + 3 * 3600 * 1000,
    ));
    let (held, _) = till.place_order(later, None).await.unwrap();
    assert!(held.is_held());
    admin
        .chat_send(&format!("order:{}", ids[0]), "on my way")
        .await
        .unwrap();
    rider
        .chat_send(&format!("order:{}", ids[0]), "at the door, \"blue\" gate")
        .await
        .unwrap();
    mark_unavailable(&cook, "r1", "Iced tea", None)
        .await
        .unwrap();
    // The webhook has delivered some events.
    receiver
        .wait_for(Duration::from_secs(30), |got| got.len() >= 2)
        .await;
    drop((admin, thai, till, cook, rider));
    server.stop().await
}

/// The servers' runtime. The tests themselves are not async: the `postgres` client
/// runs a runtime of its own and cannot be called from inside another.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_servers_database_is_copied_row_for_row_and_a_second_copy_is_refused() {
    let dir = runtime().block_on(busy_database());
    let db = dir.path().join("chit.db");
    let sqlite = rusqlite::Connection::open(&db).unwrap();
    // `meta` is copied whole (the log's epoch with it), keys this version does not know
    // included.
    sqlite
        .execute(
            "INSERT INTO meta (key, value) VALUES ('from_a_later_version', 3)",
            [],
        )
        .unwrap();
    let mut tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables.sort();
    let mut copied: Vec<&str> = copied_tables().collect();
    copied.sort();
    assert_eq!(tables, copied, "migrate copies every table SQLite has");
    let before: Vec<(&str, Rows)> = copied_tables()
        .map(|t| (t, sqlite_table(&sqlite, t)))
        .collect();
    for (table, (_, rows)) in &before {
        if *table != "menu_loads" {
            assert!(!rows.is_empty(), "the test database has rows in '{table}'");
        }
    }
    let max_seq: i64 = sqlite
        .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    drop(sqlite);
    let file_before = std::fs::read(&db).unwrap();

    let pg = PgDb::create();
    let out = migrate_into(&db, &pg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("into database '{}'", pg.name())),
        "{said}"
    );
    assert!(
        said.contains(&format!("events through seq {max_seq}")),
        "{said}"
    );
    for (table, (_, rows)) in &before {
        let line = format!("{table} {}", rows.len());
        assert!(
            said.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == line),
            "'{line}' in {said}"
        );
    }

    // Row for row, value for value, column for column.
    let after = pg_contents(&pg);
    for ((table, lite), (_, pg_rows)) in before.iter().zip(&after) {
        assert_eq!(lite.0, pg_rows.0, "the columns of '{table}'");
        assert_eq!(lite.1, pg_rows.1, "the rows of '{table}'");
    }
    assert_eq!(log_head(&pg), max_seq, "log_head is the newest seq");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        file_before,
        "the SQLite file is untouched"
    );

    // Again into the same database: refused, exit 1, and nothing changes.
    let out = migrate_into(&db, &pg);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("already holds chit's tables"), "{err}");
    assert!(err.lines().count() == 1, "one sentence: {err}");
    assert_eq!(pg_contents(&pg), after, "the refused copy changed nothing");
    assert_eq!(log_head(&pg), max_seq);

    // New rows are numbered after the copied ones, as in SQLite.
    let mut client = pg.connect();
    for table in ["orders", "tokens", "chat_messages", "webhooks"] {
        let (_, rows) = &before.iter().find(|(t, _)| *t == table).unwrap().1;
        let max = rows
            .iter()
            .map(|r| match r[0] {
                Cell::Int(id) => id,
                ref other => panic!("{table} id {other:?}"),
            })
            .max()
            .unwrap();
        let next: i64 = client
            .query_one(
                &format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(next, max + 1, "the next id of '{table}'");
    }
}

/// `chit-server --store URL backup FILE`: the PostgreSQL database back in a SQLite file,
/// row for row, as the one it was migrated from; only the log's epoch is left to be
/// chosen anew by the server that opens it.
#[test]
fn a_postgres_backup_is_the_migrated_database_again_row_for_row() {
    let dir = runtime().block_on(busy_database());
    let db = dir.path().join("chit.db");
    let pg = PgDb::create();
    let out = migrate_into(&db, &pg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = dir.path().join("backup.db");
    let out = chit_e2e::offline(&db, Some(pg.url()))
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with(&format!("wrote '{}': ", copy.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "events through seq {}, integrity ok",
            log_head(&pg)
        )),
        "{said}"
    );

    let original = rusqlite::Connection::open(&db).unwrap();
    let backup = rusqlite::Connection::open(&copy).unwrap();
    let version = |c: &rusqlite::Connection| -> i64 {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(&backup), version(&original));
    for table in copied_tables() {
        let (mut was, mut is) = (sqlite_table(&original, table), sqlite_table(&backup, table));
        if table == "meta" {
            let epoch = |rows: &mut Vec<Vec<Cell>>| {
                let at = rows
                    .iter()
                    .position(|r| r[0] == Cell::Text("epoch".into()))
                    .expect("an epoch");
                rows.remove(at)[1].clone()
            };
            assert_ne!(epoch(&mut was.1), Cell::Int(0));
            assert_eq!(epoch(&mut is.1), Cell::Int(0), "chosen when served");
        }
        assert_eq!(was, is, "'{table}' in the backup");
    }
}

#[test]
fn a_database_the_server_is_writing_to_is_copied_as_of_one_commit() {
    let rt = runtime();
    let pg = PgDb::create();
    let server = rt.block_on(TestServer::start());
    let client = rt.block_on(async {
        let (client, _) = server.admin().await;
        client.place_order(order("r1"), None).await.unwrap();
        client
    });
    // Orders keep coming while the copy reads.
    let placing = rt.spawn(async move {
        for i in 0..150 {
            let (o, _) = client.place_order(order("r1"), None).await.unwrap();
            if i % 2 == 0 {
                client
                    .update_status(o.id, Status::Confirmed, None, false)
                    .await
                    .unwrap();
            }
        }
        client
    });
    let out = migrate_into(&server.db(), &pg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let client = rt.block_on(placing).unwrap();

    // One commit's state: the head is the newest seq copied, every copied order has its
    // new_order event and every copied event's order is there, statuses included.
    let mut c = pg.connect();
    let (orders, max_seq): (i64, i64) = {
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM orders), (SELECT MAX(seq) FROM events)",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!(orders >= 1);
    assert_eq!(log_head(&pg), max_seq);
    let unmatched: i64 = c
        .query_one(
            "SELECT count(*) FROM orders o FULL JOIN
                 (SELECT order_id FROM events WHERE kind = 'new_order') e ON e.order_id = o.id
             WHERE e.order_id IS NULL OR o.id IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        unmatched, 0,
        "orders and their new_order events, both or neither"
    );
    let confirmed: i64 = c
        .query_one(
            "SELECT count(*) FROM orders WHERE status = 'confirmed'",
            &[],
        )
        .unwrap()
        .get(0);
    let confirmations: i64 = c
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'order_update' AND data LIKE '%\"confirmed\"%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(confirmed, confirmations, "each confirmation with its event");
    // Every copied row is in SQLite as copied (the server only added after).
    let sqlite = rusqlite::Connection::open(server.db()).unwrap();
    let (_, lite) = sqlite_table(&sqlite, "events");
    let (_, copied) = pg_table(&mut c, "events");
    assert!(copied.iter().all(|row| lite.contains(row)));
    drop(client);
    rt.block_on(server.stop());
}

#[test]
fn a_missing_database_or_a_target_that_is_not_postgres_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let pg = PgDb::create();
    let out = migrate_into(&missing, &pg);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("there is no such database"),
        "{}",
        text(&out.stderr)
    );
    assert!(!missing.exists(), "nothing is created");
    let tables: i64 = pg
        .connect()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);

    let out = migrate(&["--from", missing.to_str().unwrap(), "--to", "chit.db"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        text(&out.stderr).contains("postgres://"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_throwaway_database_is_reached_by_its_url_and_dropped_after() {
    let pg = PgDb::create();
    let name = pg.name().to_string();
    assert!(name.starts_with("chit_test_"));
    assert!(pg.url().starts_with("postgres://"), "{}", pg.url());
    let mut by_url = chit_server::store::postgres::connect(pg.url()).unwrap();
    let current: String = by_url
        .query_one("SELECT current_database()::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(current, name);
    let spare = PgDb::create();
    let mut other = spare.connect();
    drop(pg); // with a connection still open to it
    let exists: bool = other
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert!(!exists, "{name} was dropped");
    assert!(by_url.is_closed() || by_url.simple_query("SELECT 1").is_err());
}

#[test]
fn a_copy_that_fails_part_way_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let out = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(&db)
        .args(["token", "issue", "--role", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A value chit never writes, in the last table copied: SQLite keeps text in an
    // INTEGER column, PostgreSQL's BIGINT cannot.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO unavailable (restaurant, key, item, until, since)
             VALUES ('r1', 'tea', 'Tea', 'tomorrow', 0)",
            [],
        )
        .unwrap();
    let pg = PgDb::create();
    let out = migrate_into(&db, &pg);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("table 'unavailable', column 'until': not an integer"),
        "{err}"
    );
    let tables: i64 = pg
        .connect()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        tables, 0,
        "tokens and the rest were copied, then rolled back"
    );
}

/// A display of the SQLite server that knew the log up to some seq resumes, after the
/// migration, on a node of the PostgreSQL database with that seq and the epoch it read:
/// it gets exactly what followed it there (the events copied, then one placed on the
/// node), in seq order, each once, and no `resync_required` (migrate keeps the epoch).
#[test]
fn a_client_resuming_with_a_seq_from_before_the_migration_gets_what_followed() {
    let rt = runtime();
    let dir = rt.block_on(busy_database());
    let db = dir.path().join("chit.db");
    let sqlite = rusqlite::Connection::open(&db).unwrap();
    let room = "restaurant:r1";
    let logged: Vec<(i64, String)> = sqlite
        .prepare("SELECT seq, kind FROM events WHERE room = ?1 ORDER BY seq")
        .unwrap()
        .query_map([room], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(logged.len() >= 6, "r1 has a log to resume in: {logged:?}");
    let epoch: i64 = sqlite
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(sqlite);
    // The display had read the room's first three events.
    let since = logged[2].0 as u64;
    let missed: Vec<u64> = logged[3..].iter().map(|(seq, _)| *seq as u64).collect();

    let pg = std::sync::Arc::new(PgDb::create());
    let out = migrate_into(&db, &pg);
    assert!(out.status.success(), "{}", text(&out.stderr));

    rt.block_on(async {
        let node = TestServer::on_database(
            pg.clone(),
            tempfile::tempdir().unwrap(),
            chit_server::Config::default(),
        )
        .await;
        let (display, mut events) = node.connect(&node.token(Role::Kitchen, Some("r1"))).await;
        let joined = display
            .resume(room, Some(since), Some(epoch as u64))
            .await
            .expect("resumed in the same epoch");
        assert_eq!(
            joined.epoch,
            Some(epoch as u64),
            "migrate keeps the log's epoch"
        );
        assert!(joined.head >= *missed.last().unwrap(), "the head as copied");
        let (till, _) = node.connect(&node.token(Role::Pos, Some("r1"))).await;
        // Without the iced tea, which the copied 86 still holds back.
        let mut new_order = order("r1");
        new_order.items.truncate(1);
        let (placed, _) = till.place_order(new_order, None).await.unwrap();

        let mut seqs = Vec::new();
        loop {
            let event = chit_e2e::next_stored(&mut events).await;
            assert_eq!(event.room, room);
            let seq = event.seq.unwrap();
            seqs.push(seq);
            if event.kind == EventKind::NewOrder && event.data["id"].as_i64() == Some(placed.id) {
                break;
            }
        }
        let (copied, new) = seqs.split_at(missed.len().min(seqs.len()));
        assert_eq!(copied, missed.as_slice(), "the copied events after {since}");
        assert_eq!(new.len(), 1, "then the order placed on the node: {seqs:?}");
        assert!(new[0] > *missed.last().unwrap(), "numbered after the copy");
    });
}
