//! The MNIST subset shipped in `assets/mnist/`, compiled into native builds so
//! the CLI and the tests work from any directory. The browser fetches the same
//! files over HTTP instead, which keeps them out of the wasm binary.

use super::{DataError, Dataset};

const TRAIN_IMAGES: &[u8] = include_bytes!("../../assets/mnist/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] = include_bytes!("../../assets/mnist/train-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] = include_bytes!("../../assets/mnist/test-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] = include_bytes!("../../assets/mnist/test-labels-idx1-ubyte.gz");

/// 8,000 training and 2,000 test digits, stratified by class (see `assets/README.md`).
pub fn mnist_subset() -> Result<Dataset, DataError> {
    Dataset::from_idx(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
}
