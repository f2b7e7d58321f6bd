//! The metric RNGD would learn, tracked read-only beside SGD and Adam, so that
//! the geometry views compare the three runs like with like: the same
//! structure (one metric shared by the input layer, one by the softmax layer,
//! one per neuron in between), the same identity start, rate λ and selector ν
//! with its ω. It never touches a step.
//!
//! It is updated every [`TRACK_EVERY`] steps with the matching rate
//! `1 − (1−λ)^k`, exactly as RNGD's own `metric_every` option does, and with
//! the same code: the tracker is an [`Rngd`] whose preconditioning is never called.

use super::rngd::{LayerMetric, Rngd, RngdConfig};
use super::StepContext;

/// Steps between two updates of a tracked metric.
///
/// Why 10: the cost model of RNGD.md puts RNGD's metric updates at about 8×
/// a forward and backward pass, so updating at every step would make SGD
/// several times slower just to be watched. Every 10 steps the amortised
/// cost is about half a pass: `rngd-lab bench --optimizers sgd,adam` on the
/// paper's net (CPU, one thread) measured SGD at 2.02 ms a step, 31% of it
/// the tracked metric, so +45% over SGD alone (Adam: 27%). A larger k would
/// be cheaper but narrows the EMA's window: with λ = 0.005 it spans about
/// 1/(kλ) updates of 50 samples, at k = 10 about 1000 samples, more than the
/// 785 dimensions of the input metric, so its spectrum is not starved of
/// samples, as the one-minibatch RFIM (50 samples for 785 dimensions) was.
/// The time is counted in `Timings::metric_update`, apart from the step's own.
pub const TRACK_EVERY: u32 = 10;

/// The read-only metric of a run that does not use one to step.
pub struct MetricTracker {
    /// The metrics and their step counter; its inverses are never refreshed.
    state: Rngd,
}

impl MetricTracker {
    /// Identity metrics for a network with layer `sizes`, learnt with the
    /// run's own λ and ω.
    pub fn new(config: RngdConfig, sizes: &[usize]) -> MetricTracker {
        // No low-rank inverse: the tracker never inverts.
        let config = RngdConfig { metric_every: TRACK_EVERY, input_rank: 0, ..config };
        MetricTracker { state: config.init(sizes) }
    }

    /// After each training step: learns from its forward pass when due
    /// (steps 0, k, 2k, … counted from 0, as RNGD's `metric_every`).
    pub fn observe(&mut self, ctx: &StepContext) {
        if Self::due(self.state.steps) {
            self.state.update_metrics(ctx);
        }
        self.state.steps += 1;
    }

    /// True when the step that follows `steps_done` steps updates the metric.
    pub fn due(steps_done: u64) -> bool {
        steps_done.is_multiple_of(TRACK_EVERY as u64)
    }

    /// The EMA rate of one update, `1 − (1−λ)^k`.
    pub fn lambda(&self) -> f32 {
        self.state.effective_lambda()
    }

    pub fn metrics(&self) -> &[LayerMetric] {
        &self.state.metrics
    }

    /// The state as RNGD's, for code that reads metrics of either kind.
    pub fn as_rngd(&self) -> &Rngd {
        &self.state
    }

    /// Replaces the metrics with dense copies (from the GPU), after `steps` steps.
    pub fn set_dense(&mut self, metrics: &[Vec<f32>], steps: u64) {
        for (m, g) in self.state.metrics.iter_mut().zip(metrics) {
            m.set_metric_dense(g);
        }
        self.state.steps = steps;
    }
}
