//! What the page and the CLI show about a layer's geometry: each neuron's
//! metric spectrum, and the selectors ν that weight the samples.
//!
//! Under RNGD the metric is the one the optimizer has learnt. Under SGD and
//! Adam there is none, so the RFIM of the latest minibatch stands in for it,
//! with the same structure RNGD would use (shared for the input and softmax
//! layers, one per neuron in between), so the views compare like with like.

use ndarray::{Array2, Array3, ArrayView2, Axis};
use serde::Serialize;

use crate::fisher;
use crate::linalg;
use crate::optim::rngd::LayerMetric;
use crate::train::Trainer;

/// Eigenvalues at or below this fraction of the largest count as zero: the
/// metrics are stored in f32, so smaller ones are round-off, not geometry.
pub const RANK_TOLERANCE: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// Eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    pub trace: f64,
    pub min: f64,
    pub max: f64,
    /// Eigenvalues above `RANK_TOLERANCE` × the largest. A minibatch RFIM of B
    /// samples has rank at most B; a learnt metric loses rank along inputs that
    /// never vary (dead ReLU units, blank pixels) as its identity start decays.
    pub rank: usize,
    /// max / min, or `None` (null in JSON) when the matrix is numerically singular.
    pub condition: Option<f64>,
}

impl Spectrum {
    pub fn of(g: ArrayView2<f32>) -> Result<Spectrum, String> {
        let vals = linalg::sym_eigenvalues(g).map_err(|e| e.to_string())?;
        let mut eigenvalues = vals.to_vec();
        eigenvalues.reverse();
        let (max, min) = (eigenvalues[0], *eigenvalues.last().expect("non-empty matrix"));
        let floor = RANK_TOLERANCE * max.abs();
        let rank = eigenvalues.iter().filter(|&&v| v > floor).count();
        Ok(Spectrum {
            trace: g.diag().iter().map(|&v| v as f64).sum(),
            condition: (rank == eigenvalues.len() && max > 0.0).then(|| max / min),
            rank,
            eigenvalues,
            min,
            max,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    /// The metric RNGD has learnt.
    Rngd,
    /// The RFIM of the latest minibatch (SGD and Adam learn none).
    Batch,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDiagnostics {
    pub layer: usize,
    /// True when all neurons share one metric (input and softmax layers).
    pub shared: bool,
    pub source: MetricSource,
    /// One spectrum when shared, one per neuron otherwise.
    pub spectra: Vec<Spectrum>,
    /// ν per sample (rows) and neuron (columns) on the latest minibatch; absent
    /// for the softmax layer, whose RFIM is not a per-neuron selector, and before any step.
    pub nu: Option<Vec<Vec<f32>>>,
    /// Mean ν per neuron over the latest minibatch.
    pub nu_mean: Option<Vec<f32>>,
    /// RNGD inverses of this layer that failed and kept their previous value.
    pub inverse_fallbacks: u64,
}

fn spectra_of(blocks: &Array3<f32>) -> Result<Vec<Spectrum>, String> {
    blocks.outer_iter().map(Spectrum::of).collect()
}

impl Trainer {
    /// Diagnostics of weight layer `layer` (0 is the input layer).
    pub fn diagnostics(&self, layer: usize) -> Result<LayerDiagnostics, String> {
        let net = self.network();
        let layers = net.layers();
        if layer >= layers {
            return Err(format!("layer {layer} does not exist: the network has layers 0..{layers}"));
        }
        let forward = self.last_forward();
        let omega = self.config().rngd.omega;
        let hidden = layer + 1 < layers;
        let nu: Option<Array2<f32>> = match (forward, hidden) {
            (Some(f), true) => Some(f.pre[layer].mapv(|t| net.activation.nu(t, omega))),
            _ => None,
        };
        let (shared, source, spectra, fallbacks) = match self.optimizer().rngd() {
            Some(r) => {
                let m = &r.metrics[layer];
                let spectra = match m {
                    LayerMetric::Shared(s) => vec![Spectrum::of(s.metric().view())?],
                    LayerMetric::PerNeuron(p) => spectra_of(&p.metric_dense())?,
                };
                (m.is_shared(), MetricSource::Rngd, spectra, m.fallbacks())
            }
            None => {
                let f = forward.ok_or("no step has run yet, so there is no minibatch to take the RFIM of")?;
                let x = f.inputs[layer].view();
                let per_neuron = layer > 0 && hidden;
                let spectra = if per_neuron {
                    spectra_of(&fisher::nonlinear_layer_rfim_batch(
                        net.activation,
                        net.weights[layer].view(),
                        x,
                        omega,
                    ))?
                } else {
                    vec![Spectrum::of(fisher::linear_layer_rfim_batch(x).view())?]
                };
                (!per_neuron, MetricSource::Batch, spectra, 0)
            }
        };
        Ok(LayerDiagnostics {
            layer,
            shared,
            source,
            spectra,
            nu_mean: nu.as_ref().map(|n| n.mean_axis(Axis(0)).expect("a batch has rows").to_vec()),
            nu: nu.map(|n| n.outer_iter().map(|r| r.to_vec()).collect()),
            inverse_fallbacks: fallbacks,
        })
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use crate::data::{idx, Dataset, PIXELS};
    use crate::optim::OptimizerKind;
    use crate::TrainConfig;
    use std::sync::Arc;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tiny_data() -> Arc<Dataset> {
        let n = 40;
        let pixels: Vec<u8> = (0..n * PIXELS).map(|i| ((i * 37 + i / PIXELS * 11) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = idx::encode_ubyte(&[n, 28, 28], &pixels);
        let lbl = idx::encode_ubyte(&[n], &labels);
        Arc::new(Dataset::from_idx(&img, &lbl, &img, &lbl).unwrap())
    }

    fn trainer(kind: OptimizerKind) -> Trainer {
        let config = TrainConfig { optimizer: kind, hidden: vec![6, 5], batch: 8, ..TrainConfig::default() };
        Trainer::new(config, tiny_data()).unwrap()
    }

    #[test]
    fn spectrum_of_a_diagonal_matrix() {
        let s = Spectrum::of(Array2::from_diag(&ndarray::arr1(&[1.0f32, 4.0, 2.0])).view()).unwrap();
        assert_eq!(s.eigenvalues.iter().map(|v| v.round()).collect::<Vec<_>>(), vec![4.0, 2.0, 1.0]);
        assert!((s.trace - 7.0).abs() < 1e-12 && (s.condition.unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(s.rank, 3);
        let singular = Spectrum::of(Array2::from_diag(&ndarray::arr1(&[1.0f32, 0.0, 2.0])).view()).unwrap();
        assert_eq!((singular.rank, singular.condition), (2, None));
    }

    #[test]
    fn rngd_diagnostics_follow_the_learnt_metrics_and_the_last_batch() {
        let mut t = trainer(OptimizerKind::Rngd);
        // Before any step the metrics are the identity and there is no batch.
        let d = t.diagnostics(1).unwrap();
        assert_eq!((d.shared, d.source, d.spectra.len()), (false, MetricSource::Rngd, 5));
        assert!(d.spectra.iter().all(|s| s.eigenvalues.iter().all(|&v| (v - 1.0).abs() < 1e-6)));
        assert!(d.nu.is_none());
        t.step(3).unwrap();
        let d = t.diagnostics(1).unwrap();
        let nu = d.nu.as_ref().unwrap();
        assert_eq!((nu.len(), nu[0].len()), (8, 5));
        assert!(nu.iter().flatten().all(|&v| v > 0.0 && v < 1.0), "ReLU selectors lie in (0, 1)");
        let mean0 = nu.iter().map(|r| r[0]).sum::<f32>() / 8.0;
        assert!((mean0 - d.nu_mean.as_ref().unwrap()[0]).abs() < 1e-6);
        for s in &d.spectra {
            assert!(s.eigenvalues.windows(2).all(|w| w[0] >= w[1]), "largest first");
            assert!((s.trace - s.eigenvalues.iter().sum::<f64>()).abs() < 1e-4 * s.trace);
        }
        let input = t.diagnostics(0).unwrap();
        assert_eq!((input.shared, input.spectra.len(), input.spectra[0].eigenvalues.len()), (true, 1, 785));
        let softmax = t.diagnostics(2).unwrap();
        assert!(softmax.shared && softmax.nu.is_none());
        assert!(t.diagnostics(3).unwrap_err().contains("does not exist"));
    }

    #[test]
    fn sgd_diagnostics_use_the_rfim_of_the_last_batch() {
        let mut t = trainer(OptimizerKind::Sgd);
        assert!(t.diagnostics(1).unwrap_err().contains("no step has run"));
        t.step(1).unwrap();
        let d = t.diagnostics(1).unwrap();
        assert_eq!((d.shared, d.source, d.spectra.len()), (false, MetricSource::Batch, 5));
        // Each block is a mean of 8 ν-weighted rank-one terms: positive semi-definite, rank ≤ 8.
        assert!(d.spectra.iter().all(|s| s.min > -1e-5 && s.rank <= 8));
    }
}
