//! The kitchen display (`chit-kitchen`): the model, its update function, key map and
//! view, and the main loop, which is the only async and the only I/O.

pub mod app;
pub mod keymap;
pub mod update;
pub mod view;

use std::time::Duration;

use anyhow::Context;
use chit_protocol::{Status, now_ms};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;

use crate::DisplayArgs;
use crate::link::{Link, LinkSpec};
use crate::sound::Alerter;
use crate::terminal::{self, Screen};
use app::{App, Settings};
use update::{Effect, Msg, update};

/// Runs the kitchen display for `restaurant` until the cook quits.
pub async fn run(
    restaurant: String,
    args: DisplayArgs,
    mut settings: Settings,
) -> anyhow::Result<()> {
    let token =
        chit_protocol::token::find_token(args.token.as_deref()).map_err(anyhow::Error::msg)?;
    let log_path = args
        .log
        .clone()
        .unwrap_or_else(|| terminal::log_path("chit-kitchen"));
    let log = terminal::init_logging(&log_path)
        .with_context(|| format!("opening the log file '{}'", log_path.display()))?;
    settings.color = !terminal::no_color();
    tracing::info!("kitchen display for '{restaurant}' on {}", args.server);

    let mut screen = Screen::enter(&log).context("setting up the terminal")?;
    // Opened after stderr points at the log: ALSA may complain while probing devices.
    let mut alerter = Alerter::new(args.mute, args.bell);
    let (link, mut link_events) = Link::spawn(LinkSpec {
        url: args.server.clone(),
        token,
        client: format!("chit-kitchen {}", env!("CARGO_PKG_VERSION")),
        rooms: vec![format!("restaurant:{restaurant}")],
        restaurant: Some(restaurant.clone()),
        statuses: vec![
            Status::Pending,
            Status::Confirmed,
            Status::Preparing,
            Status::Ready,
        ],
    });
    let mut app = App::new(&restaurant, settings, now_ms());
    app.muted = args.mute;
    app.alert_mode = alerter.kind();
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    loop {
        if dirty {
            screen
                .terminal
                .draw(|frame| frame.render_widget(&app, frame.area()))
                .context("drawing")?;
            dirty = false;
        }
        let msg = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) => keymap::key_to_action(&app, key).map(Msg::Key),
                Some(Ok(TermEvent::Resize(..))) => {
                    dirty = true;
                    None
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e).context("reading the keyboard"),
                None => break,
            },
            event = link_events.recv() => event.map(Msg::Link),
            _ = tick.tick() => Some(Msg::Tick(now_ms())),
        };
        let Some(msg) = msg else { continue };
        app.now = now_ms();
        dirty = true;
        let mut effects = update(&mut app, msg);
        // Take whatever else the link has ready before drawing once.
        while let Ok(event) = link_events.try_recv() {
            effects.extend(update(&mut app, Msg::Link(event)));
        }
        for effect in effects {
            match effect {
                Effect::Send(request) => link.send(request),
                Effect::Play(sound) => alerter.play(sound),
                Effect::SetMuted(muted) => alerter.set_muted(muted),
                Effect::Quit => {
                    drop(screen);
                    return Ok(());
                }
            }
        }
    }
    drop(screen);
    Ok(())
}
