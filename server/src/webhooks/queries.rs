//! The SQL of webhooks both ways: endpoints and their cursors, the events they are
//! due, and the hooks that place orders. Plain functions over a `Connection`.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// A webhook endpoint as stored, with its delivery progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub secret: String,
    /// The event kinds it asked for; `None`: every stored kind.
    pub events: Option<Vec<String>>,
    pub restaurant: Option<String>,
    pub created_at: i64,
    pub progress: Progress,
}

/// How far an endpoint's deliveries have got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Every event it asked for up to this seq has been acknowledged.
    pub delivered_seq: u64,
    pub delivered_total: u64,
    /// Failed attempts in a row at the next event.
    pub failures: u32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
}

impl Endpoint {
    pub fn wants(&self, kind: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|k| k == kind))
    }
}

const COLUMNS: &str = "id, url, secret, events, restaurant, created_at, delivered_seq, \
     delivered_total, failures, last_error, last_attempt_at, next_attempt_at";

fn endpoint_from_row(r: &Row<'_>) -> rusqlite::Result<Endpoint> {
    let events: Option<String> = r.get(3)?;
    Ok(Endpoint {
        id: r.get(0)?,
        url: r.get(1)?,
        secret: r.get(2)?,
        events: events.map(|e| e.split(',').map(str::to_string).collect()),
        restaurant: r.get(4)?,
        created_at: r.get(5)?,
        progress: Progress {
            delivered_seq: r.get::<_, i64>(6)? as u64,
            delivered_total: r.get::<_, i64>(7)? as u64,
            failures: r.get(8)?,
            last_error: r.get(9)?,
            last_attempt_at: r.get(10)?,
            next_attempt_at: r.get(11)?,
        },
    })
}

/// Adds an endpoint that is due every event committed after `from` (the head now).
pub fn insert_webhook(
    conn: &Connection,
    url: &str,
    secret: &str,
    events: Option<&[String]>,
    restaurant: Option<&str>,
    now: i64,
) -> rusqlite::Result<i64> {
    let from = crate::store::queries::head(conn)?;
    conn.execute(
        "INSERT INTO webhooks (url, secret, events, restaurant, created_at, delivered_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            url,
            secret,
            events.map(|e| e.join(",")),
            restaurant,
            now,
            from as i64
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn webhooks(conn: &Connection) -> rusqlite::Result<Vec<Endpoint>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"))?
        .query_map([], endpoint_from_row)?
        .collect()
}

pub fn webhook(conn: &Connection, id: i64) -> rusqlite::Result<Option<Endpoint>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?
        .query_row([id], endpoint_from_row)
        .optional()
}

pub fn remove_webhook(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM webhooks WHERE id = ?1", [id])? == 1)
}

/// Saves an endpoint's progress (nothing, if it was removed meanwhile).
pub fn save_progress(conn: &Connection, id: i64, p: &Progress) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE webhooks SET delivered_seq = ?2, delivered_total = ?3, failures = ?4,
            last_error = ?5, last_attempt_at = ?6, next_attempt_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        p.delivered_seq as i64,
        p.delivered_total as i64,
        p.failures,
        p.last_error,
        p.last_attempt_at,
        p.next_attempt_at
    ])?;
    Ok(())
}

/// An event as stored, for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub seq: u64,
    pub room: String,
    pub kind: String,
    pub at: i64,
    pub data: String,
}

/// Events after `after`, each once (the row that holds its data: an order's event is
/// its restaurant's row), only `restaurant:ID`'s if a restaurant is given, in seq
/// order, at most `limit`.
pub fn events_after(
    conn: &Connection,
    after: u64,
    restaurant: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<LogEvent>> {
    let read = |r: &Row<'_>| {
        Ok(LogEvent {
            seq: r.get::<_, i64>(0)? as u64,
            room: r.get(1)?,
            kind: r.get(2)?,
            at: r.get(3)?,
            data: r.get(4)?,
        })
    };
    match restaurant {
        Some(r) => conn
            .prepare_cached(
                "SELECT seq, room, kind, at, data FROM events
                 WHERE room = ?1 AND seq > ?2 AND ref IS NULL ORDER BY seq LIMIT ?3",
            )?
            .query_map(
                params![format!("restaurant:{r}"), after as i64, limit],
                read,
            )?
            .collect(),
        None => conn
            .prepare_cached(
                "SELECT seq, room, kind, at, data FROM events
                 WHERE seq > ?1 AND ref IS NULL ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![after as i64, limit], read)?
            .collect(),
    }
}

/// The lowest cursor of any endpoint: retention keeps every event after it.
pub fn slowest_cursor(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    conn.query_row("SELECT MIN(delivered_seq) FROM webhooks", [], |r| {
        r.get::<_, Option<i64>>(0)
    })
    .map(|v| v.map(|v| v.max(0) as u64))
}

/// The number naming this database (see migration 0005).
pub fn instance(conn: &Connection) -> rusqlite::Result<u64> {
    crate::store::queries::meta(conn, "instance")
}

// ---- hooks (webhooks in) ----

/// A sender of signed orders: its secret and the pos token it speaks as.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub name: String,
    pub secret: String,
    pub token_id: i64,
    pub created_at: i64,
}

pub fn insert_hook(
    conn: &Connection,
    name: &str,
    secret: &str,
    token_id: i64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO hooks (name, secret, token_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, secret, token_id, now],
    )?;
    Ok(())
}

fn hook_from_row(r: &Row<'_>) -> rusqlite::Result<Hook> {
    Ok(Hook {
        name: r.get(0)?,
        secret: r.get(1)?,
        token_id: r.get(2)?,
        created_at: r.get(3)?,
    })
}

pub fn hook(conn: &Connection, name: &str) -> rusqlite::Result<Option<Hook>> {
    conn.prepare_cached("SELECT name, secret, token_id, created_at FROM hooks WHERE name = ?1")?
        .query_row([name], hook_from_row)
        .optional()
}

pub fn hooks(conn: &Connection) -> rusqlite::Result<Vec<Hook>> {
    conn.prepare("SELECT name, secret, token_id, created_at FROM hooks ORDER BY name")?
        .query_map([], hook_from_row)?
        .collect()
}

pub fn remove_hook(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    let token: Option<i64> = conn
        .query_row("SELECT token_id FROM hooks WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    conn.execute("DELETE FROM hooks WHERE name = ?1", [name])?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::insert_event;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn an_endpoint_is_due_events_from_the_head_when_it_was_added() {
        let conn = db();
        let rooms = |r: &str| vec![format!("restaurant:{r}"), "riders".to_string()];
        insert_event(&conn, 1, &rooms("r1"), "new_order", 0, "{}", Some(1)).unwrap();
        let id = insert_webhook(&conn, "http://x", "whsec_a", None, None, 5).unwrap();
        let all = webhook(&conn, id).unwrap().unwrap();
        assert_eq!(
            all.progress.delivered_seq, 2,
            "events before it are not due"
        );
        insert_event(
            &conn,
            3,
            &rooms("r2"),
            "order_update",
            0,
            "{\"a\":1}",
            Some(2),
        )
        .unwrap();
        insert_event(
            &conn,
            5,
            &["chat:staff".to_string()],
            "chat_message",
            0,
            "{}",
            None,
        )
        .unwrap();
        insert_event(&conn, 6, &rooms("r1"), "order_update", 0, "{}", Some(1)).unwrap();
        let seqs = |after, r: Option<&str>| -> Vec<(u64, String)> {
            events_after(&conn, after, r, 10)
                .unwrap()
                .into_iter()
                .map(|e| (e.seq, e.room))
                .collect()
        };
        // Each event once: the riders' rows that point at an order's event are skipped.
        assert_eq!(
            seqs(2, None),
            [
                (3, "restaurant:r2".to_string()),
                (5, "chat:staff".to_string()),
                (6, "restaurant:r1".to_string())
            ]
        );
        assert_eq!(seqs(2, Some("r1")), [(6, "restaurant:r1".to_string())]);
        assert_eq!(
            events_after(&conn, 2, None, 1).unwrap()[0].data,
            "{\"a\":1}"
        );
        let kinds = Some(vec!["order_update".to_string()]);
        let filtered = Endpoint {
            events: kinds,
            ..all.clone()
        };
        assert!(filtered.wants("order_update") && !filtered.wants("new_order"));
        assert!(all.wants("chat_message"));
    }

    #[test]
    fn progress_is_saved_and_the_slowest_cursor_holds_retention() {
        let conn = db();
        assert_eq!(slowest_cursor(&conn).unwrap(), None);
        let a = insert_webhook(&conn, "http://a", "whsec_a", None, Some("r1"), 0).unwrap();
        let b = insert_webhook(&conn, "http://b", "whsec_b", None, None, 0).unwrap();
        let progress = Progress {
            delivered_seq: 40,
            delivered_total: 12,
            failures: 3,
            last_error: Some("503 Service Unavailable".into()),
            last_attempt_at: Some(7),
            next_attempt_at: Some(9),
        };
        save_progress(&conn, a, &progress).unwrap();
        save_progress(
            &conn,
            b,
            &Progress {
                delivered_seq: 55,
                ..progress.clone()
            },
        )
        .unwrap();
        assert_eq!(webhook(&conn, a).unwrap().unwrap().progress, progress);
        assert_eq!(slowest_cursor(&conn).unwrap(), Some(40));
        assert!(remove_webhook(&conn, a).unwrap());
        assert!(!remove_webhook(&conn, a).unwrap());
        assert_eq!(slowest_cursor(&conn).unwrap(), Some(55));
        assert!(instance(&conn).unwrap() > 0);
    }
}
