//! wgpu compute kernels: WebGPU in the browser, Vulkan (or any native backend) elsewhere.
//!
//! Long-lived objects live in [`GpuContext`]; each kernel owns its pipeline and
//! takes the context by reference, so tests can hand in the device they made.

mod context;
mod metric_update;

pub use context::{GpuContext, GpuError};
pub use metric_update::{MetricShape, MetricUpdateKernel};
