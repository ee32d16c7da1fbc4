//! The kitchen display (`chit-kitchen`): the model, its update function, key map and
//! view, and the main loop, which is the only async and the only I/O.

pub mod app;
pub mod keymap;
pub mod update;
pub mod view;

use chit_protocol::Status;
use crossterm::event::KeyEvent;

use crate::DisplayArgs;
use crate::display::{self, Effect, Model};
use crate::link::LinkSpec;
use app::{App, Settings};
use update::{Msg, update};

impl Model for App {
    type Action = update::Action;

    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        update(self, msg)
    }

    fn action(&self, key: KeyEvent) -> Option<update::Action> {
        keymap::key_to_action(self, key)
    }

    fn typing_in_chat(&self) -> bool {
        self.chat.open && self.overlay == app::Overlay::None
    }

    fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    fn set_alerts(&mut self, kind: &'static str, muted: bool) {
        self.alert_mode = kind;
        self.muted = muted;
    }
}

/// Runs the kitchen display for `restaurant` until the cook quits.
pub async fn run(
    restaurant: String,
    chat_room: String,
    args: DisplayArgs,
    mut settings: Settings,
) -> anyhow::Result<()> {
    settings.color = !crate::terminal::no_color();
    let spec = LinkSpec {
        url: args.server.clone(),
        token: String::new(),
        client: format!("chit-kitchen {}", env!("CARGO_PKG_VERSION")),
        rooms: vec![
            format!("restaurant:{restaurant}"),
            format!("chat:{chat_room}"),
        ],
        restaurant: Some(restaurant.clone()),
        statuses: vec![
            Status::Pending,
            Status::Confirmed,
            Status::Preparing,
            Status::Ready,
        ],
    };
    let app = App::with_chat(
        &restaurant,
        settings,
        chit_protocol::now_ms(),
        Some(format!("chat:{chat_room}")),
    );
    display::run(app, spec, &args, "chit-kitchen").await
}
