//! The one event loop both displays run: draws when something changed, and waits on
//! the keyboard, the link and a one-second tick. It is the only async code and the
//! only I/O; the display itself is a model with pure update and view functions.

use std::time::Duration;

use anyhow::Context;
use chit_protocol::now_ms;
use crossterm::event::{Event as TermEvent, EventStream, KeyEvent};
use futures_util::StreamExt;
use ratatui::widgets::Widget;

use crate::DisplayArgs;
use crate::link::{Link, LinkEvent, LinkSpec, Request};
use crate::sound::{Alerter, Sound};
use crate::terminal::{self, Screen};

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

/// A display model: it takes keys, link events and ticks, and says what to do.
pub trait Model
where
    for<'a> &'a Self: Widget,
{
    fn key(&mut self, key: KeyEvent) -> Vec<Effect>;
    fn link(&mut self, event: LinkEvent) -> Vec<Effect>;
    /// A second passed; `now` is Unix ms.
    fn tick(&mut self, now: i64) -> Vec<Effect>;
    /// The time, before each message.
    fn set_now(&mut self, now: i64);
    /// How alerts are given ("sound" or "bell") and whether they start muted.
    fn set_alerts(&mut self, kind: &'static str, muted: bool);
}

/// Runs `model` full screen until it asks to quit. `name` names the log file.
pub async fn run<M>(
    mut model: M,
    mut spec: LinkSpec,
    args: &DisplayArgs,
    name: &str,
) -> anyhow::Result<()>
where
    M: Model,
    for<'a> &'a M: Widget,
{
    spec.token =
        chit_protocol::token::find_token(args.token.as_deref()).map_err(anyhow::Error::msg)?;
    let log_path = args.log.clone().unwrap_or_else(|| terminal::log_path(name));
    let log = terminal::init_logging(&log_path)
        .with_context(|| format!("opening the log file '{}'", log_path.display()))?;
    tracing::info!("{name} on {} following {:?}", spec.url, spec.rooms);

    let mut screen = Screen::enter(&log).context("setting up the terminal")?;
    // Opened after stderr points at the log: ALSA may complain while probing devices.
    let mut alerter = Alerter::new(args.mute, args.bell);
    model.set_alerts(alerter.kind(), args.mute);
    let (link, mut link_events) = Link::spawn(spec);
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
                Some(event) => {
                    model.set_now(now_ms());
                    model.link(event)
                }
                None => anyhow::bail!("the connection task stopped"),
            },
            _ = tick.tick() => model.tick(now_ms()),
        };
        dirty = true;
        // Take whatever else the link has ready before drawing once.
        while let Ok(event) = link_events.try_recv() {
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
