//! Pure rendering of the kitchen display: header, connection banner, tickets (cards
//! when there is room, a compact list when narrow) as the screen has them (whole
//! tickets, one station's items, or the expo's progress), the upcoming and all-day
//! views, overlays (overlays.rs), footer.

mod overlays;

use chit_protocol::{Fulfilment, Order, money};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

use super::app::{Age, App, Ticket, format_age, group_label};
use super::stations::{self, Screen, state_mark};
use super::update::Action;
use crate::widgets::{self, Theme, fit, local_hm};

/// Cards narrower than this do not fit a ticket; below it the list is used.
const CARD_MIN_WIDTH: u16 = 30;
const NARROW: u16 = 60;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme {
            color: self.settings.color,
        };
        let banner = widgets::conn_banner(&self.conn, self.now, self.queued_count());
        // Stations' figures and the 86 list need the second line.
        let busy = self.screen != Screen::Tickets || !self.unavailable.is_empty();
        let header_lines = if area.width < 120 || busy { 2 } else { 1 };
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
        if self.upcoming {
            render_upcoming(self, body, buf, theme);
        } else if self.all_day {
            render_all_day(self, body, buf, theme);
        } else if !self.loaded && self.tickets.is_empty() {
            Paragraph::new("loading orders…")
                .style(theme.dim())
                .render(body, buf);
        } else if self.visible().is_empty() {
            let text = match (&self.screen, &self.menu) {
                (Screen::Station(s), None) if self.loaded => format!(
                    " {} has no menu loaded, so nothing is routed to {s} \
                     (chit-server menu load --restaurant {} FILE)",
                    self.restaurant, self.restaurant
                ),
                (Screen::Station(s), Some(m)) if !m.stations.contains(s) => format!(
                    " {s} is not a station of {}'s menu: its stations are {}",
                    self.restaurant,
                    m.stations.join(", ")
                ),
                (Screen::Station(s), _) => format!(" nothing for {s} right now"),
                _ => " no open orders".into(),
            };
            Paragraph::new(text).style(theme.dim()).render(body, buf);
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
        let keys = footer_keys(self, area.width < 100);
        let keys: Vec<(&str, &str)> = keys.iter().map(|(k, a)| (k.as_str(), *a)).collect();
        Paragraph::new(widgets::footer(&keys, theme)).render(footer, buf);
        overlays::render(self, area, buf, theme);
    }
}

/// The footer's keys for this screen, as the key map has them.
fn footer_keys(app: &App, narrow: bool) -> Vec<(String, &'static str)> {
    // The first key of each action: the footer is one line.
    let k = |a: Action| {
        let keys = app.keys.keys_of(a);
        keys.split('/').next().unwrap_or_default().to_string()
    };
    let moves = format!("{}{}", k(Action::Up), k(Action::Down));
    let bump = match &app.screen {
        Screen::Station(_) => "start/done",
        Screen::Expo => "send out",
        Screen::Tickets => "bump",
    };
    let mut keys = vec![(moves, "move")];
    if !app.upcoming {
        keys.push((k(Action::Bump), bump));
    }
    if app.upcoming {
        keys.push((k(Action::Upcoming), "back"));
        keys.push((k(Action::Help), "help"));
        return keys;
    }
    keys.push((k(Action::Recall), "recall"));
    if app.screen.station().is_none() {
        keys.push((
            k(Action::Cancel),
            if narrow { "cancel" } else { "reject/cancel" },
        ));
    }
    if !narrow {
        keys.push((k(Action::AckAll), "ack all"));
        keys.push((k(Action::ToggleAllDay), "all-day"));
        keys.push((k(Action::Upcoming), "upcoming"));
        keys.push((k(Action::EightySix), "86"));
        keys.push((k(Action::Chat), "chat"));
        keys.push((k(Action::Details), "details"));
        keys.push((k(Action::Mute), "mute"));
    }
    keys.push((k(Action::Help), "help"));
    keys.push((k(Action::Quit), "quit"));
    keys.retain(|(key, _)| !key.is_empty());
    keys
}

fn render_header(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let title = match &app.screen {
        Screen::Tickets => format!(" chit kitchen · {} ", app.restaurant),
        Screen::Station(s) => format!(" chit kitchen · {} · {s} ", app.restaurant),
        Screen::Expo => format!(" chit expo · {} ", app.restaurant),
    };
    let mut spans = vec![
        Span::raw(title),
        Span::raw("│ "),
        widgets::conn_span(&app.conn, app.now, theme),
        Span::raw(format!(" │ {} │ ", widgets::local_clock(app.now))),
    ];
    let new = app.unacked.len();
    if new > 0 {
        spans.push(Span::styled(format!(" NEW {new} "), theme.new_order()));
    } else {
        spans.push(Span::raw("NEW 0"));
    }
    let upcoming = app.upcoming_count();
    if upcoming > 0 || app.upcoming {
        spans.push(Span::raw(format!(" │ upcoming {upcoming}")));
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
    let mut stats = match &app.analytics {
        Some(a) => {
            let speed = speed_text(app, a);
            format!(
                " today {} orders · {} · {} pending{speed}",
                a.total_orders,
                money::format(a.total_revenue),
                a.pending_orders
            )
        }
        None => " today: waiting for figures".into(),
    };
    if !app.unavailable.is_empty() {
        let items: Vec<&str> = app.unavailable.iter().map(|u| u.item.as_str()).collect();
        stats.push_str(&format!(" · 86: {}", items.join(", ")));
    }
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

/// Speed of service for the header: a station's own items; the expo's orders (fired →
/// ready) and each station's median; whole tickets, the average as before.
fn speed_text(app: &App, a: &chit_protocol::Analytics) -> String {
    let minutes = |m: Option<f64>| m.map_or("–".into(), |m| format!("{m:.1}"));
    match &app.screen {
        Screen::Station(s) => a
            .speed
            .stations
            .iter()
            .find(|t| &t.station == s)
            .filter(|t| t.items.count > 0)
            .map(|t| {
                format!(
                    " · {s} p50 {} p90 {} min",
                    minutes(t.items.median_minutes),
                    minutes(t.items.p90_minutes)
                )
            })
            .unwrap_or_default(),
        Screen::Expo => {
            let mut text = String::new();
            if a.speed.orders.count > 0 {
                text.push_str(&format!(
                    " · out p50 {} p90 {} min",
                    minutes(a.speed.orders.median_minutes),
                    minutes(a.speed.orders.p90_minutes)
                ));
            }
            for t in a.speed.stations.iter().filter(|t| t.items.count > 0) {
                text.push_str(&format!(
                    " · {} {}",
                    t.station,
                    minutes(t.items.median_minutes)
                ));
            }
            text
        }
        Screen::Tickets => a
            .avg_ready_minutes
            .map(|m| format!(" · avg ticket {m:.1} min"))
            .unwrap_or_default(),
    }
}

/// `due 12:30 · in 8m` (or `· 3m late`) for an order placed for a time.
pub(super) fn due_text(app: &App, o: &Order) -> Option<String> {
    let due = o.due_ms()?;
    let mins = (due - app.now) / 60_000;
    let when = if due >= app.now {
        format!("in {}m", minutes_up(due - app.now))
    } else {
        format!("{}m late", -mins)
    };
    Some(format!("due {} · {when}", local_hm(due)))
}

/// Whole minutes in `ms`, rounded up (0 for none or less).
fn minutes_up(ms: i64) -> i64 {
    (ms.max(0) + 59_999) / 60_000
}

/// The ticket's first line: customer, how it leaves, where it came from.
fn who_line(t: &Ticket, width: usize) -> Line<'static> {
    let o = &t.order;
    let how = match o.fulfilment {
        Fulfilment::Delivery => "delivery",
        Fulfilment::Pickup => "PICKUP",
    };
    let source = o
        .source
        .as_deref()
        .map(|s| format!(" · {s}"))
        .unwrap_or_default();
    let tail = format!(" · {how}{source}");
    Line::from(vec![
        Span::styled(
            fit(
                &o.customer.name,
                width.saturating_sub(chit_text::width(&tail)),
            ),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(tail),
    ])
}

/// The lines inside a ticket card (or after the number in the list), as this screen
/// shows a ticket: whole; one station's items with the others' progress; or the expo's
/// progress and every item with its station.
fn card_lines(app: &App, t: &Ticket, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let o = &t.order;
    let menu = app.menu.as_ref();
    let mut lines = vec![who_line(t, width)];
    if let Some(due) = due_text(app, o) {
        let style = if o.due_ms().is_some_and(|d| d < app.now) {
            theme.late()
        } else {
            theme.warning()
        };
        lines.push(Line::styled(fit(&due, width), style));
    }
    let station = app.screen.station();
    if app.screen == Screen::Expo && o.has_stations() {
        let progress = stations::progress_line(o, menu, None);
        let style = if stations::all_done(o) {
            theme.good().add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        };
        lines.push(Line::styled(fit(&progress, width), style));
    }
    for (i, item) in o.items.iter().enumerate() {
        let here = stations::item_station(item, menu);
        if station.is_some() && here != station {
            continue;
        }
        let n = i as u32 + 1;
        let marks = o.has_stations() || station.is_some();
        let mut text = if marks {
            let mark = match t.items_queued.get(&n) {
                Some(to) => format!("{}…", state_mark(*to)),
                None => format!("{} ", state_mark(item.state)),
            };
            format!("{mark}{} x {}", item.qty, item.name)
        } else {
            format!("{} x {}", item.qty, item.name)
        };
        if app.screen == Screen::Expo
            && let Some(s) = here.filter(|_| o.has_stations())
        {
            text.push_str(&format!("  ({s})"));
        }
        if app.is_unavailable(&item.name) {
            text.push_str("  [86]");
        }
        let style = if item.state == chit_protocol::ItemState::Done && marks {
            theme.dim()
        } else {
            Style::new()
        };
        lines.push(Line::styled(fit(&text, width), style));
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
    if let Some(s) = station {
        let others = stations::progress_line(o, menu, Some(s));
        if !others.is_empty() {
            lines.push(Line::styled(
                fit(&format!("also: {others}"), width),
                theme.dim(),
            ));
        }
    }
    let sending = if app.conn.is_online() {
        "sending"
    } else {
        "queued"
    };
    if let Some(to) = t.queued {
        lines.push(Line::styled(
            fit(&format!("→ {} ({sending})", group_label(to)), width),
            theme.selected(),
        ));
    } else if !t.items_queued.is_empty() {
        lines.push(Line::styled(
            fit(&format!("→ items ({sending})"), width),
            theme.selected(),
        ));
    }
    lines
}

/// How many lines [`card_lines`] gives a ticket, without building them: every card's
/// height is needed to scroll, only the cards on screen are drawn.
fn card_line_count(app: &App, t: &Ticket) -> usize {
    let o = &t.order;
    let menu = app.menu.as_ref();
    let station = app.screen.station();
    let items = o
        .items
        .iter()
        .filter(|i| station.is_none() || stations::item_station(i, menu) == station);
    let (mut here, mut notes) = (0, 0);
    for item in items {
        here += 1;
        notes += usize::from(item.note.is_some());
    }
    let also = station.is_some_and(|s| {
        o.items
            .iter()
            .any(|i| stations::item_station(i, menu).is_some_and(|at| at != s))
    });
    1 + usize::from(o.due_ms().is_some())
        + usize::from(app.screen == Screen::Expo && o.has_stations())
        + here
        + notes
        + usize::from(o.note.is_some())
        + usize::from(also)
        + usize::from(t.queued.is_some() || !t.items_queued.is_empty())
}

/// The card's title: digit, number, status (or the expo's "all done"), rush and NEW
/// markers; and its age with a marker.
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
    if t.rush() {
        left.push(Span::styled("RUSH ", theme.late()));
    }
    let label = if app.screen == Screen::Expo
        && stations::all_done(o)
        && o.status != chit_protocol::Status::Ready
    {
        "ALL DONE ✓"
    } else {
        group_label(o.status)
    };
    if app.unacked.contains(&o.id) {
        left.push(Span::styled(format!(" {label} ★ "), theme.new_order()));
    } else if label == "ALL DONE ✓" {
        left.push(Span::styled(format!(" {label} "), theme.good()));
    } else {
        left.push(Span::raw(format!("{label} ")));
    }
    let age = format_age(app.age_ms(t));
    let right = match app.age(t) {
        Age::Fresh => Span::raw(format!(" {age} ")),
        Age::Warning => Span::styled(format!(" {age} ! "), theme.warning()),
        Age::Late => Span::styled(format!(" {age} LATE "), theme.late()),
    };
    (Line::from(left), Line::from(right))
}

fn render_cards(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let tickets = app.visible();
    let cols = (area.width / CARD_MIN_WIDTH).max(1) as usize;
    let card_width = area.width / cols as u16;
    let inner = card_width.saturating_sub(2) as usize;
    // Lay the cards out in rows; a row is as tall as its tallest card. Only the cards
    // on screen are built.
    let heights: Vec<u16> = tickets
        .chunks(cols)
        .map(|row| {
            let tallest = row
                .iter()
                .map(|t| card_line_count(app, t))
                .max()
                .unwrap_or(0);
            (tallest as u16 + 2).min(area.height.max(4))
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
        _ if app.screen == Screen::Expo && stations::all_done(&t.order) => theme.good(),
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
        let station = app.screen.station();
        let items: Vec<String> = o
            .items
            .iter()
            .filter(|it| {
                station.is_none_or(|s| stations::item_station(it, app.menu.as_ref()) == Some(s))
            })
            .map(|it| {
                let mark = if o.has_stations() {
                    state_mark(it.state)
                } else {
                    ""
                };
                format!("{mark}{}x {}", it.qty, it.name)
            })
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
        if t.rush() {
            spans.push(Span::styled("RUSH ", theme.late()));
        }
        if app.screen == Screen::Expo && stations::all_done(o) {
            spans.push(Span::styled("✓ ", theme.good()));
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
    let whose = match &app.screen {
        Screen::Station(s) => format!("{s}'s items still to make"),
        _ => format!(
            "items across {} open tickets",
            app.tickets.values().filter(|t| !t.order.is_held()).count()
        ),
    };
    let block = Block::bordered().title(Span::styled(
        format!(
            " ALL DAY · {whose} · {} returns ",
            app.keys.keys_of(Action::ToggleAllDay)
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

/// Orders placed for later, soonest to fire first: when each fires and is due, and
/// what it holds.
fn render_upcoming(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    let tickets = app.visible();
    let block = Block::bordered().title(Span::styled(
        format!(
            " UPCOMING · {} placed for later, shown when they fire · {} returns ",
            tickets.len(),
            app.keys.keys_of(Action::Upcoming)
        ),
        theme.selected(),
    ));
    let inner = block.inner(area);
    block.render(area, buf);
    if tickets.is_empty() {
        Paragraph::new("no orders placed for later")
            .style(theme.dim())
            .render(inner, buf);
        return;
    }
    let height = inner.height as usize;
    let selected = app.selected_index().unwrap_or(0);
    let first = selected.saturating_sub(height.saturating_sub(1));
    for (row, t) in tickets.iter().skip(first).take(height).enumerate() {
        let o = &t.order;
        let fires = o.fire_ms().map_or_else(String::new, |f| {
            let mins = minutes_up(f - app.now);
            format!("fires {} (in {mins}m)", local_hm(f))
        });
        let due = o
            .due_ms()
            .map_or_else(String::new, |d| format!("due {}", local_hm(d)));
        let items: Vec<String> = o
            .items
            .iter()
            .map(|it| format!("{} x {}", it.qty, it.name))
            .collect();
        let rush = if t.rush() { " RUSH" } else { "" };
        let head = format!(
            "{} #{:<4}{rush} {fires:<20} {due:<10} ",
            if Some(o.id) == app.selected {
                "▶"
            } else {
                " "
            },
            o.number
        );
        let used = chit_text::width(&head);
        let mut line = Line::from(vec![
            Span::styled(head, Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(fit(
                &format!("{} · {}", o.customer.name, items.join(", ")),
                (inner.width as usize).saturating_sub(used),
            )),
        ]);
        if Some(o.id) == app.selected {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        let rect = Rect {
            x: inner.x,
            y: inner.y + row as u16,
            width: inner.width,
            height: 1,
        };
        Paragraph::new(line).render(rect, buf);
    }
}

#[cfg(test)]
mod tests;
