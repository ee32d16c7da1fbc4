//! Each function against its SQLite twin: the same operations on an in-memory SQLite
//! database and on a throwaway PostgreSQL one give the same results; and the log's
//! counter hands out seqs in commit order, without gaps.

use std::fmt::Debug;
use std::time::Duration;

use chit_protocol::{
    ChatMessage, Fulfilment, ItemState, NewCustomer, NewItem, NewOrder, Order, Priority, Role,
    Status, format_time,
};
use rusqlite::Connection;

use super::*;
use crate::auth::Principal;
use crate::store::postgres::test_db::TestDb;
use crate::store::queries::{self, TokenRow};
use crate::store::validate;

/// The same database twice: SQLite's and PostgreSQL's.
struct Both {
    lite: Connection,
    pg: ::postgres::Client,
    _db: TestDb,
}

fn both() -> Both {
    let mut lite = Connection::open_in_memory().unwrap();
    crate::store::migrate::migrate(&mut lite).unwrap();
    let db = TestDb::create();
    Both {
        lite,
        pg: db.connect(),
        _db: db,
    }
}

/// Asserts that both backends answered alike, and gives the answer.
#[track_caller]
fn same<T: PartialEq + Debug>(lite: rusqlite::Result<T>, pg: TxResult<T>) -> T {
    let lite = lite.expect("SQLite");
    let pg = pg.expect("PostgreSQL");
    assert_eq!(lite, pg, "SQLite (left) and PostgreSQL (right) differ");
    lite
}

const T0: i64 = 1_795_000_000_000;

fn valid(restaurant: &str, phone: &str, how: Fulfilment, rush: bool) -> ValidOrder {
    let order = NewOrder {
        restaurant: restaurant.into(),
        customer: NewCustomer {
            id: None,
            name: format!("Customer {phone}"),
            phone: phone.into(),
            address: (how == Fulfilment::Delivery).then(|| "12 Sukhumvit, \"soi\" 3".into()),
        },
        items: vec![
            NewItem::parse("2 x ผัดไทย, กุ้ง @ 120.50 [noodles]").unwrap(),
            NewItem::parse("Iced tea @ 35").unwrap(),
        ],
        note: rush.then(|| "ไม่ใส่ถั่ว".into()),
        fulfilment: how,
        source: rush.then(|| "pos".into()),
        priority: if rush {
            Priority::Rush
        } else {
            Priority::Normal
        },
        ..Default::default()
    };
    validate::validate(order, None).unwrap()
}

/// Places order `i` (of a varied set) on both; the order as both returned it.
fn place(b: &mut Both, i: i64, restaurant: &str, phone: &str) -> Order {
    let how = if i % 3 == 0 {
        Fulfilment::Pickup
    } else {
        Fulfilment::Delivery
    };
    let order = valid(restaurant, phone, how, i % 4 == 1);
    let times = (i % 5 == 2).then_some(Times {
        due_at: T0 + 3_600_000,
        fire_at: T0 + 1_800_000,
        fired_at: (i % 2 == 0).then_some(T0 + 1_900_000),
    });
    let now = T0 + i * 60_000;
    let at = format_time(now);
    let items = queries::plain_items(&order);
    same(
        queries::insert_order(&b.lite, &order, i as u32, items.clone(), times, (now, &at)),
        insert_order(&mut b.pg, &order, i as u32, items, times, (now, &at)),
    )
}

/// Moves `order` to `status` (with `rider`) on both.
fn advance(b: &mut Both, order: &mut Order, status: Status, rider: Option<&str>, now: i64) {
    order.status = status;
    order.rider = rider.map(str::to_string);
    same(
        queries::save_order_state(&b.lite, order, now),
        save_order_state(&mut b.pg, order, now),
    );
}

#[test]
fn orders_are_stored_and_read_back_as_sqlite_has_them() {
    let mut b = both();
    let mut placed = Vec::new();
    for i in 1..=8 {
        placed.push(place(&mut b, i, "r1", &format!("08123456{i:02}")));
    }
    assert_eq!(placed[0].id, 1);
    assert_eq!(placed[7].id, 8);
    for order in &placed {
        let read = same(
            queries::get_order(&b.lite, order.id),
            get_order(&mut b.pg, order.id),
        );
        assert_eq!(read.as_ref(), Some(order), "read back as placed");
    }
    assert!(placed.iter().any(|o| o.priority == Priority::Rush));
    assert!(placed.iter().any(|o| o.fired_at.is_some()));
    assert!(placed.iter().any(|o| o.fulfilment == Fulfilment::Pickup));
    assert_eq!(
        same(queries::get_order(&b.lite, 99), get_order(&mut b.pg, 99)),
        None
    );

    // The first ready sets ready_at; later changes (a rider taking it while ready, its
    // pickup) keep it.
    let mut order = placed[1].clone();
    advance(&mut b, &mut order, Status::Ready, None, T0 + 600_000);
    advance(&mut b, &mut order, Status::Ready, Some("sam"), T0 + 700_000);
    advance(
        &mut b,
        &mut order,
        Status::PickedUp,
        Some("sam"),
        T0 + 900_000,
    );
    let times = same(
        queries::order_times(&b.lite, order.id),
        order_times(&mut b.pg, order.id),
    );
    assert_eq!(times.1, Some(T0 + 600_000));
    order.items[0].state = ItemState::Done;
    order.items[0].done_at = Some(format_time(T0 + 800_000));
    same(
        queries::save_items(&b.lite, &order, T0 + 950_000),
        save_items(&mut b.pg, &order, T0 + 950_000),
    );
    let read = same(
        queries::get_order(&b.lite, order.id),
        get_order(&mut b.pg, order.id),
    )
    .unwrap();
    assert_eq!(read.items, order.items);
    assert_eq!(read.rider.as_deref(), Some("sam"));
    assert_eq!(read.updated_at, format_time(T0 + 950_000));
    same(queries::order_times(&b.lite, 3), order_times(&mut b.pg, 3));
    assert!(
        order_times(&mut b.pg, 99).is_err(),
        "as SQLite's, no such order is an error"
    );
    same(queries::count_orders(&b.lite), count_orders(&mut b.pg));
    assert_eq!(
        same(
            queries::newest_order_id(&b.lite),
            newest_order_id(&mut b.pg)
        ),
        8
    );
}

#[test]
fn lists_filter_and_page_as_sqlite_does() {
    let mut b = both();
    assert_eq!(
        same(
            queries::list_orders(
                &b.lite,
                &OrderFilter {
                    limit: 5,
                    ..Default::default()
                }
            ),
            list_orders(
                &mut b.pg,
                &OrderFilter {
                    limit: 5,
                    ..Default::default()
                }
            ),
        ),
        (vec![], false)
    );
    for i in 1..=30 {
        let restaurant = if i % 2 == 0 { "r1" } else { "r2" };
        let mut order = place(&mut b, i, restaurant, &format!("08100000{:02}", i % 4));
        let now = T0 + 3_600_000 + i;
        match i % 6 {
            1 => advance(&mut b, &mut order, Status::Preparing, None, now),
            2 => advance(&mut b, &mut order, Status::Ready, Some("sam"), now),
            3 => advance(&mut b, &mut order, Status::Ready, None, now),
            4 => advance(&mut b, &mut order, Status::Cancelled, None, now),
            _ => {}
        }
    }
    let base = |limit| OrderFilter {
        limit,
        ..Default::default()
    };
    let filters = [
        base(50),
        base(7),
        OrderFilter {
            restaurant: Some("r1".into()),
            statuses: vec![Status::Pending, Status::Preparing, Status::Ready],
            ..base(50)
        },
        OrderFilter {
            restaurant: Some("r2".into()),
            ..base(4)
        },
        OrderFilter {
            customer: Some("0810000001".into()),
            ..base(50)
        },
        OrderFilter {
            rider_view: Some("sam".into()),
            ..base(50)
        },
        OrderFilter {
            rider_view: Some("kim".into()),
            restaurant: Some("r2".into()),
            ..base(3)
        },
        OrderFilter {
            restaurant: Some("r1".into()),
            before: Some(17),
            ..base(3)
        },
        OrderFilter {
            statuses: vec![Status::Cancelled],
            customer: Some("0810000000".into()),
            before: Some(29),
            ..base(2)
        },
        OrderFilter {
            restaurant: Some("nowhere".into()),
            ..base(10)
        },
    ];
    for filter in &filters {
        let (orders, _) = same(
            queries::list_orders(&b.lite, filter),
            list_orders(&mut b.pg, filter),
        );
        assert!(orders.len() <= filter.limit as usize);
        assert!(orders.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        if filter.restaurant.as_deref() != Some("nowhere") {
            assert!(!orders.is_empty(), "{filter:?} found nothing to compare");
        }
    }
    // Paging a restaurant's orders back with the cursor reaches every one of them once.
    let mut filter = OrderFilter {
        restaurant: Some("r2".into()),
        ..base(4)
    };
    let mut seen = Vec::new();
    loop {
        let (page, more) = same(
            queries::list_orders(&b.lite, &filter),
            list_orders(&mut b.pg, &filter),
        );
        seen.splice(0..0, page.iter().map(|o| o.id));
        if !more {
            break;
        }
        filter.before = Some(page[0].id);
    }
    assert_eq!(seen, (1..=30).step_by(2).collect::<Vec<i64>>());
    assert_eq!(
        same(queries::count_orders(&b.lite), count_orders(&mut b.pg)),
        30
    );
}

#[test]
fn idempotency_keys_and_order_numbers_are_kept_as_sqlite_keeps_them() {
    let mut b = both();
    assert_eq!(
        same(
            queries::find_key(&b.lite, "r1", "k1"),
            find_key(&mut b.pg, "r1", "k1")
        ),
        None
    );
    same(
        queries::insert_key(&b.lite, "r1", "k1", 7, T0),
        insert_key(&mut b.pg, "r1", "k1", 7, T0),
    );
    same(
        queries::insert_key(&b.lite, "r2", "k1", 8, T0),
        insert_key(&mut b.pg, "r2", "k1", 8, T0),
    );
    assert_eq!(
        same(
            queries::find_key(&b.lite, "r1", "k1"),
            find_key(&mut b.pg, "r1", "k1")
        ),
        Some(7)
    );
    assert_eq!(
        same(
            queries::find_key(&b.lite, "r2", "k1"),
            find_key(&mut b.pg, "r2", "k1")
        ),
        Some(8)
    );
    assert!(queries::insert_key(&b.lite, "r1", "k1", 9, T0).is_err());
    assert!(
        insert_key(&mut b.pg, "r1", "k1", 9, T0).is_err(),
        "a key is used once"
    );

    let mut pg = b._db.connect();
    let last = |b: &mut Both, pg: &mut ::postgres::Client, r: &str, day: &str| {
        same(
            queries::last_number(&b.lite, r, day),
            last_number(pg, r, day),
        )
    };
    assert_eq!(last(&mut b, &mut pg, "r1", "2026-11-18"), 0);
    for (r, day, n) in [
        ("r1", "2026-11-18", 1),
        ("r1", "2026-11-18", 2),
        ("r1", "2026-11-19", 1),
        ("r2", "2026-11-18", 4_000_000_000),
    ] {
        same(
            queries::save_number(&b.lite, r, day, n),
            save_number(&mut pg, r, day, n),
        );
    }
    assert_eq!(last(&mut b, &mut pg, "r1", "2026-11-18"), 2);
    assert_eq!(last(&mut b, &mut pg, "r1", "2026-11-19"), 1);
    assert_eq!(last(&mut b, &mut pg, "r2", "2026-11-18"), 4_000_000_000);
    assert_eq!(last(&mut b, &mut pg, "r2", "2026-11-19"), 0);
}

/// Logs the same events on both: orders 1 and 2 are customer c1's, 3 is c2's; some rows
/// were stored under customer:c1 itself before `customer_rows_through`.
fn log(b: &mut Both) {
    for (i, phone) in ["0811111111", "0811111111", "0822222222"]
        .iter()
        .enumerate()
    {
        place(b, i as i64 + 1, "r1", phone);
    }
    let rooms = |list: &[&str]| list.iter().map(|r| r.to_string()).collect::<Vec<_>>();
    let events: Vec<(Vec<String>, &str, Option<i64>)> = vec![
        (rooms(&["customer:0811111111"]), "order_update", None),
        (
            rooms(&["restaurant:r1", "customer:0811111111"]),
            "new_order",
            Some(1),
        ),
        (rooms(&["restaurant:r1", "riders"]), "new_order", Some(2)),
        (rooms(&["chat:staff"]), "chat", None),
        (rooms(&["restaurant:r1"]), "new_order", Some(3)),
        (rooms(&["order:1"]), "chat", None),
        (
            rooms(&["restaurant:r1", "riders", "chat:staff"]),
            "order_update",
            Some(2),
        ),
        (rooms(&["restaurant:r1"]), "order_update", Some(1)),
        (rooms(&["riders"]), "offer", None),
        (rooms(&["restaurant:r1", "riders"]), "order_update", Some(3)),
    ];
    let mut first = 1u64;
    for (n, (rooms, kind, order_id)) in events.iter().enumerate() {
        let at = T0 + n as i64 * 1000;
        let data = format!(r#"{{"n":{n},"text":"ผัดไทย \"x\""}}"#);
        let pg_first = take_seqs(&mut b.pg, rooms.len() as u64, first - 1).unwrap();
        assert_eq!(pg_first, first, "the counter follows the log");
        same(
            queries::insert_event(&b.lite, first, rooms, kind, at, &data, *order_id),
            insert_event(&mut b.pg, first, rooms, kind, at, &data, *order_id),
        );
        first += rooms.len() as u64;
    }
    // The rows stored under customer:ID stop at seq 3 (the first event's, and the second
    // row of the second event); the customer's orders are read from there.
    queries::set_meta(&b.lite, "customer_rows_through", 3).unwrap();
    set_meta(&mut b.pg, "customer_rows_through", 3).unwrap();
}

const ROOMS: [&str; 9] = [
    "restaurant:r1",
    "riders",
    "chat:staff",
    "order:1",
    "order:2",
    "order:x",
    "customer:0811111111",
    "customer:0822222222",
    "customer:nobody",
];

#[test]
fn every_room_replays_as_it_does_from_sqlite() {
    let mut b = both();
    log(&mut b);
    let mut compared = 0;
    for room in ROOMS {
        let all = same(
            queries::events_since(&b.lite, room, 0, 100),
            events_since(&mut b.pg, room, 0, 100),
        );
        assert!(
            all.windows(2).all(|w| w[0].seq < w[1].seq),
            "{room}: in order"
        );
        for since in [0, 1, 3, 7, 12, 30] {
            for limit in [1, 2, 100] {
                let some = same(
                    queries::events_since(&b.lite, room, since, limit),
                    events_since(&mut b.pg, room, since, limit),
                );
                compared += some.len();
            }
        }
    }
    assert!(compared > 50, "{compared} events compared");
    // What each kind of room holds, so that the comparison covers them all.
    let seqs = |b: &mut Both, room| -> Vec<u64> {
        events_since(&mut b.pg, room, 0, 100)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(seqs(&mut b, "riders"), [5, 10, 13, 15]);
    assert_eq!(
        seqs(&mut b, "order:1"),
        [2, 8, 12],
        "its own and its restaurant's"
    );
    assert_eq!(
        seqs(&mut b, "customer:0811111111"),
        [1, 3, 4, 9, 12],
        "as stored, then through its orders"
    );
    let riders = events_since(&mut b.pg, "riders", 5, 1).unwrap();
    assert_eq!(
        riders[0].data, r#"{"n":6,"text":"ผัดไทย \"x\""}"#,
        "a ref row reads its event's data"
    );
    assert_eq!(same(queries::head(&b.lite), head(&mut b.pg)), 15);
}

#[test]
fn retention_prunes_what_sqlite_prunes_and_the_head_stays() {
    let mut b = both();
    log(&mut b);
    let hook = |b: &mut Both, delivered: i64| {
        b.lite
            .execute(
                "INSERT INTO webhooks (url, secret, created_at, delivered_seq)
                 VALUES ('http://a', 's', 0, ?1)",
                [delivered],
            )
            .unwrap();
        b.pg.execute(
            "INSERT INTO webhooks (url, secret, created_at, delivered_seq)
             VALUES ('http://a', 's', 0, $1)",
            &[&delivered],
        )
        .unwrap();
    };
    let prune = |b: &mut Both, before| {
        same(
            queries::prune_events(&b.lite, before),
            prune_events(&mut b.pg, before),
        )
    };
    assert_eq!(prune(&mut b, T0), 0, "nothing is that old");
    // The events before T0 + 9 s are seqs 1-13. A webhook that has delivered through
    // seq 4, the middle of an event (4-5), holds the cut before that event.
    hook(&mut b, 4);
    assert_eq!(prune(&mut b, T0 + 9_000), 3, "seqs 1-3");
    b.lite.execute("DELETE FROM webhooks", []).unwrap();
    b.pg.execute("DELETE FROM webhooks", &[]).unwrap();
    hook(&mut b, 10);
    assert_eq!(prune(&mut b, T0 + 9_000), 5, "seqs 4-8, not half of 9-11");
    assert_eq!(
        same(
            queries::meta(&b.lite, "pruned_through"),
            meta(&mut b.pg, "pruned_through")
        ),
        8
    );
    b.lite.execute("DELETE FROM webhooks", []).unwrap();
    b.pg.execute("DELETE FROM webhooks", &[]).unwrap();
    assert_eq!(prune(&mut b, T0 + 9_000), 5, "by age alone, through seq 13");
    assert_eq!(prune(&mut b, T0 + 9_000), 0);
    for room in ROOMS {
        same(
            queries::events_since(&b.lite, room, 0, 100),
            events_since(&mut b.pg, room, 0, 100),
        );
    }
    assert_eq!(
        same(
            queries::meta(&b.lite, "pruned_through"),
            meta(&mut b.pg, "pruned_through")
        ),
        13
    );
    assert_eq!(same(queries::head(&b.lite), head(&mut b.pg)), 15);
    assert_eq!(
        same(queries::meta(&b.lite, "absent"), meta(&mut b.pg, "absent")),
        0
    );
}

#[test]
fn chat_pages_back_as_it_does_from_sqlite() {
    let mut b = both();
    for i in 0..12u64 {
        let message = ChatMessage {
            id: 0,
            room: if i % 3 == 0 { "chat:r1" } else { "chat:staff" }.into(),
            seq: Some(100 + i),
            author: format!("kim {i}"),
            role: Role::ALL[i as usize % Role::ALL.len()],
            text: format!("ข้าวผัด \"{i}\""),
            at: String::new(),
        };
        assert_eq!(
            same(
                queries::insert_chat(&b.lite, &message, T0 + i as i64),
                insert_chat(&mut b.pg, &message, T0 + i as i64),
            ),
            i as i64 + 1
        );
    }
    for (room, expected) in [("chat:staff", 3), ("chat:r1", 2), ("chat:none", 0)] {
        let mut before = None;
        let mut pages = 0;
        loop {
            let page = same(
                queries::chat_history(&b.lite, room, before, 3),
                chat_history(&mut b.pg, room, before, 3),
            );
            if page.is_empty() {
                break;
            }
            assert!(page.windows(2).all(|w| w[0].seq < w[1].seq));
            before = page[0].seq;
            pages += 1;
        }
        assert_eq!(pages, expected, "{room}");
    }
}

#[test]
fn tokens_are_issued_found_and_revoked_as_in_sqlite() {
    let mut b = both();
    let principal = |role, restaurant: Option<&str>, label: Option<&str>| Principal {
        token_id: 0,
        role,
        restaurant: restaurant.map(str::to_string),
        rider: (role == Role::Rider).then(|| "sam".to_string()),
        customer: (role == Role::Customer).then(|| "0811111111".to_string()),
        label: label.map(str::to_string),
    };
    let issued = [
        principal(Role::Admin, None, Some("ops")),
        principal(Role::Kitchen, Some("r1"), None),
        principal(Role::Rider, None, Some("bike")),
        principal(Role::Customer, None, None),
        principal(Role::Pos, Some("r2"), Some("till")),
    ];
    for (i, p) in issued.iter().enumerate() {
        let hash = format!("hash{i}");
        same(
            queries::insert_token(&b.lite, &hash, p, T0 + i as i64),
            insert_token(&mut b.pg, &hash, p, T0 + i as i64),
        );
    }
    assert!(
        insert_token(&mut b.pg, "hash0", &issued[0], T0).is_err(),
        "hashes are unique"
    );
    assert!(same(
        queries::revoke_token(&b.lite, 2, T0 + 50),
        revoke_token(&mut b.pg, 2, T0 + 50)
    ));
    assert!(!same(
        queries::revoke_token(&b.lite, 2, T0 + 60),
        revoke_token(&mut b.pg, 2, T0 + 60)
    ));
    assert!(!same(
        queries::revoke_token(&b.lite, 9, T0),
        revoke_token(&mut b.pg, 9, T0)
    ));
    assert_eq!(
        same(queries::revoked_tokens(&b.lite), revoked_tokens(&mut b.pg)),
        [2]
    );
    for id in 0..=6 {
        let live = same(
            queries::token_is_live(&b.lite, id),
            token_is_live(&mut b.pg, id),
        );
        assert_eq!(live, (1..=5).contains(&id) && id != 2);
        same(
            queries::token_by_id(&b.lite, id),
            token_by_id(&mut b.pg, id),
        );
    }
    for hash in ["hash0", "hash1", "hash4", "nope"] {
        same(
            queries::token_by_hash(&b.lite, hash),
            token_by_hash(&mut b.pg, hash),
        );
    }
    let found = token_by_hash(&mut b.pg, "hash4").unwrap().unwrap();
    assert_eq!((found.token_id, found.role), (5, Role::Pos));
    let rows = |list: Vec<TokenRow>| -> Vec<(Principal, i64, Option<i64>)> {
        list.into_iter()
            .map(|t| (t.principal, t.created_at, t.revoked_at))
            .collect()
    };
    let listed = same(
        queries::list_tokens(&b.lite).map(rows),
        list_tokens(&mut b.pg).map(rows),
    );
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[1].2, Some(T0 + 50));
}

#[test]
fn the_counter_hands_out_consecutive_seqs_and_a_rollback_leaves_no_gap() {
    let db = TestDb::create();
    let mut c = db.connect();
    assert_eq!(take_seqs(&mut c, 3, 0).unwrap(), 1);
    assert_eq!(take_seqs(&mut c, 1, 0).unwrap(), 4);
    assert_eq!(head(&mut c).unwrap(), 4, "log_head advanced");
    let mut tx = c.transaction().unwrap();
    assert_eq!(take_seqs(&mut tx, 5, 4).unwrap(), 5);
    tx.rollback().unwrap();
    assert_eq!(head(&mut c).unwrap(), 4);
    assert_eq!(
        take_seqs(&mut c, 2, 4).unwrap(),
        5,
        "no gap after the rollback"
    );
    assert_eq!(head(&mut c).unwrap(), 6);
}

#[test]
fn a_second_writer_waits_for_the_first_to_commit_and_follows_it() {
    let db = TestDb::create();
    let mut a = db.connect();
    let mut b = db.connect();
    let mut tx = a.transaction().unwrap();
    assert_eq!(take_seqs(&mut tx, 2, 0).unwrap(), 1);
    let (sent, taken) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut tx = b.transaction().unwrap();
        let first = take_seqs(&mut tx, 1, 0).unwrap();
        tx.commit().unwrap();
        sent.send(first).unwrap();
    });
    assert!(
        taken.recv_timeout(Duration::from_millis(200)).is_err(),
        "the second writer took seqs while the first was open"
    );
    tx.commit().unwrap();
    assert_eq!(taken.recv_timeout(Duration::from_secs(10)).unwrap(), 3);
    other.join().unwrap();
    assert_eq!(head(&mut a).unwrap(), 3);
}

/// A key claimed in one transaction while another holds it: the second waits, and once
/// the first commits it gets the first's order, with no unique violation; a claim by a
/// transaction that rolled back is free again.
#[test]
fn a_key_claimed_on_two_connections_at_once_names_one_order() {
    let db = TestDb::create();
    let (mut first, mut second) = (db.connect(), db.connect());
    let mut tx = first.transaction().unwrap();
    assert_eq!(claim_key(&mut tx, "r1", "k1", T0).unwrap(), None);
    let waiting = std::thread::spawn(move || {
        let mut tx = second.transaction().unwrap();
        let got = claim_key(&mut tx, "r1", "k1", T0).unwrap();
        tx.commit().unwrap();
        got
    });
    // Until the first commits, the second cannot know whose the key is.
    waits_for_a_lock(&db);
    assert!(
        !waiting.is_finished(),
        "the second claim waits for the first"
    );
    insert_key(&mut tx, "r1", "k1", 42, T0).unwrap();
    tx.commit().unwrap();
    assert_eq!(waiting.join().unwrap(), Some(42));

    let mut tx = first.transaction().unwrap();
    assert_eq!(claim_key(&mut tx, "r1", "k2", T0).unwrap(), None);
    tx.rollback().unwrap();
    let mut tx = first.transaction().unwrap();
    assert_eq!(
        claim_key(&mut tx, "r1", "k2", T0).unwrap(),
        None,
        "free again"
    );
    insert_key(&mut tx, "r1", "k2", 43, T0).unwrap();
    tx.commit().unwrap();
    assert_eq!(find_key(&mut first, "r1", "k2").unwrap(), Some(43));
}

/// Two transactions numbering one restaurant's orders take turns on its row: the second
/// reads the number the first saved, not the one before it.
#[test]
fn the_last_number_is_read_locked() {
    let db = TestDb::create();
    let (mut first, mut second) = (db.connect(), db.connect());
    let mut tx = first.transaction().unwrap();
    assert_eq!(last_number(&mut tx, "r1", "2026-11-18").unwrap(), 0);
    let waiting = std::thread::spawn(move || {
        let mut tx = second.transaction().unwrap();
        let last = last_number(&mut tx, "r1", "2026-11-18").unwrap();
        save_number(&mut tx, "r1", "2026-11-18", last + 1).unwrap();
        tx.commit().unwrap();
        last
    });
    waits_for_a_lock(&db);
    assert!(!waiting.is_finished(), "the second waits for the first");
    save_number(&mut tx, "r1", "2026-11-18", 1).unwrap();
    tx.commit().unwrap();
    assert_eq!(waiting.join().unwrap(), 1);
    assert_eq!(last_number(&mut first, "r1", "2026-11-18").unwrap(), 2);
}

/// Returns once a session of `db` waits for a lock (panics after 10 s).
fn waits_for_a_lock(db: &TestDb) {
    let mut c = db.connect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c
        .query(
            "SELECT 1 FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing waits for a lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
