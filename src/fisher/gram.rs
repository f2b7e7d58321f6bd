//! Shared building blocks: augmented inputs x̃ = (xᵀ, 1)ᵀ, weighted second
//! moments of x̃, and block-diagonal / Kronecker assembly.
//!
//! Every RFIM in the paper's tables is a sum of terms κ ⊗ x̃x̃ᵀ, where κ is a
//! small matrix over neurons (diag ν for a nonlinear layer, diag η − ηηᵀ for
//! softmax, …). A parameter vector stacks the columns of W, so entry `a` of
//! neuron `i` has index `i·D + a` with D = d_in + 1.

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis, NdFloat};

use super::transfer::c;

/// x̃ = (xᵀ, 1)ᵀ: the trailing 1 multiplies the bias (the last row of W).
pub fn augment<F: NdFloat>(x: ArrayView1<F>) -> Array1<F> {
    let mut xt = Array1::ones(x.len() + 1);
    xt.slice_mut(s![..x.len()]).assign(&x);
    xt
}

/// Row-wise x̃ for a batch (n × d) → (n × (d+1)).
pub fn augment_rows<F: NdFloat>(x: ArrayView2<F>) -> Array2<F> {
    let mut xt = Array2::ones((x.nrows(), x.ncols() + 1));
    xt.slice_mut(s![.., ..x.ncols()]).assign(&x);
    xt
}

/// Pre-activations X̃W (n × m) of a layer W ((d+1) × m) on a batch X (n × d).
pub fn pre_activations<F: NdFloat>(w: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
    assert_eq!(w.nrows(), x.ncols() + 1, "W must be (d_in+1) × d_out");
    augment_rows(x).dot(&w)
}

/// (1/n) Σ_k weights_k x̃_k x̃_kᵀ for the augmented rows `xt` (n × D).
/// Symmetrised explicitly so that callers get an exactly symmetric matrix.
pub fn weighted_gram<F: NdFloat>(xt: ArrayView2<F>, weights: ArrayView1<F>) -> Array2<F> {
    assert_eq!(xt.nrows(), weights.len());
    let scaled = &xt * &weights.insert_axis(Axis(1));
    let g = scaled.t().dot(&xt);
    (&g + &g.t()) * c::<F>(0.5 / xt.nrows() as f64)
}

/// (1/n) Σ_k κ_k ⊗ x̃_k x̃_kᵀ, for symmetric per-sample neuron couplings
/// `coef` (n × m × m). Block (i, j) is (1/n) Σ_k κ_k[i, j] x̃_k x̃_kᵀ.
pub fn kron_gram<F: NdFloat>(coef: ArrayView3<F>, xt: ArrayView2<F>) -> Array2<F> {
    let (m, d) = (coef.len_of(Axis(1)), xt.ncols());
    let mut g = Array2::zeros((m * d, m * d));
    for i in 0..m {
        for j in i..m {
            let block = weighted_gram(xt, coef.slice(s![.., i, j]));
            g.slice_mut(s![i * d..(i + 1) * d, j * d..(j + 1) * d]).assign(&block);
            g.slice_mut(s![j * d..(j + 1) * d, i * d..(i + 1) * d]).assign(&block.t());
        }
    }
    g
}

/// diag[B_1, …, B_m] from per-neuron blocks (m × D × D).
pub fn block_diag<F: NdFloat>(blocks: ArrayView3<F>) -> Array2<F> {
    let (m, d) = (blocks.len_of(Axis(0)), blocks.len_of(Axis(1)));
    let mut g = Array2::zeros((m * d, m * d));
    for (i, b) in blocks.outer_iter().enumerate() {
        g.slice_mut(s![i * d..(i + 1) * d, i * d..(i + 1) * d]).assign(&b);
    }
    g
}

/// diag[B, …, B] with `m` copies of one shared block (the linear layer).
pub fn repeat_block_diag<F: NdFloat>(block: ArrayView2<F>, m: usize) -> Array2<F> {
    let shape = (m, block.nrows(), block.ncols());
    let blocks = Array3::from_shape_fn(shape, |(_, a, b)| block[[a, b]]);
    block_diag(blocks.view())
}
