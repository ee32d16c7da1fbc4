//! What the server's reads need of the store: the queries `reads` composes, named for
//! what they mean, each answered from one snapshot of committed data (the backend's read
//! helper opens it, runs the read, and ends it). SQLite's implementation is the plain
//! query functions of `queries`, `kitchen_sql` and the webhooks' queries over a read
//! connection in a read transaction; the `tx` module is the writer's counterpart.

use std::collections::HashMap;

use chit_protocol::{Analytics, ChatMessage, Menu, Order, UnavailableItem};

use super::kitchen_sql;
use super::queries::{self, Day, LogRow, OrderFilter, StoredEvent};
use super::tx::TxResult;
use crate::auth::Principal;
use crate::kitchen::speed::Samples;
use crate::webhooks::queries::{Endpoint, Hook, LogEvent};

/// The reads, in one snapshot.
pub(crate) trait Snapshot {
    // ---- tokens ----
    fn token_is_live(&self, token_id: i64) -> TxResult<bool>;
    /// The live token whose hash is `hash`.
    fn token_by_hash(&self, hash: &str) -> TxResult<Option<Principal>>;
    /// The live token `id`.
    fn token_by_id(&self, id: i64) -> TxResult<Option<Principal>>;
    fn revoked_tokens(&self) -> TxResult<Vec<i64>>;

    // ---- orders and the log ----
    fn get_order(&self, id: i64) -> TxResult<Option<Order>>;
    /// A page of orders as `filter` asks, and whether more are there.
    fn list_orders(&self, filter: &OrderFilter) -> TxResult<(Vec<Order>, bool)>;
    fn count_orders(&self) -> TxResult<u64>;
    fn newest_order_id(&self) -> TxResult<u64>;
    /// The newest committed seq.
    fn head(&self) -> TxResult<u64>;
    /// A number the store keeps about itself (0 if unset): `pruned_through`, `instance`.
    fn meta(&self, key: &str) -> TxResult<u64>;
    /// Events of `room` after `since`, in order, at most `limit`.
    fn events_since(&self, room: &str, since: u64, limit: u32) -> TxResult<Vec<StoredEvent>>;
    /// Every room's rows after `after`, in seq order, at most `limit`.
    fn log_after(&self, after: u64, limit: u32) -> TxResult<Vec<LogRow>>;
    fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> TxResult<Vec<ChatMessage>>;

    // ---- today ----
    /// Today in the server's local time zone.
    fn local_day(&self) -> TxResult<Day>;
    fn analytics(&self, restaurant: Option<&str>, since: i64) -> TxResult<Analytics>;
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>>;

    // ---- the kitchen ----
    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>>;
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>>;
    /// Whether menus loaded beside the server wait for its writer.
    fn has_menu_loads(&self) -> TxResult<bool>;
    /// When the next held order fires or 86 ends (Unix ms).
    fn next_due(&self) -> TxResult<Option<i64>>;

    // ---- webhooks ----
    fn webhooks(&self) -> TxResult<Vec<Endpoint>>;
    /// The events after seq `after` a webhook delivers (only `restaurant`'s, if given).
    fn events_after(
        &self,
        after: u64,
        restaurant: Option<&str>,
        limit: u32,
    ) -> TxResult<Vec<LogEvent>>;
    fn hook(&self, name: &str) -> TxResult<Option<Hook>>;
}

impl Snapshot for rusqlite::Connection {
    fn token_is_live(&self, token_id: i64) -> TxResult<bool> {
        Ok(queries::token_is_live(self, token_id)?)
    }
    fn token_by_hash(&self, hash: &str) -> TxResult<Option<Principal>> {
        Ok(queries::token_by_hash(self, hash)?)
    }
    fn token_by_id(&self, id: i64) -> TxResult<Option<Principal>> {
        Ok(queries::token_by_id(self, id)?)
    }
    fn revoked_tokens(&self) -> TxResult<Vec<i64>> {
        Ok(queries::revoked_tokens(self)?)
    }

    fn get_order(&self, id: i64) -> TxResult<Option<Order>> {
        Ok(queries::get_order(self, id)?)
    }
    fn list_orders(&self, filter: &OrderFilter) -> TxResult<(Vec<Order>, bool)> {
        Ok(queries::list_orders(self, filter)?)
    }
    fn count_orders(&self) -> TxResult<u64> {
        Ok(queries::count_orders(self)?)
    }
    fn newest_order_id(&self) -> TxResult<u64> {
        Ok(queries::newest_order_id(self)?)
    }
    fn head(&self) -> TxResult<u64> {
        Ok(queries::head(self)?)
    }
    fn meta(&self, key: &str) -> TxResult<u64> {
        Ok(queries::meta(self, key)?)
    }
    fn events_since(&self, room: &str, since: u64, limit: u32) -> TxResult<Vec<StoredEvent>> {
        Ok(queries::events_since(self, room, since, limit)?)
    }
    fn log_after(&self, after: u64, limit: u32) -> TxResult<Vec<LogRow>> {
        Ok(queries::log_after(self, after, limit)?)
    }
    fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> TxResult<Vec<ChatMessage>> {
        Ok(queries::chat_history(self, room, before, limit)?)
    }

    fn local_day(&self) -> TxResult<Day> {
        Ok(queries::local_day(self)?)
    }
    fn analytics(&self, restaurant: Option<&str>, since: i64) -> TxResult<Analytics> {
        Ok(queries::analytics(self, restaurant, since)?)
    }
    fn speed_samples(
        &self,
        restaurant: Option<&str>,
        since: i64,
    ) -> TxResult<HashMap<String, Samples>> {
        Ok(kitchen_sql::speed_samples(self, restaurant, since)?)
    }

    fn live_menu(&self, restaurant: &str) -> TxResult<Option<Menu>> {
        Ok(kitchen_sql::live_menu(self, restaurant)?)
    }
    fn unavailable(&self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>> {
        Ok(kitchen_sql::unavailable(self, restaurant, now)?)
    }
    fn has_menu_loads(&self) -> TxResult<bool> {
        Ok(kitchen_sql::has_menu_loads(self)?)
    }
    fn next_due(&self) -> TxResult<Option<i64>> {
        Ok(kitchen_sql::next_due(self)?)
    }

    fn webhooks(&self) -> TxResult<Vec<Endpoint>> {
        Ok(crate::webhooks::queries::webhooks(self)?)
    }
    fn events_after(
        &self,
        after: u64,
        restaurant: Option<&str>,
        limit: u32,
    ) -> TxResult<Vec<LogEvent>> {
        Ok(crate::webhooks::queries::events_after(
            self, after, restaurant, limit,
        )?)
    }
    fn hook(&self, name: &str) -> TxResult<Option<Hook>> {
        Ok(crate::webhooks::queries::hook(self, name)?)
    }
}
