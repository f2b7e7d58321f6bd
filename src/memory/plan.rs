//! What a trainer holds on the host, computed from the config alone.
//!
//! Each part mirrors an allocation of the CPU path (`train::Trainer::on_cpu`
//! and `one_step`, `model::mlp`, `optim`); the comments name the code they
//! follow. The data set is not counted: it is loaded (and its memory taken)
//! before a config is checked, and it is shared by every run that trains on it
//! through an `Arc`, so refusing a network cannot give any of it back.

use crate::config::TrainConfig;
use crate::data::{CLASSES, PIXELS};
use crate::model::Arch;
use crate::optim::{OptimizerKind, RngdConfig};

/// Rows per evaluation pass (`train::EVAL_CHUNK`).
const EVAL_ROWS: u128 = 500;
/// Training rows [`MemoryPlan::of`] sizes the batch order for: full MNIST.
/// The order (one `usize` per row) is held twice, by the trainer and by its
/// checkpoint: under 1 MiB, so a fixed allowance rather than a parameter.
pub const ORDER_ROWS: usize = 60_000;
const F32: u128 = 4;
const F64: u128 = 8;

/// One named share of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub what: String,
    pub bytes: u64,
}

impl Part {
    pub(crate) fn new(what: impl Into<String>, bytes: u128) -> Part {
        Part { what: what.into(), bytes: u64::try_from(bytes).unwrap_or(u64::MAX) }
    }
}

/// The host memory a trainer will hold at its peak, in named parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPlan {
    pub parts: Vec<Part>,
}

/// Entries in the packed upper triangle of a d×d matrix.
fn packed(d: u128) -> u128 {
    d * (d + 1) / 2
}

impl MemoryPlan {
    /// The plan of the run `config` describes, on the CPU backend (the GPU
    /// backend holds the same host state as its starting point and checkpoint).
    pub fn of(config: &TrainConfig) -> MemoryPlan {
        MemoryPlan::with_rows(config, ORDER_ROWS)
    }

    /// [`MemoryPlan::of`] for a data set of `train_rows` training rows.
    pub fn with_rows(config: &TrainConfig, train_rows: usize) -> MemoryPlan {
        let sizes: Vec<u128> = config.sizes(PIXELS, CLASSES).into_iter().map(|s| s as u128).collect();
        let layers = sizes.len() - 1;
        let b = config.batch as u128;
        let hidden: u128 = sizes[1..layers].iter().sum();
        let bna = config.arch == Arch::Bna;
        // Mlp::new: (d_in+1) × d_out per layer; BNA adds a 1×w scale and shift per hidden layer.
        let weights: u128 = sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum();
        let params = weights + if bna { 2 * hidden } else { 0 };
        let mut parts = vec![Part::new("the weights", weights * F32)];
        if bna {
            // Scale and shift, and the running mean and variance.
            parts.push(Part::new("batch norm's parameters and running statistics", 4 * hidden * F32));
        }
        // LossGrad::grads: one array per parameter, alive through the optimizer's step.
        parts.push(Part::new("the gradients", params * F32));
        if config.momentum > 0.0 {
            parts.push(Part::new("the momentum", params * F32));
        }
        if config.optimizer == OptimizerKind::Adam {
            parts.push(Part::new("Adam's moments", 2 * params * F32));
        }
        // Forward: inputs[l] (batch × d_in) and pre[l] (batch × d_out) per layer,
        // plus x̂ and three statistics per hidden layer under BNA. The trainer
        // keeps the last step's (`last_forward`) while a step makes the next, and
        // the minibatch copy (`batch_x`), its labels and the softmax.
        let per_pass: u128 = sizes[..layers].iter().chain(&sizes[1..]).map(|&w| b * w).sum::<u128>()
            + if bna { b * hidden + 3 * hidden } else { 0 };
        let activations = 2 * per_pass * F32 + b * PIXELS as u128 * F32 + b + b * CLASSES as u128 * F32;
        parts.push(Part::new(format!("activations for a batch of {}", config.batch), activations));
        parts.push(Part::new("the batch order", 2 * train_rows as u128 * 8));

        let metric_updates = config.optimizer == OptimizerKind::Rngd || config.track_metric;
        if config.optimizer == OptimizerKind::Rngd {
            parts.extend(rngd_parts(&sizes, &config.rngd, "RNGD's"));
        } else if config.track_metric {
            // MetricTracker::new builds a whole Rngd (input_rank 0): every metric
            // comes with an identity inverse that the tracker never uses.
            for (l, (metric, inverse)) in metric_sizes(&sizes, 0).into_iter().enumerate() {
                parts.push(Part::new(format!("tracked metrics of layer {l}"), metric + inverse));
            }
        }
        parts.push(workspace(config, &sizes, metric_updates));
        MemoryPlan { parts }
    }

    /// Every part's bytes, added up (saturating).
    pub fn total(&self) -> u64 {
        self.parts.iter().fold(0u64, |t, p| t.saturating_add(p.bytes))
    }

    /// The largest part (the first of equals).
    pub fn largest(&self) -> Option<&Part> {
        self.parts.iter().rev().max_by_key(|p| p.bytes)
    }
}

/// Bytes of each layer's metric and of its stored inverse (`RngdConfig::init`):
/// per-neuron layers pack each neuron's D×D matrix as an upper triangle; shared
/// layers keep D×D, or for `rank` r < D a low-rank inverse: a D×r basis in f64
/// and in f32, and r eigenvalues (f64) and coefficients (f32).
fn metric_sizes(sizes: &[u128], rank: usize) -> Vec<(u128, u128)> {
    let layers = sizes.len() - 1;
    (0..layers)
        .map(|l| {
            let (d, m) = (sizes[l] + 1, sizes[l + 1]);
            if l > 0 && l + 1 < layers {
                (m * packed(d) * F32, m * packed(d) * F32)
            } else if rank > 0 && (rank as u128) < d {
                let r = rank as u128;
                (d * d * F32, d * r * (F64 + F32) + r * (F64 + F32))
            } else {
                (d * d * F32, d * d * F32)
            }
        })
        .collect()
}

fn rngd_parts(sizes: &[u128], rngd: &RngdConfig, who: &str) -> Vec<Part> {
    let layers = sizes.len() - 1;
    let mut parts = Vec::new();
    // Weight layers count from 0, the input layer, as everywhere in the crate (the page, the GPU's messages).
    for (l, (metric, inverse)) in metric_sizes(sizes, rngd.input_rank).into_iter().enumerate() {
        let d = sizes[l] + 1;
        if l > 0 && l + 1 < layers {
            parts.push(Part::new(format!("{who} per-neuron metrics of layer {l}"), metric));
            parts.push(Part::new(format!("{who} inverses of layer {l}"), inverse));
        } else {
            parts.push(Part::new(format!("{who} metric of layer {l}"), metric));
            let low = rngd.input_rank > 0 && (rngd.input_rank as u128) < d;
            let name = if low { "low-rank inverse" } else { "inverse" };
            parts.push(Part::new(format!("{who} {name} of layer {l}"), inverse));
        }
    }
    parts
}

/// The largest short-lived allocation on top of the held state: the step's
/// temporaries, RNGD's inverse refresh, or an evaluation chunk, whichever is
/// largest (they never overlap).
fn workspace(config: &TrainConfig, sizes: &[u128], metric_updates: bool) -> Part {
    let layers = sizes.len() - 1;
    let b = config.batch as u128;
    let rngd = config.optimizer == OptimizerKind::Rngd;
    let threads = crate::par::threads().max(1) as u128;
    let mut best = (0u128, String::new());
    let mut consider = |bytes: u128, what: String| {
        if bytes > best.0 {
            best = (bytes, what);
        }
    };
    for l in 0..layers {
        let (d_in, d_out) = (sizes[l], sizes[l + 1]);
        let (d, own) = (d_in + 1, l > 0 && l + 1 < layers);
        let layer = d * d_out;
        // Backward (Mlp::loss_and_grad): hᵀ·dZ beside the layer's new gradient, dZ and dH.
        let mut step = layer + b * (d_in + 2 * d_out);
        if metric_updates {
            // Metric updates: the augmented input, and per neuron the selectors
            // ν and the packed outer products (batch × D(D+1)/2, NeuronMetrics::update);
            // a shared metric's update multiplies at most D×D.
            step = step.max(b * d + if own { b * d_out + b * packed(d) } else { d * d });
        }
        if rngd {
            // Preconditioning makes the gradient's transpose, the result and its transpose back.
            step = step.max(3 * layer);
        }
        consider(step * F32, format!("a step's temporaries at layer {l}"));
        if rngd {
            // The refresh (linalg::spd_inverse): the unpacked f32 metric, faer's
            // f64 copy, its Cholesky factor, the inverse and faer's scratch space
            // for it (f64), and the f32 result: 40·D² bytes, one matrix per thread
            // for per-neuron metrics. A shared metric also makes its f32 copy
            // (44·D²); a low-rank one decomposes a f64 copy fully at its first
            // refresh instead (faer's copy, eigenvectors and scratch, and their
            // ndarray copy: 56·D²). The factors are those tests/memory_plan.rs measures.
            let per = 40 * d * d;
            let low_rank = config.rngd.input_rank > 0 && (config.rngd.input_rank as u128) < d;
            let bytes = if own {
                per * threads.min(d_out)
            } else if low_rank {
                56 * d * d
            } else {
                44 * d * d
            };
            consider(bytes, format!("inverting RNGD's metrics of layer {l} (f64 workspace)"));
        }
        // Evaluation (Mlp::logits) on EVAL_CHUNK rows: the input, z and the activation.
        consider(EVAL_ROWS * (d_in + 2 * d_out) * F32, format!("evaluating {EVAL_ROWS} rows at a time"));
    }
    Part::new(best.1, best.0)
}
