//! What the order rules need of the transaction a group of changes is written in: the
//! reads and writes they make, named for what they mean, not in any SQL dialect. The
//! rules (`rules`, today's figures, event building) call only this trait, so that one
//! set of rules serves every backend; SQLite's implementation is the plain query
//! functions of `queries` and `kitchen_sql` over the writer's connection.
//!
//! The rules take `&dyn Tx`: a virtual call costs nanoseconds beside a statement's
//! microseconds, and keeps the rules free of type parameters.

use std::collections::HashMap;

use chit_protocol::{ChatMessage, Item, Menu, Order, UnavailableItem};

use super::kitchen_sql::{self, EightySix};
use super::queries::{self, Day, Tally, Times};
use super::validate::ValidOrder;
use crate::kitchen::speed::Samples;
use crate::webhooks::queries::Progress;

/// A storage failure: the whole group's transaction fails, and every change in it is
/// refused with `internal`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's, with the server's own message (its text alone is only the kind).
    #[cfg(feature = "postgres")]
    #[error("{}", super::postgres::explain(.0))]
    Postgres(#[from] ::postgres::Error),
    /// Any other backend's failure, as it described it.
    #[error("{0}")]
    Backend(String),
}

pub type TxResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether this is a collision with another writer's transaction on the same rows
    /// (a serialization failure, a deadlock, a unique key both inserted at once): the
    /// same group, tried again from the start, may well succeed.
    pub fn is_conflict(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) => super::postgres::is_conflict(e),
            _ => false,
        }
    }
}

/// The connection a backend's writer owns: it begins the group transactions, and
/// does the upkeep between them.
pub(crate) trait WriteConn: Send + 'static {
    type Begun<'a>: Begun
    where
        Self: 'a;
    fn begin(&mut self) -> TxResult<Self::Begun<'_>>;
    /// Whether other writers (other servers' nodes) write to the same database, so that
    /// what this writer committed last is not all there is: then it keeps no cache of
    /// rows across groups, and a group that collides with another's is tried again.
    fn shared(&self) -> bool {
        false
    }
    /// Removes the events logged before `before` (Unix ms); how many.
    fn prune_events(&mut self, before: i64) -> TxResult<usize>;
    /// What the writer does last, before it stops.
    fn at_shutdown(&mut self) -> TxResult<()>;
}

/// A group's open transaction.
pub(crate) trait Begun {
    fn tx(&self) -> &dyn Tx;
    fn commit(self) -> TxResult<()>;
}

impl WriteConn for rusqlite::Connection {
    type Begun<'a> = rusqlite::Transaction<'a>;
    fn begin(&mut self) -> TxResult<rusqlite::Transaction<'_>> {
        Ok(self.transaction()?)
    }
    fn prune_events(&mut self, before: i64) -> TxResult<usize> {
        Ok(queries::prune_events(self, before)?)
    }
    fn at_shutdown(&mut self) -> TxResult<()> {
        Ok(self.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?)
    }
}

impl Begun for rusqlite::Transaction<'_> {
    fn tx(&self) -> &dyn Tx {
        &**self
    }
    fn commit(self) -> TxResult<()> {
        Ok(rusqlite::Transaction::commit(self)?)
    }
}

/// The queries the order rules make inside the writer's transaction.
pub(crate) trait Tx {
    /// How many rows this transaction has changed so far (a refused change must not
    /// have moved it).
    fn changes(&self) -> u64;
    /// Whether the backend has ended the transaction by itself (after an error).
    fn aborted(&self) -> bool;
    /// Whether a statement failed by colliding with another writer's transaction (see
    /// [`StoreError::is_conflict`]): the group is then tried again whole.
    fn conflicted(&self) -> bool {
        false
    }

    // ---- tokens and idempotency ----
    fn token_is_live(&self, token_id: i64) -> TxResult<bool>;
    fn find_key(&self, restaurant: &str, key: &str) -> TxResult<Option<i64>>;
    /// Takes `key` for the order this change is about to place, so that no other
    /// writer can take it until this transaction ends; or, if another writer's
    /// committed transaction has it, that order's id. (After `find_key` found nothing;
    /// a writer alone on its database has nothing to do.)
    fn claim_key(&self, restaurant: &str, key: &str, now: i64) -> TxResult<Option<i64>>;
    /// Records the order a key claimed with `claim_key` names.
    fn insert_key(&self, restaurant: &str, key: &str, order_id: i64, now: i64) -> TxResult<()>;

    // ---- orders ----
    fn get_order(&self, id: i64) -> TxResult<Option<Order>>;
    /// Locks the orders `ids` (ascending) until the transaction ends, where other
    /// writers share the database: a group takes its orders' locks in one order, so two
    /// groups on two nodes wait for each other instead of deadlocking.
    fn lock_orders(&self, _ids: &[i64]) -> TxResult<()> {
        Ok(())
    }
    /// Stores a new order placed at `now` (`at`, as the protocol writes it).
    fn insert_order(
        &self,
        order: &ValidOrder,
        number: u32,
        items: Vec<Item>,
        times: Option<Times>,
        now: (i64, &str),
    ) -> TxResult<Order>;
    fn save_order_state(&self, order: &Order, now: i64) -> TxResult<()>;
    fn save_items(&self, order: &Order, now: i64) -> TxResult<()>;
    /// An order's placing and ready times (Unix ms).
    fn order_times(&self, id: i64) -> TxResult<(i64, Option<i64>)>;
    /// The last short number `restaurant` gave on local date `day` (0 if none), its
    /// row locked until the transaction ends where other writers share the database.
    fn last_number(&self, restaurant: &str, day: &str) -> TxResult<u32>;
    fn save_number(&self, restaurant: &str, day: &str, last: u32) -> TxResult<()>;

    // ---- the log and chat ----
    /// The first of `n` seqs for the group's events, taken as the transaction's last
    /// step but writing them: seqs then follow commit order. `head` is the newest seq
    /// the writer committed.
    fn take_seqs(&self, n: u64, head: u64) -> TxResult<u64>;
    /// One event for `rooms`, seqs `first`, `first + 1`, … (the data stored once).
    fn insert_event(
        &self,
        first: u64,
        rooms: &[String],
        kind: &str,
        at: i64,
        data: &str,
        order_id: Option<i64>,
    ) -> TxResult<()>;
    /// Stores a chat message; its id.
    fn insert_chat(&self, message: &ChatMessage, at: i64) -> TxResult<i64>;

    // ---- today ----
    /// The local day `at` (Unix ms) is in.
    fn day_of(&self, at: i64) -> TxResult<Day>;
    fn tally(&self, restaurant: Option<&str>, since: i64) -> TxResult<Tally>;
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>>;

    // ---- the kitchen: held orders, menus, 86 ----
    fn schedule_fire(&self, order_id: i64, fire_at: i64) -> TxResult<()>;
    fn unschedule(&self, order_id: i64) -> TxResult<bool>;
    fn due_fires(&self, now: i64, limit: u32) -> TxResult<Vec<i64>>;
    fn save_fired(&self, order_id: i64, fired_at: i64) -> TxResult<()>;
    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>>;
    fn save_menu(&self, menu: &Menu, loaded_at: i64) -> TxResult<()>;
    /// Every menu loaded beside the server, taken off the list.
    fn take_menu_loads(&self) -> TxResult<Vec<(Menu, i64)>>;
    fn unavailable_keys(
        &self,
        restaurant: &str,
        now: i64,
    ) -> TxResult<HashMap<String, (String, i64)>>;
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>>;
    fn mark_unavailable(&self, e: &EightySix<'_>) -> TxResult<()>;
    fn mark_available(&self, restaurant: &str, key: &str) -> TxResult<bool>;
    /// The 86s ended by `now`, removed: (restaurant, item) each.
    fn take_expired(&self, now: i64) -> TxResult<Vec<(String, String)>>;

    // ---- the server's own changes ----
    fn save_webhook_progress(&self, id: i64, progress: &Progress) -> TxResult<()>;
    /// Writes nothing, with the write lock held (`/healthz`'s probe).
    fn probe(&self) -> TxResult<()>;
}

impl Tx for rusqlite::Connection {
    fn changes(&self) -> u64 {
        self.total_changes()
    }
    fn aborted(&self) -> bool {
        self.is_autocommit()
    }

    fn token_is_live(&self, token_id: i64) -> TxResult<bool> {
        Ok(queries::token_is_live(self, token_id)?)
    }
    fn find_key(&self, restaurant: &str, key: &str) -> TxResult<Option<i64>> {
        Ok(queries::find_key(self, restaurant, key)?)
    }
    fn claim_key(&self, _restaurant: &str, _key: &str, _now: i64) -> TxResult<Option<i64>> {
        // The writer is the only one that stores keys in a SQLite file.
        Ok(None)
    }
    fn insert_key(&self, restaurant: &str, key: &str, order_id: i64, now: i64) -> TxResult<()> {
        Ok(queries::insert_key(self, restaurant, key, order_id, now)?)
    }

    fn get_order(&self, id: i64) -> TxResult<Option<Order>> {
        Ok(queries::get_order(self, id)?)
    }
    fn insert_order(
        &self,
        order: &ValidOrder,
        number: u32,
        items: Vec<Item>,
        times: Option<Times>,
        now: (i64, &str),
    ) -> TxResult<Order> {
        Ok(queries::insert_order(
            self, order, number, items, times, now,
        )?)
    }
    fn save_order_state(&self, order: &Order, now: i64) -> TxResult<()> {
        Ok(queries::save_order_state(self, order, now)?)
    }
    fn save_items(&self, order: &Order, now: i64) -> TxResult<()> {
        Ok(queries::save_items(self, order, now)?)
    }
    fn order_times(&self, id: i64) -> TxResult<(i64, Option<i64>)> {
        Ok(queries::order_times(self, id)?)
    }
    fn last_number(&self, restaurant: &str, day: &str) -> TxResult<u32> {
        Ok(queries::last_number(self, restaurant, day)?)
    }
    fn save_number(&self, restaurant: &str, day: &str, last: u32) -> TxResult<()> {
        Ok(queries::save_number(self, restaurant, day, last)?)
    }

    fn take_seqs(&self, _n: u64, head: u64) -> TxResult<u64> {
        // The writer is the only one that appends to a SQLite file's log.
        Ok(head + 1)
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
        Ok(queries::insert_event(
            self, first, rooms, kind, at, data, order_id,
        )?)
    }
    fn insert_chat(&self, message: &ChatMessage, at: i64) -> TxResult<i64> {
        Ok(queries::insert_chat(self, message, at)?)
    }

    fn day_of(&self, at: i64) -> TxResult<Day> {
        Ok(queries::day_of(self, at)?)
    }
    fn tally(&self, restaurant: Option<&str>, since: i64) -> TxResult<Tally> {
        Ok(queries::tally(self, restaurant, since)?)
    }
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>> {
        Ok(kitchen_sql::speed_samples(self, restaurant, since)?)
    }

    fn schedule_fire(&self, order_id: i64, fire_at: i64) -> TxResult<()> {
        Ok(kitchen_sql::schedule_fire(self, order_id, fire_at)?)
    }
    fn unschedule(&self, order_id: i64) -> TxResult<bool> {
        Ok(kitchen_sql::unschedule(self, order_id)?)
    }
    fn due_fires(&self, now: i64, limit: u32) -> TxResult<Vec<i64>> {
        Ok(kitchen_sql::due_fires(self, now, limit)?)
    }
    fn save_fired(&self, order_id: i64, fired_at: i64) -> TxResult<()> {
        Ok(kitchen_sql::save_fired(self, order_id, fired_at)?)
    }
    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>> {
        Ok(kitchen_sql::live_menu(self, restaurant)?)
    }
    fn save_menu(&self, menu: &Menu, loaded_at: i64) -> TxResult<()> {
        Ok(kitchen_sql::save_menu(self, menu, loaded_at)?)
    }
    fn take_menu_loads(&self) -> TxResult<Vec<(Menu, i64)>> {
        Ok(kitchen_sql::take_menu_loads(self)?)
    }
    fn unavailable_keys(
        &self,
        restaurant: &str,
        now: i64,
    ) -> TxResult<HashMap<String, (String, i64)>> {
        Ok(kitchen_sql::unavailable_keys(self, restaurant, now)?)
    }
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>> {
        Ok(kitchen_sql::unavailable(self, restaurant, now)?)
    }
    fn mark_unavailable(&self, e: &EightySix<'_>) -> TxResult<()> {
        Ok(kitchen_sql::mark_unavailable(self, e)?)
    }
    fn mark_available(&self, restaurant: &str, key: &str) -> TxResult<bool> {
        Ok(kitchen_sql::mark_available(self, restaurant, key)?)
    }
    fn take_expired(&self, now: i64) -> TxResult<Vec<(String, String)>> {
        Ok(kitchen_sql::take_expired(self, now)?)
    }

    fn save_webhook_progress(&self, id: i64, progress: &Progress) -> TxResult<()> {
        Ok(crate::webhooks::queries::save_progress(self, id, progress)?)
    }
    fn probe(&self) -> TxResult<()> {
        Ok(self.execute_batch("DELETE FROM meta WHERE 0")?)
    }
}
