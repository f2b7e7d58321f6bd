//! Optimizers, built from small composable pieces (as optax does):
//!
//! `update = precondition(gradient)` → optional momentum → optional decoupled
//! weight decay → `params −= lr · update`.
//!
//! The preconditioner is what distinguishes SGD (identity), Adam (diagonal,
//! from moment estimates) and RNGD (a learned relative Fisher metric per
//! neuron). Momentum and weight decay are written once and compose with all three.

pub mod adam;
pub mod momentum;
pub mod rngd;
pub mod track;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::model::{Activation, Forward};

pub use adam::{Adam, AdamConfig};
pub use momentum::Momentum;
pub use rngd::{Rngd, RngdConfig, RngdPreset};
pub use track::{MetricTracker, TRACK_EVERY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
    Adam,
    Rngd,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 3] = [OptimizerKind::Sgd, OptimizerKind::Adam, OptimizerKind::Rngd];

    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Rngd => "rngd",
        }
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OptimizerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown optimizer {s:?}; expected sgd, adam or rngd"))
    }
}

/// What a preconditioner may read about the step beyond the gradient.
pub struct StepContext<'a> {
    /// The training forward pass that produced the gradient.
    pub forward: &'a Forward<f32>,
    /// The first `weight_layers` parameters are weight matrices; the rest are batch-norm scales and shifts.
    pub weight_layers: usize,
    pub activation: Activation,
}

/// The per-method part of an optimizer.
pub enum Preconditioner {
    /// SGD: the update is the gradient.
    Identity,
    Adam(Adam),
    Rngd(Box<Rngd>),
}

impl Preconditioner {
    fn apply(&mut self, updates: &mut [Array2<f32>], ctx: &StepContext) {
        match self {
            Preconditioner::Identity => {}
            Preconditioner::Adam(a) => a.precondition(updates),
            Preconditioner::Rngd(r) => r.precondition(updates, ctx),
        }
    }
}

pub struct Optimizer {
    pub kind: OptimizerKind,
    pub lr: f32,
    pub preconditioner: Preconditioner,
    pub momentum: Option<Momentum>,
    /// Decoupled weight decay (AdamW style), applied after preconditioning.
    /// The paper's L2 term lives in the loss instead.
    pub weight_decay: f32,
}

impl Optimizer {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// One step: turns `grads` into updates and applies them to `params`.
    pub fn step(&mut self, params: &mut [&mut Array2<f32>], mut grads: Vec<Array2<f32>>, ctx: &StepContext) {
        assert_eq!(params.len(), grads.len(), "one gradient per parameter");
        self.preconditioner.apply(&mut grads, ctx);
        if let Some(m) = &mut self.momentum {
            m.apply(&mut grads);
        }
        for (p, u) in params.iter_mut().zip(&grads) {
            if self.weight_decay > 0.0 {
                p.mapv_inplace(|w| w * (1.0 - self.lr * self.weight_decay));
            }
            p.scaled_add(-self.lr, u);
        }
    }

    pub fn rngd(&self) -> Option<&Rngd> {
        match &self.preconditioner {
            Preconditioner::Rngd(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use ndarray::array;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ctx(forward: &Forward<f32>) -> StepContext<'_> {
        StepContext { forward, weight_layers: 1, activation: Activation::Relu }
    }
    fn empty_forward() -> Forward<f32> {
        Forward { inputs: vec![], pre: vec![], bn: vec![] }
    }
    fn sgd(lr: f32, momentum: Option<f32>, weight_decay: f32, shapes: &[(usize, usize)]) -> Optimizer {
        Optimizer {
            kind: OptimizerKind::Sgd,
            lr,
            preconditioner: Preconditioner::Identity,
            momentum: momentum.map(|mu| Momentum::new(mu, shapes)),
            weight_decay,
        }
    }

    #[test]
    fn plain_sgd_step_is_w_minus_lr_g() {
        let mut w = array![[1.0f32, 2.0]];
        let f = empty_forward();
        sgd(0.1, None, 0.0, &[(1, 2)]).step(&mut [&mut w], vec![array![[0.5f32, -1.0]]], &ctx(&f));
        assert_eq!(w, array![[0.95f32, 2.1]]);
    }

    #[test]
    fn momentum_and_weight_decay_compose() {
        let mut w = array![[1.0f32]];
        let f = empty_forward();
        let mut opt = sgd(0.5, Some(0.5), 0.1, &[(1, 1)]);
        opt.step(&mut [&mut w], vec![array![[1.0f32]]], &ctx(&f)); // v = 1: w = 1·0.95 − 0.5
        assert!((w[[0, 0]] - 0.45).abs() < 1e-7);
        opt.step(&mut [&mut w], vec![array![[1.0f32]]], &ctx(&f)); // v = 1.5: w = 0.45·0.95 − 0.75
        assert!((w[[0, 0]] - (0.45 * 0.95 - 0.75)).abs() < 1e-7);
    }

    #[test]
    fn kinds_parse_and_print() {
        for k in OptimizerKind::ALL {
            assert_eq!(k.name().parse::<OptimizerKind>().unwrap(), k);
        }
        assert!("lbfgs".parse::<OptimizerKind>().unwrap_err().contains("expected sgd, adam or rngd"));
    }
}
