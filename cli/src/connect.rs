//! Connecting as the global flags say (through `chit-client`): the connector for
//! commands that follow, and one connection for commands that ask once.

use chit_client::{Client, Connector, Events, SetupError};

use crate::{Failure, Global};

/// What the client calls itself in `hello`.
pub const CLIENT_NAME: &str = concat!("chit-cli ", env!("CARGO_PKG_VERSION"));

/// The connector for the global flags, or why they cannot be used: a token that cannot
/// be found is exit 3 (cannot authenticate), an unusable `--ca-file` exit 2.
pub fn connector(global: &Global) -> Result<Connector, Failure> {
    global
        .connect
        .connector(global.settings(), CLIENT_NAME)
        .map_err(|e| match e {
            SetupError::Token(e) => Failure::unreachable(e.to_string()),
            SetupError::CaFile(e) => Failure::usage(e.to_string()),
        })
}

/// One connection, to the first server of `--server` that answers.
pub async fn connect(global: &Global) -> Result<(Client, Events), Failure> {
    let (client, events, _) = connector(global)?
        .connect_any()
        .await
        .map_err(|e| Failure::unreachable(e.to_string()))?;
    Ok((client, events))
}
