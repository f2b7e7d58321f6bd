//! A run's answer for one image: the page's "draw a digit" asks every run in turn.

use ndarray::ArrayView2;
use serde::Serialize;

use super::{block_on, Trainer};
use crate::data::{CLASSES, PIXELS};
use crate::model::loss;

/// Class probabilities for one image and the most probable class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// softmax of the logits, one per class 0–9; they sum to 1.
    pub probabilities: Vec<f32>,
    pub label: usize,
}

impl Trainer {
    /// The run's prediction for `pixels` (784 values in [0, 1], row-major 28×28)
    /// with its current weights, through the same test-time path the evaluation
    /// uses (batch norm with its running statistics).
    pub fn predict(&mut self, pixels: &[f32]) -> Result<Prediction, String> {
        block_on(self.predict_async(pixels))
    }

    /// [`Trainer::predict`]; on the GPU the state is copied to the host first,
    /// unless the host copy is already of this step (no step since the last
    /// copy), so drawing while training is paused costs no copies.
    pub async fn predict_async(&mut self, pixels: &[f32]) -> Result<Prediction, String> {
        if self.gpu.is_some() && self.checkpoint.step != self.step {
            self.sync_host_async().await;
        }
        self.predict_host(pixels)
    }

    /// [`Trainer::predict`] with the host's weights as they are.
    pub fn predict_host(&self, pixels: &[f32]) -> Result<Prediction, String> {
        if pixels.len() != PIXELS {
            return Err(format!("a digit has {PIXELS} pixels (28×28), got {}", pixels.len()));
        }
        if let Some(bad) = pixels.iter().find(|v| !v.is_finite()) {
            return Err(format!("pixels must be finite numbers in [0, 1], got {bad}"));
        }
        let x = ArrayView2::from_shape((1, PIXELS), pixels).expect("length checked");
        let logits = self.net.logits(x);
        let probabilities = loss::softmax(logits.view()).row(0).to_vec();
        debug_assert_eq!(probabilities.len(), CLASSES);
        let label = loss::argmax_rows(logits.view())[0];
        Ok(Prediction { probabilities, label })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::bundled;
    use crate::model::Arch;
    use crate::{BackendChoice, TrainConfig};

    fn trained(arch: Arch) -> Trainer {
        let data = Arc::new(bundled::mnist_subset().unwrap());
        let config = TrainConfig { arch, hidden: vec![32], backend: BackendChoice::Cpu, ..TrainConfig::default() };
        let mut t = Trainer::new(config, data).unwrap();
        t.step(60).unwrap();
        t
    }

    #[test]
    fn predictions_agree_with_the_evaluation_on_test_digits() {
        for arch in [Arch::Plain, Arch::Bna] {
            let mut t = trained(arch);
            let test = t.data.test.select(&(0..300).collect::<Vec<_>>());
            let eval = t.evaluate(&test);
            let mut correct = 0;
            for i in 0..test.len() {
                let p = t.predict(test.image(i).as_slice().unwrap()).unwrap();
                assert_eq!(p.probabilities.len(), 10);
                let sum: f32 = p.probabilities.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
                let top = (0..10).max_by(|&a, &b| p.probabilities[a].total_cmp(&p.probabilities[b])).unwrap();
                assert_eq!(p.label, top);
                correct += usize::from(p.label == test.labels[i] as usize);
            }
            assert_eq!(correct as f64 / test.len() as f64, eval.accuracy, "{arch:?}");
            // 60 steps are enough to be well above chance (10 %).
            assert!(eval.accuracy > 0.5, "{arch:?}: accuracy {}", eval.accuracy);
        }
    }

    #[test]
    fn a_wrong_sized_or_non_finite_image_is_refused() {
        let mut t = trained(Arch::Plain);
        assert_eq!(t.predict(&[0.0; 10]).unwrap_err(), "a digit has 784 pixels (28×28), got 10");
        let mut x = vec![0.0; PIXELS];
        x[3] = f32::NAN;
        assert!(t.predict(&x).unwrap_err().starts_with("pixels must be finite"));
    }
}
