//! The rider console (`chit-rider`): the model, its update function, key map and view.
//! It follows the `riders` room (offers) and the rider's own room (claims and orders
//! assigned to them), and runs on the displays' shared loop and link.

pub mod app;
pub mod keymap;
pub mod update;
pub mod view;

use chit_client::{Policy, Snapshot, Spec};
use chit_protocol::Status;

use crate::DisplayArgs;
use crate::display;
use app::App;

display::impl_model!();

/// What the console loads and follows for `rider`. A rider token's listing holds only
/// its own orders and the offers; an admin's holds everything open, and the model keeps
/// only what concerns this rider.
pub fn spec(rider: &str) -> Spec {
    Spec {
        rooms: vec![("riders".into(), None), (format!("rider:{rider}"), None)],
        snapshot: Some(Snapshot {
            restaurant: None,
            statuses: vec![
                Status::Pending,
                Status::Confirmed,
                Status::Preparing,
                Status::Ready,
                Status::PickedUp,
            ],
        }),
        policy: Policy::DISPLAY,
    }
}

/// Runs the rider console for `rider` until the rider quits.
pub async fn run(
    rider: String,
    args: DisplayArgs,
    config: &chit_config::Settings,
    keys: crate::keys::KeyMap<update::Action>,
) -> anyhow::Result<()> {
    let mut app = App::new(
        &rider,
        !crate::terminal::no_color(),
        chit_protocol::now_ms(),
    );
    app.keys = keys;
    display::run(app, spec(&rider), &args, config, "chit-rider").await
}
