//! The connection flags every client binary takes — `--server` (a list), `--token`,
//! `--token-file`, `--ca-file` — and turning them into a [`Connector`].

use std::path::PathBuf;

use chit_config::Settings;

use crate::connector::Connector;
use crate::servers::Servers;
use crate::tls::{CaFileError, Trust};
use crate::token::{self, TokenError};

/// Flags for reaching the server; flattened into each client's arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Server URL (ws:// or wss://), or several separated by commas: the client uses the
    /// first that answers and fails over to the next when it goes away.
    #[arg(long, global = true, env = "CHIT_SERVER", default_value = chit_protocol::DEFAULT_SERVER_URL, value_parser = parse_servers, value_hint = clap::ValueHint::Url)]
    pub server: Servers,
    /// Access token (it shows in `ps`: prefer --token-file) [default: the admin token in
    /// the data directory]
    #[arg(long, global = true, env = "CHIT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the access token from this file.
    #[arg(long, global = true, env = "CHIT_TOKEN_FILE", value_hint = clap::ValueHint::FilePath)]
    pub token_file: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file (a private CA for wss://).
    #[arg(long, global = true, env = "CHIT_CA_FILE", value_hint = clap::ValueHint::FilePath)]
    pub ca_file: Option<PathBuf>,
}

fn parse_servers(text: &str) -> Result<Servers, String> {
    Servers::parse(text).map_err(|e| e.to_string())
}

/// Why the connection flags cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    CaFile(#[from] CaFileError),
}

impl ConnectArgs {
    /// The connector these flags describe; `settings` says where the token and the token
    /// file came from, to weigh them. `name` goes into `hello`.
    pub fn connector(&self, settings: &Settings, name: &str) -> Result<Connector, SetupError> {
        let token = self.token(settings)?;
        let trust = Trust::new(self.ca_file.as_deref())?;
        Ok(Connector::new(self.server.clone(), trust, token, name))
    }

    /// The token to use, from whichever of `--token` and `--token-file` has the stronger
    /// source, else the local admin token.
    pub fn token(&self, settings: &Settings) -> Result<String, TokenError> {
        token::resolve(
            self.token.as_deref().map(|t| (t, settings.source("token"))),
            self.token_file
                .as_deref()
                .map(|p| (p, settings.source("token_file"))),
        )
    }
}
