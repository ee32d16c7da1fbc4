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
