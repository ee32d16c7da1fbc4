//! Copies a SQLite database into a new PostgreSQL one: every table, row for row and
//! value for value (ids and seqs as they are), in one PostgreSQL transaction, from one
//! SQLite snapshot. What PostgreSQL numbers by itself (the log's head, the identities)
//! is set past what was copied. It refuses a database that has chit's tables already.
//! [`to_sqlite`] copies the other way.

pub mod to_sqlite;

use std::time::{Duration, Instant};

use ::postgres::Transaction;
use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::types::{ToSql, Type};
use rusqlite::Connection;

use super::{LOG_HEAD, SCHEMA, TABLES};
use crate::store::{migrate, queries};

/// What a copy wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    /// Each table and the rows copied into it, in [`TABLES`]' order.
    pub tables: Vec<(&'static str, u64)>,
    /// The log's head, now `log_head.seq`: the next event is given the seq after it.
    pub head: u64,
    pub took: Duration,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: u64 = self.tables.iter().map(|(_, n)| n).sum();
        writeln!(
            f,
            "{rows} rows in {} tables, events through seq {}, in {:.2} s:",
            self.tables.len(),
            self.head,
            self.took.as_secs_f64()
        )?;
        let width = self.tables.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
        for (i, (table, n)) in self.tables.iter().enumerate() {
            let end = if i + 1 == self.tables.len() { "" } else { "\n" };
            write!(f, "  {table:<width$}  {n:>9}{end}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target already holds chit's tables ({}); migrate copies only into a database without them, and changed nothing",
        .0.join(", ")
    )]
    NotEmpty(Vec<String>),
    #[error("the database has no chit tables (is it the one the servers use?)")]
    NoTables,
    #[error(
        "the SQLite database has schema version {found} and this chit-server {wanted}: start this chit-server on it once, so that it brings the schema up to date, then migrate"
    )]
    Version { found: usize, wanted: usize },
    #[error("table '{table}' has columns {sqlite} in SQLite but {postgres} in PostgreSQL")]
    Columns {
        table: &'static str,
        sqlite: String,
        postgres: String,
    },
    #[error("table '{table}', column '{column}': {reason}")]
    Value {
        table: &'static str,
        column: String,
        reason: String,
    },
    // The underlying errors are in the message, not `source`s: printed as a chain
    // (anyhow's `{:#}`) they would be said twice.
    #[error("{what}: {error}")]
    Sqlite {
        what: String,
        error: rusqlite::Error,
    },
    #[error("{what}: {}", super::explain(.error))]
    Postgres {
        what: String,
        error: ::postgres::Error,
    },
}

/// An arbitrary key for `pg_advisory_xact_lock`: two copies into one database at once
/// take turns, and the second finds the first's tables.
const COPY_LOCK: i64 = 0x6368_6974_636f_7079; // "chitcopy"

/// Copies everything in `sqlite` into `pg`'s current schema, which must not have chit's
/// tables yet. Reads `sqlite` in one read transaction (the server may be committing
/// meanwhile: the copy is the database as of one commit) and writes in one PostgreSQL
/// transaction, so a failed copy leaves the target as it was.
pub fn copy(sqlite: &Connection, pg: &mut ::postgres::Client) -> Result<Copied, CopyError> {
    let started = Instant::now();
    let lite = |what: &str| {
        let what = what.to_string();
        move |error| CopyError::Sqlite { what, error }
    };
    // One snapshot: a deferred transaction's first read fixes what every later one sees.
    sqlite
        .execute_batch("BEGIN DEFERRED")
        .map_err(lite("starting the read"))?;
    let result = copy_in_snapshot(sqlite, pg, started);
    let _ = sqlite.execute_batch("ROLLBACK");
    result
}

fn copy_in_snapshot(
    sqlite: &Connection,
    pg: &mut ::postgres::Client,
    started: Instant,
) -> Result<Copied, CopyError> {
    let lite = |what: &str| {
        let what = what.to_string();
        move |error| CopyError::Sqlite { what, error }
    };
    let found: usize = sqlite
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(lite("reading the schema version"))?;
    if found != migrate::VERSION {
        return Err(CopyError::Version {
            found,
            wanted: migrate::VERSION,
        });
    }
    let head = queries::head(sqlite).map_err(lite("reading the log's head"))?;

    let mut tx = pg
        .transaction()
        .map_err(pg_err("starting the transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&COPY_LOCK])
        .map_err(pg_err("waiting for another copy into the database"))?;
    let present: Vec<String> = tx
        .query(
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relname = ANY($1)
             ORDER BY c.relname",
            &[&TABLES.as_slice()],
        )
        .map_err(pg_err("looking for chit's tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !present.is_empty() {
        return Err(CopyError::NotEmpty(present));
    }
    tx.batch_execute(SCHEMA)
        .map_err(pg_err("creating chit's tables"))?;

    let mut tables = Vec::new();
    for table in TABLES.into_iter().filter(|t| *t != LOG_HEAD) {
        tables.push((table, copy_table(sqlite, &mut tx, table)?));
    }
    let head_i64 = i64::try_from(head).expect("seqs fit i64, as SQLite stores them");
    tx.execute("UPDATE log_head SET seq = $1", &[&head_i64])
        .map_err(pg_err("setting the log's head"))?;
    restart_identities(&mut tx)?;
    tx.commit().map_err(pg_err("committing the copy"))?;
    Ok(Copied {
        tables,
        head,
        took: started.elapsed(),
    })
}

/// Copies one table with binary COPY, the columns named as PostgreSQL has them (the
/// same set as SQLite's: a schema that drifted is an error, not a half copy).
fn copy_table(
    sqlite: &Connection,
    tx: &mut Transaction<'_>,
    table: &'static str,
) -> Result<u64, CopyError> {
    let columns = tx
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
        .map_err(pg_err(format!("reading the columns of '{table}'")))?
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect::<Vec<_>>();
    let lite = |what: String| move |error| CopyError::Sqlite { what, error };
    let sqlite_columns: Vec<String> = sqlite
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .and_then(|mut s| {
            s.query_map([table], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(lite(format!("reading the columns of '{table}'")))?;
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let (mut a, mut b) = (names.clone(), sqlite_columns.clone());
    a.sort_unstable();
    b.sort_unstable();
    if a != b {
        return Err(CopyError::Columns {
            table,
            sqlite: sqlite_columns.join(", "),
            postgres: names.join(", "),
        });
    }

    // Quoted: some of chit's column names (`key`, `by`) are keywords somewhere.
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let types: Vec<Type> = columns.iter().map(|(_, t)| t.clone()).collect();
    let sink = tx
        .copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))
        .map_err(pg_err(format!("starting the copy of '{table}'")))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let mut select = sqlite
        .prepare(&format!("SELECT {list} FROM {table}"))
        .map_err(lite(format!("reading '{table}'")))?;
    let mut rows = select
        .query([])
        .map_err(lite(format!("reading '{table}'")))?;
    let mut cells: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.next().map_err(lite(format!("reading '{table}'")))? {
        cells.clear();
        for (i, (name, ty)) in columns.iter().enumerate() {
            let value = |reason: String| CopyError::Value {
                table,
                column: name.clone(),
                reason,
            };
            let cell: Box<dyn ToSql + Sync> = match *ty {
                Type::INT8 => Box::new(
                    row.get::<_, Option<i64>>(i)
                        .map_err(|e| value(format!("not an integer: {e}")))?,
                ),
                Type::TEXT => Box::new(
                    row.get::<_, Option<String>>(i)
                        .map_err(|e| value(format!("not text: {e}")))?,
                ),
                ref other => return Err(value(format!("PostgreSQL type {other} is not copied"))),
            };
            cells.push(cell);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = cells.iter().map(|c| c.as_ref()).collect();
        writer
            .write(&refs)
            .map_err(pg_err(format!("copying into '{table}'")))?;
    }
    writer
        .finish()
        .map_err(pg_err(format!("finishing the copy of '{table}'")))
}

/// Sets each identity (orders, tokens, chat messages, webhooks) to go on after the
/// highest id copied, as SQLite would have.
fn restart_identities(tx: &mut Transaction<'_>) -> Result<(), CopyError> {
    let identities = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .map_err(pg_err("listing the identities"))?;
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(\"{column}\"), 0) + 1, false)
                 FROM {table}"
            ),
            &[&table, &column],
        )
        .map_err(pg_err(format!("restarting the ids of '{table}'")))?;
    }
    Ok(())
}

fn pg_err(what: impl Into<String>) -> impl FnOnce(::postgres::Error) -> CopyError {
    let what = what.into();
    move |error| CopyError::Postgres { what, error }
}
