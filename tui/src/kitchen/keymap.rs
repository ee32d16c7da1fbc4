//! Keys to actions. Bump bars are keyboards: Enter/Space bump, digits bump the n-th
//! ticket, arrows or hjkl move.

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
        Overlay::ConfirmCancel(_) | Overlay::ConfirmQuit
    );
    let action = match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') if confirming => Action::Yes,
        KeyCode::Char('n') | KeyCode::Char('N') if confirming => Action::No,
        KeyCode::Enter if confirming => Action::Yes,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Enter | KeyCode::Char(' ') => Action::Bump,
        KeyCode::Char(c @ '1'..='9') => Action::BumpNth(c as usize - '0' as usize),
        KeyCode::Char('u') => Action::Recall,
        KeyCode::Char('x') => Action::Cancel,
        KeyCode::Char('a') => Action::AckAll,
        KeyCode::Tab => Action::ToggleAllDay,
        KeyCode::Char('d') => Action::Details,
        KeyCode::Char('m') => Action::Mute,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('c') => Action::Chat,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Close,
        _ => return None,
    };
    Some(action)
}
