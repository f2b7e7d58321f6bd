//! The engine's buffers: made once, sized for the network, and checked against
//! the device's binding limit before anything is allocated.

use wgpu::util::DeviceExt;

use super::super::{GpuContext, GpuError};

const STORAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// Makes storage buffers, refusing any over the device's binding limit, and
/// records each one's label and size (see `crate::memory::gpu_buffers`).
pub struct Alloc<'a> {
    pub ctx: &'a GpuContext,
    made: std::cell::RefCell<Vec<(String, u64)>>,
}

impl<'a> Alloc<'a> {
    pub fn new(ctx: &'a GpuContext) -> Alloc<'a> {
        Alloc { ctx, made: Default::default() }
    }

    /// The storage buffers made so far: label and bytes, in order.
    pub fn made(&self) -> Vec<(String, u64)> {
        self.made.borrow().clone()
    }

    /// A zeroed f32 buffer of `len` entries (at least one, as WebGPU wants).
    pub fn zeros(&self, label: &str, len: usize) -> Result<wgpu::Buffer, GpuError> {
        let bytes = (len.max(1) * 4) as u64;
        self.ctx.check_size(|| label.to_string(), bytes)?;
        self.made.borrow_mut().push((label.to_string(), bytes));
        Ok(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: STORAGE,
            mapped_at_creation: false,
        }))
    }

    /// A buffer holding `data` (f32 or u32).
    pub fn init<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> Result<wgpu::Buffer, GpuError> {
        if data.is_empty() {
            return self.zeros(label, 1);
        }
        self.ctx.check_size(|| label.to_string(), std::mem::size_of_val(data) as u64)?;
        self.made.borrow_mut().push((label.to_string(), std::mem::size_of_val(data) as u64));
        Ok(self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: STORAGE,
        }))
    }

    /// A small placeholder for a binding a dispatch declares but does not use.
    /// Each placeholder is its own buffer: one buffer bound twice as writable
    /// storage in one dispatch would be a usage conflict.
    pub fn unused(&self) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("unused"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    }

    /// A uniform buffer of `count` step slots, [`super::super::kernel::STEP_STRIDE`] apart.
    pub fn steps(&self, label: &str, count: usize) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: count.max(1) as u64 * super::super::kernel::STEP_STRIDE,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }
}

/// The activations of one forward (and backward) pass over `rows` samples.
pub struct Activations {
    pub rows: usize,
    /// `xt[l]`: layer l's augmented input [h, 1], rows × (d_in + 1).
    pub xt: Vec<wgpu::Buffer>,
    /// `z[l]`: layer l's pre-activation, rows × d_out.
    pub z: Vec<wgpu::Buffer>,
    pub labels: wgpu::Buffer,
    /// rows × [cross-entropy, correct].
    pub row_out: wgpu::Buffer,
    /// ∂loss/∂z per layer (training only; evaluation keeps the logits' one unused).
    pub dz: Vec<wgpu::Buffer>,
}

impl Activations {
    pub fn new(a: &Alloc, sizes: &[usize], rows: usize, training: bool) -> Result<Activations, GpuError> {
        let layers = sizes.len() - 1;
        let mut xt = Vec::new();
        let mut z = Vec::new();
        let mut dz = Vec::new();
        for l in 0..layers {
            xt.push(a.zeros(
                &format!("layer {l}'s input for {rows} rows ({} values each)", sizes[l] + 1),
                rows * (sizes[l] + 1),
            )?);
            z.push(a.zeros(&format!("layer {l}'s pre-activations"), rows * sizes[l + 1])?);
            if training || l + 1 == layers {
                dz.push(a.zeros(&format!("layer {l}'s output gradient"), rows * sizes[l + 1])?);
            }
        }
        Ok(Activations {
            rows,
            xt,
            z,
            labels: a.zeros("labels", rows)?,
            row_out: a.zeros("per-row losses", rows * 2)?,
            dz,
        })
    }
}
