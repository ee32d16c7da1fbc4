//! The kitchen display's model: open tickets, selection, connection state, what is
//! queued, what is unacknowledged, and which overlay is up. No I/O and no clock: the
//! time comes in with each message.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chit_protocol::{Analytics, Order, Status};

use crate::chat::ChatPane;
use crate::conn::Conn;

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
}

impl Ticket {
    pub fn new(order: Order, queued: Option<Status>) -> Ticket {
        let created = order.created_ms();
        Ticket {
            order,
            queued,
            created,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(i64),
    ConfirmCancel(i64),
    ConfirmQuit,
}

/// A request the display sent and awaits an answer for.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub order_id: i64,
    pub number: u32,
    pub from: Status,
    pub to: Status,
    pub recall: bool,
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
    /// The last bump, for recall: the order and the status it had before.
    pub last_bump: Option<(i64, Status)>,
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

    /// Open tickets in display order: grouped by status (new → ready), oldest first.
    pub fn visible(&self) -> Vec<&Ticket> {
        let mut tickets: Vec<&Ticket> = self.tickets.values().collect();
        tickets.sort_by_key(|t| (group(t.order.status), t.created, t.order.id));
        tickets
    }

    pub fn selected_ticket(&self) -> Option<&Ticket> {
        self.selected.and_then(|id| self.tickets.get(&id))
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

    /// Quantity of each item across open tickets, largest first: the all-day view.
    pub fn all_day_counts(&self) -> Vec<(String, u32)> {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for t in self.tickets.values() {
            for item in &t.order.items {
                *counts.entry(item.name.clone()).or_default() += item.qty;
            }
        }
        let mut counts: Vec<(String, u32)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// Requests waiting to be answered (sent or queued).
    pub fn queued_count(&self) -> usize {
        self.pending.len()
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
