//! Schema migrations, applied in order and tracked by `PRAGMA user_version`. The list
//! is append-only: a shipped migration is never edited.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_lean_writes.sql"),
];

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
    fn orders_and_events_written_before_0002_read_the_same_after() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                 customer_phone, fulfilment, status, total, created_at, updated_at)
             VALUES (7, 3, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 2100, 0, 0),
                    (8, 4, 'r1', 'c1', 'Ann', '555', 'pickup', 'pending', 0, 0, 0);
             INSERT INTO order_items (order_id, pos, name, qty, unit_price, note)
             VALUES (7, 1, 'Cola \"zero\"', 1, 200, NULL),
                    (7, 0, 'Margherita', 2, 950, 'no basil');
             INSERT INTO events (seq, room, kind, at, data)
             VALUES (1, 'restaurant:r1', 'new_order', 0, '{\"a\":1}');",
        )
        .unwrap();
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
}
