//! Which station makes each item of an order, and in how many minutes: by the category
//! the order names, else by the item's name on the menu (case folded, spaces trimmed,
//! its other names too); an item the menu does not know goes to the default station,
//! never dropped. A restaurant without a menu routes nothing: its tickets stay whole.

use std::collections::HashMap;

use chit_protocol::menu::name_key;
use chit_protocol::{Item, Menu};

/// Prep minutes of an item nothing says otherwise about: a restaurant without a menu,
/// or a menu file that gives none.
pub const DEFAULT_PREP_MINUTES: u32 = 15;

/// A menu made ready for routing: its items and categories found by name.
#[derive(Debug, Clone)]
pub struct Routing {
    menu: Menu,
    items: HashMap<String, usize>,
    categories: HashMap<String, usize>,
}

impl Routing {
    pub fn new(menu: Menu) -> Routing {
        let mut items = HashMap::new();
        for (i, item) in menu.items.iter().enumerate() {
            for name in std::iter::once(&item.name).chain(&item.also) {
                items.insert(name_key(name), i);
            }
        }
        let categories = menu
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| (name_key(&c.name), i))
            .collect();
        Routing {
            menu,
            items,
            categories,
        }
    }

    pub fn menu(&self) -> &Menu {
        &self.menu
    }

    /// The menu's item called `name` (or known by that name).
    pub fn find(&self, name: &str) -> Option<&chit_protocol::MenuItem> {
        self.items
            .get(&name_key(name))
            .map(|&i| &self.menu.items[i])
    }

    /// Sets `item`'s station and prep minutes, and its category when the menu knows the
    /// item by name and the order named none. A category the order names decides the
    /// station even if the menu files the item elsewhere (the order knows best: "the
    /// curry, as a starter").
    pub fn route(&self, item: &mut Item) {
        let known = self
            .items
            .get(&name_key(&item.name))
            .map(|&i| &self.menu.items[i]);
        let named = item
            .category
            .as_deref()
            .and_then(|c| self.categories.get(&name_key(c)))
            .map(|&i| &self.menu.categories[i]);
        let (station, prep) = match (named, known) {
            (Some(category), Some(known)) => (&category.station, known.prep_minutes),
            (Some(category), None) => (&category.station, category.prep_minutes),
            (None, Some(known)) => (&known.station, known.prep_minutes),
            (None, None) => (&self.menu.default_station, self.menu.default_prep_minutes),
        };
        item.station = Some(station.clone());
        item.prep_minutes = Some(prep);
        if item.category.is_none()
            && let Some(known) = known
        {
            item.category = Some(known.category.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::{MenuCategory, MenuItem};

    fn routing() -> Routing {
        let category = |name: &str, station: &str, prep| MenuCategory {
            name: name.into(),
            station: station.into(),
            prep_minutes: prep,
        };
        let item = |name: &str, category: &str, station: &str, prep, also: &[&str]| MenuItem {
            name: name.into(),
            category: category.into(),
            station: station.into(),
            prep_minutes: prep,
            also: also.iter().map(|a| a.to_string()).collect(),
        };
        Routing::new(Menu {
            restaurant: "r1".into(),
            stations: vec!["wok".into(), "grill".into(), "bar".into()],
            default_station: "wok".into(),
            default_prep_minutes: 12,
            categories: vec![
                category("Noodles", "wok", 10),
                category("Grill", "grill", 15),
                category("Drinks", "bar", 3),
            ],
            items: vec![
                item("Pad Thai", "Noodles", "wok", 9, &["ผัดไทย"]),
                item("Gai yang", "Grill", "grill", 18, &[]),
            ],
            ..Default::default()
        })
    }

    fn routed(name: &str, category: Option<&str>) -> (Option<String>, Option<String>, Option<u32>) {
        let mut item = Item {
            name: name.into(),
            category: category.map(str::to_string),
            ..Default::default()
        };
        routing().route(&mut item);
        (item.station, item.category, item.prep_minutes)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn items_go_by_category_then_by_name_then_to_the_default_station() {
        let cases = [
            // By name, case and spaces aside, or by another name it has.
            (("  pad   THAI", None), (s("wok"), s("Noodles"), Some(9))),
            (("ผัดไทย", None), (s("wok"), s("Noodles"), Some(9))),
            (("Gai yang", None), (s("grill"), s("Grill"), Some(18))),
            // A category the order names decides the station; the item keeps its prep.
            (
                ("Thai iced tea", Some("drinks")),
                (s("bar"), s("drinks"), Some(3)),
            ),
            (
                ("Gai yang", Some("Noodles")),
                (s("wok"), s("Noodles"), Some(18)),
            ),
            // A category the menu lacks: found by name, else the default station.
            (
                ("Pad Thai", Some("specials")),
                (s("wok"), s("specials"), Some(9)),
            ),
            (
                ("Mystery dish", Some("specials")),
                (s("wok"), s("specials"), Some(12)),
            ),
            (("Mystery dish", None), (s("wok"), None, Some(12))),
        ];
        for ((name, category), expected) in cases {
            assert_eq!(routed(name, category), expected, "{name} [{category:?}]");
        }
    }
}
