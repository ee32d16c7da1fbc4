//! Connecting with the token from `--token`, `CHIT_TOKEN`, or the local admin token.

use chit_protocol::client::Events;
use chit_protocol::{Client, ClientError};

use crate::{Failure, Global};

pub fn token(global: &Global) -> Result<String, Failure> {
    chit_protocol::token::find_token(global.token.as_deref())
        .map_err(|message| Failure { code: 3, message })
}

pub async fn connect(global: &Global) -> Result<(Client, Events), Failure> {
    let token = token(global)?;
    Client::connect(&global.server, &token, "chit-cli")
        .await
        .map_err(|e: ClientError| Failure::from(e))
}
