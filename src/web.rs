//! The JavaScript surface: the only module with `#[wasm_bindgen]`.
//!
//! Large state (dataset, weights, optimizer state) stays in Rust behind the
//! `Dataset` and `Trainer` handles; JavaScript pulls small plain objects.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

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

/// RNGD's named speed settings, for the page's preset menu:
/// `[{name, description, settings: {metric_every, input_rank, refresh}}]`, the
/// literal algorithm (the default) first. A config takes one by copying
/// `settings` into its `rngd` field.
#[wasm_bindgen(js_name = rngdPresets)]
pub fn rngd_presets() -> Result<JsValue, JsError> {
    let list: Vec<_> = crate::optim::RngdPreset::ALL
        .into_iter()
        .map(|p| {
            let c = p.apply(crate::optim::RngdConfig::default());
            serde_json::json!({
                "name": p.name(),
                "description": p.description(),
                "settings": { "metric_every": c.metric_every, "input_rank": c.input_rank, "refresh": c.refresh },
            })
        })
        .collect();
    to_js(&list)
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

/// One training run. Every call that may touch the GPU returns a Promise: in
/// the browser a GPU result can only be awaited, never waited for.
#[wasm_bindgen(js_name = Trainer)]
pub struct WasmTrainer {
    inner: Rc<RefCell<Trainer>>,
}

fn busy() -> JsValue {
    JsError::new("the trainer is busy: await the previous call first").into()
}

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

impl WasmTrainer {
    /// Runs `f` on the trainer as a Promise, refusing overlapping calls.
    fn with<F, Fut>(&self, f: F) -> Promise
    where
        F: FnOnce(Rc<RefCell<Trainer>>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
    {
        let inner = self.inner.clone();
        future_to_promise(async move {
            if inner.try_borrow_mut().is_err() {
                return Err(busy());
            }
            f(inner).await
        })
    }

    fn borrow(&self) -> Result<std::cell::Ref<'_, Trainer>, JsValue> {
        self.inner.try_borrow().map_err(|_| busy())
    }
}

#[wasm_bindgen(js_class = Trainer)]
impl WasmTrainer {
    /// Resolves to a new run. `config` is a plain object with the fields of
    /// `TrainConfig` (all optional), `backend` included ("auto", "gpu" or
    /// "cpu"); unknown fields and out-of-range values reject with a message
    /// naming the field, and so does `backend: "gpu"` without a usable adapter.
    pub fn create(config: JsValue, data: &WasmDataset) -> Promise {
        let data = data.inner.clone();
        let config = parse_config(config);
        future_to_promise(async move {
            let trainer = Trainer::create(config?, data).await.map_err(js_err)?;
            Ok(WasmTrainer { inner: Rc::new(RefCell::new(trainer)) }.into())
        })
    }

    /// Runs `n` minibatch steps; rejects once the run has diverged.
    pub fn step(&self, n: u32) -> Promise {
        self.with(move |t| async move {
            let mut t = t.borrow_mut();
            t.step_async(n).await.map_err(js_err)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Resolves to `{step, epoch, train_loss, test_loss, test_accuracy}`, evaluating the test split now.
    pub fn snapshot(&self) -> Promise {
        self.with(|t| async move {
            let s = t.borrow_mut().snapshot_async().await;
            to_js(&s).map_err(Into::into)
        })
    }

    /// Resolves to the metric spectra and selectors ν of weight layer `layer` (0 = input layer):
    /// `{layer, shared, source, spectra: [{eigenvalues, trace, min, max, condition}], nu, nu_mean, inverse_fallbacks}`.
    /// On the GPU the state is copied back first.
    pub fn diagnostics(&self, layer: usize) -> Promise {
        self.with(move |t| async move {
            let d = t.borrow_mut().diagnostics_async(layer).await.map_err(js_err)?;
            to_js(&d).map_err(Into::into)
        })
    }

    /// The backend that really trains this run: `{kind: "cpu"|"gpu", adapter, reason, lost_steps}`.
    /// It changes to the CPU if the GPU fails mid-run.
    pub fn backend(&self) -> Result<JsValue, JsValue> {
        to_js(self.borrow()?.backend()).map_err(Into::into)
    }

    /// Destroys this run's GPU device, as a driver reset would: a test hook for
    /// the fall-back to the CPU. Does nothing on the CPU.
    #[wasm_bindgen(js_name = loseDevice)]
    pub fn lose_device(&self) -> Result<(), JsValue> {
        self.borrow()?.lose_device();
        Ok(())
    }

    /// Number of weight layers.
    #[wasm_bindgen(getter)]
    pub fn layers(&self) -> Result<usize, JsValue> {
        Ok(self.borrow()?.network().layers())
    }

    /// The config in force, every default made explicit.
    pub fn config(&self) -> Result<JsValue, JsValue> {
        to_js(&self.borrow()?.config().resolved()).map_err(Into::into)
    }

    /// Seconds spent so far in each part of training, measured with
    /// `performance.now()`: `{forward_backward, metric_update, inverse,
    /// precondition, update}` (the same split as `rngd-lab bench`). GPU runs
    /// count only the CPU-side work, so there the split says little.
    pub fn timings(&self) -> Result<JsValue, JsValue> {
        to_js(&self.borrow()?.timings()).map_err(Into::into)
    }

    /// Which RNGD preset this run's config matches ("literal", "fast"), or null.
    #[wasm_bindgen(js_name = rngdPreset)]
    pub fn rngd_preset(&self) -> Result<Option<String>, JsValue> {
        Ok(crate::optim::RngdPreset::of(&self.borrow()?.config().rngd).map(|p| p.name().to_string()))
    }

    /// Minibatches in one epoch.
    #[wasm_bindgen(getter, js_name = batchesPerEpoch)]
    pub fn batches_per_epoch(&self) -> Result<usize, JsValue> {
        Ok(self.borrow()?.batches_per_epoch())
    }
}

/// A config from JS, through JSON rather than serde_wasm_bindgen::from_value,
/// which ignores deny_unknown_fields: a misspelt field must be an error, not a
/// silent default.
fn parse_config(config: JsValue) -> Result<TrainConfig, JsValue> {
    if config.is_undefined() || config.is_null() {
        return Ok(TrainConfig::default());
    }
    let json: String =
        js_sys::JSON::stringify(&config).map_err(|_| js_err("invalid config: it cannot be written as JSON"))?.into();
    serde_json::from_str(&json).map_err(|e| js_err(format!("invalid config: {e}")))
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
