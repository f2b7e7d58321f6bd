//! `train` and `compare`: epochs of training with a progress bar, a table, and JSON records.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use rngd_lab::clock::Stopwatch;
use rngd_lab::config::BackendChoice;
use rngd_lab::{OptimizerKind, TrainConfig, Trainer};

use super::args::{BackendReport, RunArgs, RunData};
use super::dump::DumpPlan;
use super::output::{ensure_writable, write_json};

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// Optimizer: sgd, adam or rngd.
    #[arg(long, default_value = "sgd")]
    optimizer: OptimizerKind,
    /// Learning rate (default: the optimizer's own, see `TrainConfig`).
    #[arg(long)]
    lr: Option<f64>,
    #[command(flatten)]
    run: RunArgs,
    /// Write the run as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the state at the --dump-steps into this folder, as .npy files.
    /// Runs on the CPU backend: per-step gradients are recorded on the CPU path only.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Steps after which to dump, comma separated (1 is the first step).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    dump_steps: Vec<u64>,
    /// Dump in f64 instead of f32.
    #[arg(long)]
    f64: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct CompareArgs {
    /// Optimizers to compare, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "sgd,adam,rngd")]
    optimizers: Vec<OptimizerKind>,
    /// Learning rate of SGD (default: its own).
    #[arg(long)]
    lr_sgd: Option<f64>,
    /// Learning rate of Adam (default: its own).
    #[arg(long)]
    lr_adam: Option<f64>,
    /// Learning rate of RNGD (default: its own).
    #[arg(long)]
    lr_rngd: Option<f64>,
    #[command(flatten)]
    run: RunArgs,
    /// Write one JSON record per optimizer here, as a list.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Serialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct RunRecord {
    pub optimizer: OptimizerKind,
    pub config: TrainConfig,
    pub epochs: Vec<EpochRecord>,
    /// Set when the run stopped early because its loss stopped being finite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
    /// RNGD only: inverses that failed and kept their previous value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inverse_fallbacks: Option<u64>,
    /// The backend the run really used (`config.backend` is the one asked for),
    /// as it stood at the end of the run: after a GPU device loss it says "cpu".
    pub backend: BackendReport,
}

/// Steps per `Trainer::step` call when nothing needs every step: a GPU run reads
/// its losses back once per call, so single steps would mostly time the readback.
const STEP_CHUNK: u64 = 25;

fn progress(total: u64, label: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} steps, {per_sec}, eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

/// Trains `config` for `epochs`, printing a line per epoch. A divergence ends
/// this run (recorded in the result) without failing the whole command.
pub fn run_one(
    config: TrainConfig,
    rd: &RunData,
    data: Arc<rngd_lab::Dataset>,
    epochs: u32,
    mut dump: Option<&mut DumpPlan>,
) -> Result<RunRecord, String> {
    let name = config.optimizer.name();
    let mut trainer = Trainer::new(config.clone(), data).map_err(|e| format!("{name}: {e}"))?;
    let backend = BackendReport::of(&trainer);
    eprintln!("{name:>5} {}", backend.line());
    if let Some(d) = dump.as_deref_mut() {
        if backend.is_gpu() {
            return Err(DUMP_NEEDS_CPU.into());
        }
        trainer.record_gradients(true);
        d.begin(&trainer, rd)?;
    }
    let per_epoch = trainer.batches_per_epoch() as u64;
    let pb = progress(per_epoch * epochs as u64, name);
    let clock = Stopwatch::start();
    let mut record = RunRecord {
        optimizer: config.optimizer,
        config: config.resolved(),
        epochs: Vec::new(),
        diverged: None,
        inverse_fallbacks: None,
        backend,
    };
    // A dump looks at every step; otherwise step in chunks.
    let chunk = if dump.is_some() { 1 } else { STEP_CHUNK };
    'epochs: for epoch in 1..=epochs {
        let mut done = 0;
        while done < per_epoch {
            let n = chunk.min(per_epoch - done);
            if let Err(e) = trainer.step(n as u32) {
                pb.suspend(|| eprintln!("{name}: {e}"));
                record.diverged = Some(e.to_string());
                break 'epochs;
            }
            if let Some(d) = dump.as_deref_mut() {
                d.after_step(&trainer)?;
            }
            done += n;
            pb.inc(n);
        }
        let s = trainer.snapshot();
        // `evaluate` reads the host copy of the network (a no-op on the CPU).
        trainer.sync_host();
        let validation_accuracy = rd.validation.as_ref().map(|v| trainer.evaluate(v).accuracy);
        let seconds = clock.seconds();
        let train_loss = s.train_loss.expect("a full epoch has run");
        pb.suspend(|| {
            println!(
                "{name:>5} epoch {epoch:>3}  train loss {train_loss:.4}  test loss {:.4}  test accuracy {:.2}%{}  ({seconds:.1}s)",
                s.test_loss,
                100.0 * s.test_accuracy,
                validation_accuracy.map(|v| format!("  validation {:.2}%", 100.0 * v)).unwrap_or_default()
            )
        });
        record.epochs.push(EpochRecord {
            epoch,
            train_loss,
            test_loss: s.test_loss,
            test_accuracy: s.test_accuracy,
            validation_accuracy,
            seconds,
        });
    }
    pb.finish_and_clear();
    if let Some(d) = dump {
        d.finish()?;
    }
    trainer.sync_host();
    record.inverse_fallbacks = trainer.optimizer().rngd().map(|r| r.fallbacks());
    let end = BackendReport::of(&trainer);
    if end.kind != record.backend.kind || end.lost_steps != record.backend.lost_steps {
        eprintln!("{name:>5} now on {}", end.line());
    }
    record.backend = end;
    Ok(record)
}

const DUMP_NEEDS_CPU: &str = "--dump needs the CPU backend: per-step gradients are recorded on the CPU path only. \
     Use --backend cpu (or auto, which then trains on the CPU).";

fn describe(config: &TrainConfig, rd: &RunData) {
    eprintln!(
        "{} {:?} {} on {} ({} training, {} test{}): sizes {:?}, batch {}, seed {}, backend {} asked",
        config.optimizer.name(),
        config.arch,
        config.activation,
        rd.source,
        rd.data.train.len(),
        rd.data.test.len(),
        rd.validation.as_ref().map(|v| format!(", {} validation", v.len())).unwrap_or_default(),
        config.sizes(784, 10),
        config.batch,
        config.seed,
        config.backend.name()
    );
}

pub fn train(args: TrainArgs) -> Result<(), String> {
    if let Some(path) = &args.json {
        ensure_writable("--json", path)?;
    }
    let rd = args.run.load()?;
    let mut config = args.run.config(args.optimizer, args.lr);
    config.validate(rd.data.train.len()).map_err(|e| e.to_string())?;
    if args.dump.is_some() {
        match config.backend {
            BackendChoice::Gpu => return Err(DUMP_NEEDS_CPU.into()),
            BackendChoice::Auto => {
                eprintln!("--dump: training on the CPU backend, where per-step gradients are recorded");
                config.backend = BackendChoice::Cpu;
            }
            BackendChoice::Cpu => {}
        }
    }
    let mut dump = match &args.dump {
        Some(dir) => Some(DumpPlan::new(dir.clone(), &args.dump_steps, args.f64)?),
        None => None,
    };
    describe(&config, &rd);
    let data = Arc::new(rd.data.clone());
    let record = run_one(config, &rd, data, args.run.epochs, dump.as_mut())?;
    if let Some(path) = &args.json {
        write_json(path, &record)?;
    }
    match &record.diverged {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}

pub fn compare(args: CompareArgs) -> Result<(), String> {
    if args.optimizers.is_empty() {
        return Err("--optimizers needs at least one of sgd, adam, rngd".into());
    }
    if let Some(path) = &args.json {
        ensure_writable("--json", path)?;
    }
    let rd = args.run.load()?;
    let lr_of = |k: OptimizerKind| match k {
        OptimizerKind::Sgd => args.lr_sgd,
        OptimizerKind::Adam => args.lr_adam,
        OptimizerKind::Rngd => args.lr_rngd,
    };
    // Validate every config before training any, so a typo fails fast.
    let configs: Vec<TrainConfig> = args.optimizers.iter().map(|&k| args.run.config(k, lr_of(k))).collect();
    for c in &configs {
        c.validate(rd.data.train.len()).map_err(|e| format!("{}: {e}", c.optimizer.name()))?;
    }
    describe(&configs[0], &rd);
    let data = Arc::new(rd.data.clone());
    let mut records = Vec::new();
    for config in configs {
        records.push(run_one(config, &rd, data.clone(), args.run.epochs, None)?);
    }
    println!();
    println!(
        "{:<6} {:>8} {:>11} {:>10} {:>10} {:>9}  backend",
        "", "lr", "train loss", "test acc", "valid acc", "s/epoch"
    );
    for r in &records {
        let last = r.epochs.last();
        let cell = |f: &dyn Fn(&EpochRecord) -> Option<f64>, pct: bool| {
            last.and_then(f).map(|v| if pct { format!("{:.2}%", 100.0 * v) } else { format!("{v:.4}") })
        };
        println!(
            "{:<6} {:>8} {:>11} {:>10} {:>10} {:>9}  {}{}",
            r.optimizer.name(),
            r.config.lr(),
            cell(&|e| Some(e.train_loss), false).unwrap_or("-".into()),
            cell(&|e| Some(e.test_accuracy), true).unwrap_or("-".into()),
            cell(&|e| e.validation_accuracy, true).unwrap_or("-".into()),
            last.map(|e| format!("{:.2}", e.seconds / e.epoch as f64)).unwrap_or("-".into()),
            r.backend.label(),
            if r.diverged.is_some() { "  (diverged)" } else { "" }
        );
    }
    if let Some(path) = &args.json {
        write_json(path, &records)?;
    }
    if records.iter().all(|r| r.diverged.is_some()) {
        return Err(format!(
            "every run diverged ({}): no result to compare; the messages above say the likely cause of each",
            records.iter().map(|r| r.optimizer.name()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}
