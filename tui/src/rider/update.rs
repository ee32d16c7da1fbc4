//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the rider console's state,
//! as a pure function. The main loop carries out the effects (send, play, quit). The
//! server decides who may do what; the console only avoids asking for what the status
//! machine already rules out, and says why.

use chit_protocol::{ClientMsg, ErrorCode, EventKind, OrderEvent, Role, Status};

use super::app::{Act, App, Overlay, Pane, Pending, is_offer};
pub use crate::display::Effect;
use crate::link::{LinkEvent, Request};
use crate::sound::Sound;

/// How long a flash message stays up.
const FLASH_MS: i64 = 6_000;

// Built, matched and dropped within one loop turn; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A second passed; carries the time.
    Tick(i64),
    Key(Action),
    Link(LinkEvent),
}

/// What a key asks for (see keymap.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    /// Focus the other list.
    Switch,
    /// Enter: claim the selected offer, or show the selected delivery.
    Select,
    PickUp,
    Deliver,
    Release,
    Details,
    Yes,
    No,
    Mute,
    Help,
    Quit,
    Close,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    let was_at = (
        position(&app.mine_ids(), app.selected_mine),
        position(&app.offer_ids(), app.selected_offer),
    );
    match msg {
        Msg::Tick(now) => {
            app.now = now;
            if app.flash.as_ref().is_some_and(|(_, until)| *until <= now) {
                app.flash = None;
            }
        }
        Msg::Link(event) => link(app, event, &mut effects),
        Msg::Key(action) => key(app, action, &mut effects),
    }
    fix_selection(app, was_at);
    effects
}

impl App {
    fn mine_ids(&self) -> Vec<i64> {
        self.mine().iter().map(|o| o.id).collect()
    }

    fn offer_ids(&self) -> Vec<i64> {
        self.offers().iter().map(|o| o.id).collect()
    }
}

fn position(ids: &[i64], selected: Option<i64>) -> Option<usize> {
    selected.and_then(|s| ids.iter().position(|id| *id == s))
}

fn flash(app: &mut App, text: impl Into<String>) {
    app.flash = Some((text.into(), app.now + FLASH_MS));
}

fn link(app: &mut App, event: LinkEvent, effects: &mut Vec<Effect>) {
    if app.conn.apply(&event, app.now) {
        flash(app, "back online: the console is up to date");
    }
    match event {
        LinkEvent::Online(welcome) => app.admin = welcome.role == Role::Admin,
        LinkEvent::Snapshot { orders, head } => {
            let first = !app.loaded;
            app.loaded = true;
            app.floor = head;
            app.order_seq.clear();
            let before = std::mem::take(&mut app.orders);
            let mut fresh = false;
            for order in orders {
                if !app.wants(&order) {
                    continue;
                }
                if is_offer(&order) && app.offered.insert(order.id) {
                    fresh = true;
                }
                if !first && app.is_mine(&order) && !before.contains_key(&order.id) {
                    flash(app, format!("order #{} is yours now", order.number));
                    fresh = true;
                }
                app.orders.insert(order.id, order);
            }
            if fresh {
                effects.push(Effect::Play(Sound::NewOrder));
            }
        }
        LinkEvent::Event(event) => {
            if !matches!(event.kind, EventKind::NewOrder | EventKind::OrderUpdate) {
                return;
            }
            let Some(change) = event.order_event() else {
                return;
            };
            if let Some(seq) = event.seq {
                let id = change.order.id;
                if seq <= app.floor || app.order_seq.get(&id).is_some_and(|s| seq <= *s) {
                    return;
                }
                app.order_seq.insert(id, seq);
            }
            apply(app, change, effects);
        }
        LinkEvent::Reply { id, result } => {
            let Some(p) = app.pending.remove(&id) else {
                return;
            };
            match result {
                Ok(_) => answered(app, &p),
                Err((ErrorCode::Conflict, _)) if p.act == Act::Claim => {
                    // Another rider was first; the offer is theirs, whatever we still show.
                    if app.orders.get(&p.order_id).is_some_and(is_offer) {
                        app.orders.remove(&p.order_id);
                    }
                    flash(
                        app,
                        format!("too late: #{} went to another rider", p.number),
                    );
                }
                Err(_) if done_already(app, &p) => {}
                Err((_, message)) => flash(app, format!("#{}: {message}", p.number)),
            }
        }
        LinkEvent::Refused(reason) => flash(app, format!("refused: {reason}")),
        LinkEvent::Connecting { .. } | LinkEvent::Offline { .. } => {}
    }
}

/// Takes in an order as it now is: keeps it, moves it between the lists or drops it,
/// and tells the rider what concerns them.
fn apply(app: &mut App, change: OrderEvent, effects: &mut Vec<Effect>) {
    let order = change.order;
    let id = order.id;
    let before = app.orders.get(&id);
    let was_mine = before.is_some_and(|o| app.is_mine(o));
    let was_ready = before.is_some_and(|o| o.status == Status::Ready);
    let asked = |act: Act| {
        app.pending
            .values()
            .any(|p| p.order_id == id && p.act == act)
    };
    let claiming = asked(Act::Claim);
    let releasing = asked(Act::Release);
    let now_mine = app.is_mine(&order);
    let taken = before.is_some_and(is_offer) && !is_offer(&order) && !now_mine && !claiming;
    if taken && app.pane == Pane::Offers && app.selected_offer == Some(id) {
        let what = match &order.rider {
            Some(_) => "went to another rider".to_string(),
            None => format!("was {}", status_word(order.status)),
        };
        flash(app, format!("#{} {what}", order.number));
    }
    if is_offer(&order) && app.offered.insert(id) {
        effects.push(Effect::Play(Sound::NewOrder));
    }
    if now_mine && !was_mine && !claiming {
        flash(app, format!("order #{} was assigned to you", order.number));
        effects.push(Effect::Play(Sound::NewOrder));
    } else if now_mine && was_mine && order.status == Status::Ready && !was_ready {
        flash(
            app,
            format!("#{} is ready: go and pick it up", order.number),
        );
        effects.push(Effect::Play(Sound::NewOrder));
    } else if was_mine && !now_mine {
        let why = change
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        match order.status {
            Status::Delivered => {}
            Status::Cancelled | Status::Rejected => {
                flash(app, format!("#{} was {}{why}", order.number, order.status));
                effects.push(Effect::Play(Sound::Cancelled));
            }
            _ if order.rider.is_none() && releasing => {}
            _ => {
                let to = match &order.rider {
                    Some(r) => format!("given to {r}"),
                    None => "taken back to the offers".into(),
                };
                flash(app, format!("#{} was {to}", order.number));
                effects.push(Effect::Play(Sound::Cancelled));
            }
        }
    }
    if app.wants(&order) {
        app.orders.insert(id, order);
    } else {
        app.orders.remove(&id);
    }
    if app.pane == Pane::Mine && app.mine().is_empty() {
        app.pane = Pane::Offers;
    }
}

/// The server said yes.
fn answered(app: &mut App, p: &Pending) {
    let n = p.number;
    match p.act {
        Act::Claim => {
            if app.orders.get(&p.order_id).is_some_and(|o| app.is_mine(o)) {
                app.selected_mine = Some(p.order_id);
                app.pane = Pane::Mine;
            }
            flash(app, format!("#{n} is yours · p when picked up"));
        }
        Act::PickUp => flash(app, format!("#{n} picked up · d when delivered")),
        Act::Deliver => flash(app, format!("#{n} delivered ✓")),
        Act::Release => flash(app, format!("#{n} released to the other riders")),
    }
}

/// Whether a refusal only says that this was already done: a request sent just before
/// the connection dropped may have been applied, and is sent again after reconnecting.
fn done_already(app: &App, p: &Pending) -> bool {
    let order = app.orders.get(&p.order_id);
    match p.act {
        Act::Claim => order.is_some_and(|o| app.is_mine(o)),
        Act::PickUp => order.is_some_and(|o| o.status == Status::PickedUp),
        // Delivered orders leave the list.
        Act::Deliver => order.is_none() && app.order_seq.contains_key(&p.order_id),
        Act::Release => order.is_none_or(|o| !app.is_mine(o)),
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
                    | Action::Select
                    | Action::Quit
                    | Action::No
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
        Overlay::ConfirmRelease(id) => {
            match action {
                Action::Yes => {
                    app.overlay = Overlay::None;
                    request(app, id, Act::Release, effects);
                }
                Action::No | Action::Close | Action::Release => app.overlay = Overlay::None,
                _ => {}
            }
            return;
        }
        Overlay::None => {}
    }
    match action {
        Action::Up | Action::Down => step(app, action == Action::Up),
        Action::Switch => {
            app.pane = match app.pane {
                Pane::Mine => Pane::Offers,
                Pane::Offers => Pane::Mine,
            }
        }
        Action::Select => match app.pane {
            Pane::Offers => claim(app, effects),
            Pane::Mine => {
                if let Some(id) = app.selected_mine {
                    app.overlay = Overlay::Details(id);
                }
            }
        },
        Action::PickUp | Action::Deliver | Action::Release => mine_act(app, action, effects),
        Action::Details => {
            let selected = match app.pane {
                Pane::Mine => app.selected_mine,
                Pane::Offers => app.selected_offer,
            };
            if let Some(id) = selected {
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
        Action::Quit => {
            if app.pending.is_empty() {
                effects.push(Effect::Quit);
            } else {
                app.overlay = Overlay::ConfirmQuit;
            }
        }
        Action::Yes | Action::No | Action::Close => {}
    }
}

/// Moves the selection one row; past the end of one list it goes on into the other
/// (my deliveries sit above the offers).
fn step(app: &mut App, up: bool) {
    let mine = app.mine_ids();
    let offers = app.offer_ids();
    match app.pane {
        Pane::Mine => {
            let at = position(&mine, app.selected_mine);
            match (at, up) {
                (Some(i), true) => app.selected_mine = Some(mine[i.saturating_sub(1)]),
                (Some(i), false) if i + 1 < mine.len() => app.selected_mine = Some(mine[i + 1]),
                _ if !up && !offers.is_empty() => {
                    app.pane = Pane::Offers;
                    app.selected_offer = offers.first().copied();
                }
                _ => {}
            }
        }
        Pane::Offers => {
            let at = position(&offers, app.selected_offer);
            match (at, up) {
                (Some(i), false) => {
                    app.selected_offer = Some(offers[(i + 1).min(offers.len() - 1)])
                }
                (Some(i), true) if i > 0 => app.selected_offer = Some(offers[i - 1]),
                _ if up && !mine.is_empty() => {
                    app.pane = Pane::Mine;
                    app.selected_mine = mine.last().copied();
                }
                _ => {}
            }
        }
    }
}

fn claim(app: &mut App, effects: &mut Vec<Effect>) {
    let Some(id) = app.selected_offer else {
        flash(app, "no offer to claim right now");
        return;
    };
    if app.pending_for(id).is_some_and(|p| p.act == Act::Claim) {
        return;
    }
    request(app, id, Act::Claim, effects);
}

/// `p`, `d` or `r` on the selected delivery.
fn mine_act(app: &mut App, action: Action, effects: &mut Vec<Effect>) {
    app.pane = Pane::Mine;
    let Some(order) = app.selected_mine.and_then(|id| app.orders.get(&id)) else {
        flash(app, "nothing claimed yet: select an offer and press Enter");
        return;
    };
    let (id, n) = (order.id, order.number);
    let status = app.expected_status(order);
    let fulfilment = order.fulfilment;
    let refusal = match action {
        Action::PickUp if status == Status::PickedUp => Some(format!("#{n} is already picked up")),
        Action::PickUp if !status.can_become(Status::PickedUp, fulfilment) => Some(format!(
            "#{n} is {}: p once the kitchen has it ready",
            status_word(status)
        )),
        Action::Deliver if status == Status::Ready => {
            Some(format!("#{n}: mark it picked up first (p)"))
        }
        Action::Deliver if !status.can_become(Status::Delivered, fulfilment) => Some(format!(
            "#{n} is {}: d once it is picked up",
            status_word(status)
        )),
        Action::Release if status == Status::PickedUp => {
            Some(format!("#{n} is picked up: it can no longer be released"))
        }
        _ => None,
    };
    if let Some(text) = refusal {
        flash(app, text);
        return;
    }
    match action {
        Action::PickUp => request(app, id, Act::PickUp, effects),
        Action::Deliver => request(app, id, Act::Deliver, effects),
        _ => app.overlay = Overlay::ConfirmRelease(id),
    }
}

fn status_word(status: Status) -> String {
    status.as_str().replace('_', " ")
}

fn request(app: &mut App, order_id: i64, act: Act, effects: &mut Vec<Effect>) {
    let number = app.orders.get(&order_id).map(|o| o.number).unwrap_or(0);
    let msg = match act {
        // An admin cannot claim; it hands the order to the rider it runs as.
        Act::Claim if app.admin => ClientMsg::AssignOrder {
            order_id,
            rider: app.rider.clone(),
        },
        Act::Claim => ClientMsg::ClaimOrder { order_id },
        Act::Release => ClientMsg::ReleaseOrder { order_id },
        Act::PickUp | Act::Deliver => ClientMsg::UpdateStatus {
            order_id,
            status: act.target().expect("a status change"),
            reason: None,
            recall: false,
        },
    };
    let id = app.next_request;
    app.next_request += 1;
    app.pending.insert(
        id,
        Pending {
            order_id,
            number,
            act,
        },
    );
    effects.push(Effect::Send(Request { id, msg }));
}

/// Keeps an item selected in each non-empty list, at the place the old one had.
fn fix_selection(app: &mut App, (mine_at, offer_at): (Option<usize>, Option<usize>)) {
    let mine = app.mine_ids();
    if !app.selected_mine.is_some_and(|id| mine.contains(&id)) {
        let at = mine_at.unwrap_or(0).min(mine.len().saturating_sub(1));
        app.selected_mine = mine.get(at).copied();
    }
    let offers = app.offer_ids();
    if !app.selected_offer.is_some_and(|id| offers.contains(&id)) {
        let at = offer_at.unwrap_or(0).min(offers.len().saturating_sub(1));
        app.selected_offer = offers.get(at).copied();
    }
}
