//! A memory budget, checked before anything is allocated.
//!
//! [`MemoryPlan::of`] computes from a config's sizes what a trainer will hold
//! on the host (weights, gradients, optimizer state, activations, RNGD's
//! metrics and inverses, which grow as `d_out·(d_in+1)²/2` per layer), and
//! [`check`], called at the end of `TrainConfig::validate`, refuses a network
//! over the [`budget`] with a message naming the largest part. [`gpu`] does the
//! same for the GPU engine's buffers against WebGPU's default limits, before a
//! device is opened.

mod budget;
pub mod gpu;
mod plan;

pub use budget::{budget, default_budget, format_size, mem_total, parse_size, set_budget, GIB, KIB, MIB, TIB};
pub use gpu::{check_gpu, gpu_buffers};
pub use plan::{MemoryPlan, Part};

use crate::config::{ConfigError, TrainConfig};

/// The end of the refusal: what the budget is where the message is read.
#[cfg(target_arch = "wasm32")]
const WHERE: &str = ": each run in a browser tab is held to this budget";
#[cfg(not(target_arch = "wasm32"))]
const WHERE: &str = "; the command-line tool can raise its budget with --memory-budget";

/// Refuses a network whose [`MemoryPlan`] is over the process's [`budget`].
pub fn check(config: &TrainConfig) -> Result<(), ConfigError> {
    check_within(config, budget())
}

/// [`check`] against a given budget.
pub fn check_within(config: &TrainConfig, budget: u64) -> Result<(), ConfigError> {
    let plan = MemoryPlan::of(config);
    let total = plan.total();
    if total <= budget {
        return Ok(());
    }
    let largest = plan.largest().expect("a plan has parts");
    // The page shows the message beside this control: the batch when the
    // activations are what is too large, the hidden sizes otherwise.
    let field = if largest.what.starts_with("activations") { "batch" } else { "hidden" };
    Err(ConfigError::new(
        field,
        format!(
            "this network needs {} of memory, over the budget of {}; the largest part is {} ({}). \
             Use fewer or narrower hidden layers{}{WHERE}",
            format_size(total),
            format_size(budget),
            largest.what,
            format_size(largest.bytes),
            if largest.what.starts_with("activations") { " or a smaller batch" } else { "" },
        ),
    ))
}

#[cfg(test)]
mod tests;
