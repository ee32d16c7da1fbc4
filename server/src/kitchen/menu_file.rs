//! The menu file a restaurant owner writes by hand (TOML): stations, categories with
//! the station that makes them, and items with their prep minutes. Reading it checks
//! everything a kitchen would trip over later, and each error names the file, the line
//! and the key.
//!
//! ```toml
//! default_station = "wok"            # where items not on the menu go
//! prep_minutes = 12                  # for categories and items that give none
//! stations = ["wok", "grill", "bar"] # optional: their order on screens; a check on typos
//!
//! [[category]]
//! name = "Noodles"
//! station = "wok"
//! prep_minutes = 10
//! items = ["Pad Thai", { name = "Khao soi", prep_minutes = 14, also = ["ข้าวซอย"] }]
//! ```

use std::collections::HashMap;
use std::ops::Range;

use chit_protocol::menu::name_key;
use chit_protocol::room::valid_ident;
use chit_protocol::{Menu, MenuCategory, MenuItem};
use serde::Deserialize;
use toml::Spanned;

/// The most prep minutes an item or category may take (a slow braise is four hours).
pub const MAX_PREP_MINUTES: u32 = 240;
/// A menu's limits: it travels whole in a `menu_update` event.
pub const MAX_CATEGORIES: usize = 100;
pub const MAX_ITEMS: usize = 1000;
pub const MAX_FILE_BYTES: usize = 1 << 20;
const MAX_NAME: usize = crate::store::validate::MAX_NAME;
const MAX_CATEGORY_NAME: usize = 60;

/// A menu file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct MenuError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    restaurant: Option<Spanned<String>>,
    #[serde(default)]
    default_station: Option<Spanned<String>>,
    #[serde(default)]
    prep_minutes: Option<Spanned<u32>>,
    #[serde(default)]
    stations: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    category: Vec<Spanned<Category>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Category {
    name: Spanned<String>,
    station: Spanned<String>,
    #[serde(default)]
    prep_minutes: Option<Spanned<u32>>,
    #[serde(default)]
    items: Vec<Spanned<Entry>>,
}

/// An item: its name alone, or a table with its own prep minutes and other names.
enum Entry {
    Name(String),
    Full(FullItem),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullItem {
    name: String,
    #[serde(default)]
    prep_minutes: Option<u32>,
    #[serde(default)]
    also: Vec<String>,
}

// Written out rather than `#[serde(untagged)]`, whose one error ("did not match any
// variant") would hide which key of an item's table is wrong.
impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an item's name, or a table { name = \"…\", prep_minutes = N }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Entry, E> {
                Ok(Entry::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                FullItem::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Entry::Full)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Reads menu file `text` (named `file` in errors) for `restaurant`. The menu's
/// `version` and `loaded_at` are left for the loader to set.
pub fn parse(file: &str, text: &str, restaurant: &str) -> Result<Menu, MenuError> {
    let at = |span: Range<usize>, message: String| MenuError {
        file: file.to_string(),
        line: line_of(text, span.start),
        message,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(at(
            0..0,
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let parsed: File = toml::from_str(text).map_err(|mut e| {
        let span = e.span().unwrap_or(0..0);
        e.set_input(None);
        // The message, and the key it is under when toml knows it.
        let said = e.to_string();
        let message = said.trim_end().replace('\n', " ");
        at(span, message)
    })?;
    if let Some(named) = &parsed.restaurant
        && named.get_ref() != restaurant
    {
        return Err(at(
            named.span(),
            format!(
                "restaurant: the file is the menu of '{}', not of '{restaurant}'",
                named.get_ref()
            ),
        ));
    }
    let default_prep = match &parsed.prep_minutes {
        Some(p) => prep(p, "prep_minutes").map_err(|m| at(p.span(), m))?,
        None => crate::kitchen::routing::DEFAULT_PREP_MINUTES,
    };
    if parsed.category.is_empty() {
        return Err(at(
            0..0,
            "the menu has no [[category]]: give each category its station and items".into(),
        ));
    }
    if parsed.category.len() > MAX_CATEGORIES {
        return Err(at(
            parsed.category[MAX_CATEGORIES].span(),
            format!("a menu may have at most {MAX_CATEGORIES} categories"),
        ));
    }
    // Stations: as listed, or as the categories name them, in order.
    let listed = parsed.stations.as_ref().map(|s| s.get_ref());
    let mut stations: Vec<String> = Vec::new();
    for s in listed.into_iter().flatten() {
        station_name(s.get_ref()).map_err(|m| at(s.span(), format!("stations: {m}")))?;
        if stations.contains(s.get_ref()) {
            return Err(at(
                s.span(),
                format!("stations: '{}' is listed twice", s.get_ref()),
            ));
        }
        stations.push(s.get_ref().clone());
    }
    let known = |name: &Spanned<String>, key: &str, stations: &mut Vec<String>| {
        station_name(name.get_ref()).map_err(|m| at(name.span(), format!("{key}: {m}")))?;
        if stations.contains(name.get_ref()) {
            return Ok(());
        }
        if listed.is_some() {
            return Err(at(
                name.span(),
                format!(
                    "{key}: '{}' is not one of the stations listed ({})",
                    name.get_ref(),
                    stations.join(", ")
                ),
            ));
        }
        stations.push(name.get_ref().clone());
        Ok(())
    };
    let mut categories = Vec::with_capacity(parsed.category.len());
    let mut items: Vec<MenuItem> = Vec::new();
    let mut seen_categories: HashMap<String, usize> = HashMap::new();
    let mut seen_items: HashMap<String, usize> = HashMap::new();
    for (i, spanned) in parsed.category.iter().enumerate() {
        let c = spanned.get_ref();
        let key = format!("category[{}]", i + 1);
        let name = c.name.get_ref().trim();
        if name.is_empty() || name.chars().count() > MAX_CATEGORY_NAME {
            return Err(at(
                c.name.span(),
                format!("{key}.name must be 1 to {MAX_CATEGORY_NAME} characters"),
            ));
        }
        let line = line_of(text, c.name.span().start);
        if let Some(first) = seen_categories.insert(name_key(name), line) {
            return Err(at(
                c.name.span(),
                format!("{key}.name: category '{name}' is already on line {first}"),
            ));
        }
        known(&c.station, &format!("{key}.station"), &mut stations)?;
        let category_prep = match &c.prep_minutes {
            Some(p) => prep(p, &format!("{key}.prep_minutes")).map_err(|m| at(p.span(), m))?,
            None => default_prep,
        };
        if c.items.is_empty() {
            return Err(at(spanned.span(), format!("{key} ('{name}') has no items")));
        }
        for entry in &c.items {
            let (item_name, item_prep, also) = match entry.get_ref() {
                Entry::Name(n) => (n.as_str(), None, &[][..]),
                Entry::Full(f) => (f.name.as_str(), f.prep_minutes, &f.also[..]),
            };
            let item_key = format!("{key} ('{name}') items");
            let item_name = item_name.trim();
            let item_prep = match item_prep {
                Some(p) if p > MAX_PREP_MINUTES => {
                    return Err(at(
                        entry.span(),
                        format!(
                            "{item_key}: '{item_name}' has prep_minutes {p}: at most {MAX_PREP_MINUTES}"
                        ),
                    ));
                }
                Some(p) => p,
                None => category_prep,
            };
            let line = line_of(text, entry.span().start);
            for n in std::iter::once(item_name).chain(also.iter().map(|a| a.trim())) {
                if n.is_empty() || n.chars().count() > MAX_NAME {
                    return Err(at(
                        entry.span(),
                        format!("{item_key}: an item's name must be 1 to {MAX_NAME} characters"),
                    ));
                }
                if let Some(first) = seen_items.insert(name_key(n), line) {
                    return Err(at(
                        entry.span(),
                        format!("{item_key}: '{n}' is already on the menu, on line {first}"),
                    ));
                }
            }
            items.push(MenuItem {
                name: item_name.to_string(),
                category: name.to_string(),
                station: c.station.get_ref().clone(),
                prep_minutes: item_prep,
                also: also.iter().map(|a| a.trim().to_string()).collect(),
            });
            if items.len() > MAX_ITEMS {
                return Err(at(
                    entry.span(),
                    format!("a menu may have at most {MAX_ITEMS} items"),
                ));
            }
        }
        categories.push(MenuCategory {
            name: name.to_string(),
            station: c.station.get_ref().clone(),
            prep_minutes: category_prep,
        });
    }
    let default_station = match &parsed.default_station {
        Some(d) => {
            known(d, "default_station", &mut stations)?;
            d.get_ref().clone()
        }
        None => stations[0].clone(),
    };
    Ok(Menu {
        restaurant: restaurant.to_string(),
        stations,
        default_station,
        default_prep_minutes: default_prep,
        categories,
        items,
        version: 0,
        loaded_at: String::new(),
    })
}

fn prep(p: &Spanned<u32>, key: &str) -> Result<u32, String> {
    let minutes = *p.get_ref();
    if minutes > MAX_PREP_MINUTES {
        return Err(format!(
            "{key} is {minutes}: at most {MAX_PREP_MINUTES} minutes"
        ));
    }
    Ok(minutes)
}

/// Station names are what `chit-kitchen --station NAME` takes.
fn station_name(name: &str) -> Result<(), String> {
    if valid_ident(name) {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a station name (1-64 letters, digits, '_', '-' or '.')"
        ))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
default_station = "wok"
prep_minutes = 12
stations = ["wok", "grill", "bar"]

[[category]]
name = "Noodles"
station = "wok"
prep_minutes = 10
items = ["Pad Thai", { name = "Khao soi", prep_minutes = 14, also = ["ข้าวซอย"] }]

[[category]]
name = "Drinks"
station = "bar"
prep_minutes = 3
items = ["Thai iced tea"]

[[category]]
name = "Grill"
station = "grill"
items = ["Gai yang"]
"#;

    #[test]
    fn reads_stations_categories_and_items_in_file_order() {
        let menu = parse("thai.toml", GOOD, "thai-1").unwrap();
        assert_eq!(menu.stations, ["wok", "grill", "bar"]);
        assert_eq!(menu.default_station, "wok");
        assert_eq!(menu.default_prep_minutes, 12);
        let names: Vec<_> = menu.categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Noodles", "Drinks", "Grill"]);
        let items: Vec<_> = menu
            .items
            .iter()
            .map(|i| (i.name.as_str(), i.station.as_str(), i.prep_minutes))
            .collect();
        assert_eq!(
            items,
            [
                ("Pad Thai", "wok", 10),
                ("Khao soi", "wok", 14),
                ("Thai iced tea", "bar", 3),
                ("Gai yang", "grill", 12),
            ]
        );
        assert_eq!(menu.items[1].also, ["ข้าวซอย"]);
    }

    #[test]
    fn stations_come_from_the_categories_when_not_listed() {
        let text = "[[category]]\nname = \"Drinks\"\nstation = \"bar\"\nitems = [\"Tea\"]\n\
                    [[category]]\nname = \"Mains\"\nstation = \"kitchen\"\nitems = [\"Rice\"]\n";
        let menu = parse("m.toml", text, "r1").unwrap();
        assert_eq!(menu.stations, ["bar", "kitchen"]);
        assert_eq!(menu.default_station, "bar", "the first station");
        assert_eq!(menu.default_prep_minutes, 15);
    }

    #[test]
    fn each_mistake_is_named_with_its_file_line_and_key() {
        let cases = [
            (
                GOOD.replace("station = \"bar\"", "station = \"baar\""),
                14,
                "category[2].station: 'baar' is not one of the stations listed (wok, grill, bar)",
            ),
            (
                GOOD.replace("prep_minutes = 3", "prep_minute = 3"),
                15,
                "unknown field `prep_minute`",
            ),
            (
                GOOD.replace("prep_minutes = 10", "prep_minutes = 600"),
                9,
                "category[1].prep_minutes is 600: at most 240 minutes",
            ),
            (
                GOOD.replace("\"Gai yang\"", "\"pad  thai\""),
                21,
                "'pad  thai' is already on the menu, on line 10",
            ),
            (
                GOOD.replace("name = \"Grill\"", "name = \"noodles\""),
                19,
                "category[3].name: category 'noodles' is already on line 7",
            ),
            (
                GOOD.replace("default_station = \"wok\"", "default_station = \"fryer\""),
                2,
                "default_station: 'fryer' is not one of the stations",
            ),
            (
                GOOD.replace("stations = [\"wok\",", "stations = [\"w o k\","),
                4,
                "stations: 'w o k' is not a station name",
            ),
            (
                GOOD.replace("items = [\"Gai yang\"]", "items = []"),
                18,
                "category[3] ('Grill') has no items",
            ),
            (
                GOOD.replace("prep_minutes = 12", "prep_minutes = \"twelve\""),
                3,
                "invalid type",
            ),
            (
                GOOD.replace(
                    "[[category]]\nname = \"Drinks\"",
                    "[[category]\nname = \"Drinks\"",
                ),
                12,
                "unclosed array table",
            ),
            (
                format!("restaurant = \"pizza-2\"\n{GOOD}"),
                1,
                "the menu of 'pizza-2', not of 'thai-1'",
            ),
            ("prep_minutes = 5\n".to_string(), 1, "no [[category]]"),
        ];
        for (text, line, says) in cases {
            let e = parse("thai.toml", &text, "thai-1").unwrap_err();
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("thai.toml:{line}: ")),
                "{shown} (expected line {line})"
            );
            assert!(shown.contains(says), "{shown} !~ {says}");
            assert!(!shown.contains('\n'), "one line: {shown}");
        }
    }
}
