//! The kitchen's tables on PostgreSQL: menus (as the server uses them, and as loaded
//! beside it), items run out of, and the schedule of held orders; `kitchen_sql`'s
//! functions, row for row. Text is ordered `COLLATE "C"` (byte order, as SQLite's
//! BINARY), whatever the database's collation; what is taken off a table is deleted
//! with `RETURNING`, so that a row another node commits meanwhile is never dropped.

use std::collections::HashMap;

use ::postgres::GenericClient;
use chit_protocol::{Menu, UnavailableItem, format_time};

use crate::store::kitchen_sql::EightySix;
use crate::store::tx::{StoreError, TxResult};

/// `text` (column `what`) as JSON.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> TxResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("reading {what}: {e}")))
}

// ---- menus ----

/// The menu the server routes `restaurant`'s orders by, if it has one.
pub(crate) fn live_menu(c: &mut impl GenericClient, restaurant: &str) -> TxResult<Option<Menu>> {
    c.query_opt(
        "SELECT menu FROM menus WHERE restaurant = $1",
        &[&restaurant],
    )?
    .map(|r| from_json("menus.menu", &r.try_get::<_, String>(0)?))
    .transpose()
}

/// Makes `menu` the one the server routes its restaurant's orders by.
pub(crate) fn save_menu(c: &mut impl GenericClient, menu: &Menu, loaded_at: i64) -> TxResult<()> {
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
    c: &mut impl GenericClient,
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
pub(crate) fn has_menu_loads(c: &mut impl GenericClient) -> TxResult<bool> {
    Ok(c.query_opt("SELECT 1 FROM menu_loads LIMIT 1", &[])?
        .is_some())
}

/// Every loaded menu waiting for the server, by restaurant, and takes them off the list.
pub(crate) fn take_menu_loads(c: &mut impl GenericClient) -> TxResult<Vec<(Menu, i64)>> {
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
pub(crate) fn newest_menu(
    c: &mut impl GenericClient,
    restaurant: &str,
) -> TxResult<Option<(Menu, bool)>> {
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
    c: &mut impl GenericClient,
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
    c: &mut impl GenericClient,
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

pub(crate) fn mark_unavailable(c: &mut impl GenericClient, e: &EightySix<'_>) -> TxResult<()> {
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
pub(crate) fn mark_available(
    c: &mut impl GenericClient,
    restaurant: &str,
    key: &str,
) -> TxResult<bool> {
    let n = c.execute(
        "DELETE FROM unavailable WHERE restaurant = $1 AND key = $2",
        &[&restaurant, &key],
    )?;
    Ok(n > 0)
}

/// The 86s whose `until` has come by `now`, removed: (restaurant, item) each, by
/// `until`, then restaurant (then item, where SQLite leaves the order open).
pub(crate) fn take_expired(
    c: &mut impl GenericClient,
    now: i64,
) -> TxResult<Vec<(String, String)>> {
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

pub(crate) fn schedule_fire(
    c: &mut impl GenericClient,
    order_id: i64,
    fire_at: i64,
) -> TxResult<()> {
    c.execute(
        "INSERT INTO fire_schedule (order_id, fire_at) VALUES ($1, $2)",
        &[&order_id, &fire_at],
    )?;
    Ok(())
}

/// Takes an order off the schedule; false if it was not on it.
pub(crate) fn unschedule(c: &mut impl GenericClient, order_id: i64) -> TxResult<bool> {
    let n = c.execute(
        "DELETE FROM fire_schedule WHERE order_id = $1",
        &[&order_id],
    )?;
    Ok(n > 0)
}

/// Held orders whose fire time has come by `now`, soonest first, at most `limit`.
pub(crate) fn due_fires(c: &mut impl GenericClient, now: i64, limit: u32) -> TxResult<Vec<i64>> {
    c.query(
        "SELECT order_id FROM fire_schedule WHERE fire_at <= $1
         ORDER BY fire_at, order_id LIMIT $2",
        &[&now, &i64::from(limit)],
    )?
    .into_iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

pub(crate) fn save_fired(c: &mut impl GenericClient, order_id: i64, fired_at: i64) -> TxResult<()> {
    c.execute(
        "UPDATE orders SET fired_at = $2, updated_at = $2 WHERE id = $1",
        &[&order_id, &fired_at],
    )?;
    Ok(())
}

/// The next time something is due: a held order's fire time, or an 86's end.
pub(crate) fn next_due(c: &mut impl GenericClient) -> TxResult<Option<i64>> {
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
mod tests {
    use chit_protocol::{MenuCategory, MenuItem};

    use super::*;
    use crate::store::kitchen_sql as lite;
    use crate::store::postgres::test_db::TestDb;

    /// The same kitchen on SQLite (in memory) and on PostgreSQL.
    struct Both {
        lite: rusqlite::Connection,
        pg: ::postgres::Client,
        _db: TestDb,
    }

    impl Both {
        fn new() -> Both {
            let mut lite = rusqlite::Connection::open_in_memory().unwrap();
            crate::store::migrate::migrate(&mut lite).unwrap();
            let db = TestDb::create();
            Both {
                lite,
                pg: db.connect(),
                _db: db,
            }
        }

        /// Runs plain SQL that both dialects read alike.
        fn sql(&mut self, sql: &str) {
            self.lite.execute_batch(sql).unwrap();
            self.pg.batch_execute(sql).unwrap();
        }
    }

    fn menu(restaurant: &str, station: &str) -> Menu {
        Menu {
            restaurant: restaurant.to_string(),
            stations: vec![station.to_string(), "pass".to_string()],
            default_station: station.to_string(),
            default_prep_minutes: 6,
            categories: vec![MenuCategory {
                name: "mains".into(),
                station: station.into(),
                prep_minutes: 12,
            }],
            items: vec![MenuItem {
                name: "Pad thai".into(),
                category: "mains".into(),
                station: station.into(),
                prep_minutes: 9,
                also: vec!["ผัดไทย".into()],
            }],
            version: 0,
            loaded_at: String::new(),
        }
    }

    #[test]
    fn menus_are_queued_taken_up_and_numbered_as_on_sqlite() {
        let mut b = Both::new();
        assert!(!has_menu_loads(&mut b.pg).unwrap());
        let loads = [
            (menu("r1", "wok"), 1_000),
            (menu("r1", "grill"), 2_000), // replaces r1's first load
            (menu("Zeta", "fry"), 3_000),
            (menu("alpha", "wok"), 4_000),
        ];
        for (m, at) in &loads {
            let queued = queue_menu_load(&mut b.pg, m.clone(), *at).unwrap();
            assert_eq!(
                queued,
                lite::queue_menu_load(&b.lite, m.clone(), *at).unwrap()
            );
        }
        assert_eq!(newest_menu(&mut b.pg, "r1").unwrap().unwrap().0.version, 2);
        assert!(has_menu_loads(&mut b.pg).unwrap());
        for r in ["r1", "alpha", "nobody"] {
            assert_eq!(
                newest_menu(&mut b.pg, r).unwrap(),
                lite::newest_menu(&b.lite, r).unwrap()
            );
        }
        let taken = take_menu_loads(&mut b.pg).unwrap();
        assert_eq!(taken, lite::take_menu_loads(&b.lite).unwrap());
        let order: Vec<&str> = taken.iter().map(|(m, _)| m.restaurant.as_str()).collect();
        assert_eq!(order, ["Zeta", "alpha", "r1"], "byte order, as SQLite's");
        assert!(!has_menu_loads(&mut b.pg).unwrap());
        assert!(take_menu_loads(&mut b.pg).unwrap().is_empty());
        for (m, at) in &taken {
            save_menu(&mut b.pg, m, *at).unwrap();
            lite::save_menu(&b.lite, m, *at).unwrap();
        }
        // A load after the server took one up is numbered past the menu it uses.
        let next = queue_menu_load(&mut b.pg, menu("r1", "wok"), 5_000).unwrap();
        assert_eq!(next.version, 3);
        assert_eq!(
            next,
            lite::queue_menu_load(&b.lite, menu("r1", "wok"), 5_000).unwrap()
        );
        for r in ["r1", "Zeta", "nobody"] {
            assert_eq!(
                live_menu(&mut b.pg, r).unwrap(),
                lite::live_menu(&b.lite, r).unwrap()
            );
            assert_eq!(
                newest_menu(&mut b.pg, r).unwrap(),
                lite::newest_menu(&b.lite, r).unwrap()
            );
        }
        // The stored rows, JSON text included, are the same.
        let sql = "SELECT restaurant, menu, version, loaded_at FROM menus ORDER BY restaurant";
        let pg: Vec<(String, String, i64, i64)> =
            b.pg.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
        let mut stmt = b.lite.prepare(sql).unwrap();
        let lite: Vec<(String, String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(pg, lite);
        assert_eq!(pg.len(), 3);
    }

    #[test]
    fn a_load_inside_a_transaction_is_a_savepoint_and_goes_with_it() {
        let db = TestDb::create();
        let mut c = db.connect();
        let mut tx = c.transaction().unwrap();
        queue_menu_load(&mut tx, menu("r1", "wok"), 1).unwrap();
        assert!(has_menu_loads(&mut tx).unwrap());
        tx.rollback().unwrap();
        assert!(!has_menu_loads(&mut c).unwrap());
    }

    #[test]
    fn eighty_sixes_end_and_expire_as_on_sqlite() {
        let mut b = Both::new();
        let marks = [
            ("r1", "pad thai", "Pad Thai", 5_000, 100, "kitchen"),
            ("r1", "éclair", "Éclair", 3_000, 110, "pass"),
            ("r1", "zucchini", "Zucchini", 3_000, 120, "kitchen"),
            ("r1", "apple", "apple", 3_000, 125, "kitchen"),
            ("r2", "pad thai", "Pad thai", 2_000, 130, "front"),
            ("R0", "soup", "Soup", 2_000, 140, "front"),
            ("r1", "pad thai", "Pad thai!", 9_000, 150, "manager"), // again: replaces
        ];
        for (restaurant, key, item, until, since, by) in marks {
            let e = EightySix {
                restaurant,
                key,
                item,
                until,
                since,
                by,
            };
            mark_unavailable(&mut b.pg, &e).unwrap();
            lite::mark_unavailable(&b.lite, &e).unwrap();
        }
        // 86s with no name recorded (as copied from an old database).
        b.sql(r#"INSERT INTO unavailable VALUES ('r2', 'rice', 'Rice', 2500, 1, NULL)"#);
        for now in [0, 2_000, 2_999, 3_000] {
            for r in ["r1", "r2", "R0", "r3"] {
                let pg = unavailable(&mut b.pg, r, now).unwrap();
                assert_eq!(
                    pg,
                    lite::unavailable(&b.lite, r, now).unwrap(),
                    "{r} at {now}"
                );
                assert_eq!(
                    unavailable_keys(&mut b.pg, r, now).unwrap(),
                    lite::unavailable_keys(&b.lite, r, now).unwrap()
                );
            }
        }
        let r1: Vec<String> = unavailable(&mut b.pg, "r1", 0)
            .unwrap()
            .into_iter()
            .map(|u| u.item)
            .collect();
        assert_eq!(r1, ["Zucchini", "apple", "Éclair", "Pad thai!"]);
        assert_eq!(next_due(&mut b.pg).unwrap(), Some(2_000));
        assert_eq!(
            next_due(&mut b.pg).unwrap(),
            lite::next_due(&b.lite).unwrap()
        );
        for (r, key) in [("r1", "apple"), ("r1", "apple"), ("r9", "soup")] {
            assert_eq!(
                mark_available(&mut b.pg, r, key).unwrap(),
                lite::mark_available(&b.lite, r, key).unwrap()
            );
        }
        for now in [1_999, 2_500, 3_000, 3_000] {
            let pg = take_expired(&mut b.pg, now).unwrap();
            assert_eq!(pg, lite::take_expired(&b.lite, now).unwrap(), "at {now}");
        }
        assert_eq!(next_due(&mut b.pg).unwrap(), Some(9_000));
        assert_eq!(
            take_expired(&mut b.pg, i64::MAX).unwrap(),
            lite::take_expired(&b.lite, i64::MAX).unwrap()
        );
        assert_eq!(next_due(&mut b.pg).unwrap(), None);
        assert_eq!(lite::next_due(&b.lite).unwrap(), None);
    }

    #[test]
    fn held_orders_come_due_and_fire_as_on_sqlite() {
        let mut b = Both::new();
        for id in 1..=5 {
            b.sql(&format!(
                "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                     customer_phone, fulfilment, status, total, created_at, updated_at)
                 VALUES ({id}, {id}, 'r1', 'c1', 'Ann', '555', 'pickup', 'scheduled', 900,
                     100, 100)"
            ));
        }
        for (id, at) in [(1, 5_000), (2, 3_000), (3, 3_000), (4, 1_000), (5, 9_000)] {
            schedule_fire(&mut b.pg, id, at).unwrap();
            lite::schedule_fire(&b.lite, id, at).unwrap();
        }
        assert!(
            schedule_fire(&mut b.pg, 1, 7).is_err(),
            "one schedule per order"
        );
        assert_eq!(next_due(&mut b.pg).unwrap(), Some(1_000));
        for (now, limit) in [(0, 10), (3_000, 10), (3_000, 2), (10_000, 3), (10_000, 0)] {
            let pg = due_fires(&mut b.pg, now, limit).unwrap();
            assert_eq!(pg, lite::due_fires(&b.lite, now, limit).unwrap());
        }
        assert_eq!(due_fires(&mut b.pg, 3_000, 10).unwrap(), [4, 2, 3]);
        for id in [4, 4, 42] {
            assert_eq!(
                unschedule(&mut b.pg, id).unwrap(),
                lite::unschedule(&b.lite, id).unwrap()
            );
        }
        assert_eq!(
            next_due(&mut b.pg).unwrap(),
            lite::next_due(&b.lite).unwrap()
        );
        save_fired(&mut b.pg, 2, 3_100).unwrap();
        lite::save_fired(&b.lite, 2, 3_100).unwrap();
        let sql = "SELECT id, fired_at, updated_at FROM orders ORDER BY id";
        let pg: Vec<(i64, Option<i64>, i64)> =
            b.pg.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
        let mut stmt = b.lite.prepare(sql).unwrap();
        let lite: Vec<(i64, Option<i64>, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(pg, lite);
        assert_eq!(pg[1], (2, Some(3_100), 3_100));
    }
}
