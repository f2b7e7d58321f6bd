//! Which neurons still select samples: the selector ν of every neuron over the
//! latest minibatch, read as dead, saturated or working.
//!
//! ν is measured against its own peak, the largest value the activation's ν can
//! take (1 for (P)ReLU and tanh, 1/4 for the sigmoid, max(1, α²) for ELU):
//!
//! - a **dead** rectifier (ReLU, PReLU, ELU) has ν below [`LOW`] of its peak on
//!   every sample: it is off everywhere and learns from nothing;
//! - a **saturated** rectifier has ν above [`HIGH`] of its peak on every sample:
//!   it is on everywhere, so it acts as a linear unit and selects no subset;
//! - a **saturated** sigmoid or tanh has ν below [`LOW`] of its peak on every
//!   sample: its output is pinned near one of its bounds, where its slope,
//!   and so its gradient, vanishes. These have no "dead" state of their own.
//!
//! ω smooths the rectifier's ν (a sigmoid of t/ω), so ν is near 0 or 1 only
//! when the pre-activation is a few ω from the kink: a dead ReLU by this rule
//! has t below about −1.2ω on every sample, a saturated one above about 3.6ω.

use ndarray::{ArrayView2, Axis};
use serde::Serialize;

use crate::model::Activation;

/// ν below this fraction of its peak counts as "off" on that sample.
pub const LOW: f32 = 0.05;
/// ν above this fraction of its peak counts as "fully on" on that sample.
pub const HIGH: f32 = 0.95;

/// The largest value ν can take for `act`.
pub fn nu_peak(act: Activation) -> f32 {
    match act {
        Activation::Relu | Activation::Prelu { .. } | Activation::Tanh => 1.0,
        Activation::Sigmoid => 0.25,
        Activation::Elu { alpha } => (alpha * alpha).max(1.0) as f32,
    }
}

/// Rectifiers die (ν ≈ 0 everywhere); sigmoid and tanh saturate instead.
fn is_rectifier(act: Activation) -> bool {
    matches!(act, Activation::Relu | Activation::Prelu { .. } | Activation::Elu { .. })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectorHealth {
    /// The largest ν the activation allows; the thresholds are fractions of it.
    pub peak: f32,
    /// Neurons whose ν is below `LOW`·peak on every sample (rectifiers only).
    pub dead: Vec<usize>,
    /// Rectifiers with ν above `HIGH`·peak on every sample; sigmoid or tanh
    /// neurons with ν below `LOW`·peak on every sample.
    pub saturated: Vec<usize>,
    /// The rule above in words, for the page.
    pub rule: String,
}

/// Classifies each neuron (a column of `nu`, samples × neurons).
pub fn health(act: Activation, nu: ArrayView2<f32>) -> SelectorHealth {
    let peak = nu_peak(act);
    let (low, high) = (LOW * peak, HIGH * peak);
    let all = |f: &dyn Fn(f32) -> bool| -> Vec<usize> {
        nu.axis_iter(Axis(1))
            .enumerate()
            .filter(|(_, col)| !col.is_empty() && col.iter().all(|&v| f(v)))
            .map(|(i, _)| i)
            .collect()
    };
    if is_rectifier(act) {
        SelectorHealth {
            peak,
            dead: all(&|v| v < low),
            saturated: all(&|v| v > high),
            rule: format!(
                "dead: ν below {LOW} × its peak {peak} on every sample of the batch (never active); saturated: ν \
                 above {HIGH} × {peak} on every sample (always active, so a linear unit that selects nothing)"
            ),
        }
    } else {
        SelectorHealth {
            peak,
            dead: Vec::new(),
            saturated: all(&|v| v < low),
            rule: format!(
                "saturated: ν below {LOW} × its peak {peak} on every sample of the batch (the output is stuck \
                 near a bound, where the slope and the gradient vanish)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// ν of `act` over pre-activations (samples × neurons).
    fn nu_of(act: Activation, pre: &Array2<f32>) -> Array2<f32> {
        pre.mapv(|t| act.nu(t, 1.0))
    }

    #[test]
    fn relu_neurons_far_below_or_above_the_kink_are_dead_or_saturated() {
        // Neuron 0: always far below (t ≤ −3), dead. 1: always far above (t ≥ 5), saturated.
        // 2: mixed, working. 3: just below the kink (t = −0.5): ν = sigm(−0.5)² ≈ 0.14, not dead.
        let t = Array1::linspace(0.0f32, 1.0, 6);
        let pre = Array2::from_shape_fn((6, 4), |(k, i)| match i {
            0 => -3.0 - t[k],
            1 => 5.0 + t[k],
            2 => -4.0 + 8.0 * t[k],
            _ => -0.5,
        });
        let h = health(Activation::Relu, nu_of(Activation::Relu, &pre).view());
        assert_eq!((h.peak, h.dead.clone(), h.saturated.clone()), (1.0, vec![0], vec![1]));
        // The smoothing in numbers: at t = −1.2 ν = sigm(−1.2)² ≈ 0.0536 (not yet dead), at −1.3 it is 0.0456.
        let edge = |x: f32| health(Activation::Relu, nu_of(Activation::Relu, &Array2::from_elem((3, 1), x)).view());
        assert!(edge(-1.2).dead.is_empty() && edge(-1.3).dead == vec![0]);
        assert!(edge(3.5).saturated.is_empty() && edge(3.7).saturated == vec![0]);
    }

    #[test]
    fn sigmoid_and_tanh_saturate_where_nu_vanishes() {
        // Sigmoid ν peaks at 1/4; at |t| = 4 it is 0.0177 = 0.07·peak, at |t| = 5 0.0066 = 0.026·peak.
        let pre = Array2::from_shape_fn((4, 3), |(k, i)| match i {
            0 => [5.0, -6.0][k % 2],
            1 => 4.0,
            _ => 0.0,
        });
        let s = health(Activation::Sigmoid, nu_of(Activation::Sigmoid, &pre).view());
        assert_eq!((s.peak, s.dead.clone(), s.saturated.clone()), (0.25, vec![], vec![0]));
        let th = health(Activation::Tanh, nu_of(Activation::Tanh, &pre).view());
        // tanh: sech²(4) = 1.3e-3, so neurons 0 and 1 are saturated; neuron 2 sits at the peak.
        assert_eq!(th.saturated, vec![0, 1]);
    }
}
