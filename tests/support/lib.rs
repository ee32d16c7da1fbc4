//! What the end-to-end tests share: a [`TestServer`] (the real server in-process on
//! 127.0.0.1:0 with a temporary SQLite file, stopped by a oneshot), a [`ServerProcess`]
//! (the real `chit-server` binary, for kill -9), a webhook [`receiver`] (a real HTTP
//! server), a throwaway PostgreSQL database ([`pg`]) and nodes sharing one ([`nodes`]),
//! a `nats-server` of the test's own ([`nats`]), and helpers to run the real binaries.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chit_client::Client;
use chit_client::Events;
use chit_protocol::{Event, NewCustomer, NewItem, NewOrder, Role};
use chit_server::auth::{Principal, hash_token, new_token};
use chit_server::store::{self, queries};
use chit_server::{Config, Server};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub use chit_server;

pub mod api;
pub mod kitchen;
pub mod nats;
pub mod nodes;
pub mod pg;
pub mod receiver;
pub mod tls;
pub mod watch;

/// The real server, in this process, on a fresh database.
pub struct TestServer {
    /// The PostgreSQL database the server runs on, when the tests run on PostgreSQL
    /// (`CHIT_TEST_STORE=postgres`); none: the SQLite file in `dir`.
    pg: Option<Arc<pg::PgDb>>,
    pub addr: SocketAddr,
    pub url: String,
    pub admin: String,
    dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        TestServer::in_dir(dir, config).await
    }

    /// Starts a server on the database in `dir` (made by an earlier server, or new).
    /// With `CHIT_TEST_STORE=postgres`, the database is a throwaway PostgreSQL one that
    /// stays with `dir` (a server started again on `dir` finds it).
    pub async fn in_dir(dir: TempDir, config: Config) -> TestServer {
        if on_postgres() {
            return TestServer::on_postgres(dir, config).await;
        }
        let db = dir.path().join("chit.db");
        {
            let conn = store::open_connection(&db, true).expect("open db");
            store::ensure_admin_token(&conn, &db).expect("admin token");
        }
        let admin = read_admin_token(&store::admin_token_path(&db));
        let server = Server::open(&db, config).expect("open server");
        TestServer::serve(server, admin, dir, None).await
    }

    /// Runs `server` on a new 127.0.0.1 port.
    async fn serve(
        server: Server,
        admin: String,
        dir: TempDir,
        pg: Option<Arc<pg::PgDb>>,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async move {
            let _ = stopped.await;
        }));
        TestServer {
            pg,
            addr,
            url: format!("ws://{addr}"),
            admin,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn on_postgres(dir: TempDir, config: Config) -> TestServer {
        TestServer::on_database(pg::for_dir(dir.path()), dir, config).await
    }

    /// A server (a node) on the PostgreSQL database `db`, which other nodes may share,
    /// keeping its admin token in `dir`.
    pub async fn on_database(db: Arc<pg::PgDb>, dir: TempDir, config: Config) -> TestServer {
        let url = db.url().to_string();
        let token_file = store::admin_token_path(&dir.path().join("chit.db"));
        {
            let (url, token_file) = (url.clone(), token_file.clone());
            // The PostgreSQL client blocks on a runtime of its own: off this one.
            std::thread::spawn(move || store::postgres::ensure_admin_token(&url, &token_file))
                .join()
                .expect("admin token thread")
                .expect("admin token");
        }
        let admin = read_admin_token(&token_file);
        let server = Server::open_postgres(&url, config).expect("open server");
        TestServer::serve(server, admin, dir, Some(db)).await
    }

    /// The PostgreSQL database the server runs on, if it runs on one.
    pub fn pg(&self) -> Option<&pg::PgDb> {
        self.pg.as_deref()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("chit.db")
    }

    /// The same port, for HTTP: `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server gracefully and waits until it has returned.
    pub async fn stop(mut self) -> TempDir {
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    /// Connects as admin.
    pub async fn admin(&self) -> (Client, Events) {
        self.connect(&self.admin).await
    }

    pub async fn connect(&self, token: &str) -> (Client, Events) {
        Client::connect(&self.url, token, "test")
            .await
            .expect("connect")
    }

    /// Issues a token straight into the database, as `chit-server token issue` does.
    pub fn token(&self, role: Role, scope: Option<&str>) -> String {
        self.issue(role, scope, None)
    }

    /// A token with a label: the name others see in chat and presence.
    pub fn labelled(&self, role: Role, scope: Option<&str>, label: &str) -> String {
        self.issue(role, scope, Some(label))
    }

    fn issue(&self, role: Role, scope: Option<&str>, label: Option<&str>) -> String {
        let Some(db) = &self.pg else {
            return issue_labelled(&self.db(), role, scope, label);
        };
        let token = new_token();
        let who = principal(role, scope, label);
        let (db, hash) = (db.clone(), hash_token(&token));
        std::thread::spawn(move || {
            store::postgres::insert_token(&mut db.connect(), &hash, &who, chit_protocol::now_ms())
        })
        .join()
        .expect("token thread")
        .expect("insert token");
        token
    }

    /// `chit-server` ready for an offline command (`token`, `menu`, `backup` …) on this
    /// server's database: `--db` its SQLite file, and `--store` its PostgreSQL database
    /// when it runs on one.
    pub fn offline(&self) -> Command {
        offline(&self.db(), self.pg().map(pg::PgDb::url))
    }

    /// Runs `sql` on the server's database beside it (written for SQLite, with `?1`,
    /// `?2` …; on PostgreSQL they are `$1`, `$2` …); the rows changed.
    pub fn execute(&self, sql: &str, args: &[Arg<'_>]) -> u64 {
        match &self.pg {
            None => {
                let conn = rusqlite::Connection::open(self.db()).expect("open db");
                conn.execute(sql, rusqlite::params_from_iter(args))
                    .expect(sql) as u64
            }
            Some(db) => {
                let sql = sql.replace('?', "$");
                // The PostgreSQL client blocks on a runtime of its own: off this one.
                std::thread::scope(|s| {
                    s.spawn(|| {
                        let args: Vec<&(dyn postgres::types::ToSql + Sync)> =
                            args.iter().map(|a| a as _).collect();
                        db.connect().execute(&sql, &args).expect(&sql)
                    })
                    .join()
                    .expect("query thread")
                })
            }
        }
    }

    /// The rows `sql` selects from the server's database (as [`TestServer::execute`]
    /// writes it), each column an integer or NULL.
    pub fn query(&self, sql: &str, args: &[Arg<'_>]) -> Vec<Vec<Option<i64>>> {
        match &self.pg {
            None => {
                let conn = rusqlite::Connection::open(self.db()).expect("open db");
                let mut stmt = conn.prepare(sql).expect(sql);
                let n = stmt.column_count();
                stmt.query_map(rusqlite::params_from_iter(args), |r| {
                    (0..n).map(|i| r.get(i)).collect()
                })
                .expect(sql)
                .collect::<Result<_, _>>()
                .expect(sql)
            }
            Some(db) => {
                let sql = sql.replace('?', "$");
                std::thread::scope(|s| {
                    s.spawn(|| {
                        let args: Vec<&(dyn postgres::types::ToSql + Sync)> =
                            args.iter().map(|a| a as _).collect();
                        let rows = db.connect().query(&sql, &args).expect(&sql);
                        rows.iter()
                            .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                            .collect()
                    })
                    .join()
                    .expect("query thread")
                })
            }
        }
    }

    /// `chit` with this server and the admin token in its environment.
    pub fn chit(&self) -> Command {
        let mut cmd = Command::new(bin("chit"));
        cmd.env("CHIT_SERVER", &self.url)
            .env("CHIT_TOKEN", &self.admin)
            .env_remove("CHIT_DB")
            // No config file but the test's own.
            .env("XDG_CONFIG_HOME", self.dir())
            .env_remove("CHIT_CONFIG");
        cmd
    }
}

/// `chit-server --db DB [--store URL]`, for an offline command on that database (the
/// PostgreSQL one, if `store` is given), with no CHIT_DB or CHIT_STORE of the
/// environment's.
pub fn offline(db: &Path, store: Option<&str>) -> Command {
    let mut cmd = Command::new(bin("chit-server"));
    cmd.env_remove("CHIT_DB").env_remove("CHIT_STORE");
    cmd.arg("--db").arg(db);
    if let Some(url) = store {
        cmd.arg("--store").arg(url);
    }
    cmd
}

/// Where an offline command runs: a SQLite file, or a test server's database.
pub trait Offline {
    /// `chit-server` with the flags that name the database.
    fn offline(&self) -> Command;
}

impl Offline for Path {
    fn offline(&self) -> Command {
        offline(self, None)
    }
}

impl Offline for PathBuf {
    fn offline(&self) -> Command {
        offline(self, None)
    }
}

impl Offline for TestServer {
    fn offline(&self) -> Command {
        TestServer::offline(self)
    }
}

/// A database for a test that runs the real binary ([`ServerProcess`]): the SQLite file
/// in a directory, or with `CHIT_TEST_STORE=postgres` the PostgreSQL database that
/// stays with it.
pub struct TestStore {
    pub db: PathBuf,
    pg: Option<Arc<pg::PgDb>>,
}

impl TestStore {
    pub fn in_dir(dir: &Path) -> TestStore {
        TestStore {
            db: dir.join("chit.db"),
            pg: on_postgres().then(|| pg::for_dir(dir)),
        }
    }

    pub fn pg(&self) -> Option<&pg::PgDb> {
        self.pg.as_deref()
    }

    /// `chit-server` serving this database on a free port.
    pub fn start(&self) -> ServerProcess {
        match self.pg() {
            None => ServerProcess::start(&self.db, "127.0.0.1:0"),
            Some(pg) => ServerProcess::start_with(&self.db, "127.0.0.1:0", &["--store", pg.url()]),
        }
    }
}

impl Offline for TestStore {
    fn offline(&self) -> Command {
        offline(&self.db, self.pg().map(pg::PgDb::url))
    }
}

/// A value for [`TestServer::execute`] and [`TestServer::query`].
#[derive(Debug)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(n) => n.to_sql(),
            Arg::Text(t) => t.to_sql(),
        }
    }
}

impl postgres::types::ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Int(n) => n.to_sql(ty, out),
            Arg::Text(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <i64 as postgres::types::ToSql>::accepts(ty)
            || <&str as postgres::types::ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

/// Writes a token for `role` bound to `scope` (restaurant, rider or customer).
pub fn issue(db: &Path, role: Role, scope: Option<&str>) -> String {
    issue_labelled(db, role, scope, None)
}

pub fn issue_labelled(db: &Path, role: Role, scope: Option<&str>, label: Option<&str>) -> String {
    let conn = store::open_connection(db, true).expect("open db");
    let token = new_token();
    let p = principal(role, scope, label);
    queries::insert_token(&conn, &hash_token(&token), &p, chit_protocol::now_ms())
        .expect("insert token");
    token
}

fn principal(role: Role, scope: Option<&str>, label: Option<&str>) -> Principal {
    let scope = scope.map(str::to_string);
    Principal {
        token_id: 0,
        role,
        restaurant: scope
            .clone()
            .filter(|_| matches!(role, Role::Kitchen | Role::Pos)),
        rider: scope.clone().filter(|_| role == Role::Rider),
        customer: scope.filter(|_| role == Role::Customer),
        label: label.map(str::to_string),
    }
}

fn read_admin_token(file: &Path) -> String {
    std::fs::read_to_string(file)
        .expect("admin token file")
        .trim()
        .to_string()
}

/// Whether the tests run their servers on PostgreSQL (`CHIT_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("CHIT_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// A plausible order for `restaurant`.
pub fn order(restaurant: &str) -> NewOrder {
    order_for(restaurant, "0812345678")
}

pub fn order_for(restaurant: &str, phone: &str) -> NewOrder {
    NewOrder {
        restaurant: restaurant.into(),
        customer: NewCustomer {
            id: None,
            name: "Ann".into(),
            phone: phone.into(),
            address: Some("12 Sukhumvit".into()),
        },
        items: vec![
            NewItem::parse("2 x Pad Thai @ 120.00").unwrap(),
            NewItem::parse("Iced tea @ 35").unwrap(),
        ],
        note: Some("no peanuts".into()),
        fulfilment: chit_protocol::Fulfilment::Delivery,
        ..Default::default()
    }
}

/// The next event, failing the test if none comes within 10 s.
pub async fn next_event(events: &mut Events) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the connection is open")
}

/// The next event with a seq (skipping live-only ones such as analytics).
pub async fn next_stored(events: &mut Events) -> Event {
    loop {
        let event = next_event(events).await;
        if event.seq.is_some() {
            return event;
        }
    }
}

/// A workspace binary, built by `cargo test --workspace` beside the test executables.
pub fn bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test executable");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (make test)",
        path.display()
    );
    path
}

/// The real `chit-server` binary on a database file, for crash and restart tests.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    pub db: PathBuf,
    /// What the server has logged on stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `chit-server --db DB --listen ADDR` and waits until it is listening.
    pub fn start(db: &Path, listen: &str) -> ServerProcess {
        ServerProcess::start_with(db, listen, &[])
    }

    /// Like [`start`](ServerProcess::start), with more flags.
    pub fn start_with(db: &Path, listen: &str, flags: &[&str]) -> ServerProcess {
        let mut cmd = Command::new(bin("chit-server"));
        cmd.arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(listen)
            .args(flags);
        ServerProcess::spawn(cmd, db)
    }

    /// Runs `cmd` (which starts a `chit-server` on `db`, perhaps through a shell that
    /// sets limits first) and waits until it says where it listens.
    pub fn spawn(mut cmd: Command, db: &Path) -> ServerProcess {
        let mut child = cmd
            .env("CHIT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chit-server");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let url = loop {
            let line = lines
                .next()
                .expect("chit-server printed where it listens")
                .expect("read stderr");
            if let Some(url) = line.strip_prefix("chit-server: listening on ") {
                break url.to_string();
            }
            log.lock().unwrap().push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        ServerProcess {
            child,
            url,
            db: db.to_path_buf(),
            log,
        }
    }

    /// Whether any line the server logged contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(store::admin_token_path(&self.db))
            .expect("admin token")
            .trim()
            .to_string()
    }

    /// SIGKILL: no shutdown, no checkpoint.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        signal(&self.child, libc::SIGTERM);
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to `child`, which has not been waited for (so its pid is still its
/// own). Straight through libc: minimal systems have no `/bin/kill`.
pub fn signal(child: &Child, signal: libc::c_int) {
    signal_pid(child.id(), signal);
}

/// Sends `signal` to the process `pid`, which the test started (directly or under a
/// shell of its own) and which has not been reaped.
#[allow(unsafe_code)]
pub fn signal_pid(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: kill takes no pointers; the process is not reaped yet, so the pid is not
    // reused by another process.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// A real terminal: a program running in its own tmux server (a private socket, so
/// tests never touch anyone's tmux), read with capture-pane and driven with send-keys.
pub struct Tmux {
    socket: String,
    pub session: String,
}

impl Tmux {
    /// Starts `command` (run by the shell) in a `width` x `height` terminal.
    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("chit-test-{}-{n}", std::process::id()),
            session: "t".into(),
        };
        let status = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &tmux.session,
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("tmux is installed (make deps)");
        assert!(status.success(), "tmux new-session failed");
        tmux.run(&["set-option", "-t", "t", "remain-on-exit", "on"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format about the pane (`#{pane_pid}`, `#{alternate_on}`, …).
    pub fn format(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", &self.session, format])
            .trim()
            .to_string()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// The screen with its colours and attributes, as escape sequences.
    pub fn styled_screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", &self.session])
    }

    /// Types keys (tmux key names: "Enter", "Escape", "q", …).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Copies everything the program writes to the terminal into `file`.
    pub fn record(&self, file: &Path) {
        let cmd = format!("cat >> '{}'", file.display());
        self.run(&["pipe-pane", "-o", "-t", &self.session, &cmd]);
    }

    /// Waits (up to 15 s) until the screen satisfies `check`; returns that screen.
    pub fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        wait_until(what, || {
            let screen = self.screen();
            check(&screen).then_some(screen)
        })
        .unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what}; the screen:\n{}",
                self.screen()
            )
        })
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("'{text}'"), |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Polls `check` every 50 ms for up to 15 s: for outcomes another process produces,
/// where there is no event to wait on.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if std::time::Instant::now() > deadline {
            eprintln!("gave up waiting for {what}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
