//! A restaurant's menu as the wire carries it: its stations, which station makes each
//! category, each item's category and prep minutes; and the items it has run out of
//! ("86"). The menu file's own format and its checks are the server's.

use serde::{Deserialize, Serialize};

/// A restaurant's menu, as loaded with `chit-server menu load`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    pub restaurant: String,
    /// Every station, in the order the file gives them.
    pub stations: Vec<String>,
    /// Where an item goes when neither its category nor its name is on the menu.
    pub default_station: String,
    /// Prep minutes of an item the menu gives none for.
    pub default_prep_minutes: u32,
    pub categories: Vec<MenuCategory>,
    pub items: Vec<MenuItem>,
    /// Counts the loads of this restaurant's menu, from 1.
    pub version: u64,
    /// When it was loaded (RFC 3339 UTC).
    pub loaded_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuCategory {
    pub name: String,
    pub station: String,
    pub prep_minutes: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub name: String,
    pub category: String,
    pub station: String,
    pub prep_minutes: u32,
    /// Other names orders may use for it (another platform's spelling, the Thai name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

/// An item a restaurant has run out of ("86"): orders naming it are refused with
/// `unavailable` until `until`, or until it is restored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableItem {
    /// The item's name as the menu has it (or as it was given, for a restaurant
    /// without a menu).
    pub item: String,
    /// RFC 3339 UTC.
    pub until: String,
    /// When it was made unavailable, and by whom (the token's name).
    pub since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What changed in a `menu_update` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MenuChange {
    /// A menu was loaded (first, or in place of the one before).
    Loaded,
    /// An item was made unavailable.
    Unavailable,
    /// An item is available again: restored, or its `until` passed.
    Restored,
}

impl MenuChange {
    pub fn as_str(self) -> &'static str {
        match self {
            MenuChange::Loaded => "loaded",
            MenuChange::Unavailable => "unavailable",
            MenuChange::Restored => "restored",
        }
    }
}

/// The `data` of a `menu_update` event, sent to `restaurant:ID`: what changed, the
/// menu when it was loaded, and every item unavailable now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuUpdate {
    pub restaurant: String,
    pub change: MenuChange,
    /// The item made unavailable or restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// A restore because the item's `until` passed (rather than by someone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
    /// The menu as loaded, for `loaded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<Menu>,
    pub unavailable: Vec<UnavailableItem>,
}

/// How item and category names are compared: case folded, ends trimmed, inner runs of
/// white space made one space. "  pad   THAI " names "Pad Thai".
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_or_extra_spaces() {
        assert_eq!(name_key("  pad   THAI "), name_key("Pad Thai"));
        assert_eq!(name_key("ผัดไทย"), "ผัดไทย");
        assert_ne!(name_key("Pad Thai"), name_key("Pad See Ew"));
    }
}
