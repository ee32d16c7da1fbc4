//! What every backend shares: a writer thread that owns the write connection and commits
//! groups of changes (`writer`), answers after the commit, and a pool of read
//! connections, each read one snapshot on one of them, off the async threads. A backend
//! is an [`Engine`] over its [`ReadPool`] and its writer's connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chit_protocol::{
    Analytics, ChatMessage, Menu, Order, Room, ServerStats, Stats, UnavailableItem,
};
use tokio::sync::{mpsc, oneshot};

use super::snapshot::Snapshot;
use super::tx::WriteConn;
use super::{
    Backend, Change, Figures, OrdersPage, StoreConfig, Write, WriteResult, events, queries, reads,
    rules, today, writer,
};
use crate::auth::Principal;
use crate::error::Refusal;
use crate::frames::Published;
use crate::session::Replay;
use crate::webhooks::WebhookConfig;
use crate::webhooks::queries::{Endpoint, Hook, LogEvent};

/// At most this many reads run at once, so a flood of requests (or of `hello`s) waits
/// its turn instead of taking a connection and a thread each.
pub(super) const READERS: usize = 8;

/// A backend's read connections.
pub(super) trait ReadPool: Send + Sync + 'static {
    /// Runs `f` in one snapshot (a read transaction) on one of the connections, opening
    /// one if none is free. Blocking: called on a blocking thread.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&dyn Snapshot) -> Result<T, Refusal>,
    ) -> Result<T, Refusal>;
    /// Stops what the backend runs beside the writer (before the writer stops).
    /// Blocking.
    fn stop(&self) {}
    /// Closes the idle connections.
    fn drain(&self);
}

/// What the writer shares with a backend's own threads (SQLite's checkpointer).
#[derive(Default)]
pub(super) struct Beside {
    /// Transactions committed so far.
    pub commits: Arc<AtomicU64>,
    /// Held for each transaction.
    pub gate: Arc<Mutex<()>>,
}

/// A backend: its writer and its read pool.
pub(super) struct Engine<P> {
    inner: Arc<Inner<P>>,
}

impl<P> Clone for Engine<P> {
    fn clone(&self) -> Self {
        Engine {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<P> {
    pool: P,
    jobs: mpsc::Sender<writer::Job>,
    read_turns: Arc<tokio::sync::Semaphore>,
    head: Arc<AtomicU64>,
    epoch: u64,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    durable: bool,
    clock: crate::clock::Clock,
    due_changed: Arc<tokio::sync::Notify>,
}

/// Where a backend's log stands as it opens: its head and its epoch.
pub(super) struct Log {
    pub head: u64,
    pub epoch: u64,
}

impl<P: ReadPool> Engine<P> {
    /// Starts the writer on `conn` (its log at `log`) beside `pool`; `publish` receives
    /// each committed batch's events, in commit order, on the writer thread.
    pub fn start<C: WriteConn>(
        pool: P,
        conn: C,
        log: Log,
        beside: Beside,
        config: StoreConfig,
        publish: impl FnMut(Vec<Published>, Vec<Figures>) + Send + 'static,
    ) -> std::io::Result<Engine<P>> {
        let head = Arc::new(AtomicU64::new(log.head));
        let (jobs_tx, jobs_rx) = mpsc::channel(8192);
        let due_changed = Arc::new(tokio::sync::Notify::new());
        let shared = conn.shared();
        let writer = writer::Writer {
            shared,
            conn,
            jobs: jobs_rx,
            publish: Box::new(publish),
            today: today::Today::new(shared),
            head: head.clone(),
            commits: beside.commits,
            gate: beside.gate,
            retention: config.retention,
            group_sizes: config.group_sizes,
            clock: config.clock.clone(),
            kitchen: rules::Kitchen::default(),
            due_changed: due_changed.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("chit-writer".into())
            .spawn(move || writer.run())?;
        Ok(Engine {
            inner: Arc::new(Inner {
                pool,
                jobs: jobs_tx,
                read_turns: Arc::new(tokio::sync::Semaphore::new(READERS)),
                head,
                epoch: log.epoch,
                writer: Mutex::new(Some(handle)),
                durable: config.durable,
                clock: config.clock,
                due_changed,
            }),
        })
    }

    /// The read connections.
    #[cfg(feature = "postgres")]
    pub fn pool(&self) -> &P {
        &self.inner.pool
    }

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

    /// Runs `f` in one snapshot on a read connection, off the async threads.
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
            inner.pool.snapshot(f)
        })
        .await
        .unwrap_or_else(|e| Err(Refusal::internal(format!("read task failed: {e}"))))
    }

    /// Runs `f` in one snapshot after checking, in the same snapshot, that `who`'s
    /// token is still live.
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

impl<P: ReadPool> Backend for Engine<P> {
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
                .map(|r| reads::figures(snap, &r, since))
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

    async fn log_after(&self, after: u64, limit: u32) -> Result<(Vec<Published>, u64), Refusal> {
        self.read(move |snap| {
            let head = snap.head()?;
            Ok((events::published(snap.log_after(after, limit)?), head))
        })
        .await
    }

    fn saw_head(&self, seq: u64) {
        self.inner.head.fetch_max(seq, Ordering::AcqRel);
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

    /// Stops what runs beside the writer, lets the writer finish what is queued, and
    /// stops it.
    async fn close(&self) {
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || inner.pool.stop()).await;
        let _ = self.inner.jobs.send(writer::Job::Shutdown).await;
        let handle = self.inner.writer.lock().unwrap().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        // A connection may block as it closes (PostgreSQL's runs a runtime of its own).
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || inner.pool.drain()).await;
    }
}
