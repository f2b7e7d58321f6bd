//! Checks of the closed forms: Monte Carlo under each stochastic model, the
//! exact Fisher of a small network, and structural sanity (symmetry, PSD,
//! reductions, batch averages).
//!
//! Monte-Carlo tolerances are per entry: |MC − closed| ≤ 5·SE + 1e-8, with SE
//! the sample standard deviation of s_a s_b over √N. With fixed seeds the
//! outcome is deterministic; a 5σ bound makes a false alarm on any of the
//! ~1,500 entries checked here improbable (≈ 6e-7 each under normality).

// In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use ndarray::{array, s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::montecarlo::{
    assert_matches, estimate_fisher, fd_gradient, log_lik_unit, min_eigenvalue, sample_unit, vec_cols, FisherEstimate,
    TRANSFERS, Z,
};
use super::*;
use crate::model::Activation;
use crate::rng::{self, Stream};

/// Samples per Monte-Carlo estimate: relative SEs of ~1–2% per entry.
const N: usize = 20_000;
const OMEGA: f64 = 1.0;

fn test_rng(seed: u64) -> ChaCha8Rng {
    rng::stream(seed, Stream::Test)
}

fn normal_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize, std: f64) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || {
        std * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
    })
}

fn dot_aug(w: &[f64], xt: &[f64]) -> f64 {
    w.iter().zip(xt).map(|(a, b)| a * b).sum()
}

/// Pre-activations of the units of a layer given as stacked columns `theta`.
fn layer_pre(theta: &[f64], xt: &[f64], m: usize) -> Vec<f64> {
    let d = xt.len();
    (0..m).map(|i| dot_aug(&theta[i * d..(i + 1) * d], xt)).collect()
}

fn assert_close(a: ArrayView2<f64>, b: ArrayView2<f64>, tol: f64, label: &str) {
    assert_eq!(a.dim(), b.dim(), "{label}: shapes differ");
    let worst = (&a - &b).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    println!("{label}: max |difference| {worst:.1e} (tolerance {tol:.0e})");
    assert!(worst <= tol, "{label}: max |difference| {worst} > {tol}");
}

/// One neuron, (w, x) with pre-activations 1.06, −1.64, 0.37 and −0.40.
fn neuron_cases() -> Vec<(Array1<f64>, Array1<f64>)> {
    vec![
        (array![0.5, -0.4, 0.3, 0.1], array![0.8, -0.5, 1.2]),
        (array![-0.7, 0.6, -0.2, -0.3], array![1.0, -0.9, 0.5]),
        (array![0.2, 0.9, -0.6, 0.05], array![-1.1, 0.4, -0.3]),
        (array![0.3, 0.3, 0.3, -0.4], array![-0.5, 0.2, 0.3]),
    ]
}

fn mc_neuron(tr: Transfer, w: ArrayView1<f64>, x: ArrayView1<f64>, rng: &mut ChaCha8Rng) -> FisherEstimate {
    let xt = augment(x).to_vec();
    let w0 = w.to_vec();
    let t = dot_aug(&w0, &xt);
    estimate_fisher(N, w0.len(), || {
        let y = sample_unit(tr, t, OMEGA, rng);
        fd_gradient(|th| log_lik_unit(tr, dot_aug(th, &xt), y, OMEGA), &w0)
    })
}

#[test]
fn neuron_rfim_matches_monte_carlo_for_every_unit() {
    let mut rng = test_rng(11);
    let cases = neuron_cases();
    let ts: Vec<f64> = cases.iter().map(|(w, x)| neuron::pre_activation(w.view(), x.view())).collect();
    assert!(ts.iter().filter(|&&t| t < 0.0).count() >= 2 && ts.iter().any(|&t| t > 0.5), "{ts:?}");
    for tr in TRANSFERS {
        for (w, x) in &cases {
            let est = mc_neuron(tr, w.view(), x.view(), &mut rng);
            let closed = neuron_rfim(tr, w.view(), x.view(), OMEGA);
            assert_matches(&est, &closed, &format!("{tr:?} at w={w}, x={x}"));
        }
    }
}

/// Independent units, y_i from each unit's model (arXiv eq. 71); identity
/// units make the linear layer y ~ N(Wᵀx̃, I).
#[test]
fn linear_and_nonlinear_layers_match_monte_carlo() {
    let mut rng = test_rng(12);
    let w = array![[0.9, -0.6, 0.2], [-0.4, 0.8, -0.5], [0.1, -0.3, -0.2]];
    let x = array![0.7, -1.2];
    let xt = augment(x.view()).to_vec();
    let theta = vec_cols(w.view());
    for tr in TRANSFERS {
        let t = layer_pre(&theta, &xt, 3);
        let est = estimate_fisher(N, theta.len(), || {
            let y: Vec<f64> = t.iter().map(|&t| sample_unit(tr, t, OMEGA, &mut rng)).collect();
            let logp = |th: &[f64]| {
                let t = layer_pre(th, &xt, 3);
                t.iter().zip(&y).map(|(&t, &y)| log_lik_unit(tr, t, y, OMEGA)).sum()
            };
            fd_gradient(logp, &theta)
        });
        let closed = match tr {
            Transfer::Identity => repeat_block_diag(linear_layer_rfim(x.view()).view(), 3),
            _ => block_diag(nonlinear_layer_rfim(tr, w.view(), x.view(), OMEGA).view()),
        };
        assert_matches(&est, &closed, &format!("{tr:?} layer"));
    }
}

fn log_softmax(z: &[f64], y: usize) -> f64 {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    z[y] - m - z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

fn sample_class(p: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    p.iter()
        .position(|&q| {
            acc += q;
            u < acc
        })
        .unwrap_or(p.len() - 1)
}

#[test]
fn softmax_layer_matches_monte_carlo() {
    let mut rng = test_rng(13);
    let w = array![[0.9, -0.6, 0.2], [-0.4, 0.8, -0.5], [0.1, -0.3, 0.4]];
    for x in [array![0.7, -1.2], array![-0.3, 0.5]] {
        let xt = augment(x.view()).to_vec();
        let theta = vec_cols(w.view());
        let z = layer_pre(&theta, &xt, 3);
        let p: Vec<f64> = (0..3).map(|y| log_softmax(&z, y).exp()).collect();
        let est = estimate_fisher(N, theta.len(), || {
            let y = sample_class(&p, &mut rng);
            fd_gradient(|th| log_softmax(&layer_pre(th, &xt, 3), y), &theta)
        });
        let closed = softmax_layer_rfim(w.view(), x.view());
        assert_matches(&est, &closed, &format!("softmax at x={x}"));
    }
}

/// The upper pre-activations s = Cᵀh̃ of the two-layer model (see
/// `two_layer.rs`), with h = μ_low(Wᵀx̃) deterministic; W and C as stacked columns.
fn two_layer_pre(lower: Transfer, theta: &[f64], c_cols: &[f64], m_h: usize, xt: &[f64]) -> Vec<f64> {
    let mut h: Vec<f64> = layer_pre(theta, xt, m_h).into_iter().map(|t| lower.mean(t, OMEGA)).collect();
    h.push(1.0);
    layer_pre(c_cols, &h, c_cols.len() / (m_h + 1))
}

/// MC under the two-layer model: y_l independent from the upper unit's model at s_l.
fn mc_two_layer(
    lower: Transfer,
    upper: Transfer,
    w: &Array2<f64>,
    c: &Array2<f64>,
    x: &Array1<f64>,
    rng: &mut ChaCha8Rng,
) -> FisherEstimate {
    let (xt, theta, c_cols) = (augment(x.view()).to_vec(), vec_cols(w.view()), vec_cols(c.view()));
    let m_h = w.ncols();
    let s = two_layer_pre(lower, &theta, &c_cols, m_h, &xt);
    estimate_fisher(N, theta.len(), || {
        let y: Vec<f64> = s.iter().map(|&s| sample_unit(upper, s, OMEGA, rng)).collect();
        let logp = |th: &[f64]| {
            let s = two_layer_pre(lower, th, &c_cols, m_h, &xt);
            s.iter().zip(&y).map(|(&s, &y)| log_lik_unit(upper, s, y, OMEGA)).sum()
        };
        fd_gradient(logp, &theta)
    })
}

/// Lower layer 2 → 3 with pre-activations (−0.71, 0.72, −0.75); upper 3 → 2.
fn two_layer_case() -> (Array2<f64>, Array2<f64>, Array1<f64>) {
    let w = array![[0.9, -0.6, 0.2], [-0.4, 0.8, -0.5], [0.1, -0.3, -0.2]];
    let c = array![[1.2, -0.7], [-0.8, 0.9], [0.5, 1.1], [0.2, -0.3]];
    (w, c, array![-0.5, 0.9])
}

const TWO_LAYER_PAIRS: [(Activation, Transfer); 5] = [
    (Activation::Tanh, Transfer::Act(Activation::Sigmoid)),
    (Activation::Sigmoid, Transfer::Act(Activation::Tanh)),
    (Activation::Relu, Transfer::Act(Activation::Tanh)),
    (Activation::Elu { alpha: 1.5 }, Transfer::Act(Activation::Prelu { leak: 0.1 })),
    (Activation::Prelu { leak: 0.2 }, Transfer::Identity),
];

#[test]
fn two_layer_rfim_matches_monte_carlo() {
    let mut rng = test_rng(14);
    let (w, c, x) = two_layer_case();
    let t = w.t().dot(&augment(x.view()));
    assert!(t.iter().filter(|&&t| t < 0.0).count() == 2, "{t}");
    for (lower, upper) in TWO_LAYER_PAIRS {
        let est = mc_two_layer(lower.into(), upper, &w, &c, &x, &mut rng);
        let closed = two_layer_rfim(lower, w.view(), upper, c.view(), x.view(), OMEGA);
        assert_matches(&est, &closed, &format!("two layers {lower:?} → {upper:?}"));
    }
}

/// Eq. (26) verbatim, with ν_f(w_i, x) ν_f(w_j, x) for the lower layer.
fn eq26_literal(lower: Activation, upper: Transfer, w: &Array2<f64>, c: &Array2<f64>, x: &Array1<f64>) -> Array2<f64> {
    let nu_low = layer_selectors(lower, w.view(), x.view().insert_axis(Axis(0)), OMEGA).row(0).to_owned();
    let gain = w.t().dot(&augment(x.view())).mapv(|t| Transfer::from(lower).gain(t, OMEGA));
    let ratio = &nu_low / &gain;
    let ours = two_layer_rfim(lower, w.view(), upper, c.view(), x.view(), OMEGA);
    let d = x.len() + 1;
    Array2::from_shape_fn(ours.dim(), |(a, b)| ours[[a, b]] * ratio[a / d] * ratio[b / d])
}

/// Eq. (26) as printed is our closed form for Bernoulli (tanh, sigmoid) lower
/// units, and is not the model's Fisher for Gaussian ones (ELU here): its MC
/// deviation is far beyond the 5σ tolerance that ours meets.
#[test]
fn eq26_as_printed_holds_for_bernoulli_lower_units_only() {
    let (w, c, x) = two_layer_case();
    let upper = Transfer::Act(Activation::Sigmoid);
    for lower in [Activation::Tanh, Activation::Sigmoid] {
        let ours = two_layer_rfim(lower, w.view(), upper, c.view(), x.view(), OMEGA);
        assert_close(ours.view(), eq26_literal(lower, upper, &w, &c, &x).view(), 1e-14, "eq. 26");
    }
    let lower = Activation::Elu { alpha: 1.5 };
    let est = mc_two_layer(lower.into(), upper, &w, &c, &x, &mut test_rng(15));
    let literal = eq26_literal(lower, upper, &w, &c, &x);
    let worst = (&est.mean - &literal).iter().zip(est.se.iter()).fold(0.0f64, |m, (d, se)| m.max(d.abs() / se));
    println!("eq. 26 verbatim, ELU lower layer: largest deviation {worst:.1} SE");
    assert!(worst > 4.0 * Z, "eq. 26 verbatim deviates by only {worst} SE");
    let ours = two_layer_rfim(lower, w.view(), upper, c.view(), x.view(), OMEGA);
    assert_matches(&est, &ours, "ours, same samples");
}

/// A 3-4-3 network, tanh hidden layer and softmax output; θ = (vec W, vec V).
struct SmallNet {
    w: Array2<f64>,
    v: Array2<f64>,
}

impl SmallNet {
    fn split(&self, theta: &[f64]) -> (Array2<f64>, Array2<f64>) {
        let nw = self.w.len();
        let unvec = |p: &[f64], like: &Array2<f64>| {
            Array2::from_shape_vec((like.ncols(), like.nrows()), p.to_vec()).unwrap().reversed_axes()
        };
        (unvec(&theta[..nw], &self.w), unvec(&theta[nw..], &self.v))
    }

    fn hidden(w: &Array2<f64>, x: ArrayView1<f64>) -> Array1<f64> {
        w.t().dot(&augment(x)).mapv(|t| Activation::Tanh.f(t))
    }

    fn log_probs(&self, theta: &[f64], x: ArrayView1<f64>) -> Vec<f64> {
        let (w, v) = self.split(theta);
        let z = v.t().dot(&augment(Self::hidden(&w, x).view())).to_vec();
        (0..z.len()).map(|y| log_softmax(&z, y)).collect()
    }

    fn theta(&self) -> Vec<f64> {
        [vec_cols(self.w.view()), vec_cols(self.v.view())].concat()
    }
}

/// The exact Fisher of the whole network at x, Σ_y p(y) ∇log p(y) ∇log p(y)ᵀ,
/// enumerating the classes, with gradients by central differences (step 1e-5).
fn network_fisher_fd(net: &SmallNet, x: ArrayView1<f64>) -> Array2<f64> {
    let theta = net.theta();
    let (p, classes) = (theta.len(), net.v.ncols());
    let logp = net.log_probs(&theta, x);
    let h = 1e-5;
    let mut grads = Array2::<f64>::zeros((classes, p));
    let mut th = theta.clone();
    for a in 0..p {
        th[a] = theta[a] + h;
        let up = net.log_probs(&th, x);
        th[a] = theta[a] - h;
        let down = net.log_probs(&th, x);
        th[a] = theta[a];
        for y in 0..classes {
            grads[[y, a]] = (up[y] - down[y]) / (2.0 * h);
        }
    }
    let probs = Array1::from_iter(logp.iter().map(|l| l.exp()));
    let weighted = &grads * &probs.view().insert_axis(Axis(1));
    grads.t().dot(&weighted)
}

/// The output layer's Fisher by its Jacobian: z = Vᵀh̃, J = ∂z/∂vec V has
/// J[k, i·D + a] = δ_ki h̃_a, and the Fisher is Jᵀ(diag η − ηηᵀ)J.
fn output_fisher_jacobian(v: &Array2<f64>, h: ArrayView1<f64>) -> Array2<f64> {
    let ht = augment(h);
    let (d, m) = v.dim();
    let z = v.t().dot(&ht).to_vec();
    let eta = Array1::from_iter((0..m).map(|y| log_softmax(&z, y).exp()));
    let jac = Array2::from_shape_fn((m, m * d), |(k, col)| if col / d == k { ht[col % d] } else { 0.0 });
    let eta_col = eta.view().insert_axis(Axis(1));
    let cov = Array2::from_diag(&eta) - eta_col.dot(&eta_col.t());
    jac.t().dot(&cov).dot(&jac)
}

/// Proposition 2 of the paper: the softmax RFIM at the layer's input h is the
/// last layer's block of the network's Fisher.
#[test]
fn softmax_rfim_is_the_output_block_of_the_network_fisher() {
    let mut rng = test_rng(16);
    let net = SmallNet { w: normal_matrix(&mut rng, 4, 4, 0.8), v: normal_matrix(&mut rng, 5, 3, 0.8) };
    let xs = normal_matrix(&mut rng, 4, 3, 1.0);
    let nw = net.w.len();
    let rows: Vec<Array1<f64>> = xs.outer_iter().map(|x| SmallNet::hidden(&net.w, x)).collect();
    let hs = ndarray::stack(Axis(0), &rows.iter().map(|h| h.view()).collect::<Vec<_>>()).unwrap();
    let mut mean_fd = Array2::<f64>::zeros((net.v.len(), net.v.len()));
    for (x, h) in xs.outer_iter().zip(hs.outer_iter()) {
        let closed = softmax_layer_rfim(net.v.view(), h);
        assert_close(closed.view(), output_fisher_jacobian(&net.v, h).view(), 1e-10, "Jacobian Fisher");
        let full = network_fisher_fd(&net, x);
        let block = full.slice(s![nw.., nw..]);
        assert_close(closed.view(), block, 1e-9, "finite-difference Fisher");
        mean_fd += &block;
    }
    mean_fd /= xs.nrows() as f64;
    assert_close(softmax_layer_rfim_batch(net.v.view(), hs.view()).view(), mean_fd.view(), 1e-9, "batch");
}

/// Every closed form on random inputs, single-sample and batch.
fn all_closed_forms(rng: &mut ChaCha8Rng) -> Vec<(String, Array2<f64>)> {
    let (w, c, xs) = (normal_matrix(rng, 5, 3, 1.0), normal_matrix(rng, 4, 2, 1.0), normal_matrix(rng, 6, 4, 1.0));
    let x = xs.row(0);
    let mut out = vec![
        ("linear".into(), linear_layer_rfim(x)),
        ("linear batch".into(), linear_layer_rfim_batch(xs.view())),
        ("softmax".into(), softmax_layer_rfim(w.view(), x)),
        ("softmax batch".into(), softmax_layer_rfim_batch(w.view(), xs.view())),
    ];
    for tr in TRANSFERS {
        out.push((format!("{tr:?} neuron"), neuron_rfim(tr, w.column(0), x, OMEGA)));
        out.push((format!("{tr:?} neuron batch"), neuron_rfim_batch(tr, w.column(1), xs.view(), OMEGA)));
        let layer = nonlinear_layer_rfim_batch(tr, w.view(), xs.view(), OMEGA);
        out.push((format!("{tr:?} layer batch"), block_diag(layer.view())));
        for up in TRANSFERS {
            let g = two_layer_rfim_batch(tr, w.view(), up, c.view(), xs.view(), OMEGA);
            out.push((format!("{tr:?} → {up:?} two layers"), g));
        }
    }
    out
}

#[test]
fn closed_forms_are_symmetric_positive_semidefinite() {
    for (label, g) in all_closed_forms(&mut test_rng(17)) {
        let scale = g.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        assert_close(g.view(), g.t(), 1e-15 * scale, &label);
        let lambda = min_eigenvalue(&g);
        assert!(lambda >= -1e-12 * scale, "{label}: smallest eigenvalue {lambda}");
    }
}

#[test]
fn identity_nonlinear_layer_is_the_linear_layer() {
    let mut rng = test_rng(18);
    let (w, xs) = (normal_matrix(&mut rng, 4, 3, 1.0), normal_matrix(&mut rng, 7, 3, 1.0));
    let shared = linear_layer_rfim_batch(xs.view());
    let layer = nonlinear_layer_rfim_batch(Transfer::Identity, w.view(), xs.view(), OMEGA);
    for block in layer.outer_iter() {
        assert_close(block, shared.view(), 1e-14, "identity block");
    }
    assert_close(block_diag(layer.view()).view(), repeat_block_diag(shared.view(), 3).view(), 1e-14, "full");
}

fn mean_over_rows(xs: ArrayView2<f64>, f: &dyn Fn(ArrayView1<f64>) -> Array2<f64>) -> Array2<f64> {
    let mut rows = xs.outer_iter();
    let first = f(rows.next().expect("a non-empty batch"));
    rows.fold(first, |acc, x| acc + f(x)) / xs.nrows() as f64
}

#[test]
fn batch_forms_average_the_single_sample_forms() {
    let mut rng = test_rng(19);
    let (w, c, xs) =
        (normal_matrix(&mut rng, 4, 3, 1.0), normal_matrix(&mut rng, 4, 2, 1.0), normal_matrix(&mut rng, 5, 3, 1.0));
    let mean = |f: &dyn Fn(ArrayView1<f64>) -> Array2<f64>| mean_over_rows(xs.view(), f);
    let tol = 1e-13;
    let lower = Activation::Elu { alpha: 0.8 };
    let upper = Transfer::Act(Activation::Tanh);
    assert_close(linear_layer_rfim_batch(xs.view()).view(), mean(&|x| linear_layer_rfim(x)).view(), tol, "linear");
    assert_close(
        softmax_layer_rfim_batch(w.view(), xs.view()).view(),
        mean(&|x| softmax_layer_rfim(w.view(), x)).view(),
        tol,
        "softmax",
    );
    let two = two_layer_rfim_batch(lower, w.view(), upper, c.view(), xs.view(), OMEGA);
    assert_close(
        two.view(),
        mean(&|x| two_layer_rfim(lower, w.view(), upper, c.view(), x, OMEGA)).view(),
        tol,
        "two layers",
    );
    for tr in TRANSFERS {
        let batch = block_diag(nonlinear_layer_rfim_batch(tr, w.view(), xs.view(), OMEGA).view());
        let single = mean(&|x| block_diag(nonlinear_layer_rfim(tr, w.view(), x, OMEGA).view()));
        assert_close(batch.view(), single.view(), tol, "nonlinear layer");
        let nb = neuron_rfim_batch(tr, w.column(2), xs.view(), OMEGA);
        assert_close(nb.view(), mean(&|x| neuron_rfim(tr, w.column(2), x, OMEGA)).view(), tol, "neuron");
    }
}

#[test]
fn selectors_agree_across_neuron_and_layer_views() {
    let mut rng = test_rng(20);
    let (w, xs) = (normal_matrix(&mut rng, 4, 3, 1.0), normal_matrix(&mut rng, 5, 3, 1.0));
    for tr in TRANSFERS {
        let all = layer_selectors(tr, w.view(), xs.view(), OMEGA);
        for i in 0..3 {
            let column = neuron_selectors(tr, w.column(i), xs.view(), OMEGA);
            assert_close(all.column(i).insert_axis(Axis(1)), column.view().insert_axis(Axis(1)), 1e-15, "selectors");
            for (k, x) in xs.outer_iter().enumerate() {
                let one = neuron_selector(tr, w.column(i), x, OMEGA);
                assert!((one - all[[k, i]]).abs() <= 1e-15, "{tr:?}: {one} vs {}", all[[k, i]]);
            }
        }
        let blocks = nonlinear_layer_rfim(tr, w.view(), xs.row(0), OMEGA);
        for i in 0..3 {
            assert_close(
                blocks.index_axis(Axis(0), i),
                neuron_rfim(tr, w.column(i), xs.row(0), OMEGA).view(),
                1e-15,
                "block",
            );
        }
    }
}
