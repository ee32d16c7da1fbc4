//! `chit-server backup PATH`: a consistent copy of the live database, taken with
//! SQLite's online backup while the server keeps committing, checked with
//! `integrity_check` and only then put in place. It never writes to the database. The
//! copy is marked to get a new log epoch when a server opens it (see `store::epoch`).
//! A PostgreSQL store's backup is the same kind of file: its tables copied from one
//! snapshot into a new SQLite database (`store::postgres::copy::to_sqlite`), which a
//! server can serve with `--db` or `chit-server migrate` puts back into PostgreSQL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::StepResult;

use super::offline::Target;
use crate::store::{epoch, queries};

/// What `chit-server backup` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy: a new file (see --force).
    pub path: PathBuf,
    /// Replace PATH if it exists.
    #[arg(long)]
    pub force: bool,
}

/// A finished copy, as checked after writing.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub orders: u64,
    /// The newest event seq in the copy: every change through it is there.
    pub head: u64,
    pub took: Duration,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = match self.bytes {
            b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
            b => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        };
        let orders = match self.orders {
            1 => "1 order".to_string(),
            n => format!("{n} orders"),
        };
        write!(
            f,
            "wrote '{}': {size}, {orders}, events through seq {}, integrity ok, in {:.2} s",
            self.path.display(),
            self.head,
            self.took.as_secs_f64()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("'{0}' already exists; pass --force to replace it")]
    Exists(PathBuf),
    /// The path is in the message's context (`backing up '…'`).
    #[error("there is no such database (give its path with --db or CHIT_DB)")]
    NoDatabase(PathBuf),
    #[error("'{0}' is the database itself")]
    SameFile(PathBuf),
    #[error("the copy failed its integrity check (nothing was written to the target): {0}")]
    Corrupt(String),
    #[error("the database stayed locked for {0} s")]
    Locked(u64),
    #[error("{what}: {source}")]
    Db {
        what: &'static str,
        source: rusqlite::Error,
    },
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] crate::store::postgres::copy::CopyError),
    #[cfg(not(feature = "postgres"))]
    #[error("this chit-server was built without PostgreSQL (the 'postgres' feature)")]
    Unsupported,
    #[error("{what} '{path}': {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How long the copy keeps retrying while the source is locked (a checkpoint's or a
/// recovery's moment), before it gives up.
const LOCKED_FOR_AT_MOST: Duration = Duration::from_secs(30);

/// Backs up the database `from` names to the SQLite file `target`.
pub fn run(from: &Target, target: &Path, force: bool) -> Result<Written, BackupError> {
    match from {
        Target::Sqlite(db) => backup(db, target, force),
        #[cfg(feature = "postgres")]
        Target::Postgres(url) => backup_postgres(url, target, force),
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(_) => Err(BackupError::Unsupported),
    }
}

/// Copies the database at `db` to `target` while a server may be writing to it.
///
/// The copy is made in one step, under one read transaction: in WAL mode that never
/// blocks the server's writer, and it sees one commit's state whole (a copy made in
/// several steps would start over each time the server commits between them, and under
/// steady orders might never finish). It goes to a temporary file beside `target`, is
/// turned into a single-file (rollback journal) database, checked, flushed and only
/// then renamed into place, so a failed backup leaves no partial file.
pub fn backup(db: &Path, target: &Path, force: bool) -> Result<Written, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_path_buf()));
    }
    if target.exists() && same_file(db, target) {
        return Err(BackupError::SameFile(target.to_path_buf()));
    }
    write_checked(target, force, |path| {
        let source = super::open_existing(db).map_err(db_err("opening the database"))?;
        let mut copy = Connection::open(path).map_err(db_err("opening the copy"))?;
        copy_whole(&source, &mut copy)?;
        Ok(copy)
    })
}

/// Copies the PostgreSQL database `url` names to the SQLite file `target`, from one
/// snapshot (a REPEATABLE READ transaction, which blocks no server's writes), then
/// checks and puts it in place as [`backup`] does.
#[cfg(feature = "postgres")]
pub fn backup_postgres(url: &str, target: &Path, force: bool) -> Result<Written, BackupError> {
    use crate::store::postgres::{self, copy::CopyError};
    write_checked(target, force, |path| {
        let mut pg = postgres::connect(url).map_err(|error| CopyError::Postgres {
            what: "connecting".into(),
            error,
        })?;
        let mut copy =
            crate::store::open_connection(path, true).map_err(db_err("making the copy"))?;
        postgres::copy::to_sqlite::copy(&mut pg, &mut copy)?;
        Ok(copy)
    })
}

/// Makes the copy (`fill` writes it into the new file it is given, and returns it
/// open) in a temporary file beside `target`, checks it, and only then puts it at
/// `target`.
fn write_checked(
    target: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<Connection, BackupError>,
) -> Result<Written, BackupError> {
    let started = Instant::now();
    if target.exists() && !force {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { what, path, source }
    };
    let temp = tempfile::Builder::new()
        .prefix(".chit-backup-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(io("creating a temporary file in", dir))?;
    let copy = fill(temp.path())?;

    let check = || -> rusqlite::Result<(Vec<String>, u64, u64)> {
        // A server that opens the copy (a restore, once or again later) gives its log
        // a new epoch: clients holding seqs of the log it replaces resync instead of
        // resuming over seqs that stand for other events here.
        epoch::renew_at_next_open(&copy)?;
        // One file, no -wal or -shm beside it: a restore is one file to put back, and
        // the server turns WAL back on when it opens it.
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        let problems = copy
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((
            problems,
            queries::count_orders(&copy)?,
            queries::head(&copy)?,
        ))
    };
    let (problems, orders, head) = check().map_err(db_err("checking the copy"))?;
    if problems != ["ok"] {
        return Err(BackupError::Corrupt(problems.join("; ")));
    }
    copy.close()
        .map_err(|(_, e)| db_err("closing the copy")(e))?;
    temp.as_file()
        .sync_all()
        .map_err(io("flushing", temp.path()))?;
    let bytes = temp
        .as_file()
        .metadata()
        .map_err(io("reading the size of", temp.path()))?
        .len();
    if force {
        temp.persist(target)
            .map_err(|e| io("replacing", target)(e.error))?;
    } else {
        // Refused here too if the file appeared while the copy was made.
        temp.persist_noclobber(target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Exists(target.to_path_buf())
            } else {
                io("writing", target)(e.error)
            }
        })?;
    }
    sync_dir(dir).map_err(io("flushing the directory", dir))?;
    Ok(Written {
        path: target.to_path_buf(),
        bytes,
        orders,
        head,
        took: started.elapsed(),
    })
}

/// Copies every page of `source` into `copy` in one backup step, retrying while the
/// source is briefly locked.
fn copy_whole(source: &Connection, copy: &mut Connection) -> Result<(), BackupError> {
    let backup =
        rusqlite::backup::Backup::new(source, copy).map_err(db_err("starting the copy"))?;
    let deadline = Instant::now() + LOCKED_FOR_AT_MOST;
    loop {
        match backup.step(-1).map_err(db_err("copying the database"))? {
            StepResult::Done => return Ok(()),
            // With -1 a step copies everything; `More` cannot happen, but is harmless.
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(BackupError::Locked(LOCKED_FOR_AT_MOST.as_secs()));
            }
            _ => {}
        }
    }
}

fn db_err(what: &'static str) -> impl Fn(rusqlite::Error) -> BackupError {
    move |source| BackupError::Db { what, source }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Makes the rename itself durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with_orders(dir: &Path, n: i64) -> PathBuf {
        let db = dir.join("chit.db");
        let conn = crate::store::open_connection(&db, true).unwrap();
        for i in 0..n {
            conn.execute(
                "INSERT INTO orders (number, restaurant, customer_id, customer_name,
                    customer_phone, fulfilment, status, total, created_at, updated_at)
                 VALUES (?1, 'r1', 'c', 'Ann', '1', 'pickup', 'pending', 100, 0, 0)",
                [i],
            )
            .unwrap();
        }
        db
    }

    #[test]
    fn a_copy_is_one_checked_file_and_an_existing_target_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_orders(dir.path(), 3);
        let target = dir.path().join("copy.db");
        let written = backup(&db, &target, false).unwrap();
        assert_eq!((written.orders, written.path.clone()), (3, target.clone()));
        assert_eq!(written.bytes, std::fs::metadata(&target).unwrap().len());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("copy.db-") || n.starts_with(".chit-backup-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let mode: String = Connection::open(&target)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");

        let err = backup(&db, &target, false).unwrap_err();
        assert!(matches!(err, BackupError::Exists(_)), "{err}");
        db_with_orders(dir.path(), 2);
        assert_eq!(backup(&db, &target, true).unwrap().orders, 5);
        let err = backup(&db, &db, true).unwrap_err();
        assert!(matches!(err, BackupError::SameFile(_)), "{err}");
    }

    #[test]
    fn a_copy_gets_a_new_epoch_when_served_and_the_database_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_orders(dir.path(), 1);
        let live = epoch::read(&crate::store::open_connection(&db, true).unwrap()).unwrap();
        assert_ne!(live, 0);
        let target = dir.path().join("copy.db");
        backup(&db, &target, false).unwrap();
        let copy = crate::store::open_connection(&target, true).unwrap();
        assert_eq!(epoch::read(&copy).unwrap(), 0, "chosen when served");
        let served = epoch::choose(&copy).unwrap();
        assert!(served != 0 && served != live, "{live} {served}");
        let source = crate::store::open_connection(&db, true).unwrap();
        assert_eq!(epoch::read(&source).unwrap(), live);
    }

    #[test]
    fn a_missing_database_is_an_error_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("none.db");
        let err = backup(&db, &dir.path().join("copy.db"), false).unwrap_err();
        assert!(matches!(err, BackupError::NoDatabase(_)), "{err}");
        assert!(!db.exists() && !dir.path().join("copy.db").exists());
    }
}
