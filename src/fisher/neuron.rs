//! RFIM of one neuron (paper §3.1; arXiv eqs. 12, 14, 18, 20, 21):
//! g^y(w | x) = ν_f(wᵀx̃)·x̃x̃ᵀ, with x as the reference and w = (weights, bias)
//! as the parameters. The neuron's response y follows the unit's stochastic
//! model (see [`Transfer`]), so ν_f is the Fisher information about t = wᵀx̃
//! and the chain rule ∂t/∂w = x̃ gives the outer product.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, NdFloat};

use super::gram::{augment, augment_rows, weighted_gram};
use super::transfer::Transfer;

/// t = wᵀx̃, with the bias as the last entry of `w`.
pub fn pre_activation<F: NdFloat>(w: ArrayView1<F>, x: ArrayView1<F>) -> F {
    assert_eq!(w.len(), x.len() + 1, "w holds d_in weights and a bias");
    augment(x).dot(&w)
}

/// The selector ν_f(w, x) of one neuron on one sample: large where the
/// neuron is in its "effective learning zone" (paper §3.1).
pub fn neuron_selector<F: NdFloat>(act: impl Into<Transfer>, w: ArrayView1<F>, x: ArrayView1<F>, omega: f64) -> F {
    act.into().nu(pre_activation(w, x), omega)
}

/// The selectors ν_f(w, x_k) of one neuron over a batch X (n × d).
pub fn neuron_selectors<F: NdFloat>(
    act: impl Into<Transfer>,
    w: ArrayView1<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array1<F> {
    let tr = act.into();
    let w2 = w.insert_axis(Axis(1));
    super::gram::pre_activations(w2, x).column(0).mapv(|t| tr.nu(t, omega))
}

/// g^y(w | x) = ν_f(wᵀx̃)·x̃x̃ᵀ, a (d+1) × (d+1) matrix.
pub fn neuron_rfim<F: NdFloat>(act: impl Into<Transfer>, w: ArrayView1<F>, x: ArrayView1<F>, omega: f64) -> Array2<F> {
    let xt = augment(x);
    let nu = neuron_selector(act, w, x, omega);
    let col = xt.view().insert_axis(Axis(1));
    col.dot(&col.t()) * nu
}

/// The batch average (1/n) Σ_k ν_f(w, x_k) x̃_k x̃_kᵀ that RNGD accumulates
/// as a neuron's metric (RNGD.md, "Metric update").
pub fn neuron_rfim_batch<F: NdFloat>(
    act: impl Into<Transfer>,
    w: ArrayView1<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array2<F> {
    let nu = neuron_selectors(act, w, x, omega);
    weighted_gram(augment_rows(x).view(), nu.view())
}
