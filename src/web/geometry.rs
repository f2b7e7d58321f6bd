//! The geometry views' calls on a `Trainer`: one neuron's spectrum and
//! eigenvectors, the input metric's eigenvectors, and the batch's digits
//! beside the layer diagnostics.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::trainer::{rejected, WasmTrainer};
use super::{input, js_err, to_js};
use crate::diagnostics::LayerDiagnostics;

/// The diagnostics as a plain object, with `batch_images` as a Uint8Array
/// (rows × 784 pixels, 0–255): a typed array crosses to the page and back
/// through postMessage in one copy, where 39,200 numbers in an array would not.
pub(super) fn diagnostics_js(d: &LayerDiagnostics) -> Result<JsValue, JsValue> {
    with_images(to_js(d)?, &d.batch_images)
}

fn with_images(out: JsValue, images: &[u8]) -> Result<JsValue, JsValue> {
    Reflect::set(&out, &"batch_images".into(), &Uint8Array::from(images))?;
    Ok(out)
}

#[wasm_bindgen(js_class = Trainer)]
impl WasmTrainer {
    /// Resolves to neuron `index` of weight layer `layer` up close:
    /// `{layer, index, shared, source, spectrum, eigenvalues (all, largest first),
    /// vectors: [[dim floats] × k] (top-k eigenvectors, unit norm, bias last),
    /// nu: [per sample of the last batch] | null, informative: [rows by ν, largest first],
    /// batch_images (Uint8Array, rows × 784, of the batch ν refers to), batch_labels}`.
    /// On the GPU the state is copied back first. Rejects when an argument is
    /// not a whole number, or names no layer or neuron.
    pub fn neuron(&self, layer: JsValue, index: JsValue, k: JsValue) -> js_sys::Promise {
        let args = (|| {
            Ok::<_, String>((
                input::count_usize(&layer, "Trainer.neuron: layer")?,
                input::count_usize(&index, "Trainer.neuron: index")?,
                input::count_usize(&k, "Trainer.neuron: k")?,
            ))
        })();
        let (layer, index, k) = match args {
            Ok(args) => args,
            Err(e) => return rejected(e),
        };
        self.with(move |t| async move {
            let n = t.borrow_mut().neuron_async(layer, index, k).await.map_err(js_err)?;
            with_images(to_js(&n)?, &n.batch_images)
        })
    }

    /// Resolves to the input layer's shared metric: `{source, eigenvalues (all,
    /// largest first), vectors: [[785] × k] (784 pixels row-major, then the bias),
    /// inverse_fallbacks}`. Rejects when `k` is not a whole number.
    #[wasm_bindgen(js_name = inputEigenvectors)]
    pub fn input_eigenvectors(&self, k: JsValue) -> js_sys::Promise {
        let k = match input::count_usize(&k, "Trainer.inputEigenvectors: k") {
            Ok(k) => k,
            Err(e) => return rejected(e),
        };
        self.with(move |t| async move {
            let e = t.borrow_mut().input_eigenvectors_async(k).await.map_err(js_err)?;
            to_js(&e).map_err(Into::into)
        })
    }
}
