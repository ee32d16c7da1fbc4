//! What chit's PostgreSQL queries need of a connection: [`Db`], the four calls they make.
//! Any `GenericClient` (a client, a transaction) is one, each statement prepared as it
//! runs; the writer's transaction is [`Cached`], which prepares each statement once per
//! connection and runs it again by name. The `postgres` client keeps no statements of
//! its own, and one prepared anew costs a round trip and PostgreSQL's parse and plan each
//! time: on the writer's path, every statement of every order (BENCHMARKS.md, "More
//! than one node", "Where the time goes").

use std::collections::HashMap;

use ::postgres::types::ToSql;
use ::postgres::{Error, GenericClient, Row, Statement, Transaction};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A connection that runs chit's queries.
pub(crate) trait Db {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error>;
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error>;
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error>;
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error>;
}

impl<C: GenericClient> Db for C {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        GenericClient::query(self, sql, params)
    }
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        GenericClient::query_one(self, sql, params)
    }
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        GenericClient::query_opt(self, sql, params)
    }
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        GenericClient::execute(self, sql, params)
    }
}

/// The statements prepared on one connection, by their text. Emptied when the
/// connection is made again: a statement belongs to the connection that prepared it.
pub(crate) type Statements = HashMap<String, Statement>;

/// The most statements kept per connection. The writer's are fixed texts, a few dozen.
const MAX_STATEMENTS: usize = 256;

/// A transaction whose statements are prepared once per connection (in `statements`).
pub(crate) struct Cached<'t, 'a> {
    pub tx: &'t mut Transaction<'a>,
    pub statements: &'t mut Statements,
}

impl Cached<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        if self.statements.len() >= MAX_STATEMENTS {
            // Only a statement whose text is built per call could come this far; start
            // again rather than hold every one (dropped, each is closed on the server).
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Db for Cached<'_, '_> {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::test_db::TestDb;

    /// The statements PostgreSQL holds prepared for this session.
    fn prepared(c: &mut impl Db) -> i64 {
        c.query_one("SELECT count(*) FROM pg_prepared_statements", &[])
            .unwrap()
            .get(0)
    }

    #[test]
    fn a_statement_is_prepared_once_per_connection_and_run_again_by_name() {
        let db = TestDb::create();
        let mut client = db.connect();
        let mut statements = Statements::new();
        for round in 0..3_i64 {
            let mut tx = client.transaction().unwrap();
            let mut c = Cached {
                tx: &mut tx,
                statements: &mut statements,
            };
            let row = c.query_one("SELECT $1::BIGINT + 1", &[&round]).unwrap();
            assert_eq!(row.get::<_, i64>(0), round + 1);
            assert_eq!(c.statements.len(), 1, "round {round}");
            // The one kept by name, and this count's own (prepared as it runs, closed after).
            assert_eq!(prepared(c.tx), 2, "round {round}");
            tx.commit().unwrap();
        }
    }

    #[test]
    fn statements_built_per_call_do_not_pile_up() {
        let db = TestDb::create();
        let mut client = db.connect();
        let mut statements = Statements::new();
        let mut tx = client.transaction().unwrap();
        let mut c = Cached {
            tx: &mut tx,
            statements: &mut statements,
        };
        for n in 0..(MAX_STATEMENTS as i64 + 10) {
            let row = c.query_one(&format!("SELECT {n}::BIGINT"), &[]).unwrap();
            assert_eq!(row.get::<_, i64>(0), n);
            assert!(c.statements.len() <= MAX_STATEMENTS);
        }
        assert_eq!(c.statements.len(), 10);
        assert!(
            prepared(c.tx) <= MAX_STATEMENTS as i64,
            "closed on the server too"
        );
    }
}
