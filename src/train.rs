//! The trainer: a model, an optimizer and a stream of minibatches behind one
//! handle with `step` and `snapshot`. The CLI and the browser both drive this.

use std::sync::Arc;

use ndarray::{s, Array2};
use serde::Serialize;
use thiserror::Error;

use crate::clock::{Stopwatch, Timings};
use crate::config::{ConfigError, TrainConfig};
use crate::data::{BatchOrder, Dataset, Split, CLASSES, PIXELS};
use crate::model::{loss, Forward, Mlp};
use crate::optim::{Momentum, Optimizer, OptimizerKind, Preconditioner, StepContext};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{optimizer} diverged at step {step}: the loss became {loss}. This run is stopped; try a smaller learning rate.")]
    Diverged { optimizer: &'static str, step: u64, loss: f64 },
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

pub struct Trainer {
    config: TrainConfig,
    data: Arc<Dataset>,
    net: Mlp<f32>,
    optimizer: Optimizer,
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
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        config.validate(data.train.len())?;
        let net =
            Mlp::new(&config.sizes(PIXELS, CLASSES), config.activation, config.arch, config.init_std, config.seed);
        let optimizer = build_optimizer(&config, &net);
        let order = BatchOrder::new(data.train.len(), config.batch, config.seed);
        Ok(Trainer {
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
    pub fn step(&mut self, n: u32) -> Result<(), TrainError> {
        for _ in 0..n {
            if let Some(e) = &self.diverged {
                return Err(e.clone());
            }
            self.one_step();
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

    /// Loss (cross-entropy, without the L2 term) and accuracy on a split.
    pub fn evaluate(&self, split: &Split) -> Evaluation {
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

    pub fn evaluate_test(&self) -> Evaluation {
        self.evaluate(&self.data.test)
    }

    /// Test metrics now, and the mean training loss since the previous snapshot.
    pub fn snapshot(&mut self) -> Snapshot {
        let train_loss =
            if self.loss_count > 0 { Some(self.loss_sum / self.loss_count as f64) } else { self.last_loss };
        self.loss_sum = 0.0;
        self.loss_count = 0;
        let test = self.evaluate_test();
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
