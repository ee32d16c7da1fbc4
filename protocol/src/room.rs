//! Room names: `restaurant:ID`, `customer:ID`, `order:ID`, `riders`, `rider:NAME`,
//! `chat:NAME`. Parsing validates the name; who may join is the server's business.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Room {
    Restaurant(String),
    Customer(String),
    Order(i64),
    Riders,
    Rider(String),
    Chat(String),
}

/// Identifiers (restaurant, customer, rider, chat room): 1–64 of `[A-Za-z0-9_.-]`.
pub fn valid_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Room {
    pub fn parse(name: &str) -> Result<Room, String> {
        if name == "riders" {
            return Ok(Room::Riders);
        }
        let Some((kind, rest)) = name.split_once(':') else {
            return Err(format!("unknown room '{name}'"));
        };
        let ident = |rest: &str| {
            if valid_ident(rest) {
                Ok(rest.to_string())
            } else {
                Err(format!(
                    "room '{name}' has a bad name: use 1-64 letters, digits, '_', '-' or '.'"
                ))
            }
        };
        match kind {
            "restaurant" => ident(rest).map(Room::Restaurant),
            "customer" => ident(rest).map(Room::Customer),
            "rider" => ident(rest).map(Room::Rider),
            "chat" => ident(rest).map(Room::Chat),
            "order" => rest
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(Room::Order)
                .ok_or_else(|| format!("room '{name}' needs a numeric order id")),
            _ => Err(format!("unknown room '{name}'")),
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Room::Restaurant(id) => write!(f, "restaurant:{id}"),
            Room::Customer(id) => write!(f, "customer:{id}"),
            Room::Order(id) => write!(f, "order:{id}"),
            Room::Riders => f.write_str("riders"),
            Room::Rider(name) => write!(f, "rider:{name}"),
            Room::Chat(name) => write!(f, "chat:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_kind() {
        for name in [
            "restaurant:r1",
            "customer:0812345678",
            "order:17",
            "riders",
            "rider:bo",
            "chat:kitchen",
        ] {
            assert_eq!(Room::parse(name).unwrap().to_string(), name);
        }
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "",
            "lobby",
            "order:x",
            "order:-1",
            "restaurant:",
            "chat:a b",
            "rider:é",
        ] {
            assert!(Room::parse(name).is_err(), "{name:?}");
        }
    }
}
