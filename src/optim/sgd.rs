//! Stochastic gradient descent, with optional heavy-ball momentum.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::Optimizer;
use crate::model::Forward;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    pub lr: f64,
    /// 0 gives plain SGD.
    pub momentum: f64,
}

impl SgdConfig {
    pub fn init(self, weights: &[Array2<f32>]) -> Sgd {
        let velocity =
            if self.momentum > 0.0 { weights.iter().map(|w| Array2::zeros(w.raw_dim())).collect() } else { Vec::new() };
        Sgd { config: self, velocity }
    }
}

#[derive(Debug, Clone)]
pub struct Sgd {
    pub config: SgdConfig,
    velocity: Vec<Array2<f32>>,
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn update(&mut self, weights: &mut [Array2<f32>], grads: &[Array2<f32>], _forward: &Forward<f32>) {
        let lr = self.config.lr as f32;
        if self.velocity.is_empty() {
            for (w, g) in weights.iter_mut().zip(grads) {
                w.scaled_add(-lr, g);
            }
            return;
        }
        let mu = self.config.momentum as f32;
        for ((w, g), v) in weights.iter_mut().zip(grads).zip(&mut self.velocity) {
            // v ← μ v + g;  w ← w − lr v
            v.zip_mut_with(g, |v, &g| *v = mu * *v + g);
            w.scaled_add(-lr, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn empty_forward() -> Forward<f32> {
        Forward { inputs: vec![], pre: vec![] }
    }

    #[test]
    fn plain_step_is_w_minus_lr_g() {
        let mut w = vec![array![[1.0f32, 2.0]]];
        let g = vec![array![[0.5f32, -1.0]]];
        SgdConfig { lr: 0.1, momentum: 0.0 }.init(&w).update(&mut w, &g, &empty_forward());
        assert_eq!(w[0], array![[0.95f32, 2.1]]);
    }

    #[test]
    fn momentum_accumulates_velocity() {
        let mut w = vec![array![[0.0f32]]];
        let g = vec![array![[1.0f32]]];
        let mut opt = SgdConfig { lr: 1.0, momentum: 0.5 }.init(&w);
        opt.update(&mut w, &g, &empty_forward()); // v = 1
        opt.update(&mut w, &g, &empty_forward()); // v = 1.5
        assert_eq!(w[0][[0, 0]], -2.5);
    }
}
