//! One neuron up close: its metric's full spectrum and top eigenvectors, its
//! selector ν over the latest minibatch and the samples it treats as
//! informative; and the shared input-layer metric's eigenvectors, which are
//! 28×28 images plus a bias entry.

use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use super::{MetricSource, Spectrum};
use crate::linalg;
use crate::optim::rngd::LayerMetric;
use crate::train::Trainer;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeuronDetail {
    pub layer: usize,
    pub index: usize,
    /// True when the neuron's metric is its layer's shared one (input and softmax layers).
    pub shared: bool,
    pub source: MetricSource,
    /// Every eigenvalue of the neuron's metric, largest first, with its trace, rank and condition.
    pub spectrum: Spectrum,
    /// The same eigenvalues, at the top level as the web API documents.
    pub eigenvalues: Vec<f64>,
    /// The top-k eigenvectors, unit norm, bias entry last; each signed so that
    /// its largest entry is positive, so the pictures do not flip between updates.
    pub vectors: Vec<Vec<f32>>,
    /// ν of this neuron on each sample of the latest minibatch; None for the
    /// softmax layer, whose metric has no per-neuron selector, and before any step.
    pub nu: Option<Vec<f32>>,
    /// Rows of the latest minibatch (0-based, in batch order) by ν, largest
    /// first: the samples this neuron learns most from. Empty when `nu` is None.
    pub informative: Vec<usize>,
    /// The minibatch `nu` and `informative` refer to, as in [`super::LayerDiagnostics`]
    /// (the images left out of the JSON; the web API passes a Uint8Array).
    #[serde(skip)]
    pub batch_images: Vec<u8>,
    pub batch_labels: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputEigenvectors {
    pub source: MetricSource,
    /// Every eigenvalue of layer 0's shared metric, largest first.
    pub eigenvalues: Vec<f64>,
    /// The top-k eigenvectors: 784 pixel weights (row-major 28×28), then the bias entry.
    pub vectors: Vec<Vec<f32>>,
    pub inverse_fallbacks: u64,
}

/// Eigenvalues, largest first, and the eigenvectors of the `k` largest.
pub fn top_eigen(g: ArrayView2<f32>, k: usize) -> Result<(Vec<f64>, Vec<Vec<f32>>), String> {
    let (vals, vecs) = linalg::sym_eigen(g).map_err(|e| e.to_string())?;
    let n = vals.len();
    let eigenvalues: Vec<f64> = vals.iter().rev().copied().collect();
    let vectors = (0..k.min(n))
        .map(|j| {
            let col = vecs.column(n - 1 - j);
            let big = col.iter().copied().fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            col.iter().map(|&v| (sign * v) as f32).collect()
        })
        .collect();
    Ok((eigenvalues, vectors))
}

/// Indices of `nu` by value, largest first (ties in index order).
pub fn by_nu(nu: &[f32]) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..nu.len()).collect();
    rows.sort_by(|&a, &b| nu[b].total_cmp(&nu[a]).then(a.cmp(&b)));
    rows
}

impl Trainer {
    /// The metric of neuron `index` of weight layer `layer` (its layer's shared one where shared).
    pub fn neuron_metric(&self, layer: usize, index: usize) -> Result<(Array2<f32>, bool), String> {
        self.check_layer(layer)?;
        let width = self.network().sizes()[layer + 1];
        if index >= width {
            return Err(format!("neuron {index} does not exist: layer {layer} has neurons 0..{width}"));
        }
        Ok(match &self.learnt_metric()?.0.metrics[layer] {
            LayerMetric::Shared(s) => (s.metric(), true),
            LayerMetric::PerNeuron(p) => (p.metric(index), false),
        })
    }

    /// Neuron `index` of layer `layer`: spectrum, top-`k` eigenvectors, ν and informative samples.
    pub fn neuron(&self, layer: usize, index: usize, k: usize) -> Result<NeuronDetail, String> {
        let (g, shared) = self.neuron_metric(layer, index)?;
        let (eigenvalues, vectors) = top_eigen(g.view(), k)?;
        let nu: Option<Vec<f32>> = self.last_nu(layer).map(|n| n.column(index).to_vec());
        let (batch_images, batch_labels) = self.last_batch_digits();
        Ok(NeuronDetail {
            batch_images,
            batch_labels,
            layer,
            index,
            shared,
            source: self.learnt_metric()?.1,
            spectrum: Spectrum::from_eigenvalues(eigenvalues.clone(), g.view()),
            eigenvalues,
            vectors,
            informative: nu.as_deref().map(by_nu).unwrap_or_default(),
            nu,
        })
    }

    /// [`Trainer::neuron`] after copying the GPU state to the host.
    pub async fn neuron_async(&mut self, layer: usize, index: usize, k: usize) -> Result<NeuronDetail, String> {
        self.sync_host_async().await;
        self.neuron(layer, index, k)
    }

    /// The input layer's shared metric: all its eigenvalues and its top-`k` eigenvectors.
    pub fn input_eigenvectors(&self, k: usize) -> Result<InputEigenvectors, String> {
        let (learnt, source) = self.learnt_metric()?;
        let LayerMetric::Shared(m) = &learnt.metrics[0] else {
            unreachable!("the input layer always shares one metric")
        };
        let (eigenvalues, vectors) = top_eigen(m.metric().view(), k)?;
        Ok(InputEigenvectors { source, eigenvalues, vectors, inverse_fallbacks: m.fallbacks })
    }

    /// [`Trainer::input_eigenvectors`] after copying the GPU state to the host.
    pub async fn input_eigenvectors_async(&mut self, k: usize) -> Result<InputEigenvectors, String> {
        self.sync_host_async().await;
        self.input_eigenvectors(k)
    }
}
