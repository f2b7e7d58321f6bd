//! `report`: reads run records (`train` or `compare` JSON), chooses each optimizer's
//! learning rate on validation accuracy, and writes the paper's Fig. 2 (SVG) and a
//! markdown table with a verdict computed from the numbers.
//!
//! Learning-rate selection, the one rule used everywhere (the experiment script
//! asks `report --print-selection` rather than repeating it): for each
//! (architecture, optimizer), the learning rate whose **seed-1** run has the highest
//! validation accuracy averaged over its last 10 epochs. Runs that diverged, or that have no
//! validation accuracy, are not candidates. Ties go to the smaller learning rate.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::{Deserialize, Deserializer};

const DEFAULT_DATA: &str = "bundled MNIST subset: 7,000 train / 1,000 validation / 2,000 test digits";

#[derive(Args)]
pub struct ReportArgs {
    /// Folder of run records (*.json, searched recursively), each a `train` record or a `compare` list.
    #[arg(long)]
    runs: PathBuf,
    /// Folder of the records to choose learning rates from (default: the --runs folder).
    #[arg(long)]
    selection: Option<PathBuf>,
    /// Write the learning-curve figure here (SVG).
    #[arg(long)]
    figure: Option<PathBuf>,
    /// Write the markdown table here.
    #[arg(long)]
    table: Option<PathBuf>,
    /// Print each selected learning rate to stdout as `arch optimizer lr`, one per line.
    #[arg(long)]
    print_selection: bool,
    /// What the runs trained on, for the figure's title and the table.
    #[arg(long, default_value = DEFAULT_DATA)]
    data_label: String,
}

// ---------------------------------------------------------------- records

/// `null` (how serde_json writes NaN) reads back as NaN.
fn nullable_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Epoch {
    pub epoch: u32,
    #[serde(deserialize_with = "nullable_f64")]
    pub train_loss: f64,
    #[serde(deserialize_with = "nullable_f64")]
    pub test_loss: f64,
    #[serde(deserialize_with = "nullable_f64")]
    pub test_accuracy: f64,
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    #[serde(deserialize_with = "nullable_f64")]
    pub seconds: f64,
}

#[derive(Deserialize)]
struct RawConfig {
    arch: String,
    lr: Option<f64>,
    seed: u64,
    #[serde(default)]
    hidden: Vec<usize>,
    #[serde(default)]
    activation: Option<String>,
    #[serde(default)]
    batch: Option<usize>,
}

#[derive(Deserialize)]
struct RawRecord {
    optimizer: String,
    config: RawConfig,
    epochs: Vec<Epoch>,
    #[serde(default)]
    diverged: Option<String>,
    #[serde(default)]
    inverse_fallbacks: Option<u64>,
}

/// One training run, from a `train` record or one entry of a `compare` list.
#[derive(Clone, Debug)]
pub struct Run {
    /// The file it came from, for messages.
    pub source: String,
    pub arch: String,
    pub optimizer: String,
    pub lr: f64,
    pub seed: u64,
    pub epochs: Vec<Epoch>,
    pub diverged: Option<String>,
    pub inverse_fallbacks: Option<u64>,
    pub hidden: Vec<usize>,
    pub activation: Option<String>,
    pub batch: Option<usize>,
}

impl Run {
    fn completed(&self) -> bool {
        self.diverged.is_none() && !self.epochs.is_empty()
    }
    fn last(&self) -> Option<&Epoch> {
        self.epochs.last()
    }
}

/// Parses one file's text: a single record or a list of records.
pub fn parse_records(text: &str, source: &str) -> Result<Vec<Run>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let mut runs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let raw: RawRecord =
            serde_json::from_value(item).map_err(|e| format!("{source}: record {} is not a run record: {e}", i + 1))?;
        let lr = raw.config.lr.ok_or_else(|| format!("{source}: record {} has no config.lr", i + 1))?;
        runs.push(Run {
            source: source.to_string(),
            arch: raw.config.arch,
            optimizer: raw.optimizer,
            lr,
            seed: raw.config.seed,
            epochs: raw.epochs,
            diverged: raw.diverged,
            inverse_fallbacks: raw.inverse_fallbacks,
            hidden: raw.config.hidden,
            activation: raw.config.activation,
            batch: raw.config.batch,
        });
    }
    Ok(runs)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("could not read folder {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("could not read folder {}: {e}", dir.display()))?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every run under `dir`, in file-name order. Two records of the same
/// (arch, optimizer, lr, seed) keep the first, with a warning.
pub fn load_runs(dir: &Path) -> Result<Vec<Run>, String> {
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    files.sort();
    let mut runs = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("could not read {}: {e}", f.display()))?;
        runs.extend(parse_records(&text, &f.display().to_string())?);
    }
    if runs.is_empty() {
        return Err(format!("no run records (*.json) found under {}", dir.display()));
    }
    Ok(dedupe(runs))
}

fn dedupe(runs: Vec<Run>) -> Vec<Run> {
    let mut seen: BTreeMap<(String, String, u64, u64), String> = BTreeMap::new();
    let mut out = Vec::with_capacity(runs.len());
    for r in runs {
        let key = (r.arch.clone(), r.optimizer.clone(), r.lr.to_bits(), r.seed);
        if let Some(first) = seen.get(&key) {
            eprintln!(
                "warning: {} repeats {} {} lr {} seed {} from {first}; keeping the first",
                r.source, r.arch, r.optimizer, r.lr, r.seed
            );
            continue;
        }
        seen.insert(key, r.source.clone());
        out.push(r);
    }
    out
}

// ---------------------------------------------------------------- ordering and names

/// (architecture, optimizer), ordered PLAIN before BNA and SGD, Adam, RNGD.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    arch_rank: u8,
    pub arch: String,
    opt_rank: u8,
    pub optimizer: String,
}

impl Key {
    pub fn new(arch: &str, optimizer: &str) -> Key {
        let arch_rank = match arch {
            "plain" => 0,
            "bna" => 1,
            _ => 2,
        };
        let opt_rank = match optimizer {
            "sgd" => 0,
            "adam" => 1,
            "rngd" => 2,
            _ => 3,
        };
        Key { arch_rank, arch: arch.into(), opt_rank, optimizer: optimizer.into() }
    }
    fn of(run: &Run) -> Key {
        Key::new(&run.arch, &run.optimizer)
    }
}

fn opt_label(o: &str) -> String {
    match o {
        "sgd" => "SGD".into(),
        "adam" => "Adam".into(),
        "rngd" => "RNGD".into(),
        other => other.to_uppercase(),
    }
}

fn arch_label(a: &str) -> String {
    a.to_uppercase()
}

// ---------------------------------------------------------------- statistics

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1); `None` below two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

// ---------------------------------------------------------------- learning-rate selection

/// How one learning rate of the grid fared on seed 1.
#[derive(Clone, Debug, PartialEq)]
pub enum GridOutcome {
    /// Final-epoch validation accuracy.
    Validation(f64),
    Diverged,
    NoValidation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GridEntry {
    pub lr: f64,
    pub outcome: GridOutcome,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The seed-1 grid of each (arch, optimizer), by increasing lr.
    pub grid: BTreeMap<Key, Vec<GridEntry>>,
    /// The chosen lr of each (arch, optimizer) that has a candidate.
    pub chosen: BTreeMap<Key, f64>,
}

/// Epochs at the end of a run whose validation accuracies are averaged to score it.
pub const SELECTION_WINDOW: usize = 10;

/// Mean validation accuracy over the last [`SELECTION_WINDOW`] epochs (fewer if
/// the run is shorter). One epoch alone is too noisy: on 1,000 validation
/// digits a single digit is 0.1 %, and single-epoch scores tie or flip.
fn late_validation(r: &Run) -> Option<f64> {
    let tail: Vec<f64> =
        r.epochs.iter().rev().take(SELECTION_WINDOW).map(|e| e.validation_accuracy).collect::<Option<_>>()?;
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    (!tail.is_empty() && mean.is_finite()).then_some(mean)
}

/// Applies the selection rule (see the module documentation) to `runs`.
pub fn select(runs: &[Run]) -> Selection {
    let mut sel = Selection::default();
    for r in runs.iter().filter(|r| r.seed == 1) {
        let outcome = if !r.completed() {
            GridOutcome::Diverged
        } else {
            match late_validation(r) {
                Some(v) => GridOutcome::Validation(v),
                None => GridOutcome::NoValidation,
            }
        };
        sel.grid.entry(Key::of(r)).or_default().push(GridEntry { lr: r.lr, outcome });
    }
    for (key, grid) in sel.grid.iter_mut() {
        grid.sort_by(|a, b| a.lr.total_cmp(&b.lr));
        let mut best: Option<(f64, f64)> = None;
        for g in grid.iter() {
            if let GridOutcome::Validation(v) = g.outcome {
                // Strictly greater: on a tie the smaller lr (seen first) stays.
                if best.is_none_or(|(_, bv)| v > bv) {
                    best = Some((g.lr, v));
                }
            }
        }
        if let Some((lr, _)) = best {
            sel.chosen.insert(key.clone(), lr);
        }
    }
    sel
}

// ---------------------------------------------------------------- aggregation

/// Mean and min–max over seeds at one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub epoch: u32,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// The runs of one (arch, optimizer) at its selected lr.
#[derive(Clone, Debug)]
pub struct Summary {
    pub key: Key,
    pub lr: f64,
    /// Seeds of the completed runs, sorted.
    pub seeds: Vec<u64>,
    /// Seeds whose run diverged (left out of every number below).
    pub diverged_seeds: Vec<u64>,
    /// Final epoch of the completed runs: (fewest, most).
    pub epochs: (u32, u32),
    pub final_train_loss: f64,
    pub final_test_acc: f64,
    pub final_test_acc_std: Option<f64>,
    /// Mean over seeds of each run's best epoch test accuracy.
    pub best_test_acc: f64,
    pub seconds_per_epoch: f64,
    /// The epoch a tenth of the way through (see [`early_epoch`]) and the mean training loss there.
    pub early_epoch: u32,
    pub early_train_loss: Option<f64>,
    pub inverse_fallbacks: u64,
    pub train_loss: Vec<Band>,
    /// Test error in percent.
    pub test_error: Vec<Band>,
}

/// The epoch at which the learning curves' sharpness is compared: a tenth of the way through.
pub fn early_epoch(last: u32) -> u32 {
    (last / 10).max(1)
}

fn mean_at(bands: &[Band], epoch: u32) -> Option<f64> {
    bands.iter().find(|b| b.epoch == epoch).map(|b| b.mean)
}

fn bands(runs: &[&Run], value: impl Fn(&Epoch) -> f64) -> Vec<Band> {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for r in runs {
        for e in &r.epochs {
            let v = value(e);
            if v.is_finite() {
                by_epoch.entry(e.epoch).or_default().push(v);
            }
        }
    }
    by_epoch
        .into_iter()
        .map(|(epoch, xs)| {
            let (min, max) = min_max(&xs);
            Band { epoch, mean: mean(&xs), min, max }
        })
        .collect()
}

/// One summary per (arch, optimizer) that has a selected lr and at least one run at it.
pub fn summarise(runs: &[Run], chosen: &BTreeMap<Key, f64>) -> Vec<Summary> {
    let mut out = Vec::new();
    for (key, &lr) in chosen {
        let at_lr: Vec<&Run> = runs.iter().filter(|r| Key::of(r) == *key && r.lr == lr).collect();
        if at_lr.is_empty() {
            continue;
        }
        let mut done: Vec<&Run> = at_lr.iter().copied().filter(|r| r.completed()).collect();
        done.sort_by_key(|r| r.seed);
        let mut diverged_seeds: Vec<u64> = at_lr.iter().filter(|r| !r.completed()).map(|r| r.seed).collect();
        diverged_seeds.sort();
        let lasts: Vec<&Epoch> = done.iter().filter_map(|r| r.last()).collect();
        let finals = |f: fn(&Epoch) -> f64| lasts.iter().map(|e| f(e)).collect::<Vec<f64>>();
        let accs = finals(|e| e.test_accuracy);
        let best: Vec<f64> =
            done.iter().map(|r| r.epochs.iter().map(|e| e.test_accuracy).fold(f64::NEG_INFINITY, f64::max)).collect();
        let per_epoch = finals(|e| e.seconds / e.epoch.max(1) as f64);
        let last_epochs: Vec<u32> = lasts.iter().map(|e| e.epoch).collect();
        let train_loss = bands(&done, |e| e.train_loss);
        let early = early_epoch(last_epochs.iter().copied().min().unwrap_or(1));
        out.push(Summary {
            key: key.clone(),
            lr,
            seeds: done.iter().map(|r| r.seed).collect(),
            diverged_seeds,
            epochs: (last_epochs.iter().copied().min().unwrap_or(0), last_epochs.iter().copied().max().unwrap_or(0)),
            final_train_loss: mean(&finals(|e| e.train_loss)),
            final_test_acc: mean(&accs),
            final_test_acc_std: std_dev(&accs),
            best_test_acc: mean(&best),
            seconds_per_epoch: mean(&per_epoch),
            early_epoch: early,
            early_train_loss: mean_at(&train_loss, early),
            inverse_fallbacks: done.iter().filter_map(|r| r.inverse_fallbacks).sum(),
            train_loss,
            test_error: bands(&done, |e| 100.0 * (1.0 - e.test_accuracy)),
        });
    }
    out
}

// ---------------------------------------------------------------- verdict

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// The sentence for one architecture: does RNGD beat SGD and Adam on mean final
/// test accuracy, and is its final training loss lower? Computed, never assumed.
pub fn verdict(arch: &str, summaries: &[Summary]) -> String {
    let label = arch_label(arch);
    let get = |o: &str| summaries.iter().find(|s| s.key.arch == arch && s.key.optimizer == o && !s.seeds.is_empty());
    let Some(r) = get("rngd") else {
        return format!("**{label}**: no verdict, as there are no completed RNGD runs at a selected learning rate.");
    };
    let others: Vec<&Summary> = ["sgd", "adam"].iter().filter_map(|o| get(o)).collect();
    if others.is_empty() {
        return format!("**{label}**: no verdict, as there are no completed SGD or Adam runs to compare RNGD with.");
    }
    let mut s = format!("**{label}**: RNGD's mean final test accuracy, {},", pct(r.final_test_acc));
    let mut acc_parts = Vec::new();
    for o in &others {
        let name = opt_label(&o.key.optimizer);
        let diff = 100.0 * (r.final_test_acc - o.final_test_acc);
        let spread = match (r.final_test_acc_std, o.final_test_acc_std) {
            (Some(a), Some(b)) => {
                let sd = 100.0 * a.max(b);
                if diff.abs() > sd {
                    format!(", more than the larger seed standard deviation ({sd:.2})")
                } else {
                    format!(", within the larger seed standard deviation ({sd:.2})")
                }
            }
            _ => String::new(),
        };
        let part = if diff.abs() < 0.005 {
            format!("ties {name}'s ({})", pct(o.final_test_acc))
        } else if diff > 0.0 {
            format!("beats {name}'s ({}) by {diff:.2} points{spread}", pct(o.final_test_acc))
        } else {
            format!("falls short of {name}'s ({}) by {:.2} points{spread}", pct(o.final_test_acc), -diff)
        };
        acc_parts.push(part);
    }
    let _ = write!(s, " {}.", acc_parts.join("; it "));
    let mut loss_parts = Vec::new();
    for o in &others {
        let name = opt_label(&o.key.optimizer);
        let word = if r.final_train_loss < o.final_train_loss { "lower" } else { "not lower" };
        loss_parts.push(format!("{word} than {name}'s ({:.4})", o.final_train_loss));
    }
    let _ = write!(s, " Its final training loss, {:.4}, is {}.", r.final_train_loss, loss_parts.join(" and "));
    // Sharpness of the learning curve: training loss a tenth of the way through.
    let k = r.early_epoch;
    let early: Vec<(String, f64)> =
        others.iter().filter_map(|o| mean_at(&o.train_loss, k).map(|v| (opt_label(&o.key.optimizer), v))).collect();
    let sharper = match r.early_train_loss {
        Some(re) if early.len() == others.len() => {
            let parts: Vec<String> = early
                .iter()
                .map(|(name, v)| format!("{} than {name}'s ({v:.4})", if re < *v { "lower" } else { "not lower" }))
                .collect();
            let _ = write!(s, " At epoch {k} its training loss, {re:.4}, is {}.", parts.join(" and "));
            Some(early.iter().all(|(_, v)| re < *v))
        }
        _ => None,
    };
    let generalises = others.iter().all(|o| r.final_test_acc > o.final_test_acc);
    let lower_loss = others.iter().all(|o| r.final_train_loss < o.final_train_loss);
    let names: Vec<String> = others.iter().map(|o| opt_label(&o.key.optimizer)).collect();
    let yes_no = |b: bool| if b { "holds" } else { "does not hold" };
    // Is every accuracy gap wider than the larger seed standard deviation of the pair?
    let beyond_spread = others.iter().all(|o| match (r.final_test_acc_std, o.final_test_acc_std) {
        (Some(a), Some(b)) => (r.final_test_acc - o.final_test_acc).abs() > a.max(b),
        _ => true,
    });
    let generalisation = match (generalises, beyond_spread) {
        (true, true) => "holds",
        (true, false) => "holds on the means but not beyond the seed-to-seed spread",
        (false, _) => "does not hold",
    };
    let _ = write!(
        s,
        " So here, against {}, the paper's claim of better generalization {generalisation}",
        names.join(" and ")
    );
    if let Some(sh) = sharper {
        let _ = write!(s, ", a sharper learning curve (lower training loss at epoch {k}) {}", yes_no(sh));
    }
    let _ = write!(s, ", and a lower final training loss {}.", yes_no(lower_loss));
    s
}

/// RNGD's margin over the better of SGD and Adam, in accuracy points.
fn margin(arch: &str, summaries: &[Summary]) -> Option<f64> {
    let get = |o: &str| summaries.iter().find(|s| s.key.arch == arch && s.key.optimizer == o && !s.seeds.is_empty());
    let r = get("rngd")?;
    let best = ["sgd", "adam"].iter().filter_map(|o| get(o)).map(|s| s.final_test_acc).reduce(f64::max)?;
    Some(100.0 * (r.final_test_acc - best))
}

/// Whether RNGD's advantage is larger with batch norm ("especially with BN").
pub fn bn_sentence(summaries: &[Summary]) -> Option<String> {
    let (p, b) = (margin("plain", summaries)?, margin("bna", summaries)?);
    let larger = b > p;
    Some(format!(
        "**With vs without BN**: RNGD's margin over the better of SGD and Adam is {b:+.2} points on BNA and {p:+.2} on PLAIN, \
         so its advantage {} with batch norm{}.",
        if larger { "is larger" } else { "is not larger" },
        if larger { ", as the paper reports" } else { ", unlike the paper's \"especially with BN\"" }
    ))
}

// ---------------------------------------------------------------- table

fn fmt_lr(lr: f64) -> String {
    format!("{lr}")
}

fn fmt_seeds(seeds: &[u64]) -> String {
    seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}

fn describe_net(runs: &[Run]) -> String {
    let set =
        |f: &dyn Fn(&Run) -> String| runs.iter().map(f).collect::<BTreeSet<String>>().into_iter().collect::<Vec<_>>();
    let hidden = set(&|r| r.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join("-"));
    let act = set(&|r| r.activation.clone().unwrap_or_else(|| "?".into()));
    let batch = set(&|r| r.batch.map(|b| b.to_string()).unwrap_or_else(|| "?".into()));
    format!("hidden layers {}, {} activations, batch {}", hidden.join(" / "), act.join(" / "), batch.join(" / "))
}

pub struct TableInputs<'a> {
    pub runs: &'a [Run],
    pub selection: &'a Selection,
    pub summaries: &'a [Summary],
    pub data_label: &'a str,
    pub command: &'a str,
}

pub fn render_table(t: &TableInputs) -> String {
    let mut md = String::new();
    let all_seeds: BTreeSet<u64> = t.summaries.iter().flat_map(|s| s.seeds.iter().copied()).collect();
    let epochs: BTreeSet<u32> = t.summaries.iter().flat_map(|s| [s.epochs.0, s.epochs.1]).collect();
    let epochs = epochs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("–");
    let _ = writeln!(md, "### SGD, Adam and RNGD on MNIST (Sun & Nielsen, ICML 2017, §5.1 and Fig. 2)\n");
    let _ = writeln!(
        md,
        "Data: {}. Network: {}. {} epochs, seeds {}. Numbers are means over seeds at the final epoch; ± is the sample standard \
         deviation (n − 1) over seeds. Test accuracy is on the test split, which plays no part in choosing anything.\n",
        t.data_label,
        describe_net(t.runs),
        epochs,
        fmt_seeds(&all_seeds.into_iter().collect::<Vec<_>>())
    );
    let early: BTreeSet<u32> = t.summaries.iter().map(|s| s.early_epoch).collect();
    let one_early = (early.len() == 1).then(|| *early.first().expect("one element"));
    let early_header = match one_early {
        Some(k) => format!("train loss at epoch {k}"),
        None => "train loss a tenth of the way".into(),
    };
    let _ = writeln!(
        md,
        "| arch | optimizer | selected lr | seeds | {early_header} | final train loss | final test accuracy | best-epoch test accuracy | s/epoch | notes |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in t.summaries {
        let std = s.final_test_acc_std.map(|v| format!(" ± {:.2}", 100.0 * v)).unwrap_or_default();
        let mut notes = Vec::new();
        if !s.diverged_seeds.is_empty() {
            notes.push(format!("diverged: seed {}", fmt_seeds(&s.diverged_seeds)));
        }
        if s.inverse_fallbacks > 0 {
            notes.push(format!("{} inverse fallbacks", s.inverse_fallbacks));
        }
        if let Some(grid) = t.selection.grid.get(&s.key) {
            let (first, last) = (grid.first().map(|g| g.lr), grid.last().map(|g| g.lr));
            if grid.len() > 1 && (first == Some(s.lr) || last == Some(s.lr)) {
                notes.push("selected lr is at the edge of the grid".into());
            }
            let chosen_v = grid.iter().find(|g| g.lr == s.lr).map(|g| g.outcome.clone());
            let tied: Vec<String> = grid
                .iter()
                .filter(|g| g.lr != s.lr && Some(&g.outcome) == chosen_v.as_ref())
                .map(|g| fmt_lr(g.lr))
                .collect();
            if !tied.is_empty() {
                notes.push(format!("validation tie with lr {} (smaller kept)", tied.join(", ")));
            }
        }
        if s.epochs.0 != s.epochs.1 {
            notes.push(format!("epochs {}–{}", s.epochs.0, s.epochs.1));
        }
        if s.seeds.is_empty() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | 0 | – | – | – | – | – | {} |",
                arch_label(&s.key.arch),
                opt_label(&s.key.optimizer),
                fmt_lr(s.lr),
                notes.join("; ")
            );
            continue;
        }
        let early_cell = match (s.early_train_loss, one_early) {
            (Some(v), Some(_)) => format!("{v:.4}"),
            (Some(v), None) => format!("{v:.4} (epoch {})", s.early_epoch),
            (None, _) => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {early_cell} | {:.4} | {:.2}{std} % | {:.2} % | {:.2} | {} |",
            arch_label(&s.key.arch),
            opt_label(&s.key.optimizer),
            fmt_lr(s.lr),
            s.seeds.len(),
            s.final_train_loss,
            100.0 * s.final_test_acc,
            100.0 * s.best_test_acc,
            s.seconds_per_epoch,
            notes.join("; ")
        );
    }
    let _ = writeln!(
        md,
        "\ns/epoch is wall time per epoch including evaluation, on whatever machine ran the records (runs may have shared its cores).\n"
    );
    let archs: BTreeSet<(u8, String)> = t.summaries.iter().map(|s| (s.key.arch_rank, s.key.arch.clone())).collect();
    for (_, a) in &archs {
        let _ = writeln!(md, "- {}", verdict(a, t.summaries));
    }
    if let Some(b) = bn_sentence(t.summaries) {
        let _ = writeln!(md, "- {b}");
    }
    let _ = writeln!(
        md,
        "\nThe paper: \"RNGD presents a sharper learning curve and better generalization, especially when it is combined with BN.\"\n"
    );
    let _ = writeln!(md, "**Learning-rate selection.** For each architecture and optimizer the selected learning rate is the one whose seed-1 run \
        has the highest validation accuracy (held-out training digits) averaged over its last {SELECTION_WINDOW} epochs; runs that diverged are excluded, and a tie goes to \
        the smaller rate. The other seeds then run at the selected rate only.\n");
    let _ =
        writeln!(md, "| arch | optimizer | seed-1 validation accuracy, mean of the last {SELECTION_WINDOW} epochs, per learning rate (selected in bold) |");
    let _ = writeln!(md, "|---|---|---|");
    for (key, grid) in &t.selection.grid {
        let chosen = t.selection.chosen.get(key);
        let cells: Vec<String> = grid
            .iter()
            .map(|g| {
                let v = match g.outcome {
                    GridOutcome::Validation(v) => pct(v),
                    GridOutcome::Diverged => "diverged".into(),
                    GridOutcome::NoValidation => "no validation split".into(),
                };
                if chosen == Some(&g.lr) {
                    format!("**{}: {v}**", fmt_lr(g.lr))
                } else {
                    format!("{}: {v}", fmt_lr(g.lr))
                }
            })
            .collect();
        let _ = writeln!(md, "| {} | {} | {} |", arch_label(&key.arch), opt_label(&key.optimizer), cells.join(" · "));
    }
    let _ = writeln!(md, "\nRegenerate this table and the figure with `{}`.", t.command);
    md
}

// ---------------------------------------------------------------- figure

fn colour(optimizer: &str) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    match optimizer {
        "sgd" => RGBColor(31, 119, 180),
        "adam" => RGBColor(255, 127, 14),
        "rngd" => RGBColor(44, 160, 44),
        _ => RGBColor(110, 110, 110),
    }
}

/// A tick label with two significant digits, trailing zeros trimmed.
fn tick(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (1 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Round tick values for a log axis over `[lo, hi]`: the coarsest of the
/// mantissa sets 1, 1-2-5, 1-2-3-5-7, 1..9 and 1..9.5 in halves that gives at
/// least four ticks (or the finest, on a very narrow range).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    const HALVES: [f64; 18] =
        [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5];
    const SETS: [&[f64]; 5] =
        [&[1.0], &[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0, 5.0, 7.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &HALVES];
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut ticks = Vec::new();
    for set in SETS {
        ticks = (k0..=k1)
            .flat_map(|k| set.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|&v| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
            .collect();
        if ticks.len() >= 4 {
            break;
        }
    }
    ticks
}

/// Epoch ticks from 0 to `max` with a round step, at most about ten of them.
pub fn epoch_ticks(max: u32) -> Vec<f64> {
    let step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
        .into_iter()
        .find(|s| max / s <= 10)
        .unwrap_or(max.div_ceil(10).max(1));
    (0..=max / step).map(|i| (i * step) as f64).collect()
}

/// An axis (linear or log) whose grid lines and labels sit exactly at `ticks`.
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: plotters::coord::ranged1d::Ranged<ValueType = f64>> plotters::coord::ranged1d::Ranged for Ticked<R> {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold lines and labels at the ticks; no light lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// A log-scale range around every band of `series`, padded a little.
fn log_range(series: &[&[Band]]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for bands in series {
        for b in bands.iter() {
            if b.min > 0.0 {
                lo = lo.min(b.min);
            }
            hi = hi.max(b.max);
        }
    }
    if !lo.is_finite() || !hi.is_finite() || hi <= 0.0 {
        return (0.01, 1.0);
    }
    if hi / lo < 1.5 {
        (lo / 1.25, hi * 1.25)
    } else {
        (lo / 1.08, hi * 1.08)
    }
}

pub fn draw_figure(path: &Path, summaries: &[Summary], data_label: &str) -> Result<(), String> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    let err = |e: &dyn std::fmt::Display| format!("could not draw {}: {e}", path.display());
    let plotted: Vec<&Summary> = summaries.iter().filter(|s| !s.seeds.is_empty()).collect();
    if plotted.is_empty() {
        return Err("nothing to plot: no completed runs at a selected learning rate".into());
    }
    let archs: Vec<String> = {
        let set: BTreeSet<(u8, String)> = plotted.iter().map(|s| (s.key.arch_rank, s.key.arch.clone())).collect();
        set.into_iter().map(|(_, a)| a).collect()
    };
    let seeds: BTreeSet<u64> = plotted.iter().flat_map(|s| s.seeds.iter().copied()).collect();
    let max_epoch = plotted.iter().map(|s| s.epochs.1).max().unwrap_or(1).max(1);
    let x_ticks = epoch_ticks(max_epoch);

    let (w, row_h, head_h) = (1500u32, 500u32, 130u32);
    let root = SVGBackend::new(path, (w, head_h + row_h * archs.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (head, body) = root.split_vertically(head_h);
    let centre = Pos::new(HPos::Center, VPos::Center);
    let title = "Learning curves of SGD, Adam and RNGD on an MLP (after Sun & Nielsen, ICML 2017, Fig. 2)";
    head.draw(&Text::new(
        title,
        (w as i32 / 2, 34),
        ("sans-serif", 34).into_font().style(FontStyle::Bold).color(&BLACK).pos(centre),
    ))
    .map_err(|e| err(&e))?;
    let sub = [
        format!("{data_label}; seeds {}.", fmt_seeds(&seeds.into_iter().collect::<Vec<_>>())),
        "Lines: mean over seeds; bands: min–max over seeds. Each learning rate was chosen on seed-1 validation accuracy.".into(),
    ];
    for (i, line) in sub.into_iter().enumerate() {
        head.draw(&Text::new(
            line,
            (w as i32 / 2, 76 + 30 * i as i32),
            ("sans-serif", 24).into_font().color(&RGBColor(60, 60, 60)).pos(centre),
        ))
        .map_err(|e| err(&e))?;
    }

    let panels = body.split_evenly((archs.len(), 2));
    for (row, arch) in archs.iter().enumerate() {
        let in_row: Vec<&Summary> = plotted.iter().copied().filter(|s| &s.key.arch == arch).collect();
        for col in 0..2 {
            let area = &panels[row * 2 + col];
            let pick = |s: &Summary| -> Vec<Band> {
                if col == 0 {
                    s.train_loss.clone()
                } else {
                    s.test_error.clone()
                }
            };
            let data: Vec<Vec<Band>> = in_row.iter().map(|s| pick(s)).collect();
            let refs: Vec<&[Band]> = data.iter().map(|d| d.as_slice()).collect();
            let (lo, hi) = log_range(&refs);
            let y_ticks = log_ticks(lo, hi);
            let (caption, ydesc) = if col == 0 {
                (format!("{}: training loss", arch_label(arch)), "training loss (log scale)")
            } else {
                (format!("{}: test error", arch_label(arch)), "test error, % (log scale)")
            };
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 28).into_font().style(FontStyle::Bold))
                .margin_left(20)
                .margin_right(30)
                .margin_top(10)
                .margin_bottom(10)
                .x_label_area_size(60)
                .y_label_area_size(90)
                .build_cartesian_2d(
                    Ticked {
                        inner: plotters::coord::types::RangedCoordf64::from(0.0..max_epoch as f64),
                        ticks: x_ticks.clone(),
                    },
                    Ticked { inner: LogCoord::from((lo..hi).log_scale()), ticks: y_ticks },
                )
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(ydesc)
                .axis_desc_style(("sans-serif", 22))
                .label_style(("sans-serif", 20))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| tick(*v))
                .bold_line_style(RGBColor(225, 225, 225))
                .axis_style(RGBColor(90, 90, 90))
                .draw()
                .map_err(|e| err(&e))?;
            for (s, bands) in in_row.iter().zip(&data) {
                let c = colour(&s.key.optimizer);
                let mut outline: Vec<(f64, f64)> = bands.iter().map(|b| (b.epoch as f64, b.max)).collect();
                outline.extend(bands.iter().rev().map(|b| (b.epoch as f64, b.min.max(lo))));
                if s.seeds.len() > 1 {
                    chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18)))).map_err(|e| err(&e))?;
                }
            }
            for (s, bands) in in_row.iter().zip(&data) {
                let c = colour(&s.key.optimizer);
                let label = format!(
                    "{}, lr {} ({} seed{})",
                    opt_label(&s.key.optimizer),
                    fmt_lr(s.lr),
                    s.seeds.len(),
                    if s.seeds.len() == 1 { "" } else { "s" }
                );
                chart
                    .draw_series(LineSeries::new(bands.iter().map(|b| (b.epoch as f64, b.mean)), c.stroke_width(3)))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], c.stroke_width(4)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .margin(12)
                .legend_area_size(36)
                .label_font(("sans-serif", 20))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

// ---------------------------------------------------------------- command

fn command_line(a: &ReportArgs) -> String {
    let mut c = format!("target/release/rngd-lab report --runs {}", a.runs.display());
    if let Some(s) = &a.selection {
        let _ = write!(c, " --selection {}", s.display());
    }
    if let Some(f) = &a.figure {
        let _ = write!(c, " --figure {}", f.display());
    }
    if let Some(t) = &a.table {
        let _ = write!(c, " --table {}", t.display());
    }
    if a.data_label != DEFAULT_DATA {
        let _ = write!(c, " --data-label '{}'", a.data_label.replace('\'', "'\\''"));
    }
    c
}

pub fn report(args: ReportArgs) -> Result<(), String> {
    if args.figure.is_none() && args.table.is_none() && !args.print_selection {
        return Err("nothing to do: give --figure, --table or --print-selection".into());
    }
    let runs = load_runs(&args.runs)?;
    let selection_runs = match &args.selection {
        Some(dir) => load_runs(dir)?,
        None => runs.clone(),
    };
    let selection = select(&selection_runs);
    if selection.grid.is_empty() {
        return Err("no seed-1 runs to choose learning rates from".into());
    }
    for (key, grid) in &selection.grid {
        if !selection.chosen.contains_key(key) {
            eprintln!(
                "warning: {} {}: none of its {} seed-1 runs completed with a validation accuracy; no learning rate selected",
                key.arch,
                key.optimizer,
                grid.len()
            );
        }
    }
    if args.print_selection {
        for (key, lr) in &selection.chosen {
            println!("{} {} {}", key.arch, key.optimizer, fmt_lr(*lr));
        }
    }
    let summaries = summarise(&runs, &selection.chosen);
    if let Some(path) = &args.figure {
        draw_figure(path, &summaries, &args.data_label)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.table {
        let command = command_line(&args);
        let md = render_table(&TableInputs {
            runs: &runs,
            selection: &selection,
            summaries: &summaries,
            data_label: &args.data_label,
            command: &command,
        });
        std::fs::write(path, md).map_err(|e| format!("could not write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose test accuracy and validation accuracy stay at `acc`, and whose
    /// training loss falls as `loss / epoch`.
    fn run(arch: &str, opt: &str, lr: f64, seed: u64, acc: f64, loss: f64, epochs: u32) -> Run {
        Run {
            source: format!("{arch}-{opt}-{lr}-{seed}.json"),
            arch: arch.into(),
            optimizer: opt.into(),
            lr,
            seed,
            epochs: (1..=epochs)
                .map(|e| Epoch {
                    epoch: e,
                    train_loss: loss / e as f64,
                    test_loss: 0.1,
                    test_accuracy: acc,
                    validation_accuracy: Some(acc),
                    seconds: 0.5 * e as f64,
                })
                .collect(),
            diverged: None,
            inverse_fallbacks: None,
            hidden: vec![80, 80, 80],
            activation: Some("relu".into()),
            batch: Some(50),
        }
    }

    fn diverged(mut r: Run) -> Run {
        r.diverged = Some("loss is not finite".into());
        r
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn mean_and_sample_std() {
        assert!(close(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5));
        assert!(close(std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(), (32.0f64 / 7.0).sqrt()));
        assert_eq!(std_dev(&[3.0]), None);
        assert_eq!(std_dev(&[]), None);
    }

    #[test]
    fn selection_takes_best_seed1_validation_and_skips_diverged() {
        let runs = vec![
            run("plain", "sgd", 0.01, 1, 0.90, 1.0, 3),
            run("plain", "sgd", 0.1, 1, 0.95, 1.0, 3),
            diverged(run("plain", "sgd", 0.3, 1, 0.99, 1.0, 3)),
            // Other seeds never choose, however good.
            run("plain", "sgd", 0.03, 2, 0.999, 1.0, 3),
            run("plain", "rngd", 0.03, 1, 0.96, 1.0, 3),
            run("plain", "rngd", 0.01, 1, 0.96, 1.0, 3),
            run("bna", "sgd", 0.3, 1, 0.97, 1.0, 3),
            diverged(run("bna", "adam", 0.003, 1, 0.97, 1.0, 3)),
        ];
        let sel = select(&runs);
        assert_eq!(sel.chosen.get(&Key::new("plain", "sgd")), Some(&0.1));
        // A tie goes to the smaller lr.
        assert_eq!(sel.chosen.get(&Key::new("plain", "rngd")), Some(&0.01));
        assert_eq!(sel.chosen.get(&Key::new("bna", "sgd")), Some(&0.3));
        assert_eq!(sel.chosen.get(&Key::new("bna", "adam")), None);
        let grid = &sel.grid[&Key::new("plain", "sgd")];
        assert_eq!(grid.iter().map(|g| g.lr).collect::<Vec<_>>(), vec![0.01, 0.1, 0.3]);
        assert_eq!(grid[2].outcome, GridOutcome::Diverged);
        assert!(
            matches!(grid[1].outcome, GridOutcome::Validation(v) if (v - 0.95).abs() < 1e-12),
            "{:?}",
            grid[1].outcome
        );
        // PLAIN before BNA, SGD before Adam before RNGD.
        let order: Vec<(String, String)> = sel.grid.keys().map(|k| (k.arch.clone(), k.optimizer.clone())).collect();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(order, vec![s("plain", "sgd"), s("plain", "rngd"), s("bna", "sgd"), s("bna", "adam")]);
    }

    #[test]
    fn selection_uses_the_last_epochs_not_the_best() {
        let mut early = run("plain", "adam", 0.003, 1, 0.90, 1.0, 3);
        early.epochs[0].validation_accuracy = Some(0.99);
        let steady = run("plain", "adam", 0.001, 1, 0.95, 1.0, 3);
        let sel = select(&[early, steady]);
        assert_eq!(sel.chosen[&Key::new("plain", "adam")], 0.001);
    }

    #[test]
    fn summary_aggregates_the_selected_lr_over_seeds() {
        let mut runs = vec![
            run("plain", "rngd", 0.03, 1, 0.96, 1.0, 4),
            run("plain", "rngd", 0.03, 2, 0.97, 2.0, 4),
            run("plain", "rngd", 0.03, 3, 0.98, 3.0, 4),
            diverged(run("plain", "rngd", 0.03, 4, 0.5, 1.0, 2)),
            // Not the selected lr: ignored.
            run("plain", "rngd", 0.1, 1, 0.10, 9.0, 4),
        ];
        runs[0].epochs[1].test_accuracy = 0.99;
        runs[2].inverse_fallbacks = Some(2);
        let chosen = BTreeMap::from([(Key::new("plain", "rngd"), 0.03)]);
        let s = &summarise(&runs, &chosen)[0];
        assert_eq!(s.seeds, vec![1, 2, 3]);
        assert_eq!(s.diverged_seeds, vec![4]);
        assert_eq!(s.epochs, (4, 4));
        assert!(close(s.final_test_acc, 0.97));
        assert!(close(s.final_test_acc_std.unwrap(), 0.01));
        assert!(close(s.final_train_loss, (1.0 + 2.0 + 3.0) / 3.0 / 4.0));
        assert!(close(s.best_test_acc, (0.99 + 0.97 + 0.98) / 3.0));
        assert!(close(s.seconds_per_epoch, 0.5));
        // A tenth of 4 epochs rounds down to the first: losses 1, 2, 3 there.
        assert_eq!(s.early_epoch, 1);
        assert!(close(s.early_train_loss.unwrap(), 2.0));
        assert_eq!((early_epoch(100), early_epoch(25), early_epoch(3)), (10, 2, 1));
        assert_eq!(s.inverse_fallbacks, 2);
        assert_eq!(s.train_loss.len(), 4);
        let b = &s.train_loss[1];
        assert_eq!(b.epoch, 2);
        assert!(close(b.mean, 1.0) && close(b.min, 0.5) && close(b.max, 1.5));
        let e = &s.test_error[1];
        assert!(close(e.min, 1.0) && close(e.max, 3.0) && close(e.mean, 2.0));
    }

    fn three(arch: &str, rngd_acc: f64, rngd_loss: f64) -> Vec<Summary> {
        let mut runs = Vec::new();
        for seed in 1..=3 {
            let jitter = 0.001 * seed as f64;
            runs.push(run(arch, "sgd", 0.1, seed, 0.95 + jitter, 0.2, 1));
            runs.push(run(arch, "adam", 0.001, seed, 0.96 + jitter, 0.1, 1));
            runs.push(run(arch, "rngd", 0.03, seed, rngd_acc + jitter, rngd_loss, 1));
        }
        summarise(&runs, &select(&runs).chosen)
    }

    #[test]
    fn verdict_is_computed_from_the_numbers() {
        let win = verdict("plain", &three("plain", 0.97, 0.05));
        assert!(win.starts_with("**PLAIN**"), "{win}");
        assert!(win.contains("97.20%"), "{win}");
        assert!(
            win.contains("beats SGD's (95.20%) by 2.00 points, more than the larger seed standard deviation (0.10)"),
            "{win}"
        );
        assert!(win.contains("beats Adam's (96.20%) by 1.00 points"), "{win}");
        assert!(
            win.contains(
                "Its final training loss, 0.0500, is lower than SGD's (0.2000) and lower than Adam's (0.1000)"
            ),
            "{win}"
        );
        assert!(win.contains("At epoch 1 its training loss, 0.0500, is lower than SGD's"), "{win}");
        assert!(
            win.contains(
                "against SGD and Adam, the paper's claim of better generalization holds, a sharper learning curve \
                 (lower training loss at epoch 1) holds, and a lower final training loss holds."
            ),
            "{win}"
        );

        let mixed = verdict("bna", &three("bna", 0.955, 0.15));
        assert!(mixed.starts_with("**BNA**"), "{mixed}");
        assert!(mixed.contains("beats SGD's (95.20%) by 0.50 points"), "{mixed}");
        assert!(mixed.contains("falls short of Adam's (96.20%) by 0.50 points"), "{mixed}");
        assert!(mixed.contains("lower than SGD's (0.2000) and not lower than Adam's (0.1000)"), "{mixed}");
        assert!(mixed.contains("better generalization does not hold, a sharper learning curve"), "{mixed}");
        assert!(mixed.contains("does not hold, and a lower final training loss does not hold."), "{mixed}");

        let tiny = verdict("plain", &three("plain", 0.9605, 0.05));
        assert!(tiny.contains("by 0.05 points, within the larger seed standard deviation (0.10)"), "{tiny}");
        assert!(
            tiny.contains("better generalization holds on the means but not beyond the seed-to-seed spread,"),
            "{tiny}"
        );

        let none = verdict(
            "plain",
            &three("plain", 0.97, 0.05).into_iter().filter(|s| s.key.optimizer != "rngd").collect::<Vec<_>>(),
        );
        assert!(none.contains("no verdict"), "{none}");
    }

    #[test]
    fn bn_sentence_compares_margins() {
        let mut both = three("plain", 0.965, 0.05);
        both.extend(three("bna", 0.98, 0.05));
        let s = bn_sentence(&both).unwrap();
        assert!(s.contains("+2.00 points on BNA and +0.50 on PLAIN"), "{s}");
        assert!(s.contains("is larger with batch norm, as the paper reports"), "{s}");
        let mut flipped = three("plain", 0.98, 0.05);
        flipped.extend(three("bna", 0.955, 0.05));
        let s = bn_sentence(&flipped).unwrap();
        assert!(s.contains("-0.50 points on BNA and +2.00 on PLAIN"), "{s}");
        assert!(s.contains("is not larger"), "{s}");
        assert_eq!(bn_sentence(&three("plain", 0.97, 0.05)), None);
    }

    const TRAIN: &str = r#"{"optimizer":"rngd","config":{"optimizer":"rngd","arch":"bna","activation":"relu","hidden":[80,80,80],
        "lr":0.03,"batch":50,"seed":1,"l2":0.001},"epochs":[{"epoch":1,"train_loss":0.5,"test_loss":0.4,"test_accuracy":0.9,
        "validation_accuracy":0.91,"seconds":0.8}],"inverse_fallbacks":0}"#;

    #[test]
    fn train_records_and_compare_lists_parse_alike() {
        let one = parse_records(TRAIN, "a.json").unwrap();
        let list =
            parse_records(&format!("[{TRAIN}, {}]", TRAIN.replace("\"seed\":1", "\"seed\":2")), "b.json").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(list.len(), 2);
        assert_eq!((one[0].arch.as_str(), one[0].optimizer.as_str(), one[0].lr, one[0].seed), ("bna", "rngd", 0.03, 1));
        assert_eq!(list[0].epochs, one[0].epochs);
        assert_eq!(list[1].seed, 2);
        assert_eq!(one[0].epochs[0].validation_accuracy, Some(0.91));
        // serde_json writes NaN as null.
        let nan = parse_records(&TRAIN.replace("\"test_loss\":0.4", "\"test_loss\":null"), "c.json").unwrap();
        assert!(nan[0].epochs[0].test_loss.is_nan());
    }

    #[test]
    fn bad_records_name_the_file() {
        let e = parse_records("{\"optimizer\": ", "runs/broken.json").unwrap_err();
        assert!(e.starts_with("runs/broken.json: not valid JSON"), "{e}");
        let e = parse_records(r#"[{"optimizer": "sgd"}]"#, "runs/odd.json").unwrap_err();
        assert!(e.contains("runs/odd.json: record 1 is not a run record") && e.contains("config"), "{e}");
        let e = parse_records(&TRAIN.replace("\"lr\":0.03,", ""), "runs/nolr.json").unwrap_err();
        assert!(e.contains("runs/nolr.json: record 1 has no config.lr"), "{e}");
    }

    #[test]
    fn loading_a_folder_reports_empty_and_broken_files() {
        let dir = std::env::temp_dir().join(format!("rngd-report-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let e = load_runs(&dir).unwrap_err();
        assert!(e.contains("no run records"), "{e}");
        std::fs::write(dir.join("sub/a.json"), TRAIN).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a record").unwrap();
        // A duplicate (same arch, optimizer, lr, seed) is kept once.
        std::fs::write(dir.join("z.json"), format!("[{TRAIN}]")).unwrap();
        assert_eq!(load_runs(&dir).unwrap().len(), 1);
        std::fs::write(dir.join("b.json"), "[1, 2").unwrap();
        let e = load_runs(&dir).unwrap_err();
        assert!(e.contains("b.json") && e.contains("not valid JSON"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn table_states_the_rule_the_grid_and_the_command() {
        let mut runs = Vec::new();
        for seed in 1..=2 {
            runs.push(run("plain", "sgd", 0.1, seed, 0.95, 0.2, 2));
            runs.push(run("plain", "rngd", 0.03, seed, 0.97, 0.05, 2));
        }
        runs.push(run("plain", "sgd", 0.01, 1, 0.93, 0.2, 2));
        runs.push(run("plain", "sgd", 0.3, 1, 0.95, 0.2, 2));
        runs.push(diverged(run("plain", "rngd", 0.3, 1, 0.5, 0.2, 1)));
        let selection = select(&runs);
        let summaries = summarise(&runs, &selection.chosen);
        let md = render_table(&TableInputs {
            runs: &runs,
            selection: &selection,
            summaries: &summaries,
            data_label: "test data",
            command: "rngd-lab report --runs r --table t.md",
        });
        assert!(md.contains("| train loss at epoch 1 | final train loss |"), "{md}");
        assert!(md.contains("| PLAIN | SGD | 0.1 | 2 | 0.2000 | 0.1000 | 95.00 ± 0.00 % |"), "{md}");
        assert!(md.contains("| PLAIN | RNGD | 0.03 | 2 | 0.0500 | 0.0250 | 97.00 ± 0.00 % |"), "{md}");
        assert!(md.contains("selected lr is at the edge of the grid"), "{md}");
        assert!(md.contains("| PLAIN | SGD | 0.01: 93.00% · **0.1: 95.00%** · 0.3: 95.00% |"), "{md}");
        assert!(md.contains("validation tie with lr 0.3 (smaller kept) |"), "{md}");
        assert!(md.contains("| PLAIN | RNGD | **0.03: 97.00%** · 0.3: diverged |"), "{md}");
        assert!(md.contains("highest validation accuracy"), "{md}");
        assert!(md.contains("`rngd-lab report --runs r --table t.md`"), "{md}");
        assert!(md.contains("beats SGD's (95.00%) by 2.00 points"), "{md}");
        assert!(md.contains("hidden layers 80-80-80, relu activations, batch 50"), "{md}");
    }

    #[test]
    fn axis_ticks_are_round_and_in_range() {
        let labels = |v: Vec<f64>| v.into_iter().map(tick).collect::<Vec<_>>().join(" ");
        assert_eq!(labels(log_ticks(0.05, 2.0)), "0.05 0.1 0.2 0.5 1 2");
        assert_eq!(labels(log_ticks(0.9, 200.0)), "1 2 5 10 20 50 100 200");
        assert_eq!(labels(log_ticks(1e-3, 20.0)), "0.001 0.01 0.1 1 10");
        assert_eq!(labels(log_ticks(1.6, 4.9)), "2 2.5 3 3.5 4 4.5");
        assert_eq!(labels(log_ticks(2.1, 3.9)), "2.5 3 3.5");
        assert_eq!(log_ticks(0.0, 1.0), Vec::<f64>::new());
        assert_eq!(epoch_ticks(2), vec![0.0, 1.0, 2.0]);
        assert_eq!(epoch_ticks(100), vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]);
        assert_eq!(epoch_ticks(30), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
    }

    #[test]
    fn ticks_have_two_significant_digits() {
        assert_eq!(tick(0.03), "0.03");
        assert_eq!(tick(0.0312), "0.031");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(2.54), "2.5");
        assert_eq!(tick(40.0), "40");
    }
}
