//! The command line: `train`, `compare` and `bench`.

mod args;
mod bench;
mod dump;
mod output;
mod report;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rngd-lab", version, about = "Train MLPs on MNIST with SGD, Adam and RNGD (Sun & Nielsen, ICML 2017)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one optimizer and report test accuracy after every epoch.
    Train(run::TrainArgs),
    /// Train several optimizers from the same initialisation and batch order.
    Compare(run::CompareArgs),
    /// Time a step of each optimizer and split RNGD's step into its parts.
    Bench(bench::BenchArgs),
    /// Choose learning rates on validation accuracy and draw Fig. 2 and a table from run records.
    Report(report::ReportArgs),
}

pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Train(a) => run::train(a),
        Command::Compare(a) => run::compare(a),
        Command::Bench(a) => bench::bench(a),
        Command::Report(a) => report::report(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
