//! The page's lessons (src/lessons) in JavaScript: parameters in and results
//! out as plain JSON-like objects.
//!
//! - `runLesson(name, params)` for the lessons that need no data;
//! - `dataset.runLesson(name, params)` for those that may use the MNIST subset
//!   (wasm-bindgen cannot take an optional borrowed `Dataset` argument, and an
//!   owned one would be consumed by the call).

use wasm_bindgen::prelude::*;

use super::dataset::WasmDataset;
use super::to_js;
use crate::Dataset;

fn params_of(params: &JsValue) -> Result<serde_json::Value, JsError> {
    if params.is_undefined() || params.is_null() {
        return Ok(serde_json::Value::Null);
    }
    let text: String = js_sys::JSON::stringify(params)
        .map_err(|_| JsError::new("lesson parameters cannot be written as JSON"))?
        .into();
    serde_json::from_str(&text).map_err(|e| JsError::new(&format!("lesson parameters: {e}")))
}

fn run(name: &str, params: &JsValue, data: Option<&Dataset>) -> Result<JsValue, JsError> {
    let out = crate::lessons::run(name, &params_of(params)?, data).map_err(|e| JsError::new(&e))?;
    to_js(&out)
}

/// Runs lesson `name` ("gaussian", "neuron", "relu", "exact" or "mirror") with
/// `params` (a plain object; null or undefined for the defaults). Throws with
/// the lesson's message, which names the offending parameter.
#[wasm_bindgen(js_name = runLesson)]
pub fn run_lesson(name: &str, params: JsValue) -> Result<JsValue, JsError> {
    run(name, &params, None)
}

#[wasm_bindgen(js_class = Dataset)]
impl WasmDataset {
    /// `runLesson` with this dataset at hand, for the lessons that use MNIST.
    #[wasm_bindgen(js_name = runLesson)]
    pub fn run_lesson(&self, name: &str, params: JsValue) -> Result<JsValue, JsError> {
        run(name, &params, Some(&self.inner))
    }
}
