//! rngd-lab: SGD, Adam and Relative Natural Gradient Descent (Sun & Nielsen,
//! ICML 2017) training MLPs on MNIST, natively and in the browser.
//!
//! Module map:
//! - [`data`]: IDX parsing, the bundled MNIST subset, seeded batches;
//! - [`model`]: activations with their RFIM selectors, the MLP, the loss;
//! - [`fisher`]: the paper's closed-form RFIMs (neurons, layers, two layers), Monte-Carlo tested;
//! - [`optim`]: the optimizers behind one trait;
//! - [`backend`]: the CPU reference and the wgpu compute kernels;
//! - [`train`]: the trainer the CLI and the page drive;
//! - [`memory`]: the memory budget a config is checked against before anything is allocated;
//! - [`lessons`]: the page's lessons, computed from JSON parameters;
//! - `web`: the wasm-bindgen surface (wasm32 only).

pub mod backend;
pub mod clock;
pub mod config;
pub mod data;
pub mod diagnostics;
pub mod fisher;
pub mod lessons;
pub mod linalg;
pub mod memory;
pub mod model;
pub mod optim;
pub mod par;
pub mod rng;
pub mod train;

#[cfg(target_arch = "wasm32")]
mod web;

pub use config::{BackendChoice, ConfigError, TrainConfig};
pub use data::{DataError, Dataset};
pub use optim::OptimizerKind;
pub use train::{Evaluation, Snapshot, TrainError, Trainer};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
