//! The server's log on stderr: text for a person (coloured only when stderr is a
//! terminal and `NO_COLOR` is unset) or one JSON object a line for journald and log
//! shippers; and the few lines the server says to whoever started it, in the same form.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`, `CHIT_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-11-22T08:12:03.123Z  INFO chit_server: …`, one event a line.
    #[default]
    Text,
    /// `{"timestamp":…,"level":"INFO","message":…,"target":…}`, one object a line.
    Json,
}

/// Installs the process's log: events at `CHIT_LOG`'s filter (`info` if unset or not a
/// filter) go to stderr in `format`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("CHIT_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(colour_on_stderr()).init(),
        // The event's fields (its message among them) at the top level, as log shippers
        // expect, rather than nested under "fields".
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Colour only for a person at a terminal: journald, a pipe or a file get plain text.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Says `text` to whoever started the server: `chit-server: text` on stderr in text
/// (scripts and tests read "chit-server: listening on ws://…"), an info event in JSON.
pub fn notice(format: LogFormat, text: &str) {
    match format {
        LogFormat::Text => eprintln!("chit-server: {text}"),
        LogFormat::Json => tracing::info!(target: "chit_server", "{text}"),
    }
}

/// Says why the server could not go on, as [`notice`] does, at error level in JSON.
pub fn fatal(format: LogFormat, text: &str) {
    match format {
        LogFormat::Text => eprintln!("chit-server: {text}"),
        LogFormat::Json => tracing::error!(target: "chit_server", "{text}"),
    }
}
