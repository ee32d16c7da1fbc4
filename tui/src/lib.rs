//! chit's terminal displays: the kitchen display and the rider console, with what they
//! share (the loop over the follower, sound and bell, terminal handling, widgets).

pub mod chat;
pub mod conn;
pub mod display;
pub mod kitchen;
pub mod rider;
pub mod sound;
pub mod terminal;
pub mod widgets;

use std::time::Duration;

/// Flags both displays take.
#[derive(clap::Args, Debug, Clone)]
pub struct DisplayArgs {
    #[command(flatten)]
    pub connect: chit_client::ConnectArgs,
    /// No sound and no bell.
    #[arg(long)]
    pub mute: bool,
    /// Ring the terminal bell instead of playing sounds (the default over SSH).
    #[arg(long)]
    pub bell: bool,
    /// Log file [default: ~/.local/state/chit/NAME.log]
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub log: Option<std::path::PathBuf>,
}

/// Parses `30s`, `5m`, `1h` (or plain seconds) for duration flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 30s or 5m: {e}"))
}
