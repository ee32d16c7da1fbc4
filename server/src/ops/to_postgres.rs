//! `chit-server migrate --from chit.db --to postgres://…`: copies a SQLite database,
//! which a server may still be writing to, into a new PostgreSQL database (the copy
//! itself is `store::postgres::copy`). It never writes to the SQLite file.

use std::path::{Path, PathBuf};

/// What `chit-server migrate` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy [default: the --db database].
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub from: Option<PathBuf>,
    /// The PostgreSQL database to copy into, which must not have chit's tables yet:
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (a socket directory as HOST is
    /// written %2Fvar%2Frun%2Fpostgresql).
    #[arg(long, value_name = "URL", value_parser = postgres_url)]
    pub to: String,
}

/// A `postgres://` or `postgresql://` URL that names a database; anything else is a
/// usage error.
fn postgres_url(text: &str) -> Result<String, String> {
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err("expected a postgres:// URL".into());
    }
    #[cfg(feature = "postgres")]
    text.parse::<::postgres::Config>()
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
    Ok(text.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The path is in the message's context (`migrating '…'`).
    #[error("there is no such database (give its path with --from, --db or CHIT_DB)")]
    NoDatabase(PathBuf),
    #[error("opening the database: {0}")]
    Open(rusqlite::Error),
    #[cfg(feature = "postgres")]
    // The underlying errors are in the message, not `source`s, so that a chain of
    // them (anyhow's `{:#}`) says each once.
    #[error("connecting to {target}: {}", crate::store::postgres::explain(.error))]
    Connect {
        target: String,
        error: ::postgres::Error,
    },
    #[cfg(feature = "postgres")]
    #[error("into {target}: {error}")]
    Copy {
        target: String,
        error: crate::store::postgres::copy::CopyError,
    },
    #[cfg(not(feature = "postgres"))]
    #[error("this chit-server was built without PostgreSQL (cargo feature 'postgres')")]
    Unsupported,
}

/// Copies `db` into the database `args.to` names; returns what was copied, to print.
#[cfg(feature = "postgres")]
pub fn run(db: &Path, args: &MigrateArgs) -> Result<String, MigrateError> {
    use crate::store::postgres;
    if !db.is_file() {
        return Err(MigrateError::NoDatabase(db.to_path_buf()));
    }
    let sqlite = open_read_only(db).map_err(MigrateError::Open)?;
    let config: ::postgres::Config = args.to.parse().map_err(|error| MigrateError::Connect {
        target: "the database".into(),
        error,
    })?;
    let target = postgres::describe(&config);
    let mut pg = postgres::connect(&args.to).map_err(|error| MigrateError::Connect {
        target: target.clone(),
        error,
    })?;
    let copied = postgres::copy::copy(&sqlite, &mut pg).map_err(|error| MigrateError::Copy {
        target: target.clone(),
        error,
    })?;
    Ok(format!("copied '{}' into {target}: {copied}", db.display()))
}

#[cfg(not(feature = "postgres"))]
pub fn run(_db: &Path, _args: &MigrateArgs) -> Result<String, MigrateError> {
    Err(MigrateError::Unsupported)
}

/// The SQLite file, opened read-only: the copy cannot change it, whether or not a
/// server has it open.
#[cfg(feature = "postgres")]
fn open_read_only(db: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_postgres_url_is_taken() {
        assert!(postgres_url("postgres://chit@%2Fvar%2Frun%2Fpostgresql/chit").is_ok());
        assert!(postgres_url("postgresql://chit:pw@db:6432/chit").is_ok());
        assert!(postgres_url("chit.db").is_err());
        assert!(postgres_url("host=/tmp dbname=chit").is_err());
        assert!(postgres_url("mysql://db/chit").is_err());
    }
}
