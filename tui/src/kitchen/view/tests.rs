use super::*;
use crate::conn::Conn;
use crate::kitchen::app::Settings;
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
        insta::with_settings!({filters => vec![(r"\d\d:\d\d:\d\d", "[clock]")]}, {
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
    for key in ["Enter, Space", "1 … 9", "recall", "all-day", "mute", "quit"] {
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
            from: Status::Confirmed,
            to: Status::Preparing,
            recall: false,
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
