//! Key maps as data. Each display has a table of actions, each with a name (as the
//! config file's `[keys]` table writes it), its default keys and a line of help. A bump
//! bar is a keyboard that sends whatever keys it was programmed with, so a kitchen maps
//! them in the config file:
//!
//! ```toml
//! [chit-kitchen.keys]
//! bump = ["Enter", "KP_Enter", "0"]
//! recall = "."
//! ```
//!
//! The help overlay lists the map in use. Confirmation prompts also take `y` and `n`.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One key: a code and whether Ctrl is held. Shift is part of the character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const NAMED: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Space", KeyCode::Char(' ')),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Esc", KeyCode::Esc),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
];

/// Other spellings a bump bar's manual may use.
const ALIASES: &[(&str, &str)] = &[
    ("Return", "Enter"),
    ("KP_Enter", "Enter"),
    ("Escape", "Esc"),
    ("PgUp", "PageUp"),
    ("PgDn", "PageDown"),
    ("Del", "Delete"),
];

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    /// Reads a key name: `Enter`, `Space`, `Esc`, `Up`, `F5`, `Ctrl-x`, or one
    /// character (`a`, `?`, `0`, `.`). Names ignore case; characters do not.
    pub fn parse(name: &str) -> Result<Key, String> {
        let (ctrl, rest) = match name
            .strip_prefix("Ctrl-")
            .or_else(|| name.strip_prefix("ctrl-"))
            .or_else(|| name.strip_prefix("C-"))
        {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, name),
        };
        let mut chars = rest.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key {
                code: KeyCode::Char(c),
                ctrl,
            });
        }
        let canonical = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(rest))
            .map_or(rest, |(_, to)| to);
        if let Some((_, code)) = NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(canonical))
        {
            return Ok(Key { code: *code, ctrl });
        }
        if let Some(n) = rest
            .strip_prefix(['F', 'f'])
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=24).contains(n))
        {
            return Ok(Key {
                code: KeyCode::F(n),
                ctrl,
            });
        }
        Err(format!(
            "'{name}' is not a key: use one character (a, 0, .), Enter, Space, Tab, Esc, \
             Backspace, Up, Down, Left, Right, Home, End, PageUp, PageDown, Insert, Delete, \
             F1 to F24, or Ctrl- before one of them"
        ))
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        ctrl == self.ctrl && self.code == event.code
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => f.write_str(name),
                None => write!(f, "{code:?}"),
            },
        }
    }
}

/// One action of a display: its name in the config file, default keys and help.
#[derive(Debug, Clone, Copy)]
pub struct Action<A: 'static> {
    pub action: A,
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub help: &'static str,
}

/// An action's entry in a display's table (a `const fn`, so tables are constants).
pub const fn named<A>(
    action: A,
    name: &'static str,
    keys: &'static [&'static str],
    help: &'static str,
) -> Action<A> {
    Action {
        action,
        name,
        keys,
        help,
    }
}

#[derive(Debug, Clone)]
struct Binding<A: 'static> {
    action: A,
    name: &'static str,
    keys: Vec<Key>,
    help: &'static str,
}

/// A display's key map: its actions and the keys that ask for them.
#[derive(Debug, Clone)]
pub struct KeyMap<A: 'static> {
    bindings: Vec<Binding<A>>,
}

/// Why a `[keys]` table cannot be used: the file, line and key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}, line {line}, key '{key}': {message}")]
pub struct KeyError {
    pub path: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl<A: Copy + PartialEq + fmt::Debug> KeyMap<A> {
    /// The map of `actions` with their default keys.
    pub fn new(actions: &[Action<A>]) -> KeyMap<A> {
        KeyMap {
            bindings: actions
                .iter()
                .map(|a| Binding {
                    action: a.action,
                    name: a.name,
                    keys: a
                        .keys
                        .iter()
                        .map(|k| Key::parse(k).expect("a default key is a key"))
                        .collect(),
                    help: a.help,
                })
                .collect(),
        }
    }

    /// The map with the config file's tables applied: `[keys]` (shared by the displays,
    /// so it may name another display's actions, listed in `elsewhere`), then the
    /// display's own `[chit-kitchen.keys]`. An action given keys loses its defaults.
    pub fn configured(
        mut self,
        config: &chit_config::Settings,
        own: &str,
        elsewhere: &[&str],
    ) -> Result<KeyMap<A>, KeyError> {
        let path = config
            .file()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        for (table, others) in [("keys", elsewhere), (own, &[][..])] {
            let Some(table) = config.table(table) else {
                continue;
            };
            for entry in &table.entries {
                let fail = |message: String| KeyError {
                    path: path.clone(),
                    line: entry.line,
                    key: entry.key.clone(),
                    message,
                };
                let at = self.bindings.iter().position(|b| b.name == entry.key);
                if at.is_none() && !others.contains(&entry.key.as_str()) {
                    let names: Vec<&str> = self.bindings.iter().map(|b| b.name).collect();
                    return Err(fail(format!(
                        "not an action of this display; its actions are {}",
                        names.join(", ")
                    )));
                }
                let names = match &entry.value {
                    chit_config::Value::Text(t) => vec![t.clone()],
                    chit_config::Value::List(l) => l.clone(),
                    chit_config::Value::Bool(_) => {
                        return Err(fail("give a key name (\"Enter\") or a list of them".into()));
                    }
                };
                let keys = names
                    .iter()
                    .map(|n| Key::parse(n))
                    .collect::<Result<Vec<Key>, String>>()
                    .map_err(fail)?;
                // Another display's action: checked above, used there.
                if let Some(at) = at {
                    self.bindings[at].keys = keys;
                }
            }
        }
        // One key, one action: a key left on another action would shadow the new one.
        for (i, b) in self.bindings.iter().enumerate() {
            for key in &b.keys {
                if let Some(other) = self.bindings[i + 1..].iter().find(|o| o.keys.contains(key)) {
                    let line = config
                        .table(own)
                        .or_else(|| config.table("keys"))
                        .map_or(0, |t| t.line);
                    return Err(KeyError {
                        path,
                        line,
                        key: other.name.into(),
                        message: format!(
                            "{key} is both {}'s and {}'s key: give one of them other keys",
                            b.name, other.name
                        ),
                    });
                }
            }
        }
        Ok(self)
    }

    /// The action `event` asks for.
    pub fn action(&self, event: &KeyEvent) -> Option<A> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| b.keys.iter().any(|k| k.matches(event)))
            .map(|b| b.action)
    }

    /// The keys of `action` as the footer and help print them (`Enter/Space`).
    pub fn keys_of(&self, action: A) -> String {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.keys.iter().map(Key::to_string))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every action with its keys and help, for the help overlay; `hide` leaves out
    /// actions this screen has no use for.
    pub fn help(&self, hide: impl Fn(A) -> bool) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| !hide(b.action) && !b.keys.is_empty())
            .map(|b| (self.keys_of(b.action), b.help))
            .fold(Vec::new(), |mut rows, row| {
                if !rows.contains(&row) {
                    rows.push(row);
                }
                rows
            })
    }

    /// The action names, as the config file writes them.
    pub fn names(&self) -> Vec<&'static str> {
        self.bindings.iter().map(|b| b.name).collect()
    }

    /// The action `event` asks for while a question is up: `y`/`n`, or the map's
    /// `confirm` and `close` keys, answer `yes` and `no`; other keys as mapped.
    pub fn answer(&self, event: &KeyEvent, [confirm, close, yes, no]: [A; 4]) -> Option<A> {
        if let Some(answer) = yes_no(event) {
            return Some(if answer { yes } else { no });
        }
        match self.action(event) {
            Some(a) if a == confirm => Some(yes),
            Some(a) if a == close => Some(no),
            other => other,
        }
    }
}

/// Whether `event` answers a confirmation with yes (`y`) or no (`n`), whatever the
/// key map; the map's bump and close keys answer too.
pub fn yes_no(event: &KeyEvent) -> Option<bool> {
    match event.code {
        KeyCode::Char('y' | 'Y') => Some(true),
        KeyCode::Char('n' | 'N') => Some(false),
        _ => None,
    }
}

/// Ctrl-C ends a display whatever the map says.
pub fn is_interrupt(event: &KeyEvent) -> bool {
    event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char('c')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Act {
        Bump,
        Recall,
    }

    const ACTIONS: &[Action<Act>] = &[
        Action {
            action: Act::Bump,
            name: "bump",
            keys: &["Enter", "Space"],
            help: "bump",
        },
        Action {
            action: Act::Recall,
            name: "recall",
            keys: &["u"],
            help: "recall",
        },
    ];

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn configured(text: &str) -> Result<KeyMap<Act>, KeyError> {
        let dir = std::env::temp_dir().join(format!("chit-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{n}.toml"));
        std::fs::write(&path, text).unwrap();
        let settings = match chit_config::try_parse_from::<Probe>(
            chit_config::Binary::Kitchen,
            ["chit-kitchen"],
            Some(&path),
            &["keys"],
        ) {
            Ok(chit_config::Parsed::Run(_, settings)) => settings,
            other => panic!("{:?}", other.err()),
        };
        KeyMap::new(ACTIONS).configured(&settings, "chit-kitchen.keys", &["claim"])
    }

    #[derive(clap::Parser, Debug)]
    struct Probe {}

    #[test]
    fn key_names_read_as_a_bump_bars_manual_writes_them() {
        assert_eq!(Key::parse("Enter"), Ok(Key::plain(KeyCode::Enter)));
        assert_eq!(Key::parse("kp_enter"), Ok(Key::plain(KeyCode::Enter)));
        assert_eq!(Key::parse("Space"), Ok(Key::plain(KeyCode::Char(' '))));
        assert_eq!(Key::parse("."), Ok(Key::plain(KeyCode::Char('.'))));
        assert_eq!(Key::parse("F12"), Ok(Key::plain(KeyCode::F(12))));
        assert_eq!(
            Key::parse("Ctrl-b"),
            Ok(Key {
                code: KeyCode::Char('b'),
                ctrl: true
            })
        );
        assert!(
            Key::parse("Entr")
                .unwrap_err()
                .contains("'Entr' is not a key")
        );
        assert!(Key::parse("F99").is_err());
        assert_eq!(Key::plain(KeyCode::Char(' ')).to_string(), "Space");
    }

    #[test]
    fn the_config_file_remaps_keys_and_says_what_is_wrong() {
        let map = KeyMap::new(ACTIONS);
        assert_eq!(map.action(&press(KeyCode::Enter)), Some(Act::Bump));
        assert_eq!(map.keys_of(Act::Bump), "Enter/Space");

        let map = configured("[chit-kitchen.keys]\nbump = [\"0\", \"KP_Enter\"]\nrecall = \".\"\n")
            .unwrap();
        assert_eq!(map.action(&press(KeyCode::Char('0'))), Some(Act::Bump));
        assert_eq!(
            map.action(&press(KeyCode::Char(' '))),
            None,
            "defaults replaced"
        );
        assert_eq!(map.action(&press(KeyCode::Char('.'))), Some(Act::Recall));
        assert_eq!(map.action(&press(KeyCode::Char('u'))), None);

        // The shared table may name the other display's actions.
        let map = configured("[keys]\nclaim = \"c\"\nrecall = \"r\"\n").unwrap();
        assert_eq!(map.action(&press(KeyCode::Char('r'))), Some(Act::Recall));
        assert_eq!(map.action(&press(KeyCode::Char('c'))), None);
        assert!(
            configured("[keys]\nclaim = \"Entr\"\n").is_err(),
            "checked all the same"
        );

        let e = configured("[chit-kitchen.keys]\nbmp = \"0\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "bmp"));
        assert!(e.message.contains("its actions are bump, recall"), "{e}");
        let e = configured("[chit-kitchen.keys]\n\nrecall = \"Entr\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "recall"));
        let e = configured("[chit-kitchen.keys]\nrecall = \"Space\"\n").unwrap_err();
        assert!(
            e.message.contains("Space is both bump's and recall's key"),
            "{e}"
        );
    }
}
