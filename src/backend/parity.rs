//! The GPU backend against the CPU backend on whole training runs, from the
//! same initialisation and minibatches. One body, run natively (lavapipe in
//! CI) and in headless Chrome (SwiftShader), and on real GPUs when there are some.

use std::sync::Arc;

use ndarray::ArrayD;
use serde::Serialize;

use crate::config::BackendChoice;
use crate::train::BackendKind;
use crate::{Dataset, TrainConfig, Trainer};

/// How far the GPU run is from the CPU run after some steps. Every figure is
/// a largest absolute difference divided by the largest absolute CPU value of
/// that quantity (so one scale-free number per quantity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parity {
    pub step: u64,
    /// Mean training loss since the previous comparison, relative.
    pub train_loss: f64,
    pub test_loss: f64,
    /// Absolute difference in test accuracy (a fraction).
    pub test_accuracy: f64,
    /// Every parameter: weights, biases, batch-norm scales and shifts.
    pub params: f64,
    /// The learnt metrics, worst layer: RNGD's, or for SGD and Adam the
    /// metric tracked read-only (same kernels, updated every `TRACK_EVERY` steps).
    pub metrics: f64,
    /// RNGD's stored inverses, worst layer (0 for SGD and Adam, which invert nothing).
    pub inverses: f64,
    /// Inverses that failed and kept their previous value: CPU, GPU.
    pub fallbacks: (u64, u64),
}

/// How close the GPU must stay to the CPU, each bound on a figure of [`Parity`].
///
/// Both backends do the same f32 arithmetic in different orders (tree sums on
/// the GPU, sequential ones on the CPU, fused multiply-adds where the GPU's
/// compiler likes), so each operation differs by a few units of f32 rounding
/// (1.2e-7) and 101 steps of training carry that along. Measured on lavapipe
/// after 1, 100 and 101 steps of a 784-40-30-20-10 net: losses within 5e-7,
/// parameters within 6e-6 (Adam: dividing by √v magnifies small differences
/// in tiny gradients), metrics within 1.2e-6, inverses within 1.8e-6 (the f64
/// inversion itself is the same code on both). The bounds leave a factor of
/// about ten, for other adapters' rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub loss: f64,
    pub params: f64,
    pub metrics: f64,
    pub inverses: f64,
    pub accuracy: f64,
}

impl Tolerance {
    pub const DEFAULT: Tolerance =
        Tolerance { loss: 1e-5, params: 1e-4, metrics: 1e-5, inverses: 1e-4, accuracy: 1e-3 };

    /// Adam under BNA is the one exception. The bias of a hidden unit that
    /// is active on the whole batch has a gradient of exactly zero (the batch
    /// norm after the activation removes any shift), so in f32 it is rounding
    /// noise, which Adam divides by its own size and turns into a step of
    /// about ±lr whose sign differs between the backends. Those biases then
    /// differ by up to lr per step (2.4e-2 of the largest parameter after 100
    /// steps, measured), while the outputs, which the batch norm makes
    /// independent of them, still agree: training loss within 3e-3 and test
    /// loss within 2e-4 (measured). So the losses and the accuracy are bounded
    /// tightly enough to catch a wrong kernel, and the parameters loosely.
    /// The metric Adam tracks read-only follows those biases: a per-neuron
    /// metric weighs each sample by ν of the pre-activation, bias included,
    /// so it differs as they do (9.3e-3 of its largest entry after 100 steps,
    /// 1.9e-2 after 101, measured on lavapipe), while the metrics of the other
    /// runs, tracked or RNGD's, stay within 1.2e-6.
    pub const BNA_ADAM: Tolerance =
        Tolerance { loss: 1e-2, params: 5e-2, metrics: 5e-2, inverses: 1e-4, accuracy: 2e-2 };

    pub fn for_run(optimizer: crate::OptimizerKind, arch: crate::model::Arch) -> Tolerance {
        if optimizer == crate::OptimizerKind::Adam && arch == crate::model::Arch::Bna {
            Tolerance::BNA_ADAM
        } else {
            Tolerance::DEFAULT
        }
    }
}

impl Parity {
    /// Err naming every figure over its bound.
    pub fn check(&self, tol: Tolerance) -> Result<(), String> {
        let checks = [
            ("train_loss", self.train_loss, tol.loss),
            ("test_loss", self.test_loss, tol.loss),
            ("test_accuracy", self.test_accuracy, tol.accuracy),
            ("params", self.params, tol.params),
            ("metrics", self.metrics, tol.metrics),
            ("inverses", self.inverses, tol.inverses),
        ];
        let over: Vec<String> = checks
            .iter()
            .filter(|(_, v, bound)| !(v <= bound))
            .map(|(name, v, bound)| format!("{name} {v:.3e} > {bound:.0e}"))
            .collect();
        if self.fallbacks.0 != self.fallbacks.1 {
            return Err(format!(
                "step {}: inverse fallbacks differ: CPU {}, GPU {}",
                self.step, self.fallbacks.0, self.fallbacks.1
            ));
        }
        if over.is_empty() {
            Ok(())
        } else {
            Err(format!("step {}: {}", self.step, over.join(", ")))
        }
    }
}

/// The parity runs every backend test makes: each optimizer, PLAIN and BNA,
/// compared after 1, 100 and 101 steps (past RNGD's first inverse refresh at
/// T = 100). Returns the reports, or the first failure.
pub async fn every_optimizer(data: Arc<Dataset>, hidden: Vec<usize>) -> Result<Vec<(String, Parity)>, String> {
    let mut out = Vec::new();
    for arch in [crate::model::Arch::Plain, crate::model::Arch::Bna] {
        for optimizer in crate::OptimizerKind::ALL {
            // SGD and Adam track RNGD's metric, so that its kernels are compared on every run.
            let config =
                TrainConfig { optimizer, arch, hidden: hidden.clone(), track_metric: true, ..TrainConfig::default() };
            let name =
                format!("{} {}", optimizer.name(), if arch == crate::model::Arch::Bna { "bna" } else { "plain" });
            for p in compare(config, data.clone(), &[1, 100, 101]).await? {
                p.check(Tolerance::for_run(optimizer, arch)).map_err(|e| format!("{name}: {e}"))?;
                out.push((name.clone(), p));
            }
        }
    }
    Ok(out)
}

fn rel(cpu: f64, gpu: f64) -> f64 {
    (cpu - gpu).abs() / cpu.abs().max(f64::MIN_POSITIVE)
}

fn rel_arrays<'a>(pairs: impl Iterator<Item = (&'a [f32], &'a [f32])>) -> f64 {
    let (mut diff, mut scale) = (0f64, 0f64);
    for (c, g) in pairs {
        for (&c, &g) in c.iter().zip(g) {
            diff = diff.max((c as f64 - g as f64).abs());
            scale = scale.max((c as f64).abs());
        }
    }
    diff / scale.max(f64::MIN_POSITIVE)
}

fn dense_pairs(cpu: &Trainer, gpu: &Trainer, inverse: bool) -> f64 {
    fn learnt(t: &Trainer, inverse: bool) -> Option<&crate::optim::Rngd> {
        match t.optimizer().rngd() {
            Some(r) => Some(r),
            None if inverse => None,
            None => t.tracked_metric().map(|m| m.as_rngd()),
        }
    }
    let (Some(c), Some(g)) = (learnt(cpu, inverse), learnt(gpu, inverse)) else { return 0.0 };
    let get = |r: &crate::optim::Rngd, l| -> ArrayD<f32> {
        let a = if inverse { r.inverse_dense(l) } else { r.metric_dense(l) };
        a.as_standard_layout().into_owned()
    };
    let arrays: Vec<(ArrayD<f32>, ArrayD<f32>)> = (0..c.metrics.len()).map(|l| (get(c, l), get(g, l))).collect();
    arrays
        .iter()
        .map(|(c, g)| rel_arrays(std::iter::once((c.as_slice().unwrap(), g.as_slice().unwrap()))))
        .fold(0.0, f64::max)
}

/// Trains `config` on the CPU and on the GPU (forced, software adapters
/// included) side by side and compares them after each step count in `at`.
pub async fn compare(config: TrainConfig, data: Arc<Dataset>, at: &[u64]) -> Result<Vec<Parity>, String> {
    let mut cpu = Trainer::create(TrainConfig { backend: BackendChoice::Cpu, ..config.clone() }, data.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut gpu = Trainer::create(TrainConfig { backend: BackendChoice::Gpu, ..config }, data)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for &step in at {
        for t in [&mut cpu, &mut gpu] {
            let n = step.checked_sub(t.steps_done()).ok_or("step counts must increase")?;
            t.step_async(n as u32).await.map_err(|e| e.to_string())?;
        }
        let (c, g) = (cpu.snapshot_async().await, gpu.snapshot_async().await);
        gpu.sync_host_async().await;
        if gpu.backend().kind != BackendKind::Gpu {
            return Err(format!("the GPU run left the GPU: {}", gpu.backend().reason));
        }
        let params = rel_arrays(
            cpu.network()
                .params()
                .into_iter()
                .zip(gpu.network().params())
                .map(|(c, g)| (c.as_slice().unwrap(), g.as_slice().unwrap())),
        );
        let fallbacks = |t: &Trainer| t.optimizer().rngd().map_or(0, |r| r.fallbacks());
        out.push(Parity {
            step,
            train_loss: rel(c.train_loss.unwrap_or(0.0), g.train_loss.unwrap_or(0.0)),
            test_loss: rel(c.test_loss, g.test_loss),
            test_accuracy: (c.test_accuracy - g.test_accuracy).abs(),
            params,
            metrics: dense_pairs(&cpu, &gpu, false),
            inverses: dense_pairs(&cpu, &gpu, true),
            fallbacks: (fallbacks(&cpu), fallbacks(&gpu)),
        });
    }
    Ok(out)
}
