//! How long the kitchen display takes to draw a busy screen: 200 open tickets, at
//! 80x24 and 160x48, into ratatui's test backend (the cost of building the frame;
//! writing it to a terminal is the terminal's business): whole tickets, and with a menu
//! of three stations, the grill's screen and the expo's. `cargo bench -p chit-tui`.

use chit_protocol::{Customer, Fulfilment, Item, ItemState, Menu, Order, Status, format_time};
use chit_tui::kitchen::app::{App, Settings, Ticket};
use chit_tui::kitchen::stations::Screen;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000_000;

fn busy_kitchen(open: i64) -> App {
    let mut app = App::new("r1", Settings::default(), NOW);
    app.loaded = true;
    let statuses = [
        Status::Pending,
        Status::Confirmed,
        Status::Preparing,
        Status::Ready,
    ];
    for id in 1..=open {
        let order = Order {
            id,
            number: id as u32,
            restaurant: "r1".into(),
            customer: Customer {
                id: format!("c{id}"),
                name: format!("Guest {id}"),
                phone: "0812345678".into(),
                address: Some("12 Sukhumvit".into()),
            },
            items: (0..(id % 4 + 1))
                .map(|i| Item {
                    name: ["Pad Thai", "Green curry", "Iced tea", "Sticky rice"][i as usize].into(),
                    qty: (i + 1) as u32,
                    unit_price: 12000,
                    note: (i == 0).then(|| "no peanuts".into()),
                    ..Default::default()
                })
                .collect(),
            total: 24000,
            note: (id % 3 == 0).then(|| "ring twice".into()),
            fulfilment: if id % 2 == 0 {
                Fulfilment::Pickup
            } else {
                Fulfilment::Delivery
            },
            status: statuses[id as usize % 4],
            rider: None,
            created_at: format_time(NOW - id * 7_000),
            updated_at: format_time(NOW),
            ..Default::default()
        };
        app.tickets.insert(id, Ticket::new(order, None));
    }
    app.selected = Some(open / 2);
    app.unacked.extend(1..=10);
    app
}

/// The busy kitchen with a menu: its items spread over grill, fry and bar, some
/// started or done, as `screen` shows them.
fn busy_stations(open: i64, screen: Screen) -> App {
    let mut app = busy_kitchen(open);
    let stations = ["grill", "fry", "bar"];
    for t in app.tickets.values_mut() {
        t.order.status = [Status::Confirmed, Status::Preparing][t.order.id as usize % 2];
        for (i, item) in t.order.items.iter_mut().enumerate() {
            item.station = Some(stations[(i + t.order.id as usize) % 3].into());
            item.state = [ItemState::Queued, ItemState::Started, ItemState::Done]
                [(i * 7 + t.order.id as usize) % 3];
        }
    }
    app.menu = Some(Menu {
        restaurant: "r1".into(),
        stations: stations.map(String::from).to_vec(),
        default_station: "grill".into(),
        ..Default::default()
    });
    app.screen = screen;
    app.selected = app
        .visible()
        .get(app.visible().len() / 2)
        .map(|t| t.order.id);
    app
}

fn render(c: &mut Criterion) {
    let screens = [
        ("tickets", busy_kitchen(200)),
        (
            "grill station",
            busy_stations(200, Screen::Station("grill".into())),
        ),
        ("expo", busy_stations(200, Screen::Expo)),
    ];
    for (name, app) in &screens {
        for (w, h) in [(80, 24), (160, 48)] {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            let label = match *name {
                "tickets" => format!("draw 200 tickets at {w}x{h}"),
                other => format!("draw 200 tickets, {other}, at {w}x{h}"),
            };
            c.bench_function(&label, |b| {
                b.iter(|| {
                    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
                })
            });
        }
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
