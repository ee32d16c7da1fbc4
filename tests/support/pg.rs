//! Throwaway PostgreSQL databases: [`PgDb::create`] makes `chit_test_<random>` on the
//! server that `CHIT_TEST_PG` names (by default the local one, over its Unix socket
//! with peer authentication, as `scripts/deps.sh` sets it up) and drops it on drop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A database of its own for one test, dropped (with any connections still open to it)
/// when this is.
pub struct PgDb {
    name: String,
    /// How to reach the server's `postgres` database, to create and drop this one.
    admin: postgres::Config,
    url: String,
}

impl PgDb {
    /// Creates a new, empty database; panics saying what to run if the server cannot be
    /// reached.
    pub fn create() -> PgDb {
        PgDb::create_named("chit_test")
    }

    fn create_named(prefix: &str) -> PgDb {
        PgDb::create_on(admin_config(), prefix)
    }

    /// A new, empty database on the server `admin` reaches.
    pub fn create_on(admin: postgres::Config, prefix: &str) -> PgDb {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("random bytes");
        let name = format!("{prefix}_{:016x}", u64::from_le_bytes(bytes));
        let mut client = admin.connect(postgres::NoTls).unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL ({e}): run scripts/deps.sh, or set CHIT_TEST_PG")
        });
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let url = url_of(&admin, &name);
        PgDb { name, admin, url }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database as a `postgres://` URL, as `chit-server --to/--store` take it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection to the database.
    pub fn connect(&self) -> postgres::Client {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        config
            .connect(postgres::NoTls)
            .expect("connect to the test database")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // The client blocks on a runtime of its own, which it cannot do on a test's
        // async thread: drop the database from a thread of its own.
        let (admin, name) = (&self.admin, &self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let dropped = admin.connect(postgres::NoTls).and_then(|mut c| {
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                });
                if let Err(e) = dropped {
                    eprintln!("could not drop the test database {name}: {e}");
                }
            });
        });
    }
}

/// The databases of test servers, by their directory: a server started again on the
/// same directory finds its database (as a SQLite server finds its file). They live as
/// long as the test process; the next process to make one drops those of processes that
/// are gone.
static BY_DIR: std::sync::Mutex<Option<HashMap<PathBuf, Arc<PgDb>>>> = std::sync::Mutex::new(None);

/// The database of the test server in `dir` (made now, if it has none yet).
pub fn for_dir(dir: &Path) -> Arc<PgDb> {
    let mut by_dir = BY_DIR.lock().unwrap_or_else(|e| e.into_inner());
    let by_dir = by_dir.get_or_insert_with(|| {
        std::thread::spawn(drop_those_of_gone_processes)
            .join()
            .expect("sweep thread");
        HashMap::new()
    });
    by_dir
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            let prefix = format!("chit_dir_p{}", std::process::id());
            // The client blocks on a runtime of its own: off the test's.
            Arc::new(
                std::thread::spawn(move || PgDb::create_named(&prefix))
                    .join()
                    .expect("create thread"),
            )
        })
        .clone()
}

/// Drops the test servers' databases whose process (named in them) has ended.
fn drop_those_of_gone_processes() {
    let Ok(mut client) = admin_config().connect(postgres::NoTls) else {
        return;
    };
    let Ok(rows) = client.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'chit\\_dir\\_p%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name
            .strip_prefix("chit_dir_p")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `CHIT_TEST_PG`, or the local server's socket as the current user.
fn admin_config() -> postgres::Config {
    let text = std::env::var("CHIT_TEST_PG").unwrap_or_else(|_| {
        format!(
            "host=/var/run/postgresql user={} dbname=postgres",
            current_user()
        )
    });
    let mut config: postgres::Config = text
        .parse()
        .unwrap_or_else(|e| panic!("CHIT_TEST_PG '{text}': {e}"));
    if config.get_user().is_none() {
        config.user(&current_user());
    }
    config
}

/// The user this process runs as (peer authentication compares it with the role).
/// `USER` may be unset (cron, CI), so `id -un` has the last word.
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => std::env::var("USER").expect("the current user's name"),
    }
}

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME`, the host percent-encoded (a socket
/// directory's slashes as %2F), which both libpq and the `postgres` crate read.
fn url_of(admin: &postgres::Config, dbname: &str) -> String {
    let user = admin.get_user().expect("a user");
    let password = admin
        .get_password()
        .map(|p| format!(":{}", encode(&String::from_utf8_lossy(p))))
        .unwrap_or_default();
    let host = match admin.get_hosts().first() {
        Some(postgres::config::Host::Unix(path)) => encode(&path.display().to_string()),
        Some(postgres::config::Host::Tcp(name)) => encode(name),
        None => "localhost".to_string(),
    };
    let port = match admin.get_ports().first() {
        Some(port) => format!(":{port}"),
        None => String::new(),
    };
    format!(
        "postgres://{}{password}@{host}{port}/{dbname}",
        encode(user)
    )
}

/// Percent-encodes all but URL-safe characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PostgreSQL server of a test's own (Debian's binaries, a cluster in a temporary
/// directory, on a free 127.0.0.1 port with trust authentication), for a test that
/// stops and starts it: the shared one stays up for every other test. When the test
/// runs as root, the cluster runs as the `postgres` user (PostgreSQL refuses root).
pub struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl PrivateCluster {
    /// Makes the cluster and starts it.
    pub fn start() -> PrivateCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries (scripts/deps.sh installs them)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .max_by_key(|p| {
                p.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .expect("a PostgreSQL version");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = PrivateCluster { dir, bin, port };
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(owned.success(), "chown the cluster's directory to postgres");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "chit",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs, as the postgres user when root.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&path);
            cmd
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once, as a crash would (`-m immediate`: no checkpoint; what
    /// was committed is in the WAL).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// How a client reaches its `postgres` database.
    pub fn admin(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("chit")
            .dbname("postgres");
        config
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data();
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(pg_ctl);
            cmd
        } else {
            Command::new(pg_ctl)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
    }
}

fn is_root() -> bool {
    current_user() == "root"
}
