//! `chit chat join ROOM`: the last messages, then live ones with typing and presence,
//! sending each line typed. On a terminal, a line editor that redraws itself around
//! incoming lines; otherwise (or with `--json`) plain lines in and out, for scripts.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chit_protocol::chat::{PresenceAction, PresenceChange, TypingNotifier, Typists, printable};
use chit_protocol::{ChatMessage, EventKind, Member, Room};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::editor::{Action, Editor};
use super::line;
use super::link::{Item, Link};
use super::screen::{Line, Screen};
use crate::output::{json, status_change};
use crate::{Failure, Global, Outcome};

/// Messages shown on joining, and paged back by a bare `/history`.
const HISTORY: u32 = 20;
const MAX_PAGE: u32 = 500;
/// How long leaving waits for messages still being sent.
const SETTLE: Duration = Duration::from_secs(2);

const HELP: &str = "type to talk; /who lists who is here, /history N shows N earlier messages, /quit leaves (or Ctrl-D); start a line with // to send one beginning with /";

pub async fn run(global: &Global, room: &str) -> Outcome {
    let room = match Room::parse(room).map_err(Failure::usage)? {
        room @ (Room::Chat(_) | Room::Order(_)) => room.to_string(),
        room => {
            return Err(Failure::usage(format!(
                "'{room}' is not a chat room: use chat:NAME or order:ID"
            )));
        }
    };
    let (link, history, items) = Link::open(global, &room, HISTORY).await?;
    let mut chat = Chat::new(link);
    let interactive =
        !global.json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        let screen = Screen::enter().map_err(|e| Failure {
            code: 1,
            message: format!("cannot set up the terminal: {e}"),
        })?;
        let mut view = Tty {
            screen,
            editor: Editor::default(),
            status: None,
        };
        let me = printable(&chat.link.me);
        view.info(&format!(
            "joined {room} as {me} (/who, /history N, /quit, /help)"
        ));
        chat.history(&history, &mut view);
        interactive_loop(chat, items, view).await
    } else {
        let mut view = Plain { json: global.json };
        chat.history(&history, &mut view);
        lines_loop(chat, items, view).await
    }
}

/// A line the user typed, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Say(String),
    Who,
    History(u32),
    Quit,
    Help,
    Bad(String),
}

fn parse(line: &str) -> Input {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("//") {
        return Input::Say(format!("/{rest}"));
    }
    let Some(command) = trimmed.strip_prefix('/') else {
        return Input::Say(trimmed.to_string());
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["who"] => Input::Who,
        ["history"] => Input::History(HISTORY),
        ["history", n] => match n.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Input::History(n),
            _ => Input::Bad(format!(
                "/history takes a number of messages, 1 to {MAX_PAGE}"
            )),
        },
        ["quit" | "exit" | "q"] => Input::Quit,
        ["help" | "?"] => Input::Help,
        _ => Input::Bad(format!("unknown command '/{command}': {HELP}")),
    }
}

/// Where the conversation is shown.
trait View {
    fn message(&mut self, m: &ChatMessage);
    /// About the room rather than in it: who came and went, order changes, notices.
    fn info(&mut self, text: &str);
    fn members(&mut self, room: &str, members: &[Member], me: u64);
    fn typing(&mut self, _line: Option<String>) {}
}

fn presence_line(p: &PresenceChange) -> String {
    let name = printable(&p.name);
    match p.action {
        PresenceAction::Join => format!("{name} ({}) joined", p.role),
        PresenceAction::Leave => format!("{name} left"),
    }
}

fn members_line(room: &str, members: &[Member], me: u64) -> String {
    let names: Vec<String> = members
        .iter()
        .map(|m| {
            let you = if m.session == me { ", you" } else { "" };
            format!("{} ({}{you})", printable(&m.name), m.role)
        })
        .collect();
    format!("{} in {room}: {}", members.len(), names.join(", "))
}

/// What both kinds of screen share: following the room, answering input.
struct Chat {
    link: Link,
    typists: Typists,
    /// The oldest and newest seq shown, for paging back and for knowing when our own
    /// messages have come back.
    oldest: Option<u64>,
    newest: u64,
    own_newest: u64,
    /// Sends and requests not answered yet.
    pending: usize,
    paging: bool,
    failed: usize,
}

enum Flow {
    Go,
    Quit,
}

impl Chat {
    fn new(link: Link) -> Chat {
        Chat {
            link,
            typists: Typists::default(),
            oldest: None,
            newest: 0,
            own_newest: 0,
            pending: 0,
            paging: false,
            failed: 0,
        }
    }

    fn history(&mut self, messages: &[ChatMessage], view: &mut impl View) {
        for m in messages {
            self.shown(m);
            view.message(m);
        }
    }

    fn shown(&mut self, m: &ChatMessage) {
        if let Some(seq) = m.seq {
            self.oldest = Some(self.oldest.map_or(seq, |o| o.min(seq)));
            self.newest = self.newest.max(seq);
        }
    }

    /// Whether everything asked for has been answered and our messages seen.
    fn settled(&self) -> bool {
        self.pending == 0 && self.newest >= self.own_newest
    }

    fn input(&mut self, line: &str, view: &mut impl View) -> Flow {
        match parse(line) {
            Input::Say(text) if text.is_empty() => {}
            Input::Say(text) => {
                if !self.link.is_online() {
                    view.info("not connected: the message goes out when the connection is back");
                }
                self.link.say(text);
                self.pending += 1;
            }
            Input::Who => {
                if self.link.who() {
                    self.pending += 1;
                } else {
                    view.info("not connected: try again in a moment");
                }
            }
            Input::History(n) => {
                if self.paging {
                    view.info("still fetching the previous page");
                } else if self.link.page(self.oldest, n) {
                    self.paging = true;
                    self.pending += 1;
                } else {
                    view.info("not connected: try again in a moment");
                }
            }
            Input::Quit => return Flow::Quit,
            Input::Help => view.info(HELP),
            Input::Bad(why) => view.info(&why),
        }
        Flow::Go
    }

    fn item(&mut self, item: Item, view: &mut impl View) -> Result<(), Failure> {
        match item {
            Item::Event(event) => {
                if let Some(m) = event.chat_message() {
                    self.shown(&m);
                    view.message(&m);
                } else if matches!(event.kind, EventKind::Typing | EventKind::Presence) {
                    if self.typists.apply(&event, Instant::now()) {
                        view.typing(self.typists.line());
                    }
                    if let Some(p) = event.presence() {
                        view.info(&presence_line(&p));
                    }
                } else if let Some(o) = event.order_event() {
                    view.info(&status_change(&o.order, o.previous));
                }
            }
            Item::Lost(why) => {
                if self.typists.clear() {
                    view.typing(None);
                }
                view.info(&format!(
                    "connection lost ({}); reconnecting",
                    printable(&why)
                ));
            }
            Item::Reconnected { missed } => {
                view.info("reconnected");
                if missed {
                    view.info("some messages from while away are no longer kept for replay: /history shows the latest");
                }
            }
            Item::Fatal(failure) => return Err(failure),
            Item::Sent(sent) => {
                self.pending -= 1;
                match sent {
                    Ok(m) => self.own_newest = self.own_newest.max(m.seq.unwrap_or(0)),
                    Err((text, e)) => {
                        self.failed += 1;
                        view.info(&format!("not sent: {e} ({}): {}", e.code, printable(&text)));
                    }
                }
            }
            Item::Who(who, me) => {
                self.pending -= 1;
                match who {
                    Ok(members) => view.members(&self.link.room, &members, me),
                    Err(e) => view.info(&format!("cannot list who is here: {e}")),
                }
            }
            Item::Page(page) => {
                self.pending -= 1;
                self.paging = false;
                match page {
                    Ok(messages) if messages.is_empty() => {
                        view.info(&format!("no earlier messages in {}", self.link.room));
                    }
                    Ok(messages) => {
                        let n = messages.len();
                        let s = if n == 1 { "" } else { "s" };
                        view.info(&format!("{n} earlier message{s}:"));
                        for m in &messages {
                            view.message(m);
                        }
                        self.oldest = messages[0].seq.or(self.oldest);
                    }
                    Err(e) => view.info(&format!("cannot read history: {e}")),
                }
            }
        }
        Ok(())
    }

    /// Waits (a little) for messages still being sent, so leaving right after typing
    /// one does not lose it.
    async fn settle(&mut self, items: &mut mpsc::UnboundedReceiver<Item>, view: &mut impl View) {
        let deadline = tokio::time::Instant::now() + SETTLE;
        while !self.settled() {
            match tokio::time::timeout_at(deadline, items.recv()).await {
                Ok(Some(item)) => {
                    if self.item(item, view).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }
}

/// Plain lines: messages on stdout (JSON Lines with `--json`), the rest on stderr.
struct Plain {
    json: bool,
}

impl View for Plain {
    fn message(&mut self, m: &ChatMessage) {
        if self.json {
            json(m);
        } else {
            println!("{}", line(m));
        }
    }

    fn info(&mut self, text: &str) {
        eprintln!("chit: {text}");
    }

    fn members(&mut self, room: &str, members: &[Member], me: u64) {
        if self.json {
            json(&serde_json::json!({ "room": room, "members": members }));
        } else {
            println!("{}", members_line(room, members, me));
        }
    }
}

async fn lines_loop(
    mut chat: Chat,
    mut items: mpsc::UnboundedReceiver<Item>,
    mut view: Plain,
) -> Outcome {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut reading = true;
    while reading || !chat.settled() {
        tokio::select! {
            line = stdin.next_line(), if reading => {
                let quit = match line {
                    Ok(Some(line)) => matches!(chat.input(&line, &mut view), Flow::Quit),
                    Ok(None) => true,
                    Err(e) => {
                        view.info(&format!("cannot read standard input: {e}"));
                        true
                    }
                };
                if quit {
                    reading = false;
                    chat.link.close();
                }
            }
            item = items.recv() => match item {
                Some(item) => chat.item(item, &mut view)?,
                None => return Err(Failure::refused("the connection task stopped")),
            },
        }
    }
    if chat.failed > 0 {
        Err(Failure::quiet())
    } else {
        Ok(())
    }
}

/// The terminal: a line editor under the conversation.
struct Tty {
    screen: Screen,
    editor: Editor,
    status: Option<String>,
}

impl Tty {
    fn print(&mut self, lines: &[Line]) {
        // A terminal that cannot be written to has nobody reading it either.
        let _ = self
            .screen
            .print(lines, &self.editor, self.status.as_deref());
    }

    fn redraw(&mut self) {
        self.print(&[]);
    }
}

impl View for Tty {
    fn message(&mut self, m: &ChatMessage) {
        self.print(&[Line {
            text: line(m),
            dim: false,
        }]);
    }

    fn info(&mut self, text: &str) {
        self.print(&[Line {
            text: format!("-- {text}"),
            dim: true,
        }]);
    }

    fn members(&mut self, room: &str, members: &[Member], me: u64) {
        self.info(&members_line(room, members, me));
    }

    fn typing(&mut self, line: Option<String>) {
        if self.status != line {
            self.status = line;
            self.redraw();
        }
    }
}

async fn interactive_loop(
    mut chat: Chat,
    mut items: mpsc::UnboundedReceiver<Item>,
    mut view: Tty,
) -> Outcome {
    let mut keys = EventStream::new();
    let mut notifier = TypingNotifier::default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let stop = stopped();
    tokio::pin!(stop);
    let outcome = loop {
        tokio::select! {
            key = keys.next() => {
                let action = match key {
                    Some(Ok(TermEvent::Key(key))) => view.editor.key(key),
                    Some(Ok(TermEvent::Paste(text))) => view.editor.paste(&text),
                    Some(Ok(TermEvent::Resize(..))) => Action::Redraw,
                    Some(Ok(_)) => Action::None,
                    Some(Err(_)) | None => Action::Quit,
                };
                match action {
                    Action::None => {}
                    Action::Moved | Action::Redraw => view.redraw(),
                    Action::Edited => {
                        if let Some(active) = notifier.edited(view.editor.text(), Instant::now()) {
                            chat.link.typing(active);
                        }
                        view.redraw();
                    }
                    Action::Submit(line) => {
                        view.redraw();
                        let saying = matches!(parse(&line), Input::Say(_));
                        if saying {
                            notifier.sent();
                        } else if let Some(active) = notifier.edited("", Instant::now()) {
                            chat.link.typing(active);
                        }
                        if let Flow::Quit = chat.input(&line, &mut view) {
                            break Ok(());
                        }
                    }
                    Action::Quit => break Ok(()),
                }
            }
            item = items.recv() => match item {
                Some(item) => {
                    if let Err(failure) = chat.item(item, &mut view) {
                        break Err(failure);
                    }
                }
                None => break Err(Failure::refused("the connection task stopped")),
            },
            _ = tick.tick() => {
                if chat.typists.expire(Instant::now()) {
                    view.typing(chat.typists.line());
                }
            }
            _ = &mut stop => break Ok(()),
        }
    };
    chat.settle(&mut items, &mut view).await;
    drop(view);
    outcome
}

/// Resolves on SIGTERM or SIGHUP, which end the session as /quit does.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            return;
        }
    }
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::Role;

    #[test]
    fn lines_and_commands_are_understood() {
        assert_eq!(parse("  on my way "), Input::Say("on my way".into()));
        assert_eq!(parse("/who"), Input::Who);
        assert_eq!(parse("/history"), Input::History(20));
        assert_eq!(parse("/history 5"), Input::History(5));
        assert!(matches!(parse("/history 0"), Input::Bad(_)));
        assert!(matches!(parse("/history lots"), Input::Bad(_)));
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("//who"), Input::Say("/who".into()));
        assert!(matches!(parse("/dance"), Input::Bad(m) if m.contains("/dance")));
    }

    #[test]
    fn lines_never_carry_escapes() {
        let m = ChatMessage {
            id: 1,
            room: "chat:staff".into(),
            seq: Some(9),
            author: "E\u{1b}[31mve".into(),
            role: Role::Kitchen,
            text: "hi\u{1b}]0;x\u{7}\u{202e}".into(),
            at: "2026-11-22T08:12:03.000Z".into(),
        };
        assert_eq!(line(&m), "08:12:03 E[31mve: hi]0;x");
        let members = [
            Member {
                session: 3,
                name: "Ann".into(),
                role: Role::Kitchen,
            },
            Member {
                session: 4,
                name: "bo".into(),
                role: Role::Rider,
            },
        ];
        assert_eq!(
            members_line("chat:staff", &members, 4),
            "2 in chat:staff: Ann (kitchen), bo (rider, you)"
        );
    }
}
