//! `bench`: step time of each optimizer on each backend (the CPU path, and the
//! GPU when there is an adapter), RNGD ÷ SGD on each backend and GPU ÷ CPU for
//! each optimizer, as medians of rounds that interleave every optimizer and
//! backend (so that drift of the machine hits all alike); RNGD's CPU step split
//! into its parts; the speed options of RNGD with their effect on accuracy.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use rngd_lab::clock::{Stopwatch, Timings};
use rngd_lab::config::BackendChoice;
use rngd_lab::model::Arch;
use rngd_lab::optim::{RngdConfig, RngdPreset};
use rngd_lab::{Dataset, OptimizerKind, TrainConfig, Trainer};

use super::args::{BackendReport, RunArgs};
use super::output::{ensure_writable, write_json};

mod flops;

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct BenchArgs {
    /// Timed steps per round, for each optimizer on each backend, in one
    /// `step(n)` call (a GPU run reads its losses back once per call). An RNGD
    /// row rounds it up to a whole number of its refresh periods T, so every
    /// round holds its inverse refreshes (the default equals the literal T).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    steps: u32,
    /// Untimed steps first, once per trainer; an RNGD row warms up at least
    /// T + 20 steps, past its first refresh, which for the low-rank option is a
    /// one-off full eigen-decomposition.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    warmup: u32,
    /// Rounds: each times every optimizer on every backend once, in turn; the
    /// tables give medians over rounds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Also train each variant this many epochs on each backend and report test accuracy (0: skip).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    accuracy_epochs: u32,
    /// Comma-separated RNGD variants, measured besides SGD and Adam: a preset
    /// name (literal, fast), or k:r or k:r:T (metric update every k steps,
    /// input-layer inverse of rank r with 0 = exact, inverse refresh every T
    /// steps, default --refresh). literal = 1:0 is RNGD as the paper states it.
    #[arg(long, value_delimiter = ',', default_value = "literal,fast,10:0,1:64,10:64")]
    variants: Vec<String>,
    /// Optimizers to time, comma separated; rngd stands for every --variants entry.
    #[arg(long, value_delimiter = ',', default_value = "sgd,adam,rngd")]
    optimizers: Vec<OptimizerKind>,
    /// Backends to time, comma separated: cpu, gpu. Default: the CPU, and the
    /// GPU when wgpu finds an adapter (a software one counts, and the table says so).
    #[arg(long, value_delimiter = ',', conflicts_with = "backend")]
    backends: Option<Vec<BackendChoice>>,
    /// Networks, comma separated: paper (784-80-80-80-10, batch 50), wide
    /// (784-256-256-256-10, batch 256), large (784-320-320-320-10, batch 256).
    /// Default: the one --hidden and --batch describe (the paper's).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["hidden", "batch"])]
    nets: Option<Vec<Net>>,
    /// Write the setup, every round's time and the medians here, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

/// The networks `--nets` names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Net {
    Paper,
    Wide,
    Large,
}

impl std::str::FromStr for Net {
    type Err = String;
    fn from_str(s: &str) -> Result<Net, String> {
        match s {
            "paper" => Ok(Net::Paper),
            "wide" => Ok(Net::Wide),
            "large" => Ok(Net::Large),
            _ => Err(format!("unknown net {s:?}; expected paper, wide or large")),
        }
    }
}

impl Net {
    fn name(self) -> &'static str {
        match self {
            Net::Paper => "paper",
            Net::Wide => "wide",
            Net::Large => "large",
        }
    }
    /// Hidden widths and batch. "large" is as wide as WebGPU's default limits
    /// allow: a per-neuron metric layer holds width × (width+1)² f32, and
    /// 320 × 321² × 4 B = 125.8 MiB stays under the 128 MiB a storage buffer
    /// binding may have (`maxStorageBufferBindingSize`).
    fn shape(self) -> (Vec<usize>, usize) {
        match self {
            Net::Paper => (vec![80, 80, 80], 50),
            Net::Wide => (vec![256, 256, 256], 256),
            Net::Large => (vec![320, 320, 320], 256),
        }
    }
}

struct Row {
    name: String,
    config: TrainConfig,
}

impl Row {
    /// Steps per round: --steps, rounded up for RNGD to whole refresh periods,
    /// so that every round pays its share of inverse refreshes and the median
    /// over rounds cannot leave them out (the fast preset refreshes every 500).
    fn steps(&self, args: &BenchArgs) -> u32 {
        match self.config.optimizer {
            OptimizerKind::Rngd => args.steps.div_ceil(self.config.rngd.refresh) * self.config.rngd.refresh,
            _ => args.steps,
        }
    }

    /// Warm-up steps: --warmup, and for RNGD at least past its first refresh,
    /// which for the low-rank option is a one-off full eigen-decomposition.
    fn warmup(&self, args: &BenchArgs) -> u32 {
        match self.config.optimizer {
            OptimizerKind::Rngd => args.warmup.max(self.config.rngd.refresh + 20),
            _ => args.warmup,
        }
    }
}

/// A `--variants` entry applied to `base`, with the row's name.
fn parse_variant(s: &str, base: RngdConfig) -> Result<(String, RngdConfig), String> {
    if let Ok(p) = s.parse::<RngdPreset>() {
        let name = if p == RngdPreset::Literal { "rngd".to_string() } else { format!("rngd {p}") };
        return Ok((name, p.apply(base)));
    }
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(format!("variant {s:?} must be literal, fast, k:r or k:r:T, e.g. 10:64"));
    }
    let k = parts[0].parse().map_err(|_| format!("bad k in variant {s:?}"))?;
    let r = parts[1].parse().map_err(|_| format!("bad r in variant {s:?}"))?;
    let t = match parts.get(2) {
        Some(t) => t.parse().map_err(|_| format!("bad T in variant {s:?}"))?,
        None => base.refresh,
    };
    let config = RngdConfig { metric_every: k, input_rank: r, refresh: t, ..base };
    let name = match RngdPreset::of(&config) {
        Some(RngdPreset::Literal) => "rngd".to_string(),
        Some(p) => format!("rngd {p}"),
        None if parts.len() == 3 => format!("rngd k={k} r={r} T={t}"),
        None => format!("rngd k={k} r={r}"),
    };
    Ok((name, config))
}

/// The backends to time, each with whether it must be there.
fn backend_plan(args: &BenchArgs) -> Result<Vec<(BackendChoice, bool)>, String> {
    match &args.backends {
        Some(list) => {
            if list.is_empty() {
                return Err("--backends needs at least one of cpu, gpu".into());
            }
            if list.contains(&BackendChoice::Auto) {
                return Err(
                    "--backends takes cpu and gpu; auto picks one of them, and a benchmark names what it times".into(),
                );
            }
            let mut out: Vec<(BackendChoice, bool)> = Vec::new();
            for &b in list {
                if !out.iter().any(|(x, _)| *x == b) {
                    out.push((b, true));
                }
            }
            Ok(out)
        }
        None => Ok(match args.run.backend {
            BackendChoice::Cpu => vec![(BackendChoice::Cpu, true)],
            BackendChoice::Gpu => vec![(BackendChoice::Gpu, true)],
            BackendChoice::Auto => vec![(BackendChoice::Cpu, true), (BackendChoice::Gpu, false)],
        }),
    }
}

/// A tiny trainer on `choice`, to learn whether the backend is there and what it is.
fn probe(choice: BackendChoice, data: Arc<Dataset>) -> Result<BackendReport, String> {
    let config = TrainConfig { hidden: vec![8], batch: 10, backend: choice, ..TrainConfig::default() };
    let t = Trainer::new(config, data).map_err(|e| e.to_string())?;
    let report = BackendReport::of(&t);
    if report.kind != choice.name() {
        return Err(format!("asked for {}, the library chose {}: {}", choice.name(), report.kind, report.reason));
    }
    Ok(report)
}

/// `model name` of /proc/cpuinfo, where there is one.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

/// Median over rounds of the per-round ratio a/b (rounds both finished).
fn ratio(a: &[f64], b: &[f64]) -> Option<f64> {
    median(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>())
}

/// One optimizer on one backend.
struct Cell {
    trainer: Option<Trainer>,
    /// The backend it really ran on (at the end).
    backend: Option<BackendReport>,
    /// Seconds per step, one entry per finished round.
    rounds: Vec<f64>,
    after_warmup: Timings,
    timed: Timings,
    /// Why it has no (or fewer) rounds: a failure to build or a divergence.
    problem: Option<String>,
    accuracy: Option<Result<f64, String>>,
}

#[derive(Serialize)]
struct CellRecord {
    backend: Option<BackendReport>,
    software_adapter: bool,
    ms_per_step_median: Option<f64>,
    ms_per_step_rounds: Vec<f64>,
    /// Median over rounds of this row's time ÷ SGD's on the same backend (when SGD was timed).
    ratio_to_sgd: Option<f64>,
    /// The CPU path's split of the timed steps, in seconds (GPU: not measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    split_seconds: Option<Timings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

#[derive(Serialize)]
struct RowRecord {
    name: String,
    /// This row's steps per round and warm-up (see `Row::steps`, `Row::warmup`).
    steps_per_round: u32,
    warmup: u32,
    /// The step's nominal arithmetic (`flops::per_step`), in millions of flops.
    nominal_mflop_per_step: f64,
    /// That over the CPU's median step time.
    cpu_gflops: Option<f64>,
    /// The config every cell of the row ran, with `backend` set to the cell's key.
    config: TrainConfig,
    /// Keyed by the backend asked for: "cpu", "gpu".
    cells: std::collections::BTreeMap<String, CellRecord>,
    /// Median over rounds of GPU time ÷ CPU time.
    gpu_over_cpu: Option<f64>,
}

#[derive(Serialize)]
struct NetRecord {
    name: String,
    sizes: Vec<usize>,
    batch: usize,
    arch: Arch,
    activation: String,
    rows: Vec<RowRecord>,
}

#[derive(Serialize)]
struct BenchRecord {
    rounds: u32,
    steps_per_round: u32,
    warmup: u32,
    accuracy_epochs: u32,
    cpu: Option<String>,
    /// CPU threads for RNGD's metric work (`--threads`).
    threads: usize,
    /// One core's f32 matrix-product rate (`flops::gemm_peak`), when the CPU was timed.
    gemm_peak_gflops: Option<f64>,
    /// Each backend timed, as the library describes it.
    backends: std::collections::BTreeMap<String, BackendReport>,
    /// Backends left out, and why.
    skipped: std::collections::BTreeMap<String, String>,
    nets: Vec<NetRecord>,
}

/// A table with a left-aligned first column and right-aligned others.
fn print_table(header: &[String], rows: &[Vec<String>]) {
    let cols = header.len();
    let width: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |r: &[String]| {
        let mut s = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c == 0 {
                s += cell;
                s += &" ".repeat(pad);
            } else {
                s += "  ";
                s += &" ".repeat(pad);
                s += cell;
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}

fn rows_for(args: &BenchArgs, hidden: &[usize], batch: usize) -> Result<Vec<Row>, String> {
    let base = |k: OptimizerKind| {
        let mut c = args.run.config(k, None);
        c.hidden = hidden.to_vec();
        c.batch = batch;
        c
    };
    if args.optimizers.is_empty() {
        return Err("--optimizers needs at least one of sgd, adam, rngd".into());
    }
    let mut rows = Vec::new();
    for k in [OptimizerKind::Sgd, OptimizerKind::Adam] {
        if args.optimizers.contains(&k) {
            rows.push(Row { name: k.name().into(), config: base(k) });
        }
    }
    if !args.optimizers.contains(&OptimizerKind::Rngd) {
        return Ok(rows);
    }
    for v in &args.variants {
        let mut c = base(OptimizerKind::Rngd);
        let (name, rngd) = parse_variant(v, c.rngd)?;
        c.rngd = rngd;
        rows.push(Row { name, config: c });
    }
    Ok(rows)
}

fn fmt_ms(s: Option<f64>) -> String {
    match s {
        Some(s) if 1e3 * s >= 100.0 => format!("{:.1}", 1e3 * s),
        Some(s) if 1e3 * s >= 10.0 => format!("{:.2}", 1e3 * s),
        Some(s) => format!("{:.3}", 1e3 * s),
        None => "-".into(),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into())
}

/// Times every row on every backend of `backends` for one network.
fn bench_net(
    args: &BenchArgs,
    label: &str,
    rows: &[Row],
    backends: &[BackendChoice],
    data: &Arc<Dataset>,
    peak: Option<f64>,
) -> Result<NetRecord, String> {
    let first = &rows[0].config;
    println!();
    println!(
        "{label}: {:?} {} {}, batch {}: ms/step, median of {} rounds × {} steps after {} warm-up steps \
         (an RNGD row: whole refresh periods per round, warm-up past its first refresh)",
        first.arch,
        first.activation,
        first.sizes(784, 10).iter().map(|s| s.to_string()).collect::<Vec<_>>().join("-"),
        first.batch,
        args.rounds,
        args.steps,
        args.warmup,
    );
    let pb = indicatif::ProgressBar::new((rows.len() * backends.len()) as u64 * (1 + args.rounds as u64));
    pb.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());

    // Build and warm up every trainer first, so the rounds run back to back.
    let mut cells: Vec<Vec<Cell>> = Vec::new();
    for row in rows {
        let mut line = Vec::new();
        for &b in backends {
            pb.set_message(format!("warming up {} on {}", row.name, b.name()));
            let config = TrainConfig { backend: b, ..row.config.clone() };
            let mut cell = Cell {
                trainer: None,
                backend: None,
                rounds: Vec::new(),
                after_warmup: Timings::default(),
                timed: Timings::default(),
                problem: None,
                accuracy: None,
            };
            match Trainer::new(config, data.clone()) {
                Err(e) => cell.problem = Some(format!("could not start: {e}")),
                Ok(mut t) => {
                    let report = BackendReport::of(&t);
                    if report.kind != b.name() {
                        cell.problem = Some(format!("runs on {}: {}", report.kind, report.reason));
                    }
                    cell.backend = Some(report);
                    match t.step(row.warmup(args)) {
                        Err(e) => cell.problem = Some(e.to_string()),
                        Ok(()) => {
                            cell.after_warmup = t.timings();
                            cell.trainer = Some(t);
                        }
                    }
                }
            }
            pb.inc(1);
            line.push(cell);
        }
        cells.push(line);
    }

    // Rounds: every row on every backend once per round; the row order rotates
    // and the backend order alternates from round to round.
    for round in 0..args.rounds as usize {
        pb.set_message(format!("round {}/{}", round + 1, args.rounds));
        for i in 0..rows.len() {
            let r = (i + round) % rows.len();
            let order: Vec<usize> =
                if round % 2 == 0 { (0..backends.len()).collect() } else { (0..backends.len()).rev().collect() };
            for b in order {
                let cell = &mut cells[r][b];
                if let Some(t) = cell.trainer.as_mut() {
                    let clock = Stopwatch::start();
                    let steps = rows[r].steps(args);
                    match t.step(steps) {
                        Ok(()) => cell.rounds.push(clock.seconds() / steps as f64),
                        Err(e) => {
                            cell.problem = Some(e.to_string());
                            cell.trainer = None;
                        }
                    }
                }
                pb.inc(1);
            }
        }
    }
    for line in cells.iter_mut() {
        for cell in line.iter_mut() {
            if let Some(t) = cell.trainer.take() {
                cell.timed = t.timings().minus(&cell.after_warmup);
                cell.backend = Some(BackendReport::of(&t));
            }
        }
    }

    if args.accuracy_epochs > 0 {
        for (row, line) in rows.iter().zip(cells.iter_mut()) {
            for (&b, cell) in backends.iter().zip(line.iter_mut()) {
                pb.set_message(format!("accuracy of {} on {}", row.name, b.name()));
                let config = TrainConfig { backend: b, ..row.config.clone() };
                let acc = (|| -> Result<f64, String> {
                    let mut t = Trainer::new(config, data.clone()).map_err(|e| e.to_string())?;
                    let steps = args.accuracy_epochs * t.batches_per_epoch() as u32;
                    t.step(steps).map_err(|e| e.to_string())?;
                    Ok(t.snapshot().test_accuracy)
                })();
                cell.accuracy = Some(acc);
            }
        }
    }
    pb.finish_and_clear();

    // The table.
    let cpu = backends.iter().position(|&b| b == BackendChoice::Cpu);
    let gpu = backends.iter().position(|&b| b == BackendChoice::Gpu);
    let mut header = vec!["optimizer".to_string()];
    for &b in backends {
        let software = b == BackendChoice::Gpu
            && cells.iter().flatten().filter_map(|c| c.backend.as_ref()).any(|r| r.is_gpu() && r.software());
        header.push(format!("{}{} ms/step", b.name(), if software { " (software)" } else { "" }));
        header.push("÷ sgd".into());
    }
    if cpu.is_some() && gpu.is_some() {
        header.push("gpu ÷ cpu".into());
    }
    if cpu.is_some() {
        for h in ["cpu: fwd+bwd", "metric", "precond", "inverse", "other", "GFLOP/s"] {
            header.push(h.into());
        }
        if peak.is_some() {
            header.push("% peak".into());
        }
    }
    if args.accuracy_epochs > 0 {
        for &b in backends {
            header.push(format!("test acc {}", b.name()));
        }
    }
    let sgd_row = rows.iter().position(|r| r.config.optimizer == OptimizerKind::Sgd);
    let mut table = Vec::new();
    let mut notes = Vec::new();
    let mut records = Vec::new();
    for (ri, row) in rows.iter().enumerate() {
        let mut line = vec![row.name.clone()];
        let sizes = row.config.sizes(784, 10);
        let mflop = flops::per_step(&row.config, &sizes) / 1e6;
        let mut rec = RowRecord {
            nominal_mflop_per_step: mflop,
            steps_per_round: row.steps(args),
            warmup: row.warmup(args),
            cpu_gflops: None,
            name: row.name.clone(),
            config: TrainConfig { backend: BackendChoice::Auto, ..row.config.resolved() },
            cells: Default::default(),
            gpu_over_cpu: None,
        };
        for (bi, &b) in backends.iter().enumerate() {
            let cell = &cells[ri][bi];
            let med = median(&cell.rounds);
            let to_sgd = match sgd_row {
                Some(s) if s == ri => med.map(|_| 1.0),
                Some(s) => ratio(&cell.rounds, &cells[s][bi].rounds),
                None => None,
            };
            let mark = if cell.problem.is_some() {
                notes.push(format!("{} on {}: {}", row.name, b.name(), cell.problem.as_deref().unwrap_or_default()));
                format!(" [{}]", notes.len())
            } else {
                String::new()
            };
            line.push(format!("{}{mark}", fmt_ms(med)));
            line.push(fmt_ratio(to_sgd));
            let split = (b == BackendChoice::Cpu && !cell.rounds.is_empty()).then_some(cell.timed);
            rec.cells.insert(
                b.name().to_string(),
                CellRecord {
                    software_adapter: cell.backend.as_ref().is_some_and(|r| r.is_gpu() && r.software()),
                    backend: cell.backend.clone(),
                    ms_per_step_median: med.map(|s| 1e3 * s),
                    ms_per_step_rounds: cell.rounds.iter().map(|s| 1e3 * s).collect(),
                    ratio_to_sgd: to_sgd,
                    split_seconds: split,
                    test_accuracy: cell.accuracy.as_ref().and_then(|a| a.as_ref().ok().copied()),
                    problem: cell.problem.clone(),
                },
            );
        }
        if let (Some(c), Some(g)) = (cpu, gpu) {
            rec.gpu_over_cpu = ratio(&cells[ri][g].rounds, &cells[ri][c].rounds);
            line.push(fmt_ratio(rec.gpu_over_cpu));
        }
        if let Some(c) = cpu {
            let t = &cells[ri][c].timed;
            let total = t.forward_backward + t.metric_update + t.precondition + t.inverse + t.update;
            for x in [t.forward_backward, t.metric_update, t.precondition, t.inverse, t.update] {
                line.push(if total > 0.0 { format!("{:.0}%", 100.0 * x / total) } else { "-".into() });
            }
            rec.cpu_gflops = median(&cells[ri][c].rounds).map(|s| mflop / 1e3 / s);
            line.push(rec.cpu_gflops.map_or("-".into(), |g| format!("{g:.1}")));
            if let Some(p) = peak {
                line.push(rec.cpu_gflops.map_or("-".into(), |g| format!("{:.0}%", 100.0 * g * 1e9 / p)));
            }
        }
        if args.accuracy_epochs > 0 {
            for (bi, &b) in backends.iter().enumerate() {
                line.push(match &cells[ri][bi].accuracy {
                    Some(Ok(a)) => format!("{:.2}%", 100.0 * a),
                    Some(Err(e)) => {
                        notes.push(format!("{} on {}, accuracy run: {e}", row.name, b.name()));
                        format!("- [{}]", notes.len())
                    }
                    None => "-".into(),
                });
            }
        }
        table.push(line);
        records.push(rec);
    }
    print_table(&header, &table);
    for (i, n) in notes.iter().enumerate() {
        println!("  [{}] {n}", i + 1);
    }
    Ok(NetRecord {
        name: label.to_string(),
        sizes: first.sizes(784, 10),
        batch: first.batch,
        arch: first.arch,
        activation: first.activation.to_string(),
        rows: records,
    })
}

pub fn bench(args: BenchArgs) -> Result<(), String> {
    if let Some(path) = &args.json {
        ensure_writable("--json", path)?;
    }
    let rd = args.run.load()?;
    let data = Arc::new(rd.data.clone());
    let nets: Vec<(String, Vec<usize>, usize)> = match &args.nets {
        Some(list) if list.is_empty() => return Err("--nets needs at least one of paper, wide, large".into()),
        Some(list) => list
            .iter()
            .map(|n| {
                let (h, b) = n.shape();
                (n.name().to_string(), h, b)
            })
            .collect(),
        None => {
            let preset = [Net::Paper, Net::Wide, Net::Large]
                .into_iter()
                .find(|n| n.shape() == (args.run.hidden.clone(), args.run.batch));
            let name = preset.map_or("custom", |n| n.name());
            vec![(name.to_string(), args.run.hidden.clone(), args.run.batch)]
        }
    };
    let mut all_rows = Vec::new();
    for (name, hidden, batch) in &nets {
        let rows = rows_for(&args, hidden, *batch)?;
        for r in &rows {
            r.config.validate(data.train.len()).map_err(|e| format!("{name}, {}: {e}", r.name))?;
        }
        all_rows.push(rows);
    }

    // Which backends are there.
    let mut record = BenchRecord {
        rounds: args.rounds,
        steps_per_round: args.steps,
        warmup: args.warmup,
        accuracy_epochs: args.accuracy_epochs,
        cpu: cpu_model(),
        threads: rngd_lab::par::threads(),
        gemm_peak_gflops: None,
        backends: Default::default(),
        skipped: Default::default(),
        nets: Vec::new(),
    };
    let mut backends = Vec::new();
    println!("backends:");
    for (b, required) in backend_plan(&args)? {
        match probe(b, data.clone()) {
            Ok(report) => {
                let what = match b {
                    BackendChoice::Cpu => format!(
                        "the CPU path (ndarray, {}) on {}",
                        match rngd_lab::par::threads() {
                            1 => "one thread".to_string(),
                            n => format!("{n} threads for RNGD's metric work"),
                        },
                        record.cpu.as_deref().unwrap_or("this machine's CPU")
                    ),
                    _ if report.software() => format!(
                        "{}: a software adapter, the CPU emulating a GPU, so these times say nothing about a real GPU",
                        report.adapter.as_deref().unwrap_or("?")
                    ),
                    _ => report.adapter.clone().unwrap_or_else(|| "?".into()),
                };
                println!("  {:<4} {what}", b.name());
                record.backends.insert(b.name().to_string(), report);
                backends.push(b);
            }
            Err(e) if required => return Err(format!("--backend {}: {e}", b.name())),
            Err(e) => {
                println!("  {:<4} not timed: {e}", b.name());
                record.skipped.insert(b.name().to_string(), e);
            }
        }
    }
    println!(
        "times are medians over rounds; ratios are medians of the per-round ratios (each round times every optimizer on every backend in turn)"
    );
    let peak = backends.contains(&BackendChoice::Cpu).then(flops::gemm_peak);
    if let Some(p) = peak {
        record.gemm_peak_gflops = Some(p / 1e9);
        println!(
            "one core's f32 matrix-product peak, measured now (512×512×512, the CPU path's kernel): {:.1} GFLOP/s; \
             GFLOP/s columns count a step's nominal matrix arithmetic (src/bin/cli/bench/flops.rs)",
            p / 1e9
        );
    }

    for ((name, _, _), rows) in nets.iter().zip(&all_rows) {
        record.nets.push(bench_net(&args, name, rows, &backends, &data, peak)?);
    }
    if let Some(path) = &args.json {
        write_json(path, &record)?;
    }
    Ok(())
}
