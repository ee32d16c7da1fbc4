//! The kitchen's PostgreSQL queries against SQLite's, on the same rows.

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

    /// Gives PostgreSQL's text columns a natural-language collation (as a database
    /// made with `en_US.UTF-8` has), which orders text unlike SQLite.
    fn natural_collation(&mut self, columns: &[(&str, &str)]) {
        for (table, column) in columns {
            self.pg
                .batch_execute(&format!(
                    r#"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT COLLATE "und-x-icu""#
                ))
                .unwrap();
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
    b.natural_collation(&[("menu_loads", "restaurant"), ("menus", "restaurant")]);
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
    let sql = "SELECT restaurant, menu, version, loaded_at FROM menus";
    let mut pg: Vec<(String, String, i64, i64)> =
        b.pg.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
    let mut stmt = b.lite.prepare(sql).unwrap();
    let mut lite: Vec<(String, String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    pg.sort();
    lite.sort();
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
    b.natural_collation(&[("unavailable", "restaurant"), ("unavailable", "item")]);
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
