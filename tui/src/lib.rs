//! chit's terminal displays: the kitchen display and the rider console, with what they
//! share (the loop over the follower, sound and bell, terminal handling, widgets).

pub mod chat;
pub mod conn;
pub mod display;
pub mod keys;
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

/// The exit code for a display's failure, as the CLI has them: 3 when it cannot reach
/// or authenticate with the server, 2 for an unusable `--ca-file`, 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> std::process::ExitCode {
    use chit_client::SetupError;
    let code = match e.downcast_ref::<SetupError>() {
        Some(SetupError::Token(_)) => 3,
        Some(SetupError::CaFile(_)) => 2,
        None if e.is::<display::Unusable>() => 3,
        None => 1,
    };
    std::process::ExitCode::from(code)
}

/// Parses `30s`, `5m`, `1h` (or plain seconds) for duration flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 30s or 5m: {e}"))
}
