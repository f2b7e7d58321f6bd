//! The `Dataset` handle: the MNIST splits, parsed once in each worker.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use crate::Dataset;

/// The training and test splits, parsed once and shared by every trainer.
#[wasm_bindgen(js_name = Dataset)]
pub struct WasmDataset {
    pub(super) inner: Arc<Dataset>,
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
