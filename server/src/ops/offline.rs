//! The database chit-server's offline commands (`token`, `webhook`, `hook`, `menu`)
//! change or read directly, beside any running server: the SQLite file (`--db`) or the
//! PostgreSQL database (`--store`). One method per query, each answered by that
//! backend's own query function, so the commands print the same on both.

use std::path::{Path, PathBuf};

use chit_protocol::{Menu, UnavailableItem};

use crate::auth::Principal;
use crate::store::StoreError;
use crate::store::queries::{self, TokenRow};

type TxResult<T> = Result<T, StoreError>;
use crate::store::{self, kitchen_sql};
use crate::webhooks::queries::{self as hooks, Endpoint, Hook};

/// Where an offline command works: which database, before it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Target {
    /// `--store URL` if given, else the SQLite file `db`.
    pub fn of(db: &Path, store: Option<&str>) -> Target {
        match store {
            Some(url) => Target::Postgres(url.to_string()),
            None => Target::Sqlite(db.to_path_buf()),
        }
    }

    /// Opens the database, creating it (SQLite) or chit's tables in it (PostgreSQL) if
    /// need be, as a server starting on it would.
    pub fn open(&self) -> TxResult<Db> {
        match self {
            Target::Sqlite(path) => Ok(Db::Sqlite(store::open_connection(path, true)?)),
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => {
                let mut client = store::postgres::connect(url).map_err(|e| flat(e.into()))?;
                store::postgres::backend::ensure_schema(&mut client).map_err(flat)?;
                Ok(Db::Postgres(Box::new(client)))
            }
            #[cfg(not(feature = "postgres"))]
            Target::Postgres(_) => Err(StoreError::Backend(
                "this chit-server was built without PostgreSQL (the 'postgres' feature)".into(),
            )),
        }
    }
}

impl Target {
    /// Opens a database that exists, with chit's tables in it, for a command that only
    /// reads (`menu show`): a wrong `--db` or `--store` creates nothing.
    pub fn open_existing(&self) -> TxResult<Db> {
        match self {
            Target::Sqlite(path) if !path.is_file() => Err(StoreError::Backend(format!(
                "there is no database at '{}' (give its path with --db or CHIT_DB)",
                path.display()
            ))),
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => {
                let mut client = store::postgres::connect(url).map_err(|e| {
                    StoreError::Backend(format!("opening {self}: {}", flat(e.into())))
                })?;
                if !has_tables(&mut client)? {
                    return Err(StoreError::Backend(format!(
                        "{self} has no chit tables (is it the one the servers use?)"
                    )));
                }
                Ok(Db::Postgres(Box::new(client)))
            }
            _ => self.open(),
        }
    }
}

/// Whether the database has chit's tables (a server has run on it, or `migrate` filled it).
#[cfg(feature = "postgres")]
pub(crate) fn has_tables(client: &mut ::postgres::Client) -> TxResult<bool> {
    let present: Option<String> = client
        .query_one("SELECT to_regclass('log_head')::text", &[])
        .map_err(|e| flat(e.into()))?
        .get(0);
    Ok(present.is_some())
}

/// A PostgreSQL error as one message that says it all (`explain`), with no source
/// under it: printed as a chain (anyhow's `{:#}`) it would say the same twice.
#[cfg(feature = "postgres")]
pub(crate) fn flat(error: StoreError) -> StoreError {
    match error {
        StoreError::Postgres(_) => StoreError::Backend(error.to_string()),
        other => other,
    }
}

impl std::fmt::Display for Target {
    /// `database 'chit.db'`, or `database 'chit' on /var/run/postgresql` (no password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "database '{}'", path.display()),
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => match url.parse::<::postgres::Config>() {
                Ok(config) => write!(f, "PostgreSQL {}", store::postgres::describe(&config)),
                Err(_) => write!(f, "PostgreSQL database"),
            },
            #[cfg(not(feature = "postgres"))]
            Target::Postgres(_) => write!(f, "PostgreSQL database"),
        }
    }
}

/// An open database for an offline command.
pub enum Db {
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(Box<::postgres::Client>),
}

#[cfg(feature = "postgres")]
use crate::store::postgres::{kitchen as pg_kitchen, orders as pg_orders, webhooks as pg_hooks};

/// `$lite` with the SQLite connection as `c`, or `$pg` with the PostgreSQL client as `c`.
macro_rules! on {
    ($db:expr, $c:ident => $lite:expr, $pg:expr) => {
        match $db {
            Db::Sqlite($c) => Ok($lite?),
            #[cfg(feature = "postgres")]
            Db::Postgres($c) => {
                let $c = &mut **$c;
                $pg.map_err(flat)
            }
        }
    };
}

impl Db {
    pub fn insert_token(&mut self, hash: &str, who: &Principal, now: i64) -> TxResult<i64> {
        on!(self, c => queries::insert_token(c, hash, who, now), pg_orders::insert_token(c, hash, who, now))
    }

    pub fn list_tokens(&mut self) -> TxResult<Vec<TokenRow>> {
        on!(self, c => queries::list_tokens(c), pg_orders::list_tokens(c))
    }

    /// Whether a live token `id` was revoked.
    pub fn revoke_token(&mut self, id: i64, now: i64) -> TxResult<bool> {
        on!(self, c => queries::revoke_token(c, id, now), pg_orders::revoke_token(c, id, now))
    }

    pub fn insert_webhook(
        &mut self,
        url: &str,
        secret: &str,
        events: Option<&[String]>,
        restaurant: Option<&str>,
        now: i64,
    ) -> TxResult<i64> {
        on!(self, c => hooks::insert_webhook(c, url, secret, events, restaurant, now),
            pg_hooks::insert_webhook(c, url, secret, events, restaurant, now))
    }

    pub fn webhook(&mut self, id: i64) -> TxResult<Option<Endpoint>> {
        on!(self, c => hooks::webhook(c, id), pg_hooks::webhook(c, id))
    }

    pub fn webhooks(&mut self) -> TxResult<Vec<Endpoint>> {
        on!(self, c => hooks::webhooks(c), pg_hooks::webhooks(c))
    }

    pub fn remove_webhook(&mut self, id: i64) -> TxResult<bool> {
        on!(self, c => hooks::remove_webhook(c, id), pg_hooks::remove_webhook(c, id))
    }

    pub fn insert_hook(&mut self, name: &str, secret: &str, token: i64, now: i64) -> TxResult<()> {
        on!(self, c => hooks::insert_hook(c, name, secret, token, now),
            pg_hooks::insert_hook(c, name, secret, token, now))
    }

    pub fn hook(&mut self, name: &str) -> TxResult<Option<Hook>> {
        on!(self, c => hooks::hook(c, name), pg_hooks::hook(c, name))
    }

    pub fn hooks(&mut self) -> TxResult<Vec<Hook>> {
        on!(self, c => hooks::hooks(c), pg_hooks::hooks(c))
    }

    /// Removes a hook; the token it spoke as, if there was one.
    pub fn remove_hook(&mut self, name: &str) -> TxResult<Option<i64>> {
        on!(self, c => hooks::remove_hook(c, name), pg_hooks::remove_hook(c, name))
    }

    /// Leaves `menu` for the server to take up; returns it as left (its version).
    pub fn queue_menu_load(&mut self, menu: Menu, now: i64) -> TxResult<Menu> {
        on!(self, c => kitchen_sql::queue_menu_load(c, menu, now), pg_kitchen::queue_menu_load(c, menu, now))
    }

    /// The newest menu of `restaurant`, and whether it waits to be taken up.
    pub fn newest_menu(&mut self, restaurant: &str) -> TxResult<Option<(Menu, bool)>> {
        on!(self, c => kitchen_sql::newest_menu(c, restaurant), pg_kitchen::newest_menu(c, restaurant))
    }

    pub fn unavailable(&mut self, restaurant: &str, now: i64) -> TxResult<Vec<UnavailableItem>> {
        on!(self, c => kitchen_sql::unavailable(c, restaurant, now),
            pg_kitchen::unavailable(c, restaurant, now))
    }
}
