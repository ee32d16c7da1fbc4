//! The order model and its status machine. The server is the only judge of a
//! transition; clients use the same rules to decide what a key press should ask for.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Confirmed,
    Preparing,
    Ready,
    PickedUp,
    Delivered,
    Rejected,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    #[default]
    Delivery,
    Pickup,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Confirmed,
        Status::Preparing,
        Status::Ready,
        Status::PickedUp,
        Status::Delivered,
        Status::Rejected,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Preparing => "preparing",
            Status::Ready => "ready",
            Status::PickedUp => "picked_up",
            Status::Delivered => "delivered",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }

    /// Delivered, rejected and cancelled orders never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Delivered | Status::Rejected | Status::Cancelled
        )
    }

    /// Whether `self -> next` is a forward step of the status machine.
    pub fn can_become(self, next: Status, fulfilment: Fulfilment) -> bool {
        use Status::*;
        match (self, next) {
            (Pending, Confirmed) | (Confirmed, Preparing) | (Preparing, Ready) => true,
            (Ready, PickedUp) | (PickedUp, Delivered) => fulfilment == Fulfilment::Delivery,
            (Ready, Delivered) => fulfilment == Fulfilment::Pickup,
            (Pending, Rejected) => true,
            (Pending | Confirmed | Preparing | Ready, Cancelled) => true,
            _ => false,
        }
    }

    /// The status a kitchen bump moves to: the next step on the main path that the
    /// kitchen owns (a delivery order that is ready waits for its rider).
    pub fn kitchen_next(self, fulfilment: Fulfilment) -> Option<Status> {
        use Status::*;
        match self {
            Pending => Some(Confirmed),
            Confirmed => Some(Preparing),
            Preparing => Some(Ready),
            Ready if fulfilment == Fulfilment::Pickup => Some(Delivered),
            _ => None,
        }
    }

    /// The status a recall (undo of a bump) returns to: one step back along the path a
    /// kitchen bump follows. Only these backward moves are ever allowed.
    pub fn recall_to(self, fulfilment: Fulfilment) -> Option<Status> {
        use Status::*;
        match self {
            Confirmed => Some(Pending),
            Preparing => Some(Confirmed),
            Ready => Some(Preparing),
            Delivered if fulfilment == Fulfilment::Pickup => Some(Ready),
            _ => None,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown status '{s}' (one of: {})", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub qty: u32,
    pub unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub number: u32,
    pub restaurant: String,
    pub customer: Customer,
    pub items: Vec<Item>,
    pub total: i64,
    pub note: Option<String>,
    pub fulfilment: Fulfilment,
    pub status: Status,
    pub rider: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Order {
    pub fn item_count(&self) -> u32 {
        self.items.iter().map(|i| i.qty).sum()
    }

    /// `created_at` as Unix milliseconds (0 if the server sent something unreadable).
    pub fn created_ms(&self) -> i64 {
        crate::parse_time(&self.created_at).unwrap_or(0)
    }
}

/// What a client sends to place an order; the server fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub restaurant: String,
    pub customer: NewCustomer,
    pub items: Vec<NewItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub fulfilment: Fulfilment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    /// Defaults to the phone number's digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItem {
    pub name: String,
    #[serde(default = "one")]
    pub qty: u32,
    pub unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn one() -> u32 {
    1
}

impl NewItem {
    /// Parses the CLI's `[QTY x ]NAME @ PRICE`, e.g. `2 x Pad Thai @ 120.00`.
    pub fn parse(text: &str) -> Result<NewItem, String> {
        let bad = || format!("item '{text}' is not of the form '[QTY x ]NAME @ PRICE'");
        let (left, price) = text.rsplit_once('@').ok_or_else(bad)?;
        let unit_price = crate::money::parse(price)
            .ok_or_else(|| format!("item '{text}' has a bad price '{}'", price.trim()))?;
        let left = left.trim();
        let (qty, name) = match left.split_once(['x', '×']) {
            Some((q, n))
                if !q.trim().is_empty() && q.trim().bytes().all(|b| b.is_ascii_digit()) =>
            {
                let qty: u32 = q
                    .trim()
                    .parse()
                    .map_err(|_| format!("item '{text}' has a bad quantity"))?;
                (qty, n.trim())
            }
            _ => (1, left),
        };
        if name.is_empty() {
            return Err(bad());
        }
        Ok(NewItem {
            name: name.to_string(),
            qty,
            unit_price,
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Fulfilment::*;
    use Status::*;

    #[test]
    fn status_machine_matches_the_design() {
        let both = [
            (Pending, Confirmed),
            (Confirmed, Preparing),
            (Preparing, Ready),
            (Pending, Rejected),
            (Pending, Cancelled),
            (Confirmed, Cancelled),
            (Preparing, Cancelled),
            (Ready, Cancelled),
        ];
        let delivery_only = [(Ready, PickedUp), (PickedUp, Delivered)];
        let pickup_only = [(Ready, Delivered)];
        for from in Status::ALL {
            for to in Status::ALL {
                let pair = (from, to);
                let delivery = both.contains(&pair) || delivery_only.contains(&pair);
                let pickup = both.contains(&pair) || pickup_only.contains(&pair);
                assert_eq!(from.can_become(to, Delivery), delivery, "{from} -> {to}");
                assert_eq!(
                    from.can_become(to, Pickup),
                    pickup,
                    "{from} -> {to} (pickup)"
                );
            }
        }
    }

    #[test]
    fn kitchen_bump_and_recall_are_inverse() {
        for f in [Delivery, Pickup] {
            for s in Status::ALL {
                if let Some(next) = s.kitchen_next(f) {
                    assert!(s.can_become(next, f));
                    assert_eq!(next.recall_to(f), Some(s));
                }
            }
        }
        assert_eq!(Ready.kitchen_next(Delivery), None);
    }

    #[test]
    fn parses_cli_items() {
        let item = NewItem::parse("2 x Pad Thai @ 120.00").unwrap();
        assert_eq!(
            (item.qty, item.name.as_str(), item.unit_price),
            (2, "Pad Thai", 12000)
        );
        let item = NewItem::parse("Iced tea @ 35").unwrap();
        assert_eq!(
            (item.qty, item.name.as_str(), item.unit_price),
            (1, "Iced tea", 3500)
        );
        let item = NewItem::parse("3x Extra rice@10.5").unwrap();
        assert_eq!(
            (item.qty, item.name.as_str(), item.unit_price),
            (3, "Extra rice", 1050)
        );
        let item = NewItem::parse("Khao soi @ 1").unwrap();
        assert_eq!(item.name, "Khao soi");
        assert!(NewItem::parse("Pad Thai").is_err());
        assert!(NewItem::parse("Pad Thai @ cheap").is_err());
        assert!(NewItem::parse(" @ 10").is_err());
    }

    #[test]
    fn parses_status_names() {
        assert_eq!("picked_up".parse::<Status>(), Ok(PickedUp));
        assert_eq!("Picked-Up".parse::<Status>(), Ok(PickedUp));
        assert!("done".parse::<Status>().unwrap_err().contains("one of"));
    }
}
