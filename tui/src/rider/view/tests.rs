use super::*;
use crate::conn::Conn;
use crate::rider::app::{Act, Pending};
use chit_protocol::{Customer, Fulfilment, Item, format_time};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000_000;

fn order(id: i64, restaurant: &str, status: Status, rider: Option<&str>, age_secs: i64) -> Order {
    Order {
        id,
        number: id as u32 + 10,
        restaurant: restaurant.into(),
        customer: Customer {
            id: "c".into(),
            name: ["Ann", "Bo", "Chai", "Dao", "Ek"][id as usize % 5].into(),
            phone: format!("08123456{id:02}"),
            address: Some(
                [
                    "12 Sukhumvit Soi 4, Khlong Toei",
                    "88/1 Silom Road, Bang Rak, Bangkok 10500, 3rd floor, ask for the office",
                    "Ari Soi 2",
                ][id as usize % 3]
                    .into(),
            ),
        },
        items: (0..(id as usize % 3 + 1))
            .map(|i| Item {
                name: ["Pad Thai", "Green curry", "Iced tea"][i].into(),
                qty: (i + 1) as u32,
                unit_price: 12000,
                note: None,
                ..Default::default()
            })
            .collect(),
        total: 12000 * id,
        note: Some("call on arrival".into()),
        fulfilment: Fulfilment::Delivery,
        status,
        rider: rider.map(str::to_string),
        created_at: format_time(NOW - age_secs * 1000),
        updated_at: format_time(NOW),
        ..Default::default()
    }
}

fn app(orders: Vec<Order>) -> App {
    let mut app = App::new("bo", true, NOW);
    app.conn = Conn::Online { via: None };
    app.loaded = true;
    for o in orders {
        app.orders.insert(o.id, o);
    }
    app.selected_mine = app.mine().first().map(|o| o.id);
    app.selected_offer = app.offers().first().map(|o| o.id);
    app
}

/// A rider with one delivery on the way, one waiting at the counter, and offers.
fn busy() -> App {
    app(vec![
        order(1, "r1", Status::PickedUp, Some("bo"), 1500),
        order(2, "r2", Status::Ready, Some("bo"), 700),
        order(3, "r1", Status::Ready, None, 420),
        order(4, "noodle-bar-on-sukhumvit", Status::Ready, None, 30),
        order(5, "r3", Status::Preparing, None, 200),
        order(6, "r2", Status::Ready, Some("al"), 100),
    ])
}

fn screen(app: &App, width: u16, height: u16) -> String {
    crate::widgets::screen_text(app, width, height)
}

/// Snapshots at 80x24 and 60x20; the local clock is masked, so the machine's time
/// zone does not matter.
fn snapshot(name: &str, app: &App) {
    for (w, h) in [(80, 24), (60, 20)] {
        let text = screen(app, w, h);
        insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\d", "[clock]")]}, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        });
    }
}

#[test]
fn offers_and_deliveries() {
    let app = busy();
    for (w, h) in [(80, 24), (60, 20)] {
        let text = screen(&app, w, h);
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle} at {w}x{h}:\n{text}"))
                .to_string()
        };
        assert!(line("#11").contains("PICKED UP"), "{text}");
        assert!(line("#12").contains("READY"));
        assert!(
            line("#13").starts_with("▶ r1"),
            "the selected offer is marked"
        );
        assert!(line("#13").contains("1 item "));
        assert!(line("#13").contains("360.00"));
        assert!(line("#13").contains("7 min"));
        assert!(line("#14").contains("noodle-ba…"));
        assert!(line("#14").contains("<1 min"));
        assert!(line("#15").contains("upcoming"));
        assert!(!text.contains("#16"), "al's order is not shown");
        assert!(line("MY DELIVERIES").contains("· 2"));
        assert!(line("OFFERS").contains("2 ready · 1 upcoming"));
        assert!(
            line("0812345601").contains("Bo"),
            "my deliveries show the phone"
        );
        assert!(line("⏎ claim").contains("? help"));
        for l in text.lines() {
            assert!(l.chars().count() <= w as usize);
        }
    }
    snapshot("busy", &app);
}

#[test]
fn focus_on_my_deliveries_changes_enter() {
    let mut app = busy();
    app.pane = Pane::Mine;
    let text = screen(&app, 80, 24);
    assert!(text.contains("⏎ details"));
    assert!(text.lines().any(|l| l.starts_with("▶ MY DELIVERIES")));
    assert!(
        text.lines()
            .any(|l| l.starts_with("› r1") && l.contains("#13")),
        "the offer selection stays visible\n{text}"
    );
}

#[test]
fn empty_and_loading() {
    let mut app = app(vec![]);
    let text = screen(&app, 60, 20);
    assert!(text.contains("nothing claimed yet"));
    assert!(text.contains("no offers right now"));
    app.loaded = false;
    app.conn = Conn::Connecting;
    let text = screen(&app, 60, 20);
    assert!(text.contains("loading orders…"));
    assert!(text.contains("connecting to the server"));
    snapshot("empty", &self::app(vec![]));
}

#[test]
fn offline_shows_since_when_and_what_is_queued() {
    let mut app = busy();
    app.conn = Conn::Offline {
        since: NOW - 65_000,
        retry_at: NOW + 3_000,
        reason: "connection lost".into(),
    };
    app.pending.insert(
        1,
        Pending {
            order_id: 1,
            label: "r1 #11".into(),
            act: Act::Deliver,
        },
    );
    for (w, h) in [(80, 24), (60, 20)] {
        let text = screen(&app, w, h);
        assert!(text.contains("RECONNECTING IN 3 S"), "{text}");
        assert!(text.contains("OFFLINE since"));
        assert!(text.contains("1 change"), "{text}");
        assert!(text.contains("[marking delivered (queued)]"), "{text}");
    }
    snapshot("offline", &app);
}

#[test]
fn help_fits_a_phone() {
    let mut app = busy();
    app.overlay = Overlay::Help;
    let text = screen(&app, 60, 20);
    for key in [
        "Enter",
        "claim",
        "picked up",
        "delivered",
        "release",
        "Tab",
        "mute",
        "quit",
    ] {
        assert!(text.contains(key), "help mentions {key}:\n{text}");
    }
    snapshot("help", &app);
}

#[test]
fn details_and_release_popups() {
    let mut app = busy();
    app.overlay = Overlay::Details(2);
    let text = screen(&app, 60, 20);
    for part in [
        "order #12",
        "tel  0812345602",
        "addr Ari Soi 2",
        "note: call on arrival",
        "rider bo",
    ] {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    app.overlay = Overlay::ConfirmRelease(2);
    let text = screen(&app, 60, 20);
    assert!(text.contains("Release #12 (r2) to the offers?"), "{text}");
    assert!(text.contains("y: release"));
}

#[test]
fn the_selected_offer_is_always_on_screen() {
    let mut orders: Vec<Order> = (1..=30)
        .map(|i| order(i, "r1", Status::Ready, None, 600 - i))
        .collect();
    orders.push(order(40, "r1", Status::PickedUp, Some("bo"), 900));
    orders.push(order(41, "r1", Status::Ready, Some("bo"), 900));
    let mut app = app(orders);
    for id in [1, 17, 30] {
        app.selected_offer = Some(id);
        for (w, h) in [(80, 24), (60, 20), (60, 12)] {
            let text = screen(&app, w, h);
            let number = format!("#{} ", id + 10);
            assert!(
                text.lines()
                    .any(|l| l.starts_with('▶') && l.contains(&number)),
                "{number} at {w}x{h}:\n{text}"
            );
            assert!(text.contains(" of 30"), "the title says how much is hidden");
            assert!(text.contains("#50"), "my deliveries keep their place");
        }
    }
}

#[test]
fn no_color_draws_without_colours_and_marks_by_text() {
    let mut app = busy();
    app.color = false;
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
    let text = screen(&app, 80, 24);
    assert!(text.contains("▶ r1"), "selection is a marker, not a colour");
    assert!(text.contains("READY") && text.contains("upcoming"));
}

/// Deliveries to Thai and Chinese names and addresses: the address line is cut by
/// columns and marked, and no line is wider than the screen.
#[test]
fn thai_and_cjk_addresses_are_cut_by_columns() {
    let mut orders = busy().orders.into_values().collect::<Vec<_>>();
    orders.sort_by_key(|o| o.id);
    let wide = [
        (
            "สมศักดิ์ ใจดีมีสุข",
            "๙๙/๑ ซอยสุขุมวิท ๒๔ แขวงคลองตันเหนือ เขตวัฒนา กรุงเทพมหานคร ๑๐๑๑๐ ตึกสีฟ้า ชั้นสาม กดกริ่งสองครั้ง",
        ),
        (
            "王小明",
            "北京市朝阳区建国门外大街一号国贸大厦三座二十八层二八零一室请到前台打电话给我谢谢您",
        ),
        ("ณัฐพงษ์", "ซอยอารีย์ ๒"),
    ];
    for (o, (name, address)) in orders.iter_mut().zip(wide) {
        o.customer.name = name.into();
        o.customer.address = Some(address.into());
    }
    let app = app(orders);
    let text = screen(&app, 80, 24);
    for line in text.lines() {
        assert!(chit_text::width(line) <= 80, "{line:?} is wider than 80");
    }
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}:\n{text}"))
            .to_string()
    };
    // Long addresses end in the mark, at the screen's edge; a short one is whole.
    for start in ["๙๙/๑ ซอยสุขุมวิท", "北京市朝阳区"] {
        let l = line(start);
        assert!(l.ends_with('…'), "{l}");
        assert!(
            chit_text::width(&l) >= 78,
            "cut at the edge, not before: {l}"
        );
    }
    assert!(line("ซอยอารีย์ ๒").ends_with("ซอยอารีย์ ๒"));
    assert!(line("0812345601").contains("สมศักดิ์ ใจดีมีสุข"));
    insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\d", "[clock]")]}, {
        insta::assert_snapshot!("wide_names_80x24", text);
    });
}
