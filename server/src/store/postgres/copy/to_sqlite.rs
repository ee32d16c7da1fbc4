//! The other way: copies a PostgreSQL database into a new SQLite one (`chit-server
//! backup` of a PostgreSQL store), every table row for row from one REPEATABLE READ
//! snapshot, into a SQLite database that has chit's schema and nothing else yet.

use std::time::Instant;

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::Type;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::{Copied, CopyError, pg_err};
use crate::store::postgres::{LOG_HEAD, TABLES};
use crate::store::queries;

/// Copies everything in `pg` into `sqlite`, a database with chit's schema (as
/// `store::open_connection` makes it): one read-only snapshot of `pg`, written in one
/// SQLite transaction. The copy's log has `pg`'s head, so a server on it goes on from
/// the next seq.
pub fn copy(pg: &mut ::postgres::Client, sqlite: &mut Connection) -> Result<Copied, CopyError> {
    let started = Instant::now();
    let lite = |what: String| move |error| CopyError::Sqlite { what, error };
    let mut snapshot = pg
        .build_transaction()
        .isolation_level(::postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg_err("starting the read"))?;
    let present: Option<String> = snapshot
        .query_one("SELECT to_regclass('log_head')::text", &[])
        .map_err(pg_err("looking for chit's tables"))?
        .get(0);
    if present.is_none() {
        return Err(CopyError::NoTables);
    }
    let head: i64 = snapshot
        .query_one("SELECT seq FROM log_head", &[])
        .map_err(pg_err("reading the log's head"))?
        .get(0);
    let tx = sqlite
        .transaction()
        .map_err(lite("starting the copy".into()))?;
    let mut tables = Vec::new();
    for table in TABLES.into_iter().filter(|t| *t != LOG_HEAD) {
        tables.push((table, copy_table(&mut snapshot, &tx, table)?));
    }
    // Seqs are never handed out twice: if the newest events are gone (retention), the
    // copy still knows how far the log went, as SQLite keeps it.
    let head = head as u64;
    if queries::head(&tx).map_err(lite("reading the copy's head".into()))? < head {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('pruned_through', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [head as i64],
        )
        .map_err(lite("setting the log's head".into()))?;
    }
    tx.commit().map_err(lite("committing the copy".into()))?;
    snapshot.commit().map_err(pg_err("ending the read"))?;
    Ok(Copied {
        tables,
        head,
        took: started.elapsed(),
    })
}

/// Replaces the rows of one table (what a new database starts with, if anything) with
/// PostgreSQL's, the columns named as PostgreSQL has them (the same set as SQLite's).
fn copy_table(
    pg: &mut ::postgres::Transaction<'_>,
    sqlite: &Connection,
    table: &'static str,
) -> Result<u64, CopyError> {
    let lite = |what: String| move |error| CopyError::Sqlite { what, error };
    let columns = pg
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
        .map_err(pg_err(format!("reading the columns of '{table}'")))?
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect::<Vec<_>>();
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
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let slots = (1..=names.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlite
        .execute(&format!("DELETE FROM {table}"), [])
        .map_err(lite(format!("emptying '{table}'")))?;
    let mut insert = sqlite
        .prepare(&format!("INSERT INTO {table} ({list}) VALUES ({slots})"))
        .map_err(lite(format!("writing '{table}'")))?;
    let no_params: [&str; 0] = [];
    let mut rows = pg
        .query_raw(&format!("SELECT {list} FROM {table}"), no_params)
        .map_err(pg_err(format!("reading '{table}'")))?;
    let mut copied = 0;
    let mut cells: Vec<Value> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.next().map_err(pg_err(format!("reading '{table}'")))? {
        cells.clear();
        for (i, (name, ty)) in columns.iter().enumerate() {
            let value = |reason: String| CopyError::Value {
                table,
                column: name.clone(),
                reason,
            };
            let cell = match *ty {
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)
                    .map_err(|e| value(format!("not an integer: {e}")))?
                    .map_or(Value::Null, Value::Integer),
                Type::TEXT => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(|e| value(format!("not text: {e}")))?
                    .map_or(Value::Null, Value::Text),
                ref other => return Err(value(format!("PostgreSQL type {other} is not copied"))),
            };
            cells.push(cell);
        }
        insert
            .execute(rusqlite::params_from_iter(cells.iter()))
            .map_err(lite(format!("writing '{table}'")))?;
        copied += 1;
    }
    Ok(copied)
}
