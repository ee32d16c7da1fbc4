//! The PostgreSQL backend: the engine (`store::engine`: the group-commit writer, reads in
//! one snapshot each) over PostgreSQL connections, with the queries of `orders`,
//! `kitchen`, `today` and `webhooks`. The writer's transactions take their seqs from
//! `log_head` last (`orders::take_seqs`), so that seq order is commit order; the reads
//! are REPEATABLE READ, READ ONLY transactions.
//!
//! The `postgres` crate's client blocks (it runs tokio-postgres on a runtime of its
//! own), as SQLite's connections do: the writer owns one on its thread and the reads
//! run on blocking threads, exactly as for SQLite.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ::postgres::{Client, IsolationLevel, Transaction};
use chit_protocol::{Analytics, ChatMessage, Item, Menu, Order, UnavailableItem};

use super::db::{Cached, Statements};
use super::{kitchen, orders, today, webhooks};
use crate::auth::Principal;
use crate::error::Refusal;
use crate::frames::Published;
use crate::kitchen::speed::Samples;
use crate::store::engine::{Beside, Engine, Log, READERS, ReadPool};
use crate::store::kitchen_sql::EightySix;
use crate::store::queries::{Day, LogRow, OrderFilter, StoredEvent, Tally, Times};
use crate::store::snapshot::Snapshot;
use crate::store::tx::{Begun, StoreError, Tx, TxResult, WriteConn};
use crate::store::validate::ValidOrder;
use crate::store::{Figures, StoreConfig, epoch};
use crate::webhooks::queries::{Endpoint, Hook, LogEvent, Progress};

/// The PostgreSQL backend.
pub(in crate::store) type Postgres = Engine<PgPool>;

/// Opens the database `url` names (creating chit's tables in it if it has none) and
/// starts the writer; `publish` receives each committed batch's events, in commit order.
pub(in crate::store) fn open(
    url: &str,
    config: StoreConfig,
    publish: impl FnMut(Vec<Published>, Vec<Figures>) + Send + 'static,
) -> TxResult<Postgres> {
    let settings: ::postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("'{url}' is not a PostgreSQL URL: {e}")))?;
    // The client blocks on a runtime of its own, which cannot run inside the caller's
    // (the server opens its store from async code): connect on a thread of its own.
    let setup = || -> TxResult<(Client, Log)> {
        let mut writer = settings.connect(::postgres::NoTls)?;
        ensure_schema(&mut writer)?;
        let log = Log {
            head: orders::head(&mut writer)?,
            epoch: choose_epoch(&mut writer)?,
        };
        Ok((writer, log))
    };
    let (writer, log) = std::thread::scope(|s| s.spawn(setup).join())
        .map_err(|_| StoreError::Backend("connecting to PostgreSQL panicked".into()))??;
    let pool = PgPool {
        settings: settings.clone(),
        readers: Mutex::new(Vec::new()),
    };
    Engine::start(
        pool,
        PgWriter {
            client: writer,
            settings,
            statements: Statements::new(),
        },
        log,
        Beside::default(),
        config,
        publish,
    )
    .map_err(|e| StoreError::Backend(format!("starting the writer thread: {e}")))
}

/// Makes sure this node has a working admin token in `file` (beside its data), as a
/// SQLite server keeps one beside its database: if the file is missing or its token is
/// not a live admin token in the database, a new one is issued and written there. The path, if it was written.
pub fn ensure_admin_token(url: &str, file: &Path) -> TxResult<Option<PathBuf>> {
    let mut client = connect(url)?;
    ensure_schema(&mut client)?;
    if let Ok(text) = std::fs::read_to_string(file)
        && orders::token_by_hash(&mut client, &crate::auth::hash_token(text.trim()))?
            .is_some_and(|p| p.role == chit_protocol::Role::Admin)
    {
        return Ok(None);
    }
    let token = crate::auth::new_token();
    let admin = crate::store::sqlite::local_admin();
    crate::store::sqlite::write_secret(file, &format!("{token}\n"))
        .map_err(|e| StoreError::Backend(format!("writing '{}': {e}", file.display())))?;
    let hash = crate::auth::hash_token(&token);
    orders::insert_token(&mut client, &hash, &admin, chit_protocol::now_ms())?;
    Ok(Some(file.to_path_buf()))
}

fn connect(url: &str) -> TxResult<Client> {
    let settings: ::postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("'{url}' is not a PostgreSQL URL: {e}")))?;
    Ok(settings.connect(::postgres::NoTls)?)
}

/// Creates chit's tables in a database that has none; several nodes starting at once
/// take turns (an advisory lock), and one creates them.
pub(crate) fn ensure_schema(client: &mut Client) -> TxResult<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock(7787)", &[])?;
    let present: Option<String> = tx
        .query_one("SELECT to_regclass('log_head')::text", &[])?
        .get(0);
    if present.is_none() {
        tx.batch_execute(super::SCHEMA)?;
    }
    tx.commit()?;
    Ok(())
}

/// The log's epoch, chosen now if the database has none (as SQLite's: see `epoch`).
fn choose_epoch(client: &mut Client) -> TxResult<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Backend(format!("no random bytes for an epoch: {e}")))?;
    let fresh = 1 + u64::from_le_bytes(bytes) % epoch::MAX;
    let row = client.query_one(
        "INSERT INTO meta (key, value) VALUES ('epoch', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value = 0
         RETURNING value",
        &[&(fresh as i64)],
    );
    match row {
        Ok(row) => Ok(row.get::<_, i64>(0) as u64),
        // The conflict kept a chosen epoch, and RETURNING gave no row: read it.
        Err(_) => Ok(orders::meta(client, "epoch")?),
    }
}

/// The writer's connection, and how to connect again when it is lost.
pub(in crate::store) struct PgWriter {
    client: Client,
    settings: ::postgres::Config,
    /// The statements prepared on `client`.
    statements: Statements,
}

impl PgWriter {
    /// The connection, made again if it was lost (PostgreSQL restarted, a network
    /// blip): the group that finds it lost fails (`internal`), and so does each one
    /// while PostgreSQL cannot be reached; the first after that goes through.
    fn client(&mut self) -> TxResult<&mut Client> {
        if self.client.is_closed() {
            tracing::warn!("the connection to PostgreSQL was lost: connecting again");
            self.client = self.settings.connect(::postgres::NoTls)?;
            self.statements.clear();
            tracing::info!("connected to PostgreSQL again");
        }
        Ok(&mut self.client)
    }
}

impl WriteConn for PgWriter {
    type Begun<'a> = PgTx<'a>;

    fn begin(&mut self) -> TxResult<PgTx<'_>> {
        self.client()?;
        let PgWriter {
            client, statements, ..
        } = self;
        Ok(PgTx {
            tx: RefCell::new(client.transaction()?),
            statements: RefCell::new(statements),
            writes: Cell::new(0),
            failed: Cell::new(false),
            conflict: Cell::new(false),
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn prune_events(&mut self, before: i64) -> TxResult<usize> {
        let mut tx = self.client()?.transaction()?;
        let n = orders::prune_events(&mut tx, before)?;
        tx.commit()?;
        Ok(n)
    }

    fn at_shutdown(&mut self) -> TxResult<()> {
        Ok(())
    }
}

/// A group's transaction. PostgreSQL ends a transaction at its first error (every
/// statement after it fails), so `aborted` is whether a statement has failed.
pub(in crate::store) struct PgTx<'a> {
    tx: RefCell<Transaction<'a>>,
    /// The writer's prepared statements, which its transactions run by name.
    statements: RefCell<&'a mut Statements>,
    writes: Cell<u64>,
    failed: Cell<bool>,
    /// Whether a statement failed by colliding with another node's transaction.
    conflict: Cell<bool>,
}

impl<'a> PgTx<'a> {
    fn read<T>(&self, f: impl FnOnce(&mut Cached<'_, 'a>) -> TxResult<T>) -> TxResult<T> {
        let (mut tx, mut statements) = (self.tx.borrow_mut(), self.statements.borrow_mut());
        let mut cached = Cached {
            tx: &mut tx,
            statements: &mut statements,
        };
        let result = f(&mut cached);
        if let Err(e) = &result {
            self.failed.set(true);
            if e.is_conflict() {
                self.conflict.set(true);
            }
        }
        result
    }

    fn write<T>(&self, f: impl FnOnce(&mut Cached<'_, 'a>) -> TxResult<T>) -> TxResult<T> {
        self.writes.set(self.writes.get() + 1);
        self.read(f)
    }
}

impl Begun for PgTx<'_> {
    fn tx(&self) -> &dyn Tx {
        self
    }
    fn commit(self) -> TxResult<()> {
        Ok(self.tx.into_inner().commit()?)
    }
}

impl Tx for PgTx<'_> {
    fn changes(&self) -> u64 {
        self.writes.get()
    }
    fn aborted(&self) -> bool {
        self.failed.get()
    }
    fn conflicted(&self) -> bool {
        self.conflict.get()
    }

    fn token_is_live(&self, token_id: i64) -> TxResult<bool> {
        self.read(|c| orders::token_is_live(c, token_id))
    }
    fn find_key(&self, restaurant: &str, key: &str) -> TxResult<Option<i64>> {
        self.read(|c| orders::find_key(c, restaurant, key))
    }
    fn claim_key(&self, restaurant: &str, key: &str, now: i64) -> TxResult<Option<i64>> {
        self.write(|c| orders::claim_key(c, restaurant, key, now))
    }
    fn insert_key(&self, restaurant: &str, key: &str, order_id: i64, now: i64) -> TxResult<()> {
        self.write(|c| orders::insert_key(c, restaurant, key, order_id, now))
    }

    fn get_order(&self, id: i64) -> TxResult<Option<Order>> {
        self.read(|c| orders::get_order_for_update(c, id))
    }
    fn lock_orders(&self, ids: &[i64]) -> TxResult<()> {
        self.read(|c| orders::lock_orders(c, ids))
    }
    fn insert_order(
        &self,
        order: &ValidOrder,
        number: u32,
        items: Vec<Item>,
        times: Option<Times>,
        now: (i64, &str),
    ) -> TxResult<Order> {
        self.write(|c| orders::insert_order(c, order, number, items, times, now))
    }
    fn save_order_state(&self, order: &Order, now: i64) -> TxResult<()> {
        self.write(|c| orders::save_order_state(c, order, now))
    }
    fn save_items(&self, order: &Order, now: i64) -> TxResult<()> {
        self.write(|c| orders::save_items(c, order, now))
    }
    fn order_times(&self, id: i64) -> TxResult<(i64, Option<i64>)> {
        self.read(|c| orders::order_times(c, id))
    }
    fn last_number(&self, restaurant: &str, day: &str) -> TxResult<u32> {
        self.write(|c| orders::last_number(c, restaurant, day))
    }
    fn save_number(&self, restaurant: &str, day: &str, last: u32) -> TxResult<()> {
        self.write(|c| orders::save_number(c, restaurant, day, last))
    }

    fn take_seqs(&self, n: u64, head: u64) -> TxResult<u64> {
        self.write(|c| orders::take_seqs(c, n, head))
    }
    fn insert_event(
        &self,
        first: u64,
        rooms: &[String],
        kind: &str,
        at: i64,
        data: &str,
        order_id: Option<i64>,
    ) -> TxResult<()> {
        self.write(|c| orders::insert_event(c, first, rooms, kind, at, data, order_id))
    }
    fn insert_chat(&self, message: &ChatMessage, at: i64) -> TxResult<i64> {
        self.write(|c| orders::insert_chat(c, message, at))
    }

    fn day_of(&self, at: i64) -> TxResult<Day> {
        today::day_of(at)
    }
    fn tally(&self, restaurant: Option<&str>, since: i64) -> TxResult<Tally> {
        self.read(|c| today::tally(c, restaurant, since))
    }
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>> {
        self.read(|c| today::speed_samples(c, restaurant, since))
    }

    fn schedule_fire(&self, order_id: i64, fire_at: i64) -> TxResult<()> {
        self.write(|c| kitchen::schedule_fire(c, order_id, fire_at))
    }
    fn unschedule(&self, order_id: i64) -> TxResult<bool> {
        self.write(|c| kitchen::unschedule(c, order_id))
    }
    fn due_fires(&self, now: i64, limit: u32) -> TxResult<Vec<i64>> {
        self.read(|c| kitchen::due_fires(c, now, limit))
    }
    fn save_fired(&self, order_id: i64, fired_at: i64) -> TxResult<()> {
        self.write(|c| kitchen::save_fired(c, order_id, fired_at))
    }
    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>> {
        self.read(|c| kitchen::live_menu(c, restaurant))
    }
    fn save_menu(&self, menu: &Menu, loaded_at: i64) -> TxResult<()> {
        self.write(|c| kitchen::save_menu(c, menu, loaded_at))
    }
    fn take_menu_loads(&self) -> TxResult<Vec<(Menu, i64)>> {
        self.write(|c| kitchen::take_menu_loads(c))
    }
    fn unavailable_keys(
        &self,
        restaurant: &str,
        now: i64,
    ) -> TxResult<HashMap<String, (String, i64)>> {
        self.read(|c| kitchen::unavailable_keys(c, restaurant, now))
    }
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>> {
        self.read(|c| kitchen::unavailable(c, restaurant, now))
    }
    fn mark_unavailable(&self, e: &EightySix<'_>) -> TxResult<()> {
        self.write(|c| kitchen::mark_unavailable(c, e))
    }
    fn mark_available(&self, restaurant: &str, key: &str) -> TxResult<bool> {
        self.write(|c| kitchen::mark_available(c, restaurant, key))
    }
    fn take_expired(&self, now: i64) -> TxResult<Vec<(String, String)>> {
        self.write(|c| kitchen::take_expired(c, now))
    }

    fn save_webhook_progress(&self, id: i64, progress: &Progress) -> TxResult<()> {
        self.write(|c| webhooks::save_webhook_progress(c, id, progress))
    }
    fn probe(&self) -> TxResult<()> {
        self.read(|c| webhooks::probe(c))
    }
}

/// The read connections.
pub(in crate::store) struct PgPool {
    settings: ::postgres::Config,
    readers: Mutex<Vec<Client>>,
}

impl PgPool {
    /// Lease `key` (see `lease`), on a connection of its own.
    pub fn lease(&self, key: i64, what: &'static str) -> std::io::Result<super::lease::Lease> {
        super::lease::Lease::take(self.settings.clone(), key, what)
    }
}

impl ReadPool for PgPool {
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&dyn Snapshot) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let pooled = self.readers.lock().unwrap().pop();
        let mut client = match pooled {
            Some(client) if !client.is_closed() => client,
            _ => self
                .settings
                .connect(::postgres::NoTls)
                .map_err(StoreError::from)?,
        };
        let result = match client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
        {
            Ok(tx) => {
                let snapshot = PgSnapshot(RefCell::new(tx));
                let result = f(&snapshot);
                // A read transaction has nothing to keep; ending it frees the snapshot.
                let _ = snapshot.0.into_inner().rollback();
                result
            }
            Err(e) => Err(StoreError::from(e).into()),
        };
        let mut readers = self.readers.lock().unwrap();
        if readers.len() < READERS && !client.is_closed() {
            readers.push(client);
        }
        result
    }

    fn drain(&self) {
        self.readers.lock().unwrap().clear();
    }
}

impl Drop for PgPool {
    /// A client closes by blocking on its own runtime, which it cannot do on an async
    /// thread (where the last handle on the store may go): the idle ones close on a
    /// thread of their own.
    fn drop(&mut self) {
        let clients = std::mem::take(self.readers.get_mut().unwrap_or_else(|e| e.into_inner()));
        if !clients.is_empty() {
            let _ = std::thread::Builder::new()
                .name("chit-pg-close".into())
                .spawn(move || drop(clients));
        }
    }
}

/// One read's snapshot.
struct PgSnapshot<'a>(RefCell<Transaction<'a>>);

impl<'a> PgSnapshot<'a> {
    fn run<T>(&self, f: impl FnOnce(&mut Transaction<'a>) -> TxResult<T>) -> TxResult<T> {
        f(&mut self.0.borrow_mut())
    }
}

impl Snapshot for PgSnapshot<'_> {
    fn token_is_live(&self, token_id: i64) -> TxResult<bool> {
        self.run(|c| orders::token_is_live(c, token_id))
    }
    fn token_by_hash(&self, hash: &str) -> TxResult<Option<Principal>> {
        self.run(|c| orders::token_by_hash(c, hash))
    }
    fn token_by_id(&self, id: i64) -> TxResult<Option<Principal>> {
        self.run(|c| orders::token_by_id(c, id))
    }
    fn revoked_tokens(&self) -> TxResult<Vec<i64>> {
        self.run(orders::revoked_tokens)
    }

    fn get_order(&self, id: i64) -> TxResult<Option<Order>> {
        self.run(|c| orders::get_order(c, id))
    }
    fn list_orders(&self, filter: &OrderFilter) -> TxResult<(Vec<Order>, bool)> {
        self.run(|c| orders::list_orders(c, filter))
    }
    fn count_orders(&self) -> TxResult<u64> {
        self.run(orders::count_orders)
    }
    fn newest_order_id(&self) -> TxResult<u64> {
        self.run(orders::newest_order_id)
    }
    fn head(&self) -> TxResult<u64> {
        self.run(orders::head)
    }
    fn meta(&self, key: &str) -> TxResult<u64> {
        self.run(|c| orders::meta(c, key))
    }
    fn events_since(&self, room: &str, since: u64, limit: u32) -> TxResult<Vec<StoredEvent>> {
        self.run(|c| orders::events_since(c, room, since, limit))
    }
    fn log_after(&self, after: u64, limit: u32) -> TxResult<Vec<LogRow>> {
        self.run(|c| orders::log_after(c, after, limit))
    }
    fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> TxResult<Vec<ChatMessage>> {
        self.run(|c| orders::chat_history(c, room, before, limit))
    }

    fn local_day(&self) -> TxResult<Day> {
        today::local_day()
    }
    fn analytics(&self, restaurant: Option<&str>, since: i64) -> TxResult<Analytics> {
        self.run(|c| today::analytics(c, restaurant, since))
    }
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>> {
        self.run(|c| today::speed_samples(c, restaurant, since))
    }

    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>> {
        self.run(|c| kitchen::live_menu(c, restaurant))
    }
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>> {
        self.run(|c| kitchen::unavailable(c, restaurant, now))
    }
    fn has_menu_loads(&self) -> TxResult<bool> {
        self.run(kitchen::has_menu_loads)
    }
    fn next_due(&self) -> TxResult<Option<i64>> {
        self.run(kitchen::next_due)
    }

    fn webhooks(&self) -> TxResult<Vec<Endpoint>> {
        self.run(webhooks::webhooks)
    }
    fn events_after(
        &self,
        after: u64,
        restaurant: Option<&str>,
        limit: u32,
    ) -> TxResult<Vec<LogEvent>> {
        self.run(|c| webhooks::events_after(c, after, restaurant, limit))
    }
    fn hook(&self, name: &str) -> TxResult<Option<Hook>> {
        self.run(|c| webhooks::hook(c, name))
    }
}
