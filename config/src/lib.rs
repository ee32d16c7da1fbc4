//! How every chit binary reads its settings — flags, then the environment, then the
//! config file (`$XDG_CONFIG_HOME/chit/config.toml`), then defaults — with the same code
//! for `chit`, `chit-kitchen`, `chit-rider` and `chit-server`; and how each prints its
//! man page and shell completions. What a setting means is the binary's own business.

pub mod docs;
pub mod file;
pub mod layers;

pub use docs::DocsCommand;
pub use file::{Document, FileError, Setting, Table, Value};
pub use layers::{Parsed, Settings, Source, parse, parse_with_tables, try_parse_from};

/// The four binaries, each with its own section in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    Chit,
    Kitchen,
    Rider,
    Server,
}

impl Binary {
    pub const ALL: [Binary; 4] = [Binary::Chit, Binary::Kitchen, Binary::Rider, Binary::Server];

    /// The binary's name, which is also its section: `[chit-kitchen]`.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Chit => "chit",
            Binary::Kitchen => "chit-kitchen",
            Binary::Rider => "chit-rider",
            Binary::Server => "chit-server",
        }
    }
}

/// Every key some binary takes, so that a top-level key meant for another binary is
/// passed over while a misspelt one is an error. Each binary's own flags are known to it
/// besides; its tests check that they are all here too.
pub const ALL_KEYS: &[&str] = &[
    // every client
    "server",
    "token",
    "token_file",
    "ca_file",
    // chit
    "json",
    // the displays
    "restaurant",
    "rider",
    "chat_room",
    "station",
    "expo",
    "mute",
    "bell",
    "log",
    "warn_after",
    "late_after",
    "alert_every",
    // chit-server
    "listen",
    "db",
    "store",
    "peers",
    "heartbeat",
    "max_connections",
    "rate_limit",
    "chat_rate_limit",
    "handshake_timeout",
    "retention_days",
    "log_format",
];

/// A value parser for one of `names`, which `--help` lists and completions offer, made
/// into a `T` by its `FromStr` (which must accept every name).
pub fn one_of<T>(
    names: impl IntoIterator<Item = &'static str>,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Debug,
{
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = names.into_iter().collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| name.parse::<T>().expect("every listed name parses"))
}

/// The config key of a long flag: `--warn-after` is `warn_after`.
pub fn key_of(long: &str) -> String {
    long.replace('-', "_")
}

/// The settings of `cmd` (its top-level long flags) that [`ALL_KEYS`] lacks: empty when
/// the list is complete. Each binary's tests assert that.
pub fn unlisted_keys(cmd: &clap::Command) -> Vec<String> {
    layers::setting_args(cmd)
        .map(|a| key_of(a.get_long().expect("settings have a long flag")))
        .filter(|k| !ALL_KEYS.contains(&k.as_str()))
        .collect()
}
