//! Optimizers: one interface, explicit state, configs whose defaults are the paper's.

pub mod sgd;

use ndarray::Array2;

use crate::model::Forward;

pub use sgd::{Sgd, SgdConfig};

/// Updates the weights in place from this step's gradient.
///
/// The forward pass is handed over as well because a natural-gradient method
/// needs each layer's inputs and pre-activations to learn its metric.
pub trait Optimizer: Send {
    fn name(&self) -> &'static str;
    fn update(&mut self, weights: &mut [Array2<f32>], grads: &[Array2<f32>], forward: &Forward<f32>);
}
