//! The compute kernels, each compiled once per device with an explicit
//! bind-group layout, and the recorded dispatches a training step replays.
//!
//! Every kernel's group 0 is its static uniform `Params` (binding 0) followed by
//! its storage buffers, in the order the `.wgsl` file declares them. Kernels
//! that change from step to step also read group 1: one [`StepInfo`] picked by
//! a dynamic offset, so many steps fit in one submission without rewriting
//! any buffer between them.

use std::borrow::Cow;
use std::num::NonZeroU64;

use wgpu::util::DeviceExt;

use crate::model::Activation;

/// Prepended to every kernel: `StepInfo`, the activation functions, `not_finite`.
const COMMON: &str = include_str!("kernels/common.wgsl");

/// Bytes between two steps' [`StepInfo`] in the step buffer: WebGPU's
/// minimum uniform-offset alignment.
pub const STEP_STRIDE: u64 = 256;

/// What changes between steps; mirrors `StepInfo` in `common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepInfo {
    pub index_offset: u32,
    pub step: u32,
    pub slot: u32,
    pub valid: u32,
    pub c1: f32,
    pub c2: f32,
    /// Batch norm's running-statistics rate for this step ([`crate::model::mlp::bn_running_rate`]).
    pub bn_rate: f32,
    pub pad: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    ReadWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelId {
    Gather,
    Gemm,
    ActivationForward,
    ActivationBackward,
    BatchNormTrain,
    BatchNormEval,
    BatchNormBackward,
    SoftmaxXent,
    Loss,
    MetricUpdate,
    Precondition,
    Apply,
}

use Access::{Read as R, ReadWrite as W};

impl KernelId {
    pub const ALL: [KernelId; 12] = [
        KernelId::Gather,
        KernelId::Gemm,
        KernelId::ActivationForward,
        KernelId::ActivationBackward,
        KernelId::BatchNormTrain,
        KernelId::BatchNormEval,
        KernelId::BatchNormBackward,
        KernelId::SoftmaxXent,
        KernelId::Loss,
        KernelId::MetricUpdate,
        KernelId::Precondition,
        KernelId::Apply,
    ];

    /// The kernel's source, its storage bindings after `Params`, and whether it reads `StepInfo`.
    fn spec(self) -> (&'static str, &'static str, &'static [Access], bool) {
        match self {
            KernelId::Gather => ("gather", include_str!("kernels/gather.wgsl"), &[R, R, R, W, W], true),
            KernelId::Gemm => ("gemm", include_str!("kernels/gemm.wgsl"), &[R, R, W, R], false),
            KernelId::ActivationForward => {
                ("activation_forward", include_str!("kernels/activation_forward.wgsl"), &[R, W, W], false)
            }
            KernelId::ActivationBackward => {
                ("activation_backward", include_str!("kernels/activation_backward.wgsl"), &[R, R, W], false)
            }
            KernelId::BatchNormTrain => (
                "batchnorm_train",
                concat!(include_str!("kernels/reduce64.wgsl"), include_str!("kernels/batchnorm_train.wgsl")),
                &[R, R, W, W, W, W, W],
                true,
            ),
            KernelId::BatchNormEval => {
                ("batchnorm_eval", include_str!("kernels/batchnorm_eval.wgsl"), &[R, R, R, W], false)
            }
            KernelId::BatchNormBackward => (
                "batchnorm_backward",
                concat!(include_str!("kernels/reduce64.wgsl"), include_str!("kernels/batchnorm_backward.wgsl")),
                &[R, R, R, R, R, W, W],
                false,
            ),
            KernelId::SoftmaxXent => ("softmax_xent", include_str!("kernels/softmax_xent.wgsl"), &[R, R, W, W], false),
            KernelId::Loss => ("loss", include_str!("kernels/loss.wgsl"), &[R, R, R, W], true),
            KernelId::MetricUpdate => ("metric_update", include_str!("kernels/metric_update.wgsl"), &[R, R, W], false),
            KernelId::Precondition => ("precondition", include_str!("kernels/precondition.wgsl"), &[R, R, W], false),
            KernelId::Apply => ("apply", include_str!("kernels/apply.wgsl"), &[W, R, R, W, W, W, W], true),
        }
    }
}

/// One compiled kernel.
pub struct Kernel {
    pub id: KernelId,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    storage: usize,
}

fn layout_entry(binding: u32, ty: wgpu::BufferBindingType, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: dynamic, min_binding_size: None },
        count: None,
    }
}

/// Every kernel for one device, and the layout of the shared step group.
pub struct Kernels {
    kernels: Vec<Kernel>,
    pub step_layout: wgpu::BindGroupLayout,
}

impl Kernels {
    pub fn new(device: &wgpu::Device) -> Kernels {
        let step_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step"),
            entries: &[layout_entry(0, wgpu::BufferBindingType::Uniform, true)],
        });
        let kernels = KernelId::ALL
            .iter()
            .map(|&id| {
                let (name, body, access, uses_step) = id.spec();
                let mut entries = vec![layout_entry(0, wgpu::BufferBindingType::Uniform, false)];
                for (i, a) in access.iter().enumerate() {
                    let ty = wgpu::BufferBindingType::Storage { read_only: *a == Access::Read };
                    entries.push(layout_entry(i as u32 + 1, ty, false));
                }
                let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(name),
                    entries: &entries,
                });
                let mut groups = vec![Some(&layout)];
                if uses_step {
                    groups.push(Some(&step_layout));
                }
                let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(name),
                    bind_group_layouts: &groups,
                    immediate_size: 0,
                });
                let source = format!("{COMMON}\n{body}");
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(name),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                Kernel { id, pipeline, layout, storage: access.len() }
            })
            .collect();
        Kernels { kernels, step_layout }
    }

    pub fn get(&self, id: KernelId) -> &Kernel {
        self.kernels.iter().find(|k| k.id == id).expect("every kernel is compiled")
    }

    /// A dispatch of `id` with its static `params` and storage `buffers` (in
    /// binding order), over `groups` workgroups. The bind group and the params
    /// buffer are made here, once, and replayed every step.
    pub fn dispatch<P: bytemuck::Pod>(
        &self,
        device: &wgpu::Device,
        id: KernelId,
        params: &P,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) -> Dispatch {
        let k = self.get(id);
        assert_eq!(buffers.len(), k.storage, "{id:?} takes {} storage buffers", k.storage);
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() });
        }
        let bind =
            device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &k.layout, entries: &entries });
        let (_, _, _, uses_step) = id.spec();
        Dispatch { pipeline: k.pipeline.clone(), bind, uses_step, groups, _uniform: uniform }
    }

    /// The bind group of a step buffer, for [`Dispatch::encode`].
    pub fn step_group(&self, device: &wgpu::Device, buffer: &wgpu::Buffer) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step"),
            layout: &self.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer,
                    offset: 0,
                    size: NonZeroU64::new(std::mem::size_of::<StepInfo>() as u64),
                }),
            }],
        })
    }
}

/// A kernel launch recorded once: pipeline, bindings and workgroup counts.
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    uses_step: bool,
    groups: (u32, u32, u32),
    _uniform: wgpu::Buffer,
}

impl Dispatch {
    /// Records the dispatch; `step` is the step group and the byte offset of this step's `StepInfo`.
    pub fn encode(&self, pass: &mut wgpu::ComputePass, step: (&wgpu::BindGroup, u32)) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind, &[]);
        if self.uses_step {
            pass.set_bind_group(1, step.0, &[step.1]);
        }
        let (x, y, z) = self.groups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// Workgroups covering an m × n output with `gemm.wgsl`'s (and
/// `metric_update.wgsl`'s) 8×8 invocations of 4×4 entries each.
pub fn gemm_groups(m: usize, n: usize) -> (u32, u32, u32) {
    (n.div_ceil(32) as u32, m.div_ceil(32) as u32, 1)
}

/// Workgroups for a grid-stride kernel of 64 invocations over `count` items,
/// capped well under the 65,535 limit per dimension.
pub fn stride_groups(count: usize) -> (u32, u32, u32) {
    ((count.div_ceil(64) as u32).clamp(1, 4096), 1, 1)
}

/// The activation as the kernels encode it: kind and its parameter.
pub fn act_code(a: Activation) -> (u32, f32) {
    match a {
        Activation::Relu => (0, 0.0),
        Activation::Prelu { leak } => (1, leak as f32),
        Activation::Elu { alpha } => (2, alpha as f32),
        Activation::Tanh => (3, 0.0),
        Activation::Sigmoid => (4, 0.0),
    }
}
