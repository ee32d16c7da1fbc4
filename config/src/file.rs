//! The config file itself: where it is, and reading it into settings with the line each
//! came from. It knows TOML and the file's layout (top-level keys, one section per
//! binary, reserved tables), not what any setting means; `layers` checks the values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::Binary;

/// Names the config file instead of `$XDG_CONFIG_HOME/chit/config.toml`; it must exist.
pub const CONFIG_ENV: &str = "CHIT_CONFIG";

/// A config file that cannot be used, with where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config file '{}'{}: {message}", path.display(), at(*line, key.as_deref()))]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; `None` when the file as a whole is at fault (unreadable).
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

fn at(line: Option<usize>, key: Option<&str>) -> String {
    match (line, key) {
        (Some(line), Some(key)) => format!(", line {line}, key '{key}'"),
        (Some(line), None) => format!(", line {line}"),
        (None, Some(key)) => format!(", key '{key}'"),
        (None, None) => String::new(),
    }
}

/// A setting's value as written, before it is checked against the flag it sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Bool(bool),
    /// A list of texts (`server = ["wss://a", "wss://b"]`).
    List(Vec<String>),
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    pub line: usize,
    /// `Some("chit-kitchen")` when it sits in that binary's section.
    pub section: Option<&'static str>,
}

/// A table that holds settings which are not flags (a key map, say): kept as written,
/// for the binary that asked for it to read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub line: usize,
    pub entries: Vec<Setting>,
}

/// A config file, read and split by where each setting applies.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub path: PathBuf,
    /// Top-level settings: they apply to every binary that has the flag.
    pub shared: Vec<Setting>,
    /// Each binary's own section (`[chit-kitchen]`), which wins over the top level.
    pub sections: BTreeMap<&'static str, Vec<Setting>>,
    /// Reserved tables by name (`keys`, or `chit-kitchen.keys`).
    pub tables: BTreeMap<String, Table>,
}

/// The file to read: `CHIT_CONFIG` if set (it must then exist), else
/// `$XDG_CONFIG_HOME/chit/config.toml` if it exists, else none.
pub fn locate() -> Result<Option<PathBuf>, FileError> {
    if let Some(named) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(named);
        if !path.is_file() {
            return Err(FileError {
                path,
                line: None,
                key: None,
                message: format!("{CONFIG_ENV} names it, but there is no such file"),
            });
        }
        return Ok(Some(path));
    }
    Ok(default_path().filter(|p| p.is_file()))
}

/// `$XDG_CONFIG_HOME/chit/config.toml` (`~/.config/chit/config.toml`), through
/// `directories`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "chit").map(|d| d.config_dir().join("config.toml"))
}

/// Reads and splits `path`. `reserved` names the tables that hold more than flags
/// (accepted at the top level and inside a binary's section).
pub fn read(path: &Path, reserved: &[&str]) -> Result<Document, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: None,
        key: None,
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text, reserved)
}

/// Splits `text` (the contents of `path`) into shared settings, sections and tables.
pub fn parse(path: &Path, text: &str, reserved: &[&str]) -> Result<Document, FileError> {
    let fail = |line: Option<usize>, key: Option<&str>, message: String| FileError {
        path: path.to_path_buf(),
        line,
        key: key.map(str::to_string),
        message,
    };
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let root = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start));
        fail(line, None, e.message().trim().to_string())
    })?;
    let mut doc = Document {
        path: path.to_path_buf(),
        ..Document::default()
    };
    for (key, value) in root.get_ref() {
        let name = key.get_ref().as_ref();
        let line = line_of(key.span().start);
        match value.get_ref() {
            DeValue::Table(table) => {
                if let Some(binary) = Binary::ALL.iter().find(|b| b.name() == name) {
                    let section = binary.name();
                    let mut settings = Vec::new();
                    for (k, v) in table {
                        let k_name = k.get_ref().as_ref();
                        let k_line = line_of(k.span().start);
                        if let DeValue::Table(inner) = v.get_ref() {
                            if !reserved.contains(&k_name) {
                                return Err(fail(
                                    Some(k_line),
                                    Some(&format!("{section}.{k_name}")),
                                    format!(
                                        "there is no [{section}.{k_name}] table{}",
                                        expected(reserved)
                                    ),
                                ));
                            }
                            let entries = settings_of(inner, Some(section), &line_of, &fail)?;
                            doc.tables.insert(
                                format!("{section}.{k_name}"),
                                Table {
                                    line: k_line,
                                    entries,
                                },
                            );
                            continue;
                        }
                        settings.push(setting(k_name, v, k_line, Some(section), &line_of, &fail)?);
                    }
                    doc.sections.insert(section, settings);
                } else if reserved.contains(&name) {
                    let entries = settings_of(table, None, &line_of, &fail)?;
                    doc.tables.insert(name.to_string(), Table { line, entries });
                } else {
                    let sections: Vec<String> = Binary::ALL
                        .iter()
                        .map(|b| format!("[{}]", b.name()))
                        .collect();
                    return Err(fail(
                        Some(line),
                        None,
                        format!(
                            "there is no [{name}] section: sections are {}{}",
                            sections.join(", "),
                            expected(reserved)
                        ),
                    ));
                }
            }
            _ => doc
                .shared
                .push(setting(name, value, line, None, &line_of, &fail)?),
        }
    }
    Ok(doc)
}

fn expected(reserved: &[&str]) -> String {
    if reserved.is_empty() {
        String::new()
    } else {
        let tables: Vec<String> = reserved.iter().map(|t| format!("[{t}]")).collect();
        format!(", and the tables {}", tables.join(", "))
    }
}

fn settings_of<'i>(
    table: &DeTable<'i>,
    section: Option<&'static str>,
    line_of: &impl Fn(usize) -> usize,
    fail: &impl Fn(Option<usize>, Option<&str>, String) -> FileError,
) -> Result<Vec<Setting>, FileError> {
    table
        .iter()
        .map(|(k, v)| {
            let line = line_of(k.span().start);
            setting(k.get_ref().as_ref(), v, line, section, line_of, fail)
        })
        .collect()
}

fn setting(
    key: &str,
    value: &toml::Spanned<DeValue<'_>>,
    line: usize,
    section: Option<&'static str>,
    line_of: &impl Fn(usize) -> usize,
    fail: &impl Fn(Option<usize>, Option<&str>, String) -> FileError,
) -> Result<Setting, FileError> {
    let value = match value.get_ref() {
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Array(items) => {
            let mut texts = Vec::new();
            for item in items.iter() {
                match scalar(item.get_ref()) {
                    Some(text) => texts.push(text),
                    None => {
                        return Err(fail(
                            Some(line_of(item.span().start)),
                            Some(key),
                            "a list may hold only texts and numbers".into(),
                        ));
                    }
                }
            }
            Value::List(texts)
        }
        DeValue::Table(_) => unreachable!("tables are sorted out by the caller"),
        other => match scalar(other) {
            Some(text) => Value::Text(text),
            None => {
                return Err(fail(
                    Some(line),
                    Some(key),
                    "a date is not a value any setting takes".into(),
                ));
            }
        },
    };
    Ok(Setting {
        key: key.to_string(),
        value,
        line,
        section,
    })
}

/// Texts and numbers as the text a flag would be given.
fn scalar(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Document, FileError> {
        parse(Path::new("/etc/chit/config.toml"), text, &["keys"])
    }

    #[test]
    fn settings_are_split_by_section_with_their_lines() {
        let d = doc("server = \"wss://a\"\n\n[chit-kitchen]\nrestaurant = \"r1\"\nmute = true\nwarn_after = 300\n\n[chit-kitchen.keys]\nbump = \"Enter\"\n").unwrap();
        assert_eq!(
            d.shared,
            vec![Setting {
                key: "server".into(),
                value: Value::Text("wss://a".into()),
                line: 1,
                section: None,
            }]
        );
        let kitchen = &d.sections["chit-kitchen"];
        let lines: Vec<(&str, usize)> = kitchen.iter().map(|s| (s.key.as_str(), s.line)).collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.contains(&("restaurant", 4)));
        assert!(lines.contains(&("mute", 5)));
        assert!(kitchen.iter().any(|s| s.value == Value::Text("300".into())));
        assert_eq!(d.tables["chit-kitchen.keys"].line, 8);
        assert_eq!(d.tables["chit-kitchen.keys"].entries[0].key, "bump");
    }

    #[test]
    fn lists_are_texts() {
        let d = doc("server = [\"wss://a\", \"wss://b\"]\n").unwrap();
        assert_eq!(
            d.shared[0].value,
            Value::List(vec!["wss://a".into(), "wss://b".into()])
        );
    }

    #[test]
    fn a_bad_file_names_the_file_and_line() {
        let cases = [
            ("server = \"wss://a\"\nmute = \n", 2, None, "string"),
            (
                "[kitchen]\nrestaurant = \"r1\"\n",
                1,
                None,
                "no [kitchen] section",
            ),
            (
                "[chit-rider.colors]\nx = 1\n",
                1,
                Some("chit-rider.colors"),
                "no [chit-rider.colors]",
            ),
            ("a = 1\nwhen = 2026-01-01\n", 2, Some("when"), "date"),
            ("a = [1, [2]]\n", 1, Some("a"), "only texts"),
        ];
        for (text, line, key, says) in cases {
            let e = doc(text).unwrap_err();
            assert_eq!(e.line, Some(line), "{text:?}: {e}");
            assert_eq!(e.key.as_deref(), key, "{text:?}: {e}");
            let sentence = e.to_string();
            assert!(
                sentence.starts_with("config file '/etc/chit/config.toml', line "),
                "{sentence}"
            );
            assert!(sentence.contains(says), "{text:?}: {sentence}");
        }
    }
}
