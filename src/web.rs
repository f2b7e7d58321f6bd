//! The JavaScript surface: the only module with `#[wasm_bindgen]`.
//!
//! Large state (dataset, weights, optimizer state) stays in Rust behind the
//! `Dataset` and `Trainer` handles; JavaScript pulls small plain objects.

use std::sync::Arc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::backend::{gpu, selftest};
use crate::{Dataset, TrainConfig, Trainer};

/// Plain JS objects with JSON semantics: `None` becomes `null`, as the API documents.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    Ok(value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version, shown on the page.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The full config a trainer would use for `optimizer` ("sgd", "adam" or
/// "rngd") with nothing else set: every default, the learning rate included.
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config(optimizer: &str) -> Result<JsValue, JsError> {
    let kind: crate::OptimizerKind = optimizer.parse().map_err(|e: String| JsError::new(&e))?;
    let config = TrainConfig { optimizer: kind, ..TrainConfig::default() }.resolved();
    to_js(&config)
}

/// The training and test splits, parsed once and shared by every trainer.
#[wasm_bindgen(js_name = Dataset)]
pub struct WasmDataset {
    inner: Arc<Dataset>,
}

#[wasm_bindgen(js_class = Dataset)]
impl WasmDataset {
    /// Parses four IDX files (gzipped or raw); throws with a message naming the bad file.
    #[wasm_bindgen(js_name = fromIdx)]
    pub fn from_idx(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<WasmDataset, JsError> {
        let d = Dataset::from_idx(train_images, train_labels, test_images, test_labels)?;
        Ok(WasmDataset { inner: Arc::new(d) })
    }

    #[wasm_bindgen(getter, js_name = trainLen)]
    pub fn train_len(&self) -> usize {
        self.inner.train.len()
    }

    #[wasm_bindgen(getter, js_name = testLen)]
    pub fn test_len(&self) -> usize {
        self.inner.test.len()
    }
}

/// One training run.
#[wasm_bindgen(js_name = Trainer)]
pub struct WasmTrainer {
    inner: Trainer,
}

#[wasm_bindgen(js_class = Trainer)]
impl WasmTrainer {
    /// `config` is a plain object with the fields of `TrainConfig` (all optional);
    /// unknown fields and out-of-range values throw with a message naming the field.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, data: &WasmDataset) -> Result<WasmTrainer, JsError> {
        let config: TrainConfig = if config.is_undefined() || config.is_null() {
            TrainConfig::default()
        } else {
            // Through JSON rather than serde_wasm_bindgen::from_value, which ignores
            // deny_unknown_fields: a misspelt field must be an error, not a silent default.
            let json: String = js_sys::JSON::stringify(&config)
                .map_err(|_| JsError::new("invalid config: it cannot be written as JSON"))?
                .into();
            serde_json::from_str(&json).map_err(|e| JsError::new(&format!("invalid config: {e}")))?
        };
        Ok(WasmTrainer { inner: Trainer::new(config, data.inner.clone())? })
    }

    /// Runs `n` minibatch steps; throws once the run has diverged.
    pub fn step(&mut self, n: u32) -> Result<(), JsError> {
        Ok(self.inner.step(n)?)
    }

    /// `{step, epoch, train_loss, test_loss, test_accuracy}`, evaluating the test split now.
    pub fn snapshot(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.inner.snapshot())
    }

    /// Metric spectra and selectors ν of weight layer `layer` (0 = input layer):
    /// `{layer, shared, source, spectra: [{eigenvalues, trace, min, max, condition}], nu, nu_mean, inverse_fallbacks}`.
    pub fn diagnostics(&self, layer: usize) -> Result<JsValue, JsError> {
        let d = self.inner.diagnostics(layer).map_err(|e| JsError::new(&e))?;
        to_js(&d)
    }

    /// Number of weight layers.
    #[wasm_bindgen(getter)]
    pub fn layers(&self) -> usize {
        self.inner.network().layers()
    }

    /// The config in force, every default made explicit.
    pub fn config(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.config().resolved())
    }

    /// Minibatches in one epoch.
    #[wasm_bindgen(getter, js_name = batchesPerEpoch)]
    pub fn batches_per_epoch(&self) -> usize {
        self.inner.batches_per_epoch()
    }
}

/// Checks the browser's WebGPU adapter by running the metric-update kernel on
/// a small problem and comparing it with the CPU reference. Resolves to
/// `{available, adapter, max_abs_error, ok}`, or `{available: false, reason}`
/// when there is no adapter, in which case everything runs on the CPU.
#[wasm_bindgen(js_name = gpuSelfTest)]
pub async fn gpu_self_test() -> Result<JsValue, JsError> {
    let report = match gpu::GpuContext::new().await {
        Err(e) => serde_json::json!({ "available": false, "reason": e.to_string() }),
        Ok(ctx) => {
            let check = selftest::metric_update_check(&ctx, 37, 50, 12, 7).await;
            match check {
                Ok(err) => serde_json::json!({
                    "available": true,
                    "adapter": ctx.describe(),
                    "max_abs_error": err,
                    "ok": err <= selftest::METRIC_TOLERANCE,
                }),
                Err(e) => {
                    serde_json::json!({ "available": true, "adapter": ctx.describe(), "ok": false, "reason": e.to_string() })
                }
            }
        }
    };
    to_js(&report)
}
