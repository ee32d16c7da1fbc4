//! Plain SQL functions over a `Connection`: orders, items, the event log, tokens, chat,
//! figures. They know nothing of threads or sessions, so tests run them in memory.

use chit_protocol::{
    Analytics, ChatMessage, Customer, Fulfilment, Item, Order, Priority, Role, Status, format_time,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::auth::Principal;
use crate::store::validate::ValidOrder;

fn status_from_sql(text: &str) -> rusqlite::Result<Status> {
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn fulfilment_sql(f: Fulfilment) -> &'static str {
    match f {
        Fulfilment::Delivery => "delivery",
        Fulfilment::Pickup => "pickup",
    }
}

pub(crate) const ORDER_COLUMNS: &str = "id, number, restaurant, customer_id, customer_name, customer_phone, \
     customer_address, note, fulfilment, status, rider, total, created_at, updated_at, items, \
     source, priority, due_at, fire_at, fired_at";
/// How many columns [`ORDER_COLUMNS`] names (a query's own columns come after them).
pub(crate) const ORDER_COLUMN_COUNT: usize = 20;

fn priority_sql(p: Priority) -> Option<&'static str> {
    (p == Priority::Rush).then_some("rush")
}

pub(crate) fn order_from_row(row: &Row<'_>) -> rusqlite::Result<Order> {
    let fulfilment: String = row.get(8)?;
    let status: String = row.get(9)?;
    let items: String = row.get(14)?;
    let items = serde_json::from_str(&items).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(Order {
        id: row.get(0)?,
        number: row.get(1)?,
        restaurant: row.get(2)?,
        customer: Customer {
            id: row.get(3)?,
            name: row.get(4)?,
            phone: row.get(5)?,
            address: row.get(6)?,
        },
        items,
        note: row.get(7)?,
        fulfilment: if fulfilment == "pickup" {
            Fulfilment::Pickup
        } else {
            Fulfilment::Delivery
        },
        status: status_from_sql(&status)?,
        rider: row.get(10)?,
        total: row.get(11)?,
        created_at: format_time(row.get(12)?),
        updated_at: format_time(row.get(13)?),
        source: row.get(15)?,
        priority: match row.get_ref(16)?.as_str_or_null()? {
            Some("rush") => Priority::Rush,
            _ => Priority::Normal,
        },
        due_at: row.get::<_, Option<i64>>(17)?.map(format_time),
        fire_at: row.get::<_, Option<i64>>(18)?.map(format_time),
        fired_at: row.get::<_, Option<i64>>(19)?.map(format_time),
    })
}

pub fn get_order(conn: &Connection, id: i64) -> rusqlite::Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_row([id], order_from_row).optional()
}

/// The last short number given to `restaurant` on local day `day` (0 before the first).
pub fn last_number(conn: &Connection, restaurant: &str, day: &str) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT last FROM order_numbers WHERE restaurant = ?1 AND day = ?2")?
        .query_row(params![restaurant, day], |r| r.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// Records `last` as the last short number given to `restaurant` on local day `day`.
pub fn save_number(
    conn: &Connection,
    restaurant: &str,
    day: &str,
    last: u32,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO order_numbers (restaurant, day, last) VALUES (?1, ?2, ?3)
         ON CONFLICT (restaurant, day) DO UPDATE SET last = excluded.last",
    )?
    .execute(params![restaurant, day, last])?;
    Ok(())
}

/// When an order placed for later is due, when it fires (or fired), Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    pub due_at: i64,
    pub fire_at: i64,
    pub fired_at: Option<i64>,
}

/// Stores a new order placed at `now` (Unix ms; `at`, as the protocol writes it) with
/// `items` as the writer routed them, and its [`Times`] if it was placed for later.
pub fn insert_order(
    conn: &Connection,
    order: &ValidOrder,
    number: u32,
    items: Vec<Item>,
    times: Option<Times>,
    (now, at): (i64, &str),
) -> rusqlite::Result<Order> {
    let o = &order.order;
    let (fire_at, fired_at) = times.map_or((None, None), |t| (Some(t.fire_at), t.fired_at));
    let due_at = times.map(|t| t.due_at);
    conn.prepare_cached(
        "INSERT INTO orders (number, restaurant, customer_id, customer_name, customer_phone,
            customer_address, note, fulfilment, status, total, created_at, updated_at, items,
            source, priority, due_at, fire_at, fired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?10, ?10, ?11,
            ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        number,
        o.restaurant,
        order.customer_id,
        o.customer.name,
        o.customer.phone,
        o.customer.address,
        o.note,
        fulfilment_sql(o.fulfilment),
        order.total,
        now,
        serde_json::to_string(&items).expect("serializable"),
        o.source,
        priority_sql(o.priority),
        due_at,
        fire_at,
        fired_at,
    ])?;
    Ok(placed(
        order,
        conn.last_insert_rowid(),
        number,
        items,
        times,
        at,
    ))
}

/// A new order as `insert_order` stored it (given the id the database gave it): what
/// every backend answers with.
pub(crate) fn placed(
    order: &ValidOrder,
    id: i64,
    number: u32,
    items: Vec<Item>,
    times: Option<Times>,
    at: &str,
) -> Order {
    let o = &order.order;
    Order {
        id,
        number,
        restaurant: o.restaurant.clone(),
        customer: Customer {
            id: order.customer_id.clone(),
            name: o.customer.name.clone(),
            phone: o.customer.phone.clone(),
            address: o.customer.address.clone(),
        },
        items,
        total: order.total,
        note: o.note.clone(),
        fulfilment: o.fulfilment,
        status: Status::Pending,
        rider: None,
        created_at: at.to_string(),
        updated_at: at.to_string(),
        source: o.source.clone(),
        priority: o.priority,
        due_at: times.map(|t| format_time(t.due_at)),
        fire_at: times.map(|t| format_time(t.fire_at)),
        fired_at: times.and_then(|t| t.fired_at).map(format_time),
    }
}

/// The items of an order placed for now, as given (a restaurant without a menu routes
/// nothing).
pub fn plain_items(order: &ValidOrder) -> Vec<Item> {
    order
        .order
        .items
        .iter()
        .map(|i| Item {
            name: i.name.clone(),
            qty: i.qty,
            unit_price: i.unit_price,
            note: i.note.clone(),
            category: i.category.clone(),
            ..Default::default()
        })
        .collect()
}

/// Writes `order`'s status and rider as they now are in memory.
pub fn save_order_state(conn: &Connection, order: &Order, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE orders SET status = ?2, rider = ?3, updated_at = ?4,
            ready_at = CASE WHEN ?2 = 'ready' AND ready_at IS NULL THEN ?4 ELSE ready_at END
         WHERE id = ?1",
    )?
    .execute(params![order.id, order.status.as_str(), order.rider, now])?;
    Ok(())
}

/// Writes `order`'s items (their states) as they now are in memory.
pub fn save_items(conn: &Connection, order: &Order, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE orders SET items = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![
            order.id,
            serde_json::to_string(&order.items).expect("serializable"),
            now
        ])?;
    Ok(())
}

pub fn find_key(conn: &Connection, restaurant: &str, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT order_id FROM idempotency_keys WHERE restaurant = ?1 AND key = ?2")?
        .query_row(params![restaurant, key], |r| r.get(0))
        .optional()
}

pub fn insert_key(
    conn: &Connection,
    restaurant: &str,
    key: &str,
    order_id: i64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (restaurant, key, order_id, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![restaurant, key, order_id, now])?;
    Ok(())
}

/// What `list_orders` asks for; the caller has already narrowed it to what the
/// principal may see.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub restaurant: Option<String>,
    pub statuses: Vec<Status>,
    pub customer: Option<String>,
    /// Riders see their own orders and open offers.
    pub rider_view: Option<String>,
    pub limit: u32,
    /// Only orders older than this one (the cursor of a later page).
    pub before: Option<i64>,
}

/// Orders matching `filter`, oldest first (the order a kitchen works them), at most
/// `limit` of the newest, and whether older ones match too.
pub fn list_orders(
    conn: &Connection,
    filter: &OrderFilter,
) -> rusqlite::Result<(Vec<Order>, bool)> {
    let (sql, args) = list_query(filter);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut orders: Vec<Order> = stmt
        .query_map(rusqlite::params_from_iter(args), order_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    // One more than the limit was read, to know whether there are more.
    let more = orders.len() > filter.limit as usize;
    if more {
        orders.remove(0);
    }
    Ok((orders, more))
}

/// The query [`list_orders`] runs for `filter`, and its arguments.
fn list_query(filter: &OrderFilter) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(r) = &filter.restaurant {
        args.push(r.clone().into());
        sql += &format!(" AND restaurant = ?{}", args.len());
    }
    if let Some(c) = &filter.customer {
        args.push(c.clone().into());
        sql += &format!(" AND customer_id = ?{}", args.len());
    }
    if let Some(rider) = &filter.rider_view {
        args.push(rider.clone().into());
        // The second term is orders_offered's condition, word for word, so that SQLite
        // reads the offers from that index.
        sql += &format!(
            " AND (rider = ?{} OR (rider IS NULL AND fulfilment = 'delivery' \
             AND status IN ('preparing', 'ready')))",
            args.len()
        );
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql += &format!(" AND status IN ({})", list.join(", "));
    }
    if let Some(before) = filter.before {
        args.push(before.into());
        sql += &format!(" AND id < ?{}", args.len());
    }
    args.push((i64::from(filter.limit) + 1).into());
    sql = format!(
        "SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?{}) ORDER BY id",
        args.len()
    );
    (sql, args)
}

/// Appends one event to the log, for each of `rooms` in turn from seq `first`: the
/// first row holds `data` (and the order it is about, if any), the others point at it.
pub fn insert_event(
    conn: &Connection,
    first: u64,
    rooms: &[String],
    kind: &str,
    at: i64,
    data: &str,
    order_id: Option<i64>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (seq, room, kind, at, data, ref, order_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, room) in rooms.iter().enumerate() {
        let seq = (first + i as u64) as i64;
        if i == 0 {
            stmt.execute(params![seq, room, kind, at, data, None::<i64>, order_id])?;
        } else {
            stmt.execute(params![seq, room, kind, at, "", first as i64, None::<i64>])?;
        }
    }
    Ok(())
}

/// A stored event, as read back for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub kind: String,
    pub at: i64,
    pub data: String,
}

/// Events of `room` after `since`, in order, at most `limit`.
pub fn events_since(
    conn: &Connection,
    room: &str,
    since: u64,
    limit: u32,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let (sql, key) = replay_query(room);
    conn.prepare_cached(&sql)?
        .query_map(params![room, since as i64, limit, key], |r| {
            Ok(StoredEvent {
                seq: r.get::<_, i64>(0)? as u64,
                kind: r.get(1)?,
                at: r.get(2)?,
                data: r.get(3)?,
            })
        })?
        .collect()
}

/// One row of the log as [`log_after`] reads it: an event's row for one room, with its
/// data (a rider's row points at its restaurant row's), and for an order's restaurant
/// row the order and its customer, whose rooms were sent the same seq.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub seq: u64,
    pub room: String,
    pub kind: String,
    pub at: i64,
    pub data: String,
    pub order: Option<(i64, String)>,
}

/// The query [`log_after`] runs: every row after $1/?1, in seq order, at most $2/?2
/// (the same text on both backends: both take `$n`).
pub(crate) const LOG_AFTER: &str = "SELECT e.seq, e.room, e.kind, e.at,
        CASE WHEN e.ref IS NULL THEN e.data ELSE COALESCE(d.data, 'null') END,
        o.id, o.customer_id
     FROM events e
     LEFT JOIN events d ON d.seq = e.ref
     LEFT JOIN orders o ON o.id = e.order_id AND e.ref IS NULL
     WHERE e.seq > $1 ORDER BY e.seq LIMIT $2";

/// The log's rows after `after`, every room's, at most `limit`: what a node that
/// follows the log delivers (see `events::published`).
pub fn log_after(conn: &Connection, after: u64, limit: u32) -> rusqlite::Result<Vec<LogRow>> {
    conn.prepare_cached(LOG_AFTER)?
        .query_map(params![after as i64, limit], |r| {
            let order = match (r.get::<_, Option<i64>>(5)?, r.get::<_, Option<String>>(6)?) {
                (Some(id), Some(customer)) => Some((id, customer)),
                _ => None,
            };
            Ok(LogRow {
                seq: r.get::<_, i64>(0)? as u64,
                room: r.get(1)?,
                kind: r.get(2)?,
                at: r.get(3)?,
                data: r.get(4)?,
                order,
            })
        })?
        .collect()
}

/// The query [`events_since`] runs for `room` (?1 the room, ?2 since, ?3 the limit),
/// and its fourth argument: the order or the customer the room is derived from.
fn replay_query(room: &str) -> (String, rusqlite::types::Value) {
    let select = "SELECT e.seq, e.kind, e.at,
            CASE WHEN e.ref IS NULL THEN e.data
                 ELSE COALESCE((SELECT d.data FROM events d WHERE d.seq = e.ref), 'null') END
         FROM events e";
    let stored = format!("{select} WHERE e.room = ?1 AND e.seq > ?2");
    // An order's events are stored for its restaurant's room, naming the order; what is
    // stored under order:ID itself (its chat, older events) names no order. A customer's
    // room is read the same way through the customer's orders; rows stored under
    // customer:ID (up to `customer_rows_through`, when they stopped) are read as stored.
    if let Some(customer) = room.strip_prefix("customer:") {
        let sql = format!(
            "{stored}
             UNION ALL
             SELECT e.seq, e.kind, e.at, e.data FROM orders o CROSS JOIN events e
             WHERE o.customer_id = ?4 AND e.order_id = o.id
               AND e.seq > MAX(?2, COALESCE(
                   (SELECT value FROM meta WHERE key = 'customer_rows_through'), 0))
             ORDER BY 1 LIMIT ?3"
        );
        return (sql, customer.to_string().into());
    }
    match room.strip_prefix("order:").map(str::parse::<i64>) {
        Some(Ok(id)) => (
            format!(
                "{stored} UNION ALL {select} WHERE e.order_id = ?4 AND e.seq > ?2
                 ORDER BY 1 LIMIT ?3"
            ),
            id.into(),
        ),
        // `?4 IS NULL` only takes the fourth argument every replay binds.
        _ => (
            format!("{stored} AND ?4 IS NULL ORDER BY e.seq LIMIT ?3"),
            rusqlite::types::Value::Null,
        ),
    }
}

pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get::<_, i64>(0))
        .optional()
        .map(|v| v.unwrap_or(0) as u64)
}

pub fn set_meta(conn: &Connection, key: &str, value: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value as i64])?;
    Ok(())
}

/// The newest seq ever written, surviving retention.
pub fn head(conn: &Connection) -> rusqlite::Result<u64> {
    let max: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")?
        .query_row([], |r| r.get(0))?;
    Ok((max as u64).max(meta(conn, "pruned_through")?))
}

/// Deletes events older than `before` (Unix ms), but none that a webhook endpoint has
/// yet to deliver, and never part of an event's rows; records the newest seq removed.
pub fn prune_events(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM events WHERE at < ?1", [before], |r| {
            r.get(0)
        })?;
    let Some(mut cut) = newest else { return Ok(0) };
    if let Some(cursor) = crate::webhooks::queries::slowest_cursor(conn)? {
        cut = cut.min(cursor as i64);
    }
    // An event's rows have consecutive seqs, its data in the first: if the row after
    // the cut points at a row at or before it, the cut moves before that event.
    let split: Option<i64> = conn
        .query_row(
            "SELECT ref FROM events WHERE seq = ?1 + 1 AND ref <= ?1",
            [cut],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(first) = split {
        cut = first - 1;
    }
    let old = meta(conn, "pruned_through")?;
    if cut <= old as i64 {
        return Ok(0);
    }
    let removed = conn.execute("DELETE FROM events WHERE seq <= ?1", [cut])?;
    set_meta(conn, "pruned_through", old.max(cut as u64))?;
    Ok(removed)
}

// ---- tokens ----

pub struct TokenRow {
    pub principal: Principal,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

fn principal_from_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let role: String = r.get(1)?;
    Ok(TokenRow {
        principal: Principal {
            token_id: r.get(0)?,
            role: role.parse().map_err(|e: String| {
                rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
            })?,
            restaurant: r.get(2)?,
            rider: r.get(3)?,
            customer: r.get(4)?,
            label: r.get(5)?,
        },
        created_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

const TOKEN_COLUMNS: &str = "id, role, restaurant, rider, customer, label, created_at, revoked_at";

pub fn insert_token(
    conn: &Connection,
    hash: &str,
    p: &Principal,
    now: i64,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO tokens (hash, role, restaurant, rider, customer, label, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            hash,
            p.role.as_str(),
            p.restaurant,
            p.rider,
            p.customer,
            p.label,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The live (unrevoked) token with this hash.
pub fn token_by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<Principal>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND revoked_at IS NULL");
    conn.prepare_cached(&sql)?
        .query_row([hash], principal_from_row)
        .optional()
        .map(|t| t.map(|t| t.principal))
}

/// The live (unrevoked) token with this id.
pub fn token_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Principal>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1 AND revoked_at IS NULL");
    conn.prepare_cached(&sql)?
        .query_row([id], principal_from_row)
        .optional()
        .map(|t| t.map(|t| t.principal))
}

pub fn token_is_live(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM tokens WHERE id = ?1 AND revoked_at IS NULL")?
        .exists([id])
}

pub fn list_tokens(conn: &Connection) -> rusqlite::Result<Vec<TokenRow>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
    conn.prepare(&sql)?
        .query_map([], principal_from_row)?
        .collect()
}

pub fn revoke_token(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(n == 1)
}

pub fn revoked_tokens(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached("SELECT id FROM tokens WHERE revoked_at IS NOT NULL")?
        .query_map([], |r| r.get(0))?
        .collect()
}

// ---- chat ----

pub fn insert_chat(conn: &Connection, m: &ChatMessage, at: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO chat_messages (room, seq, author, role, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        m.room,
        m.seq.unwrap_or(0) as i64,
        m.author,
        m.role.as_str(),
        m.text,
        at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Messages of `room` older than seq `before` (all, if none): the newest `limit` of
/// them, returned oldest first.
pub fn chat_history(
    conn: &Connection,
    room: &str,
    before: Option<u64>,
    limit: u32,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (SELECT id, room, seq, author, role, text, at FROM chat_messages
            WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
    )?;
    let before = before.map(|b| b as i64).unwrap_or(i64::MAX);
    stmt.query_map(params![room, before, limit], |r| {
        let role: String = r.get(4)?;
        Ok(ChatMessage {
            id: r.get(0)?,
            room: r.get(1)?,
            seq: Some(r.get::<_, i64>(2)? as u64),
            author: r.get(3)?,
            role: role.parse().unwrap_or(Role::Admin),
            text: r.get(5)?,
            at: format_time(r.get(6)?),
        })
    })?
    .collect()
}

// ---- figures ----

/// Today's figures (from `since`, Unix ms) for one restaurant or all.
pub fn analytics(
    conn: &Connection,
    restaurant: Option<&str>,
    since: i64,
) -> rusqlite::Result<Analytics> {
    Ok(tally(conn, restaurant, since)?.analytics(restaurant))
}

/// The sums today's figures are made of, kept up to date by the writer as orders change
/// (so that figures sent after each change need no query over the day's orders).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub orders: i64,
    pub revenue: i64,
    pub pending: i64,
    pub open: i64,
    pub cancelled: i64,
    /// Milliseconds from placed to ready, summed over the orders that got there, and
    /// how many did.
    pub ready_ms: i64,
    pub ready: i64,
}

/// What one order adds to its day's [`Tally`].
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub total: i64,
    pub status: Status,
    pub created_at: i64,
    pub ready_at: Option<i64>,
}

impl Tally {
    /// Adds (`sign` 1) or takes away (`sign` -1) one order's share.
    pub fn count(&mut self, share: &Share, sign: i64) {
        let ready_ms = share.ready_at.map_or(0, |at| at - share.created_at);
        let ready = i64::from(share.ready_at.is_some());
        self.add(
            share.status,
            sign,
            sign * share.total,
            sign * ready_ms,
            sign * ready,
        );
    }

    /// Adds `orders` orders in `status`, worth `total` together, of which `ready` got
    /// to ready, `ready_ms` from placed to ready in all.
    pub(crate) fn add(
        &mut self,
        status: Status,
        orders: i64,
        total: i64,
        ready_ms: i64,
        ready: i64,
    ) {
        let gone = matches!(status, Status::Cancelled | Status::Rejected);
        self.orders += orders;
        self.revenue += if gone { 0 } else { total };
        self.pending += if status == Status::Pending { orders } else { 0 };
        self.open += if status.is_terminal() { 0 } else { orders };
        self.cancelled += if gone { orders } else { 0 };
        self.ready_ms += ready_ms;
        self.ready += ready;
    }

    pub fn analytics(&self, restaurant: Option<&str>) -> Analytics {
        let whole = |n: i64| n.max(0) as u64;
        Analytics {
            restaurant: restaurant.map(str::to_string),
            total_orders: whole(self.orders),
            total_revenue: self.revenue,
            pending_orders: whole(self.pending),
            open_orders: whole(self.open),
            cancelled_orders: whole(self.cancelled),
            avg_ready_minutes: (self.ready > 0).then(|| {
                let minutes = self.ready_ms as f64 / self.ready as f64 / 60000.0;
                (minutes * 10.0).round() / 10.0
            }),
            speed: Default::default(),
        }
    }
}

/// Today's [`Tally`] (orders placed from `since`, Unix ms) for one restaurant or all:
/// the day's orders summed by status, then counted as [`Tally::count`] counts them.
pub fn tally(conn: &Connection, restaurant: Option<&str>, since: i64) -> rusqlite::Result<Tally> {
    let mut stmt = conn.prepare_cached(&tally_query(restaurant.is_some()))?;
    let mut rows = stmt.query(params![restaurant, since])?;
    let mut tally = Tally::default();
    while let Some(r) = rows.next()? {
        let status: String = r.get(0)?;
        tally.add(
            status_from_sql(&status)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        );
    }
    Ok(tally)
}

/// The query [`tally`] runs (?1 the restaurant or NULL, ?2 the start of the day). For
/// one restaurant it reads orders_by_restaurant (restaurant, status, created_at): for
/// each status in turn, the orders placed since the start of the day.
fn tally_query(one_restaurant: bool) -> String {
    let filter = if one_restaurant {
        let statuses: Vec<String> = Status::ALL
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("restaurant = ?1 AND status IN ({})", statuses.join(", "))
    } else {
        "?1 IS NULL".to_string()
    };
    format!(
        "SELECT status, COUNT(*), COALESCE(SUM(total), 0),
                COALESCE(SUM(ready_at - created_at), 0), COUNT(ready_at)
         FROM orders WHERE {filter} AND created_at >= ?2 GROUP BY status"
    )
}

/// An order's placing and ready times (Unix ms), as stored.
pub fn order_times(conn: &Connection, id: i64) -> rusqlite::Result<(i64, Option<i64>)> {
    conn.prepare_cached("SELECT created_at, ready_at FROM orders WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// A local day: when it starts and when the next one does (Unix ms), and its date.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub start: i64,
    pub end: i64,
    pub date: String,
}

impl Day {
    pub fn contains(&self, at: i64) -> bool {
        (self.start..self.end).contains(&at)
    }
}

/// Today in the server's local time zone.
pub fn local_day(conn: &Connection) -> rusqlite::Result<Day> {
    day_of(conn, chit_protocol::now_ms())
}

/// The local day that `at` (Unix ms) is in.
pub fn day_of(conn: &Connection, at: i64) -> rusqlite::Result<Day> {
    conn.prepare_cached(
        "SELECT unixepoch(?1 / 1000, 'unixepoch', 'localtime', 'start of day', 'utc') * 1000,
                unixepoch(?1 / 1000, 'unixepoch', 'localtime', 'start of day', '+1 day', 'utc')
                    * 1000,
                date(?1 / 1000, 'unixepoch', 'localtime')",
    )?
    .query_row([at], |r| {
        Ok(Day {
            start: r.get(0)?,
            end: r.get(1)?,
            date: r.get(2)?,
        })
    })
}

/// The newest order's id: how many orders were ever placed (ids only grow, and orders
/// are never deleted), read from the end of the table rather than counted.
pub fn newest_order_id(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM orders", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

pub fn count_orders(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `sql` with `args`, one step a line.
    fn plan(sql: &str, args: Vec<rusqlite::types::Value>) -> Vec<String> {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Whether a plan reads a whole table or index (a subquery's own rows aside).
    fn scans(plan: &[String]) -> bool {
        plan.iter()
            .any(|step| step.starts_with("SCAN ") && !step.starts_with("SCAN (subquery"))
    }

    #[test]
    fn a_day_holds_its_own_times_and_the_next_starts_where_it_ends() {
        let conn = Connection::open_in_memory().unwrap();
        let at = 1_795_000_000_000; // 2026-11-18, mid-afternoon UTC
        let day = day_of(&conn, at).unwrap();
        assert!(day.contains(at) && day.contains(day.start) && !day.contains(day.end));
        let hours = (day.end - day.start) / 3_600_000;
        assert!((23..=25).contains(&hours), "{day:?}");
        let next = day_of(&conn, day.end).unwrap();
        assert_eq!(next.start, day.end);
        assert_ne!(next.date, day.date);
        assert_eq!(day_of(&conn, day.end - 1).unwrap(), day);
    }

    #[test]
    fn lists_replays_and_a_restaurants_figures_read_by_index_not_by_scan() {
        let filter = |f: OrderFilter| OrderFilter { limit: 50, ..f };
        let lists = [
            // A kitchen's open orders, a restaurant's latest, a customer's, a rider's.
            filter(OrderFilter {
                restaurant: Some("r1".into()),
                statuses: vec![Status::Pending, Status::Confirmed, Status::Preparing],
                ..Default::default()
            }),
            filter(OrderFilter {
                restaurant: Some("r1".into()),
                ..Default::default()
            }),
            filter(OrderFilter {
                customer: Some("c1".into()),
                ..Default::default()
            }),
            filter(OrderFilter {
                rider_view: Some("sam".into()),
                ..Default::default()
            }),
            // A later page of a restaurant's orders.
            filter(OrderFilter {
                restaurant: Some("r1".into()),
                before: Some(120),
                ..Default::default()
            }),
        ];
        for f in &lists {
            let (sql, args) = list_query(f);
            let plan = plan(&sql, args);
            assert!(!scans(&plan), "{f:?} scans: {plan:#?}");
        }
        let (sql, args) = list_query(&lists[3]);
        let rider = plan(&sql, args);
        assert!(
            rider.iter().any(|step| step.contains("orders_offered")),
            "a rider's offers come from orders_offered: {rider:#?}"
        );
        for room in [
            "restaurant:r1",
            "customer:c1",
            "order:7",
            "riders",
            "chat:staff",
        ] {
            let (sql, key) = replay_query(room);
            let args = vec![room.to_string().into(), 0.into(), 10.into(), key];
            let plan = plan(&sql, args);
            assert!(!scans(&plan), "replaying {room} scans: {plan:#?}");
        }
        let one = plan(&tally_query(true), vec!["r1".to_string().into(), 0.into()]);
        assert!(!scans(&one), "a restaurant's figures scan: {one:#?}");
        // Every restaurant's figures (an admin's stats) do read all orders: the check
        // sees a scan when there is one.
        let all = plan(
            &tally_query(false),
            vec![rusqlite::types::Value::Null, 0.into()],
        );
        assert!(scans(&all), "{all:#?}");
    }

    #[test]
    fn retention_keeps_what_a_webhook_has_yet_to_deliver_and_never_half_an_event() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        let rooms = |r: &str| vec![format!("restaurant:{r}"), "riders".to_string()];
        // Ten events of two rows each (seqs 1-20), an hour apart.
        for i in 0..10u64 {
            let at = i as i64 * 3_600_000;
            insert_event(
                &conn,
                1 + 2 * i,
                &rooms("r1"),
                "new_order",
                at,
                "{}",
                Some(1),
            )
            .unwrap();
        }
        let remaining = |conn: &Connection| -> i64 {
            conn.query_row("SELECT MIN(seq) FROM events", [], |r| r.get(0))
                .unwrap()
        };
        // An endpoint that has delivered through seq 8 (the first row of seq 7's event is
        // 7, its second 8); one behind, through seq 5, the middle of an event (5, 6).
        let ahead = crate::webhooks::queries::insert_webhook(&conn, "http://a", "s", None, None, 0)
            .unwrap();
        let behind =
            crate::webhooks::queries::insert_webhook(&conn, "http://b", "s", None, None, 0)
                .unwrap();
        let at = |seq| crate::webhooks::queries::Progress {
            delivered_seq: seq,
            ..Default::default()
        };
        crate::webhooks::queries::save_progress(&conn, ahead, &at(8)).unwrap();
        crate::webhooks::queries::save_progress(&conn, behind, &at(5)).unwrap();
        // Everything older than the 8th hour is due for removal (seqs 1-16)...
        prune_events(&conn, 8 * 3_600_000).unwrap();
        // ...but the slow endpoint needs seq 6 on, and seq 5's event is kept whole.
        assert_eq!(remaining(&conn), 5);
        assert_eq!(meta(&conn, "pruned_through").unwrap(), 4);
        crate::webhooks::queries::remove_webhook(&conn, behind).unwrap();
        prune_events(&conn, 8 * 3_600_000).unwrap();
        assert_eq!(remaining(&conn), 9, "now up to the other endpoint's cursor");
        crate::webhooks::queries::remove_webhook(&conn, ahead).unwrap();
        prune_events(&conn, 8 * 3_600_000).unwrap();
        assert_eq!(remaining(&conn), 17, "with no endpoint, by age alone");
        assert_eq!(head(&conn).unwrap(), 20);
    }
}
