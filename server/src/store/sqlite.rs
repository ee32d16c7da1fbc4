//! The SQLite backend: a writer thread for every change (group commit, events published
//! after commit), a checkpointer thread, and a small pool of read connections (WAL lets
//! them run beside the writer). What each read runs is `reads`'.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chit_protocol::{
    Analytics, ChatMessage, Menu, Order, Room, ServerStats, Stats, UnavailableItem,
};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::snapshot::Snapshot;
use super::{
    Backend, Change, Figures, OrdersPage, StoreConfig, Write, WriteResult, epoch, migrate, queries,
    reads, rules, today, wal_vfs, writer,
};
use crate::auth::Principal;
use crate::error::Refusal;
use crate::frames::Published;
use crate::session::Replay;
use crate::webhooks::WebhookConfig;
use crate::webhooks::queries::{Endpoint, Hook, LogEvent};

/// The SQLite backend: one file, a writer thread, a checkpointer thread and a small pool
/// of read connections.
#[derive(Clone)]
pub(super) struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<writer::Job>,
    readers: Mutex<Vec<Connection>>,
    /// At most `READERS` reads run at once, so a flood of requests (or of `hello`s)
    /// waits its turn instead of opening a connection and a thread each.
    read_turns: Arc<tokio::sync::Semaphore>,
    head: Arc<AtomicU64>,
    epoch: u64,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer: Mutex<Option<(std::thread::JoinHandle<()>, Arc<AtomicBool>)>>,
    durable: bool,
    clock: crate::clock::Clock,
    due_changed: Arc<tokio::sync::Notify>,
}

/// Read connections (and reads at once).
const READERS: usize = 8;

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
    /// Hands `job` to the writer and waits for its answer on `rx`, which comes after the
    /// commit (or the refusal).
    async fn ask<T: Send + 'static>(
        &self,
        job: writer::Job,
        rx: oneshot::Receiver<Result<T, Refusal>>,
    ) -> Result<T, Refusal> {
        let stopping = || Refusal::internal("the server is shutting down");
        if self.inner.jobs.send(job).await.is_err() {
            return Err(stopping());
        }
        self.inner
            .clock
            .answer(rx)
            .await
            .unwrap_or_else(|| Err(stopping()))
    }

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
        let head = Arc::new(AtomicU64::new(queries::head(&conn)?));
        let epoch = epoch::choose(&conn)?;
        let commits = Arc::new(AtomicU64::new(0));
        let stopping = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Mutex::new(()));
        let checkpointer = Checkpointer {
            conn: open_connection(path, config.durable)?,
            commits: commits.clone(),
            stopping: stopping.clone(),
            gate: gate.clone(),
            hold: config.checkpoint_hold,
        };
        let (jobs_tx, jobs_rx) = mpsc::channel(8192);
        let due_changed = Arc::new(tokio::sync::Notify::new());
        let writer = writer::Writer {
            conn,
            jobs: jobs_rx,
            publish: Box::new(publish),
            today: today::Today::default(),
            head: head.clone(),
            commits,
            gate,
            retention: config.retention,
            group_sizes: config.group_sizes,
            clock: config.clock.clone(),
            kitchen: rules::Kitchen::default(),
            due_changed: due_changed.clone(),
        };
        let thread_failed = |e: std::io::Error| {
            rusqlite::Error::InvalidParameterName(format!("starting a thread: {e}"))
        };
        let checkpointer = std::thread::Builder::new()
            .name("chit-checkpoint".into())
            .spawn(move || checkpointer.run())
            .map_err(thread_failed)?;
        let handle = std::thread::Builder::new()
            .name("chit-writer".into())
            .spawn(move || writer.run())
            .map_err(thread_failed)?;
        Ok(Sqlite {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                jobs: jobs_tx,
                readers: Mutex::new(Vec::new()),
                read_turns: Arc::new(tokio::sync::Semaphore::new(READERS)),
                head,
                epoch,
                writer: Mutex::new(Some(handle)),
                checkpointer: Mutex::new(Some((checkpointer, stopping))),
                durable: config.durable,
                clock: config.clock,
                due_changed,
            }),
        })
    }

    /// Runs `f` in one snapshot (a read transaction on a read connection), off the
    /// async threads.
    async fn read<T, F>(&self, f: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Snapshot) -> Result<T, Refusal> + Send + 'static,
    {
        let inner = self.inner.clone();
        let Ok(turn) = inner.read_turns.clone().acquire_owned().await else {
            return Err(Refusal::internal("the server is shutting down"));
        };
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let pooled = inner.readers.lock().unwrap().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => {
                    let conn = Connection::open(&inner.path)?;
                    conn.busy_timeout(Duration::from_secs(5))?;
                    conn.pragma_update(None, "query_only", true)?;
                    conn
                }
            };
            let result = match conn.unchecked_transaction() {
                Ok(snapshot) => f(&*snapshot),
                Err(e) => Err(e.into()),
            };
            let mut readers = inner.readers.lock().unwrap();
            if readers.len() < READERS {
                readers.push(conn);
            }
            result
        })
        .await
        .unwrap_or_else(|e| Err(Refusal::internal(format!("read task failed: {e}"))))
    }

    /// Runs `f` on a read connection after checking, on the same connection, that
    /// `who`'s token is still live.
    async fn read_as<T, F>(&self, who: Arc<Principal>, f: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Snapshot, &Principal) -> Result<T, Refusal> + Send + 'static,
    {
        self.read(move |snap| {
            reads::check_live(snap, &who)?;
            f(snap, &who)
        })
        .await
    }
}

impl Backend for Sqlite {
    /// The newest committed seq.
    fn head(&self) -> u64 {
        self.inner.head.load(Ordering::Acquire)
    }

    fn epoch(&self) -> u64 {
        self.inner.epoch
    }

    /// Queues a change and waits until it is committed (or refused).
    async fn write(&self, who: Arc<Principal>, op: Write) -> WriteResult {
        let (reply, rx) = oneshot::channel();
        self.ask(writer::Job::Write { who, op, reply }, rx).await
    }

    /// Makes `change` in the writer's next transaction (beside the clients' changes of
    /// that group, so it adds no commit of its own) and waits until it is committed.
    async fn apply(&self, change: Change) -> Result<(), Refusal> {
        let (reply, rx) = oneshot::channel();
        self.ask(writer::Job::Apply { change, reply }, rx).await
    }

    /// Asks the writer to do what has come due (fire held orders, end 86s, take up
    /// loaded menus) and waits until that is committed.
    async fn run_due(&self) -> Result<(), Refusal> {
        let (reply, rx) = oneshot::channel();
        self.ask(writer::Job::Due { reply }, rx).await
    }

    /// Resolves after a commit put something new on the clock's list (a held order, an
    /// 86): what is due next may be sooner.
    async fn due_changed(&self) {
        self.inner.due_changed.notified().await
    }

    /// The time the store stamps changes with.
    fn clock(&self) -> &crate::clock::Clock {
        &self.inner.clock
    }

    /// The token whose hash is `hash` (none: unknown or revoked).
    async fn token_by_hash(&self, hash: String) -> Result<Option<Principal>, Refusal> {
        self.read(move |snap| Ok(snap.token_by_hash(&hash)?)).await
    }

    /// The token `id` (none: unknown or revoked).
    async fn token_by_id(&self, id: i64) -> Result<Option<Principal>, Refusal> {
        self.read(move |snap| Ok(snap.token_by_id(id)?)).await
    }

    /// What other processes (`token revoke`, `menu load`) changed: the revoked tokens,
    /// and whether loaded menus wait for the writer.
    async fn outside_changes(&self) -> Result<(Vec<i64>, bool), Refusal> {
        self.read(|snap| {
            let menus = snap.has_menu_loads()?;
            Ok((snap.revoked_tokens()?, menus))
        })
        .await
    }

    /// One order, if `who` may see it.
    async fn order(&self, who: Arc<Principal>, order_id: i64) -> Result<Order, Refusal> {
        self.read_as(who, move |snap, who| reads::get_order(snap, who, order_id))
            .await
    }

    /// A page of orders as `filter` (already narrowed to what `who` may see) asks, with
    /// the head read in the same snapshot.
    async fn list_orders(
        &self,
        who: Arc<Principal>,
        filter: queries::OrderFilter,
    ) -> Result<OrdersPage, Refusal> {
        self.read_as(who, move |snap, _| reads::list_orders(snap, &filter))
            .await
    }

    /// `restaurant`'s menu and what it has run out of at `now` (read in one snapshot).
    async fn menu(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> Result<(Option<Menu>, Vec<UnavailableItem>), Refusal> {
        self.read_as(who, move |snap, _| reads::menu(snap, &restaurant, now))
            .await
    }

    /// What `restaurant` has run out of at `now`, soonest back first.
    async fn unavailable(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> Result<Vec<UnavailableItem>, Refusal> {
        self.read_as(who, move |snap, _| {
            reads::unavailable(snap, &restaurant, now)
        })
        .await
    }

    /// Whether `who` may follow `room`.
    async fn check_join(&self, who: Arc<Principal>, room: Room) -> Result<(), Refusal> {
        self.read_as(who, move |snap, who| reads::check_join(snap, who, &room))
            .await
    }

    /// The messages of a chat room older than seq `before`, if `who` may follow it.
    async fn chat_history(
        &self,
        who: Arc<Principal>,
        room: Room,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, Refusal> {
        self.read_as(who, move |snap, who| {
            reads::check_join(snap, who, &room)?;
            Ok(snap.chat_history(&room.to_string(), before, limit)?)
        })
        .await
    }

    /// The stored events of `room` after `since` (at most `limit`), if `who` may follow
    /// it: see [`reads::replay`].
    async fn replay(
        &self,
        who: Arc<Principal>,
        room: Room,
        since: Option<u64>,
        limit: u32,
    ) -> Result<(Replay, bool), Refusal> {
        self.read_as(who, move |snap, who| {
            reads::check_join(snap, who, &room)?;
            reads::replay(snap, &room.to_string(), since, limit)
        })
        .await
    }

    /// Today's figures for `restaurant` (all, if none), and the server's own completed
    /// from the database when `server` is given.
    async fn stats(
        &self,
        who: Arc<Principal>,
        restaurant: Option<String>,
        server: Option<(ServerStats, WebhookConfig)>,
    ) -> Result<Stats, Refusal> {
        self.read_as(who, move |snap, _| {
            let server = server.as_ref().map(|(st, config)| (st.clone(), config));
            reads::stats(snap, restaurant, server)
        })
        .await
    }

    /// Today's figures of each of `restaurants`, read from the orders.
    async fn figures(&self, restaurants: Vec<String>) -> Result<Vec<Analytics>, Refusal> {
        self.read(move |snap| {
            let since = snap.local_day()?.start;
            restaurants
                .into_iter()
                .map(|r| Ok(snap.analytics(Some(&r), since)?))
                .collect()
        })
        .await
    }

    /// The newest order's id (0: none yet).
    async fn newest_order_id(&self) -> Result<u64, Refusal> {
        self.read(|snap| Ok(snap.newest_order_id()?)).await
    }

    /// When the next held order fires or 86 ends (Unix ms), if anything is scheduled.
    async fn next_due(&self) -> Result<Option<i64>, Refusal> {
        self.read(|snap| Ok(snap.next_due()?)).await
    }

    /// Every webhook endpoint with its delivery progress.
    async fn webhooks(&self) -> Result<Vec<Endpoint>, Refusal> {
        self.read(|snap| Ok(snap.webhooks()?)).await
    }

    /// The events after seq `after` a webhook delivers (only `restaurant`'s, if given),
    /// in seq order, at most `limit`.
    async fn events_after(
        &self,
        after: u64,
        restaurant: Option<String>,
        limit: u32,
    ) -> Result<Vec<LogEvent>, Refusal> {
        self.read(move |snap| Ok(snap.events_after(after, restaurant.as_deref(), limit)?))
            .await
    }

    /// The incoming hook named `name`.
    async fn hook(&self, name: String) -> Result<Option<Hook>, Refusal> {
        self.read(move |snap| Ok(snap.hook(&name)?)).await
    }

    /// This database's instance id (webhooks sign with it).
    async fn instance(&self) -> Result<u64, Refusal> {
        self.read(|snap| Ok(snap.meta("instance")?)).await
    }

    fn is_durable(&self) -> bool {
        self.inner.durable
    }

    /// Lets the writer finish what is queued, checkpoints the WAL and stops it.
    async fn close(&self) {
        let checkpointer = self.inner.checkpointer.lock().unwrap().take();
        if let Some((handle, stopping)) = checkpointer {
            stopping.store(true, Ordering::Release);
            handle.thread().unpark();
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        let _ = self.inner.jobs.send(writer::Job::Shutdown).await;
        let handle = self.inner.writer.lock().unwrap().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        self.inner.readers.lock().unwrap().clear();
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
    let admin = Principal {
        token_id: 0,
        role: chit_protocol::Role::Admin,
        restaurant: None,
        rider: None,
        customer: None,
        label: Some("admin".into()),
    };
    write_secret(&file, &format!("{token}\n"))?;
    queries::insert_token(
        conn,
        &crate::auth::hash_token(&token),
        &admin,
        chit_protocol::now_ms(),
    )?;
    Ok(Some(file))
}

pub fn admin_token_path(db_path: &Path) -> PathBuf {
    db_path.with_file_name("admin.token")
}

fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
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
