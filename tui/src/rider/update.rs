//! `update(&mut App, Msg) -> Vec<Effect>`: every change to the rider console's state,
//! as a pure function. The main loop carries out the effects (send, play, quit). The
//! server decides who may do what; the console only avoids asking for what the status
//! machine already rules out, and says why.

use chit_protocol::{ClientMsg, ErrorCode, EventKind, OrderEvent, Role, ServerMsg, Status};

use super::app::{Act, App, Overlay, Pane, Pending, is_offer, label};
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
    /// Open or close the chat pane of the selected delivery.
    Chat,
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
            app.chat.tick(now);
        }
        Msg::ChatKey(key) => {
            let now = app.now;
            effects.extend(app.chat.key(key, now));
        }
        Msg::Link(event) => {
            if !chat_link(app, &event, &mut effects) {
                link(app, event, &mut effects);
            }
        }
        Msg::Key(action) => key(app, action, &mut effects),
    }
    fix_selection(app, was_at);
    follow_chat(app, &mut effects);
    effects
}

/// Gives the chat pane what is its own; returns true if the event was only for it.
fn chat_link(app: &mut App, event: &Update, effects: &mut Vec<Effect>) -> bool {
    match event {
        Update::State(LinkState::Online { welcome, .. }) => {
            effects.extend(app.chat.online(&welcome.name));
            false
        }
        Update::State(LinkState::Reconnecting { .. }) => {
            app.chat.offline();
            false
        }
        Update::Event(e) => match e.kind {
            EventKind::ChatMessage | EventKind::Typing | EventKind::Presence => {
                effects.extend(app.chat.event(e, app.now));
                true
            }
            // Order updates reach the order's room too; the riders rooms carry them.
            _ => e.room.starts_with("order:"),
        },
        Update::Reply { id, result } => app.chat.reply(*id, result),
        _ => false,
    }
}

/// The chat pane follows the selected delivery's order room: joins it when the
/// selection changes and leaves the old one.
fn follow_chat(app: &mut App, effects: &mut Vec<Effect>) {
    let wanted = app.selected_mine.map(|id| format!("order:{id}"));
    if wanted == app.chat.room {
        return;
    }
    if let Some(room) = app.chat.room.clone() {
        let id = app.chat.request_id();
        effects.push(Effect::Send(Request {
            id,
            msg: ClientMsg::Unsubscribe { room },
        }));
    }
    if let Some(room) = wanted.clone() {
        let id = app.chat.request_id();
        effects.push(Effect::Send(Request {
            id,
            msg: ClientMsg::Subscribe {
                room,
                since: None,
                epoch: None,
            },
        }));
    }
    effects.extend(app.chat.set_room(wanted));
}

fn position(ids: &[i64], selected: Option<i64>) -> Option<usize> {
    selected.and_then(|s| ids.iter().position(|id| *id == s))
}

fn flash(app: &mut App, text: impl Into<String>) {
    app.flash = Some((text.into(), app.now + FLASH_MS));
}

fn link(app: &mut App, event: Update, effects: &mut Vec<Effect>) {
    if app.conn.apply(&event, app.now) {
        flash(app, "back online: the console is up to date");
    }
    match event {
        Update::State(LinkState::Online { welcome, .. }) => app.admin = welcome.role == Role::Admin,
        Update::Snapshot { orders, head } => {
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
                if app.seen.insert(order.id) && is_offer(&order) {
                    fresh = true;
                }
                if !first && app.is_mine(&order) && !before.contains_key(&order.id) {
                    flash(app, format!("{} is yours now", label(&order)));
                    fresh = true;
                }
                app.orders.insert(order.id, order);
            }
            if fresh {
                effects.push(Effect::Play(Sound::NewOrder));
            }
        }
        Update::Event(event) => {
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
        Update::Reply { id, result } => {
            let Some(p) = app.pending.get(&id).cloned() else {
                return;
            };
            // A reply may overtake the events of the same change: take the order from
            // it while the request still counts as ours, so nothing is announced.
            if let Ok(ServerMsg::Order { order, .. }) = &result
                && order.id == p.order_id
                && !done_already(app, &p)
            {
                let change = OrderEvent {
                    order: order.clone(),
                    previous: None,
                    reason: None,
                };
                apply(app, change, effects);
            }
            app.pending.remove(&id);
            match result {
                Ok(_) => answered(app, &p),
                Err(ServerError {
                    code: ErrorCode::Conflict,
                    ..
                }) if p.act == Act::Claim => {
                    // Another rider was first; the offer is theirs, whatever we still show.
                    if app.orders.get(&p.order_id).is_some_and(is_offer) {
                        app.orders.remove(&p.order_id);
                    }
                    flash(app, format!("too late: {} went to another rider", p.label));
                }
                Err(_) if done_already(app, &p) => {}
                Err(e) => flash(app, format!("{}: {}", p.label, e.message)),
            }
        }
        Update::State(LinkState::Refused { refusal, .. }) => {
            flash(app, format!("refused: {refusal}"));
        }
        Update::State(_) | Update::Resumed { .. } | Update::Stopped(_) => {}
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
        flash(app, format!("{} {what}", label(&order)));
    }
    if app.wants(&order) && app.seen.insert(id) && is_offer(&order) {
        effects.push(Effect::Play(Sound::NewOrder));
    }
    if now_mine && !was_mine && !claiming {
        flash(app, format!("{} was assigned to you", label(&order)));
        effects.push(Effect::Play(Sound::NewOrder));
    } else if now_mine && was_mine && order.status == Status::Ready && !was_ready {
        flash(
            app,
            format!("{} is ready: go and pick it up", label(&order)),
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
                flash(app, format!("{} was {}{why}", label(&order), order.status));
                effects.push(Effect::Play(Sound::Cancelled));
            }
            _ if order.rider.is_none() && releasing => {}
            _ => {
                let to = match &order.rider {
                    Some(r) => format!("given to {r}"),
                    None => "taken back to the offers".into(),
                };
                flash(app, format!("{} was {to}", label(&order)));
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
    let n = &p.label;
    match p.act {
        Act::Claim => {
            if app.orders.get(&p.order_id).is_some_and(|o| app.is_mine(o)) {
                app.selected_mine = Some(p.order_id);
                app.pane = Pane::Mine;
            }
            flash(app, format!("{n} is yours · p when picked up"));
        }
        Act::PickUp => flash(app, format!("{n} picked up · d when delivered")),
        Act::Deliver => flash(app, format!("{n} delivered ✓")),
        Act::Release => flash(app, format!("{n} released to the other riders")),
    }
}

/// Whether a refusal only says that this was already done: a request sent just before
/// the connection dropped may have been applied, and is sent again after reconnecting.
fn done_already(app: &App, p: &Pending) -> bool {
    let order = app.orders.get(&p.order_id);
    match p.act {
        Act::Claim => order.is_some_and(|o| app.is_mine(o)),
        Act::PickUp => order.is_some_and(|o| o.status == Status::PickedUp),
        // Delivered orders leave the list (and so do cancelled ones, already announced).
        Act::Deliver => order.is_none(),
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
                // q or Ctrl-C twice means it.
                Action::Yes | Action::Quit => effects.push(Effect::Quit),
                Action::No | Action::Close => app.overlay = Overlay::None,
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
        Action::Chat => app.chat.toggle(),
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
    let (id, n) = (order.id, label(order));
    let status = app.expected_status(order);
    let fulfilment = order.fulfilment;
    let refusal = match action {
        Action::PickUp if status == Status::PickedUp => Some(format!("{n} is already picked up")),
        Action::PickUp if !status.can_become(Status::PickedUp, fulfilment) => Some(format!(
            "{n} is {}: p once the kitchen has it ready",
            status_word(status)
        )),
        Action::Deliver if status == Status::Ready => {
            Some(format!("{n}: mark it picked up first (p)"))
        }
        Action::Deliver if !status.can_become(Status::Delivered, fulfilment) => Some(format!(
            "{n} is {}: d once it is picked up",
            status_word(status)
        )),
        Action::Release if status == Status::PickedUp => {
            Some(format!("{n} is picked up: it can no longer be released"))
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
    let name = app
        .orders
        .get(&order_id)
        .map(label)
        .unwrap_or_else(|| format!("order {order_id}"));
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
            force: false,
        },
    };
    let id = app.next_request;
    app.next_request += 1;
    app.pending.insert(
        id,
        Pending {
            order_id,
            label: name,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Conn;
    use chit_protocol::{
        Customer, Event, Fulfilment, Item, Order, ServerMsg, Welcome, format_time,
    };

    const NOW: i64 = 1_800_000_000_000;

    fn order(id: i64, status: Status, rider: Option<&str>) -> Order {
        Order {
            id,
            number: id as u32,
            restaurant: "r1".into(),
            customer: Customer {
                id: "0812345678".into(),
                name: "Ann".into(),
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
            fulfilment: Fulfilment::Delivery,
            status,
            rider: rider.map(str::to_string),
            // Lower ids are older.
            created_at: format_time(NOW - 600_000 + id * 1000),
            updated_at: format_time(NOW),
            ..Default::default()
        }
    }

    fn pickup(id: i64, status: Status) -> Order {
        Order {
            fulfilment: Fulfilment::Pickup,
            ..order(id, status, None)
        }
    }

    fn event(seq: u64, room: &str, order: Order) -> Msg {
        Msg::Link(Update::Event(Event {
            room: room.into(),
            seq: Some(seq),
            kind: EventKind::OrderUpdate,
            at: format_time(NOW),
            data: serde_json::to_value(OrderEvent {
                order,
                previous: None,
                reason: None,
            })
            .unwrap(),
        }))
    }

    fn welcome(role: Role) -> Msg {
        Msg::Link(crate::conn::fixtures::online(Welcome {
            session: 1,
            role,
            server: "chit-server".into(),
            protocol: 1,
            heartbeat: 30,
            name: "bo".into(),
            restaurant: None,
            rider: (role == Role::Rider).then(|| "bo".into()),
            customer: None,
            epoch: None,
        }))
    }

    fn snapshot(orders: Vec<Order>, head: u64) -> Msg {
        Msg::Link(Update::Snapshot { orders, head })
    }

    fn reply(id: u64, result: Result<Order, (ErrorCode, &str)>) -> Msg {
        Msg::Link(Update::Reply {
            id,
            result: result
                .map(|order| ServerMsg::Order {
                    order,
                    duplicate: None,
                })
                .map_err(|(code, m)| ServerError {
                    code,
                    message: m.to_string(),
                }),
        })
    }

    /// A rider `bo`, online, with `orders` loaded at seq 10.
    fn app(orders: Vec<Order>) -> App {
        let mut app = App::new("bo", true, NOW);
        update(&mut app, welcome(Role::Rider));
        update(&mut app, snapshot(orders, 10));
        app
    }

    fn ids(orders: Vec<&Order>) -> Vec<i64> {
        orders.iter().map(|o| o.id).collect()
    }

    /// The update under test, without the chat pane's own requests (joining the
    /// selected delivery's room), which the chat tests cover.
    fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
        super::update(app, msg)
            .into_iter()
            .filter(|e| !matches!(e, Effect::Send(r) if r.id >= crate::chat::CHAT_REQUEST_IDS))
            .collect()
    }

    fn sent(effects: &[Effect]) -> Vec<ClientMsg> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(r) => Some(r.msg.clone()),
                _ => None,
            })
            .collect()
    }

    fn flash_text(app: &App) -> &str {
        app.flash.as_ref().map_or("", |(t, _)| t.as_str())
    }

    #[test]
    fn keeps_offers_and_own_orders_and_drops_the_rest() {
        // An admin's snapshot holds everything open; a rider keeps what concerns them.
        let mut app = App::new("bo", true, NOW);
        update(&mut app, welcome(Role::Admin));
        update(
            &mut app,
            snapshot(
                vec![
                    order(1, Status::Pending, None),
                    order(2, Status::Confirmed, None),
                    order(3, Status::Preparing, None),
                    order(4, Status::Ready, None),
                    order(5, Status::Ready, Some("al")),
                    order(6, Status::PickedUp, Some("bo")),
                    order(7, Status::Confirmed, Some("bo")),
                    pickup(8, Status::Ready),
                    order(9, Status::Delivered, Some("bo")),
                ],
                10,
            ),
        );
        assert!(app.admin);
        assert_eq!(ids(app.offers()), [4, 3], "ready first, then upcoming");
        assert_eq!(ids(app.mine()), [6, 7]);
        assert_eq!(app.orders.len(), 4);
    }

    #[test]
    fn offers_are_ready_first_then_upcoming_each_oldest_first() {
        let app = app(vec![
            order(4, Status::Preparing, None),
            order(3, Status::Ready, None),
            order(2, Status::Preparing, None),
            order(1, Status::Ready, None),
        ]);
        assert_eq!(ids(app.offers()), [1, 3, 2, 4]);
        assert_eq!(app.selected_offer, Some(1));
    }

    #[test]
    fn a_new_offer_beeps_once() {
        let mut app = app(vec![]);
        let beep = Effect::Play(Sound::NewOrder);
        let steps: Vec<(Msg, bool, &str)> = vec![
            (
                event(11, "riders", order(1, Status::Preparing, None)),
                true,
                "first offered",
            ),
            (
                event(12, "riders", order(1, Status::Ready, None)),
                false,
                "upcoming turns ready",
            ),
            (
                event(13, "riders", order(1, Status::Ready, Some("al"))),
                false,
                "claimed by al",
            ),
            (
                event(14, "riders", order(1, Status::Ready, None)),
                false,
                "released again",
            ),
            (
                event(15, "riders", order(2, Status::Ready, None)),
                true,
                "another",
            ),
            (
                event(16, "riders", pickup(3, Status::Ready)),
                false,
                "pickup orders are no offers",
            ),
        ];
        for (msg, beeps, what) in steps {
            let effects = update(&mut app, msg);
            assert_eq!(effects.contains(&beep), beeps, "{what}");
        }
        assert_eq!(ids(app.offers()), [1, 2]);
    }

    #[test]
    fn the_first_snapshot_beeps_when_something_is_on_offer() {
        let mut app = App::new("bo", true, NOW);
        let effects = update(&mut app, snapshot(vec![order(1, Status::Ready, None)], 10));
        assert_eq!(effects, [Effect::Play(Sound::NewOrder)]);
        let effects = update(&mut app, snapshot(vec![order(1, Status::Ready, None)], 12));
        assert!(effects.is_empty(), "a reload shows nothing new");
    }

    #[test]
    fn enter_claims_the_selected_offer_and_the_winner_sees_it_in_my_deliveries() {
        let mut app = app(vec![
            order(1, Status::Ready, None),
            order(2, Status::Ready, None),
        ]);
        update(&mut app, Msg::Key(Action::Down));
        let effects = update(&mut app, Msg::Key(Action::Select));
        assert_eq!(sent(&effects), [ClientMsg::ClaimOrder { order_id: 2 }]);
        assert_eq!(app.pending_for(2).map(|p| p.act), Some(Act::Claim));
        // A second Enter while waiting does not ask again.
        assert!(sent(&update(&mut app, Msg::Key(Action::Select))).is_empty());
        // The server publishes the claim, then answers.
        let effects = update(
            &mut app,
            event(11, "rider:bo", order(2, Status::Ready, Some("bo"))),
        );
        assert!(effects.is_empty(), "our own claim is no surprise");
        update(&mut app, reply(1, Ok(order(2, Status::Ready, Some("bo")))));
        assert_eq!(ids(app.mine()), [2]);
        assert_eq!(ids(app.offers()), [1]);
        assert_eq!((app.pane, app.selected_mine), (Pane::Mine, Some(2)));
        assert!(
            flash_text(&app).contains("r1 #2 is yours"),
            "{}",
            flash_text(&app)
        );
    }

    #[test]
    fn a_reply_that_overtakes_its_events_is_taken_in_quietly() {
        let mut app = app(vec![order(1, Status::Ready, None)]);
        update(&mut app, Msg::Key(Action::Select));
        let effects = update(&mut app, reply(1, Ok(order(1, Status::Ready, Some("bo")))));
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!((app.pane, app.selected_mine), (Pane::Mine, Some(1)));
        assert_eq!(flash_text(&app), "r1 #1 is yours · p when picked up");
        // The claim's events, arriving after, change nothing and announce nothing.
        for (seq, room) in [(11, "riders"), (12, "rider:bo")] {
            let effects = update(
                &mut app,
                event(seq, room, order(1, Status::Ready, Some("bo"))),
            );
            assert!(effects.is_empty(), "{effects:?}");
        }
        assert_eq!(flash_text(&app), "r1 #1 is yours · p when picked up");
        update(&mut app, Msg::Key(Action::PickUp));
        update(
            &mut app,
            reply(2, Ok(order(1, Status::PickedUp, Some("bo")))),
        );
        assert_eq!(app.orders[&1].status, Status::PickedUp);
        update(&mut app, Msg::Key(Action::Deliver));
        update(
            &mut app,
            reply(3, Ok(order(1, Status::Delivered, Some("bo")))),
        );
        assert!(app.orders.is_empty());
        assert_eq!(flash_text(&app), "r1 #1 delivered ✓");
    }

    #[test]
    fn an_admin_claims_by_assigning_to_the_rider_it_runs_as() {
        let mut app = App::new("bo", true, NOW);
        update(&mut app, welcome(Role::Admin));
        update(&mut app, snapshot(vec![order(1, Status::Ready, None)], 10));
        let effects = update(&mut app, Msg::Key(Action::Select));
        assert_eq!(
            sent(&effects),
            [ClientMsg::AssignOrder {
                order_id: 1,
                rider: "bo".into()
            }]
        );
    }

    #[test]
    fn a_lost_race_flashes_and_the_offer_disappears() {
        let mut app = app(vec![
            order(1, Status::Ready, None),
            order(2, Status::Ready, None),
        ]);
        update(&mut app, Msg::Key(Action::Select));
        update(
            &mut app,
            reply(1, Err((ErrorCode::Conflict, "order 1 was already claimed"))),
        );
        assert_eq!(ids(app.offers()), [2]);
        assert_eq!(app.selected_offer, Some(2));
        assert!(app.mine().is_empty());
        assert!(flash_text(&app).contains("r1 #1 went to another rider"));
        assert!(app.pending.is_empty());
        // The winner's event, arriving after, changes nothing more.
        update(
            &mut app,
            event(11, "riders", order(1, Status::Ready, Some("al"))),
        );
        assert_eq!(ids(app.offers()), [2]);
    }

    #[test]
    fn an_offer_taken_under_the_cursor_says_so() {
        let mut app = app(vec![
            order(1, Status::Ready, None),
            order(2, Status::Ready, None),
        ]);
        update(
            &mut app,
            event(11, "riders", order(1, Status::Ready, Some("al"))),
        );
        assert_eq!(flash_text(&app), "r1 #1 went to another rider");
        update(
            &mut app,
            event(12, "riders", order(2, Status::Cancelled, None)),
        );
        assert_eq!(flash_text(&app), "r1 #2 was cancelled");
        assert!(app.offers().is_empty());
    }

    /// `p`, `d` and `r` on a delivery in each status: what is sent, or why not.
    #[test]
    fn delivery_keys_follow_the_status_machine() {
        use Status::*;
        let table: &[(Status, Action, Option<ClientMsg>, &str)] = &[
            (
                Preparing,
                Action::PickUp,
                None,
                "is preparing: p once the kitchen has it ready",
            ),
            (Confirmed, Action::PickUp, None, "is confirmed: p once"),
            (
                Ready,
                Action::PickUp,
                Some(ClientMsg::UpdateStatus {
                    order_id: 1,
                    status: PickedUp,
                    reason: None,
                    recall: false,
                    force: false,
                }),
                "",
            ),
            (PickedUp, Action::PickUp, None, "already picked up"),
            (Ready, Action::Deliver, None, "mark it picked up first (p)"),
            (Preparing, Action::Deliver, None, "d once it is picked up"),
            (
                PickedUp,
                Action::Deliver,
                Some(ClientMsg::UpdateStatus {
                    order_id: 1,
                    status: Delivered,
                    reason: None,
                    recall: false,
                    force: false,
                }),
                "",
            ),
            (PickedUp, Action::Release, None, "can no longer be released"),
        ];
        for (status, action, expected, says) in table {
            let mut app = app(vec![order(1, *status, Some("bo"))]);
            let effects = update(&mut app, Msg::Key(*action));
            assert_eq!(
                sent(&effects),
                expected.iter().cloned().collect::<Vec<_>>(),
                "{action:?} on {status}"
            );
            assert!(
                flash_text(&app).contains(says),
                "{action:?} on {status}: {}",
                flash_text(&app)
            );
            assert_eq!(app.pane, Pane::Mine, "p, d and r act on my deliveries");
        }
    }

    #[test]
    fn release_asks_first() {
        let mut app = app(vec![order(1, Status::Ready, Some("bo"))]);
        assert!(update(&mut app, Msg::Key(Action::Release)).is_empty());
        assert_eq!(app.overlay, Overlay::ConfirmRelease(1));
        update(&mut app, Msg::Key(Action::No));
        assert_eq!(app.overlay, Overlay::None);
        update(&mut app, Msg::Key(Action::Release));
        let effects = update(&mut app, Msg::Key(Action::Yes));
        assert_eq!(sent(&effects), [ClientMsg::ReleaseOrder { order_id: 1 }]);
        // Released: back among the offers, with no alarm for what we asked for.
        let effects = update(&mut app, event(11, "riders", order(1, Status::Ready, None)));
        assert!(effects.is_empty(), "{effects:?}");
        update(&mut app, reply(1, Ok(order(1, Status::Ready, None))));
        assert_eq!(ids(app.offers()), [1]);
        assert!(app.mine().is_empty());
        assert_eq!(app.pane, Pane::Offers, "nothing left in my deliveries");
    }

    #[test]
    fn pick_up_and_deliver_queue_back_to_back_while_offline() {
        let mut app = app(vec![order(1, Status::Ready, Some("bo"))]);
        update(
            &mut app,
            Msg::Link(crate::conn::fixtures::offline(
                std::time::Duration::from_secs(2),
            )),
        );
        let p = update(&mut app, Msg::Key(Action::PickUp));
        let d = update(&mut app, Msg::Key(Action::Deliver));
        assert_eq!(
            sent(&p).len() + sent(&d).len(),
            2,
            "d counts on the queued p"
        );
        assert_eq!(app.pending.len(), 2);
        assert_eq!(app.expected_status(&app.orders[&1]), Status::Delivered);
        // q with changes unsent asks first.
        assert!(update(&mut app, Msg::Key(Action::Quit)).is_empty());
        assert_eq!(app.overlay, Overlay::ConfirmQuit);
        update(&mut app, Msg::Key(Action::No));
        assert_eq!(app.overlay, Overlay::None);
        update(&mut app, Msg::Key(Action::Quit));
        assert_eq!(update(&mut app, Msg::Key(Action::Quit)), [Effect::Quit]);
    }

    #[test]
    fn a_change_resent_after_reconnecting_is_not_an_error_when_already_done() {
        let mut app = app(vec![order(1, Status::Ready, Some("bo"))]);
        update(&mut app, Msg::Key(Action::PickUp));
        // Applied before the connection dropped; the resent request is refused.
        update(
            &mut app,
            event(11, "rider:bo", order(1, Status::PickedUp, Some("bo"))),
        );
        update(
            &mut app,
            reply(
                1,
                Err((ErrorCode::InvalidTransition, "picked_up -> picked_up")),
            ),
        );
        assert_eq!(app.flash, None);
        update(&mut app, Msg::Key(Action::Deliver));
        update(
            &mut app,
            event(12, "rider:bo", order(1, Status::Delivered, Some("bo"))),
        );
        update(
            &mut app,
            reply(2, Err((ErrorCode::InvalidTransition, "delivered"))),
        );
        assert_eq!(app.flash, None);
        assert!(app.mine().is_empty());
        // A real refusal is shown.
        let mut app = self::app(vec![order(2, Status::Ready, Some("bo"))]);
        update(&mut app, Msg::Key(Action::PickUp));
        update(
            &mut app,
            reply(
                1,
                Err((
                    ErrorCode::Forbidden,
                    "this token may not set order 2 to picked_up",
                )),
            ),
        );
        assert_eq!(
            flash_text(&app),
            "r1 #2: this token may not set order 2 to picked_up"
        );
    }

    #[test]
    fn stale_events_from_the_other_room_are_ignored() {
        // Resuming replays `riders`, then `rider:bo`: the older claim and release of
        // order 1 come after al's newer claim and must not bring it back.
        let mut app = app(vec![order(1, Status::Ready, None)]);
        update(
            &mut app,
            event(13, "riders", order(1, Status::Ready, Some("al"))),
        );
        update(
            &mut app,
            event(11, "rider:bo", order(1, Status::Ready, Some("bo"))),
        );
        update(
            &mut app,
            event(12, "rider:bo", order(1, Status::Ready, None)),
        );
        assert!(app.orders.is_empty(), "{:?}", app.orders);
        // And nothing at or below the snapshot's head.
        update(&mut app, event(9, "riders", order(5, Status::Ready, None)));
        assert!(app.orders.is_empty());
    }

    #[test]
    fn assignments_changes_and_cancellations_of_my_orders_are_announced() {
        let mut app = app(vec![]);
        let effects = update(
            &mut app,
            event(11, "rider:bo", order(1, Status::Preparing, Some("bo"))),
        );
        assert_eq!(effects, [Effect::Play(Sound::NewOrder)]);
        assert_eq!(flash_text(&app), "r1 #1 was assigned to you");
        let effects = update(
            &mut app,
            event(12, "rider:bo", order(1, Status::Ready, Some("bo"))),
        );
        assert_eq!(effects, [Effect::Play(Sound::NewOrder)]);
        assert_eq!(flash_text(&app), "r1 #1 is ready: go and pick it up");
        let effects = update(
            &mut app,
            event(13, "rider:bo", order(1, Status::Cancelled, Some("bo"))),
        );
        assert_eq!(effects, [Effect::Play(Sound::Cancelled)]);
        assert_eq!(flash_text(&app), "r1 #1 was cancelled");
        update(
            &mut app,
            event(14, "rider:bo", order(2, Status::Ready, Some("bo"))),
        );
        let effects = update(
            &mut app,
            event(15, "rider:bo", order(2, Status::Ready, Some("al"))),
        );
        assert_eq!(effects, [Effect::Play(Sound::Cancelled)]);
        assert_eq!(flash_text(&app), "r1 #2 was given to al");
        assert!(app.mine().is_empty());
    }

    #[test]
    fn arrows_move_through_both_lists_and_tab_switches() {
        let mut app = app(vec![
            order(1, Status::Ready, Some("bo")),
            order(2, Status::PickedUp, Some("bo")),
            order(3, Status::Ready, None),
            order(4, Status::Preparing, None),
        ]);
        let mut at = |action| {
            update(&mut app, Msg::Key(action));
            match app.pane {
                Pane::Mine => ("mine", app.selected_mine),
                Pane::Offers => ("offers", app.selected_offer),
            }
        };
        let path = [
            (Action::Down, ("offers", Some(4))),
            (Action::Down, ("offers", Some(4))),
            (Action::Up, ("offers", Some(3))),
            (Action::Up, ("mine", Some(2))),
            (Action::Up, ("mine", Some(1))),
            (Action::Up, ("mine", Some(1))),
            (Action::Down, ("mine", Some(2))),
            (Action::Down, ("offers", Some(3))),
            (Action::Switch, ("mine", Some(2))),
            (Action::Switch, ("offers", Some(3))),
        ];
        for (action, expected) in path {
            assert_eq!(at(action), expected, "{action:?}");
        }
    }

    #[test]
    fn the_selection_stays_in_place_when_its_order_leaves() {
        let mut app = app((1..=4).map(|i| order(i, Status::Ready, None)).collect());
        update(&mut app, Msg::Key(Action::Down));
        update(&mut app, Msg::Key(Action::Down));
        assert_eq!(app.selected_offer, Some(3));
        update(
            &mut app,
            event(11, "riders", order(3, Status::Ready, Some("al"))),
        );
        assert_eq!(app.selected_offer, Some(4));
        update(
            &mut app,
            event(12, "riders", order(4, Status::Ready, Some("al"))),
        );
        assert_eq!(app.selected_offer, Some(2));
    }

    #[test]
    fn overlays_quit_and_the_flash_timeout() {
        let mut app = app(vec![order(1, Status::Ready, None)]);
        update(&mut app, Msg::Key(Action::Help));
        assert_eq!(app.overlay, Overlay::Help);
        assert!(
            sent(&update(&mut app, Msg::Key(Action::Select))).is_empty(),
            "Enter closes help"
        );
        assert_eq!(app.overlay, Overlay::None);
        update(&mut app, Msg::Key(Action::Details));
        assert_eq!(app.overlay, Overlay::Details(1));
        update(&mut app, Msg::Key(Action::Close));
        let effects = update(&mut app, Msg::Key(Action::Mute));
        assert_eq!(effects, [Effect::SetMuted(true)]);
        assert_eq!(flash_text(&app), "alerts muted");
        update(&mut app, Msg::Tick(NOW + FLASH_MS - 1));
        assert!(app.flash.is_some());
        update(&mut app, Msg::Tick(NOW + FLASH_MS));
        assert_eq!(app.flash, None);
        assert_eq!(
            update(&mut app, Msg::Key(Action::Quit)),
            [Effect::Quit],
            "nothing unsent: quit at once"
        );
    }

    #[test]
    fn coming_back_online_is_announced() {
        let mut app = app(vec![]);
        app.conn = Conn::Offline {
            since: NOW - 5000,
            retry_at: NOW,
            reason: "lost".into(),
        };
        update(&mut app, welcome(Role::Rider));
        assert!(app.conn.is_online());
        assert!(flash_text(&app).starts_with("back online"));
    }
}

#[cfg(test)]
mod chat_tests {
    use super::*;
    use crate::chat::CHAT_REQUEST_IDS;

    fn joins(effects: &[Effect]) -> Vec<ClientMsg> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(r) if r.id >= CHAT_REQUEST_IDS => Some(r.msg.clone()),
                _ => None,
            })
            .collect()
    }

    fn mine(id: i64) -> chit_protocol::Order {
        let mut order: chit_protocol::Order = serde_json::from_value(serde_json::json!({
            "id": id, "number": id, "restaurant": "r1",
            "customer": {"id": "c", "name": "Ann", "phone": "0812345678", "address": "12 Sukhumvit"},
            "items": [{"name": "Pad Thai", "qty": 1, "unit_price": 12000}], "total": 12000, "note": null,
            "fulfilment": "delivery", "status": "ready", "rider": "bo",
            "created_at": "2026-11-22T08:00:00.000Z", "updated_at": "2026-11-22T08:00:00.000Z"
        }))
        .unwrap();
        order.id = id;
        order
    }

    #[test]
    fn the_chat_pane_follows_the_selected_delivery_room() {
        let mut app = App::new("bo", true, 0);
        update(
            &mut app,
            Msg::Link(Update::Snapshot {
                orders: vec![mine(1), mine(2)],
                head: 10,
            }),
        );
        let first = app.selected_mine.unwrap();
        assert_eq!(app.chat.room, Some(format!("order:{first}")));
        if app.pane != Pane::Mine {
            update(&mut app, Msg::Key(Action::Switch));
        }
        let effects = update(&mut app, Msg::Key(Action::Down));
        let second = app.selected_mine.unwrap();
        assert_ne!(first, second);
        let sent = joins(&effects);
        assert_eq!(
            sent[0],
            ClientMsg::Unsubscribe {
                room: format!("order:{first}")
            }
        );
        assert_eq!(
            sent[1],
            ClientMsg::Subscribe {
                room: format!("order:{second}"),
                since: None,
                epoch: None,
            }
        );
        assert!(
            matches!(&sent[2], ClientMsg::ChatHistory { room, .. } if *room == format!("order:{second}"))
        );
        update(&mut app, Msg::Key(Action::Chat));
        assert!(app.chat.open);
    }
}
