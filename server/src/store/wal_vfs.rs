//! A thin VFS over SQLite's own that writes the log (`-wal` file) in one piece per
//! commit.
//!
//! SQLite writes each frame of a commit with two `pwrite` calls (a 24-byte header, then
//! the page): a commit of a hundred orders is a couple of hundred system calls before its
//! `fsync`, and under load those calls were a third of the writer thread's time. Here the
//! log file's writes that follow on from each other are gathered in memory and written
//! with one call when SQLite syncs the log (every commit, as the writer runs with
//! `synchronous=FULL`), or before anything else touches the file (a read, a size, a
//! truncate, a lock, a file control, a write elsewhere, closing). Nothing is held past a
//! commit, and a commit only counts once its sync has returned, as before. Every other
//! file (the database, its shared memory) is SQLite's own file object, untouched.
//!
//! Only connections that sync every commit may use it: with `synchronous=NORMAL` or
//! `OFF` a commit would be visible to readers while its frames are still in memory.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the database with.
pub const NAME: &CStr = c"chit-wal";

/// Writes are gathered up to this many bytes, then written out.
const MAX_GATHERED: usize = 4 << 20;

/// The most one write of the base VFS takes: the unix VFS writes at most 128 KiB - 1
/// bytes in one call (it masks the length), so gathered bytes go out in pieces of 124 KiB.
const MAX_WRITE: usize = 124 << 10;

/// Whether the database `conn` opened may keep using this VFS: only if its file is
/// "power-safe overwrite" (the unix default). Without it SQLite pads each commit to a
/// sector boundary and writes part of the last frame *after* syncing the log, which this
/// VFS would hold in memory past the commit.
pub fn suits(conn: &rusqlite::Connection) -> bool {
    let mut setting: c_int = -1;
    // SAFETY: the handle is open for the connection's lifetime; this file control only
    // reads the setting into `setting` when given -1.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_POWERSAFE_OVERWRITE,
            (&raw mut setting).cast(),
        )
    };
    rc == ffi::SQLITE_OK && setting == 1
}

/// Registers the VFS once; `false` if SQLite has no default VFS to build on.
pub fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe in the
        // bundled (serialized) build; the VFS struct is leaked, so it outlives every
        // connection, as SQLite requires.
        unsafe {
            let base = ffi::sqlite3_vfs_find(std::ptr::null());
            if base.is_null() {
                return false;
            }
            let mut vfs: ffi::sqlite3_vfs = *base;
            vfs.pNext = std::ptr::null_mut();
            vfs.zName = NAME.as_ptr();
            vfs.pAppData = base.cast();
            vfs.szOsFile = (std::mem::size_of::<LogFile>() + (*base).szOsFile as usize) as c_int;
            vfs.xOpen = Some(open);
            ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0) == ffi::SQLITE_OK
        }
    })
}

/// The file object of a log file: SQLite's `sqlite3_file` header (pointing at
/// [`METHODS`]), the gathered writes, then the base VFS's own file object.
#[repr(C)]
struct LogFile {
    header: ffi::sqlite3_file,
    /// Bytes to write at `at`, contiguous.
    gathered: Vec<u8>,
    at: i64,
    /// The base VFS's file object, in the same allocation just after this struct.
    base: *mut ffi::sqlite3_file,
}

fn base_vfs(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: pAppData was set to the base VFS in `register`.
    unsafe { (*vfs).pAppData.cast() }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base_vfs(vfs);
    // SAFETY: SQLite gives `file` szOsFile bytes, which is room for a LogFile and the
    // base VFS's object after it; the base's xOpen fills that object in.
    unsafe {
        let base_open = (*base).xOpen.expect("a VFS opens files");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Any other file is the base VFS's object, at the start of the allocation.
            return base_open(base, name, file, flags, out_flags);
        }
        let log = file.cast::<LogFile>();
        let inner = file
            .cast::<u8>()
            .add(std::mem::size_of::<LogFile>())
            .cast::<ffi::sqlite3_file>();
        let rc = base_open(base, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite calls xClose only when pMethods is set.
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        log.write(LogFile {
            header: ffi::sqlite3_file { pMethods: &METHODS },
            gathered: Vec::new(),
            at: 0,
            base: inner,
        });
        ffi::SQLITE_OK
    }
}

/// The log file and the base VFS's methods for it.
///
/// # Safety
/// `file` is a file this VFS opened as a log, not yet closed.
unsafe fn parts<'a>(
    file: *mut ffi::sqlite3_file,
) -> (&'a mut LogFile, &'a ffi::sqlite3_io_methods) {
    // SAFETY: per the function's contract.
    unsafe {
        let log = &mut *file.cast::<LogFile>();
        let methods = &*(*log.base).pMethods;
        (log, methods)
    }
}

/// Writes out what is gathered. On failure the gathered bytes are dropped: they belong
/// to a transaction that now fails.
fn flush(log: &mut LogFile, methods: &ffi::sqlite3_io_methods) -> c_int {
    if log.gathered.is_empty() {
        return ffi::SQLITE_OK;
    }
    let write = methods.xWrite.expect("a file can be written");
    let mut rc = ffi::SQLITE_OK;
    let mut at = log.at;
    for chunk in log.gathered.chunks(MAX_WRITE) {
        #[cfg(test)]
        tests::BASE_WRITES.with(|n| n.set(n.get() + 1));
        // SAFETY: the base file is open; the chunk is valid for its length.
        rc = unsafe { write(log.base, chunk.as_ptr().cast(), chunk.len() as c_int, at) };
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    log.gathered.clear();
    if log.gathered.capacity() > MAX_GATHERED {
        log.gathered.shrink_to(MAX_GATHERED);
    }
    rc
}

/// Flushes, then runs `f` on the base file.
macro_rules! after_flush {
    ($file:expr, |$base:ident, $methods:ident| $call:expr) => {{
        // SAFETY: SQLite calls the methods only on an open file of this VFS.
        let (log, $methods) = unsafe { parts($file) };
        let rc = flush(log, $methods);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let $base = log.base;
        #[allow(unused_unsafe)]
        // SAFETY: the base file is open, and the arguments are SQLite's own.
        unsafe {
            $call
        }
    }};
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once, after its last use.
    let (log, methods) = unsafe { parts(file) };
    let flushed = flush(log, methods);
    let base = log.base;
    // SAFETY: the LogFile was written in `open` and is not used after this.
    unsafe { std::ptr::drop_in_place(file.cast::<LogFile>()) };
    let closed = unsafe { methods.xClose.expect("a file can be closed")(base) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite calls the methods only on an open file of this VFS.
    let (log, methods) = unsafe { parts(file) };
    let follows_on = log.at + log.gathered.len() as i64 == offset;
    if !follows_on || log.gathered.len() + amount as usize > MAX_GATHERED {
        let rc = flush(log, methods);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        log.at = offset;
    }
    // SAFETY: SQLite passes `amount` readable bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), amount as usize) };
    log.gathered.extend_from_slice(bytes);
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    after_flush!(file, |base, m| m.xRead.unwrap()(base, buf, amount, offset))
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    after_flush!(file, |base, m| m.xTruncate.unwrap()(base, size))
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    after_flush!(file, |base, m| m.xSync.unwrap()(base, flags))
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    after_flush!(file, |base, m| m.xFileSize.unwrap()(base, size))
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    after_flush!(file, |base, m| m.xLock.unwrap()(base, level))
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    after_flush!(file, |base, m| m.xUnlock.unwrap()(base, level))
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    after_flush!(file, |base, m| m.xCheckReservedLock.unwrap()(base, out))
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    after_flush!(file, |base, m| m.xFileControl.unwrap()(base, op, arg))
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls the methods only on an open file of this VFS.
    let (log, methods) = unsafe { parts(file) };
    unsafe { methods.xSectorSize.unwrap()(log.base) }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls the methods only on an open file of this VFS.
    let (log, methods) = unsafe { parts(file) };
    unsafe { methods.xDeviceCharacteristics.unwrap()(log.base) }
}

/// Version 1: a log file has no shared memory or memory mapping of its own.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rusqlite::{Connection, OpenFlags, params};

    use super::*;

    thread_local! {
        /// Writes this thread made to log files through the base VFS.
        pub static BASE_WRITES: Cell<usize> = const { Cell::new(0) };
    }

    fn writer(path: &std::path::Path) -> Connection {
        assert!(register());
        let vfs = NAME.to_str().unwrap();
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs).unwrap();
        conn.execute_batch(
            "PRAGMA page_size = 2048; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT, v BLOB);
             CREATE INDEX IF NOT EXISTS t_k ON t (k);",
        )
        .unwrap();
        conn
    }

    fn rows(path: &std::path::Path) -> Vec<(i64, String, Vec<u8>)> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT id, k, v FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn value(i: i64) -> Vec<u8> {
        (0..300 + (i % 7) * 100)
            .map(|b| (b * 31 + i) as u8)
            .collect()
    }

    #[test]
    fn only_a_power_safe_database_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(register());
        let vfs = NAME.to_str().unwrap();
        let open = |name: &str| {
            Connection::open_with_flags_and_vfs(dir.path().join(name), OpenFlags::default(), vfs)
                .unwrap()
        };
        assert!(suits(&open("plain.db")));
        let uri = format!("file:{}?psow=0", dir.path().join("padded.db").display());
        let padded = Connection::open_with_flags_and_vfs(uri, OpenFlags::default(), vfs).unwrap();
        assert!(!suits(&padded));
    }

    #[test]
    fn a_commit_is_written_in_a_few_calls_and_read_back_whole_by_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = writer(&path);
        // Many rows over scattered index leaves: well over a hundred log frames.
        let before = BASE_WRITES.with(Cell::get);
        let tx = conn.transaction().unwrap();
        for i in 0..400 {
            tx.execute(
                "INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)",
                params![i, format!("key-{}", i % 37), value(i)],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let writes = BASE_WRITES.with(Cell::get) - before;
        let wal = std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len();
        let frames = (wal - 32) / (2048 + 24);
        assert!(frames > 100, "only {frames} frames were written");
        // The log header, then the frames in pieces of at most MAX_WRITE bytes.
        let most = 1 + (wal as usize).div_ceil(MAX_WRITE);
        assert!(
            writes <= most,
            "{writes} writes for {frames} frames (at most {most} expected)"
        );
        let read = rows(&path);
        assert_eq!(read.len(), 400);
        for (i, k, v) in read {
            assert_eq!((k, v), (format!("key-{}", i % 37), value(i)));
        }
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_transaction_larger_than_the_cache_spills_rolls_back_and_commits_correctly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = writer(&path);
        // A small page cache: the transaction spills frames to the log before its commit
        // and reads some of them back, through the gathered writes.
        conn.execute_batch("PRAGMA cache_size = 20").unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..3000 {
            tx.execute(
                "INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)",
                params![i, format!("gone-{}", i % 50), value(i)],
            )
            .unwrap();
        }
        let seen: i64 = tx
            .query_row("SELECT COUNT(*) FROM t WHERE k = 'gone-7'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(seen, 60);
        tx.rollback().unwrap();
        // More than MAX_GATHERED bytes in one commit, over the rolled-back frames.
        let tx = conn.transaction().unwrap();
        for i in 0..12_000 {
            tx.execute(
                "INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)",
                params![i, format!("key-{}", i % 37), value(i)],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        assert!(
            std::fs::metadata(path.with_extension("db-wal"))
                .unwrap()
                .len()
                > MAX_GATHERED as u64
        );
        drop(conn);
        let read = rows(&path);
        assert_eq!(read.len(), 12_000);
        assert!(
            read.iter()
                .all(|(i, k, v)| *k == format!("key-{}", i % 37) && *v == value(*i))
        );
        let conn = Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
