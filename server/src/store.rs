//! The store: all chit keeps (orders, the event log, tokens, chat, menus, webhooks'
//! progress) behind one interface, [`Backend`], which the rest of the server calls
//! through [`Store`]: changes submitted to the backend's group-commit writer and
//! answered once durable, the log's head and replay, and the reads. SQLite (`sqlite`)
//! is the backend; nothing outside this module names its connection. The order rules
//! (`rules`) and the group-commit machine (`writer`) reach the database only through
//! `tx` (the queries a group's transaction makes, and the writer's connection), so
//! another backend's writer reuses both. `postgres` has the PostgreSQL schema and the
//! copy of a SQLite database into it.

mod engine;
pub mod epoch;
mod events;
pub mod kitchen_sql;
pub(crate) mod migrate;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod queries;
mod reads;
mod rules;
mod snapshot;
pub(crate) mod sqlite;
mod today;
mod tx;
pub mod validate;
#[allow(unsafe_code)] // a SQLite VFS is a table of C callbacks; see the module's notes
mod wal_vfs;
mod writer;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chit_protocol::{
    Analytics, ChatMessage, ItemState, Menu, Order, Room, ServerStats, Stats, Status,
    UnavailableItem,
};

use crate::auth::Principal;
use crate::clock::Clock;
use crate::error::Refusal;
use crate::frames::Published;
use crate::session::Replay;
use crate::webhooks::WebhookConfig;
use crate::webhooks::queries::{Endpoint, Hook, LogEvent};
pub use reads::OrdersPage;
pub(crate) use reads::resync;
pub use sqlite::{BootstrapError, admin_token_path, ensure_admin_token, open_connection};
pub use today::Figures;
use validate::ValidOrder;

/// How the store keeps its data.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Events older than this are removed; a client asking for them must resync.
    pub retention: Duration,
    /// `synchronous=FULL` (an acknowledged write survives power loss). Off only for
    /// throwaway databases.
    pub durable: bool,
    /// A checkpoint that took at most this long may hold the writer between two commits
    /// to copy what came meanwhile, so that the log starts over (see `Checkpointer`).
    pub checkpoint_hold: Duration,
    /// Where the writer records how many changes each commit carried (for `/metrics`).
    pub group_sizes: Option<prometheus_client::metrics::histogram::Histogram>,
    /// The time every change is stamped with and held orders fire by.
    pub clock: crate::clock::Clock,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention: Duration::from_secs(7 * 24 * 3600),
            durable: true,
            checkpoint_hold: Duration::from_millis(5),
            group_sizes: None,
            clock: crate::clock::Clock::system(),
        }
    }
}

#[allow(clippy::large_enum_variant)] // a change moves once to the writer; boxing buys nothing
pub enum Write {
    PlaceOrder {
        order: ValidOrder,
    },
    UpdateStatus {
        order_id: i64,
        status: Status,
        reason: Option<String>,
        recall: bool,
        /// Ready although items are not done (the expo's confirmed override).
        force: bool,
    },
    UpdateItem {
        order_id: i64,
        /// Counting from 1.
        item: u32,
        state: ItemState,
        recall: bool,
    },
    MarkUnavailable {
        restaurant: String,
        item: String,
        /// Unix ms; none: the end of the local day.
        until: Option<i64>,
    },
    MarkAvailable {
        restaurant: String,
        item: String,
    },
    Claim {
        order_id: i64,
    },
    Release {
        order_id: i64,
    },
    Assign {
        order_id: i64,
        rider: String,
    },
    Chat {
        room: Room,
        text: String,
    },
}

#[allow(clippy::large_enum_variant)] // a result moves once to its caller
#[derive(Debug, Clone)]
pub enum Written {
    /// The order as it now is; `json` is its JSON when the change already made it for
    /// its event (the reply then reuses it).
    Order {
        order: Order,
        duplicate: bool,
        json: Option<Arc<str>>,
    },
    Chat(ChatMessage),
    /// What a restaurant has run out of, after an 86 changed.
    Unavailable {
        restaurant: String,
        items: Vec<UnavailableItem>,
    },
}

pub type WriteResult = Result<Written, Refusal>;
pub use tx::StoreError;

/// A lease that one node holds at a time (see [`Store::webhook_lease`]).
#[cfg(feature = "postgres")]
pub use postgres::lease::Lease;
/// Without PostgreSQL, no node shares its database: a lease never exists.
#[cfg(not(feature = "postgres"))]
pub enum Lease {}

#[cfg(not(feature = "postgres"))]
impl Lease {
    pub fn held(&self) -> bool {
        match *self {}
    }
    pub async fn changed(&mut self) {
        match *self {}
    }
}

/// A change of the server's own, made in the writer's next transaction beside the
/// clients' changes of that group (it adds no commit of its own).
pub enum Change {
    /// A webhook endpoint's delivery progress.
    WebhookProgress {
        id: i64,
        progress: crate::webhooks::queries::Progress,
    },
    /// Nothing, but with the write lock taken: `/healthz`'s proof that the writer runs
    /// and the database takes its writes (the commit writes no page).
    Probe,
}

/// What the server holds: a handle on the backend (cloned freely), through which every
/// task reads and writes.
#[derive(Clone)]
pub struct Store {
    backend: Backends,
}

#[derive(Clone)]
enum Backends {
    Sqlite(sqlite::Sqlite),
    #[cfg(feature = "postgres")]
    Postgres(postgres::backend::Postgres),
}

/// `$body` with `$b` bound to whichever backend the store is on.
macro_rules! on_backend {
    ($self:ident, $b:ident => $body:expr) => {
        match &$self.backend {
            Backends::Sqlite($b) => $body,
            #[cfg(feature = "postgres")]
            Backends::Postgres($b) => $body,
        }
    };
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and starts its writer;
    /// `publish` receives each committed batch's events, in commit order.
    pub fn open(
        path: &Path,
        config: StoreConfig,
        publish: impl FnMut(Vec<Published>, Vec<Figures>) + Send + 'static,
    ) -> rusqlite::Result<Store> {
        Ok(Store {
            backend: Backends::Sqlite(sqlite::Sqlite::open(path, config, publish)?),
        })
    }

    /// Opens the PostgreSQL database `url` names (creating chit's tables if it has
    /// none) and starts the writer; `publish` as for [`Store::open`].
    #[cfg(feature = "postgres")]
    pub fn open_postgres(
        url: &str,
        config: StoreConfig,
        publish: impl FnMut(Vec<Published>, Vec<Figures>) + Send + 'static,
    ) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backends::Postgres(postgres::backend::open(url, config, publish)?),
        })
    }

    /// Whether other nodes' servers may share the database (PostgreSQL): what they commit
    /// reaches this node's tasks only through the database.
    pub fn is_shared(&self) -> bool {
        !matches!(self.backend, Backends::Sqlite(_))
    }

    /// The lease for delivering webhooks where several nodes share the database (see
    /// `postgres::lease`): only the node holding it delivers. None on SQLite, whose
    /// one server always delivers.
    pub fn webhook_lease(&self) -> Option<std::io::Result<Lease>> {
        match &self.backend {
            Backends::Sqlite(_) => None,
            #[cfg(feature = "postgres")]
            Backends::Postgres(b) => Some(
                b.pool()
                    .lease(postgres::lease::WEBHOOKS, "webhook deliveries"),
            ),
        }
    }

    /// The newest committed seq.
    pub fn head(&self) -> u64 {
        on_backend!(self, b => b.head())
    }

    /// The log's epoch (see [`epoch`]): fixed while the server runs.
    pub fn epoch(&self) -> u64 {
        on_backend!(self, b => b.epoch())
    }

    /// `resync_required` if a client resumes from `since` with seqs of another epoch
    /// than the log's (a backup restored since, another database): its seqs may stand
    /// for other events here, so a replay could leave a gap. Without `since` (nothing
    /// to resume) or without `epoch` (a client from before epochs), nothing to check.
    pub(crate) fn check_epoch(
        &self,
        since: Option<u64>,
        epoch: Option<u64>,
    ) -> Result<(), Refusal> {
        let ours = self.epoch();
        match (since, epoch) {
            (Some(since), Some(theirs)) if theirs != ours => Err(resync(format!(
                "seq {since} is of another log than this server's (epoch {theirs}, now {ours}: a restored backup or another database): reload the orders and subscribe from the new head"
            ))),
            _ => Ok(()),
        }
    }

    /// The time the store stamps changes with.
    pub fn clock(&self) -> &Clock {
        on_backend!(self, b => b.clock())
    }

    pub fn is_durable(&self) -> bool {
        on_backend!(self, b => b.is_durable())
    }

    /// Queues a change and waits until it is committed (or refused).
    pub async fn write(&self, who: Arc<Principal>, op: Write) -> WriteResult {
        on_backend!(self, b => b.write(who, op).await)
    }

    /// Makes `change` in the writer's next transaction and waits until it is committed.
    pub async fn apply(&self, change: Change) -> Result<(), Refusal> {
        on_backend!(self, b => b.apply(change).await)
    }

    /// Has the writer do what has come due (fire held orders, end 86s, take up loaded
    /// menus) and waits until that is committed.
    pub async fn run_due(&self) -> Result<(), Refusal> {
        on_backend!(self, b => b.run_due().await)
    }

    /// Resolves after a commit put something new on the clock's list.
    pub async fn due_changed(&self) -> () {
        on_backend!(self, b => b.due_changed().await)
    }

    /// Lets the writer finish what is queued, then stops it.
    pub async fn close(&self) -> () {
        on_backend!(self, b => b.close().await)
    }

    /// The stored events of `room` after `since` (at most `limit`), as frames, with the
    /// head read in the same snapshot and whether more were there, if `who` may follow
    /// the room; `resync_required` if they are not all kept or `since` is ahead.
    pub(crate) async fn replay(
        &self,
        who: Arc<Principal>,
        room: Room,
        since: Option<u64>,
        limit: u32,
    ) -> Result<(Replay, bool), Refusal> {
        on_backend!(self, b => b.replay(who, room, since, limit).await)
    }

    /// The events after seq `after` (only `restaurant`'s, if given), for webhooks.
    pub async fn events_after(
        &self,
        after: u64,
        restaurant: Option<String>,
        limit: u32,
    ) -> Result<Vec<LogEvent>, Refusal> {
        on_backend!(self, b => b.events_after(after, restaurant, limit).await)
    }

    /// The log after `after` (at most `limit` rows) as the frames its commits published
    /// (every room's, in seq order), with the head read in the same snapshot: what a
    /// node delivers of the events other nodes commit.
    pub(crate) async fn log_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Published>, u64), Refusal> {
        on_backend!(self, b => b.log_after(after, limit).await)
    }

    /// Raises [`Store::head`] to `seq` if it is below: another node committed up to it.
    pub(crate) fn saw_head(&self, seq: u64) {
        on_backend!(self, b => b.saw_head(seq))
    }

    pub async fn token_by_hash(&self, hash: String) -> Result<Option<Principal>, Refusal> {
        on_backend!(self, b => b.token_by_hash(hash).await)
    }

    pub async fn token_by_id(&self, id: i64) -> Result<Option<Principal>, Refusal> {
        on_backend!(self, b => b.token_by_id(id).await)
    }

    /// The revoked tokens, and whether loaded menus wait for the writer.
    pub async fn outside_changes(&self) -> Result<(Vec<i64>, bool), Refusal> {
        on_backend!(self, b => b.outside_changes().await)
    }

    /// The reads below check first that `who`'s token is still live.
    pub async fn order(&self, who: Arc<Principal>, order_id: i64) -> Result<Order, Refusal> {
        on_backend!(self, b => b.order(who, order_id).await)
    }

    pub async fn list_orders(
        &self,
        who: Arc<Principal>,
        filter: queries::OrderFilter,
    ) -> Result<OrdersPage, Refusal> {
        on_backend!(self, b => b.list_orders(who, filter).await)
    }

    pub async fn menu(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> Result<(Option<Menu>, Vec<UnavailableItem>), Refusal> {
        on_backend!(self, b => b.menu(who, restaurant, now).await)
    }

    pub async fn unavailable(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> Result<Vec<UnavailableItem>, Refusal> {
        on_backend!(self, b => b.unavailable(who, restaurant, now).await)
    }

    pub async fn check_join(&self, who: Arc<Principal>, room: Room) -> Result<(), Refusal> {
        on_backend!(self, b => b.check_join(who, room).await)
    }

    pub async fn chat_history(
        &self,
        who: Arc<Principal>,
        room: Room,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, Refusal> {
        on_backend!(self, b => b.chat_history(who, room, before, limit).await)
    }

    pub async fn stats(
        &self,
        who: Arc<Principal>,
        restaurant: Option<String>,
        server: Option<(ServerStats, WebhookConfig)>,
    ) -> Result<Stats, Refusal> {
        on_backend!(self, b => b.stats(who, restaurant, server).await)
    }

    /// Today's figures of each of `restaurants`, read from the orders.
    pub async fn figures(&self, restaurants: Vec<String>) -> Result<Vec<Analytics>, Refusal> {
        on_backend!(self, b => b.figures(restaurants).await)
    }

    pub async fn newest_order_id(&self) -> Result<u64, Refusal> {
        on_backend!(self, b => b.newest_order_id().await)
    }

    /// When the next held order fires or 86 ends (Unix ms), if anything is scheduled.
    pub async fn next_due(&self) -> Result<Option<i64>, Refusal> {
        on_backend!(self, b => b.next_due().await)
    }

    pub async fn webhooks(&self) -> Result<Vec<Endpoint>, Refusal> {
        on_backend!(self, b => b.webhooks().await)
    }

    pub async fn hook(&self, name: String) -> Result<Option<Hook>, Refusal> {
        on_backend!(self, b => b.hook(name).await)
    }

    /// This database's instance id (webhooks sign with it).
    pub async fn instance(&self) -> Result<u64, Refusal> {
        on_backend!(self, b => b.instance().await)
    }
}

/// What a backend does for the server. Changes go through its writer, which applies
/// each group in one transaction with the order rules, and answers (and publishes the
/// group's events, in seq order) only after the commit; every read is a snapshot of
/// committed data. The futures are `Send`, so any task may wait on them.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The newest committed seq.
    fn head(&self) -> u64;
    /// The log's epoch, chosen if need be when the backend opened the database (a
    /// backup's copy gets a new one), from 1 to [`epoch::MAX`].
    fn epoch(&self) -> u64;
    /// The time the store stamps changes with.
    fn clock(&self) -> &Clock;
    fn is_durable(&self) -> bool;

    /// Queues a change and waits until it is committed (or refused).
    fn write(&self, who: Arc<Principal>, op: Write) -> impl Future<Output = WriteResult> + Send;
    /// Makes `change` in the writer's next transaction and waits until it is committed.
    fn apply(&self, change: Change) -> impl Future<Output = Result<(), Refusal>> + Send;
    /// Has the writer do what has come due (fire held orders, end 86s, take up loaded
    /// menus) and waits until that is committed.
    fn run_due(&self) -> impl Future<Output = Result<(), Refusal>> + Send;
    /// Resolves after a commit put something new on the clock's list.
    fn due_changed(&self) -> impl Future<Output = ()> + Send;
    /// Lets the writer finish what is queued, then stops it.
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// The stored events of `room` after `since` (at most `limit`), as frames, with the
    /// head read in the same snapshot and whether more were there, if `who` may follow
    /// the room; `resync_required` if they are not all kept or `since` is ahead.
    fn replay(
        &self,
        who: Arc<Principal>,
        room: Room,
        since: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<(Replay, bool), Refusal>> + Send;
    /// The events after seq `after` (only `restaurant`'s, if given), for webhooks.
    fn events_after(
        &self,
        after: u64,
        restaurant: Option<String>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEvent>, Refusal>> + Send;
    /// The log after `after` (at most `limit` rows) as the frames its commits published,
    /// with the head read in the same snapshot.
    fn log_after(
        &self,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<(Vec<Published>, u64), Refusal>> + Send;
    /// Raises the head to `seq` if it is below: another node committed up to it.
    fn saw_head(&self, seq: u64);

    fn token_by_hash(
        &self,
        hash: String,
    ) -> impl Future<Output = Result<Option<Principal>, Refusal>> + Send;
    fn token_by_id(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Principal>, Refusal>> + Send;
    /// The revoked tokens, and whether loaded menus wait for the writer.
    fn outside_changes(&self) -> impl Future<Output = Result<(Vec<i64>, bool), Refusal>> + Send;
    /// The reads below check first that `who`'s token is still live.
    fn order(
        &self,
        who: Arc<Principal>,
        order_id: i64,
    ) -> impl Future<Output = Result<Order, Refusal>> + Send;
    fn list_orders(
        &self,
        who: Arc<Principal>,
        filter: queries::OrderFilter,
    ) -> impl Future<Output = Result<OrdersPage, Refusal>> + Send;
    fn menu(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> impl Future<Output = Result<(Option<Menu>, Vec<UnavailableItem>), Refusal>> + Send;
    fn unavailable(
        &self,
        who: Arc<Principal>,
        restaurant: String,
        now: i64,
    ) -> impl Future<Output = Result<Vec<UnavailableItem>, Refusal>> + Send;
    fn check_join(
        &self,
        who: Arc<Principal>,
        room: Room,
    ) -> impl Future<Output = Result<(), Refusal>> + Send;
    fn chat_history(
        &self,
        who: Arc<Principal>,
        room: Room,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ChatMessage>, Refusal>> + Send;
    fn stats(
        &self,
        who: Arc<Principal>,
        restaurant: Option<String>,
        server: Option<(ServerStats, WebhookConfig)>,
    ) -> impl Future<Output = Result<Stats, Refusal>> + Send;
    /// Today's figures of each of `restaurants`, read from the orders.
    fn figures(
        &self,
        restaurants: Vec<String>,
    ) -> impl Future<Output = Result<Vec<Analytics>, Refusal>> + Send;
    fn newest_order_id(&self) -> impl Future<Output = Result<u64, Refusal>> + Send;
    /// When the next held order fires or 86 ends (Unix ms), if anything is scheduled.
    fn next_due(&self) -> impl Future<Output = Result<Option<i64>, Refusal>> + Send;
    fn webhooks(&self) -> impl Future<Output = Result<Vec<Endpoint>, Refusal>> + Send;
    fn hook(&self, name: String) -> impl Future<Output = Result<Option<Hook>, Refusal>> + Send;
    /// This database's instance id (webhooks sign with it).
    fn instance(&self) -> impl Future<Output = Result<u64, Refusal>> + Send;
}
