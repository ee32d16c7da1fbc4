//! How results look: one JSON document per result with `--json` (times in UTC, as on
//! the wire), otherwise short human lines with money in two decimals, times in local
//! time as the displays show them, and columns padded by display width.

use chit_protocol::money;
use chit_protocol::{
    Event, EventKind, ItemEvent, ItemState, MenuChange, MenuUpdate, Order, Priority, Status, Timing,
};
use serde::Serialize;

pub fn json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("serializable"));
}

/// `2026-11-22T08:12:03.123Z` → `15:12:03` in Bangkok: the local time of day.
pub fn clock(rfc3339: &str) -> String {
    chit_text::local_clock_of(rfc3339)
}

/// `19:30` for a time today, `2026-11-23 00:00` for another day, in local time.
pub fn when(rfc3339: &str) -> String {
    use chrono::TimeZone;
    let Some(ms) = chit_protocol::parse_time(rfc3339) else {
        return rfc3339.to_string();
    };
    let Some(t) = chrono::Local.timestamp_millis_opt(ms).earliest() else {
        return rfc3339.to_string();
    };
    let today = chrono::Local::now().date_naive();
    if t.date_naive() == today {
        t.format("%H:%M").to_string()
    } else if t.date_naive() == today + chrono::Duration::days(1)
        && t.format("%H:%M").to_string() == "00:00"
    {
        "midnight".into()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// What marks an order beyond its status: rush, held until its fire time.
fn marks(o: &Order) -> String {
    let mut marks = String::new();
    if o.priority == Priority::Rush {
        marks += "  RUSH";
    }
    if let Some(due) = &o.due_at {
        marks += &format!("  due {}", when(due));
        if o.is_held() {
            marks += &format!(
                " (fires {})",
                o.fire_at.as_deref().map(when).unwrap_or_default()
            );
        }
    }
    marks
}

pub fn order_line(o: &Order) -> String {
    format!(
        "{:>6}  #{:<4} {} {:<10} {:<8} {} {:>3} items {:>10}  {}{}{}",
        o.id,
        o.number,
        chit_text::pad(&o.restaurant, 10),
        o.status.as_str(),
        fulfilment(o),
        // By display width: a Thai name's marks take no column, a Chinese character two.
        chit_text::pad(&o.customer.name, 16),
        o.item_count(),
        money::format(o.total),
        clock(&o.created_at),
        o.rider
            .as_ref()
            .map(|r| format!("  rider {r}"))
            .unwrap_or_default(),
        marks(o),
    )
}

fn fulfilment(o: &Order) -> &'static str {
    match o.fulfilment {
        chit_protocol::Fulfilment::Delivery => "delivery",
        chit_protocol::Fulfilment::Pickup => "pickup",
    }
}

pub fn order_details(o: &Order) -> String {
    let mut text = format!(
        "order {} (#{}) at {}: {}, {}, total {}{}{}\n",
        o.id,
        o.number,
        o.restaurant,
        o.status,
        fulfilment(o),
        money::format(o.total),
        if o.priority == Priority::Rush {
            ", RUSH"
        } else {
            ""
        },
        o.source
            .as_ref()
            .map(|s| format!(", from {s}"))
            .unwrap_or_default(),
    );
    text += &format!(
        "  customer  {} ({}), {}\n",
        o.customer.name, o.customer.id, o.customer.phone
    );
    if let Some(address) = &o.customer.address {
        text += &format!("  address   {address}\n");
    }
    // With stations (or once items are bumped), each item's number for `chit order
    // item`, its station and its state.
    let tracked = o.has_stations() || o.items.iter().any(|i| i.state != ItemState::Queued);
    let lines: Vec<String> = o
        .items
        .iter()
        .map(|item| {
            format!(
                "{:>3} x {} @ {}{}",
                item.qty,
                item.name,
                money::format(item.unit_price),
                item.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let width = lines.iter().map(|l| chit_text::width(l)).max().unwrap_or(0);
    for (n, (item, line)) in o.items.iter().zip(&lines).enumerate() {
        if tracked {
            text += &format!(
                "  {:>2}. {}  {:<8} {}\n",
                n + 1,
                chit_text::pad(line, width),
                item.station.as_deref().unwrap_or("-"),
                item.state
            );
        } else {
            text += &format!("  {line}\n");
        }
    }
    if let Some(note) = &o.note {
        text += &format!("  note      {note}\n");
    }
    if let Some(rider) = &o.rider {
        text += &format!("  rider     {rider}\n");
    }
    if let Some(due) = &o.due_at {
        let fire = match (&o.fired_at, &o.fire_at) {
            (Some(fired), _) => format!("fired {}", chit_text::local_date_time(fired)),
            (None, Some(fire)) if !o.status.is_terminal() => {
                format!("held, fires {}", chit_text::local_date_time(fire))
            }
            _ => "never fired".to_string(),
        };
        text += &format!("  due       {} ({fire})\n", chit_text::local_date_time(due));
    }
    text += &format!(
        "  placed    {}\n  updated   {}",
        chit_text::local_date_time(&o.created_at),
        chit_text::local_date_time(&o.updated_at)
    );
    text
}

/// A bumped item: `order 17 (#5) item 2, Gai yang at grill: started`.
pub fn item_change(o: &Order, n: u32) -> String {
    let Some(item) = o.items.get(n as usize - 1) else {
        return format!("order {} (#{}): {}", o.id, o.number, o.status);
    };
    let at = item
        .station
        .as_ref()
        .map(|s| format!(" at {s}"))
        .unwrap_or_default();
    format!(
        "order {} (#{}) item {n}, {}{at}: {} (order {})",
        o.id, o.number, item.name, item.state, o.status
    )
}

/// `median 8.5 min, 90th percentile 14.0 min (30)`, or `-` with none.
pub fn timing(t: &Timing) -> String {
    match (t.median_minutes, t.p90_minutes) {
        (Some(median), Some(p90)) => format!(
            "median {median:.1} min, 90th percentile {p90:.1} min ({})",
            t.count
        ),
        _ => "-".into(),
    }
}

pub fn status_change(o: &Order, previous: Option<Status>) -> String {
    match previous {
        Some(p) if p != o.status => format!("order {} (#{}): {p} -> {}", o.id, o.number, o.status),
        _ => format!("order {} (#{}): {}", o.id, o.number, o.status),
    }
}

/// What an event says, as one line (without its time): an order's status change, an
/// item bumped at its station, a held order fired, a menu change. `None` for kinds a
/// person following orders does not need (analytics, chat, typing).
pub fn event_line(event: &Event) -> Option<String> {
    match event.kind {
        EventKind::NewOrder | EventKind::OrderUpdate => {
            let change = event.order_event()?;
            Some(status_change(&change.order, change.previous))
        }
        EventKind::ItemUpdate => Some(item_bump(&event.item_event()?)),
        EventKind::OrderFired => Some(fired(&event.order_event()?.order)),
        EventKind::MenuUpdate => Some(menu_change(&event.menu_update()?)),
        _ => None,
    }
}

/// `#12 grill: 2 x Burger started`; a recall says `back to started`.
pub fn item_bump(e: &ItemEvent) -> String {
    let o = &e.order;
    let Some(item) = (e.item as usize)
        .checked_sub(1)
        .and_then(|i| o.items.get(i))
    else {
        return status_change(o, None);
    };
    let station = item
        .station
        .as_ref()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let state = if item.state < e.previous_state {
        format!(
            "back to {} (recalled from {})",
            item.state, e.previous_state
        )
    } else {
        item.state.to_string()
    };
    format!(
        "#{}{station}: {} x {} {state}",
        o.number, item.qty, item.name
    )
}

/// `order 17 (#12): fired into the kitchen, due 12:30`.
pub fn fired(o: &Order) -> String {
    let due = o
        .due_at
        .as_deref()
        .map(|d| format!(", due {}", when(d)))
        .unwrap_or_default();
    format!(
        "order {} (#{}): fired into the kitchen{due}",
        o.id, o.number
    )
}

/// `thai-1: Pad Thai 86'd until 23:59 (by kitchen thai-1)`, `thai-1: Som tam available
/// again (its 86 ended)`, `thai-1: menu loaded (version 2: 4 stations, 31 items)`.
pub fn menu_change(u: &MenuUpdate) -> String {
    let item = u.item.as_deref().unwrap_or("an item");
    match u.change {
        MenuChange::Loaded => match &u.menu {
            Some(menu) => format!(
                "{}: menu loaded (version {}: {} stations, {} items)",
                u.restaurant,
                menu.version,
                menu.stations.len(),
                menu.items.len()
            ),
            None => format!("{}: menu loaded", u.restaurant),
        },
        MenuChange::Unavailable => {
            let entry = u
                .unavailable
                .iter()
                .find(|x| Some(x.item.as_str()) == u.item.as_deref());
            let until = entry
                .map(|x| format!(" until {}", when(&x.until)))
                .unwrap_or_default();
            let by = entry
                .and_then(|x| x.by.as_deref())
                .map(|b| format!(" (by {b})"))
                .unwrap_or_default();
            format!("{}: {item} 86'd{until}{by}", u.restaurant)
        }
        MenuChange::Restored if u.expired => {
            format!("{}: {item} available again (its 86 ended)", u.restaurant)
        }
        MenuChange::Restored => format!("{}: {item} restored", u.restaurant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::{Menu, UnavailableItem};

    fn update(change: MenuChange, item: Option<&str>, expired: bool) -> MenuUpdate {
        MenuUpdate {
            restaurant: "thai-1".into(),
            change,
            item: item.map(str::to_string),
            expired,
            menu: None,
            unavailable: vec![],
        }
    }

    #[test]
    fn menu_changes_read_as_a_kitchen_says_them() {
        let mut out = update(MenuChange::Unavailable, Some("Pad Thai"), false);
        out.unavailable = vec![UnavailableItem {
            item: "Pad Thai".into(),
            until: "2099-01-01T00:00:00Z".into(),
            since: "2098-12-31T12:00:00Z".into(),
            by: Some("kitchen thai-1".into()),
        }];
        let said = menu_change(&out);
        assert!(
            said.starts_with("thai-1: Pad Thai 86'd until 2099-01-0")
                && said.ends_with(" (by kitchen thai-1)"),
            "{said}"
        );
        assert_eq!(
            menu_change(&update(MenuChange::Restored, Some("Som tam"), true)),
            "thai-1: Som tam available again (its 86 ended)"
        );
        assert_eq!(
            menu_change(&update(MenuChange::Restored, Some("Som tam"), false)),
            "thai-1: Som tam restored"
        );
        let mut loaded = update(MenuChange::Loaded, None, false);
        loaded.menu = Some(Menu {
            stations: vec!["wok".into(), "bar".into()],
            version: 2,
            ..Default::default()
        });
        assert_eq!(
            menu_change(&loaded),
            "thai-1: menu loaded (version 2: 2 stations, 0 items)"
        );
    }
}
