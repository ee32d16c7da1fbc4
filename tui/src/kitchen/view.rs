//! Pure rendering of the kitchen display: header, connection banner, tickets (cards
//! when there is room, a compact list when narrow), the all-day view, overlays, footer.

use chit_protocol::{Fulfilment, money};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

use super::app::{Age, App, Overlay, Ticket, format_age, group_label};
use crate::widgets::{self, Theme, fit, local_clock};

/// Cards narrower than this do not fit a ticket; below it the list is used.
const CARD_MIN_WIDTH: u16 = 30;
const NARROW: u16 = 60;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme {
            color: self.settings.color,
        };
        let banner = widgets::conn_banner(&self.conn, self.now, self.queued_count());
        let header_lines = if area.width < 120 { 2 } else { 1 };
        let [header, banner_area, body, flash_area, footer] = Layout::vertical([
            Constraint::Length(header_lines),
            Constraint::Length(u16::from(banner.is_some())),
            Constraint::Fill(1),
            Constraint::Length(u16::from(self.flash.is_some())),
            Constraint::Length(1),
        ])
        .areas(area);
        render_header(self, header, buf, theme);
        if let Some(text) = banner {
            Paragraph::new(Span::styled(format!(" ! {text}"), theme.alarm()))
                .style(theme.alarm())
                .render(banner_area, buf);
        }
        let (body, chat_area) = if self.chat.open {
            if body.width >= 100 {
                let [left, right] =
                    Layout::horizontal([Constraint::Fill(1), Constraint::Length(42)]).areas(body);
                (left, Some(right))
            } else {
                let [top, bottom] = Layout::vertical([
                    Constraint::Fill(1),
                    Constraint::Length((body.height / 2).clamp(5, 12)),
                ])
                .areas(body);
                (top, Some(bottom))
            }
        } else {
            (body, None)
        };
        if self.all_day {
            render_all_day(self, body, buf, theme);
        } else if !self.loaded && self.tickets.is_empty() {
            Paragraph::new("loading orders…")
                .style(theme.dim())
                .render(body, buf);
        } else if self.tickets.is_empty() {
            Paragraph::new(" no open orders")
                .style(theme.dim())
                .render(body, buf);
        } else if body.width < NARROW || body.height < 8 {
            render_list(self, body, buf, theme);
        } else {
            render_cards(self, body, buf, theme);
        }
        if let Some(chat_area) = chat_area {
            self.chat.render(chat_area, buf, theme);
        }
        if let Some((text, _)) = &self.flash {
            Paragraph::new(format!(" {text}"))
                .style(theme.flash())
                .render(flash_area, buf);
        }
        let keys: &[(&str, &str)] = if area.width < 100 {
            &[
                ("↑↓←→", "move"),
                ("⏎", "bump"),
                ("u", "recall"),
                ("x", "cancel"),
                ("a", "ack"),
                ("?", "help"),
                ("q", "quit"),
            ]
        } else {
            &[
                ("↑↓←→", "move"),
                ("⏎/1-9", "bump"),
                ("u", "recall"),
                ("x", "reject/cancel"),
                ("a", "ack all"),
                ("Tab", "all-day"),
                ("c", "chat"),
                ("d", "details"),
                ("m", "mute"),
                ("?", "help"),
                ("q", "quit"),
            ]
        };
        Paragraph::new(widgets::footer(keys, theme)).render(footer, buf);
        render_overlay(self, area, buf, theme);
    }
}

fn render_header(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let mut spans = vec![
        Span::raw(format!(" chit kitchen · {} ", app.restaurant)),
        Span::raw("│ "),
        widgets::conn_span(&app.conn, app.now, theme),
        Span::raw(format!(" │ {} │ ", local_clock(app.now))),
    ];
    let new = app.unacked.len();
    if new > 0 {
        spans.push(Span::styled(format!(" NEW {new} "), theme.new_order()));
    } else {
        spans.push(Span::raw("NEW 0"));
    }
    if app.chat.unread > 0 {
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled(
            format!(" chat {} ", app.chat.unread),
            theme.new_order(),
        ));
    }
    spans.push(Span::raw(format!(
        " │ {}",
        if app.muted { "muted" } else { app.alert_mode }
    )));
    let stats = match &app.analytics {
        Some(a) => {
            let avg = a
                .avg_ready_minutes
                .map(|m| format!(" · avg ticket {m:.1} min"))
                .unwrap_or_default();
            format!(
                " today {} orders · {} · {} pending{avg}",
                a.total_orders,
                money::format(a.total_revenue),
                a.pending_orders
            )
        }
        None => " today: waiting for figures".into(),
    };
    let lines = if area.height > 1 {
        vec![Line::from(spans), Line::raw(stats)]
    } else {
        spans.push(Span::raw(format!(" │{stats}")));
        vec![Line::from(spans)]
    };
    Paragraph::new(lines)
        .style(theme.header())
        .render(area, buf);
}

/// The lines inside a ticket card (or after the number in the list).
fn card_lines(app: &App, t: &Ticket, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let o = &t.order;
    let how = match o.fulfilment {
        Fulfilment::Delivery => "delivery",
        Fulfilment::Pickup => "PICKUP",
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            fit(&o.customer.name, width.saturating_sub(11)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" · {how}")),
    ])];
    for item in &o.items {
        lines.push(Line::raw(fit(
            &format!("{} x {}", item.qty, item.name),
            width,
        )));
        if let Some(note) = &item.note {
            lines.push(Line::styled(
                fit(&format!("  ↳ {note}"), width),
                theme.warning(),
            ));
        }
    }
    if let Some(note) = &o.note {
        lines.push(Line::styled(
            fit(&format!("note: {note}"), width),
            theme.warning(),
        ));
    }
    if let Some(to) = t.queued {
        let how = if app.conn.is_online() {
            "sending"
        } else {
            "queued"
        };
        lines.push(Line::styled(
            fit(&format!("→ {} ({how})", group_label(to)), width),
            theme.selected(),
        ));
    }
    lines
}

/// The card's title: digit, number, status, NEW marker; and its age with a marker.
fn card_title(app: &App, t: &Ticket, index: usize, theme: Theme) -> (Line<'static>, Line<'static>) {
    let o = &t.order;
    let mut left = Vec::new();
    if index < 9 {
        left.push(Span::raw(format!("[{}] ", index + 1)));
    }
    left.push(Span::styled(
        format!("#{} ", o.number),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    if app.unacked.contains(&o.id) {
        left.push(Span::styled(
            format!(" {} ★ ", group_label(o.status)),
            theme.new_order(),
        ));
    } else {
        left.push(Span::raw(format!("{} ", group_label(o.status))));
    }
    let age = format_age(app.age_ms(t));
    let right = match app.age(t) {
        Age::Fresh => Span::raw(format!(" {age} ")),
        Age::Warning => Span::styled(format!(" {age} ! "), theme.warning()),
        Age::Late => Span::styled(format!(" {age} LATE "), theme.late()),
    };
    (Line::from(left), Line::from(right))
}

/// How many lines `card_lines` gives a ticket, without building them.
fn card_line_count(t: &Ticket) -> usize {
    1 + t.order.items.len()
        + t.order.items.iter().filter(|i| i.note.is_some()).count()
        + usize::from(t.order.note.is_some())
        + usize::from(t.queued.is_some())
}

fn render_cards(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let tickets = app.visible();
    let cols = (area.width / CARD_MIN_WIDTH).max(1) as usize;
    let card_width = area.width / cols as u16;
    let inner = card_width.saturating_sub(2) as usize;
    // Lay the cards out in rows; a row is as tall as its tallest card.
    let heights: Vec<u16> = tickets
        .chunks(cols)
        .map(|row| {
            let lines = row.iter().map(|t| card_line_count(t)).max().unwrap_or(0) as u16;
            (lines + 2).min(area.height.max(4))
        })
        .collect();
    let selected_row = tickets
        .iter()
        .position(|t| Some(t.order.id) == app.selected)
        .map(|i| i / cols)
        .unwrap_or(0);
    // Scroll so that the selected row is on screen.
    let mut first = 0;
    while first < selected_row && heights[first..=selected_row].iter().sum::<u16>() > area.height {
        first += 1;
    }
    let mut y = area.y;
    for (r, row) in tickets.chunks(cols).enumerate().skip(first) {
        let h = heights[r];
        if y + h > area.y + area.height {
            let hidden = tickets.len() - r * cols;
            if y < area.y + area.height {
                let rect = Rect {
                    x: area.x,
                    y,
                    width: area.width,
                    height: 1,
                };
                Paragraph::new(format!(" ↓ {hidden} more"))
                    .style(theme.dim())
                    .render(rect, buf);
            }
            break;
        }
        for (c, ticket) in row.iter().enumerate() {
            let rect = Rect {
                x: area.x + c as u16 * card_width,
                y,
                width: card_width,
                height: h,
            };
            let lines = card_lines(app, ticket, inner, theme);
            render_card(app, rect, buf, r * cols + c, ticket, lines, theme);
        }
        y += h;
    }
    if first > 0 {
        let rect = Rect {
            x: area.x + area.width.saturating_sub(12),
            y: area.y,
            width: 12.min(area.width),
            height: 1,
        };
        Paragraph::new(format!("↑ {} more", first * cols))
            .style(theme.dim())
            .render(rect, buf);
    }
}

fn render_card(
    app: &App,
    rect: Rect,
    buf: &mut Buffer,
    index: usize,
    t: &Ticket,
    mut lines: Vec<Line<'static>>,
    theme: Theme,
) {
    let selected = app.selected == Some(t.order.id);
    let (left, right) = card_title(app, t, index, theme);
    let mut border = match app.age(t) {
        Age::Late => theme.late(),
        Age::Warning => theme.warning(),
        Age::Fresh => Style::new(),
    };
    let border_type = if selected {
        border = border.patch(theme.selected());
        BorderType::Thick
    } else if app.unacked.contains(&t.order.id) {
        BorderType::Double
    } else {
        BorderType::Plain
    };
    let room = rect.height.saturating_sub(2) as usize;
    if lines.len() > room && room > 0 {
        let hidden = lines.len() - room + 1;
        lines.truncate(room - 1);
        lines.push(Line::styled(
            format!("… {hidden} more lines (d)"),
            theme.dim(),
        ));
    }
    let mut block = Block::bordered()
        .border_type(border_type)
        .border_style(border)
        .title_top(left.left_aligned())
        .title_top(right.right_aligned());
    if selected {
        block = block.title_bottom(Line::styled(" ▶ selected ", theme.selected()).centered());
    }
    Paragraph::new(lines).block(block).render(rect, buf);
}

fn render_list(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let tickets = app.visible();
    let selected = tickets
        .iter()
        .position(|t| Some(t.order.id) == app.selected)
        .unwrap_or(0);
    let height = area.height as usize;
    let first = selected.saturating_sub(height.saturating_sub(1));
    for (row, (i, t)) in tickets
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .enumerate()
    {
        let o = &t.order;
        let mark = if Some(o.id) == app.selected {
            "▶"
        } else {
            " "
        };
        let digit = if i < 9 {
            format!("{}", i + 1)
        } else {
            " ".into()
        };
        let (age_text, age_style) = match app.age(t) {
            Age::Fresh => (format_age(app.age_ms(t)), Style::new()),
            Age::Warning => (format!("{}!", format_age(app.age_ms(t))), theme.warning()),
            Age::Late => (format!("{} LATE", format_age(app.age_ms(t))), theme.late()),
        };
        let items: Vec<String> = o
            .items
            .iter()
            .map(|it| format!("{}x {}", it.qty, it.name))
            .collect();
        let mut spans = vec![
            Span::raw(format!("{mark}{digit} ")),
            Span::styled(
                format!("#{:<4}", o.number),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{:<5} ", short_status(o.status))),
        ];
        if app.unacked.contains(&o.id) {
            spans.push(Span::styled("★ ", theme.new_order()));
        }
        spans.push(Span::styled(format!("{age_text:<11}"), age_style));
        if let Some(to) = t.queued {
            spans.push(Span::styled(
                format!("→{} ", short_status(to)),
                theme.selected(),
            ));
        }
        let used: usize = spans.iter().map(Span::width).sum();
        spans.push(Span::raw(fit(
            &format!("{} · {}", o.customer.name, items.join(", ")),
            (area.width as usize).saturating_sub(used),
        )));
        let mut line = Line::from(spans);
        if Some(o.id) == app.selected {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        let rect = Rect {
            x: area.x,
            y: area.y + row as u16,
            width: area.width,
            height: 1,
        };
        Paragraph::new(line).render(rect, buf);
    }
}

fn short_status(status: chit_protocol::Status) -> &'static str {
    match status {
        chit_protocol::Status::Pending => "new",
        chit_protocol::Status::Confirmed => "conf",
        chit_protocol::Status::Preparing => "prep",
        chit_protocol::Status::Ready => "ready",
        _ => "done",
    }
}

fn render_all_day(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let counts = app.all_day_counts();
    let block = Block::bordered().title(Span::styled(
        format!(
            " ALL DAY · items across {} open tickets · Tab returns ",
            app.tickets.len()
        ),
        theme.selected(),
    ));
    let inner = block.inner(area);
    block.render(area, buf);
    if counts.is_empty() {
        Paragraph::new("nothing to cook")
            .style(theme.dim())
            .render(inner, buf);
        return;
    }
    let rows = inner.height.max(1) as usize;
    let columns = counts.len().div_ceil(rows).max(1);
    let col_width = (inner.width / columns as u16).max(20);
    for (i, (name, qty)) in counts.iter().enumerate() {
        let (col, row) = (i / rows, i % rows);
        let x = inner.x + col as u16 * col_width;
        if x >= inner.x + inner.width {
            break;
        }
        let rect = Rect {
            x,
            y: inner.y + row as u16,
            width: col_width.min(inner.x + inner.width - x),
            height: 1,
        };
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("{qty:>4} "),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(fit(name, col_width.saturating_sub(6) as usize)),
        ]))
        .render(rect, buf);
    }
}

fn render_overlay(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    match app.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let keys = [
                ("↑ ↓ / k j", "select the previous / next ticket"),
                ("← → / h l", "jump to the previous / next status group"),
                (
                    "Enter, Space",
                    "bump to the next status (a ready pickup: delivered)",
                ),
                ("1 … 9", "bump the n-th ticket on screen"),
                ("u", "recall the last bump (one step back)"),
                ("x", "reject a new order, or cancel one (asks first)"),
                (
                    "a",
                    "acknowledge all new orders (stops the repeating alert)",
                ),
                ("Tab", "all-day view: quantities across open tickets"),
                ("d", "details of the selected ticket"),
                ("m", "mute / unmute alerts"),
                (
                    "c",
                    "chat with staff (Esc closes; keys type while it is open)",
                ),
                ("q", "quit (asks first)"),
                ("Esc", "close this"),
            ];
            widgets::help_popup(buf, area, &keys, 14, theme);
        }
        Overlay::Details(id) => {
            let Some(t) = app.tickets.get(&id) else {
                return;
            };
            let o = &t.order;
            let mut lines = vec![
                Line::raw(format!(
                    "order {} · #{} · {} · {}",
                    o.id,
                    o.number,
                    o.status,
                    match o.fulfilment {
                        Fulfilment::Delivery => "delivery",
                        Fulfilment::Pickup => "pickup",
                    }
                )),
                Line::raw(format!(
                    "customer {} · {}",
                    o.customer.name, o.customer.phone
                )),
            ];
            if let Some(a) = &o.customer.address {
                lines.push(Line::raw(format!("address  {a}")));
            }
            lines.push(Line::raw(""));
            for item in &o.items {
                lines.push(Line::raw(format!(
                    "{:>3} x {}  @ {}",
                    item.qty,
                    item.name,
                    money::format(item.unit_price)
                )));
                if let Some(n) = &item.note {
                    lines.push(Line::styled(format!("      ↳ {n}"), theme.warning()));
                }
            }
            if let Some(n) = &o.note {
                lines.push(Line::styled(format!("note: {n}"), theme.warning()));
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("total {}", money::format(o.total))));
            lines.push(Line::raw(format!(
                "placed {} · age {}",
                local_clock(t.created),
                format_age(app.age_ms(t))
            )));
            if let Some(r) = &o.rider {
                lines.push(Line::raw(format!("rider {r}")));
            }
            widgets::popup(buf, area, &format!("order #{}", o.number), lines, theme);
        }
        Overlay::ConfirmCancel(id) => {
            let Some(t) = app.tickets.get(&id) else {
                return;
            };
            let verb = if t.order.status == chit_protocol::Status::Pending {
                "Reject"
            } else {
                "Cancel"
            };
            let lines = vec![
                Line::raw(format!(
                    "{verb} order #{} ({}, {})?",
                    t.order.number, t.order.customer.name, t.order.status
                )),
                Line::styled("y: yes   n / Esc: no", theme.selected()),
            ];
            widgets::popup(buf, area, &format!("{verb} order"), lines, theme);
        }
        Overlay::ConfirmQuit => {
            let lines = vec![
                Line::raw("Quit the kitchen display? New orders will not show here."),
                Line::styled("y: quit   n / Esc: stay", theme.selected()),
            ];
            widgets::popup(buf, area, "quit", lines, theme);
        }
    }
}

#[cfg(test)]
mod tests;
