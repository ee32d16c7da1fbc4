//! Keys to actions. One hand on a phone: Enter claims, p/d/r act on the selected
//! delivery, arrows or j/k move through both lists, Tab jumps between them.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, Overlay};
use super::update::Action;

pub fn key_to_action(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    let confirming = matches!(
        app.overlay,
        Overlay::ConfirmRelease(_) | Overlay::ConfirmQuit
    );
    let action = match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter if confirming => Action::Yes,
        KeyCode::Char('n') | KeyCode::Char('N') if confirming => Action::No,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Tab | KeyCode::BackTab => Action::Switch,
        KeyCode::Enter => Action::Select,
        KeyCode::Char('p') => Action::PickUp,
        KeyCode::Char('d') => Action::Deliver,
        KeyCode::Char('r') => Action::Release,
        KeyCode::Char('i') | KeyCode::Char(' ') => Action::Details,
        KeyCode::Char('m') => Action::Mute,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('c') => Action::Chat,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Close,
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

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
