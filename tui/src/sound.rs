//! Alerts: the embedded sounds through the local audio device (rodio), or the terminal
//! bell when there is no device, over SSH (`SSH_CONNECTION`), with `--bell`, or in a
//! build without the `sound` feature. `--mute` silences both.

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    NewOrder,
    Cancelled,
    Chat,
}

#[cfg(feature = "sound")]
fn bytes(sound: Sound) -> &'static [u8] {
    match sound {
        Sound::NewOrder => include_bytes!("../../assets/new-order.wav"),
        Sound::Cancelled => include_bytes!("../../assets/cancelled.wav"),
        Sound::Chat => include_bytes!("../../assets/chat.wav"),
    }
}

enum Output {
    Bell,
    #[cfg(feature = "sound")]
    Audio(rodio::OutputStream),
}

pub struct Alerter {
    output: Output,
    muted: bool,
}

impl Alerter {
    /// Picks the output: audio when a device opens and nothing asks for the bell.
    pub fn new(mute: bool, force_bell: bool) -> Alerter {
        let over_ssh = std::env::var_os("SSH_CONNECTION").is_some_and(|v| !v.is_empty());
        let output = if force_bell || over_ssh {
            Output::Bell
        } else {
            open_audio()
        };
        Alerter {
            output,
            muted: mute,
        }
    }

    pub fn play(&self, sound: Sound) {
        if self.muted {
            return;
        }
        match &self.output {
            Output::Bell => ring_bell(),
            #[cfg(feature = "sound")]
            Output::Audio(stream) => {
                let cursor = std::io::Cursor::new(bytes(sound));
                match rodio::play(stream.mixer(), cursor) {
                    Ok(sink) => sink.detach(),
                    Err(e) => {
                        tracing::warn!("playing a sound failed ({e}); ringing the bell");
                        ring_bell();
                    }
                }
            }
        }
    }

    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// How alerts are given when not muted: "sound" or "bell".
    pub fn kind(&self) -> &'static str {
        match &self.output {
            Output::Bell => "bell",
            #[cfg(feature = "sound")]
            Output::Audio(_) => "sound",
        }
    }
}

fn ring_bell() {
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}

#[cfg(feature = "sound")]
fn open_audio() -> Output {
    match rodio::OutputStreamBuilder::open_default_stream() {
        Ok(mut stream) => {
            stream.log_on_drop(false);
            Output::Audio(stream)
        }
        Err(e) => {
            tracing::info!("no audio device ({e}); using the terminal bell");
            Output::Bell
        }
    }
}

#[cfg(not(feature = "sound"))]
fn open_audio() -> Output {
    Output::Bell
}
