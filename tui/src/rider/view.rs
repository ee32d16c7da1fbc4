//! Pure rendering of the rider console: header, connection banner, my deliveries above
//! the offers (two lines per order, so it reads on 60 columns), overlays, footer.

use chit_protocol::{Order, Status, money};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{App, Overlay, Pane, format_age, status_label};
use crate::widgets::{self, Theme, fit, local_clock};

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme { color: self.color };
        let header = header_lines(self, area.width, theme);
        let banner = widgets::conn_banner(&self.conn, self.now, self.pending.len());
        let banner_height = banner.as_ref().map_or(0, |text| {
            let width = chit_text::width(text) as u16 + 3;
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
    let one: usize = first.iter().map(|s| s.width()).sum::<usize>() + 3 + chit_text::width(&second);
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
    let rule = "─".repeat((area.width as usize).saturating_sub(chit_text::width(&text) + 3));
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
        Span::raw(format!("{mark} {:<10} ", fit(&order.restaurant, 10))),
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
        room = room.saturating_sub(chit_text::width(&text));
        second.push(Span::styled(text, theme.selected()));
    }
    let address = order.customer.address.as_deref().unwrap_or("(no address)");
    second.push(Span::raw(fit(address, room)));
    let mut lines = vec![first, Line::from(second)];
    if pane == Pane::Mine {
        let c = &order.customer;
        lines.push(Line::raw(fit(
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
            let rows = app.keys.help(|a| a == super::update::Action::Help);
            let width = rows
                .iter()
                .map(|(k, _)| chit_text::width(k))
                .max()
                .unwrap_or(0);
            let rows: Vec<(&str, &str)> = rows.iter().map(|(k, h)| (k.as_str(), *h)).collect();
            widgets::help_popup(buf, area, &rows, width, theme);
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
mod tests;
