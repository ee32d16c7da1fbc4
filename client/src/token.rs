//! Which token a client uses. `--token` and `--token-file` are weighed as every setting
//! is — a flag over the environment (`CHIT_TOKEN`, `CHIT_TOKEN_FILE`) over the config
//! file (`token`, `token_file`) — and with none of them, the admin token a local server
//! wrote beside its database (beside `CHIT_DB` if set, else in the data directory).

use std::path::{Path, PathBuf};

use chit_config::Source;

/// Why there is no token to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("both {0} and {1} give a token: use one of them")]
    Both(String, String),
    #[error("cannot read the token file '{}': {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("the token file '{}' is empty", path.display())]
    Empty { path: PathBuf },
    #[error("no token: pass --token-file or --token, or set CHIT_TOKEN_FILE or CHIT_TOKEN{}", .0.as_ref().map(|why| format!("; {why}")).unwrap_or_default())]
    None(Option<String>),
}

/// Where a local server keeps its admin token.
pub fn admin_token_file() -> Option<PathBuf> {
    if let Some(db) = std::env::var_os("CHIT_DB").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(db).with_file_name("admin.token"));
    }
    directories::ProjectDirs::from("", "", "chit").map(|d| d.data_dir().join("admin.token"))
}

/// The token to use: from `token` or `token_file`, whichever has the stronger source,
/// else the local admin token.
pub fn resolve(
    token: Option<(&str, Source)>,
    token_file: Option<(&Path, Source)>,
) -> Result<String, TokenError> {
    let token = token.filter(|(t, _)| !t.trim().is_empty());
    match (token, token_file) {
        (Some((_, a)), Some((_, b))) if a.rank() == b.rank() => {
            let (t, f) = names(&a);
            Err(TokenError::Both(t, f))
        }
        (Some((t, a)), Some((_, b))) if a.rank() > b.rank() => Ok(t.trim().to_string()),
        (_, Some((path, _))) => read(path),
        (Some((t, _)), None) => Ok(t.trim().to_string()),
        (None, None) => match admin_token_file() {
            None => Err(TokenError::None(None)),
            Some(path) => read(&path).map_err(|e| {
                let why = match e {
                    TokenError::Unreadable { reason, .. } => reason,
                    other => other.to_string(),
                };
                TokenError::None(Some(format!(
                    "no local admin token at '{}' either: {why}",
                    path.display()
                )))
            }),
        },
    }
}

/// How the two settings are called where they clashed.
fn names(source: &Source) -> (String, String) {
    match source {
        Source::Environment(_) => ("CHIT_TOKEN".into(), "CHIT_TOKEN_FILE".into()),
        Source::File { path, .. } => (
            format!("token in '{}'", path.display()),
            "token_file".into(),
        ),
        _ => ("--token".into(), "--token-file".into()),
    }
}

/// A token file holds the token and perhaps a final newline.
pub fn read(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stronger_source_wins_and_a_tie_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kitchen.token");
        std::fs::write(&file, "chit_from_file\n").unwrap();
        let env = || Source::Environment("X".into());
        let in_file = || Source::File {
            path: "/etc/chit/config.toml".into(),
            line: 2,
        };
        // (--token and where from, where --token-file came from, the token or the error)
        type Row<'a> = (
            Option<(&'a str, Source)>,
            Option<Source>,
            Result<&'a str, &'a str>,
        );
        let table: [Row; 7] = [
            (
                Some(("chit_flag", Source::CommandLine)),
                Some(env()),
                Ok("chit_flag"),
            ),
            (
                Some(("chit_env", env())),
                Some(Source::CommandLine),
                Ok("chit_from_file"),
            ),
            (Some(("chit_env", env())), Some(in_file()), Ok("chit_env")),
            (
                Some(("chit_cfg", in_file())),
                Some(env()),
                Ok("chit_from_file"),
            ),
            (
                Some((" chit_flag ", Source::CommandLine)),
                None,
                Ok("chit_flag"),
            ),
            (
                Some(("a", Source::CommandLine)),
                Some(Source::CommandLine),
                Err("both --token and --token-file"),
            ),
            (
                Some(("a", env())),
                Some(env()),
                Err("both CHIT_TOKEN and CHIT_TOKEN_FILE"),
            ),
        ];
        for (token, file_source, expected) in table {
            let got = resolve(token.clone(), file_source.map(|s| (file.as_path(), s)));
            match expected {
                Ok(t) => assert_eq!(got.as_deref(), Ok(t), "{token:?}"),
                Err(says) => assert!(got.unwrap_err().to_string().contains(says), "{token:?}"),
            }
        }
    }

    #[test]
    fn a_bad_token_file_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.token");
        std::fs::write(&empty, "\n").unwrap();
        let e = read(&empty).unwrap_err();
        assert_eq!(
            e,
            TokenError::Empty {
                path: empty.clone()
            }
        );
        let e = read(&dir.path().join("missing")).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read the token file"),
            "{e}"
        );
    }
}
