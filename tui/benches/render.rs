//! How long the kitchen display takes to draw a busy screen: 200 open tickets, at
//! 80x24 and 160x48, into ratatui's test backend (the cost of building the frame;
//! writing it to a terminal is the terminal's business). `cargo bench -p chit-tui`.

use chit_protocol::{Customer, Fulfilment, Item, Order, Status, format_time};
use chit_tui::kitchen::app::{App, Settings, Ticket};
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

fn render(c: &mut Criterion) {
    let app = busy_kitchen(200);
    for (w, h) in [(80, 24), (160, 48)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("draw 200 tickets at {w}x{h}"), |b| {
            b.iter(|| {
                terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
            })
        });
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
