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
        }],
        total: 24000,
        note: None,
        fulfilment: Fulfilment::Delivery,
        status: Status::Pending,
        rider: None,
        created_at: "2026-11-22T08:47:01.062Z".into(),
        updated_at: "2026-11-22T08:47:01.062Z".into(),
    }
}

const ORDER: &str = r#"{"id":17,"number":5,"restaurant":"r1","customer":{"id":"0812345678","name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000,"note":"no peanuts"}],"total":24000,"note":null,"fulfilment":"delivery","status":"pending","rider":null,"created_at":"2026-11-22T08:47:01.062Z","updated_at":"2026-11-22T08:47:01.062Z"}"#;

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
        }],
        note: Some("no peanuts".into()),
        fulfilment: Fulfilment::Pickup,
    };
    let cases: Vec<(ClientFrame, String)> = vec![
        (client(1, ClientMsg::Hello { token: "chit_x".into(), client: Some("pos".into()), protocol: 1 }),
            r#"{"id":1,"type":"hello","token":"chit_x","client":"pos","protocol":1}"#.into()),
        (client(2, ClientMsg::Subscribe { room: "restaurant:r1".into(), since: Some(41) }),
            r#"{"id":2,"type":"subscribe","room":"restaurant:r1","since":41}"#.into()),
        (client(3, ClientMsg::Unsubscribe { room: "riders".into() }),
            r#"{"id":3,"type":"unsubscribe","room":"riders"}"#.into()),
        (client(4, ClientMsg::PlaceOrder { order: new_order, key: Some("pos-1-0001".into()) }),
            r#"{"id":4,"type":"place_order","order":{"restaurant":"r1","customer":{"name":"Ann","phone":"0812345678","address":"12 Sukhumvit"},"items":[{"name":"Pad Thai","qty":2,"unit_price":12000}],"note":"no peanuts","fulfilment":"pickup"},"key":"pos-1-0001"}"#.into()),
        (client(5, ClientMsg::UpdateStatus { order_id: 17, status: Status::PickedUp, reason: Some("rider here".into()), recall: false }),
            r#"{"id":5,"type":"update_status","order_id":17,"status":"picked_up","reason":"rider here"}"#.into()),
        (client(6, ClientMsg::UpdateStatus { order_id: 17, status: Status::Confirmed, reason: None, recall: true }),
            r#"{"id":6,"type":"update_status","order_id":17,"status":"confirmed","recall":true}"#.into()),
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
    };
    let analytics = Analytics {
        restaurant: Some("r1".into()),
        total_orders: 14,
        total_revenue: 321000,
        pending_orders: 2,
        open_orders: 5,
        cancelled_orders: 1,
        avg_ready_minutes: Some(11.5),
    };
    let cases: Vec<(ServerFrame, String)> = vec![
        (server(Some(1), ServerMsg::Welcome(welcome)),
            r#"{"id":1,"type":"welcome","session":3,"role":"kitchen","server":"chit-server 0.1.0","protocol":1,"heartbeat":30,"name":"kitchen r1","restaurant":"r1"}"#.into()),
        (server(Some(2), ServerMsg::Subscribed { room: "restaurant:r1".into(), head: 41 }),
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
            r#"{"id":11,"type":"stats","restaurant":"r1","total_orders":14,"total_revenue":321000,"pending_orders":2,"open_orders":5,"cancelled_orders":1,"avg_ready_minutes":11.5}"#.into()),
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
    ];
    for (code, name) in codes {
        check(code, &format!("\"{name}\""));
        assert_eq!(code.as_str(), name);
    }
    for status in Status::ALL {
        check(status, &format!("\"{}\"", status.as_str()));
    }
    for kind in [
        EventKind::NewOrder,
        EventKind::OrderUpdate,
        EventKind::ChatMessage,
        EventKind::Typing,
        EventKind::Presence,
        EventKind::AnalyticsUpdate,
    ] {
        check(kind, &format!("\"{}\"", kind.as_str()));
    }
}
