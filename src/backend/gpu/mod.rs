//! wgpu compute kernels: WebGPU in the browser, Vulkan (or any native backend) elsewhere.
//!
//! Long-lived objects live in [`GpuContext`]; the kernels are compiled once per
//! device ([`kernel::Kernels`]) and the [`engine::GpuEngine`] records a whole
//! training step as dispatches over buffers that stay on the device.

pub mod checks;
mod context;
pub mod engine;
pub mod kernel;
mod metric_update;

pub use context::{GpuContext, GpuError};
pub use engine::GpuEngine;
pub use metric_update::{MetricShape, MetricUpdateKernel};
