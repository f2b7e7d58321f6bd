//! The network: activations (f, f′, ν_f), the MLP and its loss.

pub mod activation;
pub mod loss;
pub mod mlp;

pub use activation::Activation;
pub use mlp::{Arch, BatchNorm, Forward, LossGrad, Mlp};
