//! Nodes on one PostgreSQL database, for the tests of what holds across nodes: `n`
//! in-process servers on one throwaway database, and its rows read off the test's
//! threads, waited for with a deadline.

use std::sync::Arc;
use std::time::Duration;

use chit_server::Config;

use crate::TestServer;
use crate::pg::PgDb;

/// How long a condition is waited for before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Two nodes on one new database.
pub async fn two_nodes() -> (Arc<PgDb>, TestServer, TestServer) {
    let (db, mut nodes) = nodes(2, Config::default()).await;
    let b = nodes.pop().unwrap();
    (db, nodes.pop().unwrap(), b)
}

/// `n` nodes on one new database, started one after another.
pub async fn nodes(n: usize, config: Config) -> (Arc<PgDb>, Vec<TestServer>) {
    let db = Arc::new(std::thread::spawn(PgDb::create).join().unwrap());
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(node(&db, config.clone()).await);
    }
    (db, nodes)
}

/// One more node on `db`.
pub async fn node(db: &Arc<PgDb>, config: Config) -> TestServer {
    TestServer::on_database(db.clone(), tempfile::tempdir().unwrap(), config).await
}

/// Runs `query` on the database off the test's threads (the client blocks on a runtime
/// of its own); its rows.
pub async fn rows(db: &Arc<PgDb>, query: &'static str) -> Vec<postgres::Row> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.connect().query(query, &[]).unwrap())
        .await
        .unwrap()
}

/// Reads `query` again (every 50 ms) until `done` holds for its rows, for at most
/// [`WAIT`]; the rows.
pub async fn rows_until(
    db: &Arc<PgDb>,
    query: &'static str,
    what: &str,
    done: impl Fn(&[postgres::Row]) -> bool,
) -> Vec<postgres::Row> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let got = rows(db, query).await;
        if done(&got) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
    }
}
