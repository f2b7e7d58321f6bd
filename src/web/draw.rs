//! "Draw a digit": the MNIST-like preprocessing of a drawing, each run's
//! prediction for it, and a run's weights for the export.

use js_sys::{Float32Array, Reflect};
use wasm_bindgen::prelude::*;

use super::trainer::WasmTrainer;
use super::{input, js_err, to_js};
use crate::data::digit;

/// A drawing's RGBA pixels (as `getImageData` gives them, row-major) made into
/// 784 MNIST-like pixels in [0, 1]: the ink (alpha channel) scaled to fit 20×20
/// keeping its aspect, centred by mass in 28×28. Throws "draw something first…"
/// when there is no ink, and when `width` or `height` is not a whole number
/// or `rgba` does not hold `width × height × 4` bytes.
#[wasm_bindgen(js_name = preprocessDigit)]
pub fn preprocess_digit(rgba: &[u8], width: JsValue, height: JsValue) -> Result<Vec<f32>, JsError> {
    let err = |e: String| JsError::new(&e);
    let width = input::count_usize(&width, "preprocessDigit: width").map_err(err)?;
    let height = input::count_usize(&height, "preprocessDigit: height").map_err(err)?;
    // In u64: width × height × 4 must not wrap in wasm32's usize before the crate compares it.
    let expected = width as u64 * height as u64 * 4;
    if rgba.len() as u64 != expected {
        return Err(err(format!(
            "preprocessDigit: rgba must hold width × height × 4 = {expected} bytes ({width} × {height} RGBA pixels), got {}",
            rgba.len()
        )));
    }
    digit::preprocess_rgba(rgba, width, height).map_err(|e| JsError::new(&e.to_string()))
}

/// MNIST digits for the draw view's "random test digit", read with the
/// crate's own IDX parser (gzipped or raw, every check the training data gets):
/// `{n, images: Uint8Array (n × 784, row-major, 0–255), labels: Uint8Array}`.
/// Throws with the file's name when a file is not what it should be.
#[wasm_bindgen(js_name = readDigits)]
pub fn read_digits(images: &[u8], labels: &[u8]) -> Result<JsValue, JsError> {
    use crate::data::{idx, CLASSES};
    let err = |e: idx::IdxError| JsError::new(&e.to_string());
    let images = idx::parse_images("test images", &idx::maybe_gunzip("test images", images).map_err(err)?, 28, 28)
        .map_err(err)?;
    let labels = idx::parse_labels("test labels", &idx::maybe_gunzip("test labels", labels).map_err(err)?, CLASSES)
        .map_err(err)?;
    let n = images.dims[0];
    if labels.len() != n {
        return Err(JsError::new(&format!("the test files disagree: {n} images but {} labels", labels.len())));
    }
    let out = js_sys::Object::new();
    Reflect::set(&out, &"n".into(), &(n as u32).into())
        .map_err(|_| JsError::new("readDigits: cannot build the result"))?;
    Reflect::set(&out, &"images".into(), &js_sys::Uint8Array::from(images.data.as_slice()))
        .map_err(|_| JsError::new("readDigits: cannot build the result"))?;
    Reflect::set(&out, &"labels".into(), &js_sys::Uint8Array::from(labels.as_slice()))
        .map_err(|_| JsError::new("readDigits: cannot build the result"))?;
    Ok(out.into())
}

/// 784 pixels from JS: a Float32Array (or another typed array) or a plain
/// array of numbers; an element of a plain array that is not a number (a
/// string, undefined, a hole) is refused by its index, not made NaN or 0.
/// Non-finite values and the length are the crate's to check.
fn pixels_from_js(pixels: &JsValue) -> Result<Vec<f32>, String> {
    if js_sys::Array::is_array(pixels) {
        let items: &js_sys::Array = pixels.unchecked_ref();
        return items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64().map(|x| x as f32).ok_or_else(|| {
                    format!("Trainer.predict: pixels[{i}] must be a number, got {}", input::describe(&v))
                })
            })
            .collect();
    }
    if js_sys::ArrayBuffer::is_view(pixels) && !pixels.is_instance_of::<js_sys::DataView>() {
        return Ok(Float32Array::new(pixels).to_vec());
    }
    Err(format!(
        "Trainer.predict: pixels must be a Float32Array or an array of 784 numbers, got {}",
        input::describe(pixels)
    ))
}

#[wasm_bindgen(js_class = Trainer)]
impl WasmTrainer {
    /// Resolves to `{probabilities: Float32Array(10), label}` for one image
    /// (784 pixels in [0, 1], row-major 28×28) with the run's current weights,
    /// at test time (batch norm with its running statistics). On the GPU the
    /// state is copied back first, unless no step ran since the last copy.
    pub fn predict(&self, pixels: JsValue) -> js_sys::Promise {
        let pixels = pixels_from_js(&pixels);
        self.with(move |t| async move {
            let p = t.borrow_mut().predict_async(&pixels.map_err(js_err)?).await.map_err(js_err)?;
            let out = to_js(&p)?;
            Reflect::set(&out, &"probabilities".into(), &Float32Array::from(p.probabilities.as_slice()))?;
            Ok(out)
        })
    }

    /// Resolves to the run's weights and config as a plain JSON-able object:
    /// `{config, step, epoch, sizes, layout, layers: [{inputs, outputs, shape,
    /// weights (row-major inputs × outputs), biases}], batch_norm: [{width, scale,
    /// shift, running_mean, running_var, eps}] (empty under arch plain)}`.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> js_sys::Promise {
        self.with(|t| async move {
            let w = t.borrow_mut().export_weights_async().await;
            to_js(&w).map_err(Into::into)
        })
    }
}
