//! PostgreSQL, for chit-server nodes that share one database: its schema (SQLite's
//! tables, column for column, and the event log's counter) and [`copy`], which fills a
//! new PostgreSQL database from a SQLite one (`chit-server migrate`), and the queries
//! a PostgreSQL backend makes in PostgreSQL's dialect (`orders`: orders, the log,
//! tokens and chat; `kitchen`, `today`, `webhooks`).

pub(crate) mod backend;
pub(crate) mod db;
pub mod lease;
pub use backend::ensure_admin_token;

/// Stores a token (by its hash) for `who`, as `chit-server token issue` does; its id.
pub fn insert_token(
    client: &mut ::postgres::Client,
    hash: &str,
    who: &crate::auth::Principal,
    now: i64,
) -> Result<i64, crate::store::StoreError> {
    orders::insert_token(client, hash, who, now)
}
pub mod copy;
// The query functions of the PostgreSQL backend, which its Tx and Snapshot call.
#[cfg_attr(not(test), allow(dead_code, unused_imports))]
pub(crate) mod kitchen;
#[cfg_attr(not(test), allow(dead_code, unused_imports))]
pub(crate) mod orders;
#[cfg(test)]
mod test_db;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod today;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod webhooks;

/// chit's tables in PostgreSQL, created in the connection's current schema.
pub const SCHEMA: &str = include_str!("postgres/schema.sql");

/// Every table of [`SCHEMA`], in the order [`copy`] fills them.
pub const TABLES: [&str; 14] = [
    "meta",
    "tokens",
    "hooks",
    "orders",
    "idempotency_keys",
    "order_numbers",
    "fire_schedule",
    "events",
    "chat_messages",
    "webhooks",
    "menus",
    "menu_loads",
    "unavailable",
    LOG_HEAD,
];

/// The one table SQLite has no counterpart of: the newest seq handed out.
pub const LOG_HEAD: &str = "log_head";

/// Connects to the database a `postgres://` URL (or `key=value` string) names. Without
/// TLS: `sslmode=require` is refused; a database on another machine is reached through
/// a tunnel or a local socket for now.
pub fn connect(url: &str) -> Result<::postgres::Client, ::postgres::Error> {
    ::postgres::Client::connect(url, ::postgres::NoTls)
}

/// A PostgreSQL error with what it carries: its own text is only the kind (`db error`),
/// and the server's message is its source.
pub fn explain(error: &::postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// Whether `error` is a collision with another transaction that trying again may get
/// past: a serialization failure (40001), a deadlock (40P01), or a unique key two
/// transactions inserted at once (23505).
pub fn is_conflict(error: &::postgres::Error) -> bool {
    use ::postgres::error::SqlState;
    error.code().is_some_and(|code| {
        [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::UNIQUE_VIOLATION,
        ]
        .contains(code)
    })
}

/// Where a URL points, without its password: `database 'chit' on /var/run/postgresql`.
pub fn describe(config: &::postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            ::postgres::config::Host::Tcp(name) => name.clone(),
            ::postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let hosts = match hosts.is_empty() {
        true => "localhost".to_string(),
        false => hosts.join(", "),
    };
    let ports = config.get_ports();
    let port = match ports.first() {
        Some(p) if *p != 5432 => format!(" port {p}"),
        _ => String::new(),
    };
    format!(
        "database '{}' on {hosts}{port}",
        config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of each `CREATE TABLE` in the schema, in order.
    fn schema_columns() -> Vec<(String, Vec<String>)> {
        let mut tables = Vec::new();
        let mut current: Option<(String, Vec<String>)> = None;
        for line in SCHEMA.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let name = rest.trim_end_matches(" (").to_string();
                current = Some((name, Vec::new()));
            } else if line.starts_with(");") {
                tables.extend(current.take());
            } else if let Some((_, columns)) = current.as_mut() {
                let first = line.split_whitespace().next().unwrap_or("");
                if !first.is_empty() && first != "PRIMARY" && !first.starts_with("--") {
                    columns.push(first.trim_matches('"').to_string());
                }
            }
        }
        tables
    }

    #[test]
    fn the_schema_has_sqlites_tables_and_columns_in_sqlites_order() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        let sqlite_tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let schema = schema_columns();
        let mut in_schema: Vec<&str> = schema.iter().map(|(t, _)| t.as_str()).collect();
        in_schema.sort();
        let mut listed: Vec<&str> = TABLES.to_vec();
        listed.sort();
        assert_eq!(in_schema, listed, "TABLES lists the schema's tables");
        let mut expected: Vec<&str> = sqlite_tables.iter().map(String::as_str).collect();
        expected.push(LOG_HEAD);
        expected.sort();
        assert_eq!(in_schema, expected, "SQLite's tables and log_head");
        for (table, columns) in &schema {
            if table == LOG_HEAD {
                assert_eq!(columns, &["only", "seq"]);
                continue;
            }
            let sqlite: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                ))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(columns, &sqlite, "the columns of '{table}'");
        }
    }

    #[test]
    fn a_target_is_described_without_its_password() {
        let config: ::postgres::Config = "postgres://chit:s3cret@db.example:6432/orders"
            .parse()
            .unwrap();
        assert_eq!(
            describe(&config),
            "database 'orders' on db.example port 6432"
        );
        let config: ::postgres::Config = "postgresql://chit@%2Fvar%2Frun%2Fpostgresql/chit"
            .parse()
            .unwrap();
        assert_eq!(describe(&config), "database 'chit' on /var/run/postgresql");
    }
}
