//! chit: the command line for placing and following orders, watching rooms, chatting
//! and load testing. Human output by default, `--json` for scripts; exit codes 0
//! success, 1 refused or bad input, 2 usage, 3 cannot reach or authenticate.

mod commands;
mod connect;
mod output;
mod when;

use clap::{Parser, Subcommand};

use crate::commands::{bench, chat, menu, order, stats, watch};

#[derive(Parser)]
#[command(
    name = "chit",
    version,
    about = "chit: real-time orders from the terminal"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags accepted anywhere on the command line.
#[derive(clap::Args, Clone, Debug)]
pub struct Global {
    #[command(flatten)]
    pub connect: chit_client::ConnectArgs,
    /// One JSON document per result on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Where each setting came from, for weighing the token against the token file.
    #[arg(skip)]
    settings: Option<chit_config::Settings>,
}

impl Global {
    pub fn settings(&self) -> &chit_config::Settings {
        static NONE: std::sync::OnceLock<chit_config::Settings> = std::sync::OnceLock::new();
        self.settings.as_ref().unwrap_or_else(|| {
            NONE.get_or_init(|| chit_config::Settings::none(chit_config::Binary::Chit))
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Place, change, show, list and follow orders.
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Print the events of rooms as JSON Lines, resuming after reconnects.
    Watch(watch::WatchArgs),
    /// Talk in chat rooms.
    #[command(subcommand)]
    Chat(chat::ChatCommand),
    /// What a restaurant has run out of (86, unavailable, restore), and its menu.
    #[command(subcommand)]
    Menu(menu::MenuCommand),
    /// Today's figures.
    Stats(stats::StatsArgs),
    /// Load-test a server (loopback only unless --yes-remote).
    Bench(bench::BenchArgs),
    /// `completions` and `man`, which chit_config answers.
    #[command(flatten)]
    Docs(chit_config::DocsCommand),
}

/// `chit … | head` should end quietly when `head` does, like any Unix tool, instead of
/// failing on the next write: take the default action for SIGPIPE.
#[allow(unsafe_code)] // one libc call on this process's own signal disposition
fn exit_quietly_on_broken_pipe() {
    // SAFETY: setting SIGPIPE to its default before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> std::process::ExitCode {
    exit_quietly_on_broken_pipe();
    let (mut cli, settings) = chit_config::parse::<Cli>(chit_config::Binary::Chit);
    cli.global.settings = Some(settings);
    if std::env::var_os("CHIT_LOG").is_some() {
        // Colour only for a person at a terminal, as the server's log.
        let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("CHIT_LOG"))
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chit: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let global = cli.global.clone();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Order(cmd) => order::run(&global, cmd).await,
            Command::Watch(args) => watch::run(&global, args).await,
            Command::Chat(cmd) => chat::run(&global, cmd).await,
            Command::Menu(cmd) => menu::run(&global, cmd).await,
            Command::Stats(args) => stats::run(&global, args).await,
            Command::Bench(args) => bench::run(&global, args).await,
            Command::Docs(_) => unreachable!("chit_config answers completions and man"),
        }
    });
    // Do not wait for blocked stdin readers and the like.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("chit: {}", failure.message);
            }
            std::process::ExitCode::from(failure.code)
        }
    }
}

/// A command's failure: the sentence for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Cannot reach or authenticate with the server (exit 3).
    pub fn unreachable(message: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            message: message.into(),
        }
    }

    /// Failed already reported on stdout/stderr line by line; exit 1 without more words.
    pub fn quiet() -> Failure {
        Failure {
            code: 1,
            message: String::new(),
        }
    }
}

impl From<chit_client::ClientError> for Failure {
    fn from(e: chit_client::ClientError) -> Failure {
        let code = if e.is_connection() { 3 } else { 1 };
        let message = match (&e, e.code()) {
            // A refused hello says its code already.
            (chit_client::ClientError::Connect(_), _) | (_, None) => e.to_string(),
            (_, Some(code)) => format!("{e} ({code})"),
        };
        Failure { code, message }
    }
}

pub type Outcome = Result<(), Failure>;

#[cfg(test)]
mod tests {
    #[test]
    fn every_flag_is_a_config_key() {
        let cmd = <super::Cli as clap::CommandFactory>::command();
        assert_eq!(chit_config::unlisted_keys(&cmd), Vec::<String>::new());
    }
}
