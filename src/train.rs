//! The trainer: a model, an optimizer and a stream of minibatches behind one
//! handle with `step` and `snapshot`. The CLI and the browser both drive this.

use std::sync::Arc;

use ndarray::{s, Array2};
use serde::Serialize;
use thiserror::Error;

use crate::config::{ConfigError, OptimizerKind, TrainConfig};
use crate::data::{BatchOrder, Dataset, Split, CLASSES, PIXELS};
use crate::model::{loss, Activation, Mlp};
use crate::optim::{Optimizer, SgdConfig};

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
    optimizer: Box<dyn Optimizer>,
    order: BatchOrder,
    step: u64,
    loss_sum: f64,
    loss_count: u32,
    last_loss: Option<f64>,
    diverged: Option<TrainError>,
    batch_x: Array2<f32>,
    batch_y: Vec<u8>,
}

impl Trainer {
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        config.validate(data.train.len())?;
        let net = Mlp::new(&config.sizes(PIXELS, CLASSES), Activation::Relu, config.init_std, config.seed);
        let optimizer: Box<dyn Optimizer> = match config.optimizer {
            OptimizerKind::Sgd => Box::new(SgdConfig { lr: config.lr, momentum: config.momentum }.init(&net.weights)),
        };
        let order = BatchOrder::new(data.train.len(), config.batch, config.seed);
        Ok(Trainer {
            batch_x: Array2::zeros((config.batch, PIXELS)),
            batch_y: vec![0; config.batch],
            config,
            data,
            net,
            optimizer,
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
        let lg = self.net.loss_and_grad(self.batch_x.view(), &self.batch_y, self.config.l2 as f32);
        let loss = lg.loss as f64;
        self.step += 1;
        if !loss.is_finite() {
            self.diverged = Some(TrainError::Diverged { optimizer: self.optimizer.name(), step: self.step, loss });
            return;
        }
        self.optimizer.update(&mut self.net.weights, &lg.grads, &lg.forward);
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
        let train_loss = if self.loss_count > 0 { Some(self.loss_sum / self.loss_count as f64) } else { self.last_loss };
        self.loss_sum = 0.0;
        self.loss_count = 0;
        let test = self.evaluate_test();
        Snapshot { step: self.step, epoch: self.epoch(), train_loss, test_loss: test.loss, test_accuracy: test.accuracy }
    }
}
