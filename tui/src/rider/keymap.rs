//! The rider console's actions and their default keys. One hand on a phone: Enter claims, p/d/r act on the selected
//! delivery, arrows or j/k move through both lists, Tab jumps between them.

use crossterm::event::KeyEvent;

use super::app::{App, Overlay};
use super::update::Action;
use crate::keys::{self, Action as Named, named};

/// Every action, its name in the config file (`[chit-rider.keys]` or the shared
/// `[keys]`), its default keys and its help line, in the order help lists them.
pub const ACTIONS: &[Named<Action>] = &[
    named(
        Action::Up,
        "up",
        &["Up", "k"],
        "move up; goes on into the other list",
    ),
    named(
        Action::Down,
        "down",
        &["Down", "j"],
        "move down; goes on into the other list",
    ),
    named(
        Action::Switch,
        "switch",
        &["Tab", "BackTab"],
        "my deliveries ⇄ offers",
    ),
    named(
        Action::Select,
        "claim",
        &["Enter"],
        "claim the offer (or show a delivery)",
    ),
    named(
        Action::PickUp,
        "pick_up",
        &["p"],
        "picked up (once it is ready)",
    ),
    named(
        Action::Deliver,
        "deliver",
        &["d"],
        "delivered (once picked up)",
    ),
    named(
        Action::Release,
        "release",
        &["r"],
        "release a delivery not picked up",
    ),
    named(
        Action::Details,
        "details",
        &["i", "Space"],
        "details of the selected order",
    ),
    named(Action::Mute, "mute", &["m"], "mute / unmute alerts"),
    named(Action::Help, "help", &["?"], "this help"),
    named(
        Action::Chat,
        "chat",
        &["c"],
        "chat about the selected delivery (Esc closes)",
    ),
    named(Action::Quit, "quit", &["q"], "quit"),
    named(Action::Close, "close", &["Esc"], "close this"),
];

/// The action names, which the kitchen display accepts in the shared `[keys]` table.
pub fn names() -> Vec<&'static str> {
    ACTIONS.iter().map(|a| a.name).collect()
}

pub fn key_to_action(app: &App, key: KeyEvent) -> Option<Action> {
    if keys::is_interrupt(&key) {
        return Some(Action::Quit);
    }
    let confirming = matches!(
        app.overlay,
        Overlay::ConfirmRelease(_) | Overlay::ConfirmQuit
    );
    if confirming {
        return app.keys.answer(
            &key,
            [Action::Select, Action::Close, Action::Yes, Action::No],
        );
    }
    app.keys.action(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

    fn press(app: &App, code: KeyCode, modifiers: KeyModifiers) -> Option<Action> {
        key_to_action(app, KeyEvent::new(code, modifiers))
    }

    #[test]
    fn keys_mean_what_the_footer_says() {
        let mut app = App::new("bo", false, 0);
        let none = KeyModifiers::NONE;
        let table = [
            (KeyCode::Enter, Some(Action::Select)),
            (KeyCode::Char('p'), Some(Action::PickUp)),
            (KeyCode::Char('d'), Some(Action::Deliver)),
            (KeyCode::Char('r'), Some(Action::Release)),
            (KeyCode::Tab, Some(Action::Switch)),
            (KeyCode::Char('j'), Some(Action::Down)),
            (KeyCode::Up, Some(Action::Up)),
            (KeyCode::Char('?'), Some(Action::Help)),
            (KeyCode::Char('y'), None),
            (KeyCode::Char('x'), None),
        ];
        for (code, action) in table {
            assert_eq!(press(&app, code, none), action, "{code:?}");
        }
        assert_eq!(
            press(&app, KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
        app.overlay = Overlay::ConfirmRelease(1);
        assert_eq!(press(&app, KeyCode::Char('y'), none), Some(Action::Yes));
        assert_eq!(press(&app, KeyCode::Enter, none), Some(Action::Yes));
        assert_eq!(press(&app, KeyCode::Char('n'), none), Some(Action::No));
        let mut release = KeyEvent::new(KeyCode::Enter, none);
        release.kind = KeyEventKind::Release;
        assert_eq!(key_to_action(&app, release), None);
    }
}
