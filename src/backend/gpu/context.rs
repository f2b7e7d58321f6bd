//! The GPU device, its queue and what we learnt about the adapter.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum GpuError {
    #[error("no GPU adapter is available ({0}); the CPU backend is used instead")]
    NoAdapter(String),
    #[error("the GPU adapter refused to open a device: {0}")]
    RequestDevice(String),
    #[error("reading a result back from the GPU failed: {0}")]
    Readback(String),
    #[error("the GPU rejected a command: {0}")]
    Validation(String),
    #[error("{what} needs {needed} bytes in one buffer, over the device limit of {limit}")]
    TooLarge { what: &'static str, needed: u64, limit: u64 },
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
}

impl GpuContext {
    /// Opens the default adapter with WebGPU's default limits, so what passes
    /// natively also fits in a browser.
    pub async fn new() -> Result<GpuContext, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("rngd-lab"),
                required_limits: wgpu::Limits::default(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        Ok(GpuContext { device, queue, adapter_info: adapter.get_info() })
    }

    /// A one-line description of the adapter, for logs and the page.
    pub fn describe(&self) -> String {
        let i = &self.adapter_info;
        // Browsers hide most adapter details, so the name may be empty there.
        let name = if i.name.is_empty() { "unnamed adapter" } else { &i.name };
        format!("{name} ({:?}, {:?})", i.backend, i.device_type)
    }

    pub fn max_storage_binding(&self) -> u64 {
        self.device.limits().max_storage_buffer_binding_size
    }

    /// Copies `src` into a fresh mappable buffer and reads it back as f32.
    pub async fn read_f32(&self, src: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        let size = src.size();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
        self.queue.submit([enc.finish()]);

        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Natively the map callback only runs when the device is polled; in the
        // browser the event loop runs it and polling is a no-op.
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        rx.await
            .map_err(|_| GpuError::Readback("the device was lost before the map completed".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let data = {
            let view = staging.slice(..).get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        Ok(data)
    }
}
