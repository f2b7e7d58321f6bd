//! `bench`: step time of each optimizer on the CPU, the RNGD ÷ SGD ratio
//! measured in the same run, RNGD's step split into its parts, and the
//! speed options with their effect on accuracy.

use std::sync::Arc;

use clap::Args;

use rngd_lab::clock::{Stopwatch, Timings};
use rngd_lab::{Dataset, OptimizerKind, TrainConfig, Trainer};

use super::args::RunArgs;

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct BenchArgs {
    /// Timed steps per optimizer: several refresh periods, so the inverse's
    /// share is amortised as in a long run.
    #[arg(long, default_value_t = 500)]
    steps: u32,
    /// Untimed steps first. The default passes RNGD's first refresh at T = 100,
    /// which for the low-rank option is a one-off full eigen-decomposition.
    #[arg(long, default_value_t = 120)]
    warmup: u32,
    /// Also train each variant this many epochs and report test accuracy (0: skip).
    #[arg(long, default_value_t = 0)]
    accuracy_epochs: u32,
    /// Comma-separated RNGD variants as k:r pairs (metric update every k steps,
    /// input-layer inverse of rank r, 0 = exact), measured besides the defaults.
    #[arg(long, value_delimiter = ',', default_value = "1:0,4:0,10:0,1:64,10:64")]
    variants: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

struct Row {
    name: String,
    config: TrainConfig,
}

fn parse_variant(s: &str) -> Result<(u32, usize), String> {
    let (k, r) = s.split_once(':').ok_or_else(|| format!("variant {s:?} must look like k:r, e.g. 10:64"))?;
    let k = k.parse().map_err(|_| format!("bad k in variant {s:?}"))?;
    let r = r.parse().map_err(|_| format!("bad r in variant {s:?}"))?;
    Ok((k, r))
}

/// Seconds per step over the timed steps, and the breakdown of those steps alone.
fn time_steps(config: &TrainConfig, data: Arc<Dataset>, warmup: u32, steps: u32) -> Result<(f64, Timings), String> {
    let mut t = Trainer::new(config.clone(), data).map_err(|e| e.to_string())?;
    t.step(warmup).map_err(|e| e.to_string())?;
    let before = t.timings();
    let clock = Stopwatch::start();
    t.step(steps).map_err(|e| e.to_string())?;
    let seconds = clock.seconds() / steps as f64;
    Ok((seconds, t.timings().minus(&before)))
}

pub fn bench(args: BenchArgs) -> Result<(), String> {
    let rd = args.run.load()?;
    let data = Arc::new(rd.data.clone());
    let mut rows = vec![
        Row { name: "sgd".into(), config: args.run.config(OptimizerKind::Sgd, None) },
        Row { name: "adam".into(), config: args.run.config(OptimizerKind::Adam, None) },
    ];
    for v in &args.variants {
        let (k, r) = parse_variant(v)?;
        let mut c = args.run.config(OptimizerKind::Rngd, None);
        c.rngd.metric_every = k;
        c.rngd.input_rank = r;
        let name = if (k, r) == (1, 0) { "rngd".to_string() } else { format!("rngd k={k} r={r}") };
        rows.push(Row { name, config: c });
    }
    for r in &rows {
        r.config.validate(data.train.len()).map_err(|e| format!("{}: {e}", r.name))?;
    }
    println!(
        "CPU step time, {:?} {} {:?}, batch {}, {} timed steps after {} warm-up (RNGD T = {})",
        args.run.arch,
        args.run.activation,
        rows[0].config.sizes(784, 10),
        args.run.batch,
        args.steps,
        args.warmup,
        args.run.refresh
    );
    println!(
        "{:<18} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}{}",
        "optimizer",
        "ms/step",
        "÷ sgd",
        "fwd+bwd",
        "metric",
        "precond",
        "inverse",
        "other",
        if args.accuracy_epochs > 0 { format!(" {:>10}", "test acc") } else { String::new() }
    );
    let mut sgd_time = None;
    for row in &rows {
        let (per_step, t) = time_steps(&row.config, data.clone(), args.warmup, args.steps)?;
        let sgd = *sgd_time.get_or_insert(per_step);
        let total = t.forward_backward + t.metric_update + t.precondition + t.inverse + t.update;
        let share = |x: f64| format!("{:.0}%", 100.0 * x / total);
        let acc = if args.accuracy_epochs > 0 {
            let mut tr = Trainer::new(row.config.clone(), data.clone()).map_err(|e| e.to_string())?;
            let steps = args.accuracy_epochs * tr.batches_per_epoch() as u32;
            match tr.step(steps) {
                Ok(()) => format!(" {:>9.2}%", 100.0 * tr.evaluate_test().accuracy),
                Err(e) => format!(" diverged: {e}"),
            }
        } else {
            String::new()
        };
        println!(
            "{:<18} {:>9.3} {:>8.2} {:>9} {:>9} {:>9} {:>9} {:>9}{}",
            row.name,
            1e3 * per_step,
            per_step / sgd,
            share(t.forward_backward),
            share(t.metric_update),
            share(t.precondition),
            share(t.inverse),
            share(t.update),
            acc
        );
    }
    Ok(())
}
