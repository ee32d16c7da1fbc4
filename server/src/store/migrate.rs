//! Schema migrations, applied in order and tracked by `PRAGMA user_version`. The list
//! is append-only: a shipped migration is never edited.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_lean_writes.sql"),
    include_str!("../../migrations/0003_order_rooms_from_restaurant_rows.sql"),
    include_str!("../../migrations/0004_fewer_index_entries_per_order.sql"),
    include_str!("../../migrations/0005_webhooks.sql"),
    include_str!("../../migrations/0006_stations.sql"),
    include_str!("../../migrations/0007_epoch.sql"),
];

/// The schema version a database has once [`migrate`] has run.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only the copy asks
pub(crate) const VERSION: usize = MIGRATIONS.len();

/// Brings the schema up to date; refuses a database written by a newer chit.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {version}, newer than this chit-server knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as version `version` left it, with `rows` written by that version.
    fn at_version(version: usize, rows: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..version] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", version).unwrap();
        conn.execute_batch(rows).unwrap();
        conn
    }

    #[test]
    fn migrates_once_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        conn.execute("PRAGMA user_version = 99", []).unwrap();
        assert!(migrate(&mut conn).is_err());
    }

    #[test]
    fn a_database_from_before_epochs_gets_one_and_keeps_its_log() {
        let mut conn = at_version(
            6,
            "INSERT INTO events (seq, room, kind, at, data, ref, order_id)
             VALUES (1, 'restaurant:r1', 'new_order', 0, '{\"v\":1}', NULL, NULL);",
        );
        let instance = crate::webhooks::queries::instance(&conn).unwrap();
        migrate(&mut conn).unwrap();
        let epoch = crate::store::epoch::read(&conn).unwrap();
        assert!((1..=crate::store::epoch::MAX).contains(&epoch), "{epoch}");
        assert_eq!(crate::store::queries::head(&conn).unwrap(), 1);
        assert_eq!(
            crate::webhooks::queries::instance(&conn).unwrap(),
            instance,
            "webhooks' ids stay as they were"
        );
        migrate(&mut conn).unwrap();
        assert_eq!(crate::store::epoch::read(&conn).unwrap(), epoch);
    }

    #[test]
    fn orders_and_events_written_before_0002_read_the_same_after() {
        let mut conn = at_version(
            1,
            "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                 customer_phone, fulfilment, status, total, created_at, updated_at)
             VALUES (7, 3, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 2100, 0, 0),
                    (8, 4, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 0, 0, 0);
             INSERT INTO order_items (order_id, pos, name, qty, unit_price, note)
             VALUES (7, 1, 'Cola \"zero\"', 1, 200, NULL),
                    (7, 0, 'Margherita', 2, 950, 'no basil');
             INSERT INTO events (seq, room, kind, at, data)
             VALUES (1, 'restaurant:r1', 'new_order', 0, '{\"a\":1}');",
        );
        migrate(&mut conn).unwrap();
        let order = crate::store::queries::get_order(&conn, 7).unwrap().unwrap();
        let items: Vec<(&str, u32, i64, Option<&str>)> = order
            .items
            .iter()
            .map(|i| (i.name.as_str(), i.qty, i.unit_price, i.note.as_deref()))
            .collect();
        assert_eq!(
            items,
            [
                ("Margherita", 2, 950, Some("no basil")),
                ("Cola \"zero\"", 1, 200, None)
            ]
        );
        let empty = crate::store::queries::get_order(&conn, 8).unwrap().unwrap();
        assert!(empty.items.is_empty());
        let events = crate::store::queries::events_since(&conn, "restaurant:r1", 0, 10).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, r#"{"a":1}"#);
    }

    #[test]
    fn an_order_room_replays_its_old_rows_and_the_restaurant_rows_that_name_it() {
        use crate::store::queries::insert_event;
        // Version 2 stored an order's events a third time, under order:ID.
        let mut conn = at_version(
            2,
            "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                 customer_phone, fulfilment, status, total, created_at, updated_at)
             VALUES (5, 1, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 100, 0, 0),
                    (6, 2, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 100, 0, 0);
             INSERT INTO events (seq, room, kind, at, data, ref) VALUES
                 (1, 'restaurant:r1', 'new_order', 0, '{\"v\":1}', NULL),
                 (2, 'customer:c1', 'new_order', 0, '', 1),
                 (3, 'order:5', 'new_order', 0, '', 1);",
        );
        migrate(&mut conn).unwrap();
        // Now: the restaurant's row names the order; nothing is stored under order:5.
        restaurant_row(&conn, 4, 5, 2);
        restaurant_row(&conn, 5, 6, 3);
        insert_event(
            &conn,
            6,
            &["order:5".to_string()],
            "chat_message",
            0,
            r#"{"v":4}"#,
            None,
        )
        .unwrap();
        let seen = |room: &str, since: u64| seen(&conn, room, since);
        assert_eq!(seen("order:5", 0), [(3, v(1)), (4, v(2)), (6, v(4))]);
        assert_eq!(seen("order:5", 3), [(4, v(2)), (6, v(4))]);
        assert_eq!(seen("order:6", 0), [(5, v(3))]);
        assert_eq!(seen("order:7", 0), []);
        assert_eq!(seen("restaurant:r1", 0), [(1, v(1)), (4, v(2)), (5, v(3))]);
        assert_eq!(seen("customer:c1", 0), [(2, v(1)), (4, v(2)), (5, v(3))]);
    }

    #[test]
    fn a_customer_room_replays_its_old_rows_then_the_restaurant_rows_of_its_orders() {
        // Version 3 stored an order's events again under customer:ID, pointing at the
        // restaurant's row, which named the order.
        let mut conn = at_version(
            3,
            "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                 customer_phone, fulfilment, status, total, created_at, updated_at)
             VALUES (5, 1, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 100, 0, 0),
                    (6, 1, 'r2', 'c1', 'Ann', '555', 'pickup', 'pending', 100, 0, 0),
                    (7, 2, 'r1', 'c2', 'Bo', '556', 'pickup', 'pending', 100, 0, 0);
             INSERT INTO events (seq, room, kind, at, data, ref, order_id) VALUES
                 (1, 'restaurant:r1', 'new_order', 0, '{\"v\":1}', NULL, 5),
                 (2, 'customer:c1', 'new_order', 0, '', 1, NULL),
                 (3, 'restaurant:r1', 'new_order', 0, '{\"v\":2}', NULL, 7),
                 (4, 'customer:c2', 'new_order', 0, '', 3, NULL);",
        );
        migrate(&mut conn).unwrap();
        // Now only the restaurant's row is stored; customer:c1 reads it through order 5
        // or 6, with the restaurant row's seq.
        restaurant_row(&conn, 5, 5, 3);
        restaurant_row(&conn, 6, 6, 4);
        restaurant_row(&conn, 7, 7, 5);
        let seen = |room: &str, since: u64| seen(&conn, room, since);
        assert_eq!(seen("customer:c1", 0), [(2, v(1)), (5, v(3)), (6, v(4))]);
        assert_eq!(seen("customer:c1", 2), [(5, v(3)), (6, v(4))]);
        assert_eq!(seen("customer:c1", 5), [(6, v(4))]);
        assert_eq!(seen("customer:c2", 0), [(4, v(2)), (7, v(5))]);
        assert_eq!(seen("customer:c3", 0), []);
        assert_eq!(seen("restaurant:r1", 2), [(3, v(2)), (5, v(3)), (7, v(5))]);
    }

    #[test]
    fn orders_placed_before_stations_read_as_whole_tickets_and_lose_nothing() {
        use chit_protocol::{ItemState, Priority, Status};
        // Version 5 stored items without a state.
        let items = r#"[{"name":"Pad Thai","qty":2,"unit_price":12000,"note":"no \"peanuts\""},{"name":"Cha yen","qty":1,"unit_price":4500}]"#;
        let mut conn = at_version(
            5,
            &format!(
                "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                     customer_phone, customer_address, note, fulfilment, status, rider,
                     total, created_at, updated_at, ready_at, items)
                 VALUES (1, 1, 'r1', 'c1', 'Ann', '555', '12 Soi 3', 'ring', 'delivery',
                         'delivered', 'bo', 28500, 1000, 5000, 3000, '{items}'),
                        (2, 2, 'r1', 'c1', 'Ann', '555', NULL, NULL, 'pickup',
                         'preparing', NULL, 28500, 2000, 2000, NULL, '{items}'),
                        (3, 3, 'r1', 'c1', 'Ann', '555', NULL, NULL, 'pickup',
                         'ready', NULL, 28500, 2000, 2000, 2500, '{items}'),
                        (4, 4, 'r1', 'c1', 'Ann', '555', NULL, NULL, 'pickup',
                         'cancelled', NULL, 28500, 2000, 2000, NULL, '[]');
                 INSERT INTO events (seq, room, kind, at, data, ref, order_id)
                 VALUES (1, 'restaurant:r1', 'new_order', 1000, '{{\"v\":1}}', NULL, 1);"
            ),
        );
        // Every column version 5 had, as text, and the items without their new state.
        let columns = "id, number, restaurant, customer_id, customer_name, customer_phone, \
             customer_address, note, fulfilment, status, rider, total, created_at, updated_at, \
             ready_at";
        let rows = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT json_array({columns}) FROM orders ORDER BY id"
                ))
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        type Items = Vec<(String, u32, i64, Option<String>)>;
        let items_of = |conn: &Connection| -> Vec<Items> {
            let mut stmt = conn
                .prepare("SELECT items FROM orders ORDER BY id")
                .unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|text| {
                    let items: Vec<chit_protocol::Item> =
                        serde_json::from_str(&text.unwrap()).unwrap();
                    items
                        .into_iter()
                        .map(|i| (i.name, i.qty, i.unit_price, i.note))
                        .collect()
                })
                .collect()
        };
        let (rows_before, items_before) = (rows(&conn), items_of(&conn));
        migrate(&mut conn).unwrap();
        assert_eq!(rows(&conn), rows_before, "nothing lost or changed");
        assert_eq!(items_of(&conn), items_before);
        let states = |id: i64| {
            let o = crate::store::queries::get_order(&conn, id)
                .unwrap()
                .unwrap();
            o.items.iter().map(|i| i.state).collect::<Vec<_>>()
        };
        assert_eq!(states(1), [ItemState::Done, ItemState::Done]);
        assert_eq!(states(2), [ItemState::Queued, ItemState::Queued]);
        assert_eq!(states(3), [ItemState::Done, ItemState::Done]);
        assert!(states(4).is_empty());
        for id in 1..=4 {
            let now = crate::store::queries::get_order(&conn, id)
                .unwrap()
                .unwrap();
            assert!(!now.has_stations() && !now.is_held());
            assert_eq!(
                (now.source, now.priority, now.due_at),
                (None, Priority::Normal, None)
            );
        }
        let first = crate::store::queries::get_order(&conn, 1).unwrap().unwrap();
        assert_eq!(first.status, Status::Delivered);
        assert_eq!(first.items[0].note.as_deref(), Some("no \"peanuts\""));
        let events = crate::store::queries::events_since(&conn, "order:1", 0, 10).unwrap();
        assert_eq!(events.len(), 1);
        // Migrating again changes nothing.
        let version: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    fn v(n: u32) -> String {
        format!(r#"{{"v":{n}}}"#)
    }

    /// Logs an order's event as the writer now does: one row, for order `order_id`'s
    /// restaurant (r1 or r2 by the order's row), with data `{"v":n}`.
    fn restaurant_row(conn: &Connection, seq: u64, order_id: i64, n: u32) {
        let restaurant: String = conn
            .query_row(
                "SELECT restaurant FROM orders WHERE id = ?1",
                [order_id],
                |r| r.get(0),
            )
            .unwrap();
        crate::store::queries::insert_event(
            conn,
            seq,
            &[format!("restaurant:{restaurant}")],
            "order_update",
            0,
            &v(n),
            Some(order_id),
        )
        .unwrap();
    }

    /// What replaying `room` after `since` sends: (seq, data) in order.
    fn seen(conn: &Connection, room: &str, since: u64) -> Vec<(u64, String)> {
        crate::store::queries::events_since(conn, room, since, 10)
            .unwrap()
            .into_iter()
            .map(|e| (e.seq, e.data))
            .collect()
    }
}
