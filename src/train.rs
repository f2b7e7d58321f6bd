//! The trainer: a model, an optimizer and a stream of minibatches behind one
//! handle with `step` and `snapshot`. The CLI and the browser both drive this.

use std::sync::Arc;

use ndarray::{s, Array2};
use serde::Serialize;
use thiserror::Error;

use crate::backend::gpu::engine::MAX_CHUNK;
use crate::backend::gpu::{GpuContext, GpuEngine, GpuError};
use crate::clock::{Stopwatch, Timings};
use crate::config::{BackendChoice, ConfigError, TrainConfig};
use crate::data::{BatchOrder, Dataset, Split, CLASSES, PIXELS};
use crate::model::{loss, Forward, Mlp};
use crate::optim::{Momentum, Optimizer, OptimizerKind, Preconditioner, StepContext};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{optimizer} diverged at step {step}: the loss became {loss}. This run is stopped; try a smaller learning rate.")]
    Diverged { optimizer: &'static str, step: u64, loss: f64 },
    #[error("backend gpu was asked for, but {0}")]
    Gpu(String),
}

/// Which backend really trains a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Cpu,
    Gpu,
}

/// The backend a run trains on, and why: what the page's badge and the CLI say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// The GPU adapter, when the run trains on one.
    pub adapter: Option<String>,
    /// Why this backend: a sentence for people.
    pub reason: String,
    /// Steps recomputed on the CPU after the GPU failed mid-run.
    pub lost_steps: Option<u64>,
}

impl BackendInfo {
    fn cpu(reason: String) -> BackendInfo {
        BackendInfo { kind: BackendKind::Cpu, adapter: None, reason, lost_steps: None }
    }
}

/// Steps between the GPU state copies a run falls back to if the device is lost.
/// A copy is taken at a snapshot once this many steps have passed since the last.
pub const CHECKPOINT_EVERY: u64 = 500;

/// The host's copy of a GPU run: the network and optimizer state (held in the
/// trainer) are as of `step`, with the batch order as it was then.
#[derive(Debug, Clone)]
struct Checkpoint {
    step: u64,
    order: BatchOrder,
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
    /// A run on the backend its config asks for (see [`BackendChoice`]), waiting
    /// for the GPU adapter where there is one to ask. The one constructor that
    /// can open a WebGPU device in the browser.
    pub async fn create(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        let mut t = Trainer::on_cpu(config, data)?;
        let choice = t.config.backend;
        if choice == BackendChoice::Cpu {
            t.backend = BackendInfo::cpu("cpu: the backend asked for".into());
            return Ok(t);
        }
        if choice == BackendChoice::Auto {
            if let Some(why) = adapter::known_unsuitable() {
                t.backend = BackendInfo::cpu(format!("auto: {why}; training on the CPU"));
                return Ok(t);
            }
        }
        let ctx = match GpuContext::new().await {
            Ok(ctx) => ctx,
            Err(e) => {
                adapter::remember(Err(e.to_string()));
                return match choice {
                    BackendChoice::Gpu => Err(TrainError::Gpu(e.to_string())),
                    _ => {
                        t.backend = BackendInfo::cpu(format!("auto: {e}; training on the CPU"));
                        Ok(t)
                    }
                };
            }
        };
        let adapter = ctx.describe();
        adapter::remember(Ok((adapter.clone(), ctx.is_software())));
        if choice == BackendChoice::Auto && ctx.is_software() {
            t.backend = BackendInfo::cpu(format!(
                "auto: {adapter} is a software adapter, slower than the CPU path; training on the CPU"
            ));
            return Ok(t);
        }
        match GpuEngine::new(ctx, &t.config, &t.data, &t.net, &t.optimizer) {
            Ok(engine) => {
                t.gpu = Some(Box::new(engine));
                let reason = match choice {
                    BackendChoice::Gpu => "gpu: the backend asked for".to_string(),
                    _ => "auto: a hardware GPU adapter".to_string(),
                };
                t.backend = BackendInfo { kind: BackendKind::Gpu, adapter: Some(adapter), reason, lost_steps: None };
            }
            Err(e) if choice == BackendChoice::Gpu => return Err(TrainError::Gpu(e.to_string())),
            Err(e) => t.backend = BackendInfo::cpu(format!("auto: {e}; training on the CPU")),
        }
        Ok(t)
    }

    /// [`Trainer::create`], waiting for the adapter.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        pollster::block_on(Trainer::create(config, data))
    }

    /// In the browser nothing may block on the GPU, so this constructor never
    /// asks for an adapter: `auto` trains on the CPU and `gpu` is refused (use
    /// [`Trainer::create`]).
    #[cfg(target_arch = "wasm32")]
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        let mut t = Trainer::on_cpu(config, data)?;
        t.backend = match t.config.backend {
            BackendChoice::Gpu => {
                return Err(TrainError::Gpu("the synchronous constructor cannot wait for a WebGPU adapter; use Trainer::create".into()))
            }
            BackendChoice::Auto => BackendInfo::cpu("auto: built synchronously, without asking for a WebGPU adapter".into()),
            BackendChoice::Cpu => BackendInfo::cpu("cpu: the backend asked for".into()),
        };
        Ok(t)
    }

    /// The run's state on the host: the CPU backend, and the GPU's starting point.
    fn on_cpu(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        config.validate(data.train.len())?;
        let net =
            Mlp::new(&config.sizes(PIXELS, CLASSES), config.activation, config.arch, config.init_std, config.seed);
        let optimizer = build_optimizer(&config, &net);
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
            last_forward: None,
            order,
            step: 0,
            loss_sum: 0.0,
            loss_count: 0,
            last_loss: None,
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
    /// The latest training step's forward pass, if a step has run.
    pub fn last_forward(&self) -> Option<&Forward<f32>> {
        self.last_forward.as_ref()
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
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step(&mut self, n: u32) -> Result<(), TrainError> {
        pollster::block_on(self.step_async(n))
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

    /// `n` steps on the GPU, with one read-back of their losses.
    async fn gpu_steps(&mut self, n: usize) -> Result<(), GpuError> {
        let engine = self.gpu.as_mut().expect("a GPU run");
        let mut order = self.order.clone();
        let mut rows = Vec::with_capacity(n * self.config.batch);
        for _ in 0..n {
            rows.extend(order.next_batch().iter().map(|&r| r as u32));
        }
        let out = engine.run_steps(self.step, &rows).await?;
        self.order = order;
        self.last_batch.clear();
        self.last_batch.extend(rows[(n - 1) * self.config.batch..].iter().map(|&r| r as usize));
        self.last_forward = None;
        for &loss in &out.losses {
            self.step += 1;
            if let Some((step, loss)) = out.diverged.filter(|d| d.0 <= self.step) {
                self.step = step;
                self.diverged = Some(TrainError::Diverged { optimizer: self.optimizer.name(), step, loss });
                return Ok(());
            }
            self.loss_sum += loss;
            self.loss_count += 1;
            self.last_loss = Some(loss);
        }
        Ok(())
    }

    /// After a GPU failure: back to the last checkpoint, on the CPU from now on.
    fn fall_back(&mut self, e: GpuError) {
        let lost = self.step - self.checkpoint.step;
        self.gpu = None;
        self.step = self.checkpoint.step;
        self.order = self.checkpoint.order.clone();
        self.loss_sum = 0.0;
        self.loss_count = 0;
        self.last_forward = None;
        self.backend = BackendInfo {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: format!(
                "{e}; the run went on on the CPU from its copy at step {}, recomputing {lost} steps",
                self.checkpoint.step
            ),
            lost_steps: Some(lost),
        };
    }

    /// Copies the GPU run's state into [`Trainer::network`], [`Trainer::optimizer`]
    /// and [`Trainer::last_forward`], which also makes it the run's new checkpoint.
    /// Nothing to do on the CPU. If the GPU fails, the run falls back to the CPU.
    pub async fn sync_host_async(&mut self) {
        let Some(engine) = &self.gpu else { return };
        match engine.download(true).await {
            Ok(state) => {
                self.last_forward = engine.store(state, &mut self.net, &mut self.optimizer, self.step);
                self.checkpoint = Checkpoint { step: self.step, order: self.order.clone() };
            }
            Err(e) => {
                let target = self.step;
                self.fall_back(e);
                self.catch_up(target);
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn sync_host(&mut self) {
        pollster::block_on(self.sync_host_async())
    }

    /// CPU steps until `target` (after a fall-back), stopping at a divergence.
    fn catch_up(&mut self, target: u64) {
        while self.step < target && self.diverged.is_none() {
            self.one_step();
        }
    }

    /// Destroys the run's GPU device, as a driver reset would: the next call
    /// falls back to the CPU. For testing that path; nothing happens on the CPU.
    pub fn lose_device(&self) {
        if let Some(g) = &self.gpu {
            g.lose_device();
        }
    }

    /// [`Trainer::diagnostics`] after copying the GPU state to the host.
    pub async fn diagnostics_async(&mut self, layer: usize) -> Result<crate::diagnostics::LayerDiagnostics, String> {
        self.sync_host_async().await;
        self.diagnostics(layer)
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
        if !loss.is_finite() {
            self.diverged = Some(TrainError::Diverged { optimizer: self.optimizer.name(), step: self.step, loss });
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
        self.last_forward = Some(lg.forward);
        if !self.net.is_finite() {
            self.diverged =
                Some(TrainError::Diverged { optimizer: self.optimizer.name(), step: self.step, loss: f64::NAN });
            return;
        }
        self.loss_sum += loss;
        self.loss_count += 1;
        self.last_loss = Some(loss);
    }

    /// Loss (cross-entropy, without the L2 term) and accuracy on a split, with
    /// the run's current weights (copied from the GPU first on that backend).
    #[cfg(not(target_arch = "wasm32"))]
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

    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate_test(&mut self) -> Evaluation {
        pollster::block_on(self.evaluate_test_async())
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
    #[cfg(not(target_arch = "wasm32"))]
    pub fn snapshot(&mut self) -> Snapshot {
        pollster::block_on(self.snapshot_async())
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

/// What this process learnt about the GPU adapter, so that `auto` runs after
/// the first do not open a device only to find it is a software one.
mod adapter {
    use std::sync::Mutex;

    /// The adapter's description and whether it is a software one, or why there is none.
    type Probe = Result<(String, bool), String>;
    static PROBE: Mutex<Option<Probe>> = Mutex::new(None);

    pub fn remember(p: Probe) {
        *PROBE.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
    }

    /// Why `auto` should not try the GPU, if an earlier run already found out.
    pub fn known_unsuitable() -> Option<String> {
        match PROBE.lock().unwrap_or_else(|e| e.into_inner()).as_ref()? {
            Ok((name, true)) => Some(format!("{name} is a software adapter, slower than the CPU path")),
            Ok((_, false)) => None,
            Err(e) => Some(e.clone()),
        }
    }
}
