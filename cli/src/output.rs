//! How results look: one JSON document per result with `--json` (times in UTC, as on
//! the wire), otherwise short human lines with money in two decimals, times in local
//! time as the displays show them, and columns padded by display width.

use chit_protocol::money;
use chit_protocol::{ItemState, Order, Priority, Status, Timing};
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
