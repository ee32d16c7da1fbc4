//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the kitchen display's state,
//! as a pure function. The main loop carries out the effects (send, play, quit).

use chit_protocol::{
    Analytics, ClientMsg, ErrorCode, EventKind, ItemState, ServerMsg, Status, name_key,
};

use super::app::{
    App, Change, Choice, KITCHEN_STATUSES, LastBump, Overlay, Pending, Ticket, group,
};
use super::stations::{self, Screen};
pub use crate::display::Effect;
use crate::sound::Sound;
use chit_client::{LinkState, Request, ServerError, Update};

/// How long a flash message stays up.
const FLASH_MS: i64 = 6_000;

/// What `update` takes: a tick, an action, a chat key or a link event.
pub type Msg = crate::display::Msg<Action>;

/// What a key asks for (see keymap.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Left,
    Right,
    Bump,
    /// Bump the n-th visible ticket (1-based), bump-bar style.
    BumpNth(usize),
    Recall,
    Cancel,
    Yes,
    No,
    AckAll,
    ToggleAllDay,
    Details,
    Mute,
    Help,
    Quit,
    Close,
    /// Open or close the chat pane.
    Chat,
    /// Show or leave the upcoming view (orders held for later).
    Upcoming,
    /// 86 an item of the selected ticket, or restore one.
    EightySix,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    let was_at = app.selected_index();
    match msg {
        Msg::Tick(now) => {
            app.now = now;
            if app.flash.as_ref().is_some_and(|(_, until)| *until <= now) {
                app.flash = None;
            }
            let due = app
                .last_alert
                .is_none_or(|last| now - last >= app.settings.alert_every.as_millis() as i64);
            if !app.unacked.is_empty() && due {
                app.last_alert = Some(now);
                effects.push(Effect::Play(Sound::NewOrder));
            }
            app.chat.tick(now);
        }
        Msg::ChatKey(key) => {
            let now = app.now;
            effects.extend(app.chat.key(key, now));
        }
        Msg::Link(event) => link(app, event, &mut effects),
        Msg::Key(action) => key(app, action, &mut effects),
    }
    fix_selection(app, was_at);
    effects
}

fn flash(app: &mut App, text: impl Into<String>) {
    app.flash = Some((text.into(), app.now + FLASH_MS));
}

fn link(app: &mut App, event: Update, effects: &mut Vec<Effect>) {
    let now = app.now;
    if app.conn.apply(&event, now) {
        flash(app, "back online: the display is up to date");
    }
    match &event {
        Update::State(LinkState::Online { welcome, .. }) => {
            effects.extend(app.chat.online(&welcome.name));
            let msg = ClientMsg::GetMenu {
                restaurant: app.restaurant.clone(),
            };
            send(app, 0, 0, Change::Menu, msg, effects);
        }
        Update::State(LinkState::Reconnecting { .. }) => app.chat.offline(),
        Update::Event(e)
            if matches!(
                e.kind,
                EventKind::ChatMessage | EventKind::Typing | EventKind::Presence
            ) =>
        {
            effects.extend(app.chat.event(e, now));
            return;
        }
        Update::Reply { id, result } if app.chat.reply(*id, result) => return,
        _ => {}
    }
    match event {
        Update::Snapshot { orders, .. } => {
            let first = !app.loaded;
            app.loaded = true;
            let mut fresh = false;
            let known: Vec<i64> = app.tickets.keys().copied().collect();
            app.tickets.clear();
            for order in orders {
                if group(order.status) >= KITCHEN_STATUSES.len() {
                    continue;
                }
                let new = order.status == Status::Pending
                    && !order.is_held()
                    && app.concerns(&order)
                    && (first || !known.contains(&order.id));
                if new && app.unacked.insert(order.id) {
                    fresh = true;
                }
                let queued = app
                    .pending
                    .values()
                    .filter(|p| p.order_id == order.id)
                    .filter_map(Pending::status_to)
                    .last();
                let mut ticket = Ticket::new(order, queued);
                ticket.items_queued = items_queued(app, ticket.order.id);
                app.tickets.insert(ticket.order.id, ticket);
            }
            app.unacked.retain(|id| app.tickets.contains_key(id));
            if fresh {
                app.last_alert = Some(now);
                effects.push(Effect::Play(Sound::NewOrder));
            }
        }
        Update::Event(event) => match event.kind {
            EventKind::NewOrder
            | EventKind::OrderUpdate
            | EventKind::ItemUpdate
            | EventKind::OrderFired => {
                let Some(change) = event.order_event() else {
                    return;
                };
                let order = change.order;
                let id = order.id;
                let open = group(order.status) < KITCHEN_STATUSES.len();
                // A new order beeps when it reaches the kitchen: at once, or when fired.
                let arrives = match event.kind {
                    EventKind::NewOrder => !app.tickets.contains_key(&id),
                    EventKind::OrderFired => true,
                    _ => false,
                };
                if arrives && open && !order.is_held() && app.concerns(&order) {
                    app.unacked.insert(id);
                    app.last_alert = Some(now);
                    effects.push(Effect::Play(Sound::NewOrder));
                    if event.kind == EventKind::OrderFired {
                        flash(
                            app,
                            format!("order #{} fired: it is due soon", order.number),
                        );
                    }
                }
                let ours = app
                    .pending
                    .values()
                    .any(|p| p.order_id == id && p.status_to() == Some(order.status));
                if matches!(order.status, Status::Cancelled | Status::Rejected)
                    && app.tickets.contains_key(&id)
                    && !ours
                {
                    let why = change.reason.map(|r| format!(": {r}")).unwrap_or_default();
                    flash(
                        app,
                        format!("order #{} was {}{why}", order.number, order.status),
                    );
                    effects.push(Effect::Play(Sound::Cancelled));
                }
                if open {
                    let queued = app.tickets.get(&id).and_then(|t| t.queued);
                    let mut ticket = Ticket::new(order, queued);
                    ticket.items_queued = items_queued(app, id);
                    if !app.concerns(&ticket.order) {
                        app.unacked.remove(&id);
                    }
                    app.tickets.insert(id, ticket);
                } else {
                    app.tickets.remove(&id);
                    app.unacked.remove(&id);
                }
            }
            EventKind::AnalyticsUpdate => {
                if let Ok(figures) = serde_json::from_value::<Analytics>(event.data) {
                    app.analytics = Some(figures);
                }
            }
            EventKind::MenuUpdate => {
                let Some(update) = event.menu_update() else {
                    return;
                };
                app.unavailable = update.unavailable;
                let item = update.item.unwrap_or_default();
                match update.change {
                    chit_protocol::MenuChange::Loaded => {
                        app.menu = update.menu;
                        flash(app, "the menu was loaded: stations follow it");
                    }
                    chit_protocol::MenuChange::Unavailable => {
                        let until = app
                            .unavailable
                            .iter()
                            .find(|u| name_key(&u.item) == name_key(&item))
                            .map(|u| until_text(&u.until))
                            .unwrap_or_default();
                        flash(app, format!("86: {item} is unavailable{until}"));
                    }
                    chit_protocol::MenuChange::Restored => {
                        flash(app, format!("{item} is available again"));
                    }
                }
            }
            _ => {}
        },
        Update::Reply { id, result } => {
            let Some(p) = app.pending.remove(&id) else {
                return;
            };
            let still_status = app
                .pending
                .values()
                .any(|q| q.order_id == p.order_id && q.status_to().is_some());
            if let Some(t) = app.tickets.get_mut(&p.order_id) {
                if p.status_to().is_some() && t.queued == p.status_to() && !still_status {
                    t.queued = None;
                }
                if let Change::Item { n, .. } = p.change {
                    t.items_queued.remove(&n);
                }
            }
            match (result, &p.change) {
                (
                    Ok(ServerMsg::Menu {
                        menu, unavailable, ..
                    }),
                    _,
                ) => {
                    app.menu = menu;
                    app.unavailable = unavailable;
                }
                (Ok(ServerMsg::Unavailable { items, .. }), _) => app.unavailable = items,
                (Ok(_), _) => {}
                // Sent before a disconnect and applied then: the order is already there.
                (
                    Err(ServerError {
                        code: ErrorCode::InvalidTransition,
                        ..
                    }),
                    Change::Status { to, .. },
                ) if app
                    .tickets
                    .get(&p.order_id)
                    .is_some_and(|t| t.order.status == *to) => {}
                (
                    Err(ServerError {
                        code: ErrorCode::InvalidTransition,
                        ..
                    }),
                    Change::Item { n, to },
                ) if app.tickets.get(&p.order_id).is_some_and(|t| {
                    t.order.items.get(*n as usize - 1).map(|i| i.state) == Some(*to)
                }) => {}
                (Err(e), Change::Menu | Change::EightySix) => flash(app, e.message),
                (Err(e), _) => flash(app, format!("order #{}: {}", p.number, e.message)),
            }
        }
        Update::State(LinkState::Refused { refusal, .. }) => {
            flash(app, format!("refused: {refusal}"));
        }
        Update::State(_) | Update::Resumed { .. } | Update::Stopped(_) => {}
    }
}

fn key(app: &mut App, action: Action, effects: &mut Vec<Effect>) {
    match app.overlay.clone() {
        Overlay::Help | Overlay::Details(_) => {
            if matches!(
                action,
                Action::Close
                    | Action::Help
                    | Action::Details
                    | Action::Quit
                    | Action::No
                    | Action::Bump
            ) {
                app.overlay = Overlay::None;
            }
            return;
        }
        Overlay::ConfirmQuit => {
            match action {
                Action::Yes => effects.push(Effect::Quit),
                Action::No | Action::Close | Action::Quit => app.overlay = Overlay::None,
                _ => {}
            }
            return;
        }
        Overlay::ConfirmCancel(id) => {
            match action {
                Action::Yes => {
                    app.overlay = Overlay::None;
                    if let Some(t) = app.tickets.get(&id) {
                        let to = if t.order.status == Status::Pending {
                            Status::Rejected
                        } else {
                            Status::Cancelled
                        };
                        let from = t.queued.unwrap_or(t.order.status);
                        request(app, id, from, to, false, effects);
                    }
                }
                Action::No | Action::Close | Action::Cancel => app.overlay = Overlay::None,
                _ => {}
            }
            return;
        }
        Overlay::ConfirmForce(id) => {
            match action {
                Action::Yes => {
                    app.overlay = Overlay::None;
                    send_out(app, id, true, effects);
                }
                Action::No | Action::Close => app.overlay = Overlay::None,
                _ => {}
            }
            return;
        }
        Overlay::EightySix { choices, at } => {
            match action {
                Action::Up => {
                    app.overlay = Overlay::EightySix {
                        at: at.saturating_sub(1),
                        choices,
                    }
                }
                Action::Down => {
                    app.overlay = Overlay::EightySix {
                        at: (at + 1).min(choices.len().saturating_sub(1)),
                        choices,
                    }
                }
                Action::Bump => match choices.get(at) {
                    Some(choice) => app.overlay = Overlay::ConfirmEightySix(choice.clone()),
                    None => app.overlay = Overlay::None,
                },
                Action::BumpNth(n) => {
                    if let Some(choice) = n.checked_sub(1).and_then(|i| choices.get(i)) {
                        app.overlay = Overlay::ConfirmEightySix(choice.clone());
                    }
                }
                Action::Close | Action::EightySix | Action::Quit | Action::No => {
                    app.overlay = Overlay::None
                }
                _ => {}
            }
            return;
        }
        Overlay::ConfirmEightySix(choice) => {
            match action {
                Action::Yes => {
                    app.overlay = Overlay::None;
                    let restaurant = app.restaurant.clone();
                    let msg = if choice.restore {
                        ClientMsg::MarkAvailable {
                            restaurant,
                            item: choice.item,
                        }
                    } else {
                        ClientMsg::MarkUnavailable {
                            restaurant,
                            item: choice.item,
                            until: None,
                        }
                    };
                    send(app, 0, 0, Change::EightySix, msg, effects);
                }
                Action::No | Action::Close => app.overlay = Overlay::None,
                _ => {}
            }
            return;
        }
        Overlay::None => {}
    }
    let visible: Vec<i64> = app.visible().iter().map(|t| t.order.id).collect();
    let index = app.selected_index();
    match action {
        Action::Up | Action::Down => {
            if let Some(i) = index {
                let next = if action == Action::Up {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(visible.len() - 1)
                };
                app.selected = Some(visible[next]);
            }
        }
        Action::Left | Action::Right => {
            // Jump to the first ticket of the previous or next status group.
            if let Some(t) = app.selected_ticket() {
                let current = group(t.order.status);
                let tickets = app.visible();
                let target = if action == Action::Left {
                    tickets
                        .iter()
                        .rev()
                        .find(|t| group(t.order.status) < current)
                        .map(|t| group(t.order.status))
                } else {
                    tickets
                        .iter()
                        .find(|t| group(t.order.status) > current)
                        .map(|t| group(t.order.status))
                };
                if let Some(g) = target {
                    app.selected = tickets
                        .iter()
                        .find(|t| group(t.order.status) == g)
                        .map(|t| t.order.id);
                }
            }
        }
        Action::Bump => {
            if let Some(id) = app.selected.filter(|id| visible.contains(id)) {
                bump(app, id, effects);
            }
        }
        Action::BumpNth(n) => {
            if let Some(id) = n.checked_sub(1).and_then(|i| visible.get(i)) {
                app.selected = Some(*id);
                bump(app, *id, effects);
            }
        }
        Action::Recall => match app.last_bump.take() {
            Some(LastBump::Status(id, back_to)) => {
                let from = app
                    .tickets
                    .get(&id)
                    .map(|t| t.queued.unwrap_or(t.order.status));
                // A bumped-away pickup order is no longer on screen; it was delivered.
                let from = from.unwrap_or(Status::Delivered);
                request(app, id, from, back_to, true, effects);
            }
            Some(LastBump::Items(id, items)) => {
                for (n, back_to) in items {
                    item_request(app, id, n, back_to, true, effects);
                }
            }
            None => flash(app, "nothing to recall"),
        },
        Action::Cancel => {
            if app.upcoming || app.screen.station().is_none() {
                if let Some(id) = app.selected.filter(|id| visible.contains(id)) {
                    app.overlay = Overlay::ConfirmCancel(id);
                }
            } else {
                flash(
                    app,
                    "orders are cancelled from the expo or a whole-ticket display",
                );
            }
        }
        Action::AckAll => {
            app.unacked.clear();
        }
        Action::ToggleAllDay => app.all_day = !app.all_day,
        Action::Upcoming => {
            app.upcoming = !app.upcoming;
            app.all_day = false;
            app.selected = app.visible().first().map(|t| t.order.id);
        }
        Action::EightySix => {
            let choices = eighty_six_choices(app);
            if choices.is_empty() {
                flash(app, "select a ticket to 86 one of its items");
            } else {
                app.overlay = Overlay::EightySix { choices, at: 0 };
            }
        }
        Action::Details => {
            if let Some(id) = app.selected.filter(|id| visible.contains(id)) {
                app.overlay = Overlay::Details(id);
            }
        }
        Action::Mute => {
            app.muted = !app.muted;
            effects.push(Effect::SetMuted(app.muted));
            flash(
                app,
                if app.muted {
                    "alerts muted"
                } else {
                    "alerts on"
                },
            );
        }
        Action::Help => app.overlay = Overlay::Help,
        Action::Quit => app.overlay = Overlay::ConfirmQuit,
        Action::Chat => app.chat.toggle(),
        Action::Close => {
            if app.upcoming {
                app.upcoming = false;
                app.selected = app.visible().first().map(|t| t.order.id);
            } else if app.all_day {
                app.all_day = false;
            }
        }
        Action::Yes | Action::No => {}
    }
}

/// What the 86 overlay offers: the selected ticket's items that can still be ordered,
/// then everything unavailable now (to restore).
fn eighty_six_choices(app: &App) -> Vec<Choice> {
    let mut choices: Vec<Choice> = Vec::new();
    let out = |name: &str| {
        app.unavailable
            .iter()
            .any(|u| name_key(&u.item) == name_key(name))
    };
    if let Some(t) = app.selected_ticket().filter(|t| app.shows(t)) {
        let station = app.screen.station();
        for (i, item) in t.order.items.iter().enumerate() {
            let here = station.is_none_or(|s| {
                stations::item_station(&t.order.items[i], app.menu.as_ref()) == Some(s)
            });
            if here
                && !out(&item.name)
                && !choices
                    .iter()
                    .any(|c| name_key(&c.item) == name_key(&item.name))
            {
                choices.push(Choice {
                    item: item.name.clone(),
                    restore: false,
                });
            }
        }
    }
    choices.extend(app.unavailable.iter().map(|u| Choice {
        item: u.item.clone(),
        restore: true,
    }));
    choices
}

/// Bumps a ticket as this screen bumps: the station's items, the expo's send-out, or the
/// next status.
fn bump(app: &mut App, id: i64, effects: &mut Vec<Effect>) {
    let Some(t) = app.tickets.get(&id) else {
        return;
    };
    if app.upcoming {
        let number = t.order.number;
        flash(
            app,
            format!("order #{number} is held until it fires (s returns to the tickets)"),
        );
        return;
    }
    match app.screen.clone() {
        Screen::Station(station) => {
            let moves = stations::station_bump(&t.order, &station, app.menu.as_ref());
            let moves: Vec<(u32, ItemState, ItemState)> = moves
                .into_iter()
                .filter(|(n, _, _)| !t.items_queued.contains_key(n))
                .collect();
            if moves.is_empty() {
                return;
            }
            app.unacked.remove(&id);
            app.last_bump = Some(LastBump::Items(
                id,
                moves.iter().map(|(n, from, _)| (*n, *from)).collect(),
            ));
            for (n, _, to) in moves {
                item_request(app, id, n, to, false, effects);
            }
        }
        Screen::Expo if t.order.has_stations() => {
            let from = t.queued.unwrap_or(t.order.status);
            match from {
                Status::Pending => {
                    app.unacked.remove(&id);
                    app.last_bump = Some(LastBump::Status(id, from));
                    request(app, id, from, Status::Confirmed, false, effects);
                }
                Status::Confirmed | Status::Preparing if stations::all_done(&t.order) => {
                    send_out(app, id, false, effects);
                }
                Status::Confirmed | Status::Preparing => {
                    app.overlay = Overlay::ConfirmForce(id);
                }
                _ => status_bump(app, id, effects),
            }
        }
        Screen::Expo | Screen::Tickets => status_bump(app, id, effects),
    }
}

/// The expo sends an order out: ready, forced when its items are not all done (a
/// confirmed order goes through preparing, as the status machine has it).
fn send_out(app: &mut App, id: i64, force: bool, effects: &mut Vec<Effect>) {
    let Some(t) = app.tickets.get(&id) else {
        return;
    };
    let from = t.queued.unwrap_or(t.order.status);
    app.unacked.remove(&id);
    if from == Status::Confirmed {
        request(app, id, from, Status::Preparing, false, effects);
    }
    app.last_bump = Some(LastBump::Status(id, Status::Preparing));
    let number = app.tickets.get(&id).map_or(0, |t| t.order.number);
    send(
        app,
        id,
        number,
        Change::Status {
            from: Status::Preparing,
            to: Status::Ready,
            recall: false,
        },
        ClientMsg::UpdateStatus {
            order_id: id,
            status: Status::Ready,
            reason: None,
            recall: false,
            force,
        },
        effects,
    );
    if let Some(t) = app.tickets.get_mut(&id) {
        t.queued = Some(Status::Ready);
    }
}

/// Moves a ticket to its next kitchen status.
fn status_bump(app: &mut App, id: i64, effects: &mut Vec<Effect>) {
    let Some(t) = app.tickets.get(&id) else {
        return;
    };
    let from = t.queued.unwrap_or(t.order.status);
    let Some(to) = from.kitchen_next(t.order.fulfilment) else {
        flash(
            app,
            format!("order #{} is ready and waits for its rider", t.order.number),
        );
        return;
    };
    app.unacked.remove(&id);
    app.last_bump = Some(LastBump::Status(id, from));
    request(app, id, from, to, false, effects);
}

fn request(
    app: &mut App,
    id: i64,
    from: Status,
    to: Status,
    recall: bool,
    effects: &mut Vec<Effect>,
) {
    let number = app.tickets.get(&id).map(|t| t.order.number).unwrap_or(0);
    if let Some(t) = app.tickets.get_mut(&id) {
        t.queued = Some(to);
    }
    send(
        app,
        id,
        number,
        Change::Status { from, to, recall },
        ClientMsg::UpdateStatus {
            order_id: id,
            status: to,
            reason: None,
            recall,
            force: false,
        },
        effects,
    );
}

fn item_request(
    app: &mut App,
    id: i64,
    n: u32,
    to: ItemState,
    recall: bool,
    effects: &mut Vec<Effect>,
) {
    let number = app.tickets.get(&id).map(|t| t.order.number).unwrap_or(0);
    if let Some(t) = app.tickets.get_mut(&id) {
        t.items_queued.insert(n, to);
    }
    send(
        app,
        id,
        number,
        Change::Item { n, to },
        ClientMsg::UpdateItem {
            order_id: id,
            item: n,
            state: to,
            recall,
        },
        effects,
    );
}

/// Sends `msg` and remembers what it asked for until the answer comes.
fn send(
    app: &mut App,
    order_id: i64,
    number: u32,
    change: Change,
    msg: ClientMsg,
    effects: &mut Vec<Effect>,
) {
    let id = app.next_request;
    app.next_request += 1;
    app.pending.insert(
        id,
        Pending {
            order_id,
            number,
            change,
        },
    );
    effects.push(Effect::Send(Request { id, msg }));
}

/// The item changes still unanswered for an order.
fn items_queued(app: &App, order_id: i64) -> std::collections::BTreeMap<u32, ItemState> {
    app.pending
        .values()
        .filter(|p| p.order_id == order_id)
        .filter_map(|p| match p.change {
            Change::Item { n, to } => Some((n, to)),
            _ => None,
        })
        .collect()
}

/// ` until 23:59` for an 86's end (RFC 3339), in local time.
pub fn until_text(until: &str) -> String {
    chit_protocol::parse_time(until)
        .map(|ms| format!(" until {}", crate::widgets::local_hm(ms)))
        .unwrap_or_default()
}

/// Keeps a ticket selected whenever one is on screen, at the place the old one had.
fn fix_selection(app: &mut App, was_at: Option<usize>) {
    if app.selected_ticket().is_some_and(|t| app.shows(t)) {
        return;
    }
    let visible = app.visible();
    let at = was_at.unwrap_or(0).min(visible.len().saturating_sub(1));
    app.selected = visible.get(at).map(|t| t.order.id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::app::Settings;
    use chit_protocol::{Customer, Event, Fulfilment, Item, Order, OrderEvent, format_time};
    use std::time::Duration;

    const T0: i64 = 1_800_000_000_000;

    fn order(id: i64, status: Status, fulfilment: Fulfilment) -> Order {
        Order {
            id,
            number: id as u32,
            restaurant: "r1".into(),
            customer: Customer {
                id: "0812345678".into(),
                name: format!("Guest {id}"),
                phone: "0812345678".into(),
                address: Some("12 Sukhumvit".into()),
            },
            items: vec![Item {
                name: "Pad Thai".into(),
                qty: 2,
                unit_price: 12000,
                note: None,
                ..Default::default()
            }],
            total: 24000,
            note: None,
            fulfilment,
            status,
            rider: None,
            created_at: format_time(T0 + id * 1000),
            updated_at: format_time(T0 + id * 1000),
            ..Default::default()
        }
    }

    fn event(kind: EventKind, order: Order, previous: Option<Status>, seq: u64) -> Msg {
        let data = serde_json::to_value(OrderEvent {
            order,
            previous,
            reason: None,
        })
        .unwrap();
        Msg::Link(Update::Event(Event {
            room: "restaurant:r1".into(),
            seq: Some(seq),
            kind,
            at: format_time(T0),
            data,
        }))
    }

    fn welcome() -> Msg {
        Msg::Link(crate::conn::fixtures::kitchen_online())
    }

    /// A display that is online with `orders` loaded.
    fn loaded(orders: Vec<Order>) -> App {
        let mut app = App::new("r1", Settings::default(), T0);
        update(&mut app, welcome());
        update(&mut app, Msg::Link(Update::Snapshot { orders, head: 10 }));
        app
    }

    fn sent(effects: &[Effect]) -> Vec<(i64, Status, bool)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(Request {
                    msg:
                        ClientMsg::UpdateStatus {
                            order_id,
                            status,
                            recall,
                            ..
                        },
                    ..
                }) => Some((*order_id, *status, *recall)),
                _ => None,
            })
            .collect()
    }

    fn reply_ok(app: &mut App, effects: &[Effect]) {
        for e in effects {
            if let Effect::Send(req) = e {
                let order = order(1, Status::Pending, Fulfilment::Delivery);
                update(
                    app,
                    Msg::Link(Update::Reply {
                        id: req.id,
                        result: Ok(ServerMsg::Order {
                            order,
                            duplicate: None,
                        }),
                    }),
                );
            }
        }
    }

    #[test]
    fn a_new_order_shows_beeps_and_waits_for_acknowledgement() {
        let mut app = loaded(vec![]);
        let effects = update(
            &mut app,
            event(
                EventKind::NewOrder,
                order(1, Status::Pending, Fulfilment::Delivery),
                None,
                11,
            ),
        );
        assert_eq!(effects, [Effect::Play(Sound::NewOrder)]);
        assert!(app.tickets.contains_key(&1));
        assert!(app.unacked.contains(&1));
        assert_eq!(app.selected, Some(1));
        // A replayed copy of the same event neither beeps nor duplicates.
        let effects = update(
            &mut app,
            event(
                EventKind::NewOrder,
                order(1, Status::Pending, Fulfilment::Delivery),
                None,
                11,
            ),
        );
        assert!(effects.is_empty());
        assert_eq!(app.tickets.len(), 1);
        update(&mut app, Msg::Key(Action::AckAll));
        assert!(app.unacked.is_empty());
    }

    #[test]
    fn the_alert_repeats_until_acknowledged() {
        let mut app = loaded(vec![]);
        update(
            &mut app,
            event(
                EventKind::NewOrder,
                order(1, Status::Pending, Fulfilment::Delivery),
                None,
                11,
            ),
        );
        let every = app.settings.alert_every.as_millis() as i64;
        let table = [
            (T0 + 1_000, false),
            (T0 + every - 1, false),
            (T0 + every, true),
            (T0 + every + 1_000, false),
            (T0 + 2 * every, true),
        ];
        for (now, beeps) in table {
            let effects = update(&mut app, Msg::Tick(now));
            assert_eq!(
                effects.contains(&Effect::Play(Sound::NewOrder)),
                beeps,
                "at +{} ms",
                now - T0
            );
        }
        update(&mut app, Msg::Key(Action::AckAll));
        assert!(update(&mut app, Msg::Tick(T0 + 10 * every)).is_empty());
    }

    #[test]
    fn bumps_follow_the_kitchen_path_and_acknowledge() {
        let table = [
            (
                Status::Pending,
                Fulfilment::Delivery,
                Some(Status::Confirmed),
            ),
            (
                Status::Confirmed,
                Fulfilment::Delivery,
                Some(Status::Preparing),
            ),
            (Status::Preparing, Fulfilment::Pickup, Some(Status::Ready)),
            (Status::Ready, Fulfilment::Pickup, Some(Status::Delivered)),
            (Status::Ready, Fulfilment::Delivery, None),
        ];
        for (from, fulfilment, to) in table {
            let mut app = loaded(vec![order(1, from, fulfilment)]);
            let effects = update(&mut app, Msg::Key(Action::Bump));
            match to {
                Some(to) => {
                    assert_eq!(sent(&effects), [(1, to, false)], "{from:?} {fulfilment:?}");
                    assert_eq!(app.tickets[&1].queued, Some(to));
                    assert!(!app.unacked.contains(&1));
                }
                None => {
                    assert!(sent(&effects).is_empty());
                    assert!(
                        app.flash
                            .as_ref()
                            .unwrap()
                            .0
                            .contains("waits for its rider")
                    );
                }
            }
        }
    }

    #[test]
    fn digits_bump_the_nth_visible_ticket() {
        let mut app = loaded(vec![
            order(3, Status::Preparing, Fulfilment::Delivery),
            order(1, Status::Pending, Fulfilment::Delivery),
            order(2, Status::Pending, Fulfilment::Delivery),
        ]);
        // Display order: new first (1, 2), then preparing (3).
        let ids: Vec<i64> = app.visible().iter().map(|t| t.order.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(
            sent(&update(&mut app, Msg::Key(Action::BumpNth(3)))),
            [(3, Status::Ready, false)]
        );
        assert_eq!(app.selected, Some(3));
        assert!(update(&mut app, Msg::Key(Action::BumpNth(9))).is_empty());
    }

    #[test]
    fn recall_sends_the_last_bump_back_once() {
        let mut app = loaded(vec![order(1, Status::Confirmed, Fulfilment::Delivery)]);
        let effects = update(&mut app, Msg::Key(Action::Bump));
        reply_ok(&mut app, &effects);
        update(
            &mut app,
            event(
                EventKind::OrderUpdate,
                order(1, Status::Preparing, Fulfilment::Delivery),
                Some(Status::Confirmed),
                12,
            ),
        );
        let effects = update(&mut app, Msg::Key(Action::Recall));
        assert_eq!(sent(&effects), [(1, Status::Confirmed, true)]);
        let effects = update(&mut app, Msg::Key(Action::Recall));
        assert!(sent(&effects).is_empty());
        assert_eq!(app.flash.as_ref().unwrap().0, "nothing to recall");
    }

    #[test]
    fn bumps_while_offline_stay_queued_and_an_applied_retry_is_not_an_error() {
        let mut app = loaded(vec![order(1, Status::Pending, Fulfilment::Delivery)]);
        update(
            &mut app,
            Msg::Link(crate::conn::fixtures::offline(Duration::from_secs(2))),
        );
        assert!(!app.conn.is_online());
        let effects = update(&mut app, Msg::Key(Action::Bump));
        assert_eq!(sent(&effects), [(1, Status::Confirmed, false)]);
        assert_eq!(app.queued_count(), 1);
        assert_eq!(app.tickets[&1].queued, Some(Status::Confirmed));
        // Back online: the replay shows the change (it was applied before the drop) and
        // the re-sent request is refused as a repeat: no error is shown.
        update(&mut app, welcome());
        assert!(app.flash.as_ref().unwrap().0.contains("back online"));
        update(
            &mut app,
            event(
                EventKind::OrderUpdate,
                order(1, Status::Confirmed, Fulfilment::Delivery),
                Some(Status::Pending),
                12,
            ),
        );
        let Effect::Send(req) = &effects[0] else {
            panic!()
        };
        update(
            &mut app,
            Msg::Link(Update::Reply {
                id: req.id,
                result: Err(chit_client::ServerError {
                    code: ErrorCode::InvalidTransition,
                    message: "order 1 is confirmed".into(),
                }),
            }),
        );
        assert_eq!(app.queued_count(), 0);
        assert_eq!(app.tickets[&1].queued, None);
        assert!(
            app.flash.as_ref().unwrap().0.contains("back online"),
            "no error flashed"
        );
    }

    #[test]
    fn a_refused_change_is_shown_and_the_ticket_is_left_as_the_server_has_it() {
        let mut app = loaded(vec![order(1, Status::Pending, Fulfilment::Delivery)]);
        let effects = update(&mut app, Msg::Key(Action::Bump));
        let Effect::Send(req) = &effects[0] else {
            panic!()
        };
        update(
            &mut app,
            Msg::Link(Update::Reply {
                id: req.id,
                result: Err(chit_client::ServerError {
                    code: ErrorCode::Forbidden,
                    message: "this token may not set order 1 to confirmed".into(),
                }),
            }),
        );
        assert_eq!(app.tickets[&1].order.status, Status::Pending);
        assert_eq!(app.tickets[&1].queued, None);
        assert!(
            app.flash
                .as_ref()
                .unwrap()
                .0
                .contains("may not set order 1")
        );
    }

    #[test]
    fn updates_move_tickets_and_closed_orders_leave_with_a_sound_when_cancelled() {
        let mut app = loaded(vec![
            order(1, Status::Pending, Fulfilment::Delivery),
            order(2, Status::Ready, Fulfilment::Delivery),
        ]);
        update(
            &mut app,
            event(
                EventKind::OrderUpdate,
                order(2, Status::PickedUp, Fulfilment::Delivery),
                Some(Status::Ready),
                11,
            ),
        );
        assert!(
            !app.tickets.contains_key(&2),
            "picked up orders leave quietly"
        );
        let effects = update(
            &mut app,
            event(
                EventKind::OrderUpdate,
                order(1, Status::Cancelled, Fulfilment::Delivery),
                Some(Status::Pending),
                12,
            ),
        );
        assert_eq!(effects, [Effect::Play(Sound::Cancelled)]);
        assert!(app.tickets.is_empty());
        assert!(app.unacked.is_empty());
        assert!(app.flash.as_ref().unwrap().0.contains("was cancelled"));
        assert_eq!(app.selected, None);
    }

    #[test]
    fn a_resync_snapshot_replaces_tickets_and_flags_only_unseen_new_orders() {
        let mut app = loaded(vec![order(1, Status::Pending, Fulfilment::Delivery)]);
        update(&mut app, Msg::Key(Action::AckAll));
        let effects = update(
            &mut app,
            Msg::Link(Update::Snapshot {
                orders: vec![
                    order(1, Status::Pending, Fulfilment::Delivery),
                    order(4, Status::Pending, Fulfilment::Pickup),
                ],
                head: 50,
            }),
        );
        assert_eq!(effects, [Effect::Play(Sound::NewOrder)]);
        assert_eq!(app.unacked.iter().copied().collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn cancelling_asks_first_and_rejects_a_new_order() {
        let mut app = loaded(vec![
            order(1, Status::Pending, Fulfilment::Delivery),
            order(2, Status::Preparing, Fulfilment::Delivery),
        ]);
        assert!(update(&mut app, Msg::Key(Action::Cancel)).is_empty());
        assert_eq!(app.overlay, Overlay::ConfirmCancel(1));
        assert!(update(&mut app, Msg::Key(Action::No)).is_empty());
        assert_eq!(app.overlay, Overlay::None);
        update(&mut app, Msg::Key(Action::Cancel));
        assert_eq!(
            sent(&update(&mut app, Msg::Key(Action::Yes))),
            [(1, Status::Rejected, false)]
        );
        update(&mut app, Msg::Key(Action::Down));
        assert_eq!(app.selected, Some(2));
        update(&mut app, Msg::Key(Action::Cancel));
        assert_eq!(
            sent(&update(&mut app, Msg::Key(Action::Yes))),
            [(2, Status::Cancelled, false)]
        );
        update(&mut app, Msg::Key(Action::Quit));
        assert_eq!(app.overlay, Overlay::ConfirmQuit);
        assert_eq!(update(&mut app, Msg::Key(Action::Yes)), [Effect::Quit]);
    }

    #[test]
    fn selection_moves_within_and_across_status_groups() {
        let mut app = loaded(vec![
            order(1, Status::Pending, Fulfilment::Delivery),
            order(2, Status::Pending, Fulfilment::Delivery),
            order(3, Status::Preparing, Fulfilment::Delivery),
            order(4, Status::Ready, Fulfilment::Delivery),
        ]);
        let steps = [
            (Action::Down, 2),
            (Action::Down, 3),
            (Action::Up, 2),
            (Action::Right, 3),
            (Action::Right, 4),
            (Action::Right, 4),
            (Action::Left, 3),
            (Action::Left, 1),
            (Action::Up, 1),
        ];
        for (action, expected) in steps {
            update(&mut app, Msg::Key(action));
            assert_eq!(app.selected, Some(expected), "after {action:?}");
        }
        // When the selected ticket leaves, the one in its place is selected.
        update(&mut app, Msg::Key(Action::Down));
        update(
            &mut app,
            event(
                EventKind::OrderUpdate,
                order(2, Status::Cancelled, Fulfilment::Delivery),
                Some(Status::Pending),
                20,
            ),
        );
        assert_eq!(app.selected, Some(3));
    }

    #[test]
    fn the_connection_state_follows_the_link() {
        let mut app = App::new("r1", Settings::default(), T0);
        assert_eq!(app.conn, crate::conn::Conn::Connecting);
        update(&mut app, welcome());
        assert!(app.conn.is_online());
        update(
            &mut app,
            Msg::Link(crate::conn::fixtures::offline(Duration::from_secs(4))),
        );
        assert!(
            matches!(app.conn, crate::conn::Conn::Offline { retry_at, .. } if retry_at == T0 + 4000)
        );
        update(&mut app, Msg::Link(crate::conn::fixtures::refused()));
        assert!(matches!(app.conn, crate::conn::Conn::Refused { .. }));
    }
}

#[cfg(test)]
mod chat_tests {
    use super::*;
    use crate::kitchen::app::Settings;
    use crossterm::event::{KeyCode, KeyEvent};

    #[test]
    fn the_chat_pane_opens_with_c_and_takes_the_keys_until_esc() {
        let mut app = App::new("r1", Settings::default(), 0);
        assert_eq!(app.chat.room.as_deref(), Some("chat:r1"));
        update(&mut app, Msg::Key(Action::Chat));
        assert!(app.chat.open);
        for c in "ready in 5".chars() {
            update(&mut app, Msg::ChatKey(KeyEvent::from(KeyCode::Char(c))));
        }
        assert_eq!(app.chat.input, "ready in 5");
        let effects = update(&mut app, Msg::ChatKey(KeyEvent::from(KeyCode::Enter)));
        assert!(effects.iter().any(|e| matches!(e, Effect::Send(Request { msg: ClientMsg::ChatSend { room, text }, .. }) if room == "chat:r1" && text == "ready in 5")));
        assert!(
            app.tickets.is_empty() && app.pending.is_empty(),
            "no ticket was touched"
        );
        update(&mut app, Msg::ChatKey(KeyEvent::from(KeyCode::Esc)));
        assert!(!app.chat.open);
    }
}
