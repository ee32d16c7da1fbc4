//! The event log in PostgreSQL: seqs from `log_head`, events, replay, retention, the
//! meta facts they keep, and chat, whose messages carry their events' seqs.

use ::postgres::types::ToSql;
use chit_protocol::{ChatMessage, Role, format_time};

use crate::store::postgres::db::Db;
use crate::store::queries::{LOG_AFTER, LogRow, StoredEvent};
use crate::store::tx::{StoreError, TxResult};

/// The first of `n` seqs, taken from `log_head`: its row stays locked until this
/// transaction ends, so seqs follow commit order and a rollback leaves no gap. The
/// writer's own `head` is not needed: other nodes write to the log too.
pub(crate) fn take_seqs(c: &mut impl Db, n: u64, _head: u64) -> TxResult<u64> {
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
    c: &mut impl Db,
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
pub(crate) fn head(c: &mut impl Db) -> TxResult<u64> {
    let seq: i64 = c.query_one("SELECT seq FROM log_head", &[])?.try_get(0)?;
    Ok(seq as u64)
}

/// The log's rows after `after`, every room's, at most `limit` (`queries::log_after`).
pub(crate) fn log_after(c: &mut impl Db, after: u64, limit: u32) -> TxResult<Vec<LogRow>> {
    let rows = c.query(LOG_AFTER, &[&(after as i64), &i64::from(limit)])?;
    rows.iter()
        .map(|r| {
            let order = match (r.try_get::<_, Option<i64>>(5)?, r.try_get(6)?) {
                (Some(id), Some(customer)) => Some((id, customer)),
                _ => None,
            };
            Ok(LogRow {
                seq: r.try_get::<_, i64>(0)? as u64,
                room: r.try_get(1)?,
                kind: r.try_get(2)?,
                at: r.try_get(3)?,
                data: r.try_get(4)?,
                order,
            })
        })
        .collect()
}

pub(crate) fn meta(c: &mut impl Db, key: &str) -> TxResult<u64> {
    let row = c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?;
    Ok(match row {
        Some(r) => r.try_get::<_, i64>(0)? as u64,
        None => 0,
    })
}

pub(super) fn set_meta(c: &mut impl Db, key: &str, value: u64) -> TxResult<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &(value as i64)],
    )?;
    Ok(())
}

/// Events of `room` after `since`, in order, at most `limit` (`queries::events_since`).
pub(crate) fn events_since(
    c: &mut impl Db,
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
pub(crate) fn prune_events(c: &mut impl Db, before: i64) -> TxResult<usize> {
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

// ---- chat ----

pub(crate) fn insert_chat(c: &mut impl Db, m: &ChatMessage, at: i64) -> TxResult<i64> {
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
    c: &mut impl Db,
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
