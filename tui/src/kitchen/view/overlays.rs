//! What the kitchen display draws over its tickets: help (the key map in use), a
//! ticket's details, and the questions it asks before acting (cancel, force ready, 86,
//! quit).

use chit_protocol::{Fulfilment, Status, money};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::super::app::{App, Overlay, format_age};
use super::super::stations::{self, Screen, state_mark};
use super::super::update::{Action, until_text};
use super::due_text;
use crate::widgets::{self, Theme, local_clock};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer, theme: Theme) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let station = app.screen.station().is_some();
            let keys = |a: Action| app.keys.keys_of(a);
            let rows = app.keys.help(|a| {
                // Pairs and the nine digit keys get one line each below; a station has
                // no status groups and cancels nothing.
                matches!(
                    a,
                    Action::Up | Action::Down | Action::Left | Action::Right | Action::Help
                ) || matches!(a, Action::BumpNth(n) if n > 1)
                    || (station && a == Action::Cancel)
            });
            let mut lines: Vec<(String, &str)> = vec![(
                format!("{} {}", keys(Action::Up), keys(Action::Down)),
                "select the previous / next ticket",
            )];
            if !station {
                lines.push((
                    format!("{} {}", keys(Action::Left), keys(Action::Right)),
                    "jump to the previous / next status group",
                ));
            }
            for (k, help) in rows {
                let help = match () {
                    _ if k == keys(Action::Bump) => match &app.screen {
                        Screen::Station(_) => "start this station's items, then mark them done",
                        Screen::Expo => "send out: ready (asks when items are not done)",
                        Screen::Tickets => "bump to the next status (a ready pickup: delivered)",
                    },
                    _ => help,
                };
                if k == keys(Action::BumpNth(1)) {
                    lines.push((format!("{k} … {}", keys(Action::BumpNth(9))), help));
                } else {
                    lines.push((k, help));
                }
            }
            let width = lines
                .iter()
                .map(|(k, _)| chit_text::width(k))
                .max()
                .unwrap_or(0);
            let rows: Vec<(&str, &str)> = lines.iter().map(|(k, h)| (k.as_str(), *h)).collect();
            widgets::help_popup(buf, area, &rows, width, theme);
        }
        Overlay::Details(id) => {
            let Some(t) = app.tickets.get(id) else {
                return;
            };
            let o = &t.order;
            let mut lines = vec![
                Line::raw(format!(
                    "order {} · #{} · {} · {}{}",
                    o.id,
                    o.number,
                    o.status,
                    match o.fulfilment {
                        Fulfilment::Delivery => "delivery",
                        Fulfilment::Pickup => "pickup",
                    },
                    o.source
                        .as_deref()
                        .map(|s| format!(" · from {s}"))
                        .unwrap_or_default()
                )),
                Line::raw(format!(
                    "customer {} · {}",
                    o.customer.name, o.customer.phone
                )),
            ];
            if let Some(a) = &o.customer.address {
                lines.push(Line::raw(format!("address  {a}")));
            }
            if let Some(due) = due_text(app, o) {
                lines.push(Line::raw(due));
            }
            lines.push(Line::raw(""));
            for item in &o.items {
                let at = stations::item_station(item, app.menu.as_ref())
                    .filter(|_| o.has_stations())
                    .map(|s| format!("  [{s} {}]", item.state))
                    .unwrap_or_default();
                lines.push(Line::raw(format!(
                    "{} {:>3} x {}  @ {}{at}",
                    state_mark(item.state),
                    item.qty,
                    item.name,
                    money::format(item.unit_price)
                )));
                if let Some(n) = &item.note {
                    lines.push(Line::styled(format!("       ↳ {n}"), theme.warning()));
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
            let Some(t) = app.tickets.get(id) else {
                return;
            };
            let verb = if t.order.status == Status::Pending {
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
        Overlay::ConfirmForce(id) => {
            let Some(t) = app.tickets.get(id) else {
                return;
            };
            let lines = vec![
                Line::raw(format!(
                    "Not every item of #{} is done: {}.",
                    t.order.number,
                    stations::progress_line(&t.order, app.menu.as_ref(), None)
                )),
                Line::raw("Send it out as ready anyway?"),
                Line::styled("y: ready now   n / Esc: wait", theme.selected()),
            ];
            widgets::popup(buf, area, "send out", lines, theme);
        }
        Overlay::EightySix { choices, at } => {
            let mut lines: Vec<Line<'static>> = Vec::new();
            for (i, c) in choices.iter().enumerate() {
                let text = if c.restore {
                    let until = app
                        .unavailable
                        .iter()
                        .find(|u| u.item == c.item)
                        .map(|u| until_text(&u.until))
                        .unwrap_or_default();
                    format!("{}  restore {} (86{until})", i + 1, c.item)
                } else {
                    format!("{}  86 {}", i + 1, c.item)
                };
                let line = if i == *at {
                    Line::styled(format!("▶ {text}"), theme.selected())
                } else {
                    Line::raw(format!("  {text}"))
                };
                lines.push(line);
            }
            lines.push(Line::styled(
                format!(
                    "{}: choose   {}: close",
                    app.keys.keys_of(Action::Bump),
                    app.keys.keys_of(Action::Close)
                ),
                theme.dim(),
            ));
            widgets::popup(buf, area, "86: out of an item", lines, theme);
        }
        Overlay::ConfirmEightySix(choice) => {
            let lines = if choice.restore {
                vec![
                    Line::raw(format!("Restore {}? It can be ordered again.", choice.item)),
                    Line::styled("y: restore   n / Esc: no", theme.selected()),
                ]
            } else {
                vec![
                    Line::raw(format!(
                        "86 {} until the end of the day? New orders naming it are refused.",
                        choice.item
                    )),
                    Line::styled("y: 86 it   n / Esc: no", theme.selected()),
                ]
            };
            widgets::popup(buf, area, "86", lines, theme);
        }
        Overlay::ConfirmQuit => {
            let what = match &app.screen {
                Screen::Station(s) => format!("{s}'s tickets"),
                Screen::Expo => "orders to send out".into(),
                Screen::Tickets => "new orders".into(),
            };
            let lines = vec![
                Line::raw(format!(
                    "Quit the kitchen display? It stops showing {what}."
                )),
                Line::styled("y: quit   n / Esc: stay", theme.selected()),
            ];
            widgets::popup(buf, area, "quit", lines, theme);
        }
    }
}
