//! The page's lessons: small, self-contained computations that show the ideas
//! behind RNGD one at a time, each computed live by the crate from the
//! parameters the page's controls send (as JSON) and answered as JSON.
//!
//! - [`gaussian`] (a): gradient descent and natural gradient fitting N(μ, σ),
//!   in three parameterisations; the Fisher information as the curvature of KL;
//! - [`neuron`] (b): one sigmoid neuron on MNIST 3-vs-5, GD vs NGD vs whitened inputs;
//! - [`relu`] (c): a ReLU neuron's RFIM in closed form against Monte Carlo,
//!   and why ν selects samples;
//! - [`exact`] (d): the exact Fisher of a tiny MLP next to RNGD's blocks;
//! - [`mirror`] (e): mirror descent with the log-partition function is
//!   natural gradient on an exponential family.
//!
//! Each lesson validates its own parameters with [`params::Params`], whose
//! messages name the offending field, so the page can show them as they are.

use serde_json::Value;

use crate::Dataset;

pub mod exact;
pub mod gaussian;
pub mod mirror;
pub mod neuron;
pub mod params;
pub mod relu;

/// The lessons in the page's order.
pub const NAMES: [&str; 5] = ["gaussian", "neuron", "relu", "exact", "mirror"];

/// Runs lesson `name` with `params` (a JSON object; null means every default).
/// `data` is the MNIST subset, for the lessons that can use it; a lesson that
/// needs it and gets none says so.
pub fn run(name: &str, params: &Value, data: Option<&Dataset>) -> Result<Value, String> {
    match name {
        "gaussian" => gaussian::run(params, data),
        "relu" => relu::run(params, data),
        "mirror" => mirror::run(params, data),
        "exact" => exact::run(params, data),
        "neuron" => neuron::run(params, data),
        _ => Err(format!("unknown lesson {name:?}; expected one of {}", NAMES.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn unknown_lessons_are_named_in_the_error() {
        let e = run("nope", &Value::Null, None).unwrap_err();
        assert!(e.contains("\"nope\"") && e.contains("gaussian"), "{e}");
    }
}
