//! The one event loop both displays run: draws when something changed, and waits on
//! the keyboard, the follower, a one-second tick and SIGTERM/SIGHUP (which end it as
//! `q` does, so the terminal is put back). It is the only async code and the only I/O;
//! the display itself is a model with pure update and view functions.

use std::time::Duration;

use anyhow::Context;
use chit_protocol::now_ms;
use crossterm::event::{Event as TermEvent, EventStream, KeyEvent};
use futures_util::StreamExt;
use ratatui::widgets::Widget;

use chit_client::{Follower, Request, Spec, Update};

use crate::DisplayArgs;
use crate::sound::{Alerter, Sound};
use crate::terminal::{self, Screen};

/// The display cannot work until a person acts (no server's certificate checks out):
/// the binary says why and exits 3, as the CLI does.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub chit_client::Stop);

/// What a display asks its loop to do.
// A handful per key press or event, moved once: boxing the request buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Request),
    Play(Sound),
    SetMuted(bool),
    Quit,
}

/// What a display's `update` takes, one at a time. `A` is its key map's actions.
// Built, matched and dropped within one loop turn; boxing the link event buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<A> {
    /// A second passed (or a redraw is due); carries the time.
    Tick(i64),
    Key(A),
    /// A key while the chat pane is open: it goes to the chat input.
    ChatKey(KeyEvent),
    Link(Update),
}

/// A display model: a pure `update` over [`Msg`], and the key map that turns keys into
/// its actions. Keys, link events and ticks reach `update` through the provided methods.
pub trait Model
where
    for<'a> &'a Self: Widget,
{
    type Action;

    fn update(&mut self, msg: Msg<Self::Action>) -> Vec<Effect>;
    /// The action a key asks for, if any.
    fn action(&self, key: KeyEvent) -> Option<Self::Action>;
    /// Whether keys go to the chat input rather than to the key map.
    fn typing_in_chat(&self) -> bool;
    /// The time, before each message.
    fn set_now(&mut self, now: i64);
    /// How alerts are given ("sound" or "bell") and whether they start muted.
    fn set_alerts(&mut self, kind: &'static str, muted: bool);

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if self.typing_in_chat() {
            return self.update(Msg::ChatKey(key));
        }
        match self.action(key) {
            Some(action) => self.update(Msg::Key(action)),
            None => Vec::new(),
        }
    }

    fn link(&mut self, event: Update) -> Vec<Effect> {
        self.update(Msg::Link(event))
    }

    /// A second passed; `now` is Unix ms.
    fn tick(&mut self, now: i64) -> Vec<Effect> {
        self.update(Msg::Tick(now))
    }
}

/// Implements [`Model`] for a display module laid out as the kitchen's and the rider's
/// are: `app::App` (with `chat`, `overlay`, `now`, `alert_mode` and `muted`),
/// `app::Overlay`, `update::{Action, Msg, update}` and `keymap::key_to_action`. Invoked
/// inside that module: `display::impl_model!();`.
macro_rules! impl_model {
    () => {
        impl $crate::display::Model for app::App {
            type Action = update::Action;

            fn update(&mut self, msg: update::Msg) -> Vec<$crate::display::Effect> {
                update::update(self, msg)
            }

            fn action(&self, key: crossterm::event::KeyEvent) -> Option<update::Action> {
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
    };
}
pub(crate) use impl_model;

/// Runs `model` full screen until it asks to quit (or SIGTERM or SIGHUP come), following
/// `spec`. `name` names the log file and the client in `hello`.
pub async fn run<M>(
    mut model: M,
    spec: Spec,
    args: &DisplayArgs,
    settings: &chit_config::Settings,
    name: &str,
) -> anyhow::Result<()>
where
    M: Model,
    for<'a> &'a M: Widget,
{
    let client = format!("{name} {}", env!("CARGO_PKG_VERSION"));
    let connector = args.connect.connector(settings, &client)?;
    let log_path = args.log.clone().unwrap_or_else(|| terminal::log_path(name));
    let log = terminal::init_logging(&log_path)
        .with_context(|| format!("opening the log file '{}'", log_path.display()))?;
    tracing::info!(
        "{name} on {} following {:?}",
        connector.servers(),
        spec.rooms
    );
    let mut stop = stop_signals().context("watching for SIGTERM and SIGHUP")?;

    let mut screen = Screen::enter(&log).context("setting up the terminal")?;
    // Opened after stderr points at the log: ALSA may complain while probing devices.
    let mut alerter = Alerter::new(args.mute, args.bell);
    model.set_alerts(alerter.kind(), args.mute);
    let (link, mut link_events) = Follower::spawn(connector, spec);
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    loop {
        if dirty {
            screen
                .terminal
                .draw(|frame| frame.render_widget(&model, frame.area()))
                .context("drawing")?;
            dirty = false;
        }
        let mut effects = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) => {
                    model.set_now(now_ms());
                    model.key(key)
                }
                Some(Ok(TermEvent::Resize(..))) => Vec::new(),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("reading the keyboard"),
                None => return Ok(()),
            },
            event = link_events.recv() => match event {
                Some(Update::Stopped(why)) => return Err(Unusable(why).into()),
                Some(event) => {
                    model.set_now(now_ms());
                    model.link(event)
                }
                None => anyhow::bail!("the connection task stopped"),
            },
            _ = tick.tick() => model.tick(now_ms()),
            Some(signal) = stop.next() => {
                tracing::info!("{name}: {signal}, putting the terminal back and leaving");
                return Ok(());
            }
        };
        dirty = true;
        // Take whatever else the link has ready before drawing once.
        while let Ok(event) = link_events.try_recv() {
            if let Update::Stopped(why) = event {
                return Err(Unusable(why).into());
            }
            effects.extend(model.link(event));
        }
        for effect in effects {
            match effect {
                Effect::Send(request) => link.send(request),
                Effect::Play(sound) => alerter.play(sound),
                Effect::SetMuted(muted) => alerter.set_muted(muted),
                Effect::Quit => return Ok(()),
            }
        }
    }
}

/// SIGTERM and SIGHUP (a `systemctl stop`, a closed SSH session) as a stream of their
/// names. Installed before the screen is taken, so a signal never finds it unguarded.
#[cfg(unix)]
fn stop_signals() -> std::io::Result<impl futures_util::Stream<Item = &'static str> + Unpin> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(Box::pin(futures_util::stream::poll_fn(move |cx| {
        if term.poll_recv(cx).is_ready() {
            return std::task::Poll::Ready(Some("SIGTERM"));
        }
        if hup.poll_recv(cx).is_ready() {
            return std::task::Poll::Ready(Some("SIGHUP"));
        }
        std::task::Poll::Pending
    })))
}

#[cfg(not(unix))]
fn stop_signals() -> std::io::Result<impl futures_util::Stream<Item = &'static str> + Unpin> {
    Ok(futures_util::stream::pending())
}
