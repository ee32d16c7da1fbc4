//! Which token a client uses: `--token`, else `CHIT_TOKEN` (both arrive here as
//! `explicit`), else the admin token a local server wrote beside its database (beside
//! `CHIT_DB` if set, else in the data directory).

use std::path::PathBuf;

/// Where a local server keeps its admin token.
pub fn admin_token_file() -> Option<PathBuf> {
    if let Some(db) = std::env::var_os("CHIT_DB").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(db).with_file_name("admin.token"));
    }
    directories::ProjectDirs::from("", "", "chit").map(|d| d.data_dir().join("admin.token"))
}

/// The token to use, or a sentence saying why there is none.
pub fn find_token(explicit: Option<&str>) -> Result<String, String> {
    if let Some(token) = explicit.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(token.to_string());
    }
    let file = admin_token_file().ok_or("no token: pass --token or set CHIT_TOKEN")?;
    match std::fs::read_to_string(&file) {
        Ok(token) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        Ok(_) => Err(format!(
            "no token: '{}' is empty; pass --token or set CHIT_TOKEN",
            file.display()
        )),
        Err(e) => Err(format!(
            "no token: pass --token or set CHIT_TOKEN (reading '{}': {e})",
            file.display()
        )),
    }
}
