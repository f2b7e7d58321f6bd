//! The GPU device, its queue, what we learnt about the adapter, and the one
//! way results come back from it (an awaited map, never a blocking one on the web).

use std::sync::{Arc, Mutex};

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum GpuError {
    #[error("no GPU adapter is available ({0})")]
    NoAdapter(String),
    #[error("the GPU adapter refused to open a device: {0}")]
    RequestDevice(String),
    #[error("reading a result back from the GPU failed: {0}")]
    Readback(String),
    #[error("the GPU failed ({0})")]
    Lost(String),
    #[error("{what} needs {needed} bytes in one buffer, over the device limit of {limit} (WebGPU's max_storage_buffer_binding_size)")]
    TooLarge { what: String, needed: u64, limit: u64 },
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    /// Set when the device is lost or reports an error nobody captured: from
    /// then on nothing it computes is trusted.
    failure: Arc<Mutex<Option<String>>>,
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
        let failure = Arc::new(Mutex::new(None));
        let on_lost = failure.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut f = on_lost.lock().unwrap_or_else(|e| e.into_inner());
            f.get_or_insert(format!("{reason:?}: {message}"));
        });
        // wgpu's default handler panics; a failed command must instead become a
        // fallback to the CPU with the run's state.
        let on_error = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut f = on_error.lock().unwrap_or_else(|e| e.into_inner());
            f.get_or_insert(e.to_string());
        }));
        Ok(GpuContext { device, queue, adapter_info: adapter.get_info(), failure })
    }

    /// A one-line description of the adapter, for logs and the page.
    pub fn describe(&self) -> String {
        let i = &self.adapter_info;
        // Browsers hide most adapter details: the name is often empty there, and
        // the device type only tells a software fallback adapter from the rest.
        match (i.name.is_empty(), i.backend, i.device_type) {
            (true, wgpu::Backend::BrowserWebGpu, wgpu::DeviceType::Cpu) => {
                "the browser's WebGPU fallback adapter".into()
            }
            (true, wgpu::Backend::BrowserWebGpu, _) => "the browser's WebGPU adapter".into(),
            (true, ..) => format!("unnamed adapter ({:?}, {:?})", i.backend, i.device_type),
            (false, ..) => format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type),
        }
    }

    /// True for adapters that run on the CPU (lavapipe, SwiftShader): correct
    /// but slower than this crate's own CPU path.
    pub fn is_software(&self) -> bool {
        let name = self.adapter_info.name.to_lowercase();
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
            || ["llvmpipe", "lavapipe", "swiftshader"].iter().any(|s| name.contains(s))
    }

    pub fn max_storage_binding(&self) -> u64 {
        self.device.limits().max_storage_buffer_binding_size
    }

    /// Refuses a buffer over the binding limit, naming what it would hold.
    pub fn check_size(&self, what: impl FnOnce() -> String, bytes: u64) -> Result<(), GpuError> {
        let limit = self.max_storage_binding();
        if bytes > limit {
            return Err(GpuError::TooLarge { what: what(), needed: bytes, limit });
        }
        Ok(())
    }

    /// The device loss or uncaptured error seen so far, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Err once the device is lost or has failed a command.
    pub fn check(&self) -> Result<(), GpuError> {
        match self.failure() {
            Some(f) => Err(GpuError::Lost(f)),
            None => Ok(()),
        }
    }

    /// Destroys the device, as a driver reset would: for testing the fallback.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// Copies `src` into a fresh mappable buffer and reads it back as f32.
    pub async fn read_f32(&self, src: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        let staging = self.staging(src.size());
        let bytes = self.read_regions(&staging, &[(src, src.size())]).await?;
        Ok(bytemuck::cast_slice::<u8, f32>(&bytes[0]).to_vec())
    }

    /// Several whole buffers, read back through one staging buffer and one map.
    pub async fn read_many(&self, srcs: &[&wgpu::Buffer]) -> Result<Vec<Vec<f32>>, GpuError> {
        let total = srcs.iter().map(|b| b.size()).sum::<u64>().max(4);
        let staging = self.staging(total);
        let regions: Vec<_> = srcs.iter().map(|b| (*b, b.size())).collect();
        let bytes = self.read_regions(&staging, &regions).await?;
        Ok(bytes.iter().map(|b| bytemuck::cast_slice::<u8, f32>(b).to_vec()).collect())
    }

    /// A buffer to read results through.
    pub fn staging(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Copies the first `size` bytes of each source into `staging`, one after
    /// another, maps it and returns each region's bytes. The map is awaited: in
    /// the browser it completes only once control returns to the event loop.
    pub async fn read_regions(
        &self,
        staging: &wgpu::Buffer,
        regions: &[(&wgpu::Buffer, u64)],
    ) -> Result<Vec<Vec<u8>>, GpuError> {
        self.check()?;
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        let mut at = 0;
        for &(src, size) in regions {
            enc.copy_buffer_to_buffer(src, 0, staging, at, size);
            at += size;
        }
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..at.max(4));
        let (tx, rx) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Natively the map callback only runs when the device is polled; in the
        // browser the event loop runs it and polling is a no-op.
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Lost(e.to_string()))?;
        let mapped = rx.await.map_err(|_| GpuError::Lost("the device was lost before the map completed".into()))?;
        if let Err(e) = mapped {
            self.check()?;
            return Err(GpuError::Readback(e.to_string()));
        }
        let out = {
            let view = slice.get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?;
            let mut at = 0usize;
            regions
                .iter()
                .map(|&(_, size)| {
                    let part = view[at..at + size as usize].to_vec();
                    at += size as usize;
                    part
                })
                .collect()
        };
        staging.unmap();
        // Commands before the map may have failed without losing the device.
        self.check()?;
        Ok(out)
    }
}
