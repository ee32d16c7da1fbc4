//! The terminal of an interactive `chit chat join`: raw mode, restored on exit and on
//! panic; lines printed above a footer (who is typing, then the input line) that is
//! cleared and redrawn around them, so nothing incoming garbles what is being typed.
//! Everything stays in the terminal's scrollback; no alternate screen.

use std::io::{self, Write};
use std::sync::Once;

use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, event, execute, queue};
use unicode_width::UnicodeWidthChar;

use super::editor::Editor;

pub const PROMPT: &str = "> ";

/// A line to print above the footer; `dim` for what is about the room rather than in it.
pub struct Line {
    pub text: String,
    pub dim: bool,
}

pub struct Screen {
    out: io::Stdout,
    /// Whether the footer is on screen, and how many rows sit above the input line.
    drawn: bool,
    status_rows: u16,
}

impl Screen {
    pub fn enter() -> io::Result<Screen> {
        restore_on_panic();
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, event::EnableBracketedPaste) {
            restore();
            return Err(e);
        }
        Ok(Screen {
            out,
            drawn: false,
            status_rows: 0,
        })
    }

    /// Prints `lines` above the footer, then draws the footer again.
    pub fn print(
        &mut self,
        lines: &[Line],
        editor: &Editor,
        status: Option<&str>,
    ) -> io::Result<()> {
        self.clear_footer()?;
        for line in lines {
            if line.dim {
                queue!(self.out, SetAttribute(Attribute::Dim))?;
            }
            queue!(self.out, Print(&line.text))?;
            if line.dim {
                queue!(self.out, SetAttribute(Attribute::Reset))?;
            }
            queue!(self.out, Print("\r\n"))?;
        }
        self.draw_footer(editor, status)
    }

    fn clear_footer(&mut self) -> io::Result<()> {
        if self.drawn {
            queue!(self.out, cursor::MoveToColumn(0))?;
            if self.status_rows > 0 {
                queue!(self.out, cursor::MoveUp(self.status_rows))?;
            }
            queue!(self.out, terminal::Clear(ClearType::FromCursorDown))?;
            self.drawn = false;
        }
        Ok(())
    }

    fn draw_footer(&mut self, editor: &Editor, status: Option<&str>) -> io::Result<()> {
        let width = terminal::size().map_or(80, |(w, _)| usize::from(w)).max(8);
        self.status_rows = 0;
        if let Some(status) = status {
            queue!(
                self.out,
                SetAttribute(Attribute::Dim),
                Print(fit(status, width - 1)),
                SetAttribute(Attribute::Reset),
                Print("\r\n")
            )?;
            self.status_rows = 1;
        }
        // One column spare so the line never reaches the edge and wraps.
        let (visible, column) = editor.view(width - PROMPT.len() - 1);
        let column = u16::try_from(PROMPT.len() + column).unwrap_or(u16::MAX);
        queue!(
            self.out,
            Print(PROMPT),
            Print(visible),
            cursor::MoveToColumn(column)
        )?;
        self.drawn = true;
        self.out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.clear_footer();
        let _ = self.out.flush();
        restore();
    }
}

/// The longest start of `text` that fits in `width` columns.
fn fit(text: &str, width: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect()
}

fn restore() {
    let _ = execute!(io::stdout(), event::DisableBracketedPaste);
    let _ = terminal::disable_raw_mode();
}

/// A panic leaves the terminal usable and its message readable.
fn restore_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            eprint!("\r\n");
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_lines_are_cut_to_the_width() {
        assert_eq!(super::fit("bo is typing…", 5), "bo is");
        assert_eq!(super::fit("日本語", 5), "日本");
        assert_eq!(super::fit("ok", 5), "ok");
    }
}
