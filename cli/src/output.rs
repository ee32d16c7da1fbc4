//! How results look: one JSON document per result with `--json` (times in UTC, as on
//! the wire), otherwise short human lines with money in two decimals, times in local
//! time as the displays show them, and columns padded by display width.

use chit_protocol::money;
use chit_protocol::{Order, Status};
use serde::Serialize;

pub fn json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("serializable"));
}

/// `2026-11-22T08:12:03.123Z` → `15:12:03` in Bangkok: the local time of day.
pub fn clock(rfc3339: &str) -> String {
    chit_text::local_clock_of(rfc3339)
}

pub fn order_line(o: &Order) -> String {
    format!(
        "{:>6}  #{:<4} {} {:<10} {:<8} {} {:>3} items {:>10}  {}{}",
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
    text += &format!(
        "  placed    {}\n  updated   {}",
        chit_text::local_date_time(&o.created_at),
        chit_text::local_date_time(&o.updated_at)
    );
    text
}

pub fn status_change(o: &Order, previous: Option<Status>) -> String {
    match previous {
        Some(p) if p != o.status => format!("order {} (#{}): {p} -> {}", o.id, o.number, o.status),
        _ => format!("order {} (#{}): {}", o.id, o.number, o.status),
    }
}
