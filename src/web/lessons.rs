//! The page's lessons (src/lessons) in JavaScript: parameters in and results
//! out as plain JSON-like objects.
//!
//! - `runLesson(name, params)` for the lessons that need no data;
//! - `dataset.runLesson(name, params)` for those that may use the MNIST subset
//!   (wasm-bindgen cannot take an optional borrowed `Dataset` argument, and an
//!   owned one would be consumed by the call).

use wasm_bindgen::prelude::*;

use super::dataset::WasmDataset;
use super::{input, to_js};
use crate::Dataset;

/// The parameters as JSON: null or undefined for every default, else a plain
/// object whose members are plain JSON data. NaN, ±Infinity, functions,
/// symbols, BigInts and class instances are refused by the parameter's name
/// (not turned into null, which would mean the default); an `undefined`
/// member is absent (see `input::json_of`).
fn params_of(params: &JsValue) -> Result<serde_json::Value, JsError> {
    if params.is_undefined() || params.is_null() {
        return Ok(serde_json::Value::Null);
    }
    if !input::is_plain_object(params) {
        return Err(JsError::new(&format!(
            "lesson parameters must be a plain object (or null for the defaults), got {}",
            input::describe(params)
        )));
    }
    input::json_of(params, "").map_err(|r| JsError::new(&format!("lesson parameters: {}", r.message)))
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
