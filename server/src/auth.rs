//! Tokens and who may do what. A token is random, shown once, stored only as its
//! SHA-256; each is bound to a role and scope. The checks here are pure functions of
//! the principal and the order or room; the store calls them inside its transactions.

use chit_protocol::{Order, Role, Room, Status};
use sha2::{Digest, Sha256};

use crate::error::Refusal;
use crate::store::validate::clean;

/// Who a session speaks for, as bound when its token was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub role: Role,
    pub restaurant: Option<String>,
    pub rider: Option<String>,
    pub customer: Option<String>,
    pub label: Option<String>,
}

impl Principal {
    /// The name others see in chat and presence.
    pub fn name(&self) -> String {
        if let Some(label) = self.label.as_deref().map(clean).filter(|l| !l.is_empty()) {
            return label;
        }
        match self.role {
            Role::Rider => self.rider.clone().unwrap_or_else(|| "rider".into()),
            Role::Kitchen => format!("kitchen {}", self.restaurant.as_deref().unwrap_or("?")),
            Role::Pos => format!("pos {}", self.restaurant.as_deref().unwrap_or("?")),
            Role::Customer => format!("customer {}", self.customer.as_deref().unwrap_or("?")),
            Role::Admin => "admin".into(),
        }
    }

    fn is_restaurant(&self, restaurant: &str) -> bool {
        self.restaurant.as_deref() == Some(restaurant)
    }

    fn is_rider(&self, rider: Option<&str>) -> bool {
        self.role == Role::Rider && rider.is_some() && self.rider.as_deref() == rider
    }
}

/// A new random token: `chit_` and 48 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    format!("chit_{}", hex(&bytes))
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.trim().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    text
}

fn forbidden(what: impl Into<String>) -> Refusal {
    Refusal::forbidden(what)
}

/// May `p` place an order for `restaurant` as customer `customer_id`?
pub fn check_place(p: &Principal, restaurant: &str, customer_id: &str) -> Result<(), Refusal> {
    let ok = match p.role {
        Role::Admin => true,
        Role::Kitchen | Role::Pos => p.is_restaurant(restaurant),
        Role::Customer => p.customer.as_deref() == Some(customer_id),
        Role::Rider => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token may not place orders for restaurant '{restaurant}'"
        )))
    }
}

/// May `p` see `order` (get it, join its room)?
pub fn can_see(p: &Principal, order: &Order) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Kitchen | Role::Pos => p.is_restaurant(&order.restaurant),
        Role::Rider => p.is_rider(order.rider.as_deref()) || is_offer(order),
        Role::Customer => p.customer.as_deref() == Some(order.customer.id.as_str()),
    }
}

/// An order riders can see and claim: delivery, being prepared or ready, unclaimed.
pub fn is_offer(order: &Order) -> bool {
    order.fulfilment == chit_protocol::Fulfilment::Delivery
        && order.rider.is_none()
        && matches!(order.status, Status::Preparing | Status::Ready)
}

/// May `p` move `order` to `next`? (Whether the move itself is valid is checked after.)
pub fn check_update(p: &Principal, order: &Order, next: Status) -> Result<(), Refusal> {
    let ok = match p.role {
        Role::Admin => true,
        Role::Kitchen => p.is_restaurant(&order.restaurant),
        Role::Pos => p.is_restaurant(&order.restaurant) && next == Status::Cancelled,
        Role::Rider => {
            p.is_rider(order.rider.as_deref())
                && matches!(next, Status::PickedUp | Status::Delivered)
        }
        Role::Customer => {
            p.customer.as_deref() == Some(order.customer.id.as_str())
                && next == Status::Cancelled
                && order.status == Status::Pending
        }
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token may not set order {} to {next}",
            order.id
        )))
    }
}

/// May `p` bump the items of `order` at their stations? Its restaurant's kitchen, and
/// admins; a rider, a customer or a point of sale does not cook.
pub fn check_items(p: &Principal, order: &Order) -> Result<(), Refusal> {
    let ok = match p.role {
        Role::Admin => true,
        Role::Kitchen => p.is_restaurant(&order.restaurant),
        Role::Pos | Role::Rider | Role::Customer => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token may not change the items of order {}",
            order.id
        )))
    }
}

/// May `p` change what `restaurant` has run out of (86 an item, restore it)? Its
/// kitchen, and admins.
pub fn check_menu_change(p: &Principal, restaurant: &str) -> Result<(), Refusal> {
    let ok = match p.role {
        Role::Admin => true,
        Role::Kitchen => p.is_restaurant(restaurant),
        Role::Pos | Role::Rider | Role::Customer => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token may not change what restaurant '{restaurant}' has run out of"
        )))
    }
}

/// May `p` read `restaurant`'s menu and what it has run out of? Its kitchen and point
/// of sale, customers (a menu is what they order from), and admins; not riders.
pub fn check_menu_read(p: &Principal, restaurant: &str) -> Result<(), Refusal> {
    let ok = match p.role {
        Role::Admin | Role::Customer => true,
        Role::Kitchen | Role::Pos => p.is_restaurant(restaurant),
        Role::Rider => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token may not read the menu of restaurant '{restaurant}'"
        )))
    }
}

/// May `p` subscribe to `room`? Order rooms need the order, looked up by the caller.
pub fn can_join(p: &Principal, room: &Room, order: Option<&Order>) -> bool {
    match (room, p.role) {
        (_, Role::Admin) => true,
        (Room::Restaurant(r), Role::Kitchen | Role::Pos) => p.is_restaurant(r),
        (Room::Customer(c), Role::Customer) => p.customer.as_deref() == Some(c.as_str()),
        (Room::Order(_), _) => order.is_some_and(|o| can_see_order_room(p, o)),
        (Room::Riders, Role::Rider) => true,
        (Room::Rider(name), Role::Rider) => p.rider.as_deref() == Some(name.as_str()),
        (Room::Chat(_), Role::Kitchen | Role::Rider) => true,
        _ => false,
    }
}

/// An order's room is for its restaurant, its rider and its customer (not for riders
/// who merely see it offered).
fn can_see_order_room(p: &Principal, order: &Order) -> bool {
    match p.role {
        Role::Rider => p.is_rider(order.rider.as_deref()),
        _ => can_see(p, order),
    }
}

/// May `p` read statistics for `restaurant` (None: every restaurant)?
pub fn check_stats(p: &Principal, restaurant: Option<&str>) -> Result<(), Refusal> {
    let ok = match (p.role, restaurant) {
        (Role::Admin, _) => true,
        (Role::Kitchen | Role::Pos, Some(r)) => p.is_restaurant(r),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden("this token may not read these statistics"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("chit_") && a.len() == 53);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a}\n")));
        assert_ne!(hash_token(&a), hash_token(&b));
        // SHA-256 of "x", in lower-case hex: what tokens already stored were hashed to.
        assert_eq!(
            hash_token("x"),
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
    }
}
