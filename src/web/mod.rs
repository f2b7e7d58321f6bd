//! The JavaScript surface: the only module with `#[wasm_bindgen]`.
//!
//! Large state (dataset, weights, optimizer state) stays in Rust behind the
//! `Dataset` and `Trainer` handles; JavaScript pulls small plain objects.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::backend::{gpu, selftest};
use crate::TrainConfig;

mod dataset;
mod draw;
mod geometry;
mod lessons;
mod trainer;

pub use dataset::WasmDataset;

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A config from JS, through JSON rather than serde_wasm_bindgen::from_value,
/// which ignores deny_unknown_fields: a misspelt field must be an error, not a
/// silent default.
pub(crate) fn parse_config(config: JsValue) -> Result<TrainConfig, String> {
    if config.is_undefined() || config.is_null() {
        return Ok(TrainConfig::default());
    }
    let json: String = js_sys::JSON::stringify(&config)
        .map_err(|_| "invalid config: it cannot be written as JSON".to_string())?
        .into();
    serde_json::from_str(&json).map_err(|e| format!("invalid config: {e}"))
}

/// Plain JS objects with JSON semantics: `None` becomes `null`, as the API documents.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
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

/// Checks a run's config with the crate's own limits, the ones `Trainer.create`
/// enforces, so that the page shows a message next to the control before
/// anything starts. `trainRows` bounds the batch size. Returns null when the
/// config is valid, else `{field, message}`: `field` is the path of the bad
/// value in the config (`"lr"`, `"hidden"`, `"rngd.lambda"`, …), or null when the
/// config could not be read at all (an unknown field, a value of the wrong type).
#[wasm_bindgen(js_name = checkConfig)]
pub fn check_config(config: JsValue, train_rows: usize) -> Result<JsValue, JsError> {
    let problem = match parse_config(config) {
        Err(message) => Some(serde_json::json!({ "field": null, "message": message })),
        Ok(c) => {
            c.validate(train_rows).err().map(|e| serde_json::json!({ "field": e.field, "message": e.to_string() }))
        }
    };
    to_js(&problem)
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
