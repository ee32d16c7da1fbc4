//! chit-server: parses flags (under the environment and the config file, as every chit
//! binary does), sets up logging, binds, and runs the server until SIGINT or SIGTERM;
//! `token`, `webhook`, `hook` and `menu` subcommands manage the database directly (the
//! SQLite file, or PostgreSQL's with --store: `chit_server::ops::offline`), `backup`,
//! `export` and `migrate` (in `chit_server::ops`) read it beside a running server.

mod admin;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chit_protocol::Role;
use chit_server::auth::{Principal, hash_token, new_token};
use chit_server::ops::logging::{self, LogFormat};
use chit_server::ops::offline::{self, Target};
use chit_server::ops::{backup, export, menu, to_postgres};
use chit_server::store;
use chit_server::{Config, Server};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "chit-server", version, about = "chit's real-time order server")]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "CHIT_LISTEN", default_value = chit_protocol::DEFAULT_LISTEN)]
    listen: String,
    /// SQLite database file [default: <data dir>/chit.db]
    #[arg(long, env = "CHIT_DB", global = true, value_hint = clap::ValueHint::FilePath)]
    db: Option<PathBuf>,
    /// Serve from this PostgreSQL database (postgres://…) instead of the SQLite file, and
    /// run token, webhook, hook, menu, backup and export on it; the admin token is kept
    /// beside --db's path
    #[arg(long, env = "CHIT_STORE", global = true, value_parser = postgres_url, value_hint = clap::ValueHint::Url)]
    store: Option<String>,
    /// Fan each commit out to the other nodes on the same --store over this NATS server
    /// (nats://host:port); without it, nodes read each other's commits from PostgreSQL
    #[arg(long, env = "CHIT_PEERS", value_parser = nats_url, requires = "store", value_hint = clap::ValueHint::Url)]
    peers: Option<String>,
    /// Seconds between heartbeat pings; a peer silent for two is dropped.
    #[arg(long, env = "CHIT_HEARTBEAT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat: u64,
    /// Most connections held at once.
    #[arg(long, env = "CHIT_MAX_CONNECTIONS", default_value_t = 20_000)]
    max_connections: usize,
    /// Requests a second allowed per connection (bursts of twice as many); 0 for no limit.
    #[arg(long, env = "CHIT_RATE_LIMIT", default_value_t = 2000)]
    rate_limit: u32,
    /// Chat messages a minute allowed per member (one token), in bursts of up to 10.
    #[arg(long, env = "CHIT_CHAT_RATE_LIMIT", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    chat_rate_limit: u32,
    /// Seconds a new connection has for the WebSocket handshake and its `hello`.
    #[arg(long, env = "CHIT_HANDSHAKE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    handshake_timeout: u64,
    /// Days of events kept for clients that resume; older ones must reload.
    #[arg(long, env = "CHIT_RETENTION_DAYS", default_value_t = 7)]
    retention_days: u64,
    /// How log lines on stderr are written: text (coloured only on a terminal) or json
    /// (one object a line, for journald and log shippers).
    #[arg(
        long,
        env = "CHIT_LOG_FORMAT",
        value_enum,
        default_value_t,
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write a consistent copy of the database, while the server runs, and check it.
    Backup(backup::BackupArgs),
    /// Write the orders placed between two local dates, with their items, for accounting.
    Export(export::ExportArgs),
    /// Manage webhook endpoints: events POSTed as signed Standard Webhooks.
    #[command(subcommand)]
    Webhook(admin::WebhookCommand),
    /// Manage hooks: signed webhooks from other systems that place orders.
    #[command(subcommand)]
    Hook(admin::HookCommand),
    /// Load or show a restaurant's menu: its stations, categories, items, prep minutes.
    #[command(subcommand)]
    Menu(menu::MenuCommand),
    /// Copy the SQLite database into a new PostgreSQL database: every table, seqs,
    /// tokens, keys and chat included.
    Migrate(to_postgres::MigrateArgs),
    /// `completions` and `man`, which chit_config answers.
    #[command(flatten)]
    Docs(chit_config::DocsCommand),
}

#[derive(Subcommand, Clone)]
enum TokenCommand {
    /// Issue a token; it is printed once, alone on stdout.
    Issue {
        #[arg(long, value_parser = chit_config::one_of::<Role>(Role::ALL.map(Role::as_str)))]
        role: Role,
        #[arg(long)]
        restaurant: Option<String>,
        #[arg(long)]
        rider: Option<String>,
        #[arg(long)]
        customer: Option<String>,
        /// The name others see in chat and presence.
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (never the secrets).
    List,
    /// Revoke a token by id; open connections using it are dropped.
    Revoke { id: i64 },
}

fn default_db() -> anyhow::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "chit")
        .context("cannot find a home directory for the database; pass --db")?;
    Ok(dirs.data_dir().join("chit.db"))
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let (cli, _) = chit_config::parse::<Cli>(chit_config::Binary::Server);
    let format = cli.log_format;
    logging::init(format);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            logging::fatal(format, &format!("{e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let db = match cli.db.clone() {
        Some(db) => db,
        None => default_db()?,
    };
    // Serving and tokens create the database if need be; backup and export only read one.
    let reads_only = matches!(
        cli.command,
        Some(
            Command::Backup(_)
                | Command::Export(_)
                | Command::Migrate(_)
                | Command::Menu(menu::MenuCommand::Show { .. })
        )
    );
    // With --store, only serving keeps something (the admin token) beside --db's path.
    let on_postgres = cli.store.is_some() && cli.command.is_some();
    if let Some(dir) = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !reads_only && !on_postgres)
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory '{}'", dir.display()))?;
    }
    // The offline commands work on the PostgreSQL database of --store if given, else on
    // the SQLite file.
    let target = Target::of(&db, cli.store.as_deref());
    match &cli.command {
        Some(Command::Webhook(cmd)) => admin::webhook(&mut open_target(&target)?, cmd.clone()),
        Some(Command::Hook(cmd)) => admin::hook(&mut open_target(&target)?, cmd.clone()),
        Some(Command::Token(cmd)) => token(&target, cmd.clone()),
        Some(Command::Backup(args)) => {
            let written = backup::run(&target, &args.path, args.force)
                .with_context(|| format!("backing up {}", quoted(&target)))?;
            chit_server::ops::say(format_args!("{written}"))?;
            Ok(())
        }
        Some(Command::Export(args)) => {
            let summary = export::run(&target, args)
                .with_context(|| format!("exporting from {}", quoted(&target)))?;
            logging::notice(cli.log_format, &summary.to_string());
            Ok(())
        }
        Some(Command::Migrate(args)) => {
            let from = args.from.clone().unwrap_or(db);
            let copied = to_postgres::run(&from, args)
                .with_context(|| format!("migrating '{}'", from.display()))?;
            chit_server::ops::say(format_args!("{copied}"))?;
            Ok(())
        }
        Some(Command::Menu(cmd)) => {
            chit_server::ops::say(format_args!("{}", menu::run(&target, cmd)?))?;
            Ok(())
        }
        Some(Command::Docs(_)) => unreachable!("chit_config answers completions and man"),
        None => serve(&cli, &db),
    }
}

fn open(db: &Path) -> anyhow::Result<rusqlite::Connection> {
    store::open_connection(db, true).with_context(|| format!("opening database '{}'", db.display()))
}

/// An offline command's database, opened (and made, if need be).
fn open_target(target: &Target) -> anyhow::Result<offline::Db> {
    target.open().with_context(|| format!("opening {target}"))
}

/// How the errors of `backup` and `export` name their database: the SQLite file's path
/// in quotes, as they always have, or the PostgreSQL database.
fn quoted(target: &Target) -> String {
    match target {
        Target::Sqlite(path) => format!("'{}'", path.display()),
        Target::Postgres(_) => target.to_string(),
    }
}

/// A `--store` value: a PostgreSQL URL (a SQLite file is given with --db).
fn postgres_url(text: &str) -> Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_string())
    } else {
        Err("a PostgreSQL URL (postgres://…) is expected; a SQLite file is given with --db".into())
    }
}

/// A `--peers` value: a NATS server's URL.
fn nats_url(text: &str) -> Result<String, String> {
    match text.strip_prefix("nats://") {
        Some(rest) if !rest.is_empty() => Ok(text.to_string()),
        _ => Err("a NATS server's URL (nats://host:port) is expected".into()),
    }
}

fn serve(cli: &Cli, db: &Path) -> anyhow::Result<()> {
    let created = match &cli.store {
        None => {
            let conn = open(db)?;
            store::ensure_admin_token(&conn, db)
                .with_context(|| format!("creating the admin token beside '{}'", db.display()))?
        }
        #[cfg(feature = "postgres")]
        Some(url) => store::postgres::ensure_admin_token(url, &store::admin_token_path(db))
            .with_context(|| format!("opening '{url}'"))?,
        #[cfg(not(feature = "postgres"))]
        Some(_) => bail!("this chit-server was built without PostgreSQL (the 'postgres' feature)"),
    };
    if let Some(file) = created {
        let text = format!("created an admin token in '{}'", file.display());
        logging::notice(cli.log_format, &text);
    }
    raise_fd_limit(cli.max_connections);
    let mut config = Config {
        heartbeat: Duration::from_secs(cli.heartbeat),
        max_connections: cli.max_connections,
        handshake_timeout: Duration::from_secs(cli.handshake_timeout),
        rate_limit: cli.rate_limit,
        rate_burst: cli.rate_limit.saturating_mul(2),
        chat_rate: chit_server::hub::ChatRate {
            per_minute: cli.chat_rate_limit,
            ..Default::default()
        },
        ..Config::default()
    };
    config.store.retention = Duration::from_secs(cli.retention_days.max(1) * 24 * 3600);
    #[cfg(feature = "postgres")]
    {
        config.follow.peers = cli.peers.clone();
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // tokio's own variable, if set, has the last word.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(connection_threads());
    }
    let runtime = builder
        .enable_all()
        // After many connections close, each thread gives its freed memory back the next
        // time it has nothing to do.
        .on_thread_park(chit_server::memory::collect_if_asked)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let (server, store_name) = match &cli.store {
            None => (
                Server::open(db, config)
                    .with_context(|| format!("opening database '{}'", db.display()))?,
                format!("database '{}'", db.display()),
            ),
            #[cfg(feature = "postgres")]
            Some(url) => {
                let settings: postgres::Config = url.parse().context("--store")?;
                (
                    Server::open_postgres(url, config)
                        .with_context(|| format!("opening '{url}'"))?,
                    format!("PostgreSQL {}", store::postgres::describe(&settings)),
                )
            }
            #[cfg(not(feature = "postgres"))]
            Some(_) => unreachable!("refused above"),
        };
        let listener = tokio::net::TcpListener::bind(&cli.listen)
            .await
            .with_context(|| format!("listening on '{}'", cli.listen))?;
        let addr = listener.local_addr()?;
        let say = |text: String| logging::notice(cli.log_format, &text);
        say(format!("listening on ws://{addr}"));
        say(format!(
            "HTTP on http://{addr} (the API is described at /v1/openapi.json)"
        ));
        say(store_name);
        if let Some(peers) = &cli.peers {
            say(format!(
                "fanning out to the other nodes over NATS at {peers}"
            ));
        }
        say(format!(
            "admin token in '{}'",
            store::admin_token_path(db).display()
        ));
        server.run(listener, shutdown_signal()).await;
        anyhow::Ok(())
    })
}

/// Threads for the connections: one per core but one. Under load the writer thread,
/// which applies and commits every change in turn, is what bounds durable orders a
/// second; a runtime thread on every core would take turns with it on its core.
fn connection_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

/// Raises the open-file limit towards what `max_connections` needs (each connection is
/// one descriptor), as far as the hard limit allows; warns if that is not enough.
fn raise_fd_limit(max_connections: usize) {
    let wanted = max_connections as u64 + 256;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => tracing::warn!(
            "the open-file limit is {got}: fewer than --max-connections {max_connections} connections can be held"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn token(target: &Target, cmd: TokenCommand) -> anyhow::Result<()> {
    let mut db = open_target(target)?;
    match cmd {
        TokenCommand::Issue {
            role,
            restaurant,
            rider,
            customer,
            label,
        } => {
            let needs = |what: &str, value: &Option<String>| -> anyhow::Result<()> {
                match value {
                    Some(v) if chit_protocol::room::valid_ident(v) => Ok(()),
                    Some(v) => bail!(
                        "--{what} '{v}' is not a valid id (1-64 letters, digits, '_', '-' or '.')"
                    ),
                    None => bail!("a {role} token needs --{what}"),
                }
            };
            match role {
                Role::Kitchen | Role::Pos => needs("restaurant", &restaurant)?,
                Role::Rider => needs("rider", &rider)?,
                Role::Customer => needs("customer", &customer)?,
                Role::Admin => {}
            }
            let token = new_token();
            let principal = Principal {
                token_id: 0,
                role,
                restaurant,
                rider,
                customer,
                label,
            };
            let id = db
                .insert_token(&hash_token(&token), &principal, chit_protocol::now_ms())
                .context("saving the token")?;
            eprintln!("issued token {id}: {}", describe(&principal));
            chit_server::ops::say(format_args!("{token}"))?;
        }
        TokenCommand::List => {
            for t in db.list_tokens().context("listing tokens")? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", chit_protocol::format_time(at)),
                    None => "live".into(),
                };
                chit_server::ops::say(format_args!(
                    "{:>4}  {:<40}  created {}  {state}",
                    t.principal.token_id,
                    describe(&t.principal),
                    chit_protocol::format_time(t.created_at)
                ))?;
            }
        }
        TokenCommand::Revoke { id } => {
            if !db
                .revoke_token(id, chit_protocol::now_ms())
                .context("revoking")?
            {
                bail!("no live token with id {id}");
            }
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}

fn describe(p: &Principal) -> String {
    let mut text = p.role.to_string();
    for (name, value) in [
        ("restaurant", &p.restaurant),
        ("rider", &p.rider),
        ("customer", &p.customer),
        ("label", &p.label),
    ] {
        if let Some(v) = value {
            text += &format!(" {name}={v}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_flag_is_a_config_key() {
        let cmd = <super::Cli as clap::CommandFactory>::command();
        assert_eq!(chit_config::unlisted_keys(&cmd), Vec::<String>::new());
    }
}

/// mimalloc: under load, less of the connection threads' time in the allocator than
/// glibc's (BENCHMARKS.md, step 18).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps an idle connection as small under mimalloc as under glibc (3.8-4.1 KB against
/// 6.1 KB as it comes): arenas made from now on are committed as they are used, freed
/// pages are given back at once, and no transparent huge pages back the heap (with THP
/// "always", a touched arena page is 2 MiB of resident memory; databases advise turning
/// THP off for the same reason). Runs first thing in `main`.
#[allow(unsafe_code)] // two calls that set mimalloc's integer options, one prctl
fn tune_allocator() {
    // mimalloc 3's option numbers (include/mimalloc.h, enum mi_option_e).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option takes no pointers and is safe at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
    // Transparent huge pages are Linux's.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes no pointers; it only sets a flag on
    // this process.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
