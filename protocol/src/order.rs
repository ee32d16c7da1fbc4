//! The order model, its status machine and its items' states (queued, started, done).
//! The server is the only judge of a transition; clients use the same rules to decide
//! what a key press should ask for.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub address: Option<String>,
}

/// How urgent an order is: `rush` tickets sort first and carry a mark on the displays.
/// On the wire `priority` is left out for a normal order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Rush,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Rush => "rush",
        }
    }

    pub fn is_normal(&self) -> bool {
        *self == Priority::Normal
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Priority, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" => Ok(Priority::Normal),
            "rush" => Ok(Priority::Rush),
            _ => Err(format!("unknown priority '{s}' (one of: normal, rush)")),
        }
    }
}

/// Where one item of an order is at its station: `queued` → `started` → `done`. A bump
/// moves it forward (a step, or straight to done); a recall moves it exactly one step
/// back. The server sets it; `update_item` changes it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    #[default]
    Queued,
    Started,
    Done,
}

impl ItemState {
    pub const ALL: [ItemState; 3] = [ItemState::Queued, ItemState::Started, ItemState::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Started => "started",
            ItemState::Done => "done",
        }
    }

    /// The state a bump moves to: started, then done.
    pub fn is_queued(&self) -> bool {
        *self == ItemState::Queued
    }

    pub fn next(self) -> Option<ItemState> {
        match self {
            ItemState::Queued => Some(ItemState::Started),
            ItemState::Started => Some(ItemState::Done),
            ItemState::Done => None,
        }
    }

    /// The state a recall (undo of a bump) returns to: one step back.
    pub fn recall_to(self) -> Option<ItemState> {
        match self {
            ItemState::Queued => None,
            ItemState::Started => Some(ItemState::Queued),
            ItemState::Done => Some(ItemState::Started),
        }
    }

    /// Whether `self -> next` is allowed: any step forward, or (with `recall`) exactly
    /// one step back.
    pub fn can_become(self, next: ItemState, recall: bool) -> bool {
        if recall {
            self.recall_to() == Some(next)
        } else {
            next > self
        }
    }
}

impl std::fmt::Display for ItemState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ItemState {
    type Err = String;

    fn from_str(s: &str) -> Result<ItemState, String> {
        let wanted = s.trim().to_ascii_lowercase();
        ItemState::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| format!("unknown item state '{s}' (one of: queued, started, done)"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub qty: u32,
    pub unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The menu category: as the order named it, or as the restaurant's menu has the
    /// item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Set by the server from the restaurant's menu: the station that makes it (an item
    /// the menu does not know goes to the menu's default station). None when the
    /// restaurant had no menu: the whole ticket is then one station's, as before menus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Set by the server; changed with `update_item`. Left out while `queued`.
    #[serde(default, skip_serializing_if = "ItemState::is_queued")]
    pub state: ItemState,
    /// Set by the server from the menu: minutes it takes to make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prep_minutes: Option<u32>,
    /// When it was started and done (RFC 3339 UTC), set by the server with its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Where the order came from (`web`, `pos`, `uber`, …), as the placer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Priority::is_normal")]
    pub priority: Priority,
    /// When the customer expects it (RFC 3339 UTC); such an order is held until
    /// `fire_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// Set by the server for a `due_at` order: `due_at` less its longest prep, when the
    /// server fires it into the kitchen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_at: Option<String>,
    /// Set by the server when it fired a `due_at` order (an `order_fired` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<String>,
}

impl Order {
    pub fn item_count(&self) -> u32 {
        self.items.iter().map(|i| i.qty).sum()
    }

    /// `created_at` as Unix milliseconds (0 if the server sent something unreadable).
    pub fn created_ms(&self) -> i64 {
        crate::parse_time(&self.created_at).unwrap_or(0)
    }

    /// `due_at` as Unix milliseconds.
    pub fn due_ms(&self) -> Option<i64> {
        self.due_at.as_deref().and_then(crate::parse_time)
    }

    /// `fire_at` as Unix milliseconds.
    pub fn fire_ms(&self) -> Option<i64> {
        self.fire_at.as_deref().and_then(crate::parse_time)
    }

    /// A `due_at` order the server has not fired yet: it belongs under "upcoming".
    pub fn is_held(&self) -> bool {
        self.fire_at.is_some() && self.fired_at.is_none() && !self.status.is_terminal()
    }

    /// Whether its items were routed to stations (its restaurant had a menu when it was
    /// placed). Such an order becomes ready only when every item is done, or by force.
    pub fn has_stations(&self) -> bool {
        self.items.iter().any(|i| i.station.is_some())
    }

    /// The stations its items go to, in the order they first appear.
    pub fn stations(&self) -> Vec<&str> {
        let mut stations: Vec<&str> = Vec::new();
        for station in self.items.iter().filter_map(|i| i.station.as_deref()) {
            if !stations.contains(&station) {
                stations.push(station);
            }
        }
        stations
    }

    /// How many of its items at `station` are done, and how many it has there.
    pub fn progress_at(&self, station: &str) -> (usize, usize) {
        let at: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.station.as_deref() == Some(station))
            .collect();
        let done = at.iter().filter(|i| i.state == ItemState::Done).count();
        (done, at.len())
    }

    /// Whether every item is done.
    pub fn all_done(&self) -> bool {
        self.items.iter().all(|i| i.state == ItemState::Done)
    }
}

/// What a client sends to place an order; the server fills in the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub restaurant: String,
    pub customer: NewCustomer,
    pub items: Vec<NewItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub fulfilment: Fulfilment,
    /// Where the order comes from: `web`, `pos`, `uber`… (free text, at most 40
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Priority::is_normal")]
    pub priority: Priority,
    /// When the customer expects it (RFC 3339): the order is held and fired into the
    /// kitchen at `due_at` less its longest prep; at most 14 days ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The menu category, which decides the station; left out, the item is found on
    /// the restaurant's menu by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

fn one() -> u32 {
    1
}

impl NewItem {
    /// Parses the CLI's `[QTY x ]NAME @ PRICE [CATEGORY]`, e.g. `2 x Pad Thai @ 120.00`
    /// or `2 x Pad Thai @ 120.00 [noodles]`: a category in square brackets comes last,
    /// after the price (so brackets inside a name stay the name's).
    pub fn parse(text: &str) -> Result<NewItem, String> {
        let bad = || format!("item '{text}' is not of the form '[QTY x ]NAME @ PRICE [CATEGORY]'");
        let (left, price) = text.rsplit_once('@').ok_or_else(bad)?;
        let (price, category) = match price.trim_end().strip_suffix(']') {
            Some(rest) => {
                let (price, category) = rest.rsplit_once('[').ok_or_else(bad)?;
                let category = category.trim();
                if category.is_empty() {
                    return Err(format!("item '{text}' has an empty category '[]'"));
                }
                (price, Some(category.to_string()))
            }
            None => (price, None),
        };
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
            category,
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
    fn parses_a_category_after_the_price() {
        let item = NewItem::parse("2 x Pad Thai @ 120.00 [noodles]").unwrap();
        assert_eq!(
            (item.qty, item.name.as_str(), item.unit_price),
            (2, "Pad Thai", 12000)
        );
        assert_eq!(item.category.as_deref(), Some("noodles"));
        let item = NewItem::parse("Tom yum goong @ 160 [ Curries & soups ]").unwrap();
        assert_eq!(item.category.as_deref(), Some("Curries & soups"));
        // Brackets before the price belong to the name.
        let item = NewItem::parse("Pad Thai [large] @ 150").unwrap();
        assert_eq!(
            (item.name.as_str(), item.category),
            ("Pad Thai [large]", None)
        );
        assert!(
            NewItem::parse("Pad Thai @ 120 []")
                .unwrap_err()
                .contains("empty category")
        );
        assert!(NewItem::parse("Pad Thai @ 120 noodles]").is_err());
    }

    #[test]
    fn items_move_forward_and_recall_one_step() {
        use ItemState::*;
        for from in ItemState::ALL {
            for to in ItemState::ALL {
                assert_eq!(from.can_become(to, false), to > from, "{from} -> {to}");
                assert_eq!(
                    from.can_become(to, true),
                    from.recall_to() == Some(to),
                    "{from} -> {to} (recall)"
                );
            }
        }
        assert_eq!(Queued.next(), Some(Started));
        assert_eq!(Started.next(), Some(Done));
        assert_eq!(Done.next(), None);
        assert!(Queued.can_become(Done, false), "straight to done");
        assert!(!Done.can_become(Queued, true), "a recall is one step");
        assert_eq!("Started".parse::<ItemState>(), Ok(Started));
        assert!(
            "cooking"
                .parse::<ItemState>()
                .unwrap_err()
                .contains("one of")
        );
        assert_eq!("RUSH".parse::<Priority>(), Ok(Priority::Rush));
    }

    #[test]
    fn an_order_tells_its_stations_progress_and_whether_it_is_held() {
        let item = |station: Option<&str>, state| Item {
            name: "x".into(),
            qty: 1,
            station: station.map(str::to_string),
            state,
            ..Default::default()
        };
        let mut order = Order {
            items: vec![
                item(Some("grill"), ItemState::Done),
                item(Some("fry"), ItemState::Started),
                item(Some("grill"), ItemState::Queued),
            ],
            ..Default::default()
        };
        assert!(order.has_stations());
        assert_eq!(order.stations(), ["grill", "fry"]);
        assert_eq!(order.progress_at("grill"), (1, 2));
        assert_eq!(order.progress_at("bar"), (0, 0));
        assert!(!order.all_done());
        assert!(!order.is_held());
        order.fire_at = Some("2026-11-22T12:10:00.000Z".into());
        assert!(order.is_held());
        order.fired_at = Some("2026-11-22T12:10:00.000Z".into());
        assert!(!order.is_held());
        let plain = Order {
            items: vec![item(None, ItemState::Queued)],
            ..Default::default()
        };
        assert!(!plain.has_stations() && plain.stations().is_empty());
    }

    #[test]
    fn parses_status_names() {
        assert_eq!("picked_up".parse::<Status>(), Ok(PickedUp));
        assert_eq!("Picked-Up".parse::<Status>(), Ok(PickedUp));
        assert!("done".parse::<Status>().unwrap_err().contains("one of"));
    }
}
