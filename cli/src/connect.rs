//! Finding the token and connecting: `--token`, `CHIT_TOKEN`, or the admin token that
//! a local server wrote beside its database.

use std::path::PathBuf;

use chit_protocol::client::Events;
use chit_protocol::{Client, ClientError};

use crate::{Failure, Global};

/// Where a local server keeps its admin token: beside `CHIT_DB` if set, else in the
/// data directory.
fn admin_token_file() -> Option<PathBuf> {
    if let Some(db) = std::env::var_os("CHIT_DB") {
        return Some(PathBuf::from(db).with_file_name("admin.token"));
    }
    directories::ProjectDirs::from("", "", "chit").map(|d| d.data_dir().join("admin.token"))
}

pub fn token(global: &Global) -> Result<String, Failure> {
    if let Some(token) = global.token.as_ref().filter(|t| !t.trim().is_empty()) {
        return Ok(token.trim().to_string());
    }
    let file = admin_token_file().ok_or_else(|| Failure {
        code: 3,
        message: "no token: pass --token or set CHIT_TOKEN".into(),
    })?;
    std::fs::read_to_string(&file)
        .map(|t| t.trim().to_string())
        .map_err(|e| Failure {
            code: 3,
            message: format!(
                "no token: pass --token or set CHIT_TOKEN (reading '{}': {e})",
                file.display()
            ),
        })
}

pub async fn connect(global: &Global) -> Result<(Client, Events), Failure> {
    let token = token(global)?;
    Client::connect(&global.server, &token, "chit-cli")
        .await
        .map_err(|e: ClientError| Failure::from(e))
}
