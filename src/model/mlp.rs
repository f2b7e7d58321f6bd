//! A multilayer perceptron with augmented weight matrices and optional batch norm.
//!
//! Layer `l` holds `W_l` of shape `(d_in+1) × d_out`; its last row is the bias,
//! so `z_l = [h_{l-1}, 1] · W_l` (RNGD.md, "Notation"). Keeping the bias inside
//! the matrix is what lets RNGD precondition a neuron's weights and bias together.
//!
//! Architectures (paper §5.1): PLAIN, and BNA, which applies batch norm with a
//! learned scale and shift after the activation of every hidden layer.

use ndarray::{s, Array1, Array2, ArrayView2, Axis, NdFloat, Zip};
use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::loss;
use crate::rng::{self, Stream};

/// Batch-norm ε, as in the paper's setting.
pub const BN_EPS: f64 = 1e-3;
/// Running statistics follow the batch statistics with this EMA factor.
pub const BN_MOMENTUM: f64 = 0.99;

/// How far the `t`-th update (1-based) moves the running statistics towards
/// the batch's: `(1 − m) / (1 − mᵗ)` with m = [`BN_MOMENTUM`].
///
/// A plain EMA started at mean 0 and variance 1 lags for hundreds of steps: with
/// sigmoid units (true means near 0.5), BNA's test accuracy after one epoch
/// was 32 % while its training loss was already 0.86. This rate gives the
/// bias-corrected average instead, as Adam corrects its moments: the first
/// update takes the batch's statistics whole, and the weights of later batches
/// sum to one at every step, so test-time statistics are meaningful from the
/// first point. For large `t` it tends to the plain EMA's `1 − m`.
/// Computed in f64 and shared by the CPU and the GPU, so both round alike.
pub fn bn_running_rate(t: u64) -> f64 {
    let m = BN_MOMENTUM;
    if t == 0 {
        return 0.0;
    }
    (1.0 - m) / (1.0 - m.powf(t as f64))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    Plain,
    Bna,
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Arch, String> {
        match s {
            "plain" => Ok(Arch::Plain),
            "bna" => Ok(Arch::Bna),
            _ => Err(format!("unknown architecture {s:?}; expected plain or bna")),
        }
    }
}

/// Batch norm over one hidden layer's activations. Scale and shift are 1×d
/// matrices so that optimizers treat every parameter as a matrix.
#[derive(Debug, Clone)]
pub struct BatchNorm<F> {
    pub scale: Array2<F>,
    pub shift: Array2<F>,
    pub running_mean: Array1<F>,
    pub running_var: Array1<F>,
    /// Updates of the running statistics so far (training steps), for [`bn_running_rate`].
    pub updates: u64,
}

impl<F: NdFloat> BatchNorm<F> {
    fn new(width: usize) -> Self {
        BatchNorm {
            scale: Array2::ones((1, width)),
            shift: Array2::zeros((1, width)),
            running_mean: Array1::zeros(width),
            running_var: Array1::ones(width),
            updates: 0,
        }
    }
}

/// What batch norm keeps from a training forward pass for the backward pass.
#[derive(Debug, Clone)]
pub struct BnCache<F> {
    pub xhat: Array2<F>,
    pub mean: Array1<F>,
    pub var: Array1<F>,
    pub inv_std: Array1<F>,
}

#[derive(Debug, Clone)]
pub struct Mlp<F> {
    pub weights: Vec<Array2<F>>,
    /// One per hidden layer under BNA, none under PLAIN.
    pub bn: Vec<BatchNorm<F>>,
    pub activation: Activation,
}

/// What the forward pass keeps for the backward pass and for the metrics.
#[derive(Debug, Clone)]
pub struct Forward<F> {
    /// `inputs[l]` is the input `h_{l-1}` of layer `l` (batch × d_in), without the bias column.
    pub inputs: Vec<Array2<F>>,
    /// `pre[l]` is layer `l`'s pre-activation `z_l` (batch × d_out); the last one holds the logits.
    pub pre: Vec<Array2<F>>,
    /// Batch-norm caches, one per hidden layer under BNA.
    pub bn: Vec<BnCache<F>>,
}

impl<F> Forward<F> {
    pub fn logits(&self) -> &Array2<F> {
        self.pre.last().expect("an MLP has at least one layer")
    }
}

/// Loss, gradient and the forward pass that produced them.
#[derive(Debug, Clone)]
pub struct LossGrad<F> {
    /// Mean cross-entropy plus the L2 penalty.
    pub loss: F,
    /// Mean cross-entropy alone.
    pub data_loss: F,
    /// One gradient per parameter, in the order of [`Mlp::params`].
    pub grads: Vec<Array2<F>>,
    pub forward: Forward<F>,
    pub probs: Array2<F>,
}

fn cst<F: NdFloat>(x: f64) -> F {
    F::from(x).expect("constant fits the float type")
}

impl<F: NdFloat> Mlp<F> {
    /// Weights and biases drawn from a normal truncated at two standard deviations.
    /// `sizes` runs from the input width to the number of classes.
    pub fn new(sizes: &[usize], activation: Activation, arch: Arch, init_std: f64, seed: u64) -> Mlp<F> {
        assert!(sizes.len() >= 2, "an MLP needs an input and an output size");
        let mut rng = rng::stream(seed, Stream::Init);
        let weights = sizes
            .windows(2)
            .map(|w| {
                Array2::from_shape_simple_fn((w[0] + 1, w[1]), || cst::<F>(rng::truncated_normal(&mut rng, init_std)))
            })
            .collect();
        let hidden = &sizes[1..sizes.len() - 1];
        let bn = match arch {
            Arch::Plain => Vec::new(),
            Arch::Bna => hidden.iter().map(|&w| BatchNorm::new(w)).collect(),
        };
        Mlp { weights, bn, activation }
    }

    pub fn layers(&self) -> usize {
        self.weights.len()
    }

    /// Input width, then the width of every layer's output.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.weights[0].nrows() - 1).chain(self.weights.iter().map(|w| w.ncols())).collect()
    }

    /// Every trainable parameter: the weight matrices first, then each batch
    /// norm's scale and shift. Optimizers and gradients use this order.
    pub fn params(&self) -> Vec<&Array2<F>> {
        self.weights.iter().chain(self.bn.iter().flat_map(|b| [&b.scale, &b.shift])).collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut Array2<F>> {
        self.weights.iter_mut().chain(self.bn.iter_mut().flat_map(|b| [&mut b.scale, &mut b.shift])).collect()
    }

    /// Applies layer `l`'s affine map to `h` (batch × d_in).
    fn affine(&self, l: usize, h: ArrayView2<F>) -> Array2<F> {
        let w = &self.weights[l];
        let d_in = w.nrows() - 1;
        let mut z = h.dot(&w.slice(s![..d_in, ..]));
        z += &w.row(d_in);
        z
    }

    /// The training-mode forward pass: batch norm uses the batch's statistics.
    pub fn forward(&self, x: ArrayView2<F>) -> Forward<F> {
        let mut inputs = Vec::with_capacity(self.layers());
        let mut pre = Vec::with_capacity(self.layers());
        let mut caches = Vec::with_capacity(self.bn.len());
        let mut h = x.to_owned();
        for l in 0..self.layers() {
            let z = self.affine(l, h.view());
            let next = if l + 1 < self.layers() {
                let a = z.mapv(|t| self.activation.f(t));
                match self.bn.get(l) {
                    Some(bn) => {
                        let (out, cache) = batch_norm_train(bn, a);
                        caches.push(cache);
                        out
                    }
                    None => a,
                }
            } else {
                Array2::zeros((0, 0))
            };
            inputs.push(std::mem::replace(&mut h, next));
            pre.push(z);
        }
        Forward { inputs, pre, bn: caches }
    }

    /// Evaluation-mode logits: batch norm uses its running statistics, and no
    /// intermediate activations are kept.
    pub fn logits(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut h = x.to_owned();
        for l in 0..self.layers() {
            let z = self.affine(l, h.view());
            h = if l + 1 < self.layers() {
                let mut a = z.mapv(|t| self.activation.f(t));
                if let Some(bn) = self.bn.get(l) {
                    let eps = cst::<F>(BN_EPS);
                    let inv_std = bn.running_var.mapv(|v| F::one() / (v + eps).sqrt());
                    a -= &bn.running_mean;
                    a *= &inv_std;
                    a *= &bn.scale.row(0);
                    a += &bn.shift.row(0);
                }
                a
            } else {
                z
            };
        }
        h
    }

    /// Moves the batch-norm running statistics towards this batch's, at the
    /// bias-corrected rate of [`bn_running_rate`].
    pub fn update_running_stats(&mut self, forward: &Forward<F>) {
        for (bn, c) in self.bn.iter_mut().zip(&forward.bn) {
            bn.updates += 1;
            let a = F::from(bn_running_rate(bn.updates)).unwrap();
            let keep = F::one() - a;
            let n = F::from(c.xhat.nrows()).unwrap();
            // Unbiased variance for the running estimate, as is usual.
            let correction = if c.xhat.nrows() > 1 { n / (n - F::one()) } else { F::one() };
            Zip::from(&mut bn.running_mean).and(&c.mean).for_each(|r, &b| *r = keep * *r + a * b);
            Zip::from(&mut bn.running_var).and(&c.var).for_each(|r, &b| *r = keep * *r + a * b * correction);
        }
    }

    /// The L2 penalty `l2/2 · Σ_l ||W_l without its bias row||²`.
    pub fn l2_penalty(&self, l2: F) -> F {
        let half = cst::<F>(0.5);
        self.weights.iter().fold(F::zero(), |acc, w| {
            let d_in = w.nrows() - 1;
            acc + half * l2 * w.slice(s![..d_in, ..]).fold(F::zero(), |a, &v| a + v * v)
        })
    }

    /// Mean softmax cross-entropy on (`x`, `labels`) plus the L2 penalty, and
    /// its gradient with respect to every parameter (training-mode forward).
    pub fn loss_and_grad(&self, x: ArrayView2<F>, labels: &[u8], l2: F) -> LossGrad<F> {
        let forward = self.forward(x);
        let (data_loss, probs) = loss::cross_entropy(forward.logits().view(), labels);
        let mut dz = loss::cross_entropy_grad(&probs, labels);
        let mut weight_grads = vec![Array2::zeros((0, 0)); self.layers()];
        let mut bn_grads = vec![(Array2::zeros((0, 0)), Array2::zeros((0, 0))); self.bn.len()];
        for l in (0..self.layers()).rev() {
            let w = &self.weights[l];
            let d_in = w.nrows() - 1;
            let h = &forward.inputs[l];
            let mut g = Array2::zeros(w.raw_dim());
            g.slice_mut(s![..d_in, ..]).assign(&h.t().dot(&dz));
            g.row_mut(d_in).assign(&dz.sum_axis(Axis(0)));
            // Weight decay on the weights, not the biases.
            g.slice_mut(s![..d_in, ..]).scaled_add(l2, &w.slice(s![..d_in, ..]));
            weight_grads[l] = g;
            if l == 0 {
                break;
            }
            // Back through the input of layer l: hidden layer l-1's output.
            let mut dh = dz.dot(&w.slice(s![..d_in, ..]).t());
            if let (Some(bn), Some(cache)) = (self.bn.get(l - 1), forward.bn.get(l - 1)) {
                let (da, dscale, dshift) = batch_norm_backward(bn, cache, dh);
                bn_grads[l - 1] = (dscale, dshift);
                dh = da;
            }
            let act = self.activation;
            dz = Zip::from(&dh).and(&forward.pre[l - 1]).map_collect(|&d, &z| d * act.df(z));
        }
        let grads = weight_grads.into_iter().chain(bn_grads.into_iter().flat_map(|(a, b)| [a, b])).collect();
        LossGrad { loss: data_loss + self.l2_penalty(l2), data_loss, grads, forward, probs }
    }

    /// True when every parameter is a finite number.
    pub fn is_finite(&self) -> bool {
        self.params().iter().all(|w| w.iter().all(|v| v.is_finite()))
    }
}

/// `x̂ = (a − mean)/sqrt(var + ε)`, output `scale·x̂ + shift`, with batch statistics.
pub(crate) fn batch_norm_train<F: NdFloat>(bn: &BatchNorm<F>, a: Array2<F>) -> (Array2<F>, BnCache<F>) {
    let eps = cst::<F>(BN_EPS);
    let n = F::from(a.nrows()).unwrap();
    let mean = a.sum_axis(Axis(0)) / n;
    let mut xhat = a;
    xhat -= &mean;
    let var = xhat.mapv(|v| v * v).sum_axis(Axis(0)) / n;
    let inv_std = var.mapv(|v| F::one() / (v + eps).sqrt());
    xhat *= &inv_std;
    let mut out = &xhat * &bn.scale.row(0);
    out += &bn.shift.row(0);
    (out, BnCache { xhat, mean, var, inv_std })
}

/// Gradients of batch norm: with respect to its input, its scale and its shift.
pub(crate) fn batch_norm_backward<F: NdFloat>(
    bn: &BatchNorm<F>,
    c: &BnCache<F>,
    dout: Array2<F>,
) -> (Array2<F>, Array2<F>, Array2<F>) {
    let n = F::from(dout.nrows()).unwrap();
    let dscale = (&dout * &c.xhat).sum_axis(Axis(0)).insert_axis(Axis(0));
    let dshift = dout.sum_axis(Axis(0)).insert_axis(Axis(0));
    let dxhat = dout * bn.scale.row(0);
    let sum_dxhat = dxhat.sum_axis(Axis(0));
    let sum_dxhat_xhat = (&dxhat * &c.xhat).sum_axis(Axis(0));
    // d a = inv_std/n · (n·dx̂ − Σ dx̂ − x̂ · Σ(dx̂ ⊙ x̂)), the batch-statistics chain rule.
    let mut da = dxhat * n;
    da -= &sum_dxhat;
    da -= &(&c.xhat * &sum_dxhat_xhat);
    da *= &c.inv_std.mapv(|s| s / n);
    (da, dscale, dshift)
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use crate::rng;
    use rand::Rng;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn toy_batch(n: usize, d: usize, classes: u8, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut r = rng::stream(seed, Stream::Test);
        let x = Array2::from_shape_simple_fn((n, d), || r.random_range(-1.0..1.0));
        let y = (0..n).map(|_| r.random_range(0..classes)).collect();
        (x, y)
    }

    /// Central finite differences in f64 on every parameter (weights, biases,
    /// batch-norm scales and shifts) of a small network, for each activation
    /// and both architectures. ReLU kinks are hit with probability zero; the
    /// tolerance is relative to the gradient's scale.
    #[test]
    #[allow(clippy::needless_range_loop)] // p indexes the gradients and the parameters alike
    fn gradient_matches_finite_differences() {
        for arch in [Arch::Plain, Arch::Bna] {
            for act in [
                Activation::Relu,
                Activation::Prelu { leak: 0.2 },
                Activation::Elu { alpha: 1.0 },
                Activation::Tanh,
                Activation::Sigmoid,
            ] {
                let mut net = Mlp::<f64>::new(&[5, 4, 3, 3], act, arch, 0.5, 11);
                for bn in &mut net.bn {
                    bn.scale.mapv_inplace(|_| 1.3);
                    bn.shift.mapv_inplace(|_| -0.2);
                }
                let (x, y) = toy_batch(6, 5, 3, 2);
                let l2 = 1e-2;
                let analytic = net.loss_and_grad(x.view(), &y, l2).grads;
                assert_eq!(analytic.len(), net.params().len());
                let eps = 1e-6;
                let mut worst: f64 = 0.0;
                for p in 0..analytic.len() {
                    for idx in ndarray::indices(analytic[p].raw_dim()) {
                        let bump = |net: &mut Mlp<f64>, d: f64| net.params_mut()[p][idx] += d;
                        bump(&mut net, eps);
                        let up = net.loss_and_grad(x.view(), &y, l2).loss;
                        bump(&mut net, -2.0 * eps);
                        let down = net.loss_and_grad(x.view(), &y, l2).loss;
                        bump(&mut net, eps);
                        let fd = (up - down) / (2.0 * eps);
                        let a = analytic[p][idx];
                        // Relative error, with an absolute floor so tiny gradients are judged by
                        // the finite-difference noise (~1e-10) rather than amplified by it.
                        worst = worst.max((fd - a).abs() / (1e-3 + fd.abs().max(a.abs())));
                    }
                }
                assert!(worst < 1e-5, "{arch:?} {act:?}: worst relative gradient error {worst}");
            }
        }
    }

    #[test]
    fn bias_is_the_last_row_and_is_not_decayed() {
        let mut net = Mlp::<f64>::new(&[2, 2], Activation::Relu, Arch::Plain, 0.1, 1);
        net.weights[0].fill(0.0);
        net.weights[0][[2, 1]] = 3.0; // bias of neuron 1
        let z = net.logits(ndarray::array![[5.0, -5.0]].view());
        assert_eq!(z, ndarray::array![[0.0, 3.0]]);
        assert_eq!(net.l2_penalty(1.0), 0.0);
    }

    #[test]
    fn plain_logits_agree_with_forward() {
        let net = Mlp::<f64>::new(&[5, 4, 3], Activation::Tanh, Arch::Plain, 0.3, 4);
        let (x, _) = toy_batch(3, 5, 3, 9);
        assert_eq!(net.logits(x.view()), *net.forward(x.view()).logits());
    }

    #[test]
    fn batch_norm_normalises_in_training_and_uses_running_stats_in_evaluation() {
        let mut net = Mlp::<f64>::new(&[5, 4, 3], Activation::Tanh, Arch::Bna, 0.8, 4);
        let (x, _) = toy_batch(64, 5, 3, 9);
        let f = net.forward(x.view());
        let h = &f.inputs[1];
        for col in h.columns() {
            let m = col.mean().unwrap();
            let v = col.mapv(|c| (c - m).powi(2)).mean().unwrap();
            assert!(m.abs() < 1e-12, "mean {m}");
            // var/(var+ε) ≤ 1 because of ε.
            assert!(v < 1.0 && v > 0.9, "variance {v}");
        }
        // Fresh running stats are mean 0, var 1: evaluation then differs from training.
        assert_ne!(net.logits(x.view()), *f.logits());
        // After many updates on the same batch, running stats equal the batch's
        // (up to the unbiased-variance factor), so evaluation approaches training.
        for _ in 0..3000 {
            net.update_running_stats(&f);
        }
        let diff = (&net.logits(x.view()) - f.logits()).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
        assert!(diff < 0.05, "eval/train difference {diff}");
    }

    #[test]
    fn params_are_weights_then_scale_and_shift() {
        let net = Mlp::<f32>::new(&[3, 4, 5, 2], Activation::Relu, Arch::Bna, 0.1, 1);
        let shapes: Vec<_> = net.params().iter().map(|p| p.dim()).collect();
        assert_eq!(shapes, vec![(4, 4), (5, 5), (6, 2), (1, 4), (1, 4), (1, 5), (1, 5)]);
        assert_eq!(Mlp::<f32>::new(&[3, 4, 2], Activation::Relu, Arch::Plain, 0.1, 1).params().len(), 2);
    }
}
