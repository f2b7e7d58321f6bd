//! RFIM of two layers (paper §3.3; arXiv eq. 26 and appendix I): the
//! inter-neuron correlations of a lower layer W seen through an upper layer C.
//!
//! # Model
//! x → h = μ_low(Wᵀx̃) → y, with
//! - W ((d+1) × m_h) the lower layer and the **only parameters** of this RFIM
//!   (all of its entries, bias row included, columns stacked: neuron i owns
//!   indices i·D..(i+1)·D, D = d + 1);
//! - x and C ((m_h+1) × m_y, bias as last row) the **reference**, held fixed
//!   (paper: "both x and C are considered as references"), so the W–C
//!   cross terms of the full Fisher are left out by construction;
//! - h deterministic: the lower units are reduced to their mean (the paper's
//!   §2 "Dirac" reduction), h_i = μ_low(w_iᵀx̃), with (P)ReLU smoothed to
//!   relu_ω as in the one-neuron table;
//! - y_1 … y_{m_y} independent given h, y_l drawn from the upper unit's
//!   one-neuron model at s_l = c_lᵀh̃ (the paper's appendix I takes
//!   multivariate Bernoulli outputs, i.e. tanh or sigmoid units; the same
//!   derivation holds for the Gaussian units).
//!
//! # Closed form
//! The score is Σ_l (∂ log p(y_l)/∂s_l) ∂s_l/∂W with ∂s_l/∂w_i = c_il μ′_low(t_i) x̃,
//! and E[(∂ log p(y_l)/∂s_l)²] = ν_up(s_l), the cross terms vanishing by
//! independence (arXiv eq. 80). Hence
//!
//! G_ij = Σ_l c_il c_jl ν_up(c_lᵀh̃) μ′_low(w_iᵀx̃) μ′_low(w_jᵀx̃) x̃x̃ᵀ.
//!
//! Eq. (26) writes ν_f(w_i, x) ν_f(w_j, x) where we have μ′_low(t_i) μ′_low(t_j):
//! its derivation (arXiv eq. 81) substitutes ∂h_i/∂w_i = ν_f(w_i, x) x̃, which
//! is exact for the Bernoulli units it treats (tanh, sigmoid: ν_f = μ′), so
//! there the two coincide. For Gaussian units ((P)ReLU, ELU) ν_f = μ′², and
//! eq. (26) read literally would not be the Fisher information of the model;
//! we keep μ′, which the Monte-Carlo tests confirm for every unit.

use ndarray::{s, Array2, Array3, ArrayView1, ArrayView2, Axis, NdFloat};

use super::gram::{augment_rows, kron_gram, pre_activations};
use super::transfer::Transfer;

/// The per-sample couplings κ_k[i, j] = μ′(t_ki) μ′(t_kj) Σ_l c_il c_jl ν_up(s_kl)
/// (n × m_h × m_h), so that the RFIM is (1/n) Σ_k κ_k ⊗ x̃_k x̃_kᵀ.
pub fn two_layer_couplings<F: NdFloat>(
    lower: impl Into<Transfer>,
    w: ArrayView2<F>,
    upper: impl Into<Transfer>,
    c: ArrayView2<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array3<F> {
    let (lower, upper) = (lower.into(), upper.into());
    let m_h = w.ncols();
    assert_eq!(c.nrows(), m_h + 1, "C must be (m_h+1) × m_y");
    let t = pre_activations(w, x);
    let h = t.mapv(|t| lower.mean(t, omega));
    let gain = t.mapv(|t| lower.gain(t, omega));
    let nu = pre_activations(c, h.view()).mapv(|s| upper.nu(s, omega));
    let c0 = c.slice(s![..m_h, ..]);
    let mut kappa = Array3::zeros((x.nrows(), m_h, m_h));
    for (k, mut kk) in kappa.outer_iter_mut().enumerate() {
        let scaled = &c0 * &nu.row(k).insert_axis(Axis(0));
        let g = gain.row(k);
        let mut coupling = scaled.dot(&c0.t());
        coupling *= &g.insert_axis(Axis(1));
        coupling *= &g.insert_axis(Axis(0));
        kk.assign(&coupling);
    }
    kappa
}

/// g^y(W | x, C) = (G_ij) for one input x: (m_h·D) × (m_h·D), see the module docs.
pub fn two_layer_rfim<F: NdFloat>(
    lower: impl Into<Transfer>,
    w: ArrayView2<F>,
    upper: impl Into<Transfer>,
    c: ArrayView2<F>,
    x: ArrayView1<F>,
    omega: f64,
) -> Array2<F> {
    two_layer_rfim_batch(lower, w, upper, c, x.insert_axis(Axis(0)), omega)
}

/// The two-layer RFIM averaged over a batch X (n × d).
pub fn two_layer_rfim_batch<F: NdFloat>(
    lower: impl Into<Transfer>,
    w: ArrayView2<F>,
    upper: impl Into<Transfer>,
    c: ArrayView2<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array2<F> {
    let kappa = two_layer_couplings(lower, w, upper, c, x, omega);
    kron_gram(kappa.view(), augment_rows(x).view())
}
