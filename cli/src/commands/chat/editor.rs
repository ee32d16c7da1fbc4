//! The input line of `chit chat join`: text and cursor, moved and edited by grapheme
//! (so Thai marks and emoji stay whole), Emacs-style keys, recall of earlier lines,
//! and the slice that fits the screen. Pure: keys in, actions out; no terminal I/O.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing to redraw.
    None,
    /// The text changed.
    Edited,
    /// Only the cursor moved.
    Moved,
    /// Enter on a line with something in it: the line, now cleared.
    Submit(String),
    Quit,
    Redraw,
}

#[derive(Debug, Default)]
pub struct Editor {
    text: String,
    /// Byte offset, always on a grapheme boundary.
    cursor: usize,
    history: Vec<String>,
    /// While recalling: the index in `history` shown, and the line being typed before.
    recall: Option<(usize, String)>,
}

impl Editor {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Enter => self.submit(),
            KeyCode::Char(c) if ctrl => match c {
                'c' => Action::Quit,
                'd' if self.text.is_empty() => Action::Quit,
                'd' => self.delete_next(),
                'a' => self.move_to(0),
                'e' => self.move_to(self.text.len()),
                'b' => self.move_to(self.prev_boundary()),
                'f' => self.move_to(self.next_boundary()),
                'h' => self.delete_prev(),
                'u' => self.delete_range(0, self.cursor),
                'k' => self.delete_range(self.cursor, self.text.len()),
                'w' => self.delete_range(self.word_start(), self.cursor),
                'p' => self.recall_older(),
                'n' => self.recall_newer(),
                'l' => Action::Redraw,
                _ => Action::None,
            },
            KeyCode::Char(_) if alt => Action::None,
            KeyCode::Char(c) => self.insert(&c.to_string()),
            KeyCode::Backspace => self.delete_prev(),
            KeyCode::Delete => self.delete_next(),
            KeyCode::Left => self.move_to(self.prev_boundary()),
            KeyCode::Right => self.move_to(self.next_boundary()),
            KeyCode::Home => self.move_to(0),
            KeyCode::End => self.move_to(self.text.len()),
            KeyCode::Up => self.recall_older(),
            KeyCode::Down => self.recall_newer(),
            _ => Action::None,
        }
    }

    /// Pasted text goes in as typed, on one line.
    pub fn paste(&mut self, text: &str) -> Action {
        let one_line: String = text
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        self.insert(&one_line)
    }

    fn insert(&mut self, s: &str) -> Action {
        if s.is_empty() {
            return Action::None;
        }
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
        // Combining marks join the grapheme before them: keep the cursor on a boundary.
        self.cursor = self.boundary_at_or_after(self.cursor);
        Action::Edited
    }

    fn submit(&mut self) -> Action {
        if self.text.trim().is_empty() {
            return Action::None;
        }
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.recall = None;
        if self.history.last() != Some(&line) {
            self.history.push(line.clone());
        }
        Action::Submit(line)
    }

    fn move_to(&mut self, at: usize) -> Action {
        if at == self.cursor {
            return Action::None;
        }
        self.cursor = at;
        Action::Moved
    }

    fn delete_prev(&mut self) -> Action {
        self.delete_range(self.prev_boundary(), self.cursor)
    }

    fn delete_next(&mut self) -> Action {
        self.delete_range(self.cursor, self.next_boundary())
    }

    fn delete_range(&mut self, from: usize, to: usize) -> Action {
        if from >= to {
            return Action::None;
        }
        self.text.replace_range(from..to, "");
        self.cursor = from;
        Action::Edited
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .graphemes(true)
            .next()
            .map_or(self.cursor, |g| self.cursor + g.len())
    }

    fn boundary_at_or_after(&self, at: usize) -> usize {
        self.text
            .grapheme_indices(true)
            .map(|(i, _)| i)
            .chain([self.text.len()])
            .find(|i| *i >= at)
            .unwrap_or(self.text.len())
    }

    /// Where the word before the cursor starts (spaces before it go too).
    fn word_start(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end();
        trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8())
    }

    fn recall_older(&mut self) -> Action {
        let index = match &self.recall {
            Some((0, _)) => return Action::None,
            Some((i, _)) => i - 1,
            None if self.history.is_empty() => return Action::None,
            None => {
                let draft = std::mem::take(&mut self.text);
                self.recall = Some((self.history.len(), draft));
                self.history.len() - 1
            }
        };
        self.show_recalled(index)
    }

    fn recall_newer(&mut self) -> Action {
        match self.recall.take() {
            None => Action::None,
            Some((i, draft)) if i + 1 >= self.history.len() => {
                self.text = draft;
                self.cursor = self.text.len();
                Action::Edited
            }
            Some((i, draft)) => {
                self.recall = Some((i, draft));
                self.show_recalled(i + 1)
            }
        }
    }

    fn show_recalled(&mut self, index: usize) -> Action {
        if let Some((i, _)) = &mut self.recall {
            *i = index;
        }
        self.text = self.history[index].clone();
        self.cursor = self.text.len();
        Action::Edited
    }

    /// The part of the text to show in `width` columns, and the cursor's column in it:
    /// all of it if it fits, else a window that keeps the cursor in view.
    pub fn view(&self, width: usize) -> (String, usize) {
        let width = width.max(2);
        let before: Vec<&str> = self.text[..self.cursor].graphemes(true).collect();
        // Leave a column for the cursor itself.
        let mut shown_before = Vec::new();
        let mut used = 0;
        for g in before.iter().rev() {
            let w = g.width();
            if used + w > width - 1 {
                break;
            }
            used += w;
            shown_before.push(*g);
        }
        shown_before.reverse();
        let mut line: String = shown_before.concat();
        let column = used;
        for g in self.text[self.cursor..].graphemes(true) {
            let w = g.width();
            if used + w > width {
                break;
            }
            used += w;
            line.push_str(g);
        }
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(e: &mut Editor, code: KeyCode) -> Action {
        e.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(e: &mut Editor, c: char) -> Action {
        e.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn typed(text: &str) -> Editor {
        let mut e = Editor::default();
        for c in text.chars() {
            press(&mut e, KeyCode::Char(c));
        }
        e
    }

    #[test]
    fn types_edits_and_submits() {
        let mut e = typed("helo");
        press(&mut e, KeyCode::Left);
        assert_eq!(press(&mut e, KeyCode::Char('l')), Action::Edited);
        assert_eq!(e.text(), "hello");
        ctrl(&mut e, 'e');
        e.paste(" wide\nworld");
        assert_eq!(e.text(), "hello wide world");
        assert_eq!(ctrl(&mut e, 'w'), Action::Edited);
        assert_eq!(e.text(), "hello wide ");
        ctrl(&mut e, 'a');
        assert_eq!(press(&mut e, KeyCode::Left), Action::None);
        ctrl(&mut e, 'k');
        assert_eq!(e.text(), "");
        assert_eq!(
            press(&mut e, KeyCode::Enter),
            Action::None,
            "nothing to send"
        );
        let mut e = typed("on my way");
        assert_eq!(
            press(&mut e, KeyCode::Enter),
            Action::Submit("on my way".into())
        );
        assert_eq!((e.text(), e.view(20)), ("", (String::new(), 0)));
    }

    #[test]
    fn thai_and_emoji_are_edited_whole() {
        // "น้ำ" is three code points (a consonant, a tone mark, a vowel) and one
        // cluster; a thumbs-up with a skin tone is two and one.
        let mut e = typed("กน้ำ👍🏽");
        assert_eq!(e.text().graphemes(true).count(), 3);
        press(&mut e, KeyCode::Backspace);
        assert_eq!(e.text(), "กน้ำ");
        press(&mut e, KeyCode::Left);
        assert_eq!(e.view(10), ("กน้ำ".into(), 1));
        press(&mut e, KeyCode::Delete);
        assert_eq!(e.text(), "ก");
    }

    #[test]
    fn ctrl_d_quits_only_on_an_empty_line_and_ctrl_c_always() {
        let mut e = typed("ab");
        ctrl(&mut e, 'a');
        assert_eq!(ctrl(&mut e, 'd'), Action::Edited);
        assert_eq!(e.text(), "b");
        ctrl(&mut e, 'u');
        assert_eq!(ctrl(&mut e, 'k'), Action::Edited);
        assert_eq!(ctrl(&mut e, 'd'), Action::Quit);
        assert_eq!(ctrl(&mut typed("x"), 'c'), Action::Quit);
    }

    #[test]
    fn up_and_down_recall_sent_lines_and_the_draft() {
        let mut e = Editor::default();
        for line in ["one", "two"] {
            e.paste(line);
            press(&mut e, KeyCode::Enter);
        }
        e.paste("dra");
        press(&mut e, KeyCode::Up);
        assert_eq!(e.text(), "two");
        press(&mut e, KeyCode::Up);
        assert_eq!(e.text(), "one");
        assert_eq!(press(&mut e, KeyCode::Up), Action::None);
        press(&mut e, KeyCode::Down);
        assert_eq!(e.text(), "two");
        press(&mut e, KeyCode::Down);
        assert_eq!(e.text(), "dra");
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_in_view() {
        let mut e = typed("abcdefghij");
        assert_eq!(e.view(20), ("abcdefghij".into(), 10));
        assert_eq!(e.view(6), ("fghij".into(), 5));
        ctrl(&mut e, 'a');
        assert_eq!(e.view(6), ("abcdef".into(), 0));
        // Wide characters take two columns.
        let e = typed("日本語");
        assert_eq!(e.view(6), ("本語".into(), 4));
    }
}
