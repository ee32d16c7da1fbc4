//! The kitchen display (`chit-kitchen`): the model, its update function, key map and
//! view, the station and expo screens' reading of an order, and the main loop, which is
//! the only async and the only I/O.

pub mod app;
pub mod keymap;
pub mod stations;
pub mod update;
pub mod view;

use chit_client::{Policy, Snapshot, Spec};
use chit_protocol::Status;

use crate::DisplayArgs;
use crate::display;
use app::{App, Settings};

display::impl_model!();

/// What the display loads and follows for `restaurant`: its open orders, its room and
/// the staff chat room.
pub fn spec(restaurant: &str, chat_room: &str) -> Spec {
    Spec {
        rooms: vec![
            (format!("restaurant:{restaurant}"), None),
            (format!("chat:{chat_room}"), None),
        ],
        snapshot: Some(Snapshot {
            restaurant: Some(restaurant.to_string()),
            statuses: vec![
                Status::Pending,
                Status::Confirmed,
                Status::Preparing,
                Status::Ready,
            ],
        }),
        policy: Policy::DISPLAY,
    }
}

/// Runs the kitchen display for `restaurant` until the cook quits.
pub async fn run(
    restaurant: String,
    chat_room: String,
    args: DisplayArgs,
    config: &chit_config::Settings,
    mut settings: Settings,
    screen: stations::Screen,
    keys: crate::keys::KeyMap<update::Action>,
) -> anyhow::Result<()> {
    settings.color = !crate::terminal::no_color();
    let mut app = App::with_chat(
        &restaurant,
        settings,
        chit_protocol::now_ms(),
        Some(format!("chat:{chat_room}")),
    );
    app.screen = screen;
    app.keys = keys;
    display::run(
        app,
        spec(&restaurant, &chat_room),
        &args,
        config,
        "chit-kitchen",
    )
    .await
}

#[cfg(test)]
mod screens_tests;
