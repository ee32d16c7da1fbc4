//! chit-kitchen: the kitchen display. Shows a restaurant's open tickets, beeps on new
//! orders, and bumps them through confirmed, preparing and ready.

use std::time::Duration;

use chit_tui::kitchen::app::Settings;
use chit_tui::kitchen::stations::Screen;
use chit_tui::{DisplayArgs, parse_duration};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "chit-kitchen",
    version,
    about = "chit's kitchen display",
    subcommand_negates_reqs = true
)]
struct Args {
    /// The restaurant whose tickets to show.
    #[arg(long, env = "CHIT_RESTAURANT")]
    restaurant: String,
    /// The staff chat room shown in the chat pane (`c`) [default: the restaurant id]
    #[arg(long)]
    chat_room: Option<String>,
    /// Show only this station's items of each ticket (a station of the restaurant's
    /// menu: grill, fry, bar…) and bump them item by item.
    #[arg(long, conflicts_with = "expo")]
    station: Option<String>,
    /// The expo screen: whole orders with each station's progress; its bump sends an
    /// order out (ready).
    #[arg(long)]
    expo: bool,
    #[command(flatten)]
    display: DisplayArgs,
    /// A ticket older than this shows as a warning.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    warn_after: Duration,
    /// A ticket older than this shows as late.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    late_after: Duration,
    /// While new orders are unacknowledged, alert again this often.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    alert_every: Duration,
    /// `completions` and `man`, which chit_config answers.
    #[command(subcommand)]
    _docs: Option<chit_config::DocsCommand>,
}

fn main() -> std::process::ExitCode {
    let (args, config) =
        chit_config::parse_with_tables::<Args>(chit_config::Binary::Kitchen, &["keys"]);
    if !chit_protocol::room::valid_ident(&args.restaurant) {
        eprintln!(
            "chit-kitchen: --restaurant '{}' is not a valid id",
            args.restaurant
        );
        return std::process::ExitCode::from(2);
    }
    let chat_room = args
        .chat_room
        .clone()
        .unwrap_or_else(|| args.restaurant.clone());
    if !chit_protocol::room::valid_ident(&chat_room) {
        eprintln!("chit-kitchen: --chat-room '{chat_room}' is not a valid name");
        return std::process::ExitCode::from(2);
    }
    if let Some(station) = &args.station
        && !chit_protocol::room::valid_ident(station)
    {
        eprintln!("chit-kitchen: --station '{station}' is not a valid station name");
        return std::process::ExitCode::from(2);
    }
    let keys = match chit_tui::keys::KeyMap::new(chit_tui::kitchen::keymap::ACTIONS).configured(
        &config,
        "chit-kitchen.keys",
        &chit_tui::rider::keymap::names(),
    ) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("chit-kitchen: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let screen = match (args.station.clone(), args.expo) {
        (Some(station), _) => Screen::Station(station),
        (None, true) => Screen::Expo,
        (None, false) => Screen::Tickets,
    };
    let settings = Settings {
        warn_after: args.warn_after,
        late_after: args.late_after.max(args.warn_after),
        alert_every: args.alert_every.max(Duration::from_secs(1)),
        color: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the async runtime");
    let result = runtime.block_on(chit_tui::kitchen::run(
        args.restaurant,
        chat_room,
        args.display,
        &config,
        settings,
        screen,
        keys,
    ));
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chit-kitchen: {e:#}");
            chit_tui::exit_code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_flag_is_a_config_key() {
        let cmd = <super::Args as clap::CommandFactory>::command();
        assert_eq!(chit_config::unlisted_keys(&cmd), Vec::<String>::new());
    }
}
