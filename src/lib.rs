//! rngd-lab: SGD, Adam and Relative Natural Gradient Descent (Sun & Nielsen,
//! ICML 2017) training MLPs on MNIST, natively and in the browser.
//!
//! Module map:
//! - [`data`]: IDX parsing, the bundled MNIST subset, seeded batches;
//! - [`model`]: activations with their RFIM selectors, the MLP, the loss;
//! - [`optim`]: the optimizers behind one trait;
//! - [`backend`]: the CPU reference and the wgpu compute kernels;
//! - [`train`]: the trainer the CLI and the page drive;
//! - `web`: the wasm-bindgen surface (wasm32 only).

pub mod backend;
pub mod config;
pub mod data;
pub mod model;
pub mod optim;
pub mod rng;
pub mod train;

#[cfg(target_arch = "wasm32")]
mod web;

pub use config::{ConfigError, OptimizerKind, TrainConfig};
pub use data::{DataError, Dataset};
pub use train::{Evaluation, Snapshot, TrainError, Trainer};
