//! The chat pane both displays can open with `c`: a room's recent messages, who is
//! typing, and a one-line input. Pure state and rendering; the display's update feeds
//! it events and keys and carries out the effects it returns.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chit_protocol::chat::{TypingNotifier, Typists, printable};
use chit_protocol::{ChatMessage, ClientMsg, Event, EventKind, ServerMsg};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use crate::display::Effect;
use crate::sound::Sound;
use crate::widgets::{Theme, local_clock};
use chit_client::{Request, ServerError};

/// Messages kept in the pane.
const KEEP: usize = 200;
/// The history loaded when the pane first connects.
const HISTORY: u32 = 30;
/// The longest message the server takes.
const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone)]
pub struct ChatPane {
    /// The room, e.g. `chat:r1` or `order:17`; `None` when there is nothing to talk about.
    pub room: Option<String>,
    pub open: bool,
    pub messages: VecDeque<ChatMessage>,
    pub unread: usize,
    pub input: String,
    /// The name this display speaks as (from the server's welcome).
    pub me: String,
    /// A message from the last send that failed, shown in the pane.
    pub error: Option<String>,
    typists: Typists,
    notifier: TypingNotifier,
    /// Our chat requests awaiting replies: request id → whether it is a history load.
    pending: HashMap<u64, bool>,
    loaded: bool,
    /// Maps Unix ms (the displays' clock) to `Instant` for the typing helpers.
    epoch: (i64, Instant),
    /// The pane's own request ids, far from the display's.
    next_id: u64,
}

/// Where the pane's request ids start, so they never meet the display's own.
pub const CHAT_REQUEST_IDS: u64 = 1 << 40;

impl ChatPane {
    pub fn new(room: Option<String>, now: i64) -> ChatPane {
        ChatPane {
            room,
            open: false,
            messages: VecDeque::new(),
            unread: 0,
            input: String::new(),
            me: String::new(),
            error: None,
            typists: Typists::default(),
            notifier: TypingNotifier::default(),
            pending: HashMap::new(),
            loaded: false,
            epoch: (now, Instant::now()),
            next_id: CHAT_REQUEST_IDS,
        }
    }

    fn instant(&self, now: i64) -> Instant {
        self.epoch.1 + Duration::from_millis((now - self.epoch.0).max(0) as u64)
    }

    /// A fresh request id for a request about the pane (joining its room).
    pub fn request_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Follows another room (the rider's selected order); forgets the old one's lines.
    pub fn set_room(&mut self, room: Option<String>) -> Vec<Effect> {
        if room == self.room {
            return Vec::new();
        }
        self.room = room;
        self.messages.clear();
        self.unread = 0;
        self.typists.clear();
        self.loaded = false;
        self.load_history()
    }

    /// After (re)connecting: who we are, and the history the first time.
    pub fn online(&mut self, me: &str) -> Vec<Effect> {
        self.me = me.to_string();
        if self.loaded {
            return Vec::new();
        }
        self.load_history()
    }

    fn load_history(&mut self) -> Vec<Effect> {
        let Some(room) = self.room.clone() else {
            return Vec::new();
        };
        let id = self.request_id();
        self.pending.insert(id, true);
        vec![Effect::Send(Request {
            id,
            msg: ClientMsg::ChatHistory {
                room,
                before: None,
                limit: Some(HISTORY),
            },
        })]
    }

    /// The connection dropped: nobody's typing refresh can reach us now.
    pub fn offline(&mut self) {
        self.typists.clear();
    }

    pub fn toggle(&mut self) {
        self.open = !self.open;
        if self.open {
            self.unread = 0;
        }
    }

    /// A link event; returns effects (a chat sound when the pane is closed).
    pub fn event(&mut self, event: &Event, now: i64) -> Vec<Effect> {
        if Some(&event.room) != self.room.as_ref() {
            return Vec::new();
        }
        let at = self.instant(now);
        match event.kind {
            EventKind::ChatMessage => {
                let Some(message) = event.chat_message() else {
                    return Vec::new();
                };
                if self.messages.iter().any(|m| m.id == message.id) {
                    return Vec::new();
                }
                let mine = message.author == self.me;
                self.push(message);
                if !self.open && !mine {
                    self.unread += 1;
                    return vec![Effect::Play(Sound::Chat)];
                }
            }
            EventKind::Typing | EventKind::Presence => {
                self.typists.apply(event, at);
            }
            _ => {}
        }
        Vec::new()
    }

    fn push(&mut self, message: ChatMessage) {
        self.messages.push_back(message);
        while self.messages.len() > KEEP {
            self.messages.pop_front();
        }
    }

    /// The answer to a request; returns false if the request was not the pane's.
    pub fn reply(&mut self, id: u64, result: &Result<ServerMsg, ServerError>) -> bool {
        let Some(history) = self.pending.remove(&id) else {
            return false;
        };
        match result {
            Ok(ServerMsg::Messages { messages }) if history => {
                self.loaded = true;
                let newer: Vec<ChatMessage> = self.messages.drain(..).collect();
                for m in messages.iter().cloned().chain(newer) {
                    if !self.messages.iter().any(|x| x.id == m.id) {
                        self.push(m);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => self.error = Some(e.message.clone()),
        }
        true
    }

    /// Expires typing indicators; returns whether the pane changed.
    pub fn tick(&mut self, now: i64) -> bool {
        let at = self.instant(now);
        self.typists.expire(at)
    }

    /// A key while the pane is open: edit, send with Enter, close with Esc.
    pub fn key(&mut self, key: KeyEvent, now: i64) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let Some(room) = self.room.clone() else {
            if key.code == KeyCode::Esc {
                self.open = false;
            }
            return Vec::new();
        };
        let mut effects = Vec::new();
        match key.code {
            KeyCode::Esc => {
                self.open = false;
                return effects;
            }
            KeyCode::Enter => {
                let text = self.input.trim().to_string();
                if text.is_empty() {
                    return effects;
                }
                self.input.clear();
                self.error = None;
                self.notifier.sent();
                let id = self.request_id();
                self.pending.insert(id, false);
                effects.push(Effect::Send(Request {
                    id,
                    msg: ClientMsg::ChatSend { room, text },
                }));
                return effects;
            }
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.clear()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if self.input.chars().count() < MAX_TEXT {
                    self.input.push(c);
                }
            }
            _ => return effects,
        }
        if let Some(active) = self.notifier.edited(&self.input, self.instant(now)) {
            effects.push(Effect::Send(Request {
                id: 0,
                msg: ClientMsg::Typing { room, active },
            }));
        }
        effects
    }

    /// Draws the pane into `area`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: Theme) {
        Clear.render(area, buf);
        let title = match &self.room {
            Some(room) => format!(" chat · {room} "),
            None => " chat ".to_string(),
        };
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title(Span::styled(title, theme.selected()))
            .title_bottom(Line::styled(" Enter send · Esc close ", theme.dim()).right_aligned());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height < 2 || inner.width < 8 {
            return;
        }
        let width = inner.width as usize;
        let mut footer: Vec<Line> = Vec::new();
        if let Some(error) = &self.error {
            footer.push(Line::styled(
                crate::widgets::fit(error, width),
                theme.late(),
            ));
        }
        if let Some(typing) = self.typists.line() {
            footer.push(Line::styled(
                crate::widgets::fit(&typing, width),
                theme.dim(),
            ));
        }
        // What was typed last, in the columns there are.
        let input = chit_text::tail(&self.input, width.saturating_sub(3)).to_string();
        footer.push(Line::from(vec![
            Span::styled("> ", theme.selected()),
            Span::raw(input),
            Span::styled("▏", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ]));
        let room_for_messages = (inner.height as usize).saturating_sub(footer.len());
        let mut lines: Vec<Line> = Vec::new();
        if self.room.is_none() {
            lines.push(Line::styled(
                "select an order to talk about it",
                theme.dim(),
            ));
        } else if self.messages.is_empty() {
            lines.push(Line::styled("no messages yet", theme.dim()));
        }
        for m in &self.messages {
            let stamp = local_clock(chit_protocol::parse_time(&m.at).unwrap_or(0));
            let head = format!(
                "{} {}: ",
                &stamp[..5.min(stamp.len())],
                printable(&m.author)
            );
            let text = format!("{head}{}", printable(&m.text));
            for (i, chunk) in chit_text::wrap(&text, width).into_iter().enumerate() {
                match chunk.strip_prefix(&head) {
                    Some(rest) if i == 0 => lines.push(Line::from(vec![
                        Span::styled(head.clone(), theme.selected()),
                        Span::raw(rest.to_string()),
                    ])),
                    _ => lines.push(Line::raw(chunk)),
                }
            }
        }
        let skip = lines.len().saturating_sub(room_for_messages);
        let shown: Vec<Line> = lines.into_iter().skip(skip).collect();
        let messages_area = Rect {
            height: room_for_messages as u16,
            ..inner
        };
        Paragraph::new(shown).render(messages_area, buf);
        let footer_area = Rect {
            y: inner.y + room_for_messages as u16,
            height: footer.len() as u16,
            ..inner
        };
        Paragraph::new(footer).render(footer_area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::{Role, format_time};
    use crossterm::event::KeyEventState;

    const T0: i64 = 1_800_000_000_000;

    fn message(id: i64, author: &str, text: &str) -> Event {
        let m = ChatMessage {
            id,
            room: "chat:r1".into(),
            seq: Some(id as u64),
            author: author.into(),
            role: Role::Rider,
            text: text.into(),
            at: format_time(T0),
        };
        Event {
            room: "chat:r1".into(),
            seq: Some(id as u64),
            kind: EventKind::ChatMessage,
            at: format_time(T0),
            data: serde_json::to_value(m).unwrap(),
        }
    }

    fn typing(name: &str, active: bool) -> Event {
        Event {
            room: "chat:r1".into(),
            seq: None,
            kind: EventKind::Typing,
            at: format_time(T0),
            data: serde_json::json!({"session": 7, "name": name, "role": "rider", "active": active}),
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    fn pane() -> ChatPane {
        let mut pane = ChatPane::new(Some("chat:r1".into()), T0);
        pane.online("kitchen r1");
        pane
    }

    #[test]
    fn messages_count_as_unread_and_chime_only_while_closed() {
        let mut pane = pane();
        assert_eq!(
            pane.event(&message(1, "bo", "on my way"), T0),
            [Effect::Play(Sound::Chat)]
        );
        assert_eq!(pane.unread, 1);
        assert!(
            pane.event(&message(1, "bo", "on my way"), T0).is_empty(),
            "a replayed message counts once"
        );
        assert!(
            pane.event(&message(2, "kitchen r1", "thanks"), T0)
                .is_empty(),
            "our own message is no news"
        );
        pane.toggle();
        assert_eq!(pane.unread, 0);
        assert!(pane.event(&message(3, "bo", "here"), T0).is_empty());
        assert_eq!(pane.messages.len(), 3);
    }

    #[test]
    fn typing_shows_and_expires() {
        let mut pane = pane();
        pane.event(&typing("bo", true), T0);
        assert_eq!(pane.typists.line().as_deref(), Some("bo is typing…"));
        assert!(!pane.tick(T0 + 5_000));
        assert!(pane.tick(T0 + 6_500));
        assert_eq!(pane.typists.line(), None);
    }

    #[test]
    fn typing_sends_notifications_and_enter_sends_the_line() {
        let mut pane = pane();
        pane.toggle();
        let effects = pane.key(key(KeyCode::Char('h')), T0);
        assert!(matches!(
            &effects[..],
            [Effect::Send(Request {
                msg: ClientMsg::Typing { active: true, .. },
                ..
            })]
        ));
        assert!(
            pane.key(key(KeyCode::Char('i')), T0 + 100).is_empty(),
            "not on every key"
        );
        let effects = pane.key(key(KeyCode::Enter), T0 + 200);
        let [
            Effect::Send(Request {
                id,
                msg: ClientMsg::ChatSend { text, .. },
            }),
        ] = &effects[..]
        else {
            panic!("{effects:?}");
        };
        assert_eq!(text, "hi");
        assert!(
            *id >= CHAT_REQUEST_IDS,
            "the pane's ids never meet the display's"
        );
        let id = *id;
        assert!(pane.input.is_empty());
        assert!(pane.reply(
            id,
            &Err(chit_client::ServerError {
                code: chit_protocol::ErrorCode::RateLimited,
                message: "slow down".into()
            })
        ));
        assert_eq!(pane.error.as_deref(), Some("slow down"));
        pane.key(key(KeyCode::Esc), T0);
        assert!(!pane.open);
    }

    /// The pane as a widget, for the screen helper.
    struct Drawn<'a>(&'a ChatPane);

    impl Widget for Drawn<'_> {
        fn render(self, area: Rect, buf: &mut Buffer) {
            self.0.render(area, buf, Theme { color: false });
        }
    }

    #[test]
    fn wide_messages_wrap_by_columns_and_the_input_shows_its_end() {
        let mut pane = pane();
        pane.open = true;
        let said = "我马上到，请稍等五分钟，谢谢你们的耐心";
        pane.event(&message(1, "王小明", said), T0);
        pane.event(&message(2, "bo", "ถึงแล้วครับ รออยู่หน้าร้าน"), T0);
        pane.input = "ขอบคุณมากครับ 很快就到".into();
        let text = crate::widgets::screen_text(Drawn(&pane), 24, 12);
        for line in text.lines() {
            assert!(chit_text::width(line) <= 24, "{line:?} is wider than 24");
        }
        let inside: String = text
            .lines()
            .map(|l| l.trim_start_matches('│').trim_end_matches('│').trim_end())
            .collect();
        assert!(
            inside.contains(said),
            "the message is all there, in order:\n{text}"
        );
        assert!(inside.contains("ถึงแล้วครับ รออยู่หน้าร้าน"), "{text}");
        let input = text
            .lines()
            .find(|l| l.contains("> "))
            .expect("the input line");
        assert!(input.contains("很快就到▏"), "{input}");
    }
}
