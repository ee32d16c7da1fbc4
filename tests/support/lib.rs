//! What the end-to-end tests share: a [`TestServer`] (the real server in-process on
//! 127.0.0.1:0 with a temporary SQLite file, stopped by a oneshot), a [`ServerProcess`]
//! (the real `chit-server` binary, for kill -9), and helpers to run the real binaries.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chit_protocol::client::Events;
use chit_protocol::{Client, Event, NewCustomer, NewItem, NewOrder, Role};
use chit_server::auth::{Principal, hash_token, new_token};
use chit_server::store::{self, queries};
use chit_server::{Config, Server};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub use chit_server;

/// The real server, in this process, on a fresh database.
pub struct TestServer {
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
    pub async fn in_dir(dir: TempDir, config: Config) -> TestServer {
        let db = dir.path().join("chit.db");
        {
            let conn = store::open_connection(&db, true).expect("open db");
            store::ensure_admin_token(&conn, &db).expect("admin token");
        }
        let admin = std::fs::read_to_string(store::admin_token_path(&db))
            .expect("admin token file")
            .trim()
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = Server::open(&db, config).expect("open server");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            url: format!("ws://{addr}"),
            admin,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("chit.db")
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
        issue(&self.db(), role, scope)
    }

    /// `chit` with this server and the admin token in its environment.
    pub fn chit(&self) -> Command {
        let mut cmd = Command::new(bin("chit"));
        cmd.env("CHIT_SERVER", &self.url)
            .env("CHIT_TOKEN", &self.admin)
            .env_remove("CHIT_DB");
        cmd
    }
}

/// Writes a token for `role` bound to `scope` (restaurant, rider or customer).
pub fn issue(db: &Path, role: Role, scope: Option<&str>) -> String {
    let conn = store::open_connection(db, true).expect("open db");
    let token = new_token();
    let scope = scope.map(str::to_string);
    let p = Principal {
        token_id: 0,
        role,
        restaurant: scope
            .clone()
            .filter(|_| matches!(role, Role::Kitchen | Role::Pos)),
        rider: scope.clone().filter(|_| role == Role::Rider),
        customer: scope.filter(|_| role == Role::Customer),
        label: None,
    };
    queries::insert_token(&conn, &hash_token(&token), &p, chit_protocol::now_ms())
        .expect("insert token");
    token
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
}

impl ServerProcess {
    /// Starts `chit-server --db DB --listen ADDR` and waits until it is listening.
    pub fn start(db: &Path, listen: &str) -> ServerProcess {
        let mut child = Command::new(bin("chit-server"))
            .arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(listen)
            .env("CHIT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chit-server");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("chit-server printed where it listens")
                .expect("read stderr");
            if let Some(url) = line.strip_prefix("chit-server: listening on ") {
                break url.to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServerProcess {
            child,
            url,
            db: db.to_path_buf(),
        }
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
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
