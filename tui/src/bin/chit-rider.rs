//! chit-rider: the rider console. Shows the orders on offer and the rider's own
//! deliveries; Enter claims, `p` marks picked up, `d` delivered, `r` releases.

use chit_tui::DisplayArgs;
use clap::Parser;

#[derive(Parser)]
#[command(name = "chit-rider", version, about = "chit's rider console")]
struct Args {
    /// The rider's name (a rider token must be bound to it).
    #[arg(long, env = "CHIT_RIDER")]
    rider: String,
    #[command(flatten)]
    display: DisplayArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
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
    let result = runtime.block_on(chit_tui::rider::run(args.rider, args.display));
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chit-rider: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
