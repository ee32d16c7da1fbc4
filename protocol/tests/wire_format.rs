//! The wire format is the contract: one exact JSON text per message type, both ways.
//! Changing any of these strings breaks scripts and third-party clients.

use chit_protocol::message::ServerStats;
use chit_protocol::*;
use serde_json::json;

fn order() -> Order {
    Order {
        id: 17,
        number: 5,
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
            note: Some("no peanuts".into()),
            ..Default::default()
        }],
        total: 24000,
        note: None,
        fulfilment: Fulfilment::Delivery,
        status: Status::Pending,
        rider: None,
        created_at: "2026-11-22T08:47:01.062Z".into(),
        updated_at: "2026-11-22T08:47:01.062Z".into(),
        ..Default::default()
    }
}

const ORDER: &str = r#"{"id":17,"number":5,"restaurant":"r1","customer":{"id":"0812345678","name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000,"note":"no peanuts"}],"total":24000,"note":null,"fulfilment":"delivery","status":"pending","rider":null,"created_at":"2026-11-22T08:47:01.062Z","updated_at":"2026-11-22T08:47:01.062Z"}"#;

/// An order of a restaurant with a menu: its items routed to stations, one started and
/// one done; placed for later (due, fired), rush, from a delivery platform.
fn kitchen_order() -> Order {
    let item = |name: &str, category: &str, station: &str, state, prep| Item {
        name: name.into(),
        qty: 1,
        unit_price: 12000,
        category: Some(category.into()),
        station: Some(station.into()),
        state,
        prep_minutes: Some(prep),
        ..Default::default()
    };
    let mut items = vec![
        item("Pad Thai", "noodles", "wok", ItemState::Started, 10),
        item("Gai yang", "grill", "grill", ItemState::Done, 15),
    ];
    items[0].started_at = Some("2026-11-22T12:11:00.000Z".into());
    items[1].started_at = Some("2026-11-22T12:10:30.000Z".into());
    items[1].done_at = Some("2026-11-22T12:24:00.000Z".into());
    Order {
        items,
        total: 24000,
        status: Status::Preparing,
        source: Some("uber".into()),
        priority: Priority::Rush,
        due_at: Some("2026-11-22T12:30:00.000Z".into()),
        fire_at: Some("2026-11-22T12:15:00.000Z".into()),
        fired_at: Some("2026-11-22T12:15:00.012Z".into()),
        ..order()
    }
}

const KITCHEN_ORDER: &str = r#"{"id":17,"number":5,"restaurant":"r1","customer":{"id":"0812345678","name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":1,"unit_price":12000,"category":"noodles","station":"wok","state":"started","prep_minutes":10,"started_at":"2026-11-22T12:11:00.000Z"},{"name":"Gai yang","qty":1,"unit_price":12000,"category":"grill","station":"grill","state":"done","prep_minutes":15,"started_at":"2026-11-22T12:10:30.000Z","done_at":"2026-11-22T12:24:00.000Z"}],"total":24000,"note":null,"fulfilment":"delivery","status":"preparing","rider":null,"created_at":"2026-11-22T08:47:01.062Z","updated_at":"2026-11-22T08:47:01.062Z","source":"uber","priority":"rush","due_at":"2026-11-22T12:30:00.000Z","fire_at":"2026-11-22T12:15:00.000Z","fired_at":"2026-11-22T12:15:00.012Z"}"#;

fn menu() -> Menu {
    Menu {
        restaurant: "r1".into(),
        stations: vec!["wok".into(), "grill".into(), "bar".into()],
        default_station: "wok".into(),
        default_prep_minutes: 12,
        categories: vec![MenuCategory {
            name: "Noodles".into(),
            station: "wok".into(),
            prep_minutes: 10,
        }],
        items: vec![MenuItem {
            name: "Pad Thai".into(),
            category: "Noodles".into(),
            station: "wok".into(),
            prep_minutes: 10,
            also: vec!["ผัดไทย".into()],
        }],
        version: 3,
        loaded_at: "2026-11-22T06:00:00.000Z".into(),
    }
}

const MENU: &str = r#"{"restaurant":"r1","stations":["wok","grill","bar"],"default_station":"wok","default_prep_minutes":12,"categories":[{"name":"Noodles","station":"wok","prep_minutes":10}],"items":[{"name":"Pad Thai","category":"Noodles","station":"wok","prep_minutes":10,"also":["ผัดไทย"]}],"version":3,"loaded_at":"2026-11-22T06:00:00.000Z"}"#;

fn eighty_six() -> UnavailableItem {
    UnavailableItem {
        item: "Pad Thai".into(),
        until: "2026-11-22T16:59:59.999Z".into(),
        since: "2026-11-22T11:02:00.000Z".into(),
        by: Some("kitchen r1".into()),
    }
}

const EIGHTY_SIX: &str = r#"{"item":"Pad Thai","until":"2026-11-22T16:59:59.999Z","since":"2026-11-22T11:02:00.000Z","by":"kitchen r1"}"#;

fn chat() -> ChatMessage {
    ChatMessage {
        id: 3,
        room: "chat:staff".into(),
        seq: Some(42),
        author: "bo".into(),
        role: Role::Rider,
        text: "on my way".into(),
        at: "2026-11-22T08:47:01.062Z".into(),
    }
}

const CHAT: &str = r#"{"id":3,"room":"chat:staff","seq":42,"author":"bo","role":"rider","text":"on my way","at":"2026-11-22T08:47:01.062Z"}"#;

fn client(id: u64, msg: ClientMsg) -> ClientFrame {
    ClientFrame {
        id: Some(id.into()),
        msg,
    }
}

fn server(id: Option<u64>, msg: ServerMsg) -> ServerFrame {
    ServerFrame {
        id: id.map(Into::into),
        msg,
    }
}

fn check<T>(value: T, text: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_string(&value).unwrap(), text);
    assert_eq!(serde_json::from_str::<T>(text).unwrap(), value, "{text}");
}

#[test]
fn client_messages() {
    let new_order = NewOrder {
        restaurant: "r1".into(),
        customer: NewCustomer {
            id: None,
            name: "Ann".into(),
            phone: "0812345678".into(),
            address: Some("12 Sukhumvit".into()),
        },
        items: vec![NewItem {
            name: "Pad Thai".into(),
            qty: 2,
            unit_price: 12000,
            note: None,
            category: None,
        }],
        note: Some("no peanuts".into()),
        fulfilment: Fulfilment::Pickup,
        ..Default::default()
    };
    let later = NewOrder {
        items: vec![NewItem {
            category: Some("noodles".into()),
            ..new_order.items[0].clone()
        }],
        source: Some("web".into()),
        priority: Priority::Rush,
        due_at: Some("2026-11-22T12:30:00Z".into()),
        ..new_order.clone()
    };
    let cases: Vec<(ClientFrame, String)> = vec![
        (client(1, ClientMsg::Hello { token: "chit_x".into(), client: Some("pos".into()), protocol: 1 }),
            r#"{"id":1,"type":"hello","token":"chit_x","client":"pos","protocol":1}"#.into()),
        (client(2, ClientMsg::Subscribe { room: "restaurant:r1".into(), since: Some(41), epoch: None }),
            r#"{"id":2,"type":"subscribe","room":"restaurant:r1","since":41}"#.into()),
        (client(2, ClientMsg::Subscribe { room: "restaurant:r1".into(), since: Some(41), epoch: Some(9007199254740991) }),
            r#"{"id":2,"type":"subscribe","room":"restaurant:r1","since":41,"epoch":9007199254740991}"#.into()),
        (client(3, ClientMsg::Unsubscribe { room: "riders".into() }),
            r#"{"id":3,"type":"unsubscribe","room":"riders"}"#.into()),
        (client(4, ClientMsg::PlaceOrder { order: new_order, key: Some("pos-1-0001".into()) }),
            r#"{"id":4,"type":"place_order","order":{"restaurant":"r1","customer":{"name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000}],"note":"no peanuts","fulfilment":"pickup"},"key":"pos-1-0001"}"#.into()),
        (client(5, ClientMsg::UpdateStatus { order_id: 17, status: Status::PickedUp, reason: Some("rider here".into()), recall: false, force: false }),
            r#"{"id":5,"type":"update_status","order_id":17,"status":"picked_up","reason":"rider here"}"#.into()),
        (client(6, ClientMsg::UpdateStatus { order_id: 17, status: Status::Confirmed, reason: None, recall: true, force: false }),
            r#"{"id":6,"type":"update_status","order_id":17,"status":"confirmed","recall":true}"#.into()),
        (client(6, ClientMsg::UpdateStatus { order_id: 17, status: Status::Ready, reason: None, recall: false, force: true }),
            r#"{"id":6,"type":"update_status","order_id":17,"status":"ready","force":true}"#.into()),
        (client(4, ClientMsg::PlaceOrder { order: later, key: None }),
            r#"{"id":4,"type":"place_order","order":{"restaurant":"r1","customer":{"name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000,"category":"noodles"}],"note":"no peanuts","fulfilment":"pickup","source":"web","priority":"rush","due_at":"2026-11-22T12:30:00Z"}}"#.into()),
        (client(18, ClientMsg::UpdateItem { order_id: 17, item: 2, state: ItemState::Started, recall: false }),
            r#"{"id":18,"type":"update_item","order_id":17,"item":2,"state":"started"}"#.into()),
        (client(19, ClientMsg::UpdateItem { order_id: 17, item: 2, state: ItemState::Queued, recall: true }),
            r#"{"id":19,"type":"update_item","order_id":17,"item":2,"state":"queued","recall":true}"#.into()),
        (client(20, ClientMsg::GetMenu { restaurant: "r1".into() }),
            r#"{"id":20,"type":"get_menu","restaurant":"r1"}"#.into()),
        (client(21, ClientMsg::MarkUnavailable { restaurant: "r1".into(), item: "Pad Thai".into(), until: Some("2026-11-22T16:00:00Z".into()) }),
            r#"{"id":21,"type":"mark_unavailable","restaurant":"r1","item":"Pad Thai","until":"2026-11-22T16:00:00Z"}"#.into()),
        (client(21, ClientMsg::MarkUnavailable { restaurant: "r1".into(), item: "Pad Thai".into(), until: None }),
            r#"{"id":21,"type":"mark_unavailable","restaurant":"r1","item":"Pad Thai"}"#.into()),
        (client(22, ClientMsg::MarkAvailable { restaurant: "r1".into(), item: "Pad Thai".into() }),
            r#"{"id":22,"type":"mark_available","restaurant":"r1","item":"Pad Thai"}"#.into()),
        (client(23, ClientMsg::ListUnavailable { restaurant: "r1".into() }),
            r#"{"id":23,"type":"list_unavailable","restaurant":"r1"}"#.into()),
        (client(7, ClientMsg::ClaimOrder { order_id: 17 }), r#"{"id":7,"type":"claim_order","order_id":17}"#.into()),
        (client(8, ClientMsg::ReleaseOrder { order_id: 17 }), r#"{"id":8,"type":"release_order","order_id":17}"#.into()),
        (client(9, ClientMsg::AssignOrder { order_id: 17, rider: "bo".into() }),
            r#"{"id":9,"type":"assign_order","order_id":17,"rider":"bo"}"#.into()),
        (client(10, ClientMsg::GetOrder { order_id: 17 }), r#"{"id":10,"type":"get_order","order_id":17}"#.into()),
        (client(11, ClientMsg::ListOrders { restaurant: Some("r1".into()), status: Some(vec![Status::Pending, Status::Ready]), limit: Some(50), cursor: None }),
            r#"{"id":11,"type":"list_orders","restaurant":"r1","status":["pending","ready"],"limit":50}"#.into()),
        (client(11, ClientMsg::ListOrders { restaurant: None, status: None, limit: Some(2), cursor: Some("17".into()) }),
            r#"{"id":11,"type":"list_orders","limit":2,"cursor":"17"}"#.into()),
        (client(12, ClientMsg::ChatSend { room: "chat:staff".into(), text: "hi".into() }),
            r#"{"id":12,"type":"chat_send","room":"chat:staff","text":"hi"}"#.into()),
        (client(13, ClientMsg::ChatHistory { room: "order:17".into(), before: Some(99), limit: Some(20) }),
            r#"{"id":13,"type":"chat_history","room":"order:17","before":99,"limit":20}"#.into()),
        (client(14, ClientMsg::Typing { room: "chat:staff".into(), active: true }),
            r#"{"id":14,"type":"typing","room":"chat:staff","active":true}"#.into()),
        (client(15, ClientMsg::Presence { room: "chat:staff".into() }), r#"{"id":15,"type":"presence","room":"chat:staff"}"#.into()),
        (client(16, ClientMsg::Stats { restaurant: Some("r1".into()) }), r#"{"id":16,"type":"stats","restaurant":"r1"}"#.into()),
        (client(17, ClientMsg::Ping), r#"{"id":17,"type":"ping"}"#.into()),
    ];
    for (value, text) in cases {
        check(value, &text);
    }
    // Ids may be strings, and may be left out.
    let frame: ClientFrame = serde_json::from_str(r#"{"type":"ping","id":"pos-7"}"#).unwrap();
    assert_eq!(frame.id, Some(json!("pos-7")));
    check(
        ClientFrame {
            id: None,
            msg: ClientMsg::Ping,
        },
        r#"{"type":"ping"}"#,
    );
}

#[test]
fn server_messages() {
    let welcome = Welcome {
        session: 3,
        role: Role::Kitchen,
        server: "chit-server 0.1.0".into(),
        protocol: 1,
        heartbeat: 30,
        name: "kitchen r1".into(),
        restaurant: Some("r1".into()),
        rider: None,
        customer: None,
        epoch: Some(7315),
    };
    let analytics = Analytics {
        restaurant: Some("r1".into()),
        total_orders: 14,
        total_revenue: 321000,
        pending_orders: 2,
        open_orders: 5,
        cancelled_orders: 1,
        avg_ready_minutes: Some(11.5),
        speed: Speed {
            items: Timing {
                count: 30,
                median_minutes: Some(8.5),
                p90_minutes: Some(14.0),
            },
            orders: Timing {
                count: 12,
                median_minutes: Some(16.0),
                p90_minutes: Some(22.5),
            },
            stations: vec![
                StationTiming {
                    station: "wok".into(),
                    items: Timing {
                        count: 20,
                        median_minutes: Some(9.0),
                        p90_minutes: Some(14.5),
                    },
                },
                StationTiming {
                    station: "bar".into(),
                    items: Timing {
                        count: 10,
                        median_minutes: Some(2.5),
                        p90_minutes: Some(4.0),
                    },
                },
            ],
        },
    };
    let cases: Vec<(ServerFrame, String)> = vec![
        (server(Some(1), ServerMsg::Welcome(welcome)),
            r#"{"id":1,"type":"welcome","session":3,"role":"kitchen","server":"chit-server 0.1.0","protocol":1,"heartbeat":30,"name":"kitchen r1","restaurant":"r1","epoch":7315}"#.into()),
        (server(Some(2), ServerMsg::Subscribed { room: "restaurant:r1".into(), head: 41, epoch: Some(7315) }),
            r#"{"id":2,"type":"subscribed","room":"restaurant:r1","head":41,"epoch":7315}"#.into()),
        // From a server before epochs.
        (server(Some(2), ServerMsg::Subscribed { room: "restaurant:r1".into(), head: 41, epoch: None }),
            r#"{"id":2,"type":"subscribed","room":"restaurant:r1","head":41}"#.into()),
        (server(None, ServerMsg::Event(Event { room: "restaurant:r1".into(), seq: Some(42), kind: EventKind::NewOrder, at: "2026-11-22T08:47:01.062Z".into(), data: serde_json::from_str(ORDER).unwrap() })),
            // A client holds `data` as a JSON value, whose keys it keeps sorted.
            format!(r#"{{"type":"event","room":"restaurant:r1","seq":42,"kind":"new_order","at":"2026-11-22T08:47:01.062Z","data":{}}}"#,
                serde_json::from_str::<serde_json::Value>(ORDER).unwrap())),
        (server(None, ServerMsg::Event(Event { room: "chat:staff".into(), seq: None, kind: EventKind::Typing, at: "2026-11-22T08:47:01.062Z".into(), data: json!({"active": true}) })),
            r#"{"type":"event","room":"chat:staff","kind":"typing","at":"2026-11-22T08:47:01.062Z","data":{"active":true}}"#.into()),
        (server(Some(4), ServerMsg::Order { order: order(), duplicate: Some(false) }),
            format!(r#"{{"id":4,"type":"order","order":{ORDER},"duplicate":false}}"#)),
        (server(Some(5), ServerMsg::Order { order: order(), duplicate: None }),
            format!(r#"{{"id":5,"type":"order","order":{ORDER}}}"#)),
        (server(Some(6), ServerMsg::Orders { orders: vec![order()], head: 41, next_cursor: None }),
            format!(r#"{{"id":6,"type":"orders","orders":[{ORDER}],"head":41,"next_cursor":null}}"#)),
        (server(Some(6), ServerMsg::Orders { orders: vec![order()], head: 41, next_cursor: Some("17".into()) }),
            format!(r#"{{"id":6,"type":"orders","orders":[{ORDER}],"head":41,"next_cursor":"17"}}"#)),
        (server(Some(7), ServerMsg::Ok { message: None }), r#"{"id":7,"type":"ok"}"#.into()),
        (server(Some(8), ServerMsg::Ok { message: Some(chat()) }), format!(r#"{{"id":8,"type":"ok","message":{CHAT}}}"#)),
        (server(Some(9), ServerMsg::Messages { messages: vec![chat()] }), format!(r#"{{"id":9,"type":"messages","messages":[{CHAT}]}}"#)),
        (server(Some(10), ServerMsg::Presence { room: "chat:staff".into(), members: vec![Member { session: 3, name: "bo".into(), role: Role::Rider }] }),
            r#"{"id":10,"type":"presence","room":"chat:staff","members":[{"session":3,"name":"bo","role":"rider"}]}"#.into()),
        (server(Some(11), ServerMsg::Stats(Stats { today: analytics.clone(), server: None })),
            format!(r#"{{"id":11,"type":"stats","restaurant":"r1","total_orders":14,"total_revenue":321000,"pending_orders":2,"open_orders":5,"cancelled_orders":1,"avg_ready_minutes":11.5,"speed":{SPEED}}}"#)),
        (server(None, ServerMsg::Event(Event { room: "restaurant:r1".into(), seq: None, kind: EventKind::AnalyticsUpdate, at: "2026-11-22T08:47:01.062Z".into(), data: serde_json::to_value(&analytics).unwrap() })),
            format!(r#"{{"type":"event","room":"restaurant:r1","kind":"analytics_update","at":"2026-11-22T08:47:01.062Z","data":{}}}"#,
                serde_json::from_str::<serde_json::Value>(&format!(r#"{{"restaurant":"r1","total_orders":14,"total_revenue":321000,"pending_orders":2,"open_orders":5,"cancelled_orders":1,"avg_ready_minutes":11.5,"speed":{SPEED}}}"#)).unwrap())),
        (server(Some(4), ServerMsg::Order { order: kitchen_order(), duplicate: None }),
            format!(r#"{{"id":4,"type":"order","order":{KITCHEN_ORDER}}}"#)),
        (server(Some(24), ServerMsg::Menu { restaurant: "r1".into(), menu: Some(menu()), unavailable: vec![eighty_six()] }),
            format!(r#"{{"id":24,"type":"menu","restaurant":"r1","menu":{MENU},"unavailable":[{EIGHTY_SIX}]}}"#)),
        (server(Some(24), ServerMsg::Menu { restaurant: "r2".into(), menu: None, unavailable: vec![] }),
            r#"{"id":24,"type":"menu","restaurant":"r2","menu":null,"unavailable":[]}"#.into()),
        (server(Some(25), ServerMsg::Unavailable { restaurant: "r1".into(), items: vec![eighty_six()] }),
            format!(r#"{{"id":25,"type":"unavailable","restaurant":"r1","items":[{EIGHTY_SIX}]}}"#)),
        (server(Some(26), ServerMsg::Error { code: ErrorCode::Unavailable, message: "Pad Thai is unavailable at r1 until 23:59 (86'd): leave it out or choose another".into() }),
            r#"{"id":26,"type":"error","code":"unavailable","message":"Pad Thai is unavailable at r1 until 23:59 (86'd): leave it out or choose another"}"#.into()),
        (server(Some(12), ServerMsg::Pong), r#"{"id":12,"type":"pong"}"#.into()),
        (server(Some(13), ServerMsg::Error { code: ErrorCode::InvalidTransition, message: "order 17 is pending: it cannot become delivered".into() }),
            r#"{"id":13,"type":"error","code":"invalid_transition","message":"order 17 is pending: it cannot become delivered"}"#.into()),
        (server(None, ServerMsg::Error { code: ErrorCode::BadRequest, message: "malformed JSON".into() }),
            r#"{"type":"error","code":"bad_request","message":"malformed JSON"}"#.into()),
    ];
    for (value, text) in cases {
        check(value, &text);
    }
    // Admins' stats carry the server's own figures; they round-trip too.
    let stats = ServerFrame {
        id: Some(14.into()),
        msg: ServerMsg::Stats(Stats {
            today: analytics,
            server: Some(ServerStats {
                connections: 2,
                rss_bytes: 9_000_000,
                events_total: 7,
                orders_total: 3,
                uptime_secs: 60,
                head: 41,
                cpu_ms: 1_250,
                open_fds: 12,
                webhooks: vec![chit_protocol::WebhookStatus {
                    id: 3,
                    url: "https://shop.example/hooks/chit".into(),
                    state: "failing".into(),
                    delivered_seq: 40,
                    delivered_total: 12,
                    failures: 6,
                    last_error: Some("answered 503 Service Unavailable".into()),
                }],
            }),
        }),
    };
    let text = serde_json::to_string(&stats).unwrap();
    assert!(text.contains(r#""server":{"connections":2,"#), "{text}");
    assert!(text.contains(r#""cpu_ms":1250,"open_fds":12"#), "{text}");
    // A server from before these figures: they read as zero.
    let older = r#"{"type":"stats","total_orders":0,"total_revenue":0,"pending_orders":0,"open_orders":0,"cancelled_orders":0,"avg_ready_minutes":null,"server":{"connections":1,"rss_bytes":1,"events_total":0,"orders_total":0,"uptime_secs":0,"head":0}}"#;
    let ServerMsg::Stats(older) = serde_json::from_str::<ServerFrame>(older).unwrap().msg else {
        panic!("not stats");
    };
    assert_eq!(older.server.unwrap().cpu_ms, 0);
    assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), stats);
}

const SPEED: &str = r#"{"items":{"count":30,"median_minutes":8.5,"p90_minutes":14.0},"orders":{"count":12,"median_minutes":16.0,"p90_minutes":22.5},"stations":[{"station":"wok","count":20,"median_minutes":9.0,"p90_minutes":14.5},{"station":"bar","count":10,"median_minutes":2.5,"p90_minutes":4.0}]}"#;

/// The events a kitchen with stations gets: an item bumped, a held order fired, a menu
/// changed. Their `data` is held as a JSON value, whose keys a client keeps sorted.
#[test]
fn kitchen_events() {
    let event = |kind: EventKind, data: serde_json::Value| {
        server(
            None,
            ServerMsg::Event(Event {
                room: "restaurant:r1".into(),
                seq: Some(43),
                kind,
                at: "2026-11-22T12:24:00.000Z".into(),
                data,
            }),
        )
    };
    let text = |kind: &str, data: &str| {
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        format!(
            r#"{{"type":"event","room":"restaurant:r1","seq":43,"kind":"{kind}","at":"2026-11-22T12:24:00.000Z","data":{data}}}"#
        )
    };
    let item = ItemEvent {
        order: kitchen_order(),
        item: 2,
        previous_state: ItemState::Started,
    };
    let item_data = format!(
        r#"{},"item":2,"previous_state":"started"}}"#,
        KITCHEN_ORDER.strip_suffix('}').unwrap()
    );
    assert_eq!(serde_json::to_string(&item).unwrap(), item_data);
    let update = MenuUpdate {
        restaurant: "r1".into(),
        change: MenuChange::Unavailable,
        item: Some("Pad Thai".into()),
        expired: false,
        menu: None,
        unavailable: vec![eighty_six()],
    };
    let update_data = format!(
        r#"{{"restaurant":"r1","change":"unavailable","item":"Pad Thai","unavailable":[{EIGHTY_SIX}]}}"#
    );
    assert_eq!(serde_json::to_string(&update).unwrap(), update_data);
    let loaded = MenuUpdate {
        change: MenuChange::Loaded,
        item: None,
        menu: Some(menu()),
        unavailable: vec![],
        ..update.clone()
    };
    let loaded_data =
        format!(r#"{{"restaurant":"r1","change":"loaded","menu":{MENU},"unavailable":[]}}"#);
    assert_eq!(serde_json::to_string(&loaded).unwrap(), loaded_data);
    let expired = MenuUpdate {
        change: MenuChange::Restored,
        expired: true,
        unavailable: vec![],
        ..update.clone()
    };
    assert_eq!(
        serde_json::to_string(&expired).unwrap(),
        r#"{"restaurant":"r1","change":"restored","item":"Pad Thai","expired":true,"unavailable":[]}"#
    );
    let cases = [
        (
            event(EventKind::ItemUpdate, serde_json::to_value(&item).unwrap()),
            text("item_update", &item_data),
        ),
        (
            event(
                EventKind::OrderFired,
                serde_json::from_str(KITCHEN_ORDER).unwrap(),
            ),
            text("order_fired", KITCHEN_ORDER),
        ),
        (
            event(
                EventKind::MenuUpdate,
                serde_json::to_value(&update).unwrap(),
            ),
            text("menu_update", &update_data),
        ),
        (
            event(
                EventKind::MenuUpdate,
                serde_json::to_value(&loaded).unwrap(),
            ),
            text("menu_update", &loaded_data),
        ),
    ];
    for (value, text) in cases {
        check(value, &text);
    }
    // What a client reads out of them.
    let ServerMsg::Event(e) =
        event(EventKind::ItemUpdate, serde_json::to_value(&item).unwrap()).msg
    else {
        unreachable!()
    };
    assert_eq!(e.item_event(), Some(item.clone()));
    assert_eq!(e.order_event().unwrap().order, kitchen_order());
    let ServerMsg::Event(e) = event(
        EventKind::OrderFired,
        serde_json::from_str(KITCHEN_ORDER).unwrap(),
    )
    .msg
    else {
        unreachable!()
    };
    assert!(e.order_event().unwrap().order.fired_at.is_some());
    let ServerMsg::Event(e) = event(
        EventKind::MenuUpdate,
        serde_json::to_value(&loaded).unwrap(),
    )
    .msg
    else {
        unreachable!()
    };
    assert_eq!(e.menu_update(), Some(loaded));
}

/// Orders stored, sent or replayed before stations, scheduling and priority existed read
/// as whole tickets: every item queued at no station, normal priority, not held.
#[test]
fn orders_from_before_stations_still_decode() {
    let old = r#"{"id":17,"number":5,"restaurant":"r1","customer":{"id":"0812345678","name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000,"note":"no peanuts"}],"total":24000,"note":null,"fulfilment":"delivery","status":"pending","rider":null,"created_at":"2026-11-22T08:47:01.062Z","updated_at":"2026-11-22T08:47:01.062Z"}"#;
    let order: Order = serde_json::from_str(old).unwrap();
    assert_eq!(order, self::order());
    assert_eq!(order.items[0].state, ItemState::Queued);
    assert_eq!(order.items[0].station, None);
    assert_eq!(order.priority, Priority::Normal);
    assert!(!order.is_held() && !order.has_stations());
    // An old stats reply has no speed of service: it reads as none measured.
    let stats = r#"{"type":"stats","total_orders":1,"total_revenue":0,"pending_orders":1,"open_orders":1,"cancelled_orders":0,"avg_ready_minutes":null}"#;
    let ServerMsg::Stats(stats) = serde_json::from_str::<ServerFrame>(stats).unwrap().msg else {
        panic!("not stats");
    };
    assert_eq!(stats.today.speed, Speed::default());
    // A place_order from an older client: no source, priority or due time.
    let frame: ClientFrame = serde_json::from_str(r#"{"type":"place_order","order":{"restaurant":"r1","customer":{"name":"Ann","phone":"1"},"items":[{"name":"Tea","unit_price":100}]}}"#).unwrap();
    let ClientMsg::PlaceOrder { order, .. } = frame.msg else {
        panic!("not place_order");
    };
    assert_eq!(
        (order.source, order.priority, order.due_at),
        (None, Priority::Normal, None)
    );
    assert_eq!(order.items[0].category, None);
}

#[test]
fn every_error_code_and_status_has_its_wire_name() {
    let codes = [
        (ErrorCode::BadRequest, "bad_request"),
        (ErrorCode::Unauthorized, "unauthorized"),
        (ErrorCode::Forbidden, "forbidden"),
        (ErrorCode::NotFound, "not_found"),
        (ErrorCode::InvalidTransition, "invalid_transition"),
        (ErrorCode::Conflict, "conflict"),
        (ErrorCode::RateLimited, "rate_limited"),
        (ErrorCode::TooLarge, "too_large"),
        (ErrorCode::ResyncRequired, "resync_required"),
        (ErrorCode::Internal, "internal"),
        (ErrorCode::Unavailable, "unavailable"),
    ];
    for (code, name) in codes {
        check(code, &format!("\"{name}\""));
        assert_eq!(code.as_str(), name);
    }
    for status in Status::ALL {
        check(status, &format!("\"{}\"", status.as_str()));
    }
    for state in ItemState::ALL {
        check(state, &format!("\"{}\"", state.as_str()));
    }
    for priority in [Priority::Normal, Priority::Rush] {
        check(priority, &format!("\"{}\"", priority.as_str()));
    }
    for change in [
        MenuChange::Loaded,
        MenuChange::Unavailable,
        MenuChange::Restored,
    ] {
        check(change, &format!("\"{}\"", change.as_str()));
    }
    for kind in [
        EventKind::NewOrder,
        EventKind::OrderUpdate,
        EventKind::ChatMessage,
        EventKind::Typing,
        EventKind::Presence,
        EventKind::AnalyticsUpdate,
        EventKind::ItemUpdate,
        EventKind::OrderFired,
        EventKind::MenuUpdate,
    ] {
        check(kind, &format!("\"{}\"", kind.as_str()));
    }
}
