//! RFIMs of one layer (paper §3.2; arXiv eqs. 22–25 and appendices F–H).
//!
//! A layer W = [w_1 … w_m] is (d_in+1) × m with the bias as its last row; the
//! parameter vector stacks W's columns, so neuron i owns indices i·D..(i+1)·D
//! with D = d_in + 1. The input x is the reference.

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, Axis, NdFloat};

use super::gram::{augment_rows, kron_gram, pre_activations, weighted_gram};
use super::transfer::Transfer;
use crate::model::loss::softmax;

fn one_row<F: NdFloat>(x: ArrayView1<F>) -> ArrayView2<F> {
    x.insert_axis(Axis(0))
}

/// ν_f(w_i, x_k) for every sample k (row) and neuron i (column): n × m.
pub fn layer_selectors<F: NdFloat>(
    act: impl Into<Transfer>,
    w: ArrayView2<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array2<F> {
    let tr = act.into();
    pre_activations(w, x).mapv(|t| tr.nu(t, omega))
}

/// Linear layer y ~ N(Wᵀx̃, I): g^y(W | x) = diag[x̃x̃ᵀ, …, x̃x̃ᵀ] (arXiv eq. 22,
/// σ = 1). Every neuron has the same block, so only x̃x̃ᵀ is returned; expand
/// it with [`super::repeat_block_diag`].
pub fn linear_layer_rfim<F: NdFloat>(x: ArrayView1<F>) -> Array2<F> {
    linear_layer_rfim_batch(one_row(x))
}

/// The shared block averaged over a batch, (1/n) Σ_k x̃_k x̃_kᵀ: the metric
/// RNGD keeps for the input and softmax layers (RNGD.md, "shared metrics").
pub fn linear_layer_rfim_batch<F: NdFloat>(x: ArrayView2<F>) -> Array2<F> {
    let ones = ndarray::Array1::ones(x.nrows());
    weighted_gram(augment_rows(x).view(), ones.view())
}

/// Nonlinear layer with independent stochastic units (arXiv eq. 71):
/// g^y(W | x) = diag[ν_f(w_1,x) x̃x̃ᵀ, …, ν_f(w_m,x) x̃x̃ᵀ] (paper eq. 2).
/// Returned compactly as one D × D block per neuron (m × D × D); expand it
/// with [`super::block_diag`].
pub fn nonlinear_layer_rfim<F: NdFloat>(
    act: impl Into<Transfer>,
    w: ArrayView2<F>,
    x: ArrayView1<F>,
    omega: f64,
) -> Array3<F> {
    nonlinear_layer_rfim_batch(act, w, one_row(x), omega)
}

/// Batch average of eq. (2): block i is (1/n) Σ_k ν_f(w_i, x_k) x̃_k x̃_kᵀ,
/// the per-neuron metric of RNGD's hidden layers.
pub fn nonlinear_layer_rfim_batch<F: NdFloat>(
    act: impl Into<Transfer>,
    w: ArrayView2<F>,
    x: ArrayView2<F>,
    omega: f64,
) -> Array3<F> {
    let nu = layer_selectors(act, w, x, omega);
    let xt = augment_rows(x);
    let (m, d) = (w.ncols(), xt.ncols());
    let mut blocks = Array3::zeros((m, d, d));
    for (i, mut block) in blocks.outer_iter_mut().enumerate() {
        block.assign(&weighted_gram(xt.view(), nu.column(i)));
    }
    blocks
}

/// diag η_k − η_k η_kᵀ for each sample (n × m × m): the Fisher information of
/// a categorical y about its logits, with η_k = softmax(Wᵀx̃_k).
pub fn softmax_couplings<F: NdFloat>(w: ArrayView2<F>, x: ArrayView2<F>) -> Array3<F> {
    let eta = softmax(pre_activations(w, x).view());
    let (n, m) = eta.dim();
    Array3::from_shape_fn((n, m, m), |(k, i, j)| {
        let diag = if i == j { eta[[k, i]] } else { F::zero() };
        diag - eta[[k, i]] * eta[[k, j]]
    })
}

/// Softmax layer y ~ Categorical(η), η = softmax(Wᵀx̃) (arXiv eqs. 24–25):
/// a dense (mD) × (mD) matrix with blocks (η_i δ_ij − η_i η_j) x̃x̃ᵀ. Its
/// diagonal blocks look like sigmoid neurons; the off-diagonal ones couple
/// the classes because the probabilities sum to one.
pub fn softmax_layer_rfim<F: NdFloat>(w: ArrayView2<F>, x: ArrayView1<F>) -> Array2<F> {
    softmax_layer_rfim_batch(w, one_row(x))
}

/// Batch average of eq. (25): (1/n) Σ_k (diag η_k − η_k η_kᵀ) ⊗ x̃_k x̃_kᵀ.
pub fn softmax_layer_rfim_batch<F: NdFloat>(w: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
    kron_gram(softmax_couplings(w, x).view(), augment_rows(x).view())
}
