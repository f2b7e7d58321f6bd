//! The trainer: a model, an optimizer and a stream of minibatches behind one
//! handle with `step` and `snapshot`. The CLI and the browser both drive this.

use std::sync::Arc;

use ndarray::{s, Array2};
use serde::Serialize;
use thiserror::Error;

mod backend;
mod divergence;
mod export;
mod gpu;
mod predict;

pub use backend::{BackendInfo, BackendKind};
pub use divergence::GROWTH_LIMIT;
pub use export::{BatchNormWeights, LayerWeights, WeightsExport, WEIGHTS_LAYOUT};
use gpu::Checkpoint;
pub use gpu::CHECKPOINT_EVERY;
pub use predict::Prediction;

use crate::backend::gpu::engine::MAX_CHUNK;
use crate::backend::gpu::GpuEngine;
use crate::clock::{Stopwatch, Timings};
use crate::config::{ConfigError, TrainConfig};
use crate::data::{BatchOrder, Dataset, Split, CLASSES, PIXELS};
use crate::model::{loss, Forward, Mlp};
use crate::optim::{MetricTracker, Momentum, Optimizer, OptimizerKind, Preconditioner, StepContext};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `what` says how the loss went wrong ("the loss became NaN", "the loss
    /// reached …"), `cause` is a sentence naming the likely cause in the config.
    /// The page reads the message's parts: keep its shape.
    #[error("{optimizer} diverged at step {step}: {what}. This run is stopped. {cause}")]
    Diverged { optimizer: &'static str, step: u64, loss: f64, what: String, cause: String },
    #[error("backend gpu was asked for, but {0}")]
    Gpu(String),
}

/// Loss and accuracy of the model on a split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
}

/// What a chart needs after some steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Snapshot {
    pub step: u64,
    /// Epochs completed, fractional: steps × batch / training rows.
    pub epoch: f64,
    /// Mean training loss (with the L2 term) over the steps since the previous
    /// snapshot; `None` (null in JSON) before the first step.
    pub train_loss: Option<f64>,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

/// Rows evaluated per forward pass; bounds the memory of an evaluation.
const EVAL_CHUNK: usize = 500;

/// One training run. On the CPU backend `net` and `optimizer` are the run's
/// state; on the GPU backend the state lives on the device and these are the
/// host's copy as of the last checkpoint (see [`Trainer::sync_host`]).
pub struct Trainer {
    config: TrainConfig,
    data: Arc<Dataset>,
    net: Mlp<f32>,
    optimizer: Optimizer,
    /// SGD and Adam with `track_metric`: the metric RNGD would learn, tracked read-only for the diagnostics.
    tracked: Option<MetricTracker>,
    gpu: Option<Box<GpuEngine>>,
    backend: BackendInfo,
    checkpoint: Checkpoint,
    /// The forward pass of the latest step, kept for the diagnostics (ν of the last batch).
    last_forward: Option<Forward<f32>>,
    order: BatchOrder,
    step: u64,
    loss_sum: f64,
    loss_count: u32,
    last_loss: Option<f64>,
    /// The first step's training loss, which divergence is measured against.
    first_loss: Option<f64>,
    diverged: Option<TrainError>,
    batch_x: Array2<f32>,
    batch_y: Vec<u8>,
    /// Training rows of the latest minibatch.
    last_batch: Vec<usize>,
    /// When set, the gradient of the latest step is kept (for dumps).
    record_gradients: bool,
    last_gradients: Option<Vec<Array2<f32>>>,
    timings: Timings,
}

impl Trainer {
    /// The run's state on the host: the CPU backend, and the GPU's starting point.
    fn on_cpu(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        config.validate(data.train.len())?;
        let net =
            Mlp::new(&config.sizes(PIXELS, CLASSES), config.activation, config.arch, config.init_std, config.seed);
        let optimizer = build_optimizer(&config, &net);
        let tracked = (config.optimizer != OptimizerKind::Rngd && config.track_metric)
            .then(|| MetricTracker::new(config.rngd, &net.sizes()));
        let order = BatchOrder::new(data.train.len(), config.batch, config.seed);
        Ok(Trainer {
            gpu: None,
            backend: BackendInfo::cpu(String::new()),
            checkpoint: Checkpoint { step: 0, order: order.clone() },
            batch_x: Array2::zeros((config.batch, PIXELS)),
            batch_y: vec![0; config.batch],
            last_batch: Vec::new(),
            record_gradients: false,
            last_gradients: None,
            timings: Timings::default(),
            config,
            data,
            net,
            optimizer,
            tracked,
            last_forward: None,
            order,
            step: 0,
            loss_sum: 0.0,
            loss_count: 0,
            last_loss: None,
            first_loss: None,
            diverged: None,
        })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
    /// The backend that really trains this run, and why.
    pub fn backend(&self) -> &BackendInfo {
        &self.backend
    }
    /// The network; on the GPU backend as of the last [`Trainer::sync_host`] or checkpoint.
    pub fn network(&self) -> &Mlp<f32> {
        &self.net
    }
    pub fn optimizer(&self) -> &Optimizer {
        &self.optimizer
    }
    /// SGD and Adam: the metric RNGD would have learnt, tracked read-only (None under RNGD).
    pub fn tracked_metric(&self) -> Option<&MetricTracker> {
        self.tracked.as_ref()
    }
    /// The latest training step's forward pass, if a step has run.
    pub fn last_forward(&self) -> Option<&Forward<f32>> {
        self.last_forward.as_ref()
    }
    /// The data set the run trains on.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }
    /// Training rows of the latest minibatch.
    pub fn last_batch(&self) -> &[usize] {
        &self.last_batch
    }
    /// Keep each step's gradient, for [`Trainer::last_gradients`].
    pub fn record_gradients(&mut self, on: bool) {
        self.record_gradients = on;
    }
    /// The gradient the latest step used, when recording is on.
    pub fn last_gradients(&self) -> Option<&[Array2<f32>]> {
        self.last_gradients.as_deref()
    }
    /// Time spent so far in each part of a step. RNGD's own parts are split
    /// out of `update`, so the fields add up to the total step time.
    pub fn timings(&self) -> Timings {
        let mut t = self.timings;
        if let Some(r) = self.optimizer.rngd() {
            t.metric_update = r.timings.metric_update;
            t.inverse = r.timings.inverse;
            t.precondition = r.timings.precondition;
            t.update -= t.metric_update + t.inverse + t.precondition;
        }
        t
    }
    pub fn steps_done(&self) -> u64 {
        self.step
    }
    pub fn batches_per_epoch(&self) -> usize {
        self.order.batches_per_epoch()
    }
    pub fn epoch(&self) -> f64 {
        self.step as f64 * self.config.batch as f64 / self.data.train.len() as f64
    }

    /// Runs `n` minibatch steps. After a divergence every call returns the same error.
    pub fn step(&mut self, n: u32) -> Result<(), TrainError> {
        block_on(self.step_async(n))
    }

    /// Runs `n` minibatch steps on the run's backend. If the GPU fails, the run
    /// goes back to its last checkpoint on the CPU and recomputes the lost steps,
    /// so the call still ends `n` steps on.
    pub async fn step_async(&mut self, n: u32) -> Result<(), TrainError> {
        let target = self.step + n as u64;
        while self.step < target && self.diverged.is_none() {
            if self.gpu.is_some() {
                let chunk = (target - self.step).min(MAX_CHUNK as u64) as usize;
                if let Err(e) = self.gpu_steps(chunk).await {
                    self.fall_back(e);
                }
            } else {
                self.one_step();
            }
        }
        match &self.diverged {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn one_step(&mut self) {
        let rows = self.order.next_batch();
        for (k, &r) in rows.iter().enumerate() {
            self.batch_x.row_mut(k).assign(&self.data.train.image(r));
            self.batch_y[k] = self.data.train.labels[r];
        }
        self.last_batch.clear();
        self.last_batch.extend_from_slice(rows);
        let t = Stopwatch::start();
        let lg = self.net.loss_and_grad(self.batch_x.view(), &self.batch_y, self.config.l2 as f32);
        self.timings.forward_backward += t.seconds();
        let loss = lg.loss as f64;
        self.step += 1;
        if self.judge(loss) {
            return;
        }
        self.net.update_running_stats(&lg.forward);
        let ctx =
            StepContext { forward: &lg.forward, weight_layers: self.net.layers(), activation: self.net.activation };
        if self.record_gradients {
            self.last_gradients = Some(lg.grads.clone());
        }
        let t = Stopwatch::start();
        self.optimizer.step(&mut self.net.params_mut(), lg.grads, &ctx);
        self.timings.update += t.seconds();
        if let Some(tracker) = &mut self.tracked {
            let t = Stopwatch::start();
            tracker.observe(&ctx);
            self.timings.metric_update += t.seconds();
        }
        self.last_forward = Some(lg.forward);
        if !self.net.is_finite() {
            self.judge(f64::NAN);
            return;
        }
        self.loss_sum += loss;
        self.loss_count += 1;
        self.last_loss = Some(loss);
    }

    /// Stops the run at this step if `loss` means divergence (see
    /// [`divergence`]); true when it does. The first finite loss is the run's
    /// reference.
    fn judge(&mut self, loss: f64) -> bool {
        match divergence::verdict(loss, self.first_loss) {
            Some(what) => {
                self.diverged = Some(TrainError::Diverged {
                    optimizer: self.optimizer.name(),
                    step: self.step,
                    loss,
                    what,
                    cause: divergence::likely_cause(&self.config),
                });
                true
            }
            None => {
                self.first_loss.get_or_insert(loss);
                false
            }
        }
    }

    /// Loss (cross-entropy, without the L2 term) and accuracy on a split, with
    /// the run's current weights (copied from the GPU first on that backend).
    pub fn evaluate(&mut self, split: &Split) -> Evaluation {
        self.sync_host();
        self.evaluate_host(split)
    }

    /// [`Trainer::evaluate`] with the host's weights as they are.
    pub fn evaluate_host(&self, split: &Split) -> Evaluation {
        let mut loss = 0.0;
        let mut correct = 0usize;
        for start in (0..split.len()).step_by(EVAL_CHUNK) {
            let end = (start + EVAL_CHUNK).min(split.len());
            let logits = self.net.logits(split.images.slice(s![start..end, ..]));
            let labels = &split.labels[start..end];
            let (l, _) = loss::cross_entropy(logits.view(), labels);
            loss += l as f64 * (end - start) as f64;
            correct += loss::argmax_rows(logits.view()).iter().zip(labels).filter(|(p, &y)| **p == y as usize).count();
        }
        Evaluation { loss: loss / split.len() as f64, accuracy: correct as f64 / split.len() as f64 }
    }

    pub fn evaluate_test(&mut self) -> Evaluation {
        block_on(self.evaluate_test_async())
    }

    /// The test split: on the GPU where the run trains there, else on the host.
    pub async fn evaluate_test_async(&mut self) -> Evaluation {
        if let Some(engine) = &self.gpu {
            match engine.evaluate_test().await {
                Ok((loss, accuracy)) => return Evaluation { loss, accuracy },
                Err(e) => {
                    let target = self.step;
                    self.fall_back(e);
                    self.catch_up(target);
                }
            }
        }
        self.evaluate_host(&self.data.test)
    }

    /// Test metrics now, and the mean training loss since the previous snapshot.
    pub fn snapshot(&mut self) -> Snapshot {
        block_on(self.snapshot_async())
    }

    /// [`Trainer::snapshot`]. On the GPU it also refreshes the run's checkpoint
    /// once [`CHECKPOINT_EVERY`] steps have passed since the last.
    pub async fn snapshot_async(&mut self) -> Snapshot {
        let test = self.evaluate_test_async().await;
        if self.gpu.is_some() && self.step - self.checkpoint.step >= CHECKPOINT_EVERY {
            self.sync_host_async().await;
        }
        let train_loss =
            if self.loss_count > 0 { Some(self.loss_sum / self.loss_count as f64) } else { self.last_loss };
        self.loss_sum = 0.0;
        self.loss_count = 0;
        Snapshot {
            step: self.step,
            epoch: self.epoch(),
            train_loss,
            test_loss: test.loss,
            test_accuracy: test.accuracy,
        }
    }
}

/// The optimizer a config asks for, with state shaped like the network's parameters.
fn build_optimizer(config: &TrainConfig, net: &Mlp<f32>) -> Optimizer {
    let shapes: Vec<(usize, usize)> = net.params().iter().map(|p| p.dim()).collect();
    let preconditioner = match config.optimizer {
        OptimizerKind::Sgd => Preconditioner::Identity,
        OptimizerKind::Adam => Preconditioner::Adam(config.adam.init(&shapes)),
        OptimizerKind::Rngd => Preconditioner::Rngd(Box::new(config.rngd.init(&net.sizes()))),
    };
    Optimizer {
        kind: config.optimizer,
        lr: config.lr() as f32,
        preconditioner,
        momentum: (config.momentum > 0.0).then(|| Momentum::new(config.momentum as f32, &shapes)),
        weight_decay: config.weight_decay as f32,
    }
}

/// Runs an async trainer call to the end. Natively it waits for the GPU. In the
/// browser nothing may wait, so the blocking methods serve CPU runs only, whose
/// futures never suspend; a GPU run there must use the `_async` methods.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    #[cfg(not(target_arch = "wasm32"))]
    return pollster::block_on(f);
    #[cfg(target_arch = "wasm32")]
    {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("a GPU run in the browser must use the trainer's async methods"),
        }
    }
}
