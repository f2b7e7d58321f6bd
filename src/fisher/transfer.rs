//! The stochastic neuron models behind the RFIM table (paper §3.1; arXiv
//! version §3.1 and appendices A–E): for each transfer function, the mean
//! E[y | t] of the neuron's output at pre-activation t = wᵀx̃, its derivative
//! (the "gain") and the selector ν_f, which is the Fisher information of y
//! with respect to t.
//!
//! Two families occur:
//! - Bernoulli units (tanh with y ∈ {−1, 1}, sigmoid with y ∈ {0, 1}):
//!   ν_f = μ′(t), because Var[y | t] = μ′(t) for these two;
//! - Gaussian units y ~ N(μ(t), σ²) with σ = 1 ((P)ReLU smoothed, ELU,
//!   identity): ν_f = μ′(t)² (arXiv eq. 58).
//!
//! The two-layer RFIM needs μ′ itself rather than ν_f; see `two_layer.rs`.

use ndarray::NdFloat;

use crate::model::Activation;

pub(crate) fn c<F: NdFloat>(x: f64) -> F {
    F::from(x).expect("constant fits the float type")
}

fn sigm<F: NdFloat>(t: F) -> F {
    F::one() / (F::one() + (-t).exp())
}

/// A neuron's transfer function: one of the crate's activations, or the
/// identity of a linear neuron (ν = 1, arXiv eq. 22 with σ = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transfer {
    Identity,
    Act(Activation),
}

impl From<Activation> for Transfer {
    fn from(a: Activation) -> Self {
        Transfer::Act(a)
    }
}

/// The smoothed (P)ReLU of arXiv eq. (40): relu_ω(t) = ω ln(e^{ιt/ω} + e^{t/ω}).
///
/// Its derivative is ι + (1−ι)·sigm((1−ι)t/ω) (arXiv eq. 41), whose square is
/// the (P)ReLU selector of the paper's table; relu_ω → (P)ReLU as ω → 0⁺.
/// Written as max(ιt, t) + ω ln(1 + e^{−(1−ι)|t|/ω}) so that exp never overflows.
pub fn relu_omega<F: NdFloat>(t: F, leak: f64, omega: f64) -> F {
    let (i, w) = (c::<F>(leak), c::<F>(omega));
    let gap = (F::one() - i) * t.abs() / w;
    t.max(i * t) + w * (-gap).exp().ln_1p()
}

impl Transfer {
    /// Whether the unit's output is Bernoulli (tanh, sigmoid) rather than
    /// Gaussian with unit variance ((P)ReLU, ELU, identity).
    pub fn is_bernoulli(&self) -> bool {
        matches!(self, Transfer::Act(Activation::Tanh | Activation::Sigmoid))
    }

    /// μ(t) = E[y | t] of the unit's stochastic model. (P)ReLU uses the
    /// smoothed relu_ω, as the paper does to obtain a continuous selector.
    pub fn mean<F: NdFloat>(&self, t: F, omega: f64) -> F {
        match *self {
            Transfer::Identity => t,
            Transfer::Act(Activation::Relu) => relu_omega(t, 0.0, omega),
            Transfer::Act(Activation::Prelu { leak }) => relu_omega(t, leak, omega),
            Transfer::Act(a) => a.f(t),
        }
    }

    /// μ′(t): how fast the unit's mean output moves with its pre-activation.
    pub fn gain<F: NdFloat>(&self, t: F, omega: f64) -> F {
        match *self {
            Transfer::Identity => F::one(),
            Transfer::Act(Activation::Relu) => sigm(t / c(omega)),
            Transfer::Act(Activation::Prelu { leak }) => {
                let i = c::<F>(leak);
                i + (F::one() - i) * sigm((F::one() - i) * t / c(omega))
            }
            Transfer::Act(a) => a.df(t),
        }
    }

    /// The selector ν_f(t) of the paper's table (σ = 1): the Fisher
    /// information of the unit's output about its pre-activation, so that
    /// the one-neuron RFIM is ν_f·x̃x̃ᵀ.
    pub fn nu<F: NdFloat>(&self, t: F, omega: f64) -> F {
        match *self {
            Transfer::Identity => F::one(),
            Transfer::Act(a) => a.nu(t, omega),
        }
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::fisher::montecarlo::TRANSFERS as ALL;

    /// ν = μ′ for Bernoulli units and ν = μ′² for Gaussian ones: this ties the
    /// crate's selectors (`Activation::nu`) to the models sampled in the tests.
    #[test]
    fn selector_is_the_fisher_information_of_the_mean() {
        for tr in ALL {
            for &t in &[-4.0f64, -1.3, -0.2, 0.0, 0.3, 2.5] {
                let g = tr.gain(t, 0.7);
                let expected = if tr.is_bernoulli() { g } else { g * g };
                assert!((tr.nu(t, 0.7) - expected).abs() < 1e-14, "{tr:?} at {t}");
            }
        }
    }

    #[test]
    fn gain_is_the_derivative_of_the_mean() {
        for tr in ALL {
            for &t in &[-2.3f64, -0.7, 0.4, 1.9] {
                let h = 1e-6;
                let fd = (tr.mean(t + h, 0.7) - tr.mean(t - h, 0.7)) / (2.0 * h);
                assert!((fd - tr.gain(t, 0.7)).abs() < 1e-8, "{tr:?} at {t}: {fd}");
            }
        }
    }

    #[test]
    fn smoothed_relu_matches_its_definition_and_limit() {
        for &(t, leak, omega) in &[(0.4f64, 0.0, 1.0), (-1.1, 0.2, 0.5), (3.0, 0.1, 2.0)] {
            let direct = omega * ((leak * t / omega).exp() + (t / omega).exp()).ln();
            assert!((relu_omega(t, leak, omega) - direct).abs() < 1e-12);
        }
        assert!((relu_omega(-2.0f64, 0.0, 1e-3)).abs() < 1e-12);
        assert!((relu_omega(-2.0f64, 0.25, 1e-3) + 0.5).abs() < 1e-12);
        assert!((relu_omega(1e6f64, 0.0, 1.0) - 1e6).abs() < 1e-6);
    }
}
