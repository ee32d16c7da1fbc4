//! The SQLite backend: the database file with chit's pragmas and schema, its read
//! connections (WAL lets them run beside the writer) and a checkpointer thread; the
//! writer thread and the reads are the `engine`'s, as for every backend.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::engine::{Beside, Engine, Log, READERS, ReadPool};
use super::snapshot::Snapshot;
use super::{Figures, StoreConfig, epoch, migrate, queries, wal_vfs};
use crate::auth::Principal;
use crate::error::Refusal;
use crate::frames::Published;

/// The SQLite backend: one file, a writer thread, a checkpointer thread and a small pool
/// of read connections.
pub(super) type Sqlite = Engine<SqlitePool>;

/// Opens (creating if needed) a database file with chit's pragmas and schema.
pub fn open_connection(path: &Path, durable: bool) -> rusqlite::Result<Connection> {
    configure(Connection::open(path)?, durable)
}

/// [`open_connection`] for the writer: a durable writer writes each commit's log frames
/// with one system call per 124 KiB (see [`wal_vfs`]), where the database's file allows.
fn open_writer(path: &Path, durable: bool) -> rusqlite::Result<Connection> {
    if !durable || !wal_vfs::register() {
        return open_connection(path, durable);
    }
    let flags = rusqlite::OpenFlags::default();
    let vfs = wal_vfs::NAME.to_str().expect("the name is ASCII");
    let conn = Connection::open_with_flags_and_vfs(path, flags, vfs)?;
    if !wal_vfs::suits(&conn) {
        drop(conn);
        return open_connection(path, durable);
    }
    configure(conn, durable)
}

fn configure(mut conn: Connection, durable: bool) -> rusqlite::Result<Connection> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // A new database gets 2 KiB pages: a commit writes every page it touched to the log,
    // and most of a group's pages are index leaves with a few new entries each (one per
    // restaurant and customer). An existing database keeps its page size.
    conn.pragma_update(None, "page_size", 2048)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    // Statement journals and temporary indexes stay in memory, off the disk.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    migrate::migrate(&mut conn)?;
    Ok(conn)
}

impl Sqlite {
    /// Opens the database and starts the writer; `publish` receives each committed
    /// batch's events, in commit order, on the writer thread.
    pub fn open(
        path: &Path,
        config: StoreConfig,
        publish: impl FnMut(Vec<Published>, Vec<Figures>) + Send + 'static,
    ) -> rusqlite::Result<Sqlite> {
        let conn = open_writer(path, config.durable)?;
        // The checkpointer thread copies the log into the database, so that commits
        // (and their acknowledgements) never wait for it.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The log may grow between checkpoints under load; past this it is cut back.
        conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
        let log = Log {
            head: queries::head(&conn)?,
            epoch: epoch::choose(&conn)?,
        };
        let beside = Beside::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let checkpointer = Checkpointer {
            conn: open_connection(path, config.durable)?,
            commits: beside.commits.clone(),
            stopping: stopping.clone(),
            gate: beside.gate.clone(),
            hold: config.checkpoint_hold,
        };
        let thread_failed = |e: std::io::Error| {
            rusqlite::Error::InvalidParameterName(format!("starting a thread: {e}"))
        };
        let checkpointer = std::thread::Builder::new()
            .name("chit-checkpoint".into())
            .spawn(move || checkpointer.run())
            .map_err(thread_failed)?;
        let pool = SqlitePool {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            checkpointer: Mutex::new(Some((checkpointer, stopping))),
        };
        Engine::start(pool, conn, log, beside, config, publish).map_err(thread_failed)
    }
}

/// SQLite's read connections (WAL lets them read beside the writer), and the
/// checkpointer thread, stopped before the writer.
pub(super) struct SqlitePool {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    checkpointer: Mutex<Option<(std::thread::JoinHandle<()>, Arc<AtomicBool>)>>,
}

impl ReadPool for SqlitePool {
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&dyn Snapshot) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let pooled = self.readers.lock().unwrap().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.path)?;
                conn.busy_timeout(Duration::from_secs(5))?;
                conn.pragma_update(None, "query_only", true)?;
                conn
            }
        };
        let result = match conn.unchecked_transaction() {
            Ok(snapshot) => f(&*snapshot),
            Err(e) => Err(e.into()),
        };
        let mut readers = self.readers.lock().unwrap();
        if readers.len() < READERS {
            readers.push(conn);
        }
        result
    }

    fn stop(&self) {
        let checkpointer = self.checkpointer.lock().unwrap().take();
        if let Some((handle, stopping)) = checkpointer {
            stopping.store(true, Ordering::Release);
            handle.thread().unpark();
            let _ = handle.join();
        }
    }

    fn drain(&self) {
        self.readers.lock().unwrap().clear();
    }
}

/// Copies committed log frames into the database file shortly after commits, on its
/// own connection and thread.
///
/// A passive checkpoint never blocks the writer, but under steady writes it never
/// catches up either: new frames land while it copies, so SQLite never starts the log
/// over, and the log file grows for as long as the orders keep coming (every commit then
/// extends the file, and its flush takes longer). So a quick passive checkpoint (at most
/// `hold`) that commits overlapped is followed by a second one with the writer held at
/// the `gate` between two commits: it copies only what arrived during the first, after
/// which the next commit starts the log from its beginning again, over blocks already
/// on disk. A slow one (a burst) is not followed: the writer is never held for long,
/// and the log starts over after the burst. Checkpoints run every quarter second while
/// they are quick, every second while they are slow.
struct Checkpointer {
    conn: Connection,
    commits: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
    gate: Arc<Mutex<()>>,
    hold: Duration,
}

impl Checkpointer {
    /// How often the log is copied while orders trickle in.
    const OFTEN: Duration = Duration::from_millis(250);
    /// How often during a burst, when each copy is long: fewer disk flushes then
    /// compete with the commits'.
    const BUSY: Duration = Duration::from_secs(1);

    /// Copies the log into the database; then, if that was quick but commits came
    /// meanwhile, copies the rest with the writer held between two of its commits.
    /// Says whether it was quick. After a long one (a burst of orders) the writer is
    /// not held: the log is started over at the next quick one.
    fn checkpoint(&self) -> rusqlite::Result<bool> {
        let passive = || self.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
        let commits = self.commits.load(Ordering::Acquire);
        let started = Instant::now();
        passive()?;
        let quick = started.elapsed() <= self.hold;
        if quick && self.commits.load(Ordering::Acquire) != commits {
            let _writer_waits = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            passive()?;
        }
        Ok(quick)
    }

    fn run(self) {
        let mut seen = 0;
        let mut failing = false;
        let mut every = Self::OFTEN;
        while !self.stopping.load(Ordering::Acquire) {
            // Woken early (by `Store::close`) only to stop.
            std::thread::park_timeout(every);
            if self.stopping.load(Ordering::Acquire) {
                break;
            }
            let commits = self.commits.load(Ordering::Acquire);
            if commits == seen {
                continue;
            }
            // Said once when it starts failing (a full disk) and once when it recovers.
            match self.checkpoint() {
                Err(e) if !failing => {
                    tracing::warn!("checkpoint failed, retrying every {every:?}: {e}");
                    failing = true;
                }
                Err(_) => {}
                Ok(quick) => {
                    if failing {
                        tracing::info!("checkpoint works again");
                        failing = false;
                    }
                    seen = commits;
                    every = if quick { Self::OFTEN } else { Self::BUSY };
                }
            }
        }
    }
}

/// Creates the first admin token if the database has no token at all, and writes it to
/// `admin.token` beside the database (mode 0600). Returns the file's path if it did.
pub fn ensure_admin_token(
    conn: &Connection,
    db_path: &Path,
) -> Result<Option<PathBuf>, BootstrapError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))?;
    let file = admin_token_path(db_path);
    if count > 0 {
        return Ok(None);
    }
    let token = crate::auth::new_token();
    let admin = local_admin();
    write_secret(&file, &format!("{token}\n"))?;
    queries::insert_token(
        conn,
        &crate::auth::hash_token(&token),
        &admin,
        chit_protocol::now_ms(),
    )?;
    Ok(Some(file))
}

/// The admin a server issues for its own machine (the token in `admin.token`).
pub(crate) fn local_admin() -> Principal {
    Principal {
        token_id: 0,
        role: chit_protocol::Role::Admin,
        restaurant: None,
        rider: None,
        customer: None,
        label: Some("admin".into()),
    }
}

pub fn admin_token_path(db_path: &Path) -> PathBuf {
    db_path.with_file_name("admin.token")
}

pub(crate) fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Errors of the admin-token bootstrap: the database or the token file.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
    #[error("writing the admin token file: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_has_small_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.db");
        assert_eq!(page_size(&open_writer(&new, true).unwrap()), 2048);
        let old = dir.path().join("old.db");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE x (a);",
        )
        .unwrap();
        drop(conn);
        let conn = open_writer(&old, true).unwrap();
        assert_eq!(page_size(&conn), 4096);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'orders'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "the schema was migrated");
    }

    #[test]
    fn a_database_that_pads_its_commits_is_written_without_gathering_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        // psow=0: SQLite pads each commit to a sector and writes the last piece after
        // the log's sync, which gathered writes would hold back.
        let uri = format!("file:{}?psow=0", dir.path().join("padded.db").display());
        let writer = open_writer(Path::new(&uri), true).unwrap();
        let reader = Connection::open(&uri).unwrap();
        for i in 0..40_i64 {
            writer
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    rusqlite::params![format!("k{i}"), i],
                )
                .unwrap();
            let check: String = reader
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok", "after commit {i}");
            let n: i64 = reader
                .query_row("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(n, i + 1);
        }
    }
}
