//! `chit bench`: the project's load generator.

use clap::Args;

use crate::{Failure, Global, Outcome};

#[derive(Args)]
pub struct BenchArgs {}

pub async fn run(_global: &Global, _args: BenchArgs) -> Outcome {
    Err(Failure::refused("chit bench is not built yet"))
}
