//! `chit menu …`: what a restaurant has run out of ("86": make an item unavailable,
//! list them, restore one) and its menu (stations, categories, items, minutes). The
//! restaurant is `--restaurant`, or the one a kitchen or pos token is bound to.

use chit_client::Client;
use chit_protocol::{ClientMsg, Menu, ServerMsg, UnavailableItem};
use clap::Subcommand;
use serde_json::json;

use crate::connect::connect;
use crate::output::{self, json};
use crate::{Failure, Global, Outcome, when};

#[derive(Subcommand)]
pub enum MenuCommand {
    /// Make an item unavailable ("86"): orders naming it are refused until --until
    /// (default: the end of the day) or until it is restored.
    #[command(name = "86")]
    EightySix {
        /// The item, as the menu names it (or any of its other names).
        item: String,
        #[arg(long)]
        restaurant: Option<String>,
        /// HH:MM (local, the next one), YYYY-MM-DD HH:MM (local) or RFC 3339.
        #[arg(long, value_parser = when::parse)]
        until: Option<String>,
    },
    /// List what a restaurant has run out of, soonest back first.
    Unavailable {
        #[arg(long)]
        restaurant: Option<String>,
    },
    /// Make an item available again.
    Restore {
        item: String,
        #[arg(long)]
        restaurant: Option<String>,
    },
    /// Show a restaurant's menu: stations, categories, items and their prep minutes.
    Show {
        #[arg(long)]
        restaurant: Option<String>,
    },
}

pub async fn run(global: &Global, cmd: MenuCommand) -> Outcome {
    let (client, _) = connect(global).await?;
    match cmd {
        MenuCommand::EightySix {
            item,
            restaurant,
            until,
        } => {
            let restaurant = restaurant_of(&client, restaurant)?;
            let msg = ClientMsg::MarkUnavailable {
                restaurant: restaurant.clone(),
                item: item.clone(),
                until,
            };
            let items = unavailable(&client, msg).await?;
            if global.json {
                json(&json!({ "restaurant": restaurant, "items": items }));
            } else {
                // The one just made unavailable is the newest (under the menu's name for it).
                let newest = items.iter().max_by(|a, b| a.since.cmp(&b.since));
                let name = newest.map_or(item.as_str(), |u| u.item.as_str());
                let until = newest
                    .map(|u| format!(" until {}", output::when(&u.until)))
                    .unwrap_or_default();
                println!(
                    "{name} is unavailable at {restaurant}{until}: orders naming it are refused (chit menu restore \"{name}\" ends it)"
                );
            }
            Ok(())
        }
        MenuCommand::Unavailable { restaurant } => {
            let restaurant = restaurant_of(&client, restaurant)?;
            let msg = ClientMsg::ListUnavailable {
                restaurant: restaurant.clone(),
            };
            let items = unavailable(&client, msg).await?;
            if global.json {
                json(&json!({ "restaurant": restaurant, "items": items }));
            } else if items.is_empty() {
                println!("nothing is unavailable at {restaurant}");
            } else {
                print_unavailable(&items);
            }
            Ok(())
        }
        MenuCommand::Restore { item, restaurant } => {
            let restaurant = restaurant_of(&client, restaurant)?;
            let msg = ClientMsg::MarkAvailable {
                restaurant: restaurant.clone(),
                item: item.clone(),
            };
            let items = unavailable(&client, msg).await?;
            if global.json {
                json(&json!({ "restaurant": restaurant, "items": items }));
            } else {
                println!("{item} is available again at {restaurant}");
            }
            Ok(())
        }
        MenuCommand::Show { restaurant } => {
            let restaurant = restaurant_of(&client, restaurant)?;
            let msg = ClientMsg::GetMenu {
                restaurant: restaurant.clone(),
            };
            let ServerMsg::Menu {
                menu, unavailable, ..
            } = client.request(msg).await?
            else {
                return Err(Failure::refused(
                    "the server answered get_menu with something else",
                ));
            };
            if global.json {
                json(
                    &json!({ "restaurant": restaurant, "menu": menu, "unavailable": unavailable }),
                );
                return Ok(());
            }
            match menu {
                None => println!(
                    "{restaurant} has no menu: each order is one ticket for one station (chit-server menu load gives it one)"
                ),
                Some(menu) => println!("{}", describe(&menu)),
            }
            if !unavailable.is_empty() {
                println!("\nunavailable now (86):");
                print_unavailable(&unavailable);
            }
            Ok(())
        }
    }
}

/// The restaurant named, else the one the token is bound to.
fn restaurant_of(client: &Client, named: Option<String>) -> Result<String, Failure> {
    named
        .or_else(|| client.welcome().restaurant.clone())
        .ok_or_else(|| Failure::usage("name the restaurant: --restaurant ID"))
}

async fn unavailable(client: &Client, msg: ClientMsg) -> Result<Vec<UnavailableItem>, Failure> {
    match client.request(msg).await? {
        ServerMsg::Unavailable { items, .. } => Ok(items),
        _ => Err(Failure::refused("the server answered with something else")),
    }
}

fn print_unavailable(items: &[UnavailableItem]) {
    let width = items
        .iter()
        .map(|u| chit_text::width(&u.item))
        .max()
        .unwrap_or(0);
    for u in items {
        let by =
            u.by.as_deref()
                .map(|b| format!(", by {b}"))
                .unwrap_or_default();
        println!(
            "  {}  until {}  (since {}{by})",
            chit_text::pad(&u.item, width),
            output::when(&u.until),
            output::clock(&u.since),
        );
    }
}

/// The menu as a kitchen reads it: by station, then category, each item's minutes.
fn describe(menu: &Menu) -> String {
    let mut text = format!(
        "{}: menu version {}, loaded {}\nitems not on it go to {}; prep {} min unless said\n",
        menu.restaurant,
        menu.version,
        chit_text::local_date_time(&menu.loaded_at),
        menu.default_station,
        menu.default_prep_minutes
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
                text += &format!(
                    "    {}  {:>3} min\n",
                    chit_text::pad(&item.name, width),
                    item.prep_minutes
                );
            }
        }
    }
    text.trim_end().to_string()
}
