//! The log's epoch: a random number naming this event log (see migration 0007). Seqs
//! compare only within one epoch: a client resuming with `since` from another epoch is
//! told `resync_required`, since the seqs it holds may stand for other events here. A
//! backup's copy is marked to get a new epoch when a server next opens it, so that
//! restoring it (once, or again later) never passes for the log the clients knew.

use rusqlite::Connection;

use super::queries;

/// The largest epoch, 2^53 - 1: JavaScript reads every epoch exactly.
pub const MAX: u64 = (1 << 53) - 1;

const KEY: &str = "epoch";

/// The database's epoch; 0 if it has none yet (a copy `backup` wrote, not yet served).
pub fn read(conn: &Connection) -> rusqlite::Result<u64> {
    queries::meta(conn, KEY)
}

/// The database's epoch, chosen now (at random, from 1 to [`MAX`]) if it has none yet.
/// For the server as it opens the database, before it serves anything.
pub fn choose(conn: &Connection) -> rusqlite::Result<u64> {
    let epoch = read(conn)?;
    if epoch != 0 {
        return Ok(epoch);
    }
    // Only if still unchosen: of two openers at once, one chooses and both read it.
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, 1 + abs(random() % ?2))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value = 0",
        rusqlite::params![KEY, MAX as i64],
    )?;
    read(conn)
}

/// Marks a copy of the database so that the next server to open it chooses a new epoch.
pub fn renew_at_next_open(conn: &Connection) -> rusqlite::Result<()> {
    queries::set_meta(conn, KEY, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_new_database_has_an_epoch_that_stays() {
        let conn = migrated();
        let epoch = read(&conn).unwrap();
        assert!((1..=MAX).contains(&epoch), "{epoch}");
        assert_eq!(choose(&conn).unwrap(), epoch);
        assert_eq!(choose(&conn).unwrap(), epoch);
        let other = read(&migrated()).unwrap();
        assert_ne!(other, epoch, "another database, another epoch");
    }

    #[test]
    fn a_marked_copy_gets_a_new_epoch_once_and_keeps_it() {
        let conn = migrated();
        let before = read(&conn).unwrap();
        renew_at_next_open(&conn).unwrap();
        assert_eq!(read(&conn).unwrap(), 0);
        let after = choose(&conn).unwrap();
        assert!(
            (1..=MAX).contains(&after) && after != before,
            "{before} {after}"
        );
        assert_eq!(choose(&conn).unwrap(), after);
        // Marked again (a second restore of the same copy): yet another.
        renew_at_next_open(&conn).unwrap();
        let again = choose(&conn).unwrap();
        assert!(again != after && again != before);
    }

    #[test]
    fn every_epoch_is_within_what_javascript_reads_exactly() {
        let conn = migrated();
        for _ in 0..2000 {
            renew_at_next_open(&conn).unwrap();
            let epoch = choose(&conn).unwrap();
            assert!((1..=MAX).contains(&epoch), "{epoch}");
        }
    }
}
