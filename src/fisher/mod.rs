//! Relative Fisher information matrices (RFIMs) in closed form: the tables of
//! Sun & Nielsen (ICML 2017, §3; arXiv version §3 and appendices A–I).
//!
//! An RFIM g^h(θ | θ_f) is E[∂θ log p(h | θ, θ_f) ∂θ log p(h | θ, θ_f)ᵀ] for a
//! subsystem with parameters θ, reference θ_f held fixed and response h
//! (paper, Definition 1). Here θ is always a weight vector or layer W with the
//! bias included: inputs are augmented, x̃ = (xᵀ, 1)ᵀ, and a layer W is
//! (d_in+1) × d_out with column i = neuron i and the bias as last row (the
//! MLP's convention). Vectorised, W stacks its columns, so entry `a` of
//! neuron `i` is index `i·(d_in+1) + a`.
//!
//! - [`neuron`]: one neuron, ν_f·x̃x̃ᵀ, for every [`Transfer`];
//! - [`layer`]: linear (shared x̃x̃ᵀ), nonlinear (one block per neuron) and
//!   softmax (dense) layers;
//! - [`two_layer`]: the lower layer's inter-neuron correlations (eq. 26);
//! - [`gram`]: augmentation and the block assembly they share.
//!
//! Each closed form has a `_batch` variant that averages it over the rows of
//! X (n × d_in), which is what RNGD's metrics accumulate. The tests sample
//! each stochastic model and check E[score scoreᵀ] by Monte Carlo.

pub mod gram;
pub mod layer;
pub mod neuron;
pub mod transfer;
pub mod two_layer;

// Also used by the RFIM lesson (src/lessons/relu.rs), which sets the closed
// form beside a Monte-Carlo estimate on the page.
pub mod montecarlo;
#[cfg(test)]
mod tests;

pub use gram::{augment, augment_rows, block_diag, repeat_block_diag};
pub use layer::{
    layer_selectors, linear_layer_rfim, linear_layer_rfim_batch, nonlinear_layer_rfim, nonlinear_layer_rfim_batch,
    softmax_layer_rfim, softmax_layer_rfim_batch,
};
pub use neuron::{neuron_rfim, neuron_rfim_batch, neuron_selector, neuron_selectors};
pub use transfer::{relu_omega, Transfer};
pub use two_layer::{two_layer_rfim, two_layer_rfim_batch};
