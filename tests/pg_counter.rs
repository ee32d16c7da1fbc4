//! Why PostgreSQL's event log takes its seqs from the one-row `log_head` counter and not
//! from a sequence: on a real PostgreSQL, with separate connections interleaved step by
//! step, a tailing reader of `seq > last` skips a row whose seq came from a sequence
//! but committed late; with the counter, the next writer waits on the counter's row
//! lock, the reader sees nothing until the first commits, and never skips. Then many
//! writers at once, some rolling back: the reader sees every seq once, in order.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chit_e2e::pg::PgDb;
use chit_e2e::wait_until;
use chit_server::store::postgres::SCHEMA;
use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;

/// Every seq after `last` that a reader sees now, in order.
fn read_after(reader: &mut Client, table: &str, last: i64) -> Vec<i64> {
    reader
        .query(
            &format!("SELECT seq FROM {table} WHERE seq > $1 ORDER BY seq"),
            &[&last],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A tailing reader: reads what follows its last seq and moves past it.
struct Tail {
    client: Client,
    table: &'static str,
    last: i64,
    seen: Vec<i64>,
}

impl Tail {
    fn new(db: &PgDb, table: &'static str) -> Tail {
        Tail {
            client: db.connect(),
            table,
            last: 0,
            seen: Vec::new(),
        }
    }

    fn poll(&mut self) -> Vec<i64> {
        let new = read_after(&mut self.client, self.table, self.last);
        if let Some(&newest) = new.last() {
            self.last = newest;
        }
        self.seen.extend(&new);
        new
    }
}

/// Takes `n` seqs as chit's writer does: the counter's update is the transaction's last
/// statement before its events; returns them.
fn take_seqs(tx: &mut impl postgres::GenericClient, n: i64) -> Vec<i64> {
    let last: i64 = tx
        .query_one("UPDATE log_head SET seq = seq + $1 RETURNING seq", &[&n])
        .unwrap()
        .get(0);
    let seqs: Vec<i64> = (last - n + 1..=last).collect();
    for seq in &seqs {
        tx.execute(
            "INSERT INTO events (seq, room, kind, at, data) VALUES ($1, 'restaurant:r1', 'new_order', 0, '{}')",
            &[seq],
        )
        .unwrap();
    }
    seqs
}

fn backend_pid(client: &mut Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

#[test]
fn with_a_sequence_a_tailing_reader_skips_a_row_that_commits_late() {
    let db = PgDb::create();
    db.connect()
        .batch_execute("CREATE TABLE log (seq BIGSERIAL PRIMARY KEY, what TEXT NOT NULL)")
        .unwrap();
    let insert = "INSERT INTO log (what) VALUES ($1) RETURNING seq";
    let mut reader = Tail::new(&db, "log");

    // T1 takes a value and stays open.
    let mut c1 = db.connect();
    let mut t1 = c1.transaction().unwrap();
    let s1: i64 = t1.query_one(insert, &[&"t1"]).unwrap().get(0);
    // T2 takes the next and commits.
    let mut c2 = db.connect();
    let mut t2 = c2.transaction().unwrap();
    let s2: i64 = t2.query_one(insert, &[&"t2"]).unwrap().get(0);
    assert!(s2 > s1);
    t2.commit().unwrap();

    // The reader sees T2's row and moves past T1's seq.
    assert_eq!(reader.poll(), [s2]);
    t1.commit().unwrap();
    assert_eq!(
        reader.poll(),
        Vec::<i64>::new(),
        "T1's row is behind the reader"
    );

    let stored = read_after(&mut db.connect(), "log", 0);
    assert_eq!(stored, [s1, s2]);
    let skipped: Vec<i64> = stored
        .into_iter()
        .filter(|s| !reader.seen.contains(s))
        .collect();
    assert_eq!(skipped, [s1], "the reader never saw T1's row");
}

#[test]
fn with_the_counter_the_next_writer_waits_and_the_reader_never_skips() {
    let db = PgDb::create();
    db.connect().batch_execute(SCHEMA).unwrap();
    let mut reader = Tail::new(&db, "events");
    let mut watcher = db.connect();

    // T1 takes its seq and stays open.
    let mut c1 = db.connect();
    let t1_pid = backend_pid(&mut c1);
    let mut t1 = c1.transaction().unwrap();
    let s1 = take_seqs(&mut t1, 1);
    assert_eq!(s1, [1]);

    // T2, on a thread of its own, asks for the next: it must wait for T1.
    let (pid_tx, pid_rx) = mpsc::channel();
    let t2 = thread::spawn({
        let mut c2 = db.connect();
        move || {
            pid_tx.send(backend_pid(&mut c2)).unwrap();
            let mut t2 = c2.transaction().unwrap();
            let seqs = take_seqs(&mut t2, 2);
            t2.commit().unwrap();
            seqs
        }
    });
    let t2_pid = pid_rx.recv().unwrap();
    // Until PostgreSQL itself says T2 is blocked on a lock that T1 holds.
    let blocked = wait_until("T2 to wait on T1's lock", || {
        let row = watcher
            .query_one(
                "SELECT $2 = ANY(pg_blocking_pids($1)),
                        (SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1)",
                &[&t2_pid, &t1_pid],
            )
            .unwrap();
        let (by_t1, wait): (bool, Option<String>) = (row.get(0), row.get(1));
        (by_t1 && wait.as_deref() == Some("Lock")).then_some(())
    });
    assert!(blocked.is_some(), "T2 waits on the counter's row lock");
    assert!(!t2.is_finished());

    // Nothing is visible while T1 is open and T2 waits.
    assert_eq!(reader.poll(), Vec::<i64>::new());
    t1.commit().unwrap();
    // T1's row is visible now (T2's too, perhaps, if it has committed meanwhile).
    let first = reader.poll();
    assert_eq!(first.first(), Some(&1), "{first:?}");
    let s2 = t2.join().unwrap();
    assert_eq!(s2, [2, 3], "T2's seqs follow T1's");
    reader.poll();
    assert_eq!(reader.seen, [1, 2, 3], "every row, once, in order");
    let head: i64 = watcher
        .query_one("SELECT seq FROM log_head", &[])
        .unwrap()
        .get(0);
    assert_eq!(head, 3);
}

#[test]
fn many_writers_at_once_and_some_rollbacks_leave_no_gap_and_nothing_skipped() {
    const WRITERS: usize = 4;
    const TRANSACTIONS: usize = 40;
    let db = PgDb::create();
    db.connect().batch_execute(SCHEMA).unwrap();
    let mut listener = db.connect();
    listener.batch_execute("LISTEN log").unwrap();
    let mut reader = Tail::new(&db, "events");

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut client = db.connect();
            thread::spawn(move || {
                let mut committed = 0;
                for i in 0..TRANSACTIONS {
                    let mut tx = client.transaction().unwrap();
                    let n = (i % 3 + 1) as i64;
                    take_seqs(&mut tx, n);
                    // A committed transaction tells the listener when it commits.
                    tx.batch_execute("NOTIFY log").unwrap();
                    if (w + i) % 7 == 3 {
                        tx.rollback().unwrap();
                    } else {
                        tx.commit().unwrap();
                        committed += n as usize;
                    }
                }
                committed
            })
        })
        .collect();

    // Read as the writers commit, each read from the last seq seen.
    let mut reads = 0;
    loop {
        let new = reader.poll();
        reads += usize::from(!new.is_empty());
        if writers.iter().all(|w| w.is_finished()) {
            break;
        }
        // Wakes at a commit's notification (or after a while, to look at the writers).
        listener
            .notifications()
            .timeout_iter(Duration::from_millis(200))
            .next()
            .unwrap();
    }
    let total: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    reader.poll();
    let expected: Vec<i64> = (1..=total as i64).collect();
    assert_eq!(
        reader.seen, expected,
        "every committed seq once, in order, with no gap where writers rolled back"
    );
    assert!(
        reads > 1,
        "the reader read while writers wrote ({reads} reads)"
    );
    let head: i64 = db
        .connect()
        .query_one("SELECT seq FROM log_head", &[])
        .unwrap()
        .get(0);
    assert_eq!(head, total as i64);
}
