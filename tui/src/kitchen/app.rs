//! The kitchen display's model: open tickets, selection, connection state, what is
//! queued, what is unacknowledged, and which overlay is up. No I/O and no clock: the
//! time comes in with each message.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chit_protocol::{Analytics, ItemState, Menu, Order, Priority, Status, UnavailableItem};

use super::keymap;
use super::stations::{self, Screen};
use super::update::Action;
use crate::chat::ChatPane;
use crate::conn::Conn;
use crate::keys::KeyMap;

/// What a cook can tune.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A ticket older than this is shown as a warning ...
    pub warn_after: Duration,
    /// ... and older than this as late.
    pub late_after: Duration,
    /// While new orders are unacknowledged, the alert repeats this often.
    pub alert_every: Duration,
    pub color: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            warn_after: Duration::from_secs(5 * 60),
            late_after: Duration::from_secs(10 * 60),
            alert_every: Duration::from_secs(30),
            color: true,
        }
    }
}

/// The statuses a kitchen works, in the order tickets are grouped.
pub const KITCHEN_STATUSES: [Status; 4] = [
    Status::Pending,
    Status::Confirmed,
    Status::Preparing,
    Status::Ready,
];

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub order: Order,
    /// A change asked for and not yet answered (sending, or queued while offline).
    pub queued: Option<Status>,
    /// `order.created_at` as Unix ms, read once.
    pub created: i64,
    /// Items (numbered from 1) whose change was asked for and not yet answered, and the
    /// state asked for.
    pub items_queued: BTreeMap<u32, ItemState>,
}

impl Ticket {
    pub fn new(order: Order, queued: Option<Status>) -> Ticket {
        let created = order.created_ms();
        Ticket {
            order,
            queued,
            created,
            items_queued: BTreeMap::new(),
        }
    }

    pub fn rush(&self) -> bool {
        self.order.priority == Priority::Rush
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(i64),
    ConfirmCancel(i64),
    ConfirmQuit,
    /// The expo asked to send out an order whose items are not all done.
    ConfirmForce(i64),
    /// Choosing an item to 86 (from the selected ticket) or to restore (from the 86
    /// list): the choices and the one under the cursor.
    EightySix {
        choices: Vec<Choice>,
        at: usize,
    },
    /// Asking before an item is made unavailable or available again.
    ConfirmEightySix(Choice),
}

/// An item the 86 overlay offers: one to make unavailable, or one to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub item: String,
    pub restore: bool,
}

/// A request the display sent and awaits an answer for.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub order_id: i64,
    pub number: u32,
    pub change: Change,
}

/// What a request asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Status {
        from: Status,
        to: Status,
        recall: bool,
    },
    /// Item `n` (from 1) to `to`.
    Item { n: u32, to: ItemState },
    /// Loading the menu and the 86 list.
    Menu,
    /// 86 an item, or restore one.
    EightySix,
}

impl Pending {
    /// The status this request moves its order to, if it is a status change.
    pub fn status_to(&self) -> Option<Status> {
        match self.change {
            Change::Status { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// The last bump, for recall.
#[derive(Debug, Clone, PartialEq)]
pub enum LastBump {
    /// The order and the status it had before.
    Status(i64, Status),
    /// The order and, for each item bumped (from 1), the state it had before.
    Items(i64, Vec<(u32, ItemState)>),
}

/// How old a ticket is, for its colour and marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    Fresh,
    Warning,
    Late,
}

#[derive(Debug, Clone)]
pub struct App {
    pub restaurant: String,
    pub settings: Settings,
    /// Whole tickets, one station's items, or the expo.
    pub screen: Screen,
    /// The restaurant's menu (stations, items), once the server has sent it.
    pub menu: Option<Menu>,
    /// What the restaurant has run out of ("86"), soonest back first.
    pub unavailable: Vec<UnavailableItem>,
    /// Whether the upcoming view (orders held for later) is up instead of the tickets.
    pub upcoming: bool,
    pub keys: KeyMap<Action>,
    /// Unix ms, from the last tick.
    pub now: i64,
    pub conn: Conn,
    pub tickets: BTreeMap<i64, Ticket>,
    pub selected: Option<i64>,
    /// New orders nobody has acknowledged (bumped, or `a`).
    pub unacked: BTreeSet<i64>,
    pub analytics: Option<Analytics>,
    pub all_day: bool,
    pub overlay: Overlay,
    /// The last bump, for recall.
    pub last_bump: Option<LastBump>,
    pub pending: HashMap<u64, Pending>,
    /// A short message and when it stops being shown (Unix ms).
    pub flash: Option<(String, i64)>,
    pub muted: bool,
    /// "sound" or "bell": how alerts are given when not muted.
    pub alert_mode: &'static str,
    pub last_alert: Option<i64>,
    /// Whether the first snapshot has arrived.
    pub loaded: bool,
    pub next_request: u64,
    /// The staff chat room's pane (`c`).
    pub chat: ChatPane,
}

impl App {
    pub fn new(restaurant: &str, settings: Settings, now: i64) -> App {
        App::with_chat(
            restaurant,
            settings,
            now,
            Some(format!("chat:{restaurant}")),
        )
    }

    /// A display whose chat pane follows `chat_room` (none: no chat pane).
    pub fn with_chat(
        restaurant: &str,
        settings: Settings,
        now: i64,
        chat_room: Option<String>,
    ) -> App {
        App {
            restaurant: restaurant.to_string(),
            settings,
            screen: Screen::Tickets,
            menu: None,
            unavailable: Vec::new(),
            upcoming: false,
            keys: KeyMap::new(keymap::ACTIONS),
            now,
            conn: Conn::Connecting,
            tickets: BTreeMap::new(),
            selected: None,
            unacked: BTreeSet::new(),
            analytics: None,
            all_day: false,
            overlay: Overlay::None,
            last_bump: None,
            pending: HashMap::new(),
            flash: None,
            muted: false,
            alert_mode: "bell",
            last_alert: None,
            loaded: false,
            next_request: 1,
            chat: ChatPane::new(chat_room, now),
        }
    }

    /// The tickets this screen shows, in display order. Whole tickets and the expo:
    /// grouped by status (new → ready), rush first, then oldest first. A station: the
    /// tickets with work there, rush first, then oldest. The upcoming view: orders held
    /// for later, soonest to fire first.
    pub fn visible(&self) -> Vec<&Ticket> {
        let mut tickets: Vec<&Ticket> = self.tickets.values().filter(|t| self.shows(t)).collect();
        if self.upcoming {
            tickets.sort_by_key(|t| (t.order.fire_ms().unwrap_or(0), t.order.id));
        } else if self.screen.station().is_some() {
            tickets.sort_by_key(|t| (!t.rush(), t.created, t.order.id));
        } else {
            tickets.sort_by_key(|t| (group(t.order.status), !t.rush(), t.created, t.order.id));
        }
        tickets
    }

    /// Whether `t` is on the current screen.
    pub fn shows(&self, t: &Ticket) -> bool {
        if self.upcoming || t.order.is_held() {
            return self.upcoming && self.holds(t);
        }
        match &self.screen {
            Screen::Station(s) => stations::has_work(&t.order, s, self.menu.as_ref()),
            Screen::Tickets | Screen::Expo => true,
        }
    }

    /// Whether `t` is held for later with something for this screen (a station: items
    /// made there).
    fn holds(&self, t: &Ticket) -> bool {
        t.order.is_held()
            && self
                .screen
                .station()
                .is_none_or(|s| !stations::items_at(&t.order, s, self.menu.as_ref()).is_empty())
    }

    /// How many orders are held for later (a station: with items made there).
    pub fn upcoming_count(&self) -> usize {
        self.tickets.values().filter(|t| self.holds(t)).count()
    }

    pub fn selected_ticket(&self) -> Option<&Ticket> {
        self.selected.and_then(|id| self.tickets.get(&id))
    }

    /// Where the selected ticket is on screen.
    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.visible().iter().position(|t| t.order.id == id)
    }

    /// Whether an order is this screen's business, for its alert: a station hears only
    /// orders with work there.
    pub fn concerns(&self, order: &Order) -> bool {
        match &self.screen {
            Screen::Station(s) => stations::has_work(order, s, self.menu.as_ref()),
            Screen::Tickets | Screen::Expo => true,
        }
    }

    /// Whether `item` is 86'd now.
    pub fn is_unavailable(&self, item: &str) -> bool {
        let key = chit_protocol::name_key(item);
        self.unavailable
            .iter()
            .any(|u| chit_protocol::name_key(&u.item) == key)
    }

    pub fn age(&self, ticket: &Ticket) -> Age {
        let age = self.age_ms(ticket);
        if age >= self.settings.late_after.as_millis() as i64 {
            Age::Late
        } else if age >= self.settings.warn_after.as_millis() as i64 {
            Age::Warning
        } else {
            Age::Fresh
        }
    }

    pub fn age_ms(&self, ticket: &Ticket) -> i64 {
        (self.now - ticket.created).max(0)
    }

    /// Quantity of each item across open tickets, largest first: the all-day view. A
    /// station counts its own items that are not done yet; held orders are not counted.
    pub fn all_day_counts(&self) -> Vec<(String, u32)> {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for t in self.tickets.values().filter(|t| !t.order.is_held()) {
            let at: Vec<usize> = match &self.screen {
                Screen::Station(s) => stations::items_at(&t.order, s, self.menu.as_ref())
                    .into_iter()
                    .filter(|&i| t.order.items[i].state != ItemState::Done)
                    .collect(),
                _ => (0..t.order.items.len()).collect(),
            };
            for i in at {
                let item = &t.order.items[i];
                *counts.entry(item.name.clone()).or_default() += item.qty;
            }
        }
        let mut counts: Vec<(String, u32)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// Changes waiting to be answered (sent or queued); loading the menu is none.
    pub fn queued_count(&self) -> usize {
        self.pending
            .values()
            .filter(|p| p.change != Change::Menu)
            .count()
    }
}

/// Where a status sits in the display order.
pub fn group(status: Status) -> usize {
    KITCHEN_STATUSES
        .iter()
        .position(|s| *s == status)
        .unwrap_or(KITCHEN_STATUSES.len())
}

/// The kitchen's name for a status group.
pub use crate::widgets::status_label as group_label;

/// `mm:ss` for an age in ms.
pub fn format_age(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}
