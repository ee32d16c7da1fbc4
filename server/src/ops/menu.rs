//! `chit-server menu load --restaurant ID FILE.toml` and `menu show --restaurant ID`:
//! loading a restaurant's menu from the file its owner writes, and printing it. A load
//! is checked whole before anything is saved, then left in the database for the
//! running server, which takes it up within a second (see `store::rules::menus`); a
//! server started later takes it up when it starts.

use std::path::PathBuf;

use chit_protocol::{Menu, UnavailableItem};

use super::offline::Target;
use crate::kitchen::menu_file::{self, MenuError};
use crate::store::StoreError;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum MenuCommand {
    /// Load a restaurant's menu from a TOML file (stations, categories, items, prep
    /// minutes); a running server uses it within a second.
    Load {
        #[arg(long)]
        restaurant: String,
        /// The menu file (see assets/menus/thai-1.toml).
        file: PathBuf,
    },
    /// Print a restaurant's menu: its stations, and what each makes in how long.
    Show {
        #[arg(long)]
        restaurant: String,
        /// The menu as JSON, as `get_menu` sends it.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MenuLoadError {
    #[error("cannot read '{0}': {1}")]
    Read(PathBuf, std::io::Error),
    #[error(transparent)]
    Invalid(#[from] MenuError),
    #[error("restaurant '{0}' is not a valid id (1-64 letters, digits, '_', '-' or '.')")]
    Restaurant(String),
    // Not a `source`: PostgreSQL's message already holds its causes.
    #[error("{0}")]
    Db(StoreError),
}

impl From<StoreError> for MenuLoadError {
    fn from(error: StoreError) -> MenuLoadError {
        MenuLoadError::Db(error)
    }
}

/// Runs a `menu` command on the database `target` names; returns what to print.
pub fn run(target: &Target, cmd: &MenuCommand) -> Result<String, MenuLoadError> {
    match cmd {
        MenuCommand::Load { restaurant, file } => {
            check_restaurant(restaurant)?;
            let text =
                std::fs::read_to_string(file).map_err(|e| MenuLoadError::Read(file.clone(), e))?;
            let menu = menu_file::parse(&file.display().to_string(), &text, restaurant)?;
            let mut db = target.open()?;
            let menu = db.queue_menu_load(menu, chit_protocol::now_ms())?;
            Ok(format!(
                "loaded menu version {} of '{restaurant}' from '{}': {} ({}), {} categories, {} items; a running server uses it within a second",
                menu.version,
                file.display(),
                count(menu.stations.len(), "station"),
                menu.stations.join(", "),
                menu.categories.len(),
                menu.items.len()
            ))
        }
        MenuCommand::Show { restaurant, json } => {
            check_restaurant(restaurant)?;
            let mut db = target.open_existing()?;
            let newest = db.newest_menu(restaurant)?;
            let unavailable = db.unavailable(restaurant, chit_protocol::now_ms())?;
            if *json {
                let value = serde_json::json!({
                    "restaurant": restaurant,
                    "menu": newest.as_ref().map(|(m, _)| m),
                    "unavailable": unavailable,
                });
                return Ok(value.to_string());
            }
            Ok(match newest {
                None => format!(
                    "'{restaurant}' has no menu: each order is one ticket for one station (load one with chit-server menu load)"
                ),
                Some((menu, waiting)) => describe(&menu, waiting, &unavailable),
            })
        }
    }
}

fn check_restaurant(restaurant: &str) -> Result<(), MenuLoadError> {
    if chit_protocol::room::valid_ident(restaurant) {
        Ok(())
    } else {
        Err(MenuLoadError::Restaurant(restaurant.to_string()))
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The menu as a kitchen reads it: by station, then category, each item's minutes.
pub fn describe(menu: &Menu, waiting: bool, unavailable: &[UnavailableItem]) -> String {
    let mut text = format!(
        "{}: menu version {}, loaded {}{}\n",
        menu.restaurant,
        menu.version,
        local(&menu.loaded_at),
        if waiting {
            " (not yet in use: a running server takes it up within a second)"
        } else {
            ""
        }
    );
    text += &format!(
        "items not on it go to {}; prep {} min unless said\n",
        menu.default_station, menu.default_prep_minutes
    );
    let width = menu
        .items
        .iter()
        .map(|i| chit_text::width(&i.name))
        .max()
        .unwrap_or(0);
    for station in &menu.stations {
        text += &format!("\n{station}\n");
        for category in menu.categories.iter().filter(|c| &c.station == station) {
            text += &format!("  {} ({} min)\n", category.name, category.prep_minutes);
            for item in menu.items.iter().filter(|i| i.category == category.name) {
                let also = if item.also.is_empty() {
                    String::new()
                } else {
                    format!("   also: {}", item.also.join(", "))
                };
                text += &format!(
                    "    {}  {:>3} min{also}\n",
                    chit_text::pad(&item.name, width),
                    item.prep_minutes
                );
            }
        }
    }
    if !unavailable.is_empty() {
        text += "\nunavailable now (86):\n";
        for u in unavailable {
            text += &format!("  {} until {}\n", u.item, local(&u.until));
        }
    }
    text.trim_end().to_string()
}

fn local(rfc3339: &str) -> String {
    chit_text::local_date_time(rfc3339)
}
