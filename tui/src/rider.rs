//! The rider console (`chit-rider`): the model, its update function, key map and view.
//! It follows the `riders` room (offers) and the rider's own room (claims and orders
//! assigned to them), and runs on the displays' shared loop and link.

pub mod app;
pub mod keymap;
pub mod update;
pub mod view;

use chit_protocol::Status;
use crossterm::event::KeyEvent;

use crate::DisplayArgs;
use crate::display::{self, Effect, Model};
use crate::link::LinkSpec;
use app::App;
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

/// What the console loads and follows for `rider`. A rider token's listing holds only
/// its own orders and the offers; an admin's holds everything open, and the model keeps
/// only what concerns this rider.
pub fn link_spec(url: &str, rider: &str) -> LinkSpec {
    LinkSpec {
        url: url.to_string(),
        token: String::new(),
        client: format!("chit-rider {}", env!("CARGO_PKG_VERSION")),
        rooms: vec!["riders".into(), format!("rider:{rider}")],
        restaurant: None,
        statuses: vec![
            Status::Pending,
            Status::Confirmed,
            Status::Preparing,
            Status::Ready,
            Status::PickedUp,
        ],
    }
}

/// Runs the rider console for `rider` until the rider quits.
pub async fn run(rider: String, args: DisplayArgs) -> anyhow::Result<()> {
    let spec = link_spec(&args.server, &rider);
    let app = App::new(
        &rider,
        !crate::terminal::no_color(),
        chit_protocol::now_ms(),
    );
    display::run(app, spec, &args, "chit-rider").await
}
