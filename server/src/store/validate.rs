//! Checks and cleans an incoming order before it reaches the writer: limits on sizes,
//! quantities and prices, control characters stripped, the total computed.

use chit_protocol::room::valid_ident;
use chit_protocol::{Fulfilment, NewOrder};

use crate::error::Refusal;

pub const MAX_ITEMS: usize = 100;
pub const MAX_QTY: u32 = 999;
/// 1,000,000.00 in minor units.
pub const MAX_UNIT_PRICE: i64 = 100_000_000;
pub const MAX_NAME: usize = 120;
pub const MAX_NOTE: usize = 500;
pub const MAX_ADDRESS: usize = 300;
pub const MAX_KEY: usize = 128;
pub const MAX_SOURCE: usize = 40;
pub const MAX_CATEGORY: usize = 60;

/// An order that passed validation, with its customer id and total settled.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidOrder {
    pub order: NewOrder,
    pub customer_id: String,
    pub total: i64,
    pub key: Option<String>,
    /// `due_at` as Unix ms, for an order placed for later.
    pub due_at: Option<i64>,
}

/// Makes text safe for every terminal it will reach: line breaks and tabs become
/// spaces, control characters (terminal escapes among them) and bidi overrides are
/// removed, and the ends are trimmed. See [`chit_protocol::chat::printable`].
pub fn clean(text: &str) -> String {
    chit_protocol::chat::printable(text).trim().to_string()
}

fn field(name: &str, value: &str, max: usize, required: bool) -> Result<String, Refusal> {
    let value = clean(value);
    if required && value.is_empty() {
        return Err(Refusal::bad_request(format!("{name} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Refusal::bad_request(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(value)
}

fn optional(name: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) => field(name, v, max, false).map(|v| Some(v).filter(|v| !v.is_empty())),
    }
}

/// An idempotency key, if it is one: 1 to 128 bytes, no control characters.
pub fn check_key(key: Option<String>) -> Result<Option<String>, Refusal> {
    match key {
        Some(k) if k.is_empty() || k.len() > MAX_KEY || k.chars().any(char::is_control) => {
            Err(Refusal::bad_request(format!(
                "an idempotency key must be 1 to {MAX_KEY} printable characters"
            )))
        }
        k => Ok(k),
    }
}

pub fn validate(order: NewOrder, key: Option<String>) -> Result<ValidOrder, Refusal> {
    if !valid_ident(&order.restaurant) {
        return Err(Refusal::bad_request(format!(
            "restaurant '{}' is not a valid id (1-64 letters, digits, '_', '-' or '.')",
            clean(&order.restaurant)
        )));
    }
    let name = field("customer name", &order.customer.name, MAX_NAME, true)?;
    let phone = field("phone", &order.customer.phone, 32, true)?;
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || !phone.chars().any(|c| c.is_ascii_digit())
    {
        return Err(Refusal::bad_request(format!(
            "phone '{phone}' is not a phone number (digits, spaces, '+', '-', '(', ')')"
        )));
    }
    let address = optional("address", order.customer.address.as_deref(), MAX_ADDRESS)?;
    if order.fulfilment == Fulfilment::Delivery && address.is_none() {
        return Err(Refusal::bad_request(
            "a delivery order needs an address (or mark it for pickup)",
        ));
    }
    let customer_id = match order.customer.id.as_deref() {
        Some(id) if valid_ident(id) => id.to_string(),
        Some(id) => {
            return Err(Refusal::bad_request(format!(
                "customer id '{}' is not a valid id",
                clean(id)
            )));
        }
        None => phone.chars().filter(char::is_ascii_digit).collect(),
    };
    if order.items.is_empty() {
        return Err(Refusal::bad_request("an order needs at least one item"));
    }
    if order.items.len() > MAX_ITEMS {
        return Err(Refusal::bad_request(format!(
            "an order may have at most {MAX_ITEMS} items"
        )));
    }
    let mut items = Vec::with_capacity(order.items.len());
    let mut total: i64 = 0;
    for (i, item) in order.items.into_iter().enumerate() {
        let n = i + 1;
        let name = field(&format!("item {n}'s name"), &item.name, MAX_NAME, true)?;
        if item.qty == 0 || item.qty > MAX_QTY {
            return Err(Refusal::bad_request(format!(
                "item {n} ('{name}') has quantity {}: it must be 1 to {MAX_QTY}",
                item.qty
            )));
        }
        if !(0..=MAX_UNIT_PRICE).contains(&item.unit_price) {
            return Err(Refusal::bad_request(format!(
                "item {n} ('{name}') has price {}: it must be 0 to {} (minor units)",
                item.unit_price, MAX_UNIT_PRICE
            )));
        }
        total += item.unit_price * i64::from(item.qty);
        let note = optional(&format!("item {n}'s note"), item.note.as_deref(), MAX_NOTE)?;
        let category = optional(
            &format!("item {n}'s category"),
            item.category.as_deref(),
            MAX_CATEGORY,
        )?;
        items.push(chit_protocol::NewItem {
            name,
            qty: item.qty,
            unit_price: item.unit_price,
            note,
            category,
        });
    }
    let key = check_key(key)?;
    let due_at = match order.due_at.as_deref() {
        None => None,
        Some(text) => Some(parse_time(text).ok_or_else(|| {
            Refusal::bad_request(format!(
                "due_at '{}' is not an RFC 3339 time (like 2026-11-22T12:30:00Z or 2026-11-22T19:30:00+07:00)",
                clean(text)
            ))
        })?),
    };
    Ok(ValidOrder {
        order: NewOrder {
            restaurant: order.restaurant,
            customer: chit_protocol::NewCustomer {
                id: Some(customer_id.clone()),
                name,
                phone,
                address,
            },
            items,
            note: optional("note", order.note.as_deref(), MAX_NOTE)?,
            fulfilment: order.fulfilment,
            source: optional("source", order.source.as_deref(), MAX_SOURCE)?,
            priority: order.priority,
            due_at: order.due_at,
        },
        customer_id,
        total,
        key,
        due_at,
    })
}

/// An RFC 3339 time, with any offset, as Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::{NewCustomer, NewItem};

    fn order() -> NewOrder {
        NewOrder {
            restaurant: "r1".into(),
            customer: NewCustomer {
                id: None,
                name: "Ann".into(),
                phone: "081-234 5678".into(),
                address: Some("12 Sukhumvit".into()),
            },
            items: vec![NewItem {
                name: "Pad Thai".into(),
                qty: 2,
                unit_price: 12000,
                note: None,
                category: None,
            }],
            note: None,
            fulfilment: Fulfilment::Delivery,
            ..Default::default()
        }
    }

    #[test]
    fn computes_total_and_customer_id() {
        let v = validate(order(), None).unwrap();
        assert_eq!(v.total, 24000);
        assert_eq!(v.customer_id, "0812345678");
    }

    #[test]
    fn reads_when_an_order_is_due_with_any_offset() {
        let mut o = order();
        o.due_at = Some("2026-11-22T19:30:00+07:00".into());
        o.source = Some("  uber ".into());
        o.items[0].category = Some(" noodles ".into());
        let v = validate(o, None).unwrap();
        assert_eq!(v.due_at, parse_time("2026-11-22T12:30:00Z"));
        assert_eq!(v.order.source.as_deref(), Some("uber"));
        assert_eq!(v.order.items[0].category.as_deref(), Some("noodles"));
        let mut o = order();
        o.source = Some(" ".into());
        assert_eq!(validate(o, None).unwrap().order.source, None);
    }

    #[test]
    fn strips_terminal_escapes() {
        let mut o = order();
        o.customer.name = "Ann\u{1b}[2J\u{7}".into();
        let v = validate(o, None).unwrap();
        assert_eq!(v.order.customer.name, "Ann[2J");
        assert_eq!(clean(" \u{202E}lanimret\u{202C}\tok\r\n"), "lanimret ok");
    }

    #[test]
    fn refuses_what_a_kitchen_cannot_cook() {
        type Change = fn(&mut NewOrder);
        let cases: Vec<(Change, &str)> = vec![
            (|o| o.items.clear(), "at least one item"),
            (|o| o.items[0].qty = 0, "quantity 0"),
            (|o| o.items[0].qty = 1_000_000, "quantity 1000000"),
            (|o| o.items[0].unit_price = -5, "price -5"),
            (|o| o.items[0].unit_price = i64::MAX, "price"),
            (|o| o.items[0].name = "x".repeat(500), "longer than"),
            (|o| o.customer.phone = "call me".into(), "not a phone"),
            (|o| o.customer.name = " ".into(), "must not be empty"),
            (|o| o.customer.address = None, "needs an address"),
            (|o| o.restaurant = "r 1".into(), "not a valid id"),
            (
                |o| o.due_at = Some("tomorrow at noon".into()),
                "not an RFC 3339 time",
            ),
            (
                |o| o.source = Some("x".repeat(41)),
                "source is longer than 40",
            ),
            (
                |o| o.items[0].category = Some("c".repeat(61)),
                "item 1's category is longer than 60",
            ),
            (
                |o| o.items = vec![o.items[0].clone(); 101],
                "at most 100 items",
            ),
        ];
        for (change, expected) in cases {
            let mut o = order();
            change(&mut o);
            let err = validate(o, None).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{} !~ {expected}",
                err.message
            );
        }
        assert!(validate(order(), Some(String::new())).is_err());
    }
}
