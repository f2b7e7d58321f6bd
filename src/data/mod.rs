//! Data: IDX parsing, the dataset held in memory, and the seeded batch order.

pub mod batches;
#[cfg(not(target_arch = "wasm32"))]
pub mod bundled;
pub mod digit;
pub mod idx;

use ndarray::{Array2, ArrayView1, Axis};
use rand::seq::SliceRandom;
use thiserror::Error;

pub use batches::BatchOrder;
pub use idx::IdxError;

pub const IMAGE_SIDE: usize = 28;
pub const PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
pub const CLASSES: usize = 10;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DataError {
    #[error("{split} split: {source}")]
    Idx { split: &'static str, source: IdxError },
    #[error("could not read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("cannot carve {requested} validation digits from a training split of {available}")]
    BadValidationSize { requested: usize, available: usize },
}

/// One split of the dataset: images as rows of pixels scaled to [0, 1], and labels.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Array2<f32>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image(&self, i: usize) -> ArrayView1<'_, f32> {
        self.images.row(i)
    }

    /// Parses a pair of IDX files (gzipped or raw) into a split.
    pub fn from_idx(split: &'static str, images: &[u8], labels: &[u8]) -> Result<Split, DataError> {
        let wrap = |source| DataError::Idx { split, source };
        let imgs = idx::parse_images(&format!("{split} images"), images, IMAGE_SIDE, IMAGE_SIDE).map_err(wrap)?;
        let labels = idx::parse_labels(&format!("{split} labels"), labels, CLASSES).map_err(wrap)?;
        let n = imgs.dims[0];
        if n != labels.len() {
            return Err(wrap(IdxError::CountMismatch { images: n, labels: labels.len() }));
        }
        let pixels: Vec<f32> = imgs.data.iter().map(|&p| p as f32 / 255.0).collect();
        let images = Array2::from_shape_vec((n, PIXELS), pixels).expect("length checked by the IDX parser");
        Ok(Split { images, labels })
    }

    /// The rows `rows` of this split, in that order.
    pub fn select(&self, rows: &[usize]) -> Split {
        Split { images: self.images.select(Axis(0), rows), labels: rows.iter().map(|&r| self.labels[r]).collect() }
    }
}

/// The training and test splits used by a run.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Parses four IDX files (gzipped or raw), as shipped in `assets/mnist/`.
    pub fn from_idx(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<Dataset, DataError> {
        Ok(Dataset {
            train: Split::from_idx("train", train_images, train_labels)?,
            test: Split::from_idx("test", test_images, test_labels)?,
        })
    }

    /// Moves `n` training digits, chosen by a seeded shuffle, into a validation
    /// split, for choosing hyperparameters without touching the test split.
    /// Returns the reduced dataset, the validation split, and the original
    /// training rows that the reduced training split holds, in order.
    pub fn carve_validation(&self, n: usize, seed: u64) -> Result<(Dataset, Split, Vec<usize>), DataError> {
        let available = self.train.len();
        if n == 0 || n >= available {
            return Err(DataError::BadValidationSize { requested: n, available });
        }
        let mut rows: Vec<usize> = (0..available).collect();
        rows.shuffle(&mut crate::rng::stream(seed, crate::rng::Stream::Validation));
        let (val_rows, train_rows) = rows.split_at(n);
        let mut train_rows = train_rows.to_vec();
        train_rows.sort_unstable();
        let reduced = Dataset { train: self.train.select(&train_rows), test: self.test.clone() };
        Ok((reduced, self.train.select(val_rows), train_rows))
    }

    /// Reads the four standard IDX files from a folder: `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]` and the test ones as `t10k-*` or `test-*`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: &std::path::Path) -> Result<Dataset, DataError> {
        let find = |stems: &[&str]| -> Result<Vec<u8>, DataError> {
            for stem in stems {
                for ext in ["", ".gz"] {
                    let p = dir.join(format!("{stem}{ext}"));
                    if p.is_file() {
                        return std::fs::read(&p)
                            .map_err(|e| DataError::Io { path: p.display().to_string(), reason: e.to_string() });
                    }
                }
            }
            Err(DataError::Io {
                path: dir.join(stems[0]).display().to_string(),
                reason: format!("none of {stems:?} (raw or .gz) exists in this folder"),
            })
        };
        Dataset::from_idx(
            &find(&["train-images-idx3-ubyte"])?,
            &find(&["train-labels-idx1-ubyte"])?,
            &find(&["t10k-images-idx3-ubyte", "test-images-idx3-ubyte"])?,
            &find(&["t10k-labels-idx1-ubyte", "test-labels-idx1-ubyte"])?,
        )
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn split_bytes(labels: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let n = labels.len();
        // Image j starts at pixel value 23·j mod 256, so the first 256 images all differ.
        let pixels: Vec<u8> = (0..n * PIXELS).map(|i| ((i / PIXELS * 7 + i) % 256) as u8).collect();
        (idx::encode_ubyte(&[n, 28, 28], &pixels), idx::encode_ubyte(&[n], labels))
    }

    #[test]
    fn scales_pixels_and_keeps_labels() {
        let (img, lbl) = split_bytes(&[3, 1]);
        let s = Split::from_idx("train", &img, &lbl).unwrap();
        assert_eq!(s.images.dim(), (2, PIXELS));
        assert_eq!(s.image(0)[255], 1.0);
        assert_eq!(s.image(0)[0], 0.0);
        assert_eq!(s.labels, vec![3, 1]);
    }

    #[test]
    fn validation_is_carved_from_training_rows_without_overlap() {
        let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        let (img, lbl) = split_bytes(&labels);
        let d = Dataset::from_idx(&img, &lbl, &img, &lbl).unwrap();
        let (reduced, val, train_rows) = d.carve_validation(5, 3).unwrap();
        assert_eq!((reduced.train.len(), val.len(), train_rows.len()), (15, 5, 15));
        // Every original row ends up in exactly one of the two splits.
        let mut seen: Vec<Vec<f32>> =
            reduced.train.images.rows().into_iter().chain(val.images.rows()).map(|r| r.to_vec()).collect();
        seen.sort_by(|a, b| a.partial_cmp(b).unwrap());
        seen.dedup();
        assert_eq!(seen.len(), 20);
        assert_eq!(reduced.train.labels, train_rows.iter().map(|&r| labels[r]).collect::<Vec<_>>());
        assert!(matches!(d.carve_validation(20, 3), Err(DataError::BadValidationSize { .. })));
    }

    #[test]
    fn rejects_count_mismatch_between_images_and_labels() {
        let (img, _) = split_bytes(&[3, 1, 4]);
        let (_, lbl) = split_bytes(&[3, 1]);
        let e = Dataset::from_idx(&img, &lbl, &img, &lbl).unwrap_err();
        assert_eq!(e, DataError::Idx { split: "train", source: IdxError::CountMismatch { images: 3, labels: 2 } });
        assert_eq!(e.to_string(), "train split: 3 images but 2 labels: the two files do not belong together");
    }
}
