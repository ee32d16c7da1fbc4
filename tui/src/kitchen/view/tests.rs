use super::*;
use crate::conn::Conn;
use crate::kitchen::app::{Overlay, Settings};
use chit_protocol::{Analytics, Customer, Item, Order, Status, format_time};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000_000;

fn order(id: i64, status: Status, age_secs: i64, items: usize) -> Order {
    Order {
        id,
        number: id as u32,
        restaurant: "r1".into(),
        customer: Customer {
            id: "c".into(),
            name: ["Ann", "Bo", "Chai", "Dao", "Ek"][id as usize % 5].into(),
            phone: "0812345678".into(),
            address: Some("12 Sukhumvit".into()),
        },
        items: (0..items)
            .map(|i| Item {
                name: ["Pad Thai", "Green curry", "Iced tea", "Sticky rice"][i % 4].into(),
                qty: (i + 1) as u32,
                unit_price: 12000,
                note: (i == 0).then(|| "no peanuts".into()),
                ..Default::default()
            })
            .collect(),
        total: 24000,
        note: (id % 2 == 0).then(|| "ring twice".into()),
        fulfilment: if id % 3 == 0 {
            Fulfilment::Pickup
        } else {
            Fulfilment::Delivery
        },
        status,
        rider: None,
        created_at: format_time(NOW - age_secs * 1000),
        updated_at: format_time(NOW),
        ..Default::default()
    }
}

fn app(orders: Vec<Order>) -> App {
    let mut app = App::new("r1", Settings::default(), NOW);
    app.conn = Conn::Online { via: None };
    app.loaded = true;
    app.analytics = Some(Analytics {
        restaurant: Some("r1".into()),
        total_orders: 42,
        total_revenue: 1_234_500,
        pending_orders: 2,
        open_orders: 6,
        cancelled_orders: 1,
        avg_ready_minutes: Some(11.5),
        ..Default::default()
    });
    for o in orders {
        app.tickets
            .insert(o.id, crate::kitchen::app::Ticket::new(o, None));
    }
    app.selected = app.visible().first().map(|t| t.order.id);
    app
}

fn kitchen() -> App {
    let mut app = app(vec![
        order(1, Status::Pending, 30, 2),
        order(2, Status::Pending, 5, 1),
        order(3, Status::Confirmed, 200, 3),
        order(4, Status::Preparing, 420, 2),
        order(5, Status::Ready, 700, 1),
    ]);
    app.unacked.extend([1, 2]);
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    crate::widgets::screen_text(app, width, height)
}

fn snapshot(name: &str, app: &App) {
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(app, w, h);
        // Clock times are local: the machine's time zone must not change a snapshot.
        insta::with_settings!({filters => vec![
            (r"\d\d:\d\d:\d\d", "[clock]"),
            (r"(due|fires|until) \d\d:\d\d", "$1 [hh:mm]"),
        ]}, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        });
    }
}

#[test]
fn new_orders() {
    let app = kitchen();
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("NEW ★"),
        "unacknowledged orders are marked in text"
    );
    assert!(text.contains("NEW 2"));
    snapshot("new", &app);
}

#[test]
fn aging_and_late_tickets_carry_markers_not_only_colour() {
    let app = kitchen();
    let text = screen(&app, 160, 48);
    assert!(text.contains("07:00 !"), "a warning ticket is marked");
    assert!(text.contains("11:40 LATE"), "a late ticket is marked");
    let mut late = app.clone();
    late.now += 15 * 60 * 1000;
    snapshot("late", &late);
}

#[test]
fn all_day_counts_items_across_open_tickets() {
    let mut app = kitchen();
    app.all_day = true;
    let text = screen(&app, 80, 24);
    assert!(text.contains("ALL DAY"));
    assert!(text.contains("   5 Pad Thai"), "{text}");
    snapshot("all_day", &app);
}

#[test]
fn help_lists_the_keys() {
    let mut app = kitchen();
    app.overlay = Overlay::Help;
    let text = screen(&app, 80, 24);
    for key in [
        "Enter/Space",
        "1 … 9",
        "recall",
        "all-day",
        "upcoming",
        "86 an item",
        "mute",
        "quit",
    ] {
        assert!(text.contains(key), "help mentions {key}");
    }
    snapshot("help", &app);
}

#[test]
fn offline_banner_says_since_when_and_what_is_queued() {
    let mut app = kitchen();
    app.conn = Conn::Offline {
        since: NOW - 65_000,
        retry_at: NOW + 3_000,
        reason: "connection lost".into(),
    };
    app.pending.insert(
        1,
        crate::kitchen::app::Pending {
            order_id: 3,
            number: 3,
            change: crate::kitchen::app::Change::Status {
                from: Status::Confirmed,
                to: Status::Preparing,
                recall: false,
            },
        },
    );
    app.tickets.get_mut(&3).unwrap().queued = Some(Status::Preparing);
    let text = screen(&app, 160, 48);
    assert!(text.contains("OFFLINE since"));
    assert!(text.contains("reconnecting in 3 s"));
    assert!(text.contains("1 change queued"));
    assert!(text.contains("→ PREPARING (queued)"));
    snapshot("offline", &app);
}

#[test]
fn the_selected_ticket_is_always_on_screen() {
    let orders: Vec<Order> = (1..=60)
        .map(|i| order(i, Status::Confirmed, i, 2))
        .collect();
    let mut app = app(orders);
    app.selected = Some(60);
    for (w, h) in [(80, 24), (160, 48), (50, 20)] {
        let text = screen(&app, w, h);
        assert!(text.contains("#60"), "#60 visible at {w}x{h}:\n{text}");
    }
}

#[test]
fn narrow_screens_get_a_compact_list() {
    let app = kitchen();
    let text = screen(&app, 50, 20);
    assert!(
        text.lines()
            .any(|l| l.contains("#1") && l.contains("Pad Thai")),
        "{text}"
    );
    insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\d", "[clock]")]}, {
        insta::assert_snapshot!("narrow_50x20", text);
    });
}

#[test]
fn no_color_draws_without_colours() {
    let mut app = kitchen();
    app.settings.color = false;
    app.now += 15 * 60 * 1000;
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}

/// Tickets named in Thai (combining vowel and tone marks take no column) and Chinese
/// (two columns a character), long enough to be cut.
fn wide_names() -> App {
    let named = [
        ("สมชาย ใจดี", "ผัดกะเพราหมูสับไข่ดาว ไม่เผ็ด", "ไม่ใส่ผงชูรส"),
        ("王小明", "宫保鸡丁盖饭加辣加蛋", "少辣，谢谢"),
        ("ประยุทธ์ ศรีสวัสดิ์วงศ์ใหญ่ยิ่งยืนนานกว่าช่องบัตร", "ต้มยำกุ้งน้ำข้น", "แยกน้ำ"),
        ("佐藤 花子さん", "親子丼 大盛り", "箸を二膳"),
        ("Ann", "Pad Thai", "no peanuts"),
        ("กิตติศักดิ์ ศรีสุขวัฒนกุลชัย", "ข้าวเหนียวมะม่วง", "ใส่กล่อง"),
        ("欧阳娜娜和她的朋友们一起来点餐了", "珍珠奶茶", "去冰"),
    ];
    let orders = named
        .iter()
        .enumerate()
        .map(|(i, (name, item, note))| {
            let mut o = order(i as i64 + 1, Status::Confirmed, 60 * i as i64, 1);
            o.customer.name = name.to_string();
            o.items[0].name = item.to_string();
            o.items[0].note = None;
            o.note = Some(note.to_string());
            o
        })
        .collect();
    app(orders)
}

#[test]
fn thai_and_cjk_names_are_cut_by_columns_and_keep_their_lines() {
    let app = wide_names();
    for (w, h) in [(80, 24), (50, 20)] {
        let text = screen(&app, w, h);
        for line in text.lines() {
            assert!(
                chit_text::width(line) <= w as usize,
                "{line:?} is wider than {w}"
            );
        }
    }
    let text = screen(&app, 80, 24);
    // Two cards side by side: every row of them is the screen's width, so the borders
    // of the second card stand in one column.
    let rows: Vec<&str> = text.lines().skip(2).take(10).collect();
    for row in &rows {
        assert_eq!(chit_text::width(row), 80, "{row:?}");
    }
    // A name that fits is shown whole (28 characters of Thai are 18 columns), and the
    // fulfilment after it stays on the card.
    for name in ["สมชาย ใจดี", "王小明", "กิตติศักดิ์ ศรีสุขวัฒนกุลชัย"]
    {
        let line = text.lines().find(|l| l.contains(name)).expect(name);
        assert!(line.contains(&format!("{name} · ")), "{line}");
    }
    // One that does not is cut by columns (16 Chinese characters are 32), marked, and
    // still followed by it.
    for start in ["ประยุทธ์", "欧阳娜娜"] {
        let cut = text.lines().find(|l| l.contains(start)).expect(start);
        assert!(cut.contains("… · "), "{cut}");
    }
    insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\d", "[clock]")]}, {
        insta::assert_snapshot!("wide_names_80x24", text);
        insta::assert_snapshot!("wide_names_50x20", screen(&app, 50, 20));
    });
}

/// A kitchen with a menu of three stations and orders at every stage, as the station
/// and expo screens see it.
fn stations_kitchen(screen: crate::kitchen::stations::Screen) -> App {
    use chit_protocol::{ItemState::*, Menu, Priority};
    let item = |name: &str, qty: u32, station: &str, state| Item {
        name: name.into(),
        qty,
        unit_price: 9000,
        station: Some(station.into()),
        state,
        ..Default::default()
    };
    let mut one = order(1, Status::Preparing, 460, 0);
    one.items = vec![
        item("Cheeseburger", 2, "grill", Started),
        item("Fries", 2, "fry", Done),
        item("Onion rings", 1, "fry", Queued),
        item("Cola", 2, "bar", Done),
    ];
    one.items[0].note = Some("one without onion".into());
    one.source = Some("uber".into());
    let mut two = order(2, Status::Preparing, 300, 0);
    two.items = vec![
        item("Ribeye", 1, "grill", Done),
        item("Fries", 1, "fry", Done),
        item("Iced tea", 1, "bar", Done),
    ];
    two.source = Some("pos".into());
    let mut three = order(3, Status::Pending, 40, 0);
    three.items = vec![
        item("Chicken wings", 12, "fry", Queued),
        item("Beer", 2, "bar", Queued),
    ];
    three.priority = Priority::Rush;
    three.source = Some("web".into());
    let mut four = order(4, Status::Confirmed, 120, 0);
    four.items = vec![
        item("Burger", 1, "grill", Queued),
        item("Sweet potato fries", 1, "fry", Queued),
    ];
    four.due_at = Some(format_time(NOW + 14 * 60_000));
    four.fired_at = Some(format_time(NOW - 2 * 60_000));
    four.fire_at = Some(format_time(NOW - 2 * 60_000));
    let mut held = order(5, Status::Pending, 60, 0);
    held.items = vec![
        item("Ribeye", 2, "grill", Queued),
        item("Fries", 2, "fry", Queued),
    ];
    held.due_at = Some(format_time(NOW + 90 * 60_000));
    held.fire_at = Some(format_time(NOW + 72 * 60_000));
    let mut app = app(vec![one, two, three, four, held]);
    app.screen = screen;
    app.menu = Some(Menu {
        restaurant: "r1".into(),
        stations: vec!["grill".into(), "fry".into(), "bar".into()],
        default_station: "grill".into(),
        ..Default::default()
    });
    app.unavailable = vec![chit_protocol::UnavailableItem {
        item: "Onion rings".into(),
        until: format_time(NOW + 6 * 3_600_000),
        since: format_time(NOW),
        by: None,
    }];
    if let Some(a) = app.analytics.as_mut() {
        a.speed.orders = chit_protocol::Timing {
            count: 30,
            median_minutes: Some(12.5),
            p90_minutes: Some(21.0),
        };
        a.speed.stations = vec![chit_protocol::StationTiming {
            station: "grill".into(),
            items: chit_protocol::Timing {
                count: 40,
                median_minutes: Some(8.0),
                p90_minutes: Some(14.5),
            },
        }];
    }
    app.unacked.insert(3);
    app.selected = app.visible().first().map(|t| t.order.id);
    app
}

#[test]
fn a_station_screen_shows_its_items_and_what_the_others_have() {
    let app = stations_kitchen(crate::kitchen::stations::Screen::Station("fry".into()));
    let text = screen(&app, 160, 48);
    assert!(text.contains("chit kitchen · r1 · fry"), "{text}");
    assert!(text.contains("12 x Chicken wings"));
    assert!(text.contains("RUSH"), "a rush ticket is marked");
    assert!(text.contains("also: grill 0/1▸ · bar ✓"), "{text}");
    assert!(
        !text.contains("Ribeye"),
        "#2 is done here and the held order waits"
    );
    assert!(
        !text.contains("Cheeseburger"),
        "other stations' items are left out"
    );
    assert!(text.contains("due ") && text.contains("in 14m"));
    assert!(text.contains("Onion rings  [86]"));
    assert!(text.contains("upcoming 1"));
    snapshot("station", &app);
}

#[test]
fn the_expo_screen_shows_each_stations_progress_and_what_can_go_out() {
    let app = stations_kitchen(crate::kitchen::stations::Screen::Expo);
    let text = screen(&app, 160, 48);
    assert!(text.contains("chit expo · r1"));
    assert!(text.contains("grill 0/1▸ · fry 1/2 · bar ✓"), "{text}");
    assert!(
        text.contains("ALL DONE ✓"),
        "an order with every item done stands out"
    );
    assert!(
        text.contains("out p50 12.5 p90 21.0 min"),
        "speed of service"
    );
    assert!(text.contains("86: Onion rings"));
    snapshot("expo", &app);
}

#[test]
fn the_upcoming_view_lists_orders_placed_for_later() {
    let mut app = stations_kitchen(crate::kitchen::stations::Screen::Expo);
    app.upcoming = true;
    app.selected = Some(5);
    let text = screen(&app, 80, 24);
    assert!(text.contains("UPCOMING · 1 placed for later"), "{text}");
    assert!(text.contains("#5") && text.contains("(in 72m)") && text.contains("2 x Ribeye"));
    snapshot("upcoming", &app);
}

#[test]
fn a_station_that_is_not_on_the_menu_says_so() {
    let mut app = stations_kitchen(crate::kitchen::stations::Screen::Station("wok".into()));
    assert!(
        screen(&app, 80, 24)
            .contains("wok is not a station of r1's menu: its stations are grill, fry, bar")
    );
    app.menu = None;
    assert!(screen(&app, 160, 48).contains("r1 has no menu loaded"));
}

#[test]
fn a_cards_height_is_counted_as_its_lines_are_built() {
    use crate::kitchen::stations::Screen;
    let theme = Theme { color: true };
    let mut apps = vec![kitchen()];
    for screen in [
        Screen::Tickets,
        Screen::Expo,
        Screen::Station("grill".into()),
        Screen::Station("fry".into()),
        Screen::Station("bar".into()),
    ] {
        let mut app = stations_kitchen(screen);
        if let Some(t) = app.tickets.get_mut(&1) {
            t.items_queued.insert(1, chit_protocol::ItemState::Done);
        }
        apps.push(app);
    }
    for app in &apps {
        for t in app.tickets.values() {
            assert_eq!(
                card_line_count(app, t),
                card_lines(app, t, 30, theme).len(),
                "#{} on {:?}",
                t.order.number,
                app.screen
            );
        }
    }
}
