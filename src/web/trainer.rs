//! The `Trainer` handle: one training run, driven from a worker.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{field_error, input, js_err, parse_config, to_js, WasmDataset};
use crate::{TrainError, Trainer};

/// One training run. Every call that may touch the GPU returns a Promise: in
/// the browser a GPU result can only be awaited, never waited for.
#[wasm_bindgen(js_name = Trainer)]
pub struct WasmTrainer {
    inner: Rc<RefCell<Trainer>>,
}

/// A `TrainError` for JS: an `Error` whose `field` names the config field at fault, or null.
fn train_error(e: TrainError) -> JsValue {
    let field = match &e {
        TrainError::Config(c) => Some(c.field.to_string()),
        _ => None,
    };
    field_error(field.as_deref(), &e.to_string())
}

/// A Promise rejected with `message`, for a bad argument: a method that returns
/// a Promise reports every failure through it.
pub(super) fn rejected(message: String) -> Promise {
    Promise::reject(&js_err(message))
}

fn busy() -> JsValue {
    JsError::new("the trainer is busy: await the previous call first").into()
}

impl WasmTrainer {
    /// Runs `f` on the trainer as a Promise, refusing overlapping calls.
    pub(super) fn with<F, Fut>(&self, f: F) -> Promise
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

    /// A handle on a trainer built in Rust, for the tests.
    #[cfg(test)]
    pub(super) fn from_trainer(trainer: Trainer) -> WasmTrainer {
        WasmTrainer { inner: Rc::new(RefCell::new(trainer)) }
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
    /// The rejection is an `Error` with a `field` property: the path of the bad
    /// value (`"lr"`, `"rngd.lambda"`, `"hidden[2]"`, `"config"` for a config
    /// that is not a plain object), null when no field is at fault. NaN,
    /// ±Infinity and values that are not JSON data (functions, symbols,
    /// BigInts, class instances) are refused, not turned into defaults; an
    /// `undefined` member counts as absent (see `checkConfig`).
    pub fn create(config: JsValue, data: &WasmDataset) -> Promise {
        let data = data.inner.clone();
        let config = parse_config(&config).map_err(|p| p.to_js_error());
        future_to_promise(async move {
            let trainer = Trainer::create(config?, data).await.map_err(train_error)?;
            Ok(WasmTrainer { inner: Rc::new(RefCell::new(trainer)) }.into())
        })
    }

    /// Runs `n` minibatch steps; rejects once the run has diverged, and when
    /// `n` is not a whole number from 0 to 4294967295 (NaN, -1, 1.5, "5").
    pub fn step(&self, n: JsValue) -> Promise {
        let n = match input::count(&n, "Trainer.step: n", u32::MAX.into()) {
            Ok(n) => n as u32,
            Err(e) => return rejected(e),
        };
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
    /// `{layer, shared, source ("rngd" | "tracked"), spectra: [{eigenvalues, trace, min, max, rank, condition}],
    /// nu, nu_mean, selectors: {peak, dead, saturated, rule}, inverse_fallbacks, batch_images (Uint8Array,
    /// rows × 784), batch_labels}`. On the GPU the state is copied back first.
    /// Rejects when `layer` is not a whole number or names no layer.
    pub fn diagnostics(&self, layer: JsValue) -> Promise {
        let layer = match input::count_usize(&layer, "Trainer.diagnostics: layer") {
            Ok(layer) => layer,
            Err(e) => return rejected(e),
        };
        self.with(move |t| async move {
            let d = t.borrow_mut().diagnostics_async(layer).await.map_err(js_err)?;
            super::geometry::diagnostics_js(&d)
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
