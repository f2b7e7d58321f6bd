//! Argument parsing and the `train` command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use rngd_lab::data::bundled;
use rngd_lab::{Dataset, OptimizerKind, TrainConfig, Trainer};

#[derive(Parser)]
#[command(name = "rngd-lab", version, about = "Train MLPs on MNIST with SGD, Adam and RNGD")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one optimizer and report test accuracy after every epoch.
    Train(TrainArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// Optimizer: sgd.
    #[arg(long, default_value = "sgd", value_parser = parse_optimizer)]
    optimizer: OptimizerKind,
    /// Epochs to train (passes over the training split).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    epochs: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// SGD momentum in [0, 1).
    #[arg(long)]
    momentum: Option<f64>,
    /// Minibatch size.
    #[arg(long)]
    batch: Option<usize>,
    /// Hidden layer widths, comma separated, e.g. 80,80,80.
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// L2 coefficient on the weights.
    #[arg(long)]
    l2: Option<f64>,
    /// A folder of standard IDX files (train-*, t10k-* or test-*), raw or gzipped.
    /// Default: the bundled 8,000/2,000 MNIST subset.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Write the run as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn parse_optimizer(s: &str) -> Result<OptimizerKind, String> {
    OptimizerKind::parse(s).map_err(|e| e.0)
}

#[derive(Serialize)]
struct EpochRecord {
    epoch: u32,
    train_loss: f64,
    test_accuracy: f64,
    test_loss: f64,
    seconds: f64,
}

#[derive(Serialize)]
struct RunRecord {
    optimizer: OptimizerKind,
    config: TrainConfig,
    epochs: Vec<EpochRecord>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn load_data(dir: &Option<PathBuf>) -> Result<Dataset, String> {
    match dir {
        Some(d) => Dataset::from_dir(d).map_err(|e| e.to_string()),
        None => bundled::mnist_subset().map_err(|e| e.to_string()),
    }
}

fn config_from(args: &TrainArgs) -> TrainConfig {
    let d = TrainConfig::default();
    TrainConfig {
        optimizer: args.optimizer,
        hidden: args.hidden.clone().unwrap_or(d.hidden),
        lr: args.lr.unwrap_or(d.lr),
        momentum: args.momentum.unwrap_or(d.momentum),
        batch: args.batch.unwrap_or(d.batch),
        seed: args.seed,
        l2: args.l2.unwrap_or(d.l2),
        init_std: d.init_std,
    }
}

fn train(args: TrainArgs) -> Result<(), String> {
    let config = config_from(&args);
    let data = Arc::new(load_data(&args.data)?);
    config.validate(data.train.len()).map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(config.clone(), data.clone()).map_err(|e| e.to_string())?;
    eprintln!(
        "training {:?} on {} digits, testing on {}: sizes {:?}, lr {}, batch {}, seed {}",
        config.optimizer,
        data.train.len(),
        data.test.len(),
        trainer.network().sizes(),
        config.lr,
        config.batch,
        config.seed
    );
    let per_epoch = trainer.batches_per_epoch() as u32;
    let start = Instant::now();
    let mut epochs = Vec::new();
    for epoch in 1..=args.epochs {
        trainer.step(per_epoch).map_err(|e| e.to_string())?;
        let s = trainer.snapshot();
        let seconds = start.elapsed().as_secs_f64();
        let train_loss = s.train_loss.expect("a full epoch has run");
        println!(
            "epoch {epoch:>3}  train loss {:.4}  test loss {:.4}  test accuracy {:.2}%  ({seconds:.1}s)",
            train_loss,
            s.test_loss,
            100.0 * s.test_accuracy
        );
        epochs.push(EpochRecord {
            epoch,
            train_loss,
            test_accuracy: s.test_accuracy,
            test_loss: s.test_loss,
            seconds,
        });
    }
    if let Some(path) = &args.json {
        let record = RunRecord { optimizer: config.optimizer, config, epochs };
        let text = serde_json::to_string_pretty(&record).expect("plain data serialises");
        std::fs::write(path, text + "\n").map_err(|e| format!("could not write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
