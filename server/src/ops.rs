//! What an operator runs beside the server: the log's format, `chit-server backup`
//! (a consistent copy of the live database), `chit-server export` (orders for
//! accounting), `chit-server menu` (a restaurant's menu) and `chit-server migrate` (the
//! database copied into PostgreSQL). Only a menu load writes to the database, and only
//! what the running server takes up itself.

pub mod backup;
pub mod export;
pub mod logging;
pub mod menu;
pub mod offline;
pub mod to_postgres;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Prints a command's answer on stdout, a line. A reader that went away (`chit-server
/// menu show | head`) ends the output quietly, as it would any Unix tool's, where
/// `println!` would panic.
pub fn say(text: impl std::fmt::Display) -> std::io::Result<()> {
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Opens an existing database (never creating one) for reading beside a running
/// server. Read-write at the file level, since a reader of a WAL database takes part in
/// its shared memory, but `query_only`, and without running migrations.
pub(crate) fn open_existing(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}
