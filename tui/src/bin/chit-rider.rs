//! chit-rider: the rider console. Shows the orders on offer and the rider's own
//! deliveries; Enter claims, `p` marks picked up, `d` delivered, `r` releases.

use chit_tui::DisplayArgs;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "chit-rider",
    version,
    about = "chit's rider console",
    subcommand_negates_reqs = true
)]
struct Args {
    /// The rider's name (a rider token must be bound to it).
    #[arg(long, env = "CHIT_RIDER")]
    rider: String,
    #[command(flatten)]
    display: DisplayArgs,
    /// `completions` and `man`, which chit_config answers.
    #[command(subcommand)]
    _docs: Option<chit_config::DocsCommand>,
}

fn main() -> std::process::ExitCode {
    let (args, config) =
        chit_config::parse_with_tables::<Args>(chit_config::Binary::Rider, &["keys"]);
    let keys = match chit_tui::keys::KeyMap::new(chit_tui::rider::keymap::ACTIONS).configured(
        &config,
        "chit-rider.keys",
        &chit_tui::kitchen::keymap::names(),
    ) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("chit-rider: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if !chit_protocol::room::valid_ident(&args.rider) {
        eprintln!(
            "chit-rider: --rider '{}' is not a valid name: use 1-64 letters, digits, '_', '-' or '.'",
            args.rider
        );
        return std::process::ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the async runtime");
    let result = runtime.block_on(chit_tui::rider::run(
        args.rider,
        args.display,
        &config,
        keys,
    ));
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chit-rider: {e:#}");
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
