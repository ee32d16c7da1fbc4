//! The kitchen's tables on PostgreSQL: menus (as the server uses them, and as loaded
//! beside it), items run out of, and the schedule of held orders; `kitchen_sql`'s
//! functions, row for row. Text is ordered `COLLATE "C"` (byte order, as SQLite's
//! BINARY), whatever the database's collation; what is taken off a table is deleted
//! with `RETURNING`, so that a row another node commits meanwhile is never dropped.

use std::collections::HashMap;

use chit_protocol::{Menu, UnavailableItem, format_time};

use crate::store::kitchen_sql::EightySix;
use crate::store::postgres::db::Db;
use crate::store::tx::{StoreError, TxResult};

/// `text` (column `what`) as JSON.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> TxResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("reading {what}: {e}")))
}

// ---- menus ----

/// The menu the server routes `restaurant`'s orders by, if it has one.
pub(crate) fn live_menu(c: &mut impl Db, restaurant: &str) -> TxResult<Option<Menu>> {
    c.query_opt(
        "SELECT menu FROM menus WHERE restaurant = $1",
        &[&restaurant],
    )?
    .map(|r| from_json("menus.menu", &r.try_get::<_, String>(0)?))
    .transpose()
}

/// Makes `menu` the one the server routes its restaurant's orders by.
pub(crate) fn save_menu(c: &mut impl Db, menu: &Menu, loaded_at: i64) -> TxResult<()> {
    c.execute(
        "INSERT INTO menus (restaurant, menu, version, loaded_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (restaurant) DO UPDATE SET
             menu = excluded.menu, version = excluded.version, loaded_at = excluded.loaded_at",
        &[
            &menu.restaurant,
            &serde_json::to_string(menu).expect("serializable"),
            &(menu.version as i64),
            &loaded_at,
        ],
    )?;
    Ok(())
}

/// Leaves `menu` (loaded at `now`) for the server to take up, numbered one past any
/// version the restaurant had; returns it as left. A second load before the server
/// took up the first replaces it.
pub(crate) fn queue_menu_load(
    c: &mut impl ::postgres::GenericClient,
    mut menu: Menu,
    now: i64,
) -> TxResult<Menu> {
    let mut tx = c.transaction()?;
    // SQLite lets one writer at a time read the last version and write the next; here
    // two loads of one restaurant at once would both read it, so they take turns.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('chit menu_loads ' || $1::TEXT))",
        &[&menu.restaurant],
    )?;
    let last: i64 = tx
        .query_one(
            "SELECT GREATEST(COALESCE((SELECT version FROM menus WHERE restaurant = $1), 0),
                             COALESCE((SELECT version FROM menu_loads WHERE restaurant = $1), 0))",
            &[&menu.restaurant],
        )?
        .try_get(0)?;
    menu.version = last as u64 + 1;
    menu.loaded_at = format_time(now);
    tx.execute(
        "INSERT INTO menu_loads (restaurant, menu, version, loaded_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (restaurant) DO UPDATE SET
             menu = excluded.menu, version = excluded.version, loaded_at = excluded.loaded_at",
        &[
            &menu.restaurant,
            &serde_json::to_string(&menu).expect("serializable"),
            &(menu.version as i64),
            &now,
        ],
    )?;
    tx.commit()?;
    Ok(menu)
}

/// Whether a loaded menu waits for the server to take it up.
pub(crate) fn has_menu_loads(c: &mut impl Db) -> TxResult<bool> {
    Ok(c.query_opt("SELECT 1 FROM menu_loads LIMIT 1", &[])?
        .is_some())
}

/// Every loaded menu waiting for the server, by restaurant, and takes them off the list.
pub(crate) fn take_menu_loads(c: &mut impl Db) -> TxResult<Vec<(Menu, i64)>> {
    let mut loads = c
        .query(
            "DELETE FROM menu_loads RETURNING restaurant, menu, loaded_at",
            &[],
        )?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<TxResult<Vec<(String, String, i64)>>>()?;
    loads.sort_by(|a, b| a.0.cmp(&b.0));
    loads
        .into_iter()
        .map(|(_, text, at)| Ok((from_json("menu_loads.menu", &text)?, at)))
        .collect()
}

/// The newest menu of `restaurant`: one loaded and not yet taken up by the server
/// (`true`), or the one it uses.
pub(crate) fn newest_menu(c: &mut impl Db, restaurant: &str) -> TxResult<Option<(Menu, bool)>> {
    let waiting = c.query_opt(
        "SELECT menu FROM menu_loads WHERE restaurant = $1",
        &[&restaurant],
    )?;
    if let Some(r) = waiting {
        return Ok(Some((
            from_json("menu_loads.menu", &r.try_get::<_, String>(0)?)?,
            true,
        )));
    }
    Ok(live_menu(c, restaurant)?.map(|m| (m, false)))
}

// ---- items run out of ----

/// A restaurant's items unavailable at `now`, by name as compared: (name, until).
pub(crate) fn unavailable_keys(
    c: &mut impl Db,
    restaurant: &str,
    now: i64,
) -> TxResult<HashMap<String, (String, i64)>> {
    c.query(
        "SELECT key, item, until FROM unavailable WHERE restaurant = $1 AND until > $2",
        &[&restaurant, &now],
    )?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
    .collect()
}

/// A restaurant's items unavailable at `now`, soonest back first.
pub(crate) fn unavailable(
    c: &mut impl Db,
    restaurant: &str,
    now: i64,
) -> TxResult<Vec<UnavailableItem>> {
    c.query(
        r#"SELECT item, until, since, "by" FROM unavailable
           WHERE restaurant = $1 AND until > $2 ORDER BY until, item COLLATE "C""#,
        &[&restaurant, &now],
    )?
    .into_iter()
    .map(|r| {
        Ok(UnavailableItem {
            item: r.try_get(0)?,
            until: format_time(r.try_get(1)?),
            since: format_time(r.try_get(2)?),
            by: r.try_get(3)?,
        })
    })
    .collect()
}

pub(crate) fn mark_unavailable(c: &mut impl Db, e: &EightySix<'_>) -> TxResult<()> {
    c.execute(
        r#"INSERT INTO unavailable (restaurant, key, item, until, since, "by")
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (restaurant, key) DO UPDATE SET
               item = excluded.item, until = excluded.until, since = excluded.since,
               "by" = excluded."by""#,
        &[&e.restaurant, &e.key, &e.item, &e.until, &e.since, &e.by],
    )?;
    Ok(())
}

/// Ends an 86; false if the item was not unavailable.
pub(crate) fn mark_available(c: &mut impl Db, restaurant: &str, key: &str) -> TxResult<bool> {
    let n = c.execute(
        "DELETE FROM unavailable WHERE restaurant = $1 AND key = $2",
        &[&restaurant, &key],
    )?;
    Ok(n > 0)
}

/// The 86s whose `until` has come by `now`, removed: (restaurant, item) each, by
/// `until`, then restaurant (then item, where SQLite leaves the order open).
pub(crate) fn take_expired(c: &mut impl Db, now: i64) -> TxResult<Vec<(String, String)>> {
    let mut expired = c
        .query(
            "DELETE FROM unavailable WHERE until <= $1 RETURNING until, restaurant, item",
            &[&now],
        )?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<TxResult<Vec<(i64, String, String)>>>()?;
    expired.sort();
    Ok(expired.into_iter().map(|(_, r, item)| (r, item)).collect())
}

// ---- orders held for later ----

pub(crate) fn schedule_fire(c: &mut impl Db, order_id: i64, fire_at: i64) -> TxResult<()> {
    c.execute(
        "INSERT INTO fire_schedule (order_id, fire_at) VALUES ($1, $2)",
        &[&order_id, &fire_at],
    )?;
    Ok(())
}

/// Takes an order off the schedule; false if it was not on it.
pub(crate) fn unschedule(c: &mut impl Db, order_id: i64) -> TxResult<bool> {
    let n = c.execute(
        "DELETE FROM fire_schedule WHERE order_id = $1",
        &[&order_id],
    )?;
    Ok(n > 0)
}

/// Held orders whose fire time has come by `now`, soonest first, at most `limit`.
pub(crate) fn due_fires(c: &mut impl Db, now: i64, limit: u32) -> TxResult<Vec<i64>> {
    c.query(
        "SELECT order_id FROM fire_schedule WHERE fire_at <= $1
         ORDER BY fire_at, order_id LIMIT $2",
        &[&now, &i64::from(limit)],
    )?
    .into_iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

pub(crate) fn save_fired(c: &mut impl Db, order_id: i64, fired_at: i64) -> TxResult<()> {
    c.execute(
        "UPDATE orders SET fired_at = $2, updated_at = $2 WHERE id = $1",
        &[&order_id, &fired_at],
    )?;
    Ok(())
}

/// The next time something is due: a held order's fire time, or an 86's end.
pub(crate) fn next_due(c: &mut impl Db) -> TxResult<Option<i64>> {
    let at: i64 = c
        .query_one(
            "SELECT LEAST(COALESCE((SELECT MIN(fire_at) FROM fire_schedule), 9223372036854775807),
                          COALESCE((SELECT MIN(until) FROM unavailable), 9223372036854775807))",
            &[],
        )?
        .try_get(0)?;
    Ok((at != i64::MAX).then_some(at))
}

#[cfg(test)]
mod tests;
