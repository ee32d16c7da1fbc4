//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the kitchen display's state,
//! as a pure function. The main loop carries out the effects (send, play, quit).

use chit_protocol::{Analytics, ClientMsg, ErrorCode, EventKind, ServerMsg, Status};

use super::app::{App, KITCHEN_STATUSES, Overlay, Pending, Ticket, group};
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
                app.tickets.insert(order.id, Ticket::new(order, queued));
            }
            app.unacked.retain(|id| app.tickets.contains_key(id));
            if fresh {
                app.last_alert = Some(now);
                effects.push(Effect::Play(Sound::NewOrder));
            }
        }
        Update::Event(event) => match event.kind {
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
                    app.tickets.insert(id, Ticket::new(order, queued));
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
        Update::Reply { id, result } => {
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
                Err(ServerError {
                    code: ErrorCode::InvalidTransition,
                    ..
                }) if app
                    .tickets
                    .get(&p.order_id)
                    .is_some_and(|t| t.order.status == p.to) => {}
                Err(e) => flash(app, format!("order #{}: {}", p.number, e.message)),
            }
        }
        Update::State(LinkState::Refused { refusal, .. }) => {
            flash(app, format!("refused: {refusal}"));
        }
        Update::State(_) | Update::Resumed { .. } | Update::Stopped(_) => {}
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
        Action::Chat => app.chat.toggle(),
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
            force: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::app::Settings;
    use chit_protocol::{
        Customer, Event, Fulfilment, Item, Order, OrderEvent, Welcome, format_time,
    };
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
        Msg::Link(crate::conn::fixtures::online(Welcome {
            session: 1,
            role: chit_protocol::Role::Kitchen,
            server: "test".into(),
            protocol: 1,
            heartbeat: 30,
            name: "kitchen r1".into(),
            restaurant: Some("r1".into()),
            rider: None,
            customer: None,
        }))
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
