//! A run's weights and config as one JSON-able record: what the page's
//! "weights (JSON)" export saves, enough to rebuild the network elsewhere.

use serde::Serialize;

use super::{block_on, Trainer};
use crate::config::TrainConfig;
use crate::model::mlp::BN_EPS;

/// How [`LayerWeights::weights`] is laid out, written into the record so that
/// a reader needs nothing else.
pub const WEIGHTS_LAYOUT: &str = "weights is row-major inputs × outputs: weights[i * outputs + j] multiplies input i \
     into output j; z = h · W + biases. Hidden layers apply the config's activation, then batch norm (arch bna) \
     as (a − running_mean) / sqrt(running_var + eps) · scale + shift; the last layer's z are the logits of the \
     classes 0–9 (softmax gives probabilities).";

/// One weight layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerWeights {
    pub inputs: usize,
    pub outputs: usize,
    /// `[inputs, outputs]`, the shape of `weights`.
    pub shape: [usize; 2],
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
}

/// One hidden layer's batch norm (arch bna), with the statistics used at test time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchNormWeights {
    pub width: usize,
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
    pub eps: f64,
}

/// A run's network as of `step`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsExport {
    /// The config in force, every default made explicit.
    pub config: TrainConfig,
    pub step: u64,
    pub epoch: f64,
    /// Input width, then every layer's output width.
    pub sizes: Vec<usize>,
    pub layout: &'static str,
    pub layers: Vec<LayerWeights>,
    /// One per hidden layer under arch bna; empty under plain.
    pub batch_norm: Vec<BatchNormWeights>,
}

impl Trainer {
    /// The run's weights now (copied from the GPU first on that backend).
    pub fn export_weights(&mut self) -> WeightsExport {
        block_on(self.export_weights_async())
    }

    /// [`Trainer::export_weights`]; copies the GPU state only if a step ran since the last copy.
    pub async fn export_weights_async(&mut self) -> WeightsExport {
        if self.gpu.is_some() && self.checkpoint.step != self.step {
            self.sync_host_async().await;
        }
        self.export_weights_host()
    }

    /// [`Trainer::export_weights`] with the host's weights as they are.
    pub fn export_weights_host(&self) -> WeightsExport {
        let net = &self.net;
        let layers = net
            .weights
            .iter()
            .map(|w| {
                // Augmented matrix: the last row is the bias (see model::mlp).
                let (inputs, outputs) = (w.nrows() - 1, w.ncols());
                let rows = w.rows().into_iter();
                LayerWeights {
                    inputs,
                    outputs,
                    shape: [inputs, outputs],
                    weights: rows.take(inputs).flatten().copied().collect(),
                    biases: w.row(inputs).to_vec(),
                }
            })
            .collect();
        let batch_norm = net
            .bn
            .iter()
            .map(|b| BatchNormWeights {
                width: b.running_mean.len(),
                scale: b.scale.row(0).to_vec(),
                shift: b.shift.row(0).to_vec(),
                running_mean: b.running_mean.to_vec(),
                running_var: b.running_var.to_vec(),
                eps: BN_EPS,
            })
            .collect();
        WeightsExport {
            config: self.config.resolved(),
            step: self.step,
            epoch: self.epoch(),
            sizes: net.sizes(),
            layout: WEIGHTS_LAYOUT,
            layers,
            batch_norm,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;

    use super::*;
    use crate::data::{bundled, PIXELS};
    use crate::model::{Activation, Arch};
    use crate::BackendChoice;

    fn floats(v: &Value) -> Vec<f32> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
    }

    /// The network rebuilt from the JSON alone, as a reader of the file would,
    /// following `layout`: logits for one image.
    fn logits_from_json(json: &Value, x: &[f32]) -> Vec<f32> {
        let layers = json["layers"].as_array().unwrap();
        let act: Activation = serde_json::from_value(json["config"]["activation"].clone()).unwrap();
        let mut h = x.to_vec();
        for (l, layer) in layers.iter().enumerate() {
            let (n_in, n_out) =
                (layer["inputs"].as_u64().unwrap() as usize, layer["outputs"].as_u64().unwrap() as usize);
            assert_eq!(layer["shape"], serde_json::json!([n_in, n_out]));
            let (w, b) = (floats(&layer["weights"]), floats(&layer["biases"]));
            assert_eq!((w.len(), b.len(), h.len()), (n_in * n_out, n_out, n_in));
            let mut z: Vec<f32> =
                (0..n_out).map(|j| b[j] + (0..n_in).map(|i| h[i] * w[i * n_out + j]).sum::<f32>()).collect();
            if l + 1 < layers.len() {
                z.iter_mut().for_each(|v| *v = act.f(*v));
                if let Some(bn) = json["batch_norm"].as_array().unwrap().get(l) {
                    let eps = bn["eps"].as_f64().unwrap() as f32;
                    let (s, t) = (floats(&bn["scale"]), floats(&bn["shift"]));
                    let (m, v) = (floats(&bn["running_mean"]), floats(&bn["running_var"]));
                    for j in 0..n_out {
                        z[j] = (z[j] - m[j]) / (v[j] + eps).sqrt() * s[j] + t[j];
                    }
                }
            }
            h = z;
        }
        h
    }

    #[test]
    fn the_exported_json_rebuilds_the_network() {
        let data = Arc::new(bundled::mnist_subset().unwrap());
        for (arch, hidden) in [(Arch::Plain, vec![24, 16]), (Arch::Bna, vec![20])] {
            let config =
                TrainConfig { arch, hidden: hidden.clone(), backend: BackendChoice::Cpu, ..TrainConfig::default() };
            let mut t = Trainer::new(config, data.clone()).unwrap();
            t.step(30).unwrap();
            let json = serde_json::to_value(t.export_weights()).unwrap();
            assert_eq!(json["step"], 30);
            assert_eq!(json["config"]["hidden"], serde_json::json!(hidden));
            assert!(json["config"]["lr"].is_number(), "the config is resolved");
            let sizes: Vec<usize> = std::iter::once(PIXELS).chain(hidden.iter().copied()).chain([10]).collect();
            assert_eq!(json["sizes"], serde_json::json!(sizes));
            let shapes: Vec<Value> = json["layers"].as_array().unwrap().iter().map(|l| l["shape"].clone()).collect();
            let expected: Vec<Value> = sizes.windows(2).map(|w| serde_json::json!([w[0], w[1]])).collect();
            assert_eq!(shapes, expected);
            assert_eq!(json["batch_norm"].as_array().unwrap().len(), if arch == Arch::Bna { hidden.len() } else { 0 });
            // Through a JSON string and back, the weights still give the trainer's own predictions.
            let json: Value = serde_json::from_str(&json.to_string()).unwrap();
            for row in 0..20 {
                let x = data.test.image(row).to_vec();
                let p = t.predict(&x).unwrap();
                let logits = logits_from_json(&json, &x);
                let probs = crate::model::loss::softmax(ndarray::ArrayView2::from_shape((1, 10), &logits).unwrap());
                for (a, b) in probs.iter().zip(&p.probabilities) {
                    assert!((a - b).abs() < 1e-5, "{arch:?} row {row}: {a} vs {b}");
                }
            }
        }
    }
}
