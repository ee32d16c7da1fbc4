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
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Close,
        _ => return None,
    };
    Some(action)
}
