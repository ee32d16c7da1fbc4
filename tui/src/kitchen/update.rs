//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the kitchen display's state,
//! as a pure function. The main loop carries out the effects (send, play, quit).

use chit_protocol::{Analytics, ClientMsg, ErrorCode, EventKind, ServerMsg, Status};

use super::app::{App, KITCHEN_STATUSES, Overlay, Pending, Ticket, group};
pub use crate::display::Effect;
use crate::link::{LinkEvent, Request};
use crate::sound::Sound;

/// How long a flash message stays up.
const FLASH_MS: i64 = 6_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A second passed (or a redraw is due); carries the time.
    Tick(i64),
    Key(Action),
    Link(LinkEvent),
}

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
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    let was_at = app
        .selected
        .and_then(|id| app.visible().iter().position(|t| t.order.id == id));
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

fn link(app: &mut App, event: LinkEvent, effects: &mut Vec<Effect>) {
    let now = app.now;
    if app.conn.apply(&event, now) {
        flash(app, "back online: the display is up to date");
    }
    match event {
        LinkEvent::Snapshot { orders, .. } => {
            let first = !app.loaded;
            app.loaded = true;
            let mut fresh = false;
            let known: Vec<i64> = app.tickets.keys().copied().collect();
            app.tickets.clear();
            for order in orders {
                if group(order.status) >= KITCHEN_STATUSES.len() {
                    continue;
                }
                let new = order.status == Status::Pending && (first || !known.contains(&order.id));
                if new && app.unacked.insert(order.id) {
                    fresh = true;
                }
                let queued = app
                    .pending
                    .values()
                    .filter(|p| p.order_id == order.id)
                    .map(|p| p.to)
                    .last();
                app.tickets.insert(order.id, Ticket { order, queued });
            }
            app.unacked.retain(|id| app.tickets.contains_key(id));
            if fresh {
                app.last_alert = Some(now);
                effects.push(Effect::Play(Sound::NewOrder));
            }
        }
        LinkEvent::Event(event) => match event.kind {
            EventKind::NewOrder | EventKind::OrderUpdate => {
                let Some(change) = event.order_event() else {
                    return;
                };
                let order = change.order;
                let id = order.id;
                let open = group(order.status) < KITCHEN_STATUSES.len();
                if event.kind == EventKind::NewOrder && !app.tickets.contains_key(&id) && open {
                    app.unacked.insert(id);
                    app.last_alert = Some(now);
                    effects.push(Effect::Play(Sound::NewOrder));
                }
                let ours = app
                    .pending
                    .values()
                    .any(|p| p.order_id == id && p.to == order.status);
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
                    app.tickets.insert(id, Ticket { order, queued });
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
            _ => {}
        },
        LinkEvent::Reply { id, result } => {
            let Some(p) = app.pending.remove(&id) else {
                return;
            };
            if let Some(t) = app.tickets.get_mut(&p.order_id)
                && t.queued == Some(p.to)
                && !app.pending.values().any(|q| q.order_id == p.order_id)
            {
                t.queued = None;
            }
            match result {
                Ok(ServerMsg::Order { .. }) | Ok(_) => {}
                // Sent before a disconnect and applied then: the order is already there.
                Err((ErrorCode::InvalidTransition, _))
                    if app
                        .tickets
                        .get(&p.order_id)
                        .is_some_and(|t| t.order.status == p.to) => {}
                Err((_, message)) => flash(app, format!("order #{}: {message}", p.number)),
            }
        }
        LinkEvent::Refused(reason) => flash(app, format!("refused: {reason}")),
        LinkEvent::Connecting { .. } | LinkEvent::Online(_) | LinkEvent::Offline { .. } => {}
    }
}

fn key(app: &mut App, action: Action, effects: &mut Vec<Effect>) {
    match app.overlay {
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
        Overlay::None => {}
    }
    let visible: Vec<i64> = app.visible().iter().map(|t| t.order.id).collect();
    let index = app
        .selected
        .and_then(|id| visible.iter().position(|v| *v == id));
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
            if let Some(id) = app.selected {
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
            Some((id, back_to)) => {
                let from = app
                    .tickets
                    .get(&id)
                    .map(|t| t.queued.unwrap_or(t.order.status));
                // A bumped-away pickup order is no longer on screen; it was delivered.
                let from = from.unwrap_or(Status::Delivered);
                request(app, id, from, back_to, true, effects);
            }
            None => flash(app, "nothing to recall"),
        },
        Action::Cancel => {
            if let Some(id) = app.selected {
                app.overlay = Overlay::ConfirmCancel(id);
            }
        }
        Action::AckAll => {
            app.unacked.clear();
        }
        Action::ToggleAllDay => app.all_day = !app.all_day,
        Action::Details => {
            if let Some(id) = app.selected {
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
        Action::Yes | Action::No | Action::Close => {}
    }
}

/// Moves a ticket to its next kitchen status.
fn bump(app: &mut App, id: i64, effects: &mut Vec<Effect>) {
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
    app.last_bump = Some((id, from));
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
    let req = app.next_request;
    app.next_request += 1;
    app.pending.insert(
        req,
        Pending {
            order_id: id,
            number,
            from,
            to,
            recall,
        },
    );
    if let Some(t) = app.tickets.get_mut(&id) {
        t.queued = Some(to);
    }
    effects.push(Effect::Send(Request {
        id: req,
        msg: ClientMsg::UpdateStatus {
            order_id: id,
            status: to,
            reason: None,
            recall,
        },
    }));
}

/// Keeps a ticket selected whenever there is one, at the place the old one had.
fn fix_selection(app: &mut App, was_at: Option<usize>) {
    if app.selected.is_some_and(|id| app.tickets.contains_key(&id)) {
        return;
    }
    let visible = app.visible();
    let at = was_at.unwrap_or(0).min(visible.len().saturating_sub(1));
    app.selected = visible.get(at).map(|t| t.order.id);
}
