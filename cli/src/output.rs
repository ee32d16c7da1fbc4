//! How results look: one JSON document per result with `--json`, otherwise short
//! human lines with money in two decimals and times in local-ish `HH:MM:SS` UTC.

use chit_protocol::money;
use chit_protocol::{Order, Status};
use serde::Serialize;

pub fn json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("serializable"));
}

/// `2026-11-22T08:12:03.123Z` → `08:12:03`.
pub fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or(rfc3339)
}

pub fn order_line(o: &Order) -> String {
    format!(
        "{:>6}  #{:<4} {:<10} {:<10} {:<8} {:<16} {:>3} items {:>10}  {}{}",
        o.id,
        o.number,
        o.restaurant,
        o.status.as_str(),
        fulfilment(o),
        truncate(&o.customer.name, 16),
        o.item_count(),
        money::format(o.total),
        clock(&o.created_at),
        o.rider
            .as_ref()
            .map(|r| format!("  rider {r}"))
            .unwrap_or_default(),
    )
}

fn fulfilment(o: &Order) -> &'static str {
    match o.fulfilment {
        chit_protocol::Fulfilment::Delivery => "delivery",
        chit_protocol::Fulfilment::Pickup => "pickup",
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

pub fn order_details(o: &Order) -> String {
    let mut text = format!(
        "order {} (#{}) at {}: {}, {}, total {}\n",
        o.id,
        o.number,
        o.restaurant,
        o.status,
        fulfilment(o),
        money::format(o.total)
    );
    text += &format!(
        "  customer  {} ({}), {}\n",
        o.customer.name, o.customer.id, o.customer.phone
    );
    if let Some(address) = &o.customer.address {
        text += &format!("  address   {address}\n");
    }
    for item in &o.items {
        text += &format!(
            "  {:>3} x {} @ {}{}\n",
            item.qty,
            item.name,
            money::format(item.unit_price),
            item.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
    }
    if let Some(note) = &o.note {
        text += &format!("  note      {note}\n");
    }
    if let Some(rider) = &o.rider {
        text += &format!("  rider     {rider}\n");
    }
    text += &format!("  placed    {}\n  updated   {}", o.created_at, o.updated_at);
    text
}

pub fn status_change(o: &Order, previous: Option<Status>) -> String {
    match previous {
        Some(p) if p != o.status => format!("order {} (#{}): {p} -> {}", o.id, o.number, o.status),
        _ => format!("order {} (#{}): {}", o.id, o.number, o.status),
    }
}
