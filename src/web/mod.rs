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
pub(crate) mod input;
mod lessons;
#[cfg(test)]
mod tests;
mod trainer;

pub use dataset::WasmDataset;

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A config refused before any work: `field` is the path of the bad value
/// (`lr`, `rngd.lambda`, `hidden[2]`, an unknown field's name, or `config`
/// for the config as a whole), `message` says what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfigProblem {
    pub field: String,
    pub message: String,
}

impl ConfigProblem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem { field: field.into(), message: message.into() }
    }

    /// As JS gets it from `Trainer.create`: an `Error` with a `field` property.
    pub(crate) fn to_js_error(&self) -> JsValue {
        field_error(Some(&self.field), &self.message)
    }
}

impl From<crate::ConfigError> for ConfigProblem {
    fn from(e: crate::ConfigError) -> ConfigProblem {
        ConfigProblem::new(e.field, e.to_string())
    }
}

/// A JS `Error` with `message` and, where known, the `field` at fault.
pub(crate) fn field_error(field: Option<&str>, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let field = field.map_or(JsValue::NULL, JsValue::from_str);
    // Setting a property on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(&error, &"field".into(), &field);
    error.into()
}

/// A config from JS. `null` and `undefined` mean every default. Anything else
/// must be a plain object whose members are plain JSON data: see
/// [`input::json_of`] (NaN, ±Infinity, functions, symbols, BigInts and class
/// instances are refused by the member's path; an `undefined` member is
/// absent). Then the fields are read with serde, `deny_unknown_fields`
/// included, and a value of the wrong type or an unknown field is reported by
/// its path too. Ranges are [`TrainConfig::validate`]'s business, not this.
pub(crate) fn parse_config(config: &JsValue) -> Result<TrainConfig, ConfigProblem> {
    use serde::Deserialize;
    if config.is_undefined() || config.is_null() {
        return Ok(TrainConfig::default());
    }
    if !input::is_plain_object(config) {
        return Err(ConfigProblem::new(
            "config",
            format!(
                "invalid config: it must be a plain object with the fields of a config (or null for every default), got {}",
                input::describe(config)
            ),
        ));
    }
    let value = input::json_of(config, "")
        .map_err(|r| ConfigProblem::new(r.field, format!("invalid config: {}", r.message)))?;
    TrainConfig::deserialize(&value).map_err(|e| {
        let (field, e) = culprit(&value, "", &|v| v).unwrap_or_else(|| ("config".into(), e));
        let at = if field == "config" { String::new() } else { format!("{field}: ") };
        ConfigProblem::new(field, format!("invalid config: {at}{}", plain_words(&e.to_string())))
    })
}

/// Whether a config holding just `v` reads.
fn reads(v: &serde_json::Value) -> Result<(), serde_json::Error> {
    use serde::Deserialize;
    TrainConfig::deserialize(v).map(drop)
}

/// serde's errors carry no path: the path of the member of `v` (at `path`)
/// that makes a config fail on its own, the deepest one, with its error.
/// `rebuild` puts a value back at `path` in an otherwise empty config. Members
/// are tried one at a time (a config's fields, and a list's elements, are read
/// independently), so this costs one read per member.
fn culprit(
    v: &serde_json::Value,
    path: &str,
    rebuild: &dyn Fn(serde_json::Value) -> serde_json::Value,
) -> Option<(String, serde_json::Error)> {
    use serde_json::Value;
    match v {
        // Only where an empty object reads (`rngd: {}`): else the object itself is wrong (`lr: {}`).
        Value::Object(members) if reads(&rebuild(Value::Object(Default::default()))).is_ok() => {
            members.iter().find_map(|(key, member)| {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let put = |x: Value| rebuild(Value::Object([(key.clone(), x)].into_iter().collect()));
                let e = reads(&put(member.clone())).err()?;
                Some(culprit(member, &at, &put).unwrap_or((at, e)))
            })
        }
        Value::Array(items) if reads(&rebuild(Value::Array(vec![]))).is_ok() => {
            items.iter().enumerate().find_map(|(i, item)| {
                let at = format!("{path}[{i}]");
                let put = |x: Value| rebuild(Value::Array(vec![x]));
                let e = reads(&put(item.clone())).err()?;
                Some(culprit(item, &at, &put).unwrap_or((at, e)))
            })
        }
        _ => None,
    }
}

/// serde's type names in words a page can show.
fn plain_words(message: &str) -> String {
    message
        .replace("expected usize", "expected a whole number ≥ 0")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected f64", "expected a number")
        .replace("expected f32", "expected a number")
}

/// A config from JS, read and validated as `Trainer.create` does; `train_rows` bounds the batch.
pub(crate) fn checked_config(config: &JsValue, train_rows: usize) -> Result<TrainConfig, ConfigProblem> {
    let c = parse_config(config)?;
    c.validate(train_rows)?;
    Ok(c)
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
/// value in the config (`"lr"`, `"hidden"`, `"rngd.lambda"`, `"hidden[2]"`,
/// an unknown field's name), or `"config"` when the config as a whole is
/// wrong (not a plain object). NaN, ±Infinity and values that are not JSON
/// data (functions, symbols, BigInts, class instances) are refused by their
/// field, as are values of the wrong type; an `undefined` member counts as
/// absent. Throws when `trainRows` is not a whole number.
#[wasm_bindgen(js_name = checkConfig)]
pub fn check_config(config: JsValue, train_rows: JsValue) -> Result<JsValue, JsError> {
    let train_rows = input::count_usize(&train_rows, "checkConfig: trainRows").map_err(|e| JsError::new(&e))?;
    let problem = checked_config(&config, train_rows)
        .err()
        .map(|p| serde_json::json!({ "field": p.field, "message": p.message }));
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
