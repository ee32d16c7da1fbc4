//! PostgreSQL's versions of `queries`' orders, keys, numbers, the event log, tokens and
//! chat: the same rows, values, order and JSON text as the SQLite functions of the same
//! names, over any client or transaction. The trait impls that call them are elsewhere.

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use chit_protocol::{ChatMessage, Customer, Item, Order, Priority, Role, Status, format_time};

use crate::auth::Principal;
use crate::store::queries::{ORDER_COLUMNS, OrderFilter, StoredEvent, Times, TokenRow};
use crate::store::tx::{StoreError, TxResult};
use crate::store::validate::ValidOrder;

#[cfg(test)]
mod tests;

fn bad_row(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what}: {e}"))
}

/// An integer column that SQLite reads into a narrower type, refused if out of range
/// as SQLite refuses it.
fn narrow<T: TryFrom<i64>>(value: i64, what: &str) -> TxResult<T> {
    T::try_from(value).map_err(|_| bad_row(what, format!("{value} is out of range")))
}

fn fulfilment_sql(f: chit_protocol::Fulfilment) -> &'static str {
    match f {
        chit_protocol::Fulfilment::Delivery => "delivery",
        chit_protocol::Fulfilment::Pickup => "pickup",
    }
}

fn priority_sql(p: Priority) -> Option<&'static str> {
    (p == Priority::Rush).then_some("rush")
}

/// An order from a row whose first columns are [`ORDER_COLUMNS`].
pub(crate) fn order_from_row(row: &Row) -> TxResult<Order> {
    let fulfilment: &str = row.try_get(8)?;
    let status: &str = row.try_get(9)?;
    let items: &str = row.try_get(14)?;
    Ok(Order {
        id: row.try_get(0)?,
        number: narrow(row.try_get(1)?, "order number")?,
        restaurant: row.try_get(2)?,
        customer: Customer {
            id: row.try_get(3)?,
            name: row.try_get(4)?,
            phone: row.try_get(5)?,
            address: row.try_get(6)?,
        },
        items: serde_json::from_str(items).map_err(|e| bad_row("order items", e))?,
        note: row.try_get(7)?,
        fulfilment: if fulfilment == "pickup" {
            chit_protocol::Fulfilment::Pickup
        } else {
            chit_protocol::Fulfilment::Delivery
        },
        status: status
            .parse()
            .map_err(|e: String| bad_row("order status", e))?,
        rider: row.try_get(10)?,
        total: row.try_get(11)?,
        created_at: format_time(row.try_get(12)?),
        updated_at: format_time(row.try_get(13)?),
        source: row.try_get(15)?,
        priority: match row.try_get::<_, Option<&str>>(16)? {
            Some("rush") => Priority::Rush,
            _ => Priority::Normal,
        },
        due_at: row.try_get::<_, Option<i64>>(17)?.map(format_time),
        fire_at: row.try_get::<_, Option<i64>>(18)?.map(format_time),
        fired_at: row.try_get::<_, Option<i64>>(19)?.map(format_time),
    })
}

// ---- tokens and idempotency ----

pub(crate) fn token_is_live(c: &mut impl GenericClient, token_id: i64) -> TxResult<bool> {
    let row = c.query_opt(
        "SELECT 1 FROM tokens WHERE id = $1 AND revoked_at IS NULL",
        &[&token_id],
    )?;
    Ok(row.is_some())
}

pub(crate) fn find_key(
    c: &mut impl GenericClient,
    restaurant: &str,
    key: &str,
) -> TxResult<Option<i64>> {
    let row = c.query_opt(
        "SELECT order_id FROM idempotency_keys WHERE restaurant = $1 AND key = $2",
        &[&restaurant, &key],
    )?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

pub(crate) fn insert_key(
    c: &mut impl GenericClient,
    restaurant: &str,
    key: &str,
    order_id: i64,
    now: i64,
) -> TxResult<()> {
    c.execute(
        "INSERT INTO idempotency_keys (restaurant, key, order_id, created_at)
         VALUES ($1, $2, $3, $4)",
        &[&restaurant, &key, &order_id, &now],
    )?;
    Ok(())
}

// ---- orders ----

pub(crate) fn get_order(c: &mut impl GenericClient, id: i64) -> TxResult<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    c.query_opt(&sql, &[&id])?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// Stores a new order placed at `now` (Unix ms; `at`, as the protocol writes it), as
/// `queries::insert_order` does.
pub(crate) fn insert_order(
    c: &mut impl GenericClient,
    order: &ValidOrder,
    number: u32,
    items: Vec<Item>,
    times: Option<Times>,
    (now, at): (i64, &str),
) -> TxResult<Order> {
    let o = &order.order;
    let (fire_at, fired_at) = times.map_or((None, None), |t| (Some(t.fire_at), t.fired_at));
    let due_at = times.map(|t| t.due_at);
    let items_json = serde_json::to_string(&items).expect("serializable");
    let row = c.query_one(
        "INSERT INTO orders (number, restaurant, customer_id, customer_name, customer_phone,
            customer_address, note, fulfilment, status, total, created_at, updated_at, items,
            source, priority, due_at, fire_at, fired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $10, $11,
            $12, $13, $14, $15, $16)
         RETURNING id",
        &[
            &i64::from(number),
            &o.restaurant,
            &order.customer_id,
            &o.customer.name,
            &o.customer.phone,
            &o.customer.address,
            &o.note,
            &fulfilment_sql(o.fulfilment),
            &order.total,
            &now,
            &items_json,
            &o.source,
            &priority_sql(o.priority),
            &due_at,
            &fire_at,
            &fired_at,
        ],
    )?;
    Ok(Order {
        id: row.try_get(0)?,
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
        due_at: due_at.map(format_time),
        fire_at: fire_at.map(format_time),
        fired_at: fired_at.map(format_time),
    })
}

/// Writes `order`'s status and rider as they now are in memory.
pub(crate) fn save_order_state(
    c: &mut impl GenericClient,
    order: &Order,
    now: i64,
) -> TxResult<()> {
    c.execute(
        "UPDATE orders SET status = $2::TEXT, rider = $3, updated_at = $4::BIGINT,
            ready_at = CASE WHEN $2::TEXT = 'ready' AND ready_at IS NULL THEN $4::BIGINT
                            ELSE ready_at END
         WHERE id = $1",
        &[&order.id, &order.status.as_str(), &order.rider, &now],
    )?;
    Ok(())
}

/// Writes `order`'s items (their states) as they now are in memory.
pub(crate) fn save_items(c: &mut impl GenericClient, order: &Order, now: i64) -> TxResult<()> {
    let items = serde_json::to_string(&order.items).expect("serializable");
    c.execute(
        "UPDATE orders SET items = $2, updated_at = $3 WHERE id = $1",
        &[&order.id, &items, &now],
    )?;
    Ok(())
}

/// An order's placing and ready times (Unix ms), as stored.
pub(crate) fn order_times(c: &mut impl GenericClient, id: i64) -> TxResult<(i64, Option<i64>)> {
    let row = c.query_one(
        "SELECT created_at, ready_at FROM orders WHERE id = $1",
        &[&id],
    )?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The last short number given to `restaurant` on local day `day` (0 before the first).
pub(crate) fn last_number(
    c: &mut impl GenericClient,
    restaurant: &str,
    day: &str,
) -> TxResult<u32> {
    let row = c.query_opt(
        "SELECT last FROM order_numbers WHERE restaurant = $1 AND day = $2",
        &[&restaurant, &day],
    )?;
    match row {
        Some(r) => narrow(r.try_get(0)?, "order number"),
        None => Ok(0),
    }
}

/// Records `last` as the last short number given to `restaurant` on local day `day`.
pub(crate) fn save_number(
    c: &mut impl GenericClient,
    restaurant: &str,
    day: &str,
    last: u32,
) -> TxResult<()> {
    c.execute(
        "INSERT INTO order_numbers (restaurant, day, last) VALUES ($1, $2, $3)
         ON CONFLICT (restaurant, day) DO UPDATE SET last = excluded.last",
        &[&restaurant, &day, &i64::from(last)],
    )?;
    Ok(())
}

/// Orders matching `filter`, oldest first, at most `limit` of the newest, and whether
/// older ones match too (`queries::list_orders`).
pub(crate) fn list_orders(
    c: &mut impl GenericClient,
    filter: &OrderFilter,
) -> TxResult<(Vec<Order>, bool)> {
    let (sql, args) = list_query(filter);
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    let mut orders = c
        .query(&sql, &params)?
        .iter()
        .map(order_from_row)
        .collect::<TxResult<Vec<Order>>>()?;
    // One more than the limit was read, to know whether there are more.
    let more = orders.len() > filter.limit as usize;
    if more {
        orders.remove(0);
    }
    Ok((orders, more))
}

/// The query [`list_orders`] runs for `filter`, and its arguments: `queries::list_query`
/// with PostgreSQL's placeholders.
fn list_query(filter: &OrderFilter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1");
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    if let Some(r) = &filter.restaurant {
        args.push(Box::new(r.clone()));
        sql += &format!(" AND restaurant = ${}", args.len());
    }
    if let Some(customer) = &filter.customer {
        args.push(Box::new(customer.clone()));
        sql += &format!(" AND customer_id = ${}", args.len());
    }
    if let Some(rider) = &filter.rider_view {
        args.push(Box::new(rider.clone()));
        // The second term is orders_offered's condition, as in SQLite.
        sql += &format!(
            " AND (rider = ${} OR (rider IS NULL AND fulfilment = 'delivery' \
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
        args.push(Box::new(before));
        sql += &format!(" AND id < ${}", args.len());
    }
    args.push(Box::new(i64::from(filter.limit) + 1));
    sql = format!(
        "SELECT * FROM ({sql} ORDER BY id DESC LIMIT ${}) AS page ORDER BY id",
        args.len()
    );
    (sql, args)
}

pub(crate) fn count_orders(c: &mut impl GenericClient) -> TxResult<u64> {
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM orders", &[])?
        .try_get(0)?;
    Ok(n as u64)
}

/// The newest order's id: how many orders were ever placed.
pub(crate) fn newest_order_id(c: &mut impl GenericClient) -> TxResult<u64> {
    let n: i64 = c
        .query_one("SELECT COALESCE(MAX(id), 0) FROM orders", &[])?
        .try_get(0)?;
    Ok(n as u64)
}

// ---- the log ----

/// The first of `n` seqs, taken from `log_head`: its row stays locked until this
/// transaction ends, so seqs follow commit order and a rollback leaves no gap. The
/// writer's own `head` is not needed: other nodes write to the log too.
pub(crate) fn take_seqs(c: &mut impl GenericClient, n: u64, _head: u64) -> TxResult<u64> {
    let n = i64::try_from(n).map_err(|_| StoreError::Backend(format!("{n} seqs at once")))?;
    let last: i64 = c
        .query_one("UPDATE log_head SET seq = seq + $1 RETURNING seq", &[&n])?
        .try_get(0)?;
    Ok((last - n + 1) as u64)
}

/// Appends one event for each of `rooms` in turn from seq `first`, in one statement:
/// the first row holds `data` (and the order, if any), the others hold '' and point at
/// it in `ref` (`queries::insert_event`).
pub(crate) fn insert_event(
    c: &mut impl GenericClient,
    first: u64,
    rooms: &[String],
    kind: &str,
    at: i64,
    data: &str,
    order_id: Option<i64>,
) -> TxResult<()> {
    if rooms.is_empty() {
        return Ok(());
    }
    c.execute(
        "INSERT INTO events (seq, room, kind, at, data, ref, order_id)
         SELECT $1::BIGINT + r.i - 1, r.room, $3::TEXT, $4::BIGINT,
                CASE WHEN r.i = 1 THEN $5::TEXT ELSE '' END,
                CASE WHEN r.i = 1 THEN NULL ELSE $1::BIGINT END,
                CASE WHEN r.i = 1 THEN $6::BIGINT END
         FROM unnest($2::TEXT[]) WITH ORDINALITY AS r (room, i)",
        &[&(first as i64), &rooms, &kind, &at, &data, &order_id],
    )?;
    Ok(())
}

/// The newest seq handed out: the counter, which retention never lowers.
pub(crate) fn head(c: &mut impl GenericClient) -> TxResult<u64> {
    let seq: i64 = c.query_one("SELECT seq FROM log_head", &[])?.try_get(0)?;
    Ok(seq as u64)
}

pub(crate) fn meta(c: &mut impl GenericClient, key: &str) -> TxResult<u64> {
    let row = c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?;
    Ok(match row {
        Some(r) => r.try_get::<_, i64>(0)? as u64,
        None => 0,
    })
}

fn set_meta(c: &mut impl GenericClient, key: &str, value: u64) -> TxResult<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &(value as i64)],
    )?;
    Ok(())
}

/// Events of `room` after `since`, in order, at most `limit` (`queries::events_since`).
pub(crate) fn events_since(
    c: &mut impl GenericClient,
    room: &str,
    since: u64,
    limit: u32,
) -> TxResult<Vec<StoredEvent>> {
    let since = since as i64;
    let limit = i64::from(limit);
    let rows = match replay_key(room) {
        Some(key) => {
            let sql = replay_query(room);
            let key: &(dyn ToSql + Sync) = match &key {
                Key::Customer(id) => id,
                Key::Order(id) => id,
            };
            c.query(&sql, &[&room, &since, &limit, key])?
        }
        None => c.query(&replay_query(room), &[&room, &since, &limit])?,
    };
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                seq: r.try_get::<_, i64>(0)? as u64,
                kind: r.try_get(1)?,
                at: r.try_get(2)?,
                data: r.try_get(3)?,
            })
        })
        .collect()
}

/// What a derived room is replayed through: its customer or its order.
enum Key {
    Customer(String),
    Order(i64),
}

fn replay_key(room: &str) -> Option<Key> {
    if let Some(customer) = room.strip_prefix("customer:") {
        return Some(Key::Customer(customer.to_string()));
    }
    match room.strip_prefix("order:").map(str::parse::<i64>) {
        Some(Ok(id)) => Some(Key::Order(id)),
        _ => None,
    }
}

/// The query [`events_since`] runs for `room` ($1 the room, $2 since, $3 the limit, and
/// for a derived room $4 its [`Key`]): `queries::replay_query`'s. An order's events are
/// stored for its restaurant's room, naming the order; a customer's room is read through
/// the customer's orders, after the rows stored under customer:ID
/// (`customer_rows_through`).
fn replay_query(room: &str) -> String {
    let select = "SELECT e.seq, e.kind, e.at,
            CASE WHEN e.ref IS NULL THEN e.data
                 ELSE COALESCE((SELECT d.data FROM events d WHERE d.seq = e.ref), 'null') END
         FROM events e";
    let stored = format!("{select} WHERE e.room = $1::TEXT AND e.seq > $2::BIGINT");
    match replay_key(room) {
        Some(Key::Customer(_)) => format!(
            "{stored}
             UNION ALL
             SELECT e.seq, e.kind, e.at, e.data FROM orders o CROSS JOIN events e
             WHERE o.customer_id = $4::TEXT AND e.order_id = o.id
               AND e.seq > GREATEST($2::BIGINT, COALESCE(
                   (SELECT value FROM meta WHERE key = 'customer_rows_through'), 0))
             ORDER BY 1 LIMIT $3::BIGINT"
        ),
        Some(Key::Order(_)) => format!(
            "{stored} UNION ALL {select} WHERE e.order_id = $4::BIGINT AND e.seq > $2::BIGINT
             ORDER BY 1 LIMIT $3::BIGINT"
        ),
        None => format!("{stored} ORDER BY e.seq LIMIT $3::BIGINT"),
    }
}

/// Deletes events older than `before` (Unix ms), but none that a webhook endpoint has
/// yet to deliver, and never part of an event's rows; records the newest seq removed
/// (`queries::prune_events`).
pub(crate) fn prune_events(c: &mut impl GenericClient, before: i64) -> TxResult<usize> {
    let newest: Option<i64> = c
        .query_one("SELECT MAX(seq) FROM events WHERE at < $1", &[&before])?
        .try_get(0)?;
    let Some(mut cut) = newest else { return Ok(0) };
    let slowest: Option<i64> = c
        .query_one("SELECT MIN(delivered_seq) FROM webhooks", &[])?
        .try_get(0)?;
    if let Some(cursor) = slowest {
        cut = cut.min(cursor.max(0));
    }
    // An event's rows have consecutive seqs, its data in the first: if the row after
    // the cut points at a row at or before it, the cut moves before that event.
    let split = c.query_opt(
        "SELECT ref FROM events WHERE seq = $1::BIGINT + 1 AND ref <= $1::BIGINT",
        &[&cut],
    )?;
    if let Some(row) = split {
        let first: i64 = row.try_get(0)?;
        cut = first - 1;
    }
    let old = meta(c, "pruned_through")?;
    if cut <= old as i64 {
        return Ok(0);
    }
    let removed = c.execute("DELETE FROM events WHERE seq <= $1", &[&cut])?;
    set_meta(c, "pruned_through", old.max(cut as u64))?;
    Ok(removed as usize)
}

// ---- tokens ----

const TOKEN_COLUMNS: &str = "id, role, restaurant, rider, customer, label, created_at, revoked_at";

fn token_from_row(r: &Row) -> TxResult<TokenRow> {
    let role: &str = r.try_get(1)?;
    Ok(TokenRow {
        principal: Principal {
            token_id: r.try_get(0)?,
            role: role.parse().map_err(|e: String| bad_row("token role", e))?,
            restaurant: r.try_get(2)?,
            rider: r.try_get(3)?,
            customer: r.try_get(4)?,
            label: r.try_get(5)?,
        },
        created_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}

pub(crate) fn insert_token(
    c: &mut impl GenericClient,
    hash: &str,
    p: &Principal,
    now: i64,
) -> TxResult<i64> {
    let row = c.query_one(
        "INSERT INTO tokens (hash, role, restaurant, rider, customer, label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &hash,
            &p.role.as_str(),
            &p.restaurant,
            &p.rider,
            &p.customer,
            &p.label,
            &now,
        ],
    )?;
    Ok(row.try_get(0)?)
}

/// The live token whose column `by` is `value`.
fn live_token(
    c: &mut impl GenericClient,
    by: &str,
    value: &(dyn ToSql + Sync),
) -> TxResult<Option<Principal>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE {by} = $1 AND revoked_at IS NULL");
    c.query_opt(&sql, &[value])?
        .map(|r| token_from_row(&r).map(|t| t.principal))
        .transpose()
}

/// The live (unrevoked) token with this hash.
pub(crate) fn token_by_hash(c: &mut impl GenericClient, hash: &str) -> TxResult<Option<Principal>> {
    live_token(c, "hash", &hash)
}

/// The live (unrevoked) token with this id.
pub(crate) fn token_by_id(c: &mut impl GenericClient, id: i64) -> TxResult<Option<Principal>> {
    live_token(c, "id", &id)
}

pub(crate) fn list_tokens(c: &mut impl GenericClient) -> TxResult<Vec<TokenRow>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
    c.query(&sql, &[])?.iter().map(token_from_row).collect()
}

pub(crate) fn revoke_token(c: &mut impl GenericClient, id: i64, now: i64) -> TxResult<bool> {
    let n = c.execute(
        "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )?;
    Ok(n == 1)
}

pub(crate) fn revoked_tokens(c: &mut impl GenericClient) -> TxResult<Vec<i64>> {
    c.query("SELECT id FROM tokens WHERE revoked_at IS NOT NULL", &[])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

// ---- chat ----

pub(crate) fn insert_chat(c: &mut impl GenericClient, m: &ChatMessage, at: i64) -> TxResult<i64> {
    let row = c.query_one(
        "INSERT INTO chat_messages (room, seq, author, role, text, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &m.room,
            &(m.seq.unwrap_or(0) as i64),
            &m.author,
            &m.role.as_str(),
            &m.text,
            &at,
        ],
    )?;
    Ok(row.try_get(0)?)
}

/// Messages of `room` older than seq `before` (all, if none): the newest `limit` of
/// them, returned oldest first.
pub(crate) fn chat_history(
    c: &mut impl GenericClient,
    room: &str,
    before: Option<u64>,
    limit: u32,
) -> TxResult<Vec<ChatMessage>> {
    let before = before.map(|b| b as i64).unwrap_or(i64::MAX);
    c.query(
        "SELECT * FROM (SELECT id, room, seq, author, role, text, at FROM chat_messages
            WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3) AS page ORDER BY seq",
        &[&room, &before, &i64::from(limit)],
    )?
    .iter()
    .map(|r| {
        let role: &str = r.try_get(4)?;
        Ok(ChatMessage {
            id: r.try_get(0)?,
            room: r.try_get(1)?,
            seq: Some(r.try_get::<_, i64>(2)? as u64),
            author: r.try_get(3)?,
            role: role.parse().unwrap_or(Role::Admin),
            text: r.try_get(5)?,
            at: format_time(r.try_get(6)?),
        })
    })
    .collect()
}
