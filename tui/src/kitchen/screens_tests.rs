//! `update` tables for the station and expo screens, the upcoming view and 86: what a
//! bump sends, what recall undoes, when a ticket leaves a station, when the expo may
//! send an order out, and what firing a held order does.

use chit_client::{Request, Update};
use chit_protocol::{
    ClientMsg, Customer, Event, EventKind, Fulfilment, Item, ItemEvent, ItemState, Menu,
    MenuChange, MenuUpdate, Order, OrderEvent, Priority, ServerMsg, Status, UnavailableItem,
    format_time,
};

use super::app::{App, Overlay, Settings};
use super::stations::Screen;
use super::update::{Action, Effect, Msg, update};
use crate::sound::Sound;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn menu() -> Menu {
    Menu {
        restaurant: "r1".into(),
        stations: vec!["grill".into(), "fry".into(), "bar".into()],
        default_station: "grill".into(),
        ..Default::default()
    }
}

fn item(name: &str, station: &str, state: ItemState) -> Item {
    Item {
        name: name.into(),
        qty: 1,
        unit_price: 10000,
        station: Some(station.into()),
        state,
        ..Default::default()
    }
}

/// Order `id` with a burger (grill), fries (fry) and a cola (bar), in `states`.
fn order(id: i64, status: Status, states: [ItemState; 3]) -> Order {
    Order {
        id,
        number: id as u32,
        restaurant: "r1".into(),
        customer: Customer {
            id: "c".into(),
            name: format!("Guest {id}"),
            phone: "0812345678".into(),
            address: None,
        },
        items: vec![
            item("Burger", "grill", states[0]),
            item("Fries", "fry", states[1]),
            item("Cola", "bar", states[2]),
        ],
        total: 30000,
        fulfilment: Fulfilment::Pickup,
        status,
        created_at: format_time(T0 + id * 1000),
        updated_at: format_time(T0 + id * 1000),
        ..Default::default()
    }
}

use ItemState::{Done, Queued, Started};

fn welcome() -> Msg {
    Msg::Link(crate::conn::fixtures::kitchen_online())
}

/// A display on `screen`, online, with the menu and `orders` loaded.
fn loaded(screen: Screen, orders: Vec<Order>) -> App {
    let mut app = App::new("r1", Settings::default(), T0 + 10 * MIN);
    app.screen = screen;
    let effects = update(&mut app, welcome());
    let get_menu = effects
        .iter()
        .find_map(|e| match e {
            Effect::Send(Request {
                id,
                msg: ClientMsg::GetMenu { restaurant },
            }) => Some((*id, restaurant.clone())),
            _ => None,
        })
        .expect("the display asks for the menu once online");
    assert_eq!(get_menu.1, "r1");
    update(
        &mut app,
        Msg::Link(Update::Reply {
            id: get_menu.0,
            result: Ok(ServerMsg::Menu {
                restaurant: "r1".into(),
                menu: Some(menu()),
                unavailable: vec![],
            }),
        }),
    );
    update(&mut app, Msg::Link(Update::Snapshot { orders, head: 10 }));
    app
}

fn event(kind: EventKind, data: serde_json::Value, seq: u64) -> Msg {
    Msg::Link(Update::Event(Event {
        room: "restaurant:r1".into(),
        seq: Some(seq),
        kind,
        at: format_time(T0),
        data,
    }))
}

fn item_event(order: Order, item: u32, previous: ItemState, seq: u64) -> Msg {
    let data = serde_json::to_value(ItemEvent {
        order,
        item,
        previous_state: previous,
    })
    .unwrap();
    event(EventKind::ItemUpdate, data, seq)
}

fn order_event(kind: EventKind, order: Order, seq: u64) -> Msg {
    let data = serde_json::to_value(OrderEvent {
        order,
        previous: None,
        reason: None,
    })
    .unwrap();
    event(kind, data, seq)
}

/// The item changes sent: (order, item, state, recall).
fn items_sent(effects: &[Effect]) -> Vec<(i64, u32, ItemState, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Request {
                msg:
                    ClientMsg::UpdateItem {
                        order_id,
                        item,
                        state,
                        recall,
                    },
                ..
            }) => Some((*order_id, *item, *state, *recall)),
            _ => None,
        })
        .collect()
}

/// The status changes sent: (order, status, force).
fn statuses_sent(effects: &[Effect]) -> Vec<(i64, Status, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Request {
                msg:
                    ClientMsg::UpdateStatus {
                        order_id,
                        status,
                        force,
                        ..
                    },
                ..
            }) => Some((*order_id, *status, *force)),
            _ => None,
        })
        .collect()
}

fn visible(app: &App) -> Vec<i64> {
    app.visible().iter().map(|t| t.order.id).collect()
}

#[test]
fn a_station_shows_its_tickets_and_bumps_its_items_started_then_done() {
    let grill = Screen::Station("grill".into());
    let mut app = loaded(
        grill,
        vec![
            order(1, Status::Confirmed, [Queued, Queued, Queued]),
            order(2, Status::Preparing, [Done, Started, Queued]),
            order(3, Status::Preparing, [Started, Done, Done]),
        ],
    );
    // #2's burger is done: not the grill's business any more.
    assert_eq!(visible(&app), [1, 3]);
    app.selected = Some(1);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert_eq!(items_sent(&effects), [(1, 1, Started, false)]);
    assert!(
        statuses_sent(&effects).is_empty(),
        "a station moves items only"
    );
    assert_eq!(app.tickets[&1].items_queued.get(&1), Some(&Started));
    // A second press before the answer sends nothing twice.
    assert!(items_sent(&update(&mut app, Msg::Key(Action::Bump))).is_empty());

    // The server's event: started, and the order is now preparing.
    update(
        &mut app,
        item_event(
            order(1, Status::Preparing, [Started, Queued, Queued]),
            1,
            Queued,
            11,
        ),
    );
    // The digit key bumps the n-th ticket: #3 (second on screen) is done at the grill.
    let effects = update(&mut app, Msg::Key(Action::BumpNth(2)));
    assert_eq!(items_sent(&effects), [(3, 1, Done, false)]);
    update(
        &mut app,
        item_event(
            order(3, Status::Preparing, [Done, Done, Done]),
            1,
            Started,
            12,
        ),
    );
    assert_eq!(
        visible(&app),
        [1],
        "a ticket leaves when its items here are done"
    );

    // Recall undoes the last bump, exactly one step, and #3 comes back.
    let effects = update(&mut app, Msg::Key(Action::Recall));
    assert_eq!(items_sent(&effects), [(3, 1, Started, true)]);
    update(
        &mut app,
        item_event(
            order(3, Status::Preparing, [Started, Done, Done]),
            1,
            Done,
            13,
        ),
    );
    assert_eq!(visible(&app), [1, 3]);
}

#[test]
fn a_station_hears_only_orders_with_work_there_and_a_rush_goes_first() {
    let mut app = loaded(Screen::Station("fry".into()), vec![]);
    let mut drinks = order(1, Status::Pending, [Done, Done, Queued]);
    drinks.items.truncate(3);
    let effects = update(&mut app, order_event(EventKind::NewOrder, drinks, 11));
    assert!(!effects.contains(&Effect::Play(Sound::NewOrder)));
    assert!(visible(&app).is_empty());

    let effects = update(
        &mut app,
        order_event(
            EventKind::NewOrder,
            order(2, Status::Pending, [Queued; 3]),
            12,
        ),
    );
    assert!(effects.contains(&Effect::Play(Sound::NewOrder)));
    let mut rush = order(3, Status::Pending, [Queued; 3]);
    rush.priority = Priority::Rush;
    update(&mut app, order_event(EventKind::NewOrder, rush, 13));
    assert_eq!(visible(&app), [3, 2], "rush first, then oldest");
}

#[test]
fn the_expo_sends_out_when_all_is_done_and_asks_before_forcing() {
    let mut app = loaded(
        Screen::Expo,
        vec![
            order(1, Status::Preparing, [Done, Done, Done]),
            order(2, Status::Preparing, [Done, Started, Queued]),
            order(3, Status::Pending, [Queued; 3]),
            order(4, Status::Confirmed, [Queued; 3]),
        ],
    );
    // All done: ready at once.
    app.selected = Some(1);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert_eq!(statuses_sent(&effects), [(1, Status::Ready, false)]);

    // Not all done: nothing is sent until the expo confirms, then it is forced.
    app.selected = Some(2);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert!(statuses_sent(&effects).is_empty());
    assert_eq!(app.overlay, Overlay::ConfirmForce(2));
    update(&mut app, Msg::Key(Action::No));
    assert_eq!(app.overlay, Overlay::None);
    update(&mut app, Msg::Key(Action::Bump));
    let effects = update(&mut app, Msg::Key(Action::Yes));
    assert_eq!(statuses_sent(&effects), [(2, Status::Ready, true)]);

    // A new order is accepted first; a confirmed one goes through preparing.
    app.selected = Some(3);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert_eq!(statuses_sent(&effects), [(3, Status::Confirmed, false)]);
    app.selected = Some(4);
    update(&mut app, Msg::Key(Action::Bump));
    let effects = update(&mut app, Msg::Key(Action::Yes));
    assert_eq!(
        statuses_sent(&effects),
        [(4, Status::Preparing, false), (4, Status::Ready, true)]
    );
}

#[test]
fn the_expo_follows_item_bumps_and_a_display_without_stations_bumps_whole_tickets() {
    let mut app = loaded(
        Screen::Expo,
        vec![order(1, Status::Preparing, [Done, Started, Queued])],
    );
    let line =
        |app: &App| super::stations::progress_line(&app.tickets[&1].order, app.menu.as_ref(), None);
    assert_eq!(line(&app), "grill ✓ · fry 0/1▸ · bar —");
    update(
        &mut app,
        item_event(
            order(1, Status::Preparing, [Done, Done, Queued]),
            2,
            Started,
            11,
        ),
    );
    assert_eq!(line(&app), "grill ✓ · fry ✓ · bar —");

    // Whole tickets: the status bumps as before menus.
    let mut plain = order(5, Status::Confirmed, [Queued; 3]);
    for i in &mut plain.items {
        i.station = None;
    }
    let mut app = loaded(Screen::Tickets, vec![plain]);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert_eq!(statuses_sent(&effects), [(5, Status::Preparing, false)]);
}

#[test]
fn a_held_order_waits_upcoming_silently_and_beeps_when_fired() {
    let mut app = loaded(Screen::Tickets, vec![]);
    let mut held = order(1, Status::Pending, [Queued; 3]);
    held.due_at = Some(format_time(T0 + 60 * MIN));
    held.fire_at = Some(format_time(T0 + 48 * MIN));
    let effects = update(&mut app, order_event(EventKind::NewOrder, held.clone(), 11));
    assert!(
        !effects.contains(&Effect::Play(Sound::NewOrder)),
        "{effects:?}"
    );
    assert!(visible(&app).is_empty());
    assert_eq!(app.upcoming_count(), 1);
    assert!(app.unacked.is_empty());

    update(&mut app, Msg::Key(Action::Upcoming));
    assert_eq!(visible(&app), [1]);
    let effects = update(&mut app, Msg::Key(Action::Bump));
    assert!(
        statuses_sent(&effects).is_empty(),
        "held orders are not bumped"
    );
    update(&mut app, Msg::Key(Action::Close));
    assert!(!app.upcoming);

    let mut fired = held;
    fired.fired_at = Some(format_time(T0 + 48 * MIN));
    let effects = update(&mut app, order_event(EventKind::OrderFired, fired, 12));
    assert!(effects.contains(&Effect::Play(Sound::NewOrder)));
    assert_eq!(visible(&app), [1]);
    assert_eq!(app.upcoming_count(), 0);
    assert!(app.unacked.contains(&1));
}

#[test]
fn an_item_is_86d_from_the_display_after_a_confirmation_and_restored_the_same_way() {
    let mut app = loaded(
        Screen::Station("grill".into()),
        vec![order(1, Status::Confirmed, [Queued; 3])],
    );
    let effects = update(&mut app, Msg::Key(Action::EightySix));
    assert!(effects.is_empty());
    let Overlay::EightySix { choices, .. } = &app.overlay else {
        panic!("{:?}", app.overlay);
    };
    // A station offers its own items.
    assert_eq!(
        choices.iter().map(|c| c.item.as_str()).collect::<Vec<_>>(),
        ["Burger"]
    );
    update(&mut app, Msg::Key(Action::Bump));
    assert!(matches!(app.overlay, Overlay::ConfirmEightySix(_)));
    let effects = update(&mut app, Msg::Key(Action::Yes));
    let sent: Vec<&ClientMsg> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(r) => Some(&r.msg),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        [&ClientMsg::MarkUnavailable {
            restaurant: "r1".into(),
            item: "Burger".into(),
            until: None
        }]
    );
    let out = UnavailableItem {
        item: "Burger".into(),
        until: format_time(T0 + 600 * MIN),
        since: format_time(T0),
        by: None,
    };
    let data = serde_json::to_value(MenuUpdate {
        restaurant: "r1".into(),
        change: MenuChange::Unavailable,
        item: Some("Burger".into()),
        expired: false,
        menu: None,
        unavailable: vec![out],
    })
    .unwrap();
    update(&mut app, event(EventKind::MenuUpdate, data, 11));
    assert!(app.is_unavailable("burger"));
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .starts_with("86: Burger is unavailable until")
    );

    // Now the overlay offers the restore.
    update(&mut app, Msg::Key(Action::EightySix));
    let Overlay::EightySix { choices, .. } = &app.overlay else {
        panic!("{:?}", app.overlay);
    };
    assert!(choices.iter().all(|c| c.restore && c.item == "Burger"));
    update(&mut app, Msg::Key(Action::BumpNth(1)));
    let effects = update(&mut app, Msg::Key(Action::Yes));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send(Request {
            msg: ClientMsg::MarkAvailable { item, .. },
            ..
        }) if item == "Burger"
    )));
}

#[test]
fn a_station_counts_only_held_orders_with_items_made_there() {
    let mut held = order(1, Status::Pending, [Queued; 3]);
    held.items.truncate(1);
    held.fire_at = Some(format_time(T0 + 48 * MIN));
    let fry = loaded(Screen::Station("fry".into()), vec![held.clone()]);
    assert_eq!(fry.upcoming_count(), 0, "nothing of it is fried");
    let grill = loaded(Screen::Station("grill".into()), vec![held]);
    assert_eq!(grill.upcoming_count(), 1);
}
