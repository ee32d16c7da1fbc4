//! The kitchen display's actions and their default keys. Bump bars are keyboards:
//! Enter/Space bump, digits bump the n-th ticket, arrows or hjkl move; the config file's
//! `[chit-kitchen.keys]` (or shared `[keys]`) table maps them otherwise (see keys.rs).

use crossterm::event::KeyEvent;

use super::app::{App, Overlay};
use super::update::Action;
use crate::keys::{self, Action as Named, named};

/// Every action, its name in the config file, its default keys and its help line, in
/// the order the help overlay lists them.
pub const ACTIONS: &[Named<Action>] = &[
    named(Action::Up, "up", &["Up", "k"], "select the previous ticket"),
    named(
        Action::Down,
        "down",
        &["Down", "j"],
        "select the next ticket",
    ),
    named(
        Action::Left,
        "left",
        &["Left", "h"],
        "jump to the previous status group",
    ),
    named(
        Action::Right,
        "right",
        &["Right", "l"],
        "jump to the next status group",
    ),
    named(
        Action::Bump,
        "bump",
        &["Enter", "Space"],
        "bump the selected ticket (a station: its items; the expo: ready)",
    ),
    named(
        Action::BumpNth(1),
        "bump_1",
        &["1"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(2),
        "bump_2",
        &["2"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(3),
        "bump_3",
        &["3"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(4),
        "bump_4",
        &["4"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(5),
        "bump_5",
        &["5"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(6),
        "bump_6",
        &["6"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(7),
        "bump_7",
        &["7"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(8),
        "bump_8",
        &["8"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::BumpNth(9),
        "bump_9",
        &["9"],
        "bump the n-th ticket on screen",
    ),
    named(
        Action::Recall,
        "recall",
        &["u"],
        "recall the last bump (one step back)",
    ),
    named(
        Action::Cancel,
        "cancel",
        &["x"],
        "reject a new order, or cancel one (asks first)",
    ),
    named(
        Action::AckAll,
        "ack",
        &["a"],
        "acknowledge all new orders (stops the repeating alert)",
    ),
    named(
        Action::ToggleAllDay,
        "all_day",
        &["Tab"],
        "all-day view: quantities across open tickets",
    ),
    named(
        Action::Upcoming,
        "upcoming",
        &["s"],
        "upcoming: orders placed for later, until they fire",
    ),
    named(
        Action::EightySix,
        "eighty_six",
        &["o"],
        "86 an item of the selected ticket, or restore one",
    ),
    named(
        Action::Details,
        "details",
        &["d"],
        "details of the selected ticket",
    ),
    named(Action::Mute, "mute", &["m"], "mute / unmute alerts"),
    named(Action::Help, "help", &["?"], "this help"),
    named(
        Action::Chat,
        "chat",
        &["c"],
        "chat with staff (Esc closes; keys type while it is open)",
    ),
    named(Action::Quit, "quit", &["q"], "quit (asks first)"),
    named(Action::Close, "close", &["Esc"], "close an overlay or view"),
];

/// The action names, which the rider console accepts in the shared `[keys]` table.
pub fn names() -> Vec<&'static str> {
    ACTIONS.iter().map(|a| a.name).collect()
}

pub fn key_to_action(app: &App, key: KeyEvent) -> Option<Action> {
    if keys::is_interrupt(&key) {
        return Some(Action::Quit);
    }
    let confirming = matches!(
        app.overlay,
        Overlay::ConfirmCancel(_)
            | Overlay::ConfirmQuit
            | Overlay::ConfirmForce(_)
            | Overlay::ConfirmEightySix(_)
    );
    if confirming {
        return app
            .keys
            .answer(&key, [Action::Bump, Action::Close, Action::Yes, Action::No]);
    }
    app.keys.action(&key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::app::Settings;
    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

    fn press(app: &App, code: KeyCode) -> Option<Action> {
        key_to_action(app, KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn default_keys_mean_what_the_footer_says() {
        let mut app = App::new("r1", Settings::default(), 0);
        let table = [
            (KeyCode::Enter, Some(Action::Bump)),
            (KeyCode::Char(' '), Some(Action::Bump)),
            (KeyCode::Char('3'), Some(Action::BumpNth(3))),
            (KeyCode::Char('u'), Some(Action::Recall)),
            (KeyCode::Char('s'), Some(Action::Upcoming)),
            (KeyCode::Char('o'), Some(Action::EightySix)),
            (KeyCode::Tab, Some(Action::ToggleAllDay)),
            (KeyCode::Char('k'), Some(Action::Up)),
            (KeyCode::Esc, Some(Action::Close)),
            (KeyCode::Char('y'), None),
            (KeyCode::Char('z'), None),
        ];
        for (code, action) in table {
            assert_eq!(press(&app, code), action, "{code:?}");
        }
        assert_eq!(
            key_to_action(
                &app,
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        app.overlay = Overlay::ConfirmForce(1);
        assert_eq!(press(&app, KeyCode::Char('y')), Some(Action::Yes));
        assert_eq!(press(&app, KeyCode::Enter), Some(Action::Yes));
        assert_eq!(press(&app, KeyCode::Char('n')), Some(Action::No));
        assert_eq!(press(&app, KeyCode::Esc), Some(Action::No));
        let mut release = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(key_to_action(&app, release), None);
    }

    #[test]
    fn every_action_has_a_name_and_no_key_is_given_twice() {
        let map = crate::keys::KeyMap::new(ACTIONS);
        let names = map.names();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n} twice");
        }
        let settings = chit_config::Settings::none(chit_config::Binary::Kitchen);
        assert!(map.configured(&settings, "chit-kitchen.keys", &[]).is_ok());
    }
}
