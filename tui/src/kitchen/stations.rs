//! Which screen a kitchen display is (whole tickets, one station, or the expo) and what
//! each screen reads from an order: the items at a station, their progress, which items a
//! bump moves, and the one-line summary of the other stations. Pure functions of the
//! order and the menu; no state.

use chit_protocol::{ItemState, Menu, Order, Status};

/// What a kitchen display shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Whole tickets, bumped through the statuses: a kitchen without stations.
    Tickets,
    /// One station's items of each open ticket, bumped item by item.
    Station(String),
    /// Whole orders with each station's progress; its bump sends the order out (ready).
    Expo,
}

impl Screen {
    pub fn station(&self) -> Option<&str> {
        match self {
            Screen::Station(s) => Some(s),
            _ => None,
        }
    }
}

/// The station an item is made at: as the server routed it, or, for an order placed
/// before the restaurant had a menu, the menu's default station.
pub fn item_station<'a>(item: &'a chit_protocol::Item, menu: Option<&'a Menu>) -> Option<&'a str> {
    item.station
        .as_deref()
        .or_else(|| menu.map(|m| m.default_station.as_str()))
}

/// The positions (from 0) of `order`'s items made at `station`.
pub fn items_at(order: &Order, station: &str, menu: Option<&Menu>) -> Vec<usize> {
    order
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| item_station(item, menu) == Some(station))
        .map(|(i, _)| i)
        .collect()
}

/// Whether `station` has work on `order`: an item there that is not done, while the
/// kitchen still works the order (not held, not yet sent out).
pub fn has_work(order: &Order, station: &str, menu: Option<&Menu>) -> bool {
    matches!(
        order.status,
        Status::Pending | Status::Confirmed | Status::Preparing
    ) && !order.is_held()
        && items_at(order, station, menu)
            .into_iter()
            .any(|i| order.items[i].state != ItemState::Done)
}

/// What a bump at `station` does to `order`: every queued item there is started; when
/// none is queued, every started item is done. Returns (item number from 1, its state
/// now, the state it moves to).
pub fn station_bump(
    order: &Order,
    station: &str,
    menu: Option<&Menu>,
) -> Vec<(u32, ItemState, ItemState)> {
    let at = items_at(order, station, menu);
    let step = |from: ItemState| -> Vec<(u32, ItemState, ItemState)> {
        at.iter()
            .filter(|&&i| order.items[i].state == from)
            .filter_map(|&i| from.next().map(|to| (i as u32 + 1, from, to)))
            .collect()
    };
    let start = step(ItemState::Queued);
    if start.is_empty() {
        step(ItemState::Started)
    } else {
        start
    }
}

/// The stations that make something of `order`: in the menu's order, then any other
/// the order names (a menu reloaded since it was placed).
pub fn stations_of<'a>(order: &'a Order, menu: Option<&'a Menu>) -> Vec<&'a str> {
    let mut stations: Vec<&str> = menu
        .map(|m| m.stations.iter().map(String::as_str).collect())
        .unwrap_or_default();
    for s in order.stations() {
        if !stations.contains(&s) {
            stations.push(s);
        }
    }
    stations.retain(|s| !items_at(order, s, menu).is_empty());
    stations
}

/// One station's progress on an order, as the expo reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing of this order is made there.
    None,
    /// Its items there wait: none started yet.
    Waiting,
    /// `done` of `of` items are done; `started` says a cook is on one.
    Working {
        done: usize,
        of: usize,
        started: bool,
    },
    Done,
}

pub fn progress(order: &Order, station: &str, menu: Option<&Menu>) -> Progress {
    let at = items_at(order, station, menu);
    if at.is_empty() {
        return Progress::None;
    }
    let done = at
        .iter()
        .filter(|&&i| order.items[i].state == ItemState::Done)
        .count();
    if done == at.len() {
        return Progress::Done;
    }
    let started = at
        .iter()
        .any(|&i| order.items[i].state == ItemState::Started);
    if done == 0 && !started {
        return Progress::Waiting;
    }
    Progress::Working {
        done,
        of: at.len(),
        started,
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::None => Ok(()),
            Progress::Waiting => f.write_str("—"),
            Progress::Done => f.write_str("✓"),
            Progress::Working { done, of, started } => {
                write!(f, "{done}/{of}{}", if *started { "▸" } else { "" })
            }
        }
    }
}

/// `grill ✓ · fry 1/2 · bar —`: the progress of every station with items on the order
/// (`—`: none started there yet), leaving out `except` (the station whose screen this
/// is).
pub fn progress_line(order: &Order, menu: Option<&Menu>, except: Option<&str>) -> String {
    stations_of(order, menu)
        .into_iter()
        .filter(|s| Some(*s) != except)
        .map(|s| format!("{s} {}", progress(order, s, menu)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Whether the order has stations and every one of its items is done: the expo can
/// send it out.
pub fn all_done(order: &Order) -> bool {
    order.has_stations() && order.all_done()
}

/// A mark for an item's state on a ticket line.
pub fn state_mark(state: ItemState) -> &'static str {
    match state {
        ItemState::Queued => " ",
        ItemState::Started => "▸",
        ItemState::Done => "✓",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::Item;

    fn item(name: &str, station: Option<&str>, state: ItemState) -> Item {
        Item {
            name: name.into(),
            qty: 1,
            station: station.map(Into::into),
            state,
            ..Default::default()
        }
    }

    fn order(items: Vec<Item>) -> Order {
        Order {
            id: 1,
            status: Status::Preparing,
            items,
            ..Default::default()
        }
    }

    fn menu() -> Menu {
        Menu {
            stations: vec!["grill".into(), "fry".into(), "bar".into()],
            default_station: "grill".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_station_bump_starts_what_is_queued_then_finishes_what_is_started() {
        use ItemState::*;
        let o = order(vec![
            item("Burger", Some("grill"), Queued),
            item("Fries", Some("fry"), Queued),
            item("Steak", Some("grill"), Started),
        ]);
        assert_eq!(station_bump(&o, "grill", None), [(1, Queued, Started)]);
        let o = order(vec![
            item("Burger", Some("grill"), Started),
            item("Fries", Some("fry"), Queued),
            item("Steak", Some("grill"), Started),
        ]);
        assert_eq!(
            station_bump(&o, "grill", None),
            [(1, Started, Done), (3, Started, Done)]
        );
        let o = order(vec![item("Burger", Some("grill"), Done)]);
        assert_eq!(station_bump(&o, "grill", None), []);
        assert!(!has_work(&o, "grill", None));
        assert_eq!(station_bump(&o, "bar", None), []);
    }

    #[test]
    fn the_expo_reads_each_stations_progress() {
        use ItemState::*;
        let o = order(vec![
            item("Burger", Some("grill"), Done),
            item("Fries", Some("fry"), Done),
            item("Rings", Some("fry"), Started),
        ]);
        assert_eq!(progress_line(&o, Some(&menu()), None), "grill ✓ · fry 1/2▸");
        assert_eq!(progress_line(&o, Some(&menu()), Some("fry")), "grill ✓");
        let waiting = order(vec![
            item("Burger", Some("grill"), Started),
            item("Cola", Some("bar"), Queued),
        ]);
        assert_eq!(
            progress_line(&waiting, Some(&menu()), None),
            "grill 0/1▸ · bar —"
        );
        assert!(!all_done(&o));
        let done = order(vec![item("Burger", Some("grill"), Done)]);
        assert!(all_done(&done));
        // Without a menu, only the stations the order names.
        assert_eq!(progress_line(&o, None, None), "grill ✓ · fry 1/2▸");
    }

    #[test]
    fn an_order_from_before_the_menu_goes_to_the_default_station() {
        let o = order(vec![item("Pad Thai", None, ItemState::Queued)]);
        assert!(has_work(&o, "grill", Some(&menu())));
        assert!(!has_work(&o, "fry", Some(&menu())));
        assert!(!all_done(&o), "an order without stations is bumped whole");
        let mut held = order(vec![item("Burger", Some("grill"), ItemState::Queued)]);
        held.fire_at = Some("2030-01-01T00:00:00Z".into());
        assert!(!has_work(&held, "grill", None), "held orders wait upcoming");
    }
}
