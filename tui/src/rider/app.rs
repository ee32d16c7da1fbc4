//! The rider console's model: the orders on offer and the rider's own deliveries, a
//! selection in each list, the connection state, requests awaiting an answer, and
//! which overlay is up. No I/O and no clock: the time comes in with each message.

use std::collections::{BTreeMap, HashMap, HashSet};

use chit_protocol::{Fulfilment, Order, Status};

use crate::chat::ChatPane;
use crate::conn::Conn;

/// The two lists; the focused one takes Enter and the arrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Mine,
    Offers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(i64),
    ConfirmRelease(i64),
    ConfirmQuit,
}

/// What a rider asks the server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Claim,
    PickUp,
    Deliver,
    Release,
}

impl Act {
    /// The status the order has once this is done, if it changes the status.
    pub fn target(self) -> Option<Status> {
        match self {
            Act::PickUp => Some(Status::PickedUp),
            Act::Deliver => Some(Status::Delivered),
            Act::Claim | Act::Release => None,
        }
    }

    /// How the act reads while it waits for an answer.
    pub fn progress(self) -> &'static str {
        match self {
            Act::Claim => "claiming",
            Act::PickUp => "marking picked up",
            Act::Deliver => "marking delivered",
            Act::Release => "releasing",
        }
    }
}

/// A request sent (or queued while offline) and not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub order_id: i64,
    /// How the order is named in messages (`thai-1 #12`).
    pub label: String,
    pub act: Act,
}

#[derive(Debug, Clone)]
pub struct App {
    pub rider: String,
    pub color: bool,
    /// Unix ms, from the last message.
    pub now: i64,
    pub conn: Conn,
    /// An admin token cannot claim; its Enter assigns the offer to `rider` instead.
    pub admin: bool,
    /// Offers and this rider's open deliveries, by id; nothing else is kept.
    pub orders: BTreeMap<i64, Order>,
    /// The seq of the newest event applied to each order. The same change reaches
    /// both rooms, and a resume replays one room after the other, so an event older
    /// than what an order already shows is stale and dropped.
    pub order_seq: HashMap<i64, u64>,
    /// The head of the last snapshot: every event up to it is already in `orders`.
    pub floor: u64,
    /// Orders already shown, as an offer or a delivery: a new offer beeps, one that
    /// comes back (released, by this rider or another) does not.
    pub seen: HashSet<i64>,
    pub pane: Pane,
    pub selected_mine: Option<i64>,
    pub selected_offer: Option<i64>,
    pub overlay: Overlay,
    pub keys: crate::keys::KeyMap<super::update::Action>,
    pub pending: HashMap<u64, Pending>,
    /// A short message and when it stops being shown (Unix ms).
    pub flash: Option<(String, i64)>,
    pub muted: bool,
    /// "sound" or "bell": how alerts are given when not muted.
    pub alert_mode: &'static str,
    /// Whether the first snapshot has arrived.
    pub loaded: bool,
    pub next_request: u64,
    /// The selected delivery's order room (`c`).
    pub chat: ChatPane,
}

impl App {
    pub fn new(rider: &str, color: bool, now: i64) -> App {
        App {
            rider: rider.to_string(),
            color,
            now,
            conn: Conn::Connecting,
            admin: false,
            orders: BTreeMap::new(),
            order_seq: HashMap::new(),
            floor: 0,
            seen: HashSet::new(),
            pane: Pane::Offers,
            selected_mine: None,
            selected_offer: None,
            overlay: Overlay::None,
            keys: crate::keys::KeyMap::new(super::keymap::ACTIONS),
            pending: HashMap::new(),
            flash: None,
            muted: false,
            alert_mode: "bell",
            loaded: false,
            next_request: 1,
            chat: ChatPane::new(None, now),
        }
    }

    /// Whether `order` is claimed by (or assigned to) this rider and still open.
    pub fn is_mine(&self, order: &Order) -> bool {
        order.rider.as_deref() == Some(self.rider.as_str()) && !order.status.is_terminal()
    }

    /// Whether the console keeps `order`: an offer or one of this rider's.
    pub fn wants(&self, order: &Order) -> bool {
        is_offer(order) || self.is_mine(order)
    }

    /// Offers, ready ones first, then those still being prepared; oldest first in each.
    pub fn offers(&self) -> Vec<&Order> {
        let mut offers: Vec<&Order> = self.orders.values().filter(|o| is_offer(o)).collect();
        offers.sort_by_cached_key(|o| (o.status != Status::Ready, o.created_ms(), o.id));
        offers
    }

    /// This rider's deliveries, oldest first.
    pub fn mine(&self) -> Vec<&Order> {
        let mut mine: Vec<&Order> = self.orders.values().filter(|o| self.is_mine(o)).collect();
        mine.sort_by_cached_key(|o| (o.created_ms(), o.id));
        mine
    }

    pub fn mine_ids(&self) -> Vec<i64> {
        self.mine().iter().map(|o| o.id).collect()
    }

    pub fn offer_ids(&self) -> Vec<i64> {
        self.offers().iter().map(|o| o.id).collect()
    }

    /// The newest unanswered request about `order_id`.
    pub fn pending_for(&self, order_id: i64) -> Option<&Pending> {
        let mut waiting: Vec<(&u64, &Pending)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.order_id == order_id)
            .collect();
        waiting.sort_by_key(|(id, _)| **id);
        waiting.last().map(|(_, p)| *p)
    }

    /// The status an order will have once what is queued for it is done.
    pub fn expected_status(&self, order: &Order) -> Status {
        self.pending_for(order.id)
            .and_then(|p| p.act.target())
            .unwrap_or(order.status)
    }

    pub fn age_ms(&self, order: &Order) -> i64 {
        (self.now - order.created_ms()).max(0)
    }
}

/// An order riders may claim: for delivery, being prepared or ready, and unclaimed.
/// The server decides; this is the same rule, used to sort what arrives.
pub fn is_offer(order: &Order) -> bool {
    order.fulfilment == Fulfilment::Delivery
        && order.rider.is_none()
        && matches!(order.status, Status::Preparing | Status::Ready)
}

/// An order as riders name it: numbers restart per restaurant, so with the restaurant.
pub fn label(order: &Order) -> String {
    format!("{} #{}", order.restaurant, order.number)
}

/// A status as the rider reads it.
pub use crate::widgets::status_label;

/// How long an order has waited, in words that read at a glance: `<1 min`, `12 min`,
/// `1 h 05`.
pub fn format_age(ms: i64) -> String {
    let mins = ms.max(0) / 60_000;
    match mins {
        0 => "<1 min".into(),
        1..=59 => format!("{mins} min"),
        _ => format!("{} h {:02}", mins / 60, mins % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_minutes() {
        for (ms, text) in [
            (-5, "<1 min"),
            (59_999, "<1 min"),
            (60_000, "1 min"),
            (59 * 60_000 + 59_999, "59 min"),
            (60 * 60_000, "1 h 00"),
            (125 * 60_000, "2 h 05"),
        ] {
            assert_eq!(format_age(ms), text, "{ms} ms");
        }
    }
}
