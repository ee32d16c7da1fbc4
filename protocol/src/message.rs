//! Every message on the wire: `ClientMsg` (requests, commands) and `ServerMsg`
//! (replies, events, errors), wrapped in frames that carry the request `id`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorCode;
use crate::menu::{Menu, UnavailableItem};
use crate::order::{ItemState, NewOrder, Order, Status};

/// A client frame: an optional client-chosen `id` (echoed by the reply) and the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    #[serde(flatten)]
    pub msg: ClientMsg,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        token: String,
        #[serde(default)]
        client: Option<String>,
        protocol: u32,
    },
    Subscribe {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        /// The log's epoch that `since` was read in (a `welcome`'s or `subscribed`'s).
        /// If the server's log is another (a restored copy, another database), the
        /// answer is `resync_required` rather than a replay that would leave a gap.
        /// Without it the seq alone is trusted, as before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<u64>,
    },
    Unsubscribe {
        room: String,
    },
    PlaceOrder {
        order: NewOrder,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    UpdateStatus {
        order_id: i64,
        status: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Undo of a kitchen bump: allows exactly one step back along the bump path.
        #[serde(default, skip_serializing_if = "is_false")]
        recall: bool,
        /// The expo's confirmed override: `ready` although some items are not done.
        #[serde(default, skip_serializing_if = "is_false")]
        force: bool,
    },
    /// Moves one item of an order to `state` at its station. `item` counts from 1, in
    /// the order's `items` as the ticket prints them.
    UpdateItem {
        order_id: i64,
        item: u32,
        state: ItemState,
        /// Undo of an item bump: exactly one step back.
        #[serde(default, skip_serializing_if = "is_false")]
        recall: bool,
    },
    ClaimOrder {
        order_id: i64,
    },
    ReleaseOrder {
        order_id: i64,
    },
    AssignOrder {
        order_id: i64,
        rider: String,
    },
    GetOrder {
        order_id: i64,
    },
    ListOrders {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restaurant: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Vec<Status>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        /// Where the page starts: the `next_cursor` of the page before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    ChatSend {
        room: String,
        text: String,
    },
    ChatHistory {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    Typing {
        room: String,
        active: bool,
    },
    Presence {
        room: String,
    },
    Stats {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restaurant: Option<String>,
    },
    /// A restaurant's menu (stations, categories, items) and what it has run out of.
    GetMenu {
        restaurant: String,
    },
    /// "86": orders naming `item` are refused with `unavailable` until `until` (RFC
    /// 3339; left out, the end of the server's local day) or until it is made available.
    MarkUnavailable {
        restaurant: String,
        item: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
    },
    /// Ends an 86: the item can be ordered again.
    MarkAvailable {
        restaurant: String,
        item: String,
    },
    ListUnavailable {
        restaurant: String,
    },
    Ping,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ClientMsg {
    /// The wire name of the message, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMsg::Hello { .. } => "hello",
            ClientMsg::Subscribe { .. } => "subscribe",
            ClientMsg::Unsubscribe { .. } => "unsubscribe",
            ClientMsg::PlaceOrder { .. } => "place_order",
            ClientMsg::UpdateStatus { .. } => "update_status",
            ClientMsg::UpdateItem { .. } => "update_item",
            ClientMsg::ClaimOrder { .. } => "claim_order",
            ClientMsg::ReleaseOrder { .. } => "release_order",
            ClientMsg::AssignOrder { .. } => "assign_order",
            ClientMsg::GetOrder { .. } => "get_order",
            ClientMsg::ListOrders { .. } => "list_orders",
            ClientMsg::ChatSend { .. } => "chat_send",
            ClientMsg::ChatHistory { .. } => "chat_history",
            ClientMsg::Typing { .. } => "typing",
            ClientMsg::Presence { .. } => "presence",
            ClientMsg::Stats { .. } => "stats",
            ClientMsg::GetMenu { .. } => "get_menu",
            ClientMsg::MarkUnavailable { .. } => "mark_unavailable",
            ClientMsg::MarkAvailable { .. } => "mark_available",
            ClientMsg::ListUnavailable { .. } => "list_unavailable",
            ClientMsg::Ping => "ping",
        }
    }
}

/// A server frame: the `id` of the request it answers (none for events) and the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    #[serde(flatten)]
    pub msg: ServerMsg,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome(Welcome),
    Subscribed {
        room: String,
        head: u64,
        /// The log's epoch (see [`Welcome::epoch`]); none from a server before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<u64>,
    },
    Event(Event),
    Order {
        order: Order,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate: Option<bool>,
    },
    Orders {
        orders: Vec<Order>,
        head: u64,
        /// The cursor of the page of older orders; `null` on the last page.
        #[serde(default)]
        next_cursor: Option<String>,
    },
    Ok {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<ChatMessage>,
    },
    Messages {
        messages: Vec<ChatMessage>,
    },
    Presence {
        room: String,
        members: Vec<Member>,
    },
    Stats(Stats),
    /// The reply to `get_menu`: the menu (`null` when none is loaded: every item is then
    /// one station's) and the items unavailable now.
    Menu {
        restaurant: String,
        menu: Option<Menu>,
        unavailable: Vec<UnavailableItem>,
    },
    /// The reply to `mark_unavailable`, `mark_available` and `list_unavailable`: every
    /// item unavailable now, soonest back first.
    Unavailable {
        restaurant: String,
        items: Vec<UnavailableItem>,
    },
    Pong,
    Error {
        code: ErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub session: u64,
    pub role: Role,
    pub server: String,
    pub protocol: u32,
    /// Seconds between the server's pings.
    pub heartbeat: u64,
    /// The name this token speaks as (its label, rider name, or role).
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Names the server's event log: seqs compare only within one epoch. A database
    /// restored from a backup (whose log went back and then grew again over seqs
    /// already given out) has a new one. A number from 1 to 2^53 - 1, so that
    /// JavaScript reads it exactly; none from a server before epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Kitchen,
    Rider,
    Pos,
    Customer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Kitchen,
        Role::Rider,
        Role::Pos,
        Role::Customer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Kitchen => "kitchen",
            Role::Rider => "rider",
            Role::Pos => "pos",
            Role::Customer => "customer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "kitchen" => Ok(Role::Kitchen),
            "rider" => Ok(Role::Rider),
            "pos" => Ok(Role::Pos),
            "customer" => Ok(Role::Customer),
            _ => Err(format!(
                "unknown role '{s}' (one of: admin, kitchen, rider, pos, customer)"
            )),
        }
    }
}

/// Something that happened in a room. Persisted events carry a global, increasing
/// `seq`; `typing`, `presence` and `analytics_update` are live-only and carry none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub kind: EventKind,
    pub at: String,
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    NewOrder,
    OrderUpdate,
    ChatMessage,
    Typing,
    Presence,
    AnalyticsUpdate,
    /// One item of an order changed state (`data`: [`ItemEvent`]).
    ItemUpdate,
    /// A held `due_at` order was fired into the kitchen (`data`: the order).
    OrderFired,
    /// A menu was loaded, or an item made unavailable or available again (`data`:
    /// [`crate::menu::MenuUpdate`]).
    MenuUpdate,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewOrder => "new_order",
            EventKind::OrderUpdate => "order_update",
            EventKind::ChatMessage => "chat_message",
            EventKind::Typing => "typing",
            EventKind::Presence => "presence",
            EventKind::AnalyticsUpdate => "analytics_update",
            EventKind::ItemUpdate => "item_update",
            EventKind::OrderFired => "order_fired",
            EventKind::MenuUpdate => "menu_update",
        }
    }
}

/// The `data` of `new_order` and `order_update`: the order as it now is, and for an
/// update the status it had before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    #[serde(flatten)]
    pub order: Order,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `data` of `item_update`: the order as it now is, which item changed (counting
/// from 1) and the state it had before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemEvent {
    #[serde(flatten)]
    pub order: Order,
    pub item: u32,
    pub previous_state: ItemState,
}

impl Event {
    /// The order carried by an order's event: `new_order`, `order_update`,
    /// `item_update` or `order_fired` (for the last two, `previous` is none).
    pub fn order_event(&self) -> Option<OrderEvent> {
        match self.kind {
            EventKind::NewOrder
            | EventKind::OrderUpdate
            | EventKind::ItemUpdate
            | EventKind::OrderFired => serde_json::from_value(self.data.clone()).ok(),
            _ => None,
        }
    }

    /// What an `item_update` event says.
    pub fn item_event(&self) -> Option<ItemEvent> {
        match self.kind {
            EventKind::ItemUpdate => serde_json::from_value(self.data.clone()).ok(),
            _ => None,
        }
    }

    /// What a `menu_update` event says.
    pub fn menu_update(&self) -> Option<crate::menu::MenuUpdate> {
        match self.kind {
            EventKind::MenuUpdate => serde_json::from_value(self.data.clone()).ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub author: String,
    pub role: Role,
    pub text: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub session: u64,
    pub name: String,
    pub role: Role,
}

/// Today's figures for one restaurant (or all, for admins), as sent in `stats`
/// replies and `analytics_update` events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant: Option<String>,
    pub total_orders: u64,
    pub total_revenue: i64,
    pub pending_orders: u64,
    pub open_orders: u64,
    pub cancelled_orders: u64,
    /// Average minutes from placed to ready, over today's orders that got there.
    pub avg_ready_minutes: Option<f64>,
    /// Speed of service over today's orders: medians and 90th percentiles. Left out
    /// while nothing has been timed today (every analytics event is smaller for it).
    #[serde(default, skip_serializing_if = "Speed::is_empty")]
    pub speed: Speed,
}

/// Speed of service: how long today's items took from reaching the kitchen (placed,
/// or fired for a `due_at` order) to done, over all stations and per station, and
/// today's orders from fired (placed) to ready.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// Each item: in the kitchen → done.
    pub items: Timing,
    /// Each order: fired (placed) → ready.
    pub orders: Timing,
    /// Each station's items, in the order of the restaurant's menu.
    #[serde(default)]
    pub stations: Vec<StationTiming>,
}

impl Speed {
    /// Nothing timed yet: no item done, no order ready.
    pub fn is_empty(&self) -> bool {
        self.items.count == 0 && self.orders.count == 0 && self.stations.is_empty()
    }
}

/// A median and a 90th percentile, in minutes (one decimal), over `count` samples;
/// none while there are none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub count: u64,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StationTiming {
    pub station: String,
    #[serde(flatten)]
    pub items: Timing,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    #[serde(flatten)]
    pub today: Analytics,
    /// Server figures, for admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStats {
    pub connections: u64,
    pub rss_bytes: u64,
    pub events_total: u64,
    pub orders_total: u64,
    pub uptime_secs: u64,
    pub head: u64,
    /// CPU time the server process has used (user + system), in milliseconds.
    #[serde(default)]
    pub cpu_ms: u64,
    /// File descriptors the server process holds open.
    #[serde(default)]
    pub open_fds: u64,
    /// Webhook endpoints and how their deliveries go.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookStatus>,
}

/// A webhook endpoint as admins see it in `stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookStatus {
    pub id: i64,
    pub url: String,
    /// `ok`, `retrying` (its last attempts failed) or `failing` (they keep failing).
    pub state: String,
    /// Every event it asked for up to this seq was acknowledged.
    pub delivered_seq: u64,
    pub delivered_total: u64,
    /// Failed attempts in a row at the next event.
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
