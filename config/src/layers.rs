//! Precedence: a flag beats the environment, which beats the config file, which beats
//! the default. clap already puts flags over environment over defaults, so each value
//! from the file is checked with its flag's own parser and becomes that flag's default;
//! what came from the file is remembered, so every setting can say where it came from
//! (`--show-config`).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, Parser, ValueHint};

use crate::file::{self, Document, FileError, Setting, Table, Value};
use crate::{ALL_KEYS, Binary, key_of};

/// The flag every binary gains: print each setting and where it came from, then exit.
const SHOW: &str = "show_config";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    CommandLine,
    /// The environment variable that held it.
    Environment(String),
    File {
        path: PathBuf,
        line: usize,
    },
    Default,
}

impl Source {
    /// Higher wins: flag 3, environment 2, file 1, default 0.
    pub fn rank(&self) -> u8 {
        match self {
            Source::CommandLine => 3,
            Source::Environment(_) => 2,
            Source::File { .. } => 1,
            Source::Default => 0,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::CommandLine => f.write_str("flag"),
            Source::Environment(var) => write!(f, "environment {var}"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// What parsing found besides the binary's own arguments: where each came from, and the
/// file's reserved tables.
#[derive(Debug, Clone)]
pub struct Settings {
    pub binary: Binary,
    matches: ArgMatches,
    file: Option<PathBuf>,
    from_file: HashMap<String, (PathBuf, usize)>,
    env: HashMap<String, String>,
    tables: BTreeMap<String, Table>,
}

impl Settings {
    /// Where the setting with clap id `id` came from (`Default` if it is not set at all).
    pub fn source(&self, id: &str) -> Source {
        match self.matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::CommandLine,
            Some(ValueSource::EnvVariable) => {
                Source::Environment(self.env.get(id).cloned().unwrap_or_default())
            }
            Some(ValueSource::DefaultValue) => match self.from_file.get(id) {
                Some((path, line)) => Source::File {
                    path: path.clone(),
                    line: *line,
                },
                None => Source::Default,
            },
            _ => Source::Default,
        }
    }

    /// The config file that was read, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A reserved table (`keys`, or `chit-kitchen.keys`), as written.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Settings with no file at all, as when only flags are given (for tests).
    pub fn none(binary: Binary) -> Settings {
        Settings {
            binary,
            matches: ArgMatches::default(),
            file: None,
            from_file: HashMap::new(),
            env: HashMap::new(),
            tables: BTreeMap::new(),
        }
    }
}

/// Why arguments or the config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Args(#[from] clap::Error),
}

/// What a parse ended with.
// Made once per process and taken apart at once: boxing the settings buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed<T> {
    Run(T, Settings),
    /// `--show-config`: the text to print before exiting.
    ShowConfig(String),
    /// `completions` or `man`: answered before the binary's own arguments are read,
    /// so that a display's required flags are not asked for.
    Docs(crate::DocsCommand),
}

/// Parses this process's arguments for `binary` under its environment and config file;
/// on a bad flag or a bad file it says so and exits 2, and `--show-config` prints the
/// settings and exits 0.
pub fn parse<T: Parser>(binary: Binary) -> (T, Settings) {
    parse_with_tables(binary, &[])
}

/// [`parse`], accepting the tables named in `reserved` (`keys`, say), which the binary
/// reads itself through [`Settings::table`].
pub fn parse_with_tables<T: Parser>(binary: Binary, reserved: &[&str]) -> (T, Settings) {
    let outcome = file::locate()
        .map_err(Error::from)
        .and_then(|path| try_parse_from(binary, std::env::args_os(), path.as_deref(), reserved));
    match outcome {
        Ok(Parsed::Run(args, settings)) => (args, settings),
        Ok(Parsed::ShowConfig(text)) => {
            print!("{text}");
            std::process::exit(0);
        }
        Ok(Parsed::Docs(docs)) => match docs.run(crate::docs::command::<T>()) {
            Ok(()) => std::process::exit(0),
            // `chit man | head` ends when head does, like any Unix tool.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            Err(e) => {
                eprintln!("{}: cannot write: {e}", binary.name());
                std::process::exit(1);
            }
        },
        Err(Error::Args(e)) => e.exit(),
        Err(Error::File(e)) => {
            eprintln!("{}: {e}", binary.name());
            std::process::exit(2);
        }
    }
}

/// [`parse`] for given arguments (the first is the program name) and config file, with
/// `reserved` naming the tables the binary reads itself.
pub fn try_parse_from<T: Parser>(
    binary: Binary,
    args: impl IntoIterator<Item = impl Into<OsString>>,
    config: Option<&Path>,
    reserved: &[&str],
) -> Result<Parsed<T>, Error> {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = with_show_config(T::command());
    let doc = config.map(|path| file::read(path, reserved)).transpose()?;
    let mut from_file = HashMap::new();
    if let Some(doc) = &doc {
        for (id, setting) in chosen(&cmd, binary, doc)? {
            cmd = apply(cmd, &id, setting, &doc.path)?;
            from_file.insert(id, (doc.path.clone(), setting.line));
        }
    }
    let showing = args.iter().skip(1).any(|a| a == "--show-config");
    if showing {
        // Whatever else is missing, the settings can still be shown.
        cmd = cmd
            .mut_args(|a| a.required(false))
            .subcommand_required(false)
            .arg_required_else_help(false);
    }
    let env = cmd
        .get_arguments()
        .filter_map(|a| {
            Some((
                a.get_id().to_string(),
                a.get_env()?.to_string_lossy().into_owned(),
            ))
        })
        .collect();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let settings = Settings {
        binary,
        matches,
        file: doc.as_ref().map(|d| d.path.clone()),
        from_file,
        env,
        tables: doc.map(|d| d.tables).unwrap_or_default(),
    };
    if settings.matches.get_flag(SHOW) {
        return Ok(Parsed::ShowConfig(show(&cmd, &settings, config)));
    }
    if let Some((name, _)) = settings.matches.subcommand()
        && <crate::DocsCommand as clap::Subcommand>::has_subcommand(name)
    {
        let docs =
            <crate::DocsCommand as clap::FromArgMatches>::from_arg_matches(&settings.matches)
                .map_err(|e| e.format(&mut cmd))?;
        return Ok(Parsed::Docs(docs));
    }
    let parsed = T::from_arg_matches(&settings.matches).map_err(|e| e.format(&mut cmd))?;
    Ok(Parsed::Run(parsed, settings))
}

/// `cmd` with `--show-config`, which every binary takes.
pub(crate) fn with_show_config(cmd: Command) -> Command {
    cmd.arg(
        Arg::new(SHOW)
            .long("show-config")
            .action(ArgAction::SetTrue)
            .help("Print every setting, its value and where it came from (flag, environment, config file or default), then exit"),
    )
}

/// The arguments that are settings: the top-level long flags (for `chit`, the global
/// ones), without help and version.
pub(crate) fn setting_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments().filter(|a| {
        a.get_long().is_some()
            && !a.is_positional()
            && a.get_id() != SHOW
            && !matches!(
                a.get_action(),
                ArgAction::Help | ArgAction::HelpLong | ArgAction::Version
            )
    })
}

/// For each of this binary's settings the file sets, the line that counts (its section
/// over the top level), after checking that every key in the file means something.
fn chosen<'d>(
    cmd: &Command,
    binary: Binary,
    doc: &'d Document,
) -> Result<Vec<(String, &'d Setting)>, FileError> {
    let own: Vec<(String, String)> = setting_args(cmd)
        .map(|a| (a.get_id().to_string(), key_of(a.get_long().expect("long"))))
        .collect();
    let unknown = |s: &Setting, why: String| FileError {
        path: doc.path.clone(),
        line: Some(s.line),
        key: Some(s.key.clone()),
        message: why,
    };
    for s in &doc.shared {
        let key = key_of(&s.key);
        if !ALL_KEYS.contains(&key.as_str()) && !own.iter().any(|(_, k)| *k == key) {
            return Err(unknown(s, "no chit program has this setting".into()));
        }
    }
    let mut picked = Vec::new();
    for (section, settings) in &doc.sections {
        for s in settings {
            let known = if *section == binary.name() {
                own.iter().any(|(_, k)| *k == key_of(&s.key))
            } else {
                ALL_KEYS.contains(&key_of(&s.key).as_str())
            };
            if !known {
                return Err(unknown(
                    s,
                    format!("{section} has no --{} flag", s.key.replace('_', "-")),
                ));
            }
        }
    }
    let section = doc.sections.get(binary.name());
    for (id, key) in own {
        let in_section = section.and_then(|ss| ss.iter().find(|s| key_of(&s.key) == key));
        if let Some(s) = in_section.or_else(|| doc.shared.iter().find(|s| key_of(&s.key) == key)) {
            picked.push((id, s));
        }
    }
    Ok(picked)
}

/// Makes `setting` the default of the argument `id`, once its flag's parser accepts it.
fn apply(cmd: Command, id: &str, setting: &Setting, path: &Path) -> Result<Command, FileError> {
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_id() == id)
        .expect("a setting of this command")
        .clone();
    let fail = |message: String| FileError {
        path: path.to_path_buf(),
        line: Some(setting.line),
        key: Some(setting.key.clone()),
        message,
    };
    let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    let values: Vec<String> = match (&setting.value, switch) {
        (Value::Bool(b), true) => vec![b.to_string()],
        (_, true) => return Err(fail("this is a switch: write true or false".into())),
        (Value::Bool(_), false) => {
            return Err(fail(format!(
                "--{} takes a value, not true or false",
                arg.get_long().unwrap_or_default()
            )));
        }
        (Value::Text(text), false) => vec![text.clone()],
        (Value::List(items), false) if matches!(arg.get_action(), ArgAction::Append) => {
            items.clone()
        }
        // A list for a flag that takes one comma-separated value (`server`).
        (Value::List(items), false) => vec![items.join(",")],
    };
    let values: Vec<String> = values
        .into_iter()
        .map(|v| resolve_path(&arg, v, path))
        .collect();
    if !switch {
        for value in &values {
            check(&arg, value).map_err(fail)?;
        }
    }
    Ok(cmd.mut_arg(id, |a| a.required(false).default_values(values)))
}

/// A relative path in the file is taken from the file's directory, and `~/` is home.
fn resolve_path(arg: &Arg, value: String, file: &Path) -> String {
    if !matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath
    ) {
        return value;
    }
    if let Some(rest) = value.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest).to_string_lossy().into_owned();
    }
    let p = Path::new(&value);
    match file.parent() {
        Some(dir) if p.is_relative() => dir.join(p).to_string_lossy().into_owned(),
        _ => value,
    }
}

/// Runs `value` through the argument's own parser, as if it had been typed.
fn check(arg: &Arg, value: &str) -> Result<(), String> {
    let probe = Arg::new("value")
        .long("value")
        .action(ArgAction::Set)
        .value_parser(arg.get_value_parser().clone());
    let parsed = Command::new("probe")
        .no_binary_name(true)
        .arg(probe)
        .try_get_matches_from([format!("--value={value}")]);
    let Err(e) = parsed else {
        return Ok(());
    };
    let flag = format!("--{}", arg.get_long().unwrap_or_default());
    if e.kind() == clap::error::ErrorKind::InvalidValue {
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|p| p.get_name().to_string())
            .collect();
        if !choices.is_empty() {
            return Err(format!(
                "'{value}' is not a value {flag} takes: one of {}",
                choices.join(", ")
            ));
        }
    }
    let why = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or_else(|| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        });
    Err(format!("'{value}' is not a value {flag} takes: {why}"))
}

/// The `--show-config` text: valid TOML, each line saying where its value came from.
fn show(cmd: &Command, settings: &Settings, config: Option<&Path>) -> String {
    let mut out = String::new();
    let name = settings.binary.name();
    let _ = writeln!(
        out,
        "# {name}: a flag beats the environment, which beats the config file, which beats the default"
    );
    match config {
        Some(path) => {
            let _ = writeln!(out, "# config file: {}", path.display());
        }
        None => {
            let looked = file::default_path()
                .map(|p| format!(" (none at {})", p.display()))
                .unwrap_or_default();
            let _ = writeln!(out, "# config file: none{looked}");
        }
    }
    for arg in setting_args(cmd) {
        let id = arg.get_id().as_str();
        let key = key_of(arg.get_long().expect("long"));
        let source = settings.source(id);
        let raw: Option<Vec<String>> = settings
            .matches
            .get_raw(id)
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect());
        let secret = arg.is_hide_env_values_set();
        match raw {
            None => {
                let _ = writeln!(out, "# {key} is not set");
            }
            Some(_) if secret => {
                let _ = writeln!(out, "# {key} is set, not shown  # {source}");
            }
            Some(values) => {
                let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
                let text = match values.as_slice() {
                    [one] if switch => one.clone(),
                    [one] => quote(one),
                    many => format!(
                        "[{}]",
                        many.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
                    ),
                };
                let _ = writeln!(out, "{key} = {text}  # {source}");
            }
        }
    }
    out
}

fn quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests;
