// In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use ndarray::{Array2, Array3, Axis};
use rand::Rng;

use super::metric::SharedMetric;
use super::*;
use crate::backend::cpu;
use crate::fisher::gram::augment_rows as augment;
use crate::model::{Activation, Arch, Forward, Mlp};
use crate::optim::StepContext;
use crate::rng::{self, Stream};

fn batch(n: usize, d: usize, seed: u64) -> (Array2<f32>, Vec<u8>) {
    let mut r = rng::stream(seed, Stream::Test);
    let x = Array2::from_shape_simple_fn((n, d), || r.random_range(-1.0..1.0));
    let y = (0..n).map(|_| r.random_range(0..2u8)).collect();
    (x, y)
}

/// Gauss-Jordan elimination with partial pivoting in f64: an inverse computed
/// independently of the Cholesky path the optimizer uses.
fn gauss_jordan_inverse(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut m = ndarray::concatenate(Axis(1), &[a.view(), Array2::<f64>::eye(n).view()]).unwrap();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| m[[i, c]].abs().total_cmp(&m[[j, c]].abs())).unwrap();
        for k in 0..2 * n {
            m.swap([c, k], [p, k]);
        }
        let d = m[[c, c]];
        m.row_mut(c).mapv_inplace(|v| v / d);
        for r in 0..n {
            if r != c {
                let f = m[[r, c]];
                let pivot_row = m.row(c).to_owned();
                m.row_mut(r).scaled_add(-f, &pivot_row);
            }
        }
    }
    m.slice(ndarray::s![.., n..]).to_owned()
}

fn ctx<'a>(forward: &'a Forward<f32>, layers: usize) -> StepContext<'a> {
    StepContext { forward, weight_layers: layers, activation: Activation::Relu }
}

#[test]
#[allow(clippy::needless_range_loop)] // l indexes inputs, gradients and updates alike
fn one_step_equals_explicit_inverse_metric_times_gradient() {
    // 3-4-4-2: layer 0 (input) and layer 2 (softmax) share a metric, layer 1 has one per neuron.
    let net = Mlp::<f32>::new(&[3, 4, 4, 2], Activation::Relu, Arch::Plain, 0.7, 3);
    let (x, y) = batch(8, 3, 1);
    let lg = net.loss_and_grad(x.view(), &y, 1e-3);
    let config = RngdConfig { refresh: 1, lambda: 0.3, ..RngdConfig::default() };
    let mut rngd = config.init(&net.sizes());
    let mut updates = lg.grads.clone();
    rngd.precondition(&mut updates, &ctx(&lg.forward, 3));

    let lam = config.lambda;
    let b = x.nrows() as f64;
    for l in 0..3 {
        let h = augment(lg.forward.inputs[l].view()).mapv(|v| v as f64);
        let dim = h.ncols();
        let grad = lg.grads[l].mapv(|v| v as f64);
        for i in 0..grad.ncols() {
            // ν weights each sample for the per-neuron layer; shared layers use 1.
            let nu: Vec<f64> = (0..h.nrows())
                .map(|k| if l == 1 { Activation::Relu.nu(lg.forward.pre[l][[k, i]] as f64, config.omega) } else { 1.0 })
                .collect();
            let mut g = Array2::<f64>::eye(dim) * (1.0 - lam);
            for k in 0..h.nrows() {
                for a in 0..dim {
                    for c in 0..dim {
                        g[[a, c]] += lam / b * nu[k] * h[[k, a]] * h[[k, c]];
                    }
                }
            }
            let eps = config.eps_rel * g.diag().sum();
            let want = gauss_jordan_inverse(&(&g + &(Array2::<f64>::eye(dim) * eps))).dot(&grad.column(i));
            for (a, w) in want.iter().enumerate() {
                let got = updates[l][[a, i]] as f64;
                assert!((got - w).abs() <= 1e-4 * (1.0 + w.abs()), "layer {l} neuron {i} row {a}: {got} vs {w}");
            }
        }
    }
}

#[test]
#[allow(clippy::needless_range_loop)]
fn inverse_is_identity_until_the_first_refresh_at_t() {
    let net = Mlp::<f32>::new(&[3, 4, 4, 2], Activation::Relu, Arch::Plain, 0.7, 3);
    let mut rngd = RngdConfig { refresh: 3, lambda: 0.2, ..RngdConfig::default() }.init(&net.sizes());
    for step in 1..=3u64 {
        let (x, y) = batch(8, 3, step);
        let lg = net.loss_and_grad(x.view(), &y, 0.0);
        let mut u = lg.grads.clone();
        rngd.precondition(&mut u, &ctx(&lg.forward, 3));
        for l in 0..3 {
            let inv = rngd.inverse_dense(l);
            let is_identity = match inv.ndim() {
                2 => inv == Array2::<f32>::eye(inv.shape()[0]).into_dyn(),
                _ => inv.outer_iter().all(|m| m == Array2::<f32>::eye(m.shape()[0]).into_dyn()),
            };
            assert_eq!(is_identity, step < 3, "layer {l} after step {step}");
            if step < 3 {
                // Before the refresh the update is the plain gradient.
                assert_eq!(u[l], lg.grads[l]);
            }
        }
        assert_eq!(rngd.refreshes(), u64::from(step == 3));
    }
}

#[test]
fn a_metric_that_is_not_positive_definite_keeps_the_previous_inverse_and_is_counted() {
    let mut rngd = RngdConfig::default().init(&[3, 4, 4, 2]);
    rngd.refresh_inverses();
    let before = rngd.inverse_dense(0);
    if let LayerMetric::Shared(m) = &mut rngd.metrics[0] {
        let mut g = m.metric();
        g[[1, 1]] = -5.0;
        m.set_metric(g);
    }
    if let LayerMetric::PerNeuron(m) = &mut rngd.metrics[1] {
        m.packed[[2, 0]] = f32::NAN;
    }
    rngd.refresh_inverses();
    assert_eq!(rngd.fallbacks(), 2);
    assert_eq!(rngd.metrics[0].fallbacks(), 1);
    assert_eq!(rngd.inverse_dense(0), before);
    let inv1 = rngd.inverse_dense(1);
    assert!(inv1.iter().all(|v| v.is_finite()));
}

#[test]
fn updating_every_k_steps_with_matching_rate_equals_k_updates_on_the_same_batch() {
    let net = Mlp::<f32>::new(&[3, 4, 4, 2], Activation::Relu, Arch::Plain, 0.7, 3);
    let (x, y) = batch(8, 3, 5);
    let lg = net.loss_and_grad(x.view(), &y, 0.0);
    let c = ctx(&lg.forward, 3);
    let mut every = RngdConfig { lambda: 0.1, ..RngdConfig::default() }.init(&net.sizes());
    let mut sparse = RngdConfig { lambda: 0.1, metric_every: 3, ..RngdConfig::default() }.init(&net.sizes());
    for _ in 0..3 {
        every.update_metrics(&c);
    }
    sparse.precondition(&mut lg.grads.clone(), &c); // step 0 updates, with rate 1 − 0.9³
    sparse.precondition(&mut lg.grads.clone(), &c); // step 1 does not
    for l in 0..3 {
        let d = &every.metric_dense(l) - &sparse.metric_dense(l);
        assert!(d.iter().all(|v| v.abs() < 1e-6), "layer {l}");
    }
}

#[test]
fn low_rank_with_one_dropped_eigenvalue_is_the_exact_inverse() {
    // With r = D − 1 the "tail" is a single eigenvalue, so nothing is approximated.
    let net = Mlp::<f32>::new(&[6, 4, 2], Activation::Relu, Arch::Plain, 0.7, 3);
    let (x, y) = batch(16, 6, 2);
    let lg = net.loss_and_grad(x.view(), &y, 0.0);
    let base = RngdConfig { lambda: 0.5, refresh: 1, ..RngdConfig::default() };
    let mut exact = base.init(&net.sizes());
    let mut low = RngdConfig { input_rank: 6, ..base }.init(&net.sizes());
    let (mut ue, mut ul) = (lg.grads.clone(), lg.grads.clone());
    exact.precondition(&mut ue, &ctx(&lg.forward, 2));
    low.precondition(&mut ul, &ctx(&lg.forward, 2));
    let d = (&ue[0] - &ul[0]).mapv(f32::abs).fold(0f32, |a, &b| a.max(b));
    assert!(d < 1e-3 * ue[0].mapv(f32::abs).fold(0f32, |a, &b| a.max(b)), "max difference {d}");
    let di = &exact.inverse_dense(0) - &low.inverse_dense(0);
    assert!(di.iter().all(|v| v.abs() < 1e-3), "dense inverses differ");
}

#[test]
fn packed_per_neuron_update_matches_the_kernel_reference() {
    let (h, _) = batch(9, 5, 4);
    let mut r = rng::stream(8, Stream::Test);
    let nu = Array2::from_shape_simple_fn((9, 3), || r.random_range(0.0..1.0f32));
    let mut packed = NeuronMetrics::identity(3, 6);
    packed.update(h.view(), nu.view(), 0.2);
    let mut reference = Array3::from_shape_fn((3, 6, 6), |(_, a, b)| if a == b { 1.0 } else { 0.0 });
    cpu::metric_update(&mut reference, augment(h.view()).view(), nu.view(), 0.2);
    let d = &packed.metric_dense() - &reference;
    assert!(d.iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn bad_hyperparameters_are_rejected_with_the_field_name() {
    let bad = |c: RngdConfig| c.validate().unwrap_err().message;
    assert!(bad(RngdConfig { lambda: 0.0, ..Default::default() }).contains("lambda must be in (0, 1]"));
    assert!(bad(RngdConfig { lambda: 1.5, ..Default::default() }).contains("lambda"));
    assert!(bad(RngdConfig { lambda: f64::NAN, ..Default::default() }).contains("lambda"));
    assert!(bad(RngdConfig { refresh: 0, ..Default::default() }).contains("refresh T"));
    assert!(bad(RngdConfig { metric_every: 0, ..Default::default() }).contains("metric_every"));
    assert!(bad(RngdConfig { eps_rel: -1.0, ..Default::default() }).contains("eps_rel"));
    assert!(bad(RngdConfig { eps_rel: 0.0, eps_abs: 0.0, ..Default::default() }).contains("damping"));
    assert!(bad(RngdConfig { omega: 0.0, ..Default::default() }).contains("omega"));
    // The field's path in the JSON config, for the page to put the message next to its control.
    assert_eq!(RngdConfig { omega: 0.0, ..Default::default() }.validate().unwrap_err().field, "rngd.omega");
    RngdConfig::default().validate().unwrap();
}

#[test]
fn sparse_lazy_shared_update_equals_the_literal_one() {
    // Inputs with whole zero columns take the sparse path; one without, the dense one.
    let (mut h, _) = batch(7, 6, 3);
    h.column_mut(1).fill(0.0);
    h.column_mut(4).fill(0.0);
    let (dense_h, _) = batch(7, 6, 4);
    let mut m = SharedMetric::identity(7, None);
    let mut want = Array2::<f64>::eye(7);
    // Enough steps at a large rate that the lazy scale is folded back in at least once.
    for step in 0..400 {
        let x = if step % 2 == 0 { &h } else { &dense_h };
        m.update(x.view(), 0.1);
        let ha = augment(x.view()).mapv(f64::from);
        want = want * 0.9 + ha.t().dot(&ha) * (0.1 / 7.0);
    }
    let got = m.metric().mapv(f64::from);
    let err = (&got - &want).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
    assert!(err < 1e-5, "max difference {err}");
}

#[test]
fn low_rank_subspace_tracking_finds_the_top_eigenpairs_of_a_moving_metric() {
    // A metric with a clear spectral gap, refreshed repeatedly while it drifts:
    // the tracked eigenvalues must match a full decomposition of the latest one.
    let dim = 40;
    let rank = 5;
    let mut r = rng::stream(6, Stream::Test);
    let basis =
        crate::linalg::orthonormal_basis(&Array2::from_shape_simple_fn((dim, dim), || r.random_range(-1.0..1.0)));
    let spectrum = |t: f64| -> Array2<f32> {
        let vals: Vec<f64> =
            (0..dim).map(|i| if i < rank { 50.0 + 10.0 * i as f64 + t } else { 1.0 / (1.0 + i as f64) }).collect();
        (basis.dot(&Array2::from_diag(&ndarray::Array1::from(vals))).dot(&basis.t())).mapv(|v| v as f32)
    };
    let mut m = SharedMetric::identity(dim, Some(rank));
    for t in 0..12 {
        m.set_metric(spectrum(t as f64));
        m.refresh(1e-4, 0.0);
    }
    let g = spectrum(11.0);
    let (vals, _) = crate::linalg::sym_eigen(g.view()).unwrap();
    let lr = m.low_rank.as_ref().unwrap();
    for (got, want) in lr.eigenvalues.iter().zip(vals.slice(ndarray::s![dim - rank..])) {
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
    }
    assert_eq!(m.fallbacks, 0);
}

#[test]
fn packed_preconditioning_matches_the_dense_product() {
    // Odd and even sizes around the 8-wide inner loop: its remainder and its empty cases.
    for dim in [1usize, 2, 7, 8, 9, 17, 81] {
        let mut r = rng::stream(dim as u64, Stream::Test);
        let a = Array2::from_shape_simple_fn((dim, dim), || r.random_range(-1.0f32..1.0));
        let sym = &a + &a.t();
        let g: Vec<f32> = (0..dim).map(|_| r.random_range(-1.0f32..1.0)).collect();
        let mut packed = Vec::new();
        for i in 0..dim {
            packed.extend(sym.row(i).iter().skip(i));
        }
        let mut out = vec![0.0f32; dim];
        metric::precondition_neuron(&packed, &g, &mut out);
        for i in 0..dim {
            let want: f64 = (0..dim).map(|j| sym[[i, j]] as f64 * g[j] as f64).sum();
            // f32 sums of at most `dim` terms of size ≤ 2: within dim·u·Σ|terms| ≤ dim·u·2·dim.
            let bound = (dim * dim) as f64 * 2.0 * f32::EPSILON as f64;
            assert!((out[i] as f64 - want).abs() <= bound, "dim {dim}, row {i}: {} vs {want}", out[i]);
        }
    }
}

#[test]
fn per_neuron_preconditioning_uses_each_neurons_own_inverse() {
    let (neurons, dim) = (5, 9);
    let mut r = rng::stream(7, Stream::Test);
    let inv = Array3::from_shape_fn((neurons, dim, dim), |(i, a, b)| {
        // Symmetric, different for every neuron.
        ((a * b + i) % 5) as f32 - 2.0 + if a == b { 3.0 + i as f32 } else { 0.0 }
    });
    let mut m = NeuronMetrics::identity(neurons, dim);
    m.set_inverses(inv.view());
    assert_eq!(m.inverse_dense(), inv, "the packed store gives back what it was given");
    let grad = Array2::from_shape_simple_fn((dim, neurons), || r.random_range(-1.0f32..1.0));
    let got = m.precondition(&grad);
    for i in 0..neurons {
        let want = inv.index_axis(Axis(0), i).dot(&grad.column(i));
        let diff = (&got.column(i) - &want).mapv(f32::abs);
        assert!(diff.iter().all(|&d| d < 1e-5), "neuron {i}: {diff}");
    }
}
