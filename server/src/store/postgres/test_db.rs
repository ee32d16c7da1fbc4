//! A throwaway PostgreSQL database with chit's schema, for the module's tests: made on
//! the server `CHIT_TEST_PG` names (by default the local one over its Unix socket, as
//! `scripts/deps.sh` sets it up), dropped with its connections when the value is.

/// A database of its own for one test.
pub struct TestDb {
    name: String,
    admin: ::postgres::Config,
}

impl TestDb {
    /// A new database with [`super::SCHEMA`] in it; panics saying what to run if the
    /// server cannot be reached.
    pub fn create() -> TestDb {
        let text = std::env::var("CHIT_TEST_PG").unwrap_or_else(|_| {
            format!("host=/var/run/postgresql user={} dbname=postgres", user())
        });
        let admin: ::postgres::Config = text.parse().expect("CHIT_TEST_PG");
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("random bytes");
        let name = format!("chit_unit_{:016x}", u64::from_le_bytes(bytes));
        admin
            .connect(::postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("CREATE DATABASE {name}")))
            .unwrap_or_else(|e| {
                panic!("cannot reach PostgreSQL ({e}): run scripts/deps.sh, or set CHIT_TEST_PG")
            });
        let db = TestDb { name, admin };
        db.connect()
            .batch_execute(super::SCHEMA)
            .expect("create chit's tables");
        db
    }

    pub fn connect(&self) -> ::postgres::Client {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        config
            .connect(::postgres::NoTls)
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self
            .admin
            .connect(::postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&sql))
        {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// The user this process runs as (peer authentication compares it with the role).
fn user() -> String {
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .or_else(|| std::env::var("USER").ok())
        .expect("the current user's name")
}

#[test]
fn a_test_database_has_the_schema_and_goes_away() {
    let db = TestDb::create();
    let name = db.name.clone();
    let seq: i64 = db
        .connect()
        .query_one("SELECT seq FROM log_head", &[])
        .unwrap()
        .get(0);
    assert_eq!(seq, 0);
    let admin = db.admin.clone();
    drop(db);
    let left = admin
        .connect(::postgres::NoTls)
        .unwrap()
        .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap();
    assert!(left.is_empty());
}
