//! Host side of `metric_update.wgsl`: the per-neuron RFIM update for a whole layer in one dispatch.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};

const TILE: u32 = 16;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    dim: u32,
    neurons: u32,
    lambda: f32,
}

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
    pipeline: wgpu::ComputePipeline,
}

impl MetricUpdateKernel {
    pub fn new(ctx: &GpuContext) -> MetricUpdateKernel {
        let module = ctx.device.create_shader_module(wgpu::include_wgsl!("metric_update.wgsl"));
        let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("metric_update"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        MetricUpdateKernel { pipeline }
    }

    /// Applies `G_i ← (1−λ)G_i + λ·mean_k ν_ki h̃_k h̃_kᵀ` to every neuron and returns the new metrics.
    ///
    /// `g` is neurons × dim × dim, `h` batch × dim (augmented), `nu` batch × neurons, all row-major.
    /// This uploads and reads back everything; it is the building block that the
    /// resident-buffer training path and the tests share.
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
        let needed = (g.len() * 4) as u64;
        if needed > ctx.max_storage_binding() {
            return Err(GpuError::TooLarge { what: "the metrics", needed, limit: ctx.max_storage_binding() });
        }
        let dev = &ctx.device;
        let params = Params { batch: batch as u32, dim: dim as u32, neurons: neurons as u32, lambda };
        let storage = |label, data: &[f32], extra| {
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE | extra,
            })
        };
        let params_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("metric_update params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let h_buf = storage("h", h, wgpu::BufferUsages::empty());
        let nu_buf = storage("nu", nu, wgpu::BufferUsages::empty());
        let g_buf = storage("g", g, wgpu::BufferUsages::COPY_SRC);

        let bind = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("metric_update"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: h_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: nu_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: g_buf.as_entire_binding() },
            ],
        });
        let tiles = (dim as u32).div_ceil(TILE);
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("metric_update") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("metric_update"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(tiles, tiles, neurons as u32);
        }
        ctx.queue.submit([enc.finish()]);
        ctx.read_f32(&g_buf).await
    }
}
