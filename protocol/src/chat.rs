//! Chat helpers shared by every client and the server: what text is safe to put on a
//! terminal, the `data` of `typing` and `presence` events, and two small pure state
//! machines for typing indicators (who is shown typing; when to tell others we type).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::message::{ChatMessage, Event, EventKind, Role};

/// A member shown typing stops being shown after this long without a refresh.
pub const TYPING_SHOWN: Duration = Duration::from_secs(6);
/// The server relays a member's `typing` in a room at most this often.
pub const TYPING_EVERY: Duration = Duration::from_secs(2);
/// How often a client typing without pause refreshes its indicator: more than
/// [`TYPING_EVERY`] (so the server never drops it) and well under [`TYPING_SHOWN`].
pub const TYPING_REFRESH: Duration = Duration::from_secs(3);

/// Characters that must never reach another user's terminal: control characters
/// (C0 and C1, ESC among them, so no escape sequence survives) and the invisible
/// formatting characters that reorder or hide text (bidi embeddings, overrides and
/// isolates, line and paragraph separators). Joiners, which emoji and some scripts
/// need, are kept.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'              // Arabic letter mark
            | '\u{200E}' | '\u{200F}' // left-to-right and right-to-left marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2066}'..='\u{2069}' // isolates
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

/// `text` with tabs and line breaks turned into spaces and every [`is_unsafe`]
/// character removed: safe to print on a terminal, on one line.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !is_unsafe(*c))
        .collect()
}

/// The `data` of a `typing` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub session: u64,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

/// Whether a `presence` event announces a member arriving or going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceAction {
    Join,
    Leave,
}

/// The `data` of a `presence` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceChange {
    pub action: PresenceAction,
    pub session: u64,
    pub name: String,
    pub role: Role,
}

impl Event {
    pub fn chat_message(&self) -> Option<ChatMessage> {
        (self.kind == EventKind::ChatMessage)
            .then(|| serde_json::from_value(self.data.clone()).ok())
            .flatten()
    }

    pub fn typing(&self) -> Option<Typing> {
        (self.kind == EventKind::Typing)
            .then(|| serde_json::from_value(self.data.clone()).ok())
            .flatten()
    }

    pub fn presence(&self) -> Option<PresenceChange> {
        (self.kind == EventKind::Presence)
            .then(|| serde_json::from_value(self.data.clone()).ok())
            .flatten()
    }
}

/// Who is shown typing in one room. The server sends `active: false` when a member
/// stops, sends, leaves or goes quiet for [`TYPING_SHOWN`]; expiring here as well
/// keeps the indicator honest across a lost connection.
#[derive(Debug, Clone, Default)]
pub struct Typists {
    shown: BTreeMap<u64, (String, Instant)>,
}

impl Typists {
    /// Applies a `typing` or `presence` event; returns whether the indicator changed.
    pub fn apply(&mut self, event: &Event, now: Instant) -> bool {
        if let Some(t) = event.typing() {
            if t.active {
                let name = printable(&t.name);
                let changed = self.shown.get(&t.session).is_none_or(|(n, _)| *n != name);
                self.shown.insert(t.session, (name, now + TYPING_SHOWN));
                changed
            } else {
                self.shown.remove(&t.session).is_some()
            }
        } else if let Some(p) = event.presence() {
            p.action == PresenceAction::Leave && self.shown.remove(&p.session).is_some()
        } else {
            false
        }
    }

    /// Forgets members not refreshed in time; returns whether the indicator changed.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.shown.len();
        self.shown.retain(|_, (_, until)| *until > now);
        self.shown.len() != before
    }

    /// Forgets everyone (after a lost connection: nobody's refresh can reach us).
    pub fn clear(&mut self) -> bool {
        let changed = !self.shown.is_empty();
        self.shown.clear();
        changed
    }

    /// `bo is typing…`, `bo and Ann are typing…`, `bo, Ann and 2 more are typing…`.
    pub fn line(&self) -> Option<String> {
        let names: Vec<&str> = self.shown.values().map(|(n, _)| n.as_str()).collect();
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [a, b] => Some(format!("{a} and {b} are typing…")),
            [a, b, rest @ ..] => Some(format!("{a}, {b} and {} more are typing…", rest.len())),
        }
    }
}

/// Decides when a client tells the room it is typing: on an edit that leaves text to
/// send, at most once per [`TYPING_REFRESH`]; and `active: false` once the text is gone
/// (sent or erased). Text that is a command (`/who`) is not typing.
#[derive(Debug, Clone, Default)]
pub struct TypingNotifier {
    sent: Option<Instant>,
}

impl TypingNotifier {
    /// Call after every edit with the text now being typed; returns the `active` to
    /// send, if any.
    pub fn edited(&mut self, text: &str, now: Instant) -> Option<bool> {
        let typing = !text.trim().is_empty() && !text.starts_with('/');
        match (typing, self.sent) {
            (true, Some(at)) if now.duration_since(at) < TYPING_REFRESH => None,
            (true, _) => {
                self.sent = Some(now);
                Some(true)
            }
            (false, Some(_)) => {
                self.sent = None;
                Some(false)
            }
            (false, None) => None,
        }
    }

    /// Call after sending a message: the server ends the indicator itself.
    pub fn sent(&mut self) {
        self.sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_reordering_never_survive() {
        let hostile = "hi\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m \u{202E}gnp.exe\u{2066}x\u{2069}\r\nbye\u{200D}";
        let clean = printable(hostile);
        assert_eq!(clean, "hi[2J]0;owned31m gnp.exex  bye\u{200D}");
        assert!(!clean.chars().any(is_unsafe));
        assert_eq!(printable("ผัดไทย 👨‍🍳"), "ผัดไทย 👨‍🍳");
    }

    fn event(kind: EventKind, data: serde_json::Value) -> Event {
        Event {
            room: "chat:staff".into(),
            seq: None,
            kind,
            at: String::new(),
            data,
        }
    }

    fn typing(session: u64, name: &str, active: bool) -> Event {
        let data = Typing {
            session,
            name: name.into(),
            role: Role::Rider,
            active,
        };
        event(EventKind::Typing, serde_json::to_value(data).unwrap())
    }

    #[test]
    fn typists_show_refresh_expire_and_leave() {
        let t0 = Instant::now();
        let mut t = Typists::default();
        assert_eq!(t.line(), None);
        assert!(t.apply(&typing(2, "bo", true), t0));
        assert_eq!(t.line().as_deref(), Some("bo is typing…"));
        assert!(!t.apply(&typing(2, "bo", true), t0 + Duration::from_secs(4)));
        assert!(t.apply(&typing(3, "Ann", true), t0 + Duration::from_secs(4)));
        assert_eq!(t.line().as_deref(), Some("bo and Ann are typing…"));
        // bo was refreshed at 4 s, so both are still shown at 9 s; at 10 s neither.
        assert!(!t.expire(t0 + Duration::from_secs(9)));
        assert!(t.expire(t0 + Duration::from_secs(10)));
        assert_eq!(t.line(), None);

        for (s, n) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
            t.apply(&typing(s, n, true), t0);
        }
        assert_eq!(t.line().as_deref(), Some("a, b and 2 more are typing…"));
        assert!(t.apply(&typing(1, "a", false), t0));
        let leave = PresenceChange {
            action: PresenceAction::Leave,
            session: 2,
            name: "b".into(),
            role: Role::Kitchen,
        };
        assert!(t.apply(
            &event(EventKind::Presence, serde_json::to_value(leave).unwrap()),
            t0
        ));
        assert_eq!(t.line().as_deref(), Some("c and d are typing…"));
    }

    #[test]
    fn the_notifier_refreshes_while_typing_and_stops_when_the_text_goes() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut n = TypingNotifier::default();
        assert_eq!(n.edited("h", at(0)), Some(true));
        assert_eq!(n.edited("he", at(500)), None);
        assert_eq!(n.edited("hel", at(2999)), None);
        assert_eq!(n.edited("hell", at(3000)), Some(true));
        assert_eq!(n.edited("", at(3100)), Some(false));
        assert_eq!(n.edited("", at(3200)), None);
        assert_eq!(n.edited("/who", at(3300)), None, "a command is not typing");
        assert_eq!(n.edited("x", at(3400)), Some(true));
        n.sent();
        assert_eq!(n.edited("", at(3500)), None, "sending ended it already");
    }

    #[test]
    fn event_data_reads_back() {
        let e = typing(7, "bo", true);
        assert_eq!(e.typing().unwrap().session, 7);
        assert!(e.presence().is_none() && e.chat_message().is_none());
        let e = event(
            EventKind::Presence,
            serde_json::json!({"action": "join", "session": 3, "name": "Ann", "role": "kitchen"}),
        );
        assert_eq!(e.presence().unwrap().action, PresenceAction::Join);
    }
}
