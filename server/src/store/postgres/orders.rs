//! PostgreSQL's versions of `queries`' orders, keys and numbers, and (in `log` and
//! `tokens`, re-exported here) the event log, chat and tokens: the same rows, values,
//! order and JSON text as the SQLite functions of the same names, over any client or
//! transaction. The trait impls that call them are elsewhere.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chit_protocol::{Customer, Item, Order, Priority, format_time};

use crate::store::postgres::db::Db;
use crate::store::queries::{self, ORDER_COLUMNS, OrderFilter, Times};
use crate::store::tx::{StoreError, TxResult};
use crate::store::validate::ValidOrder;

mod log;
#[cfg(test)]
mod tests;
mod tokens;

pub(crate) use log::*;
pub(crate) use tokens::*;

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

// ---- idempotency keys ----

pub(crate) fn find_key(c: &mut impl Db, restaurant: &str, key: &str) -> TxResult<Option<i64>> {
    let row = c.query_opt(
        "SELECT order_id FROM idempotency_keys WHERE restaurant = $1 AND key = $2",
        &[&restaurant, &key],
    )?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Takes `key` for an order about to be placed (its row names order 0 until
/// [`insert_key`] names the order), or, if another transaction has it, that order's id:
/// a transaction that inserts the same key meanwhile is waited for, and if it commits,
/// its key stands and this one inserts nothing. Nothing fails with a unique violation.
pub(crate) fn claim_key(
    c: &mut impl Db,
    restaurant: &str,
    key: &str,
    now: i64,
) -> TxResult<Option<i64>> {
    let claimed = c.query_opt(
        "INSERT INTO idempotency_keys (restaurant, key, order_id, created_at)
         VALUES ($1, $2, 0, $3)
         ON CONFLICT (restaurant, key) DO NOTHING
         RETURNING order_id",
        &[&restaurant, &key, &now],
    )?;
    if claimed.is_some() {
        return Ok(None);
    }
    // Read committed: this statement sees the row the other transaction committed.
    match find_key(c, restaurant, key)? {
        Some(id) => Ok(Some(id)),
        None => Err(StoreError::Backend(format!(
            "idempotency key '{key}' of {restaurant} is neither free nor stored"
        ))),
    }
}

/// Names the order of a key [`claim_key`] took (stores the key, if it was not claimed;
/// refused if it names an order already: a key is used once).
pub(crate) fn insert_key(
    c: &mut impl Db,
    restaurant: &str,
    key: &str,
    order_id: i64,
    now: i64,
) -> TxResult<()> {
    let named = c.execute(
        "UPDATE idempotency_keys SET order_id = $3
         WHERE restaurant = $1 AND key = $2 AND order_id = 0",
        &[&restaurant, &key, &order_id],
    )?;
    if named == 0 {
        c.execute(
            "INSERT INTO idempotency_keys (restaurant, key, order_id, created_at)
             VALUES ($1, $2, $3, $4)",
            &[&restaurant, &key, &order_id, &now],
        )?;
    }
    Ok(())
}

// ---- orders ----

pub(crate) fn get_order(c: &mut impl Db, id: i64) -> TxResult<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    c.query_opt(&sql, &[&id])?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// An order, locked until the transaction ends: the writer reads each order it may
/// change this way, so that a writer on another node that reads it next waits for this
/// one's commit and sees its change (a second rider's claim then meets the first).
pub(crate) fn get_order_for_update(c: &mut impl Db, id: i64) -> TxResult<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE");
    c.query_opt(&sql, &[&id])?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// Locks the orders `ids` until the transaction ends, in ascending id order.
pub(crate) fn lock_orders(c: &mut impl Db, ids: &[i64]) -> TxResult<()> {
    if !ids.is_empty() {
        c.query(
            "SELECT id FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )?;
    }
    Ok(())
}

/// Stores a new order placed at `now` (Unix ms; `at`, as the protocol writes it), as
/// `queries::insert_order` does.
pub(crate) fn insert_order(
    c: &mut impl Db,
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
    Ok(queries::placed(
        order,
        row.try_get(0)?,
        number,
        items,
        times,
        at,
    ))
}

/// Writes `order`'s status and rider as they now are in memory.
pub(crate) fn save_order_state(c: &mut impl Db, order: &Order, now: i64) -> TxResult<()> {
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
pub(crate) fn save_items(c: &mut impl Db, order: &Order, now: i64) -> TxResult<()> {
    let items = serde_json::to_string(&order.items).expect("serializable");
    c.execute(
        "UPDATE orders SET items = $2, updated_at = $3 WHERE id = $1",
        &[&order.id, &items, &now],
    )?;
    Ok(())
}

/// An order's placing and ready times (Unix ms), as stored.
pub(crate) fn order_times(c: &mut impl Db, id: i64) -> TxResult<(i64, Option<i64>)> {
    let row = c.query_one(
        "SELECT created_at, ready_at FROM orders WHERE id = $1",
        &[&id],
    )?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The last short number given to `restaurant` on local day `day` (0 before the first),
/// its row locked until the transaction ends (made now if the day has none): a writer
/// on another node numbering the same restaurant's orders waits for this one's commit
/// and reads the number it saved, so no number is given twice.
pub(crate) fn last_number(c: &mut impl Db, restaurant: &str, day: &str) -> TxResult<u32> {
    let row = c.query_one(
        "INSERT INTO order_numbers (restaurant, day, last) VALUES ($1, $2, 0)
         ON CONFLICT (restaurant, day) DO UPDATE SET last = order_numbers.last
         RETURNING last",
        &[&restaurant, &day],
    )?;
    narrow(row.try_get(0)?, "order number")
}

/// Records `last` as the last short number given to `restaurant` on local day `day`.
pub(crate) fn save_number(c: &mut impl Db, restaurant: &str, day: &str, last: u32) -> TxResult<()> {
    c.execute(
        "INSERT INTO order_numbers (restaurant, day, last) VALUES ($1, $2, $3)
         ON CONFLICT (restaurant, day) DO UPDATE SET last = excluded.last",
        &[&restaurant, &day, &i64::from(last)],
    )?;
    Ok(())
}

/// Orders matching `filter`, oldest first, at most `limit` of the newest, and whether
/// older ones match too (`queries::list_orders`).
pub(crate) fn list_orders(c: &mut impl Db, filter: &OrderFilter) -> TxResult<(Vec<Order>, bool)> {
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

pub(crate) fn count_orders(c: &mut impl Db) -> TxResult<u64> {
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM orders", &[])?
        .try_get(0)?;
    Ok(n as u64)
}

/// The newest order's id: how many orders were ever placed.
pub(crate) fn newest_order_id(c: &mut impl Db) -> TxResult<u64> {
    let n: i64 = c
        .query_one("SELECT COALESCE(MAX(id), 0) FROM orders", &[])?
        .try_get(0)?;
    Ok(n as u64)
}
