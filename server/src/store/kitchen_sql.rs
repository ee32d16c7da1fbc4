//! Plain SQL over the kitchen's tables: menus (as the server uses them, and as loaded
//! beside it), items run out of, the schedule of orders held for later, and the day's
//! speed-of-service samples. Like `queries`, they know nothing of threads or sessions.

use std::collections::HashMap;

use chit_protocol::{Item, Menu, UnavailableItem, format_time};
use rusqlite::{Connection, OptionalExtension, params};

use crate::kitchen::speed::Samples;

fn from_json<T: serde::de::DeserializeOwned>(col: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e.into())
    })
}

// ---- menus ----

/// The menu the server routes `restaurant`'s orders by, if it has one.
pub fn live_menu(conn: &Connection, restaurant: &str) -> rusqlite::Result<Option<Menu>> {
    conn.prepare_cached("SELECT menu FROM menus WHERE restaurant = ?1")?
        .query_row([restaurant], |r| r.get::<_, String>(0))
        .optional()?
        .map(|text| from_json(0, &text))
        .transpose()
}

/// Makes `menu` the one the server routes its restaurant's orders by.
pub fn save_menu(conn: &Connection, menu: &Menu, loaded_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO menus (restaurant, menu, version, loaded_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (restaurant) DO UPDATE SET
             menu = excluded.menu, version = excluded.version, loaded_at = excluded.loaded_at",
    )?
    .execute(params![
        menu.restaurant,
        serde_json::to_string(menu).expect("serializable"),
        menu.version as i64,
        loaded_at
    ])?;
    Ok(())
}

/// Leaves `menu` (loaded at `now`) for the server to take up, numbered one past any
/// version the restaurant had; returns it as left. A second load before the server
/// took up the first replaces it.
pub fn queue_menu_load(conn: &Connection, mut menu: Menu, now: i64) -> rusqlite::Result<Menu> {
    let tx = conn.unchecked_transaction()?;
    let last: i64 = tx.query_row(
        "SELECT MAX(COALESCE((SELECT version FROM menus WHERE restaurant = ?1), 0),
                    COALESCE((SELECT version FROM menu_loads WHERE restaurant = ?1), 0))",
        [&menu.restaurant],
        |r| r.get(0),
    )?;
    menu.version = last as u64 + 1;
    menu.loaded_at = format_time(now);
    tx.execute(
        "INSERT INTO menu_loads (restaurant, menu, version, loaded_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (restaurant) DO UPDATE SET
             menu = excluded.menu, version = excluded.version, loaded_at = excluded.loaded_at",
        params![
            menu.restaurant,
            serde_json::to_string(&menu).expect("serializable"),
            menu.version as i64,
            now
        ],
    )?;
    tx.commit()?;
    Ok(menu)
}

/// Whether a loaded menu waits for the server to take it up.
pub fn has_menu_loads(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM menu_loads LIMIT 1")?
        .exists([])
}

/// Every loaded menu waiting for the server, and takes them off the list.
pub fn take_menu_loads(conn: &Connection) -> rusqlite::Result<Vec<(Menu, i64)>> {
    let loads = conn
        .prepare_cached("SELECT menu, loaded_at FROM menu_loads ORDER BY restaurant")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    conn.prepare_cached("DELETE FROM menu_loads")?.execute([])?;
    loads
        .into_iter()
        .map(|(text, at)| Ok((from_json(0, &text)?, at)))
        .collect()
}

/// The newest menu of `restaurant`: one loaded and not yet taken up by the server
/// (`true`), or the one it uses.
pub fn newest_menu(conn: &Connection, restaurant: &str) -> rusqlite::Result<Option<(Menu, bool)>> {
    let waiting = conn
        .prepare_cached("SELECT menu FROM menu_loads WHERE restaurant = ?1")?
        .query_row([restaurant], |r| r.get::<_, String>(0))
        .optional()?;
    if let Some(text) = waiting {
        return Ok(Some((from_json(0, &text)?, true)));
    }
    Ok(live_menu(conn, restaurant)?.map(|m| (m, false)))
}

// ---- items run out of ----

/// A restaurant's items unavailable at `now`, by name as compared: (name, until).
pub fn unavailable_keys(
    conn: &Connection,
    restaurant: &str,
    now: i64,
) -> rusqlite::Result<HashMap<String, (String, i64)>> {
    conn.prepare_cached(
        "SELECT key, item, until FROM unavailable WHERE restaurant = ?1 AND until > ?2",
    )?
    .query_map(params![restaurant, now], |r| {
        Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
    })?
    .collect()
}

/// A restaurant's items unavailable at `now`, soonest back first.
pub fn unavailable(
    conn: &Connection,
    restaurant: &str,
    now: i64,
) -> rusqlite::Result<Vec<UnavailableItem>> {
    conn.prepare_cached(
        "SELECT item, until, since, by FROM unavailable
         WHERE restaurant = ?1 AND until > ?2 ORDER BY until, item",
    )?
    .query_map(params![restaurant, now], |r| {
        Ok(UnavailableItem {
            item: r.get(0)?,
            until: format_time(r.get(1)?),
            since: format_time(r.get(2)?),
            by: r.get(3)?,
        })
    })?
    .collect()
}

/// What an 86 records.
pub struct EightySix<'a> {
    pub restaurant: &'a str,
    pub key: &'a str,
    pub item: &'a str,
    pub until: i64,
    pub since: i64,
    pub by: &'a str,
}

pub fn mark_unavailable(conn: &Connection, e: &EightySix<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO unavailable (restaurant, key, item, until, since, by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (restaurant, key) DO UPDATE SET
             item = excluded.item, until = excluded.until, since = excluded.since, by = excluded.by",
    )?
    .execute(params![e.restaurant, e.key, e.item, e.until, e.since, e.by])?;
    Ok(())
}

/// Ends an 86; false if the item was not unavailable.
pub fn mark_available(conn: &Connection, restaurant: &str, key: &str) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM unavailable WHERE restaurant = ?1 AND key = ?2")?
        .execute(params![restaurant, key])?;
    Ok(n > 0)
}

/// The 86s whose `until` has come by `now`, removed: (restaurant, item) each.
pub fn take_expired(conn: &Connection, now: i64) -> rusqlite::Result<Vec<(String, String)>> {
    let expired = conn
        .prepare_cached(
            "SELECT restaurant, item FROM unavailable WHERE until <= ?1 ORDER BY until, restaurant",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !expired.is_empty() {
        conn.prepare_cached("DELETE FROM unavailable WHERE until <= ?1")?
            .execute([now])?;
    }
    Ok(expired)
}

// ---- orders held for later ----

pub fn schedule_fire(conn: &Connection, order_id: i64, fire_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO fire_schedule (order_id, fire_at) VALUES (?1, ?2)")?
        .execute(params![order_id, fire_at])?;
    Ok(())
}

/// Takes an order off the schedule; false if it was not on it.
pub fn unschedule(conn: &Connection, order_id: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM fire_schedule WHERE order_id = ?1")?
        .execute([order_id])?;
    Ok(n > 0)
}

/// Held orders whose fire time has come by `now`, soonest first, at most `limit`.
pub fn due_fires(conn: &Connection, now: i64, limit: u32) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(
        "SELECT order_id FROM fire_schedule WHERE fire_at <= ?1 ORDER BY fire_at, order_id LIMIT ?2",
    )?
    .query_map(params![now, limit], |r| r.get(0))?
    .collect()
}

pub fn save_fired(conn: &Connection, order_id: i64, fired_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE orders SET fired_at = ?2, updated_at = ?2 WHERE id = ?1")?
        .execute(params![order_id, fired_at])?;
    Ok(())
}

/// The next time something is due: a held order's fire time, or an 86's end.
pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT MIN(COALESCE((SELECT MIN(fire_at) FROM fire_schedule), 9223372036854775807),
                    COALESCE((SELECT MIN(until) FROM unavailable), 9223372036854775807))",
    )?
    .query_row([], |r| r.get::<_, i64>(0))
    .map(|at| (at != i64::MAX).then_some(at))
}

// ---- speed of service ----

/// Today's speed-of-service samples (orders placed from `since`, Unix ms) per
/// restaurant, for one restaurant or all: each done item and each order that got to
/// ready, as [`Samples::count_whole`] counts them.
pub fn speed_samples(
    conn: &Connection,
    restaurant: Option<&str>,
    since: i64,
) -> rusqlite::Result<HashMap<String, Samples>> {
    // For one restaurant, orders_by_restaurant (restaurant, status, created_at) finds
    // the day's orders status by status, as the day's tally does.
    let filter = if restaurant.is_some() {
        let statuses: Vec<String> = chit_protocol::Status::ALL
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("restaurant = ?1 AND status IN ({})", statuses.join(", "))
    } else {
        "?1 IS NULL".to_string()
    };
    let sql = format!(
        "SELECT restaurant, created_at, fired_at, ready_at, items FROM orders
         WHERE {filter} AND created_at >= ?2
           AND (ready_at IS NOT NULL OR items LIKE '%\"done_at\":%')"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![restaurant, since])?;
    let mut samples: HashMap<String, Samples> = HashMap::new();
    while let Some(r) = rows.next()? {
        let order = chit_protocol::Order {
            restaurant: r.get(0)?,
            created_at: format_time(r.get(1)?),
            fired_at: r.get::<_, Option<i64>>(2)?.map(format_time),
            items: from_json::<Vec<Item>>(4, &r.get::<_, String>(4)?)?,
            ..Default::default()
        };
        let ready_at: Option<i64> = r.get(3)?;
        samples
            .entry(order.restaurant.clone())
            .or_default()
            .count_whole(&order, ready_at, 1);
    }
    Ok(samples)
}
