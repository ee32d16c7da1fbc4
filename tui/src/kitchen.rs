//! The kitchen display (`chit-kitchen`): the model, its update function, key map and
//! view, and the main loop, which is the only async and the only I/O.

pub mod app;
pub mod keymap;
pub mod update;
pub mod view;

use chit_protocol::Status;

use crate::DisplayArgs;
use crate::display;
use crate::link::LinkSpec;
use app::{App, Settings};

display::impl_model!();

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
