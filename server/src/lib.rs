//! chit-server as a library: [`Server::open`] opens the database and hub, and
//! [`Server::run`] serves WebSocket clients on a listener until a shutdown future
//! resolves. The binary passes SIGINT/SIGTERM; tests pass a oneshot.

pub mod auth;
pub mod clock;
mod connection;
mod context;
mod dispatch;
pub mod error;
#[cfg(feature = "postgres")]
pub mod follow;
pub mod frames;
mod http;
pub mod hub;
pub mod kitchen;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod ops;
mod service;
mod session;
pub mod store;
mod timers;
pub mod webhooks;

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chit_protocol::{Analytics, EventKind, ServerStats};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::context::Ctx;
use crate::hub::Hub;
use crate::store::{Store, StoreConfig};

/// How the server behaves; every field has a sensible default.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server pings this often and drops a peer silent for two intervals.
    pub heartbeat: Duration,
    /// Connections over this are refused at once.
    pub max_connections: usize,
    /// Time allowed for the WebSocket handshake and for `hello`.
    pub handshake_timeout: Duration,
    /// Frames a session may have waiting before it counts as a slow consumer.
    pub outbound_queue: usize,
    /// Requests a second, per connection, and the burst allowed above it.
    pub rate_limit: u32,
    pub rate_burst: u32,
    /// tungstenite's read buffer per connection, in bytes.
    pub read_buffer: usize,
    /// How often `analytics_update` is sent at most, per restaurant.
    pub analytics_every: Duration,
    /// Chat messages a member (one token) may send, over all its connections.
    pub chat_rate: hub::ChatRate,
    pub store: StoreConfig,
    /// How webhook deliveries are retried.
    pub webhooks: webhooks::WebhookConfig,
    /// How a node on PostgreSQL follows what the other nodes commit.
    #[cfg(feature = "postgres")]
    pub follow: follow::FollowConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat: Duration::from_secs(30),
            max_connections: 20_000,
            handshake_timeout: Duration::from_secs(10),
            outbound_queue: 1024,
            rate_limit: 2000,
            rate_burst: 4000,
            read_buffer: 512,
            analytics_every: Duration::from_millis(500),
            chat_rate: hub::ChatRate::default(),
            store: StoreConfig::default(),
            webhooks: webhooks::WebhookConfig::default(),
            #[cfg(feature = "postgres")]
            follow: follow::FollowConfig::default(),
        }
    }
}

/// Where a store's writer sends each committed batch's events and figures.
type Publish = Box<dyn FnMut(Vec<frames::Published>, Vec<store::Figures>) + Send>;

/// An opened server: its store and hub, ready to [`run`](Server::run).
pub struct Server {
    hub: Hub,
    store: Store,
    config: Arc<Config>,
    metrics: Arc<metrics::Metrics>,
    /// The newest committed seq, as each commit publishes it (webhook deliveries wait
    /// on it).
    heads: tokio::sync::watch::Receiver<u64>,
    /// On PostgreSQL, where this node's commits go to be delivered in seq order with
    /// the other nodes'.
    #[cfg(feature = "postgres")]
    follow: Option<Follow>,
    started: Instant,
}

#[cfg(feature = "postgres")]
struct Follow {
    local: tokio::sync::mpsc::UnboundedReceiver<follow::Committed>,
    heads: tokio::sync::watch::Sender<u64>,
}

impl Server {
    /// Opens (or creates) the database at `db` and the hub that fans out its events.
    pub fn open(db: &Path, config: Config) -> rusqlite::Result<Server> {
        let (server, _) = Server::open_with(config, |store_config, publish| {
            Store::open(db, store_config, publish)
        })?;
        Ok(server)
    }

    /// [`Server::open`] on the PostgreSQL database `url` names (chit's tables are
    /// created in it if it has none).
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, config: Config) -> Result<Server, store::StoreError> {
        // Each commit goes to the follower (see `follow`), which delivers it in seq order
        // with the other nodes' and moves the heads.
        let (local_tx, local) = tokio::sync::mpsc::unbounded_channel();
        let (mut server, heads) = Server::open_with(config, |store_config, _| {
            Store::open_postgres(
                url,
                store_config,
                move |events: Vec<frames::Published>, figures| {
                    let _ = local_tx.send(follow::Committed { events, figures });
                },
            )
        })?;
        server.follow = Some(Follow { local, heads });
        Ok(server)
    }

    /// The server on the store `open` opens, given the store's settings and where each
    /// committed batch goes (to the hub, and its newest seq to the heads); with the
    /// heads' sender, for a store that publishes elsewhere.
    fn open_with<E>(
        config: Config,
        open: impl FnOnce(StoreConfig, Publish) -> Result<Store, E>,
    ) -> Result<(Server, tokio::sync::watch::Sender<u64>), E> {
        let hub = Hub::with_chat_rate(config.outbound_queue, config.chat_rate);
        let publisher = hub.clone();
        let metrics = Arc::new(metrics::Metrics::new());
        let mut store_config = config.store.clone();
        store_config.group_sizes = Some(metrics.group_size.clone());
        let (heads_tx, heads) = tokio::sync::watch::channel(0);
        let sender = heads_tx.clone();
        let store = open(
            store_config,
            Box::new(move |events, figures| {
                if let Some(head) = events.iter().filter_map(|e| e.seq).max() {
                    heads_tx.send_replace(head);
                }
                publisher.publish(events);
                publisher.figures_changed(figures);
            }),
        )?;
        let server = Server {
            hub,
            store,
            config: Arc::new(config),
            metrics,
            heads,
            #[cfg(feature = "postgres")]
            follow: None,
            started: Instant::now(),
        };
        Ok((server, sender))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` resolves: then stops accepting, closes every connection
    /// with a close frame, lets the writer finish, checkpoints the WAL and returns.
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    pub async fn run(mut self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let token = CancellationToken::new();
        let ctx = Ctx {
            hub: self.hub.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
            shutdown: token.clone(),
            http: Arc::new(http::State::new(self.metrics.clone())),
        };
        let tracker = TaskTracker::new();
        tracker.spawn(analytics(ctx.clone()));
        tracker.spawn(watch_revocations(ctx.clone()));
        tracker.spawn(expire_typing(ctx.clone()));
        tracker.spawn(timers::run(ctx.clone()));
        tracker.spawn(memory::release_after_drops(ctx.clone(), tracker.clone()));
        #[cfg(feature = "postgres")]
        if let Some(f) = self.follow.take() {
            let config = self.config.follow.clone();
            let (hub, store) = (ctx.hub.clone(), ctx.store.clone());
            let stop = token.clone();
            tracker.spawn(follow::run(hub, store, f.heads, f.local, config, stop));
        }
        // Where nodes share the database, the one holding the lease delivers.
        let lease = self.store.webhook_lease().transpose();
        match (self.store.instance().await, lease) {
            (Ok(instance), Ok(lease)) => {
                let shared = Arc::new(webhooks::deliver::Shared {
                    store: self.store.clone(),
                    metrics: self.metrics.clone(),
                    config: self.config.webhooks.clone(),
                    client: webhooks::deliver::client(self.config.webhooks.timeout),
                    instance,
                    poll: lease.is_some().then_some(WEBHOOK_POLL),
                });
                let heads = self.heads.clone();
                tracker.spawn(webhooks::deliver::supervise(
                    shared,
                    heads,
                    lease,
                    token.clone(),
                ));
            }
            (Err(e), _) => tracing::error!("webhooks are not delivered: {e}"),
            (_, Err(e)) => tracing::error!("webhooks are not delivered: no lease thread: {e}"),
        }
        STARTED.get_or_init(|| self.started);

        tokio::select! {
            _ = accept(&listener, &ctx, &tracker) => {}
            _ = shutdown => tracing::info!("shutting down"),
        }
        token.cancel();
        drop(listener);
        tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within 5 s");
        }
        self.store.close().await;
        tracing::info!("stopped");
    }
}

/// How often the node delivering webhooks reads the log for other nodes' events, where
/// nodes share the database.
const WEBHOOK_POLL: Duration = Duration::from_millis(250);

static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Decodes one client text frame as the server does, or says what is wrong with it (the
/// `bad_request` the peer would get, with the `id` it could recover). Public for the
/// fuzz targets in `fuzz/`.
pub fn parse_frame(
    text: &str,
) -> Result<chit_protocol::ClientFrame, (Option<serde_json::Value>, error::Refusal)> {
    connection::parse(text)
}

async fn accept(listener: &TcpListener, ctx: &Ctx, tracker: &TaskTracker) {
    let background = tracker.len();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Tasks still running = connections plus the background tasks.
        if tracker.len() >= ctx.config.max_connections + background {
            tracing::warn!(
                "refusing {peer}: {} connections open",
                ctx.config.max_connections
            );
            drop(stream);
            continue;
        }
        tracker.spawn(connection::serve(stream, ctx.clone()));
    }
}

/// Sends each restaurant room a fresh `analytics_update` after its orders change, at
/// most once per `analytics_every`, and only to rooms someone is in.
async fn analytics(ctx: Ctx) {
    loop {
        let dirty = tokio::select! {
            d = ctx.hub.dirty_restaurants() => d,
            _ = ctx.shutdown.cancelled() => return,
        };
        let (known, unknown): (Vec<_>, Vec<_>) = dirty
            .into_iter()
            .filter(|(r, _)| ctx.hub.has_members(&format!("restaurant:{r}")))
            .partition(|(_, today)| today.is_some());
        let mut figures: Vec<Analytics> = known.into_iter().filter_map(|(_, t)| t).collect();
        if !unknown.is_empty() {
            let unknown = unknown.into_iter().map(|(r, _)| r).collect();
            let read = ctx.store.figures(unknown).await;
            match read {
                Ok(read) => figures.extend(read),
                Err(e) => tracing::warn!("computing figures failed: {e}"),
            }
        }
        for today in figures {
            let Some(restaurant) = &today.restaurant else {
                continue;
            };
            let room = format!("restaurant:{restaurant}");
            let data = serde_json::to_string(&today).expect("serializable");
            ctx.hub
                .publish_live(&room, EventKind::AnalyticsUpdate, &data, None);
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.config.analytics_every) => {}
            _ = ctx.shutdown.cancelled() => return,
        }
    }
}

/// Tells rooms when a member shown typing has gone quiet.
async fn expire_typing(ctx: Ctx) {
    tokio::select! {
        _ = ctx.hub.expire_typing() => {}
        _ = ctx.shutdown.cancelled() => {}
    }
}

/// Notices, once a second, what other processes (`chit-server token revoke`, `menu
/// load`) changed in the database: disconnects sessions whose token was revoked, and
/// has the writer take up loaded menus (see `store::rules::menus`).
async fn watch_revocations(ctx: Ctx) {
    let mut known: HashSet<i64> = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = ctx.shutdown.cancelled() => return,
        }
        let read = ctx.store.outside_changes().await;
        let Ok((revoked, menus)) = read else {
            continue;
        };
        if menus && let Err(e) = ctx.store.run_due().await {
            tracing::warn!("taking up a loaded menu failed: {e}");
        }
        let revoked: HashSet<i64> = revoked.into_iter().collect();
        if revoked != known {
            ctx.hub.kick_tokens(&revoked);
            ctx.http.forget(&revoked);
            known = revoked;
        }
    }
}

/// The server's own figures for admins' `stats`.
pub(crate) fn server_stats(ctx: &Ctx) -> ServerStats {
    ServerStats {
        connections: ctx.hub.session_count() as u64,
        rss_bytes: chit_protocol::process::rss_bytes(),
        events_total: ctx.hub.events_total(),
        orders_total: 0,
        uptime_secs: STARTED.get().map(|s| s.elapsed().as_secs()).unwrap_or(0),
        head: ctx.store.head(),
        cpu_ms: chit_protocol::process::cpu_ms(),
        open_fds: chit_protocol::process::open_fds(),
        webhooks: Vec::new(),
    }
}
