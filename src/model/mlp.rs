//! A multilayer perceptron with augmented weight matrices.
//!
//! Layer `l` holds `W_l` of shape `(d_in+1) × d_out`; its last row is the bias,
//! so `z_l = [h_{l-1}, 1] · W_l` (RNGD.md, "Notation"). Keeping the bias inside
//! the matrix is what lets RNGD precondition a neuron's weights and bias together.

use ndarray::{s, Array2, ArrayView2, Axis, NdFloat};

use super::activation::Activation;
use super::loss;
use crate::rng::{self, Stream};

#[derive(Debug, Clone)]
pub struct Mlp<F> {
    pub weights: Vec<Array2<F>>,
    pub activation: Activation,
}

/// What the forward pass keeps for the backward pass and for the metrics.
#[derive(Debug, Clone)]
pub struct Forward<F> {
    /// `inputs[l]` is the input `h_{l-1}` of layer `l` (batch × d_in), without the bias column.
    pub inputs: Vec<Array2<F>>,
    /// `pre[l]` is layer `l`'s pre-activation `z_l` (batch × d_out); the last one holds the logits.
    pub pre: Vec<Array2<F>>,
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
    pub grads: Vec<Array2<F>>,
    pub forward: Forward<F>,
    pub probs: Array2<F>,
}

impl<F: NdFloat> Mlp<F> {
    /// Weights and biases drawn from a normal truncated at two standard deviations.
    /// `sizes` runs from the input width to the number of classes.
    pub fn new(sizes: &[usize], activation: Activation, init_std: f64, seed: u64) -> Mlp<F> {
        assert!(sizes.len() >= 2, "an MLP needs an input and an output size");
        let mut rng = rng::stream(seed, Stream::Init);
        let weights = sizes
            .windows(2)
            .map(|w| {
                Array2::from_shape_simple_fn((w[0] + 1, w[1]), || {
                    F::from(rng::truncated_normal(&mut rng, init_std)).unwrap()
                })
            })
            .collect();
        Mlp { weights, activation }
    }

    pub fn layers(&self) -> usize {
        self.weights.len()
    }

    /// Input width, then the width of every layer's output.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.weights[0].nrows() - 1).chain(self.weights.iter().map(|w| w.ncols())).collect()
    }

    /// Applies layer `l`'s affine map to `h` (batch × d_in).
    fn affine(&self, l: usize, h: ArrayView2<F>) -> Array2<F> {
        let w = &self.weights[l];
        let d_in = w.nrows() - 1;
        let mut z = h.dot(&w.slice(s![..d_in, ..]));
        z += &w.row(d_in);
        z
    }

    pub fn forward(&self, x: ArrayView2<F>) -> Forward<F> {
        let mut inputs = Vec::with_capacity(self.layers());
        let mut pre = Vec::with_capacity(self.layers());
        let mut h = x.to_owned();
        for l in 0..self.layers() {
            let z = self.affine(l, h.view());
            let next = if l + 1 < self.layers() { z.mapv(|t| self.activation.f(t)) } else { Array2::zeros((0, 0)) };
            inputs.push(std::mem::replace(&mut h, next));
            pre.push(z);
        }
        Forward { inputs, pre }
    }

    /// Logits only, without keeping intermediate activations.
    pub fn logits(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut h = x.to_owned();
        for l in 0..self.layers() {
            let z = self.affine(l, h.view());
            h = if l + 1 < self.layers() { z.mapv(|t| self.activation.f(t)) } else { z };
        }
        h
    }

    /// The L2 penalty `l2/2 · Σ_l ||W_l without its bias row||²`.
    pub fn l2_penalty(&self, l2: F) -> F {
        let half = F::from(0.5).unwrap();
        self.weights.iter().fold(F::zero(), |acc, w| {
            let d_in = w.nrows() - 1;
            acc + half * l2 * w.slice(s![..d_in, ..]).fold(F::zero(), |a, &v| a + v * v)
        })
    }

    /// Mean softmax cross-entropy on (`x`, `labels`) plus the L2 penalty, and its gradient.
    pub fn loss_and_grad(&self, x: ArrayView2<F>, labels: &[u8], l2: F) -> LossGrad<F> {
        let forward = self.forward(x);
        let (data_loss, probs) = loss::cross_entropy(forward.logits().view(), labels);
        let mut dz = loss::cross_entropy_grad(&probs, labels);
        let mut grads = vec![Array2::zeros((0, 0)); self.layers()];
        for l in (0..self.layers()).rev() {
            let w = &self.weights[l];
            let d_in = w.nrows() - 1;
            let h = &forward.inputs[l];
            let mut g = Array2::zeros(w.raw_dim());
            g.slice_mut(s![..d_in, ..]).assign(&h.t().dot(&dz));
            g.row_mut(d_in).assign(&dz.sum_axis(Axis(0)));
            // Weight decay on the weights, not the biases.
            g.slice_mut(s![..d_in, ..]).scaled_add(l2, &w.slice(s![..d_in, ..]));
            if l > 0 {
                let dh = dz.dot(&w.slice(s![..d_in, ..]).t());
                let act = self.activation;
                dz = ndarray::Zip::from(&dh).and(&forward.pre[l - 1]).map_collect(|&d, &z| d * act.df(z));
            }
            grads[l] = g;
        }
        LossGrad { loss: data_loss + self.l2_penalty(l2), data_loss, grads, forward, probs }
    }

    /// True when every weight is a finite number.
    pub fn is_finite(&self) -> bool {
        self.weights.iter().all(|w| w.iter().all(|v| v.is_finite()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand::Rng;

    fn toy_batch(n: usize, d: usize, classes: u8, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut r = rng::stream(seed, Stream::Test);
        let x = Array2::from_shape_simple_fn((n, d), || r.random_range(-1.0..1.0));
        let y = (0..n).map(|_| r.random_range(0..classes)).collect();
        (x, y)
    }

    /// Central finite differences in f64 on every parameter of a small network,
    /// for each activation. ReLU kinks are avoided by the random inputs with
    /// probability one; the tolerance is relative to the gradient's scale.
    #[test]
    fn gradient_matches_finite_differences() {
        for act in [
            Activation::Relu,
            Activation::Prelu { leak: 0.2 },
            Activation::Elu { alpha: 1.0 },
            Activation::Tanh,
            Activation::Sigmoid,
        ] {
            let mut net = Mlp::<f64>::new(&[5, 4, 3, 3], act, 0.5, 11);
            let (x, y) = toy_batch(6, 5, 3, 2);
            let l2 = 1e-2;
            let analytic = net.loss_and_grad(x.view(), &y, l2).grads;
            let eps = 1e-6;
            let mut worst: f64 = 0.0;
            for l in 0..net.layers() {
                for idx in ndarray::indices(net.weights[l].raw_dim()) {
                    let orig = net.weights[l][idx];
                    net.weights[l][idx] = orig + eps;
                    let up = net.loss_and_grad(x.view(), &y, l2).loss;
                    net.weights[l][idx] = orig - eps;
                    let down = net.loss_and_grad(x.view(), &y, l2).loss;
                    net.weights[l][idx] = orig;
                    let fd = (up - down) / (2.0 * eps);
                    let a = analytic[l][idx];
                    worst = worst.max((fd - a).abs() / (1e-6 + fd.abs().max(a.abs())));
                }
            }
            assert!(worst < 1e-5, "{act:?}: worst relative gradient error {worst}");
        }
    }

    #[test]
    fn bias_is_the_last_row_and_is_not_decayed() {
        let mut net = Mlp::<f64>::new(&[2, 2], Activation::Relu, 0.1, 1);
        net.weights[0].fill(0.0);
        net.weights[0][[2, 1]] = 3.0; // bias of neuron 1
        let z = net.logits(ndarray::array![[5.0, -5.0]].view());
        assert_eq!(z, ndarray::array![[0.0, 3.0]]);
        assert_eq!(net.l2_penalty(1.0), 0.0);
    }

    #[test]
    fn logits_agree_with_forward() {
        let net = Mlp::<f64>::new(&[5, 4, 3], Activation::Tanh, 0.3, 4);
        let (x, _) = toy_batch(3, 5, 3, 9);
        assert_eq!(net.logits(x.view()), *net.forward(x.view()).logits());
    }
}
