//! Relative Natural Gradient Descent (Sun & Nielsen, ICML 2017, §5.1), as a
//! preconditioner. RNGD.md is the specification this follows:
//!
//! 1. every hidden layer whose input is itself hidden keeps one metric per
//!    neuron, weighted by the selector ν_f of that layer's activation; the input
//!    layer and the softmax layer each share one linear-layer metric;
//! 2. every metric starts at the identity and follows an EMA with rate λ;
//! 3. every T steps the stored inverse is refreshed as `(G + εI)⁻¹` with
//!    `ε = ε_rel·tr(G) + ε_abs`; a failed inverse keeps the previous one and is counted;
//! 4. each neuron's gradient (bias included) is multiplied by its stored inverse;
//! 5. batch-norm parameters pass through untouched, i.e. plain SGD.
//!
//! Options that trade exactness for speed, each off by default and measured by
//! the benchmark: metric updates every k steps with the matching rate
//! `1 − (1−λ)^k`, and a rank-r eigen-decomposed inverse for large shared metrics.

mod metric;
mod preset;

use ndarray::{Array2, ArrayD};
use serde::{Deserialize, Serialize};

pub use metric::{LayerMetric, NeuronMetrics, SharedMetric};
pub use preset::RngdPreset;

use super::StepContext;
use crate::clock::{Stopwatch, Timings};
use crate::config::{check, ConfigError, Num};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RngdConfig {
    /// EMA rate λ of the metrics (the authors' code: decay 0.995).
    pub lambda: f64,
    /// T: steps between inverse refreshes.
    pub refresh: u32,
    /// Damping relative to the metric's trace.
    pub eps_rel: f64,
    /// Absolute damping added to the relative one.
    pub eps_abs: f64,
    /// Smoothing width ω of the (P)ReLU selector.
    pub omega: f64,
    /// Update the metrics every k steps (rate `1 − (1−λ)^k`); 1 is the paper's algorithm.
    pub metric_every: u32,
    /// 0: exact inverses. r > 0: shared metrics wider than r use their top-r
    /// eigenpairs plus an isotropic tail (the mean of the other eigenvalues).
    pub input_rank: usize,
}

impl Default for RngdConfig {
    fn default() -> Self {
        RngdConfig {
            lambda: 0.005,
            refresh: 100,
            eps_rel: 1e-4,
            eps_abs: 0.0,
            omega: 1.0,
            metric_every: 1,
            input_rank: 0,
        }
    }
}

/// The longest interval T between inverse refreshes: a million steps is
/// hundreds of epochs of the bundled subset, past which the inverse never changes.
pub const MAX_REFRESH: u32 = 1_000_000;
/// The longest interval k between metric updates; beyond it the EMA rate
/// `1 − (1−λ)^k` is 1 for every λ the paper considers.
pub const MAX_METRIC_EVERY: u32 = 10_000;
/// ε_rel·tr(G) with ε_rel = 1 already exceeds every eigenvalue of G: more damping ignores the metric.
/// (Lesson (d) goes far past this on purpose, to show RNGD's step turning into
/// the gradient's; it builds its optimizer without a trainer's validation.)
pub const MAX_EPS_REL: f64 = 1.0;
/// Absolute damping beyond this divides the step by more than 1000: SGD with a vanishing rate.
pub const MAX_EPS_ABS: f64 = 1000.0;
/// The (P)ReLU selector's smoothing width; ν is flat at ½ long before ω = 100.
pub const MAX_OMEGA: f64 = 100.0;

impl RngdConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(self.lambda.is_finite() && self.lambda > 0.0 && self.lambda <= 1.0, "rngd.lambda", || {
            format!("rngd lambda must be in (0, 1], got {}", Num(self.lambda))
        })?;
        check((1..=MAX_REFRESH).contains(&self.refresh), "rngd.refresh", || {
            format!("rngd refresh T must be in 1..={MAX_REFRESH}, got {}", self.refresh)
        })?;
        check((1..=MAX_METRIC_EVERY).contains(&self.metric_every), "rngd.metric_every", || {
            format!("rngd metric_every must be in 1..={MAX_METRIC_EVERY}, got {}", self.metric_every)
        })?;
        for (field, v, max) in
            [("rngd.eps_rel", self.eps_rel, MAX_EPS_REL), ("rngd.eps_abs", self.eps_abs, MAX_EPS_ABS)]
        {
            check(v.is_finite() && (0.0..=max).contains(&v), field, || {
                format!("{} must be in [0, {max}], got {}", field.replace('.', " "), Num(v))
            })?;
        }
        check(self.eps_rel > 0.0 || self.eps_abs > 0.0, "rngd.eps_rel", || {
            "rngd needs some damping: eps_rel and eps_abs are both 0".into()
        })?;
        check(self.omega.is_finite() && self.omega > 0.0 && self.omega <= MAX_OMEGA, "rngd.omega", || {
            format!("rngd omega must be in (0, {MAX_OMEGA}], got {}", Num(self.omega))
        })
    }

    /// The checks that depend on the network: `input_rank` must be below the
    /// input layer's metric size (pixels + bias), or it would mean "exact" in
    /// disguise.
    pub fn validate_for(&self, sizes: &[usize]) -> Result<(), ConfigError> {
        let dim = sizes[0] + 1;
        check(self.input_rank < dim, "rngd.input_rank", || {
            format!(
                "rngd input_rank must be 0 (exact) or below the input layer's metric size {dim}, got {}",
                self.input_rank
            )
        })
    }

    /// The metric state for a network with these layer `sizes` (input to output).
    pub fn init(self, sizes: &[usize]) -> Rngd {
        let layers = sizes.len() - 1;
        let metrics = (0..layers)
            .map(|l| {
                let dim = sizes[l] + 1;
                let per_neuron = l > 0 && l + 1 < layers;
                if per_neuron {
                    LayerMetric::PerNeuron(NeuronMetrics::identity(sizes[l + 1], dim))
                } else {
                    let rank = if self.input_rank > 0 && self.input_rank < dim { Some(self.input_rank) } else { None };
                    LayerMetric::Shared(SharedMetric::identity(dim, rank))
                }
            })
            .collect();
        Rngd { config: self, metrics, steps: 0, refreshes: 0, timings: Timings::default() }
    }
}

pub struct Rngd {
    pub config: RngdConfig,
    /// One metric per weight layer.
    pub metrics: Vec<LayerMetric>,
    pub(crate) steps: u64,
    pub(crate) refreshes: u64,
    /// Time spent in the metric updates, inverses and preconditioning.
    pub timings: Timings,
}

impl Rngd {
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn refreshes(&self) -> u64 {
        self.refreshes
    }
    /// Inverses that failed and kept their previous value, over all layers.
    pub fn fallbacks(&self) -> u64 {
        self.metrics.iter().map(|m| m.fallbacks()).sum()
    }

    /// EMA rate for one update covering `metric_every` steps.
    pub(crate) fn effective_lambda(&self) -> f32 {
        // powf, not powi: k is a u32 and must never wrap into a negative exponent.
        let k = self.config.metric_every as f64;
        (1.0 - (1.0 - self.config.lambda).powf(k)) as f32
    }

    /// Learns the metrics from this step's forward pass.
    pub fn update_metrics(&mut self, ctx: &StepContext) {
        let lambda = self.effective_lambda();
        let (act, omega) = (ctx.activation, self.config.omega);
        for (l, metric) in self.metrics.iter_mut().enumerate() {
            let h = &ctx.forward.inputs[l];
            match metric {
                LayerMetric::Shared(m) => m.update(h.view(), lambda),
                LayerMetric::PerNeuron(m) => {
                    let nu = ctx.forward.pre[l].mapv(|t| act.nu(t, omega));
                    m.update(h.view(), nu.view(), lambda);
                }
            }
        }
    }

    /// Recomputes every stored inverse from the current metrics.
    pub fn refresh_inverses(&mut self) {
        let (rel, abs) = (self.config.eps_rel, self.config.eps_abs);
        for m in &mut self.metrics {
            m.refresh(rel, abs);
        }
        self.refreshes += 1;
    }

    /// One RNGD step on the gradients of the weight layers; batch-norm
    /// parameters (after them) keep their plain gradient.
    pub fn precondition(&mut self, updates: &mut [Array2<f32>], ctx: &StepContext) {
        assert_eq!(ctx.weight_layers, self.metrics.len(), "one metric per weight layer");
        if self.steps.is_multiple_of(self.config.metric_every as u64) {
            let t = Stopwatch::start();
            self.update_metrics(ctx);
            self.timings.metric_update += t.seconds();
        }
        self.steps += 1;
        if self.steps.is_multiple_of(self.config.refresh as u64) {
            let t = Stopwatch::start();
            self.refresh_inverses();
            self.timings.inverse += t.seconds();
        }
        let t = Stopwatch::start();
        for (u, m) in updates.iter_mut().zip(&self.metrics) {
            *u = m.precondition(u);
        }
        self.timings.precondition += t.seconds();
    }

    /// Layer `l`'s metric as a dense array: D×D when shared, m×D×D per neuron.
    pub fn metric_dense(&self, l: usize) -> ArrayD<f32> {
        self.metrics[l].metric_dense()
    }

    /// Layer `l`'s stored inverse, in the same layout as [`Rngd::metric_dense`].
    pub fn inverse_dense(&self, l: usize) -> ArrayD<f32> {
        self.metrics[l].inverse_dense()
    }
}

#[cfg(test)]
mod tests;
