//! `kernels/metric_update.wgsl` on its own: the per-neuron RFIM update for a
//! whole layer in one dispatch, with host arrays in and out. The engine
//! records the same kernel over resident buffers; the tests and the page's
//! start-up self-test use this form.

use super::engine::params;
use super::kernel::{gemm_groups, KernelId, Kernels};
use super::{GpuContext, GpuError};
use wgpu::util::DeviceExt;

/// Sizes of one metric-update problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricShape {
    /// Samples in the minibatch.
    pub batch: usize,
    /// Augmented input width D = d_in + 1.
    pub dim: usize,
    /// Neurons, one D×D metric each.
    pub neurons: usize,
}

pub struct MetricUpdateKernel {
    kernels: Kernels,
}

impl MetricUpdateKernel {
    pub fn new(ctx: &GpuContext) -> MetricUpdateKernel {
        MetricUpdateKernel { kernels: Kernels::new(&ctx.device) }
    }

    /// Applies `G_i ← (1−λ)G_i + λ·mean_k ν_ki h̃_k h̃_kᵀ` to every neuron and returns the new metrics.
    ///
    /// `g` is neurons × dim × dim, `h` batch × dim (augmented), `nu` batch × neurons, all row-major.
    pub async fn run(
        &self,
        ctx: &GpuContext,
        g: &[f32],
        h: &[f32],
        nu: &[f32],
        shape: MetricShape,
        lambda: f32,
    ) -> Result<Vec<f32>, GpuError> {
        let MetricShape { batch, dim, neurons } = shape;
        assert!(batch >= 1 && dim >= 1 && neurons >= 1, "empty problem: batch {batch}, dim {dim}, neurons {neurons}");
        assert_eq!(g.len(), neurons * dim * dim, "g must be neurons × dim × dim");
        assert_eq!(h.len(), batch * dim, "h must be batch × dim");
        assert_eq!(nu.len(), batch * neurons, "nu must be batch × neurons");
        ctx.check_size(|| "the metrics".into(), (g.len() * 4) as u64)?;
        let dev = &ctx.device;
        let storage = |label, data: &[f32]| {
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            })
        };
        let (h_buf, nu_buf, g_buf) = (storage("h", h), storage("nu", nu), storage("g", g));
        let p = params::MetricUpdate {
            batch: batch as u32,
            dim: dim as u32,
            neurons: neurons as u32,
            lambda,
            ..Default::default()
        };
        let tiles = gemm_groups(dim, dim).0;
        let d = self.kernels.dispatch(
            dev,
            KernelId::MetricUpdate,
            &p,
            &[&h_buf, &nu_buf, &g_buf],
            (tiles, tiles, neurons as u32),
        );
        super::engine::run_once(ctx, &self.kernels, &[d], Default::default());
        ctx.read_f32(&g_buf).await
    }
}
