//! `completions SHELL` and `man [DIR]`, the same two subcommands in every binary: shell
//! completions from clap_complete, man pages from clap_mangen, both made from the very
//! command line the binary parses (so they never drift from `--help`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Command, CommandFactory, Subcommand};

/// The subcommands that describe a binary rather than run it.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum DocsCommand {
    /// Print shell completions: bash, zsh, fish, elvish or powershell.
    Completions { shell: clap_complete::Shell },
    /// Print the man page, or with DIR write one page per command there (BIN.1,
    /// BIN-SUBCOMMAND.1, …) and list them.
    Man {
        #[arg(value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
}

/// What the man pages add below the options: the config file and precedence.
const FILES: &str = "\
Settings come from, strongest first: flags, the environment, the config file, defaults. \
The config file is $XDG_CONFIG_HOME/chit/config.toml (~/.config/chit/config.toml), or the \
file CHIT_CONFIG names. Its keys are the long flags with '_' for '-' (server, token_file, \
ca_file, restaurant, warn_after, ...); top-level keys apply to every chit program that \
has the flag, and a section named after a program ([chit], [chit-kitchen], [chit-rider], \
[chit-server]) holds that program's own. --show-config prints every setting and where it \
came from.";

/// The command as the binary parses it, with the flags every binary gains.
pub fn command<T: CommandFactory>() -> Command {
    crate::layers::with_show_config(T::command())
}

impl DocsCommand {
    /// Prints or writes what was asked for `cmd` (from [`command`]).
    pub fn run(&self, cmd: Command) -> std::io::Result<()> {
        let name = cmd.get_name().to_string();
        let mut cmd = cmd.after_long_help(FILES);
        match self {
            DocsCommand::Completions { shell } => {
                let mut out = std::io::stdout().lock();
                clap_complete::generate(*shell, &mut cmd, name, &mut out);
                out.flush()
            }
            DocsCommand::Man { dir: None } => {
                let mut out = std::io::stdout().lock();
                clap_mangen::Man::new(cmd).render(&mut out)?;
                out.flush()
            }
            DocsCommand::Man { dir: Some(dir) } => {
                std::fs::create_dir_all(dir)?;
                for page in man_pages(cmd, dir)? {
                    println!("{}", page.display());
                }
                Ok(())
            }
        }
    }
}

/// Writes a page for `cmd` and one for each of its subcommands (named as `man` finds
/// them: `chit-order-place.1`); returns their paths.
fn man_pages(cmd: Command, dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    write_pages(&cmd, cmd.get_name(), dir, &mut pages)?;
    Ok(pages)
}

fn write_pages(
    cmd: &Command,
    name: &str,
    dir: &std::path::Path,
    pages: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let page = cmd
        .clone()
        .name(name.to_string())
        .display_name(name.to_string());
    pages.push(clap_mangen::Man::new(page).generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, pages)?;
    }
    Ok(())
}
