//! Adam (Kingma & Ba, 2014) with bias correction, as a preconditioner:
//! `u = m̂ / (sqrt(v̂) + ε)`; the learning rate is applied by the optimizer.

use ndarray::{Array2, Zip};
use serde::{Deserialize, Serialize};

use crate::config::{check, ConfigError, Num};

/// The paper's setting: β1 0.9, β2 0.999, ε 1e-8.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

impl AdamConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let in_unit = |x: f64| x.is_finite() && (0.0..1.0).contains(&x);
        for (field, v) in [("adam.beta1", self.beta1), ("adam.beta2", self.beta2)] {
            check(in_unit(v), field, || {
                format!("adam betas must be in [0, 1), got {} and {}", Num(self.beta1), Num(self.beta2))
            })?;
        }
        check(self.eps.is_finite() && self.eps > 0.0 && self.eps <= 1.0, "adam.eps", || {
            format!("adam eps must be in (0, 1], got {}", Num(self.eps))
        })
    }

    pub fn init(self, shapes: &[(usize, usize)]) -> Adam {
        let zeros = || shapes.iter().map(|&s| Array2::zeros(s)).collect();
        Adam { config: self, m: zeros(), v: zeros(), t: 0 }
    }
}

#[derive(Debug, Clone)]
pub struct Adam {
    pub config: AdamConfig,
    pub(crate) m: Vec<Array2<f32>>,
    pub(crate) v: Vec<Array2<f32>>,
    pub(crate) t: i32,
}

impl Adam {
    pub fn precondition(&mut self, updates: &mut [Array2<f32>]) {
        // Saturating: past 2³¹ steps βᵗ is 0 in f32 anyway, and a wrap would flip its sign.
        self.t = self.t.saturating_add(1);
        let (b1, b2, eps) = (self.config.beta1 as f32, self.config.beta2 as f32, self.config.eps as f32);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for ((u, m), v) in updates.iter_mut().zip(&mut self.m).zip(&mut self.v) {
            Zip::from(u).and(m).and(v).for_each(|u, m, v| {
                let g = *u;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *u = (*m / c1) / ((*v / c2).sqrt() + eps);
            });
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

    /// Golden values from this reference implementation, in plain Python:
    ///
    /// ```python
    /// import math
    /// b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    /// w, m, v = [0.5, -1.0, 2.0], [0.0] * 3, [0.0] * 3
    /// grads = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.0, 0.2]]
    /// for t, g in enumerate(grads, 1):
    ///     for i in range(3):
    ///         m[i] = b1 * m[i] + (1 - b1) * g[i]
    ///         v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
    ///         mh, vh = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
    ///         w[i] -= lr * mh / (math.sqrt(vh) + eps)
    /// print([f"{x:.9f}" for x in w])
    /// # ['0.484150441', '-0.996491026', '1.979966950']
    /// ```
    #[test]
    fn matches_golden_values() {
        let mut adam = AdamConfig::default().init(&[(1, 3)]);
        let mut w = array![[0.5f32, -1.0, 2.0]];
        for g in [[0.1f32, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.0, 0.2]] {
            let mut u = vec![array![g]];
            adam.precondition(&mut u);
            w.scaled_add(-0.01, &u[0]);
        }
        let want = [0.484150441f64, -0.996491026, 1.979966950];
        for (&got, want) in w.iter().zip(want) {
            assert!((got as f64 - want).abs() < 2e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn first_step_is_the_sign_of_the_gradient() {
        let mut adam = AdamConfig::default().init(&[(1, 2)]);
        let mut u = vec![array![[3.0f32, -0.001]]];
        adam.precondition(&mut u);
        assert!((u[0][[0, 0]] - 1.0).abs() < 1e-6 && (u[0][[0, 1]] + 1.0).abs() < 1e-4);
    }

    #[test]
    fn bad_hyperparameters_are_rejected() {
        assert!(AdamConfig { beta1: 1.0, ..Default::default() }.validate().is_err());
        assert!(AdamConfig { eps: f64::NAN, ..Default::default() }.validate().is_err());
        assert!(AdamConfig::default().validate().is_ok());
    }
}
