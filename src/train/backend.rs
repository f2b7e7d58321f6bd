//! Which backend trains a run: resolving `auto`, `gpu` and `cpu` into a
//! [`BackendInfo`] that says what really runs, and why.

use std::sync::Arc;

use serde::Serialize;

use super::{TrainError, Trainer};
use crate::backend::gpu::{GpuContext, GpuEngine};
use crate::config::{BackendChoice, TrainConfig};
use crate::data::Dataset;
use crate::memory;

/// Which backend really trains a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Cpu,
    Gpu,
}

/// The backend a run trains on, and why: what the page's badge and the CLI say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// The GPU adapter, when the run trains on one.
    pub adapter: Option<String>,
    /// Why this backend: a sentence for people.
    pub reason: String,
    /// Steps recomputed on the CPU after the GPU failed mid-run.
    pub lost_steps: Option<u64>,
}

impl BackendInfo {
    pub(super) fn cpu(reason: String) -> BackendInfo {
        BackendInfo { kind: BackendKind::Cpu, adapter: None, reason, lost_steps: None }
    }
}

impl Trainer {
    /// A run on the backend its config asks for (see [`BackendChoice`]), waiting
    /// for the GPU adapter where there is one to ask. The one constructor that
    /// can open a WebGPU device in the browser.
    pub async fn create(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        let mut t = Trainer::on_cpu(config, data)?;
        let choice = t.config.backend;
        if choice == BackendChoice::Cpu {
            t.backend = BackendInfo::cpu("cpu: the backend asked for".into());
            return Ok(t);
        }
        if choice == BackendChoice::Auto {
            if let Some(why) = adapter::known_unsuitable() {
                t.backend = BackendInfo::cpu(format!("auto: {why}; training on the CPU"));
                return Ok(t);
            }
        }
        // The engine's buffers against WebGPU's default limits (those the device
        // is opened with), before a device is opened for a network that cannot fit.
        let (train_rows, test_rows) = (t.data.train.len(), t.data.test.len());
        if let Err(e) = memory::check_gpu(&t.config, train_rows, test_rows, &wgpu::Limits::default()) {
            return match choice {
                BackendChoice::Gpu => Err(TrainError::Gpu(e.to_string())),
                _ => {
                    t.backend = BackendInfo::cpu(format!("auto: {e}; training on the CPU"));
                    Ok(t)
                }
            };
        }
        let ctx = match GpuContext::new().await {
            Ok(ctx) => ctx,
            Err(e) => {
                adapter::remember(Err(e.to_string()));
                return match choice {
                    BackendChoice::Gpu => Err(TrainError::Gpu(e.to_string())),
                    _ => {
                        t.backend = BackendInfo::cpu(format!("auto: {e}; training on the CPU"));
                        Ok(t)
                    }
                };
            }
        };
        let adapter = ctx.describe();
        adapter::remember(Ok((adapter.clone(), ctx.is_software())));
        if choice == BackendChoice::Auto && ctx.is_software() {
            t.backend = BackendInfo::cpu(format!(
                "auto: {adapter} is a software adapter, slower than the CPU path; training on the CPU"
            ));
            return Ok(t);
        }
        match GpuEngine::new(ctx, &t.config, &t.data, &t.net, &t.optimizer, t.tracked.as_ref()) {
            Ok(engine) => {
                t.gpu = Some(Box::new(engine));
                let reason = match choice {
                    BackendChoice::Gpu => "gpu: the backend asked for".to_string(),
                    _ => "auto: a hardware GPU adapter".to_string(),
                };
                t.backend = BackendInfo { kind: BackendKind::Gpu, adapter: Some(adapter), reason, lost_steps: None };
            }
            Err(e) if choice == BackendChoice::Gpu => return Err(TrainError::Gpu(e.to_string())),
            Err(e) => t.backend = BackendInfo::cpu(format!("auto: {e}; training on the CPU")),
        }
        Ok(t)
    }

    /// [`Trainer::create`], waiting for the adapter.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        pollster::block_on(Trainer::create(config, data))
    }

    /// In the browser nothing may block on the GPU, so this constructor never
    /// asks for an adapter: `auto` trains on the CPU and `gpu` is refused (use
    /// [`Trainer::create`]).
    #[cfg(target_arch = "wasm32")]
    pub fn new(config: TrainConfig, data: Arc<Dataset>) -> Result<Trainer, TrainError> {
        let mut t = Trainer::on_cpu(config, data)?;
        t.backend = match t.config.backend {
            BackendChoice::Gpu => {
                return Err(TrainError::Gpu(
                    "the synchronous constructor cannot wait for a WebGPU adapter; use Trainer::create".into(),
                ))
            }
            BackendChoice::Auto => {
                BackendInfo::cpu("auto: built synchronously, without asking for a WebGPU adapter".into())
            }
            BackendChoice::Cpu => BackendInfo::cpu("cpu: the backend asked for".into()),
        };
        Ok(t)
    }
}

/// What this process learnt about the GPU adapter, so that `auto` runs after
/// the first do not open a device only to find it is a software one.
mod adapter {
    use std::sync::Mutex;

    /// The adapter's description and whether it is a software one, or why there is none.
    type Probe = Result<(String, bool), String>;
    static PROBE: Mutex<Option<Probe>> = Mutex::new(None);

    pub fn remember(p: Probe) {
        *PROBE.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
    }

    /// Why `auto` should not try the GPU, if an earlier run already found out.
    pub fn known_unsuitable() -> Option<String> {
        match PROBE.lock().unwrap_or_else(|e| e.into_inner()).as_ref()? {
            Ok((name, true)) => Some(format!("{name} is a software adapter, slower than the CPU path")),
            Ok((_, false)) => None,
            Err(e) => Some(e.clone()),
        }
    }
}
