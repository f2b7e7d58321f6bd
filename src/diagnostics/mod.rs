//! What the page and the CLI show about a layer's geometry: each neuron's
//! metric spectrum, and the selectors ν that weight the samples.
//!
//! Under RNGD the metric is the one the optimizer has learnt. Under SGD and
//! Adam it is the same metric, learnt alongside read-only and never used to
//! step (`optim::track`), so the views compare the three runs like with like.

mod neuron;
pub mod selectors;

use ndarray::{Array2, Array3, ArrayView2, Axis};
use serde::Serialize;

use crate::data::PIXELS;
use crate::linalg;
use crate::optim::rngd::LayerMetric;
use crate::optim::Rngd;
use crate::train::Trainer;

pub use neuron::{InputEigenvectors, NeuronDetail};
pub use selectors::SelectorHealth;

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
        Ok(Spectrum::from_eigenvalues(vals.iter().rev().copied().collect(), g))
    }

    /// The spectrum of `g` from its eigenvalues, largest first.
    pub fn from_eigenvalues(eigenvalues: Vec<f64>, g: ArrayView2<f32>) -> Spectrum {
        let (max, min) = (eigenvalues[0], *eigenvalues.last().expect("non-empty matrix"));
        let floor = RANK_TOLERANCE * max.abs();
        let rank = eigenvalues.iter().filter(|&&v| v > floor).count();
        Spectrum {
            trace: g.diag().iter().map(|&v| v as f64).sum(),
            condition: (rank == eigenvalues.len() && max > 0.0).then(|| max / min),
            rank,
            eigenvalues,
            min,
            max,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    /// The metric RNGD has learnt.
    Rngd,
    /// The same metric, learnt read-only beside SGD or Adam (every
    /// `optim::TRACK_EVERY` steps, at the matching rate).
    Tracked,
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
    /// Dead and saturated neurons by their ν on the latest minibatch (see `selectors`).
    pub selectors: Option<SelectorHealth>,
    /// The latest minibatch's digits, rows × 784 pixels in 0..=255, row-major;
    /// empty before any step. Left out of the JSON (the web API passes it as a
    /// Uint8Array): too many numbers for a text format.
    #[serde(skip)]
    pub batch_images: Vec<u8>,
    /// The latest minibatch's labels.
    pub batch_labels: Vec<u8>,
    /// RNGD inverses of this layer that failed and kept their previous value.
    pub inverse_fallbacks: u64,
}

fn spectra_of(blocks: &Array3<f32>) -> Result<Vec<Spectrum>, String> {
    blocks.outer_iter().map(Spectrum::of).collect()
}

impl Trainer {
    /// The metrics this run learns, and whose they are: RNGD's own, or the
    /// ones tracked beside SGD and Adam.
    pub(crate) fn learnt_metric(&self) -> Result<(&Rngd, MetricSource), String> {
        match (self.optimizer().rngd(), self.tracked_metric()) {
            (Some(r), _) => Ok((r, MetricSource::Rngd)),
            (None, Some(t)) => Ok((t.as_rngd(), MetricSource::Tracked)),
            (None, None) => Err(format!(
                "this {} run learns no metric: set track_metric to follow RNGD's metric beside it",
                self.optimizer().name()
            )),
        }
    }

    pub(crate) fn check_layer(&self, layer: usize) -> Result<(), String> {
        let layers = self.network().layers();
        if layer >= layers {
            return Err(format!("layer {layer} does not exist: the network has layers 0..{layers}"));
        }
        Ok(())
    }

    /// ν (samples × neurons) of hidden layer `layer` on the latest minibatch;
    /// None for the softmax layer and before any step.
    pub(crate) fn last_nu(&self, layer: usize) -> Option<Array2<f32>> {
        let net = self.network();
        let omega = self.config().rngd.omega;
        match self.last_forward() {
            Some(f) if layer + 1 < net.layers() => Some(f.pre[layer].mapv(|t| net.activation.nu(t, omega))),
            _ => None,
        }
    }

    /// The latest minibatch's images as bytes (rows × 784) and its labels.
    pub fn last_batch_digits(&self) -> (Vec<u8>, Vec<u8>) {
        let train = &self.dataset().train;
        let rows = self.last_batch();
        let mut pixels = Vec::with_capacity(rows.len() * PIXELS);
        for &r in rows {
            pixels.extend(train.image(r).iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8));
        }
        (pixels, rows.iter().map(|&r| train.labels[r]).collect())
    }

    /// Diagnostics of weight layer `layer` (0 is the input layer).
    pub fn diagnostics(&self, layer: usize) -> Result<LayerDiagnostics, String> {
        self.check_layer(layer)?;
        let nu = self.last_nu(layer);
        let (learnt, source) = self.learnt_metric()?;
        let m = &learnt.metrics[layer];
        let spectra = match m {
            LayerMetric::Shared(s) => vec![Spectrum::of(s.metric().view())?],
            LayerMetric::PerNeuron(p) => spectra_of(&p.metric_dense())?,
        };
        let (batch_images, batch_labels) = self.last_batch_digits();
        Ok(LayerDiagnostics {
            layer,
            shared: m.is_shared(),
            source,
            spectra,
            selectors: nu.as_ref().map(|n| selectors::health(self.network().activation, n.view())),
            nu_mean: nu.as_ref().map(|n| n.mean_axis(Axis(0)).expect("a batch has rows").to_vec()),
            nu: nu.map(|n| n.outer_iter().map(|r| r.to_vec()).collect()),
            // Only RNGD inverts; a tracked metric is never inverted, so never falls back.
            inverse_fallbacks: m.fallbacks(),
            batch_images,
            batch_labels,
        })
    }

    /// [`Trainer::diagnostics`] after copying the GPU state to the host.
    pub async fn diagnostics_async(&mut self, layer: usize) -> Result<LayerDiagnostics, String> {
        self.sync_host_async().await;
        self.diagnostics(layer)
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
        let config =
            TrainConfig { optimizer: kind, hidden: vec![6, 5], batch: 8, track_metric: true, ..TrainConfig::default() };
        Trainer::new(config, tiny_data()).unwrap()
    }

    #[test]
    fn without_tracking_sgd_has_no_metric_to_show_and_says_how_to_get_one() {
        let config = TrainConfig { hidden: vec![6, 5], batch: 8, ..TrainConfig::default() };
        let mut t = Trainer::new(config, tiny_data()).unwrap();
        t.step(2).unwrap();
        assert!(t.tracked_metric().is_none());
        let e = t.diagnostics(1).unwrap_err();
        assert!(e.contains("learns no metric") && e.contains("track_metric"), "{e}");
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

    /// The EMA RNGD.md defines, written out with loops in f64: per-neuron
    /// `G ← (1−λ)G + λ·mean_k ν_ki x̃_k x̃_kᵀ`, shared `G ← (1−λ)G + λ·mean_k x̃_k x̃_kᵀ`.
    fn ema_by_hand(g: &mut Array2<f64>, x: ArrayView2<f32>, nu: Option<ndarray::ArrayView1<f32>>, lambda: f64) {
        let (b, d) = (x.nrows(), x.ncols() + 1);
        let aug = |k: usize, a: usize| if a + 1 == d { 1.0 } else { x[[k, a]] as f64 };
        g.mapv_inplace(|v| v * (1.0 - lambda));
        for k in 0..b {
            let w = nu.map_or(1.0, |n| n[k] as f64) * lambda / b as f64;
            for a in 0..d {
                for c in 0..d {
                    g[[a, c]] += w * aug(k, a) * aug(k, c);
                }
            }
        }
    }

    fn assert_close(got: ArrayView2<f32>, want: &Array2<f64>, what: &str) {
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let diff = got.iter().zip(want).fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
        assert!(diff <= 1e-5 * scale, "{what}: differs by {diff:e} (scale {scale})");
    }

    #[test]
    fn sgd_tracks_the_metric_rngd_would_learn_without_using_it() {
        let mut t = trainer(OptimizerKind::Sgd);
        // Before any step: the identity start, as RNGD's, and no batch.
        let d = t.diagnostics(1).unwrap();
        assert_eq!((d.shared, d.source, d.spectra.len(), d.inverse_fallbacks), (false, MetricSource::Tracked, 5, 0));
        assert!(d.spectra.iter().all(|s| s.eigenvalues.iter().all(|&v| (v - 1.0).abs() < 1e-6)));
        assert!(d.nu.is_none() && d.batch_labels.is_empty());

        // An independent EMA over the run's own forward passes, at the tracker's
        // steps 0, k, 2k (the forward pass of a step is taken before its update).
        let k = crate::optim::TRACK_EVERY as u64;
        let lambda = 1.0 - (1.0 - t.config().rngd.lambda).powi(k as i32);
        let sizes = t.network().sizes();
        let mut shared0 = Array2::<f64>::eye(sizes[0] + 1);
        let mut shared2 = Array2::<f64>::eye(sizes[2] + 1);
        let mut per = vec![Array2::<f64>::eye(sizes[1] + 1); sizes[2]];
        let steps = 2 * k + 5;
        for s in 0..steps {
            t.step(1).unwrap();
            if s % k != 0 {
                continue;
            }
            let f = t.last_forward().unwrap();
            ema_by_hand(&mut shared0, f.inputs[0].view(), None, lambda);
            ema_by_hand(&mut shared2, f.inputs[2].view(), None, lambda);
            let nu = f.pre[1].mapv(|z| t.network().activation.nu(z, t.config().rngd.omega));
            for (i, g) in per.iter_mut().enumerate() {
                ema_by_hand(g, f.inputs[1].view(), Some(nu.column(i)), lambda);
            }
        }
        let tracked = t.tracked_metric().unwrap().metrics();
        let dense = |l: usize| tracked[l].metric_dense().as_standard_layout().into_owned();
        assert_close(dense(0).into_dimensionality().unwrap().view(), &shared0, "input metric");
        assert_close(dense(2).into_dimensionality().unwrap().view(), &shared2, "softmax metric");
        let d1: Array3<f32> = dense(1).into_dimensionality().unwrap();
        for (i, g) in per.iter().enumerate() {
            assert_close(d1.index_axis(Axis(0), i), g, &format!("neuron {i}"));
        }
        // It has moved off the identity start; its bias-bias entry stays 1, a mean of ones.
        let d2 = shared2.nrows() - 1;
        assert!((shared2[[d2, d2]] - 1.0).abs() < 1e-12);
        assert!((&shared2 - &Array2::<f64>::eye(d2 + 1)).iter().any(|v| v.abs() > 1e-3));

        // And the diagnostics show it, with the last batch beside it.
        let d = t.diagnostics(1).unwrap();
        assert_eq!(d.source, MetricSource::Tracked);
        let (rows, data) = (t.last_batch().to_vec(), t.dataset().train.clone());
        assert_eq!(d.batch_labels, rows.iter().map(|&r| data.labels[r]).collect::<Vec<_>>());
        assert_eq!(d.batch_images.len(), 8 * PIXELS);
        for (j, &r) in rows.iter().enumerate() {
            for p in [0, 300, 783] {
                assert_eq!(d.batch_images[j * PIXELS + p], (data.image(r)[p] * 255.0).round() as u8);
            }
        }
        // SGD's weights are its own: the same seed and batches without tracking would step the same
        // (the tracker only reads), which the GPU parity tests check against the CPU as well.
        let adam = trainer(OptimizerKind::Adam);
        assert_eq!(adam.diagnostics(0).unwrap().source, MetricSource::Tracked);
    }

    #[test]
    fn neuron_eigenvectors_satisfy_g_v_equals_lambda_v() {
        let mut t = trainer(OptimizerKind::Rngd);
        t.step(12).unwrap();
        let d = t.diagnostics(1).unwrap();
        let n = t.neuron(1, 2, 3).unwrap();
        let (g, shared) = t.neuron_metric(1, 2).unwrap();
        assert!(!shared && n.vectors.len() == 3 && n.eigenvalues.len() == 7);
        for (a, b) in n.eigenvalues.iter().zip(&d.spectra[2].eigenvalues) {
            assert!((a - b).abs() <= 1e-6 * d.spectra[2].max, "same spectrum as the layer view");
        }
        let top = n.eigenvalues[0];
        for (j, v) in n.vectors.iter().enumerate() {
            let v = ndarray::Array1::from(v.clone());
            assert!((v.dot(&v) - 1.0).abs() < 1e-5, "unit norm");
            let gv = g.dot(&v);
            let err = (&gv - &(&v * n.eigenvalues[j] as f32)).mapv(|e| e.abs()).fold(0.0f32, |m, &e| m.max(e));
            assert!(err < 1e-5 * top as f32, "G v = λ v for vector {j}: off by {err}");
        }
        // ν of this neuron is column 2 of the layer's ν, and the informative rows are sorted by it.
        let nu = n.nu.as_ref().unwrap();
        assert_eq!(nu, &d.nu.unwrap().iter().map(|r| r[2]).collect::<Vec<_>>());
        let mut sorted = n.informative.clone();
        assert!(n.informative.windows(2).all(|w| nu[w[0]] >= nu[w[1]]));
        sorted.sort();
        assert_eq!(sorted, (0..8).collect::<Vec<_>>());
        // The softmax layer has no selector; a neuron past the end is refused.
        assert!(t.neuron(2, 0, 1).unwrap().nu.is_none());
        assert!(t.neuron(1, 5, 1).unwrap_err().contains("does not exist"));

        let input = t.input_eigenvectors(2).unwrap();
        assert_eq!((input.eigenvalues.len(), input.vectors.len(), input.vectors[0].len()), (785, 2, 785));
        let (g0, _) = t.neuron_metric(0, 0).unwrap();
        let v = ndarray::Array1::from(input.vectors[0].clone());
        let err = (&g0.dot(&v) - &(&v * input.eigenvalues[0] as f32)).mapv(f32::abs).fold(0.0f32, |m, &e| m.max(e));
        assert!(err < 1e-4 * input.eigenvalues[0] as f32, "input G v = λ v: off by {err}");
    }

    #[test]
    fn selector_health_matches_the_layer_nu() {
        let mut t = trainer(OptimizerKind::Sgd);
        t.step(3).unwrap();
        let d = t.diagnostics(1).unwrap();
        let (nu, h) = (d.nu.unwrap(), d.selectors.unwrap());
        for i in 0..5 {
            let col: Vec<f32> = nu.iter().map(|r| r[i]).collect();
            assert_eq!(h.dead.contains(&i), col.iter().all(|&v| v < selectors::LOW), "neuron {i}");
            assert_eq!(h.saturated.contains(&i), col.iter().all(|&v| v > selectors::HIGH), "neuron {i}");
        }
    }
}
