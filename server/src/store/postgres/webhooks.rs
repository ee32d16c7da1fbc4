//! Webhooks on PostgreSQL, both ways: endpoints and their cursors, the events they are
//! due, and the hooks that place orders (`webhooks::queries`, row for row), and the
//! writer's probe. Names are ordered `COLLATE "C"`, byte order as SQLite's BINARY.

use ::postgres::Row;

use crate::store::postgres::db::Db;
use crate::store::tx::{StoreError, TxResult};
use crate::webhooks::queries::{Endpoint, Hook, LogEvent, Progress};

const COLUMNS: &str = "id, url, secret, events, restaurant, created_at, delivered_seq, \
     delivered_total, failures, last_error, last_attempt_at, next_attempt_at";

fn endpoint_from_row(r: &Row) -> TxResult<Endpoint> {
    let events: Option<String> = r.try_get(3)?;
    let failures: i64 = r.try_get(8)?;
    Ok(Endpoint {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        secret: r.try_get(2)?,
        events: events.map(|e| e.split(',').map(str::to_string).collect()),
        restaurant: r.try_get(4)?,
        created_at: r.try_get(5)?,
        progress: Progress {
            delivered_seq: r.try_get::<_, i64>(6)? as u64,
            delivered_total: r.try_get::<_, i64>(7)? as u64,
            // SQLite refuses a value out of u32's range; so does this.
            failures: u32::try_from(failures).map_err(|_| {
                StoreError::Backend(format!("webhooks.failures {failures} is out of range"))
            })?,
            last_error: r.try_get(9)?,
            last_attempt_at: r.try_get(10)?,
            next_attempt_at: r.try_get(11)?,
        },
    })
}

/// Adds an endpoint that is due every event committed after `from` (the head now: the
/// log's counter, the newest seq handed out, which retention never lowers).
pub(crate) fn insert_webhook(
    c: &mut impl Db,
    url: &str,
    secret: &str,
    events: Option<&[String]>,
    restaurant: Option<&str>,
    now: i64,
) -> TxResult<i64> {
    let row = c.query_one(
        "INSERT INTO webhooks (url, secret, events, restaurant, created_at, delivered_seq)
         VALUES ($1, $2, $3, $4, $5, (SELECT seq FROM log_head)) RETURNING id",
        &[
            &url,
            &secret,
            &events.map(|e| e.join(",")),
            &restaurant,
            &now,
        ],
    )?;
    Ok(row.try_get(0)?)
}

pub(crate) fn webhooks(c: &mut impl Db) -> TxResult<Vec<Endpoint>> {
    c.query(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"), &[])?
        .iter()
        .map(endpoint_from_row)
        .collect()
}

pub(crate) fn webhook(c: &mut impl Db, id: i64) -> TxResult<Option<Endpoint>> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"),
        &[&id],
    )?
    .as_ref()
    .map(endpoint_from_row)
    .transpose()
}

pub(crate) fn remove_webhook(c: &mut impl Db, id: i64) -> TxResult<bool> {
    Ok(c.execute("DELETE FROM webhooks WHERE id = $1", &[&id])? == 1)
}

/// Saves an endpoint's progress (nothing, if it was removed meanwhile).
pub(crate) fn save_webhook_progress(c: &mut impl Db, id: i64, p: &Progress) -> TxResult<()> {
    c.execute(
        "UPDATE webhooks SET delivered_seq = $2, delivered_total = $3, failures = $4,
            last_error = $5, last_attempt_at = $6, next_attempt_at = $7
         WHERE id = $1",
        &[
            &id,
            &(p.delivered_seq as i64),
            &(p.delivered_total as i64),
            &i64::from(p.failures),
            &p.last_error,
            &p.last_attempt_at,
            &p.next_attempt_at,
        ],
    )?;
    Ok(())
}

/// Events after `after`, each once (the row that holds its data: an order's event is
/// its restaurant's row), only `restaurant:ID`'s if a restaurant is given, in seq
/// order, at most `limit`.
pub(crate) fn events_after(
    c: &mut impl Db,
    after: u64,
    restaurant: Option<&str>,
    limit: u32,
) -> TxResult<Vec<LogEvent>> {
    let (after, limit) = (after as i64, i64::from(limit));
    let rows = match restaurant {
        Some(r) => c.query(
            "SELECT seq, room, kind, at, data FROM events
             WHERE room = $1 AND seq > $2 AND ref IS NULL ORDER BY seq LIMIT $3",
            &[&format!("restaurant:{r}"), &after, &limit],
        )?,
        None => c.query(
            "SELECT seq, room, kind, at, data FROM events
             WHERE seq > $1 AND ref IS NULL ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )?,
    };
    rows.iter()
        .map(|r| {
            Ok(LogEvent {
                seq: r.try_get::<_, i64>(0)? as u64,
                room: r.try_get(1)?,
                kind: r.try_get(2)?,
                at: r.try_get(3)?,
                data: r.try_get(4)?,
            })
        })
        .collect()
}

// ---- hooks (webhooks in) ----

pub(crate) fn insert_hook(
    c: &mut impl Db,
    name: &str,
    secret: &str,
    token_id: i64,
    now: i64,
) -> TxResult<()> {
    c.execute(
        "INSERT INTO hooks (name, secret, token_id, created_at) VALUES ($1, $2, $3, $4)",
        &[&name, &secret, &token_id, &now],
    )?;
    Ok(())
}

fn hook_from_row(r: &Row) -> TxResult<Hook> {
    Ok(Hook {
        name: r.try_get(0)?,
        secret: r.try_get(1)?,
        token_id: r.try_get(2)?,
        created_at: r.try_get(3)?,
    })
}

pub(crate) fn hook(c: &mut impl Db, name: &str) -> TxResult<Option<Hook>> {
    c.query_opt(
        "SELECT name, secret, token_id, created_at FROM hooks WHERE name = $1",
        &[&name],
    )?
    .as_ref()
    .map(hook_from_row)
    .transpose()
}

pub(crate) fn hooks(c: &mut impl Db) -> TxResult<Vec<Hook>> {
    c.query(
        r#"SELECT name, secret, token_id, created_at FROM hooks ORDER BY name COLLATE "C""#,
        &[],
    )?
    .iter()
    .map(hook_from_row)
    .collect()
}

/// Removes a hook; the token it spoke as, if there was one.
pub(crate) fn remove_hook(c: &mut impl Db, name: &str) -> TxResult<Option<i64>> {
    Ok(c.query_opt(
        "DELETE FROM hooks WHERE name = $1 RETURNING token_id",
        &[&name],
    )?
    .map(|r| r.try_get(0))
    .transpose()?)
}

/// `/healthz`'s probe inside the writer's transaction. SQLite's takes the write lock
/// and writes nothing; PostgreSQL has no database-wide write lock to take, so a
/// statement that takes no lock and writes nothing shows the connection and the
/// transaction alive, which is what the probe asks.
pub(crate) fn probe(c: &mut impl Db) -> TxResult<()> {
    c.execute("SELECT 1", &[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::test_db::TestDb;
    use crate::webhooks::queries as lite;

    /// The same log on SQLite (in memory) and on PostgreSQL (its head at the newest
    /// seq, as the writers leave it).
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

        fn sql(&mut self, sql: &str) {
            self.lite.execute_batch(sql).unwrap();
            self.pg.batch_execute(sql).unwrap();
        }

        /// One event's rows, seqs from `first`: the data in the first, the others
        /// pointing at it.
        fn event(&mut self, first: i64, rooms: &[&str], kind: &str, data: &str, order: &str) {
            for (i, room) in rooms.iter().enumerate() {
                let seq = first + i as i64;
                let (data, reference) = match i {
                    0 => (data.replace('\'', "''"), "NULL".to_string()),
                    _ => (String::new(), first.to_string()),
                };
                self.sql(&format!(
                    "INSERT INTO events (seq, room, kind, at, data, ref, order_id)
                     VALUES ({seq}, '{room}', '{kind}', {}, '{data}', {reference}, {order})",
                    1_000 * seq
                ));
            }
            let head = first + rooms.len() as i64 - 1;
            self.pg
                .execute("UPDATE log_head SET seq = $1", &[&head])
                .unwrap();
        }
    }

    #[test]
    fn endpoints_get_the_events_sqlites_would_deliver() {
        let mut b = Both::new();
        b.event(
            1,
            &["restaurant:r1", "riders"],
            "new_order",
            r#"{"id":1}"#,
            "1",
        );
        let all = insert_webhook(&mut b.pg, "http://a", "whsec_a", None, None, 5).unwrap();
        let kinds = ["order_update".to_string(), "new_order".to_string()];
        let one = insert_webhook(
            &mut b.pg,
            "http://b",
            "whsec_b",
            Some(&kinds),
            Some("r2"),
            6,
        )
        .unwrap();
        assert_eq!(
            all,
            lite::insert_webhook(&b.lite, "http://a", "whsec_a", None, None, 5).unwrap()
        );
        assert_eq!(
            one,
            lite::insert_webhook(&b.lite, "http://b", "whsec_b", Some(&kinds), Some("r2"), 6)
                .unwrap()
        );
        b.event(
            3,
            &["restaurant:r2", "riders"],
            "order_update",
            r#"{"a":"it's"}"#,
            "2",
        );
        b.event(
            5,
            &["chat:staff"],
            "chat_message",
            r#"{"text":"hi"}"#,
            "NULL",
        );
        b.event(
            6,
            &["restaurant:r1", "riders", "order:1"],
            "order_update",
            "{}",
            "1",
        );
        b.event(9, &["restaurant:r2"], "new_order", r#"{"id":3}"#, "3");
        b.event(10, &["restaurant:r22"], "new_order", r#"{"id":4}"#, "4");
        let ours = webhooks(&mut b.pg).unwrap();
        assert_eq!(ours, lite::webhooks(&b.lite).unwrap());
        assert_eq!(
            ours[0].progress.delivered_seq, 2,
            "due from the head when added"
        );
        assert_eq!(ours[1].events.as_deref(), Some(&kinds[..]));
        for after in [0, 2, 3, 5, 9, 10, 99] {
            for restaurant in [None, Some("r1"), Some("r2"), Some("r9")] {
                for limit in [0, 1, 2, 100] {
                    assert_eq!(
                        events_after(&mut b.pg, after, restaurant, limit).unwrap(),
                        lite::events_after(&b.lite, after, restaurant, limit).unwrap(),
                        "after {after}, {restaurant:?}, {limit}"
                    );
                }
            }
        }
        let seqs: Vec<u64> = events_after(&mut b.pg, 2, None, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [3, 5, 6, 9, 10], "each event once");
        assert_eq!(events_after(&mut b.pg, 2, Some("r2"), 10).unwrap().len(), 2);
    }

    #[test]
    fn progress_and_removal_are_sqlites() {
        let mut b = Both::new();
        for url in ["http://a", "http://b"] {
            insert_webhook(&mut b.pg, url, "whsec", None, Some("r1"), 0).unwrap();
            lite::insert_webhook(&b.lite, url, "whsec", None, Some("r1"), 0).unwrap();
        }
        let progress = Progress {
            delivered_seq: 40,
            delivered_total: 12,
            failures: 3,
            last_error: Some("503 Service Unavailable".into()),
            last_attempt_at: Some(7),
            next_attempt_at: Some(9),
        };
        for (id, p) in [
            (1, progress.clone()),
            (2, Progress::default()),
            (7, progress.clone()),
        ] {
            save_webhook_progress(&mut b.pg, id, &p).unwrap();
            lite::save_progress(&b.lite, id, &p).unwrap();
        }
        assert_eq!(webhook(&mut b.pg, 1).unwrap().unwrap().progress, progress);
        for id in [1, 2, 7] {
            assert_eq!(
                webhook(&mut b.pg, id).unwrap(),
                lite::webhook(&b.lite, id).unwrap()
            );
        }
        for id in [1, 1, 7] {
            assert_eq!(
                remove_webhook(&mut b.pg, id).unwrap(),
                lite::remove_webhook(&b.lite, id).unwrap()
            );
        }
        assert_eq!(
            webhooks(&mut b.pg).unwrap(),
            lite::webhooks(&b.lite).unwrap()
        );
        assert_eq!(webhooks(&mut b.pg).unwrap().len(), 1);
        // A count of failures past u32 is refused by both.
        b.sql("UPDATE webhooks SET failures = 4294967296");
        assert!(webhooks(&mut b.pg).is_err());
        assert!(lite::webhooks(&b.lite).is_err());
    }

    #[test]
    fn hooks_are_listed_in_sqlites_order_and_removed_with_their_token() {
        let mut b = Both::new();
        // A natural-language collation (as a database made with `en_US.UTF-8` has)
        // orders names unlike SQLite.
        b.pg.batch_execute(r#"ALTER TABLE hooks ALTER COLUMN name TYPE TEXT COLLATE "und-x-icu""#)
            .unwrap();
        for (i, name) in ["pos", "Zeta", "alpha", "élan"].into_iter().enumerate() {
            insert_hook(&mut b.pg, name, "whsec_h", 10 + i as i64, 100).unwrap();
            lite::insert_hook(&b.lite, name, "whsec_h", 10 + i as i64, 100).unwrap();
        }
        assert!(insert_hook(&mut b.pg, "pos", "again", 1, 1).is_err());
        let ours = hooks(&mut b.pg).unwrap();
        assert_eq!(ours, lite::hooks(&b.lite).unwrap());
        let names: Vec<&str> = ours.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Zeta", "alpha", "pos", "élan"]);
        for name in ["alpha", "nobody"] {
            assert_eq!(
                hook(&mut b.pg, name).unwrap(),
                lite::hook(&b.lite, name).unwrap()
            );
        }
        for name in ["alpha", "alpha", "nobody"] {
            assert_eq!(
                remove_hook(&mut b.pg, name).unwrap(),
                lite::remove_hook(&b.lite, name).unwrap()
            );
        }
        assert_eq!(hook(&mut b.pg, "alpha").unwrap(), None);
        assert_eq!(hooks(&mut b.pg).unwrap(), lite::hooks(&b.lite).unwrap());
    }

    #[test]
    fn the_probe_passes_in_a_live_transaction_and_fails_in_an_aborted_one() {
        let db = TestDb::create();
        let mut c = db.connect();
        let mut tx = c.transaction().unwrap();
        probe(&mut tx).unwrap();
        assert!(tx.execute("SELECT no_such_column FROM meta", &[]).is_err());
        assert!(probe(&mut tx).is_err(), "the transaction is over");
        tx.rollback().unwrap();
        probe(&mut c).unwrap();
    }
}
