//! Pure rendering of the rider console: header, connection banner, my deliveries above
//! the offers (two lines per order, so it reads on 60 columns), overlays, footer.

use chit_protocol::{Order, Status, money};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{App, Overlay, Pane, format_age, status_label};
use crate::widgets::{self, Theme, local_clock, truncate};

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme { color: self.color };
        let header = header_lines(self, area.width, theme);
        let banner = widgets::conn_banner(&self.conn, self.now, self.pending.len());
        let banner_height = banner.as_ref().map_or(0, |text| {
            let width = text.chars().count() as u16 + 3;
            if width > area.width { 2 } else { 1 }
        });
        let [header_area, banner_area, body, flash_area, footer] = Layout::vertical([
            Constraint::Length(header.len() as u16),
            Constraint::Length(banner_height),
            Constraint::Fill(1),
            Constraint::Length(u16::from(self.flash.is_some())),
            Constraint::Length(1),
        ])
        .areas(area);
        Paragraph::new(header)
            .style(theme.header())
            .render(header_area, buf);
        if let Some(text) = banner {
            Paragraph::new(format!(" ! {text}"))
                .style(theme.alarm())
                .wrap(Wrap { trim: true })
                .render(banner_area, buf);
        }
        let (body, chat_area) = if self.chat.open {
            let [top, bottom] = Layout::vertical([
                Constraint::Fill(1),
                Constraint::Length((body.height / 2).clamp(5, 12)),
            ])
            .areas(body);
            (top, Some(bottom))
        } else {
            (body, None)
        };
        render_body(self, body, buf, theme);
        if let Some(chat_area) = chat_area {
            self.chat.render(chat_area, buf, theme);
        }
        if let Some((text, _)) = &self.flash {
            Paragraph::new(format!(" {text}"))
                .style(theme.flash())
                .render(flash_area, buf);
        }
        Paragraph::new(widgets::footer(&footer_keys(self, area.width), theme)).render(footer, buf);
        render_overlay(self, area, buf, theme);
    }
}

/// One header line when it fits, else two.
fn header_lines(app: &App, width: u16, theme: Theme) -> Vec<Line<'static>> {
    let first = vec![
        Span::raw(format!(" chit rider · {} │ ", app.rider)),
        widgets::conn_span(&app.conn, app.now, theme),
        Span::raw(format!(" │ {}", local_clock(app.now))),
    ];
    let offers = app.offers();
    let ready = offers.iter().filter(|o| o.status == Status::Ready).count();
    let mut second = format!(
        "{} mine · {} offer{} ({ready} ready) │ {}",
        app.mine().len(),
        offers.len(),
        if offers.len() == 1 { "" } else { "s" },
        if app.muted { "muted" } else { app.alert_mode }
    );
    if app.admin {
        second.push_str(" │ admin: Enter assigns");
    }
    if app.chat.unread > 0 {
        second.push_str(&format!(" │ CHAT {} new", app.chat.unread));
    }
    let one: usize = first.iter().map(|s| s.width()).sum::<usize>() + 3 + second.chars().count();
    if one <= width as usize {
        let mut spans = first;
        spans.push(Span::raw(format!(" │ {second}")));
        vec![Line::from(spans)]
    } else {
        vec![Line::from(first), Line::raw(format!(" {second}"))]
    }
}

fn footer_keys(app: &App, width: u16) -> Vec<(&'static str, &'static str)> {
    let enter = match app.pane {
        Pane::Offers => ("⏎", "claim"),
        Pane::Mine => ("⏎", "details"),
    };
    if width >= 78 {
        vec![
            enter,
            ("p", "pick up"),
            ("d", "deliver"),
            ("r", "release"),
            ("Tab", "switch"),
            ("c", "chat"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        vec![
            enter,
            ("p", "pick up"),
            ("d", "deliver"),
            ("r", "release"),
            ("?", "help"),
        ]
    }
}

/// How a list fits its rows: the first item shown and how many.
struct Window {
    first: usize,
    shown: usize,
    total: usize,
}

impl Window {
    /// `height` rows an item; scrolled so that `selected` is on screen.
    fn new(total: usize, selected: Option<usize>, rows: u16, height: u16) -> Window {
        let capacity = (rows / height).max(u16::from(rows > 0)) as usize;
        let first = selected
            .unwrap_or(0)
            .saturating_sub(capacity.saturating_sub(1));
        Window {
            first,
            shown: capacity.min(total - first.min(total)),
            total,
        }
    }

    /// ` 3–5 of 9` when not everything is shown.
    fn range(&self) -> String {
        if self.shown >= self.total {
            String::new()
        } else {
            format!(
                " · {}–{} of {}",
                self.first + 1,
                self.first + self.shown,
                self.total
            )
        }
    }
}

/// Rows for the two lists: each gets what it needs if both fit, else at least half.
fn split(rows: u16, mine_need: u16, offers_need: u16) -> u16 {
    let half = rows / 2;
    if mine_need + offers_need <= rows {
        mine_need
    } else if offers_need <= half {
        rows - offers_need
    } else {
        mine_need.min(rows - half)
    }
}

/// Rows an order takes in each list.
const OFFER_ROWS: u16 = 2;
const MINE_ROWS: u16 = 3;

fn render_body(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let mine = app.mine();
    let offers = app.offers();
    let rows = area.height.saturating_sub(2);
    let need = |n: usize, height: u16| (n as u16 * height).max(1);
    let mine_rows = split(
        rows,
        need(mine.len(), MINE_ROWS),
        need(offers.len(), OFFER_ROWS),
    );
    let [mine_title, mine_area, offers_title, offers_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(mine_rows),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);

    let index = |list: &[&Order], id: Option<i64>| list.iter().position(|o| Some(o.id) == id);
    let mine_window = Window::new(
        mine.len(),
        index(&mine, app.selected_mine),
        mine_area.height,
        MINE_ROWS,
    );
    title(
        app.pane == Pane::Mine,
        format!("MY DELIVERIES · {}{}", mine.len(), mine_window.range()),
        mine_title,
        buf,
        theme,
    );
    if mine.is_empty() {
        Paragraph::new("  nothing claimed yet · select an offer and press Enter")
            .style(theme.dim())
            .render(mine_area, buf);
    } else {
        render_orders(app, &mine, &mine_window, Pane::Mine, mine_area, buf, theme);
    }

    let ready = offers.iter().filter(|o| o.status == Status::Ready).count();
    let offers_window = Window::new(
        offers.len(),
        index(&offers, app.selected_offer),
        offers_area.height,
        OFFER_ROWS,
    );
    title(
        app.pane == Pane::Offers,
        format!(
            "OFFERS · {ready} ready · {} upcoming{}",
            offers.len() - ready,
            offers_window.range()
        ),
        offers_title,
        buf,
        theme,
    );
    if offers.is_empty() {
        let text = if app.loaded {
            "  no offers right now · a new one beeps"
        } else {
            "  loading orders…"
        };
        Paragraph::new(text)
            .style(theme.dim())
            .render(offers_area, buf);
    } else {
        render_orders(
            app,
            &offers,
            &offers_window,
            Pane::Offers,
            offers_area,
            buf,
            theme,
        );
    }
}

/// A section title; the focused one is marked with `▶` and underlined, not by colour.
fn title(focused: bool, text: String, area: Rect, buf: &mut Buffer, theme: Theme) {
    let (mark, style) = if focused {
        ("▶", theme.selected().add_modifier(Modifier::UNDERLINED))
    } else {
        (" ", Style::new().add_modifier(Modifier::BOLD))
    };
    let rule = "─".repeat((area.width as usize).saturating_sub(text.chars().count() + 3));
    Paragraph::new(Line::from(vec![
        Span::styled(format!("{mark} {text}"), style),
        Span::styled(format!(" {rule}"), theme.dim()),
    ]))
    .render(area, buf);
}

fn render_orders(
    app: &App,
    orders: &[&Order],
    window: &Window,
    pane: Pane,
    area: Rect,
    buf: &mut Buffer,
    theme: Theme,
) {
    let selected = match pane {
        Pane::Mine => app.selected_mine,
        Pane::Offers => app.selected_offer,
    };
    let mut y = area.y;
    for order in orders.iter().skip(window.first).take(window.shown) {
        let focused = app.pane == pane && selected == Some(order.id);
        let mark = if focused {
            "▶"
        } else if selected == Some(order.id) {
            "›"
        } else {
            " "
        };
        for line in order_lines(app, order, pane, mark, area.width as usize, theme) {
            if y >= area.y + area.height {
                break;
            }
            let line = if focused {
                line.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                line
            };
            let rect = Rect {
                x: area.x,
                y,
                width: area.width,
                height: 1,
            };
            Paragraph::new(line).render(rect, buf);
            y += 1;
        }
    }
}

/// An offer in two lines: restaurant, number, status, items, total and age; then what
/// is being sent for it and where it goes. A delivery adds a line for the customer.
fn order_lines(
    app: &App,
    order: &Order,
    pane: Pane,
    mark: &str,
    width: usize,
    theme: Theme,
) -> Vec<Line<'static>> {
    let (status, status_style) = match (pane, order.status) {
        (Pane::Offers, Status::Preparing) => ("upcoming", Style::new()),
        (_, Status::Ready) => ("READY", theme.good()),
        (_, Status::PickedUp) => ("PICKED UP", theme.selected()),
        (_, s) => (status_label(s), Style::new()),
    };
    let count = order.item_count();
    let items = format!("{count} item{}", if count == 1 { "" } else { "s" });
    let first = Line::from(vec![
        Span::raw(format!("{mark} {:<10} ", truncate(&order.restaurant, 10))),
        Span::styled(
            format!("#{:<4}", order.number),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" {status:<9}"), status_style),
        Span::raw(format!(
            " {items:>9} {:>9} {:>7}",
            money::format(order.total),
            format_age(app.age_ms(order))
        )),
    ]);
    let mut second = vec![Span::raw("    ")];
    let mut room = width.saturating_sub(4);
    if let Some(p) = app.pending_for(order.id) {
        let how = if app.conn.is_online() {
            "…"
        } else {
            " (queued)"
        };
        let text = format!("[{}{how}] ", p.act.progress());
        room = room.saturating_sub(text.chars().count());
        second.push(Span::styled(text, theme.selected()));
    }
    let address = order.customer.address.as_deref().unwrap_or("(no address)");
    second.push(Span::raw(truncate(address, room)));
    let mut lines = vec![first, Line::from(second)];
    if pane == Pane::Mine {
        let c = &order.customer;
        lines.push(Line::raw(truncate(
            &format!("    {} · {}", c.phone, c.name),
            width,
        )));
    }
    lines
}

fn render_overlay(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    match app.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let keys = [
                ("↑ ↓  k j", "move; goes on into the other list"),
                ("Tab", "my deliveries ⇄ offers"),
                ("Enter", "claim the offer (or show a delivery)"),
                ("p", "picked up (once it is ready)"),
                ("d", "delivered (once picked up)"),
                ("r", "release a delivery not picked up"),
                ("i, Space", "details of the selected order"),
                ("m", "mute / unmute alerts"),
                ("c", "chat about the selected delivery (Esc closes)"),
                ("q", "quit"),
                ("Esc", "close this"),
            ];
            widgets::help_popup(buf, area, &keys, 9, theme);
        }
        Overlay::Details(id) => {
            let Some(o) = app.orders.get(&id) else {
                return;
            };
            let mut lines = vec![
                Line::raw(format!(
                    "#{} at {} · {} · order {}",
                    o.number,
                    o.restaurant,
                    status_label(o.status),
                    o.id
                )),
                Line::raw(format!("to   {}", o.customer.name)),
                Line::raw(format!("tel  {}", o.customer.phone)),
                Line::raw(format!(
                    "addr {}",
                    o.customer.address.as_deref().unwrap_or("(none)")
                )),
                Line::raw(""),
            ];
            for item in &o.items {
                lines.push(Line::raw(format!("{:>3} x {}", item.qty, item.name)));
            }
            if let Some(n) = &o.note {
                lines.push(Line::styled(format!("note: {n}"), theme.warning()));
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                "total {} · placed {} · {} ago",
                money::format(o.total),
                local_clock(o.created_ms()),
                format_age(app.age_ms(o))
            )));
            if let Some(r) = &o.rider {
                lines.push(Line::raw(format!("rider {r}")));
            }
            widgets::popup(buf, area, &format!("order #{}", o.number), lines, theme);
        }
        Overlay::ConfirmRelease(id) => {
            let Some(o) = app.orders.get(&id) else {
                return;
            };
            let lines = vec![
                Line::raw(format!(
                    "Release #{} ({}) to the offers?",
                    o.number, o.restaurant
                )),
                Line::raw("Another rider may claim it."),
                Line::styled("y: release   n / Esc: keep it", theme.selected()),
            ];
            widgets::popup(buf, area, "release", lines, theme);
        }
        Overlay::ConfirmQuit => {
            let n = app.pending.len();
            let lines = vec![
                Line::raw(format!(
                    "{n} change{} not sent yet; quitting drops {}.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "it" } else { "them" }
                )),
                Line::styled("y: quit   n / Esc: stay", theme.selected()),
            ];
            widgets::popup(buf, area, "quit", lines, theme);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Conn;
    use crate::rider::app::{Act, Pending};
    use chit_protocol::{Customer, Fulfilment, Item, format_time};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    const NOW: i64 = 1_800_000_000_000;

    fn order(
        id: i64,
        restaurant: &str,
        status: Status,
        rider: Option<&str>,
        age_secs: i64,
    ) -> Order {
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
                })
                .collect(),
            total: 12000 * id,
            note: Some("call on arrival".into()),
            fulfilment: Fulfilment::Delivery,
            status,
            rider: rider.map(str::to_string),
            created_at: format_time(NOW - age_secs * 1000),
            updated_at: format_time(NOW),
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
}
