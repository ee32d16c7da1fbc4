//! Pieces both displays draw: the theme (colour, or plain modifiers under `NO_COLOR`),
//! local clock times and text cut by display width (from `chit_text`), the connection
//! banner, centred popups and the key footer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use crate::conn::Conn;

/// Styles for what the displays show; without colour, only bold/reverse/underline.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    pub fn header(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn alarm(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn late(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn warning(&self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new())
    }

    pub fn new_order(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn selected(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn dim(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }

    pub fn good(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn flash(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Cyan),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
}

pub use chit_text::{fit, local_clock, local_hm};

/// The connection as a header span: a dot and a word, never colour alone.
pub fn conn_span(conn: &Conn, now: i64, theme: Theme) -> Span<'static> {
    let label = conn.label(now);
    match conn {
        Conn::Online { .. } => Span::styled(format!("● {label}"), theme.good()),
        _ => Span::styled(format!("○ {}", label.to_uppercase()), theme.alarm()),
    }
}

/// The line under the header while the display is not live; `queued` counts changes
/// waiting to be sent.
pub fn conn_banner(conn: &Conn, now: i64, queued: usize) -> Option<String> {
    let queued = match queued {
        0 => String::new(),
        1 => " · 1 change queued".into(),
        n => format!(" · {n} changes queued"),
    };
    match conn {
        Conn::Online { .. } => None,
        Conn::Connecting => Some(format!("connecting to the server…{queued}")),
        Conn::Offline { since, reason, .. } => Some(format!(
            "OFFLINE since {} · {}{queued} · {reason} · what you see may be out of date",
            local_clock(*since),
            conn.label(now)
        )),
        Conn::Refused { refusal, .. } => Some(format!(
            "REFUSED: {refusal} · {}{queued}",
            Conn::hint(refusal)
        )),
    }
}

/// A rectangle of at most `width` x `height`, centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A bordered popup with a title and text, drawn over whatever is below.
pub fn popup(buf: &mut Buffer, area: Rect, title: &str, lines: Vec<Line<'static>>, theme: Theme) {
    let width = lines
        .iter()
        .map(|l| l.width() as u16)
        .max()
        .unwrap_or(0)
        .max(title.len() as u16 + 4)
        + 4;
    let rect = centered(
        area,
        width.min(area.width.saturating_sub(2)).max(20),
        lines.len() as u16 + 2,
    );
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .title(Span::styled(format!(" {title} "), theme.selected())),
        )
        .render(rect, buf);
}

/// The `?` overlay: each key, right-aligned in `width` columns, beside what it does.
pub fn help_popup(buf: &mut Buffer, area: Rect, keys: &[(&str, &str)], width: usize, theme: Theme) {
    let lines = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>width$}  "), theme.selected()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    popup(buf, area, "keys", lines, theme);
}

/// A footer of `key action` pairs, keys emphasised.
pub fn footer(pairs: &[(&str, &str)], theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, action) in pairs {
        spans.push(Span::styled(format!(" {key}"), theme.selected()));
        spans.push(Span::raw(format!(" {action} ")));
    }
    let _ = theme;
    Line::from(spans)
}

/// A status as cooks and riders read it: `NEW`, `PREPARING`, `PICKED UP`, …
pub fn status_label(status: chit_protocol::Status) -> &'static str {
    use chit_protocol::Status;
    match status {
        Status::Pending => "NEW",
        Status::Confirmed => "CONFIRMED",
        Status::Preparing => "PREPARING",
        Status::Ready => "READY",
        Status::PickedUp => "PICKED UP",
        Status::Delivered => "DELIVERED",
        Status::Rejected => "REJECTED",
        Status::Cancelled => "CANCELLED",
    }
}

/// What a widget draws, as a terminal shows it: one line per row, trailing spaces
/// trimmed, and the cell a wide character covers left out (as ratatui's backends skip
/// it when drawing). For the displays' screen tests.
#[cfg(test)]
pub fn screen_text<W: Widget>(widget: W, width: u16, height: u16) -> String {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| f.render_widget(widget, f.area()))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            let mut row = String::new();
            let mut covered = 0;
            for x in 0..width {
                let symbol = buffer[(x, y)].symbol();
                if covered > 0 {
                    covered -= 1;
                    continue;
                }
                covered = chit_text::width(symbol).saturating_sub(1);
                row.push_str(symbol);
            }
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
