//! Lesson (d): the exact natural gradient of a tiny MLP, with its full Fisher
//! information matrix, next to RNGD's block-diagonal relative Fisher on the
//! same network and the same batch.
//!
//! The network is the crate's own [`Mlp`] (plain, 2 inputs, one or two hidden
//! layers of a few neurons, C classes), on a seeded 2-D toy problem: C
//! Gaussian clouds around the unit circle. All its parameters form one vector θ
//! that stacks each layer's columns (neuron by neuron, bias last), as in
//! `crate::fisher`.
//!
//! - **Full FIM**: F = mean_k Σ_y p_k(y) s_ky s_kyᵀ with s_ky = ∇θ log p(y | x_k)
//!   from the MLP's backward pass: the true Fisher (y drawn from the model),
//!   equal to mean_k J_kᵀ (diag p_k − p_k p_kᵀ) J_k with J_k = ∂logits/∂θ. Each
//!   sample adds rank ≤ C − 1, so rank F ≤ min(B·(C−1), P).
//! - **RNGD**: the blocks RNGD.md prescribes, from `crate::fisher`'s closed
//!   forms: the input layer and the softmax layer each share one
//!   mean_k h̃_k h̃_kᵀ across their neurons, and a hidden layer fed by a hidden
//!   layer has one mean_k ν_f(w_i, h_k) h̃_k h̃_kᵀ per neuron. Each block of
//!   width D has rank ≤ min(B, D).
//! - **Steps**: exact NG d = (F + εI)⁻¹ g with ε = damping·tr F; RNGD's step
//!   is computed by the optimizer itself (`crate::optim::rngd`) with λ = 1, so
//!   that its metrics are this batch's exactly, and ε_i = damping·tr G_i per
//!   block, the crate's rule.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand_distr::{Distribution, StandardNormal};
use serde_json::{json, Value};

use super::params::Params;
use crate::clock::Stopwatch;
use crate::fisher::{linear_layer_rfim_batch, nonlinear_layer_rfim_batch};
use crate::model::{Activation, Arch, Mlp};
use crate::optim::{RngdConfig, StepContext};
use crate::rng::{self, Stream};
use crate::Dataset;

const FIELDS: [&str; 10] =
    ["batch", "classes", "width", "depth", "activation", "damping", "init_std", "lr", "spread", "seed"];
const ACTIVATIONS: [&str; 5] = ["relu", "tanh", "sigmoid", "elu", "prelu"];
/// Eigenvalues below this fraction of a matrix's largest count as zero for its rank.
pub const RANK_TOLERANCE: f64 = 1e-9;
/// The rank-against-batch-size curve runs over batches of 1 to this many samples.
pub const RANK_CURVE_MAX: usize = 48;
const INPUTS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub batch: usize,
    pub classes: usize,
    pub width: usize,
    pub depth: usize,
    pub activation: Activation,
    /// ε = damping · tr(G) for every matrix G that is inverted.
    pub damping: f64,
    pub init_std: f64,
    /// Step size for the one-step loss comparison.
    pub lr: f64,
    /// Standard deviation of each class cloud around its centre on the unit circle.
    pub spread: f64,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch: 8,
            classes: 2,
            width: 3,
            depth: 2,
            activation: Activation::Tanh,
            damping: 1e-4,
            init_std: 1.0,
            lr: 0.1,
            spread: 0.5,
            seed: 1,
        }
    }
}

impl Settings {
    pub fn from_json(v: &Value) -> Result<Settings, String> {
        let p = Params::new(v, &FIELDS)?;
        let d = Settings::default();
        let act = p.choice("activation", "tanh", &ACTIVATIONS)?;
        Ok(Settings {
            batch: p.usize_in("batch", d.batch, 1, 256)?,
            classes: p.usize_in("classes", d.classes, 2, 4)?,
            width: p.usize_in("width", d.width, 1, 6)?,
            depth: p.usize_in("depth", d.depth, 1, 2)?,
            activation: act.parse()?,
            damping: p.f64_in("damping", d.damping, 1e-10, 1e8)?,
            init_std: p.positive("init_std", d.init_std, 10.0)?,
            lr: p.positive("lr", d.lr, 100.0)?,
            spread: p.positive("spread", d.spread, 5.0)?,
            seed: p.usize_in("seed", d.seed as usize, 0, u32::MAX as usize)? as u64,
        })
    }

    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(INPUTS).chain(std::iter::repeat_n(self.width, self.depth)).chain([self.classes]).collect()
    }
}

/// `n` points of the toy problem: class c is a normal cloud around
/// (cos 2πc/C, sin 2πc/C) with standard deviation `spread`; classes cycle.
pub fn toy_batch(n: usize, classes: usize, spread: f64, seed: u64) -> (Array2<f64>, Vec<u8>) {
    let mut r = rng::stream(seed, Stream::Batches);
    let mut x = Array2::zeros((n, INPUTS));
    let labels: Vec<u8> = (0..n).map(|k| (k % classes) as u8).collect();
    for (k, &c) in labels.iter().enumerate() {
        let angle = std::f64::consts::TAU * c as f64 / classes as f64;
        let z: [f64; 2] = [StandardNormal.sample(&mut r), StandardNormal.sample(&mut r)];
        x[[k, 0]] = angle.cos() + spread * z[0];
        x[[k, 1]] = angle.sin() + spread * z[1];
    }
    (x, labels)
}

/// Where each layer's parameters sit in θ: neuron i of layer l owns
/// `offset + i·dim .. offset + (i+1)·dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSlot {
    pub offset: usize,
    pub neurons: usize,
    /// d_in + 1: the neuron's weights and its bias.
    pub dim: usize,
}

pub fn layout(sizes: &[usize]) -> Vec<LayerSlot> {
    let mut offset = 0;
    sizes
        .windows(2)
        .map(|w| {
            let slot = LayerSlot { offset, neurons: w[1], dim: w[0] + 1 };
            offset += w[1] * (w[0] + 1);
            slot
        })
        .collect()
}

/// θ-ordered vector of per-layer matrices ((d_in+1) × d_out): columns stacked.
pub fn flatten<F: Copy + Into<f64>>(mats: &[Array2<F>]) -> Array1<f64> {
    mats.iter().flat_map(|m| m.t().iter().map(|&v| v.into()).collect::<Vec<f64>>()).collect()
}

/// Each sample's Fisher Σ_y p_k(y) s_ky s_kyᵀ, the scores s_ky from the
/// MLP's backward pass (the gradient of −CE for label y).
pub fn sample_fishers(net: &Mlp<f64>, x: ArrayView2<f64>) -> Vec<Array2<f64>> {
    let p_count: usize = net.weights.iter().map(|w| w.len()).sum();
    let probs = crate::model::loss::softmax(net.logits(x).view());
    (0..x.nrows())
        .map(|k| {
            let xk = x.slice(s![k..k + 1, ..]);
            let mut f = Array2::zeros((p_count, p_count));
            for y in 0..probs.ncols() {
                let score = flatten(&net.loss_and_grad(xk, &[y as u8], 0.0).grads);
                let col = score.view().insert_axis(Axis(1));
                f.scaled_add(probs[[k, y]], &col.dot(&col.t()));
            }
            f
        })
        .collect()
}

/// The full Fisher F = mean_k Σ_y p_k(y) s_ky s_kyᵀ over the batch.
pub fn full_fisher(net: &Mlp<f64>, x: ArrayView2<f64>) -> Array2<f64> {
    let parts = sample_fishers(net, x);
    let mut f = parts[0].clone();
    for p in &parts[1..] {
        f += p;
    }
    f / x.nrows() as f64
}

/// One diagonal block of RNGD's metric.
#[derive(Debug, Clone)]
pub struct Block {
    pub layer: usize,
    /// The neuron it serves, or None for a metric shared by the whole layer.
    pub neuron: Option<usize>,
    pub matrix: Array2<f64>,
}

/// RNGD's blocks for this batch, in θ order (a shared block appears once and
/// serves every neuron of its layer).
pub fn rngd_blocks(net: &Mlp<f64>, x: ArrayView2<f64>, omega: f64) -> Vec<Block> {
    let fwd = net.forward(x);
    let layers = net.layers();
    let mut out = vec![];
    for l in 0..layers {
        let h = fwd.inputs[l].view();
        if l > 0 && l + 1 < layers {
            let blocks = nonlinear_layer_rfim_batch(net.activation, net.weights[l].view(), h, omega);
            for (i, b) in blocks.outer_iter().enumerate() {
                out.push(Block { layer: l, neuron: Some(i), matrix: b.to_owned() });
            }
        } else {
            out.push(Block { layer: l, neuron: None, matrix: linear_layer_rfim_batch(h) });
        }
    }
    out
}

/// The block-diagonal P × P matrix the blocks make (shared blocks repeated).
pub fn assemble(blocks: &[Block], slots: &[LayerSlot]) -> Array2<f64> {
    let p: usize = slots.last().map_or(0, |s| s.offset + s.neurons * s.dim);
    let mut r = Array2::zeros((p, p));
    for b in blocks {
        let slot = slots[b.layer];
        let neurons: Vec<usize> = match b.neuron {
            Some(i) => vec![i],
            None => (0..slot.neurons).collect(),
        };
        for i in neurons {
            let a = slot.offset + i * slot.dim;
            r.slice_mut(s![a..a + slot.dim, a..a + slot.dim]).assign(&b.matrix);
        }
    }
    r
}

/// Eigenvalues (largest first) and the rank at [`RANK_TOLERANCE`].
pub fn spectrum(m: &Array2<f64>) -> Result<(Vec<f64>, usize), String> {
    if m.iter().any(|v| !v.is_finite()) {
        return Err("the matrix has a non-finite entry".into());
    }
    // Eigenvalues only: the rank curve needs one decomposition per batch size.
    let n = m.nrows();
    let mat = faer::Mat::from_fn(n, n, |i, j| m[[i, j]]);
    let mut v = mat.self_adjoint_eigenvalues(faer::Side::Lower).map_err(|_| "the eigenvalues did not converge")?;
    v.sort_by(|a, b| b.total_cmp(a));
    let top = v.first().copied().unwrap_or(0.0).max(0.0);
    let rank = if top > 0.0 { v.iter().filter(|&&e| e > RANK_TOLERANCE * top).count() } else { 0 };
    Ok((v, rank))
}

/// (A + εI)⁻¹ b with ε = damping·tr A, by Cholesky in f64.
pub fn damped_solve(a: &Array2<f64>, damping: f64, b: ArrayView1<f64>) -> Result<Array1<f64>, String> {
    use faer::linalg::solvers::Solve;
    let n = a.nrows();
    let eps = damping * a.diag().sum();
    let m = faer::Mat::from_fn(n, n, |i, j| a[[i, j]] + if i == j { eps } else { 0.0 });
    let llt = m.llt(faer::Side::Lower).map_err(|_| "the damped Fisher is not positive definite: raise the damping")?;
    let mut rhs = faer::Mat::from_fn(n, 1, |i, _| b[i]);
    llt.solve_in_place(&mut rhs);
    Ok(Array1::from_shape_fn(n, |i| rhs[(i, 0)]))
}

/// RNGD's step on this batch, by the optimizer itself: with λ = 1 its metrics
/// become exactly this batch's, the first step refreshes the inverses, and the
/// preconditioned gradient comes back in θ order. Computed in f32, as RNGD runs.
pub fn rngd_step(net: &Mlp<f64>, x: ArrayView2<f64>, labels: &[u8], damping: f64, omega: f64) -> Array1<f64> {
    let net32 = Mlp::<f32> {
        weights: net.weights.iter().map(|w| w.mapv(|v| v as f32)).collect(),
        bn: vec![],
        activation: net.activation,
    };
    let x32 = x.mapv(|v| v as f32);
    let lg = net32.loss_and_grad(x32.view(), labels, 0.0);
    let config = RngdConfig { lambda: 1.0, refresh: 1, eps_rel: damping, eps_abs: 0.0, omega, ..RngdConfig::default() };
    let mut rngd = config.init(&net32.sizes());
    let mut updates = lg.grads.clone();
    let ctx = StepContext { forward: &lg.forward, weight_layers: net32.layers(), activation: net32.activation };
    rngd.precondition(&mut updates, &ctx);
    flatten(&updates)
}

fn norm(v: ArrayView1<f64>) -> f64 {
    v.dot(&v).sqrt()
}

fn cosine(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.dot(&b) / (norm(a) * norm(b)).max(f64::MIN_POSITIVE)
}

/// The network with θ moved by −lr·d, and its loss on the batch.
fn loss_after(net: &Mlp<f64>, x: ArrayView2<f64>, labels: &[u8], d: ArrayView1<f64>, lr: f64) -> f64 {
    let mut moved = net.clone();
    let mut p = 0;
    for w in moved.weights.iter_mut() {
        for i in 0..w.ncols() {
            for a in 0..w.nrows() {
                w[[a, i]] -= lr * d[p];
                p += 1;
            }
        }
    }
    moved.loss_and_grad(x, labels, 0.0).data_loss
}

fn round_vec(v: ArrayView1<f64>) -> Vec<f64> {
    v.iter().map(|&x| if x.abs() < 1e-300 { 0.0 } else { x }).collect()
}

/// The rank bound of one RNGD block of width `dim` over `batch` samples.
fn block_bound(batch: usize, dim: usize) -> usize {
    batch.min(dim)
}

pub fn run(params: &Value, _data: Option<&Dataset>) -> Result<Value, String> {
    let s = Settings::from_json(params)?;
    let clock = Stopwatch::start();
    let omega = crate::model::activation::DEFAULT_OMEGA;
    let sizes = s.sizes();
    let slots = layout(&sizes);
    let net = Mlp::<f64>::new(&sizes, s.activation, Arch::Plain, s.init_std, s.seed);
    let pool = s.batch.max(RANK_CURVE_MAX);
    let (all_x, all_labels) = toy_batch(pool, s.classes, s.spread, s.seed);
    let x = all_x.slice(s![..s.batch, ..]);
    let labels = &all_labels[..s.batch];
    let p_count: usize = slots.iter().map(|l| l.neurons * l.dim).sum();

    let lg = net.loss_and_grad(x, labels, 0.0);
    let g = flatten(&lg.grads);
    let fisher = full_fisher(&net, x);
    let (fisher_eigs, fisher_rank) = spectrum(&fisher)?;
    let blocks = rngd_blocks(&net, x, omega);
    let block_diag = assemble(&blocks, &slots);
    let (block_diag_eigs, block_diag_rank) = spectrum(&block_diag)?;

    let d_ng = damped_solve(&fisher, s.damping, g.view())?;
    let d_rngd = rngd_step(&net, x, labels, s.damping, omega);
    let loss0 = lg.data_loss;
    let fisher_norm = |d: &Array1<f64>| d.dot(&fisher.dot(d)).max(0.0).sqrt();
    let step_json = |id: &str, d: &Array1<f64>| {
        json!({
            "id": id,
            "vector": round_vec(d.view()),
            "norm": norm(d.view()),
            "fisher_norm": fisher_norm(d),
            "descent": g.dot(d),
            "loss_after": loss_after(&net, x, labels, d.view(), s.lr),
        })
    };

    let block_json: Vec<Value> = blocks
        .iter()
        .map(|b| -> Result<Value, String> {
            let (eigs, rank) = spectrum(&b.matrix)?;
            let dim = b.matrix.nrows();
            let kind = if b.neuron.is_some() {
                "per-neuron"
            } else if b.layer == 0 {
                "input (shared)"
            } else {
                "softmax (shared)"
            };
            Ok(json!({
                "layer": b.layer,
                "neuron": b.neuron,
                "kind": kind,
                "serves": if b.neuron.is_some() { 1 } else { slots[b.layer].neurons },
                "dim": dim,
                "rank": rank,
                "bound": block_bound(s.batch, dim),
                "eigenvalues": eigs,
                "trace": b.matrix.diag().sum(),
            }))
        })
        .collect::<Result<_, _>>()?;

    // How the ranks grow with the batch: the first b samples of the same pool, b = 1..RANK_CURVE_MAX.
    // The per-sample Fishers are summed as b grows, so each point costs one eigen-decomposition.
    let mut curve = vec![];
    let parts = sample_fishers(&net, all_x.slice(s![..RANK_CURVE_MAX, ..]));
    let mut sum = Array2::<f64>::zeros((p_count, p_count));
    for b in 1..=RANK_CURVE_MAX {
        let xb = all_x.slice(s![..b, ..]);
        sum += &parts[b - 1];
        let (_, fr) = spectrum(&sum)?;
        let bl = rngd_blocks(&net, xb, omega);
        let (_, br) = spectrum(&assemble(&bl, &slots))?;
        curve.push(json!({
            "batch": b,
            "fisher_rank": fr,
            "fisher_bound": (b * (s.classes - 1)).min(p_count),
            "rfim_rank": br,
        }));
    }

    Ok(json!({
        "sizes": sizes,
        "params": p_count,
        "batch": s.batch,
        "classes": s.classes,
        "activation": s.activation.to_string(),
        "damping": s.damping,
        "lr": s.lr,
        "rank_tolerance": RANK_TOLERANCE,
        "layout": slots.iter().map(|l| json!({"offset": l.offset, "neurons": l.neurons, "dim": l.dim})).collect::<Vec<_>>(),
        "points": all_x.slice(s![..s.batch, ..]).rows().into_iter().map(|r| [r[0], r[1]]).collect::<Vec<_>>(),
        "labels": labels,
        "loss": loss0,
        "fisher": {
            "rank": fisher_rank,
            "bound": (s.batch * (s.classes - 1)).min(p_count),
            "eigenvalues": fisher_eigs,
            "trace": fisher.diag().sum(),
            "eps": s.damping * fisher.diag().sum(),
            "matrix": fisher.iter().copied().collect::<Vec<f64>>(),
        },
        "rfim": {
            "rank": block_diag_rank,
            "eigenvalues": block_diag_eigs,
            "matrix": block_diag.iter().copied().collect::<Vec<f64>>(),
            "blocks": block_json,
        },
        "steps": [step_json("gradient", &g), step_json("exact", &d_ng), step_json("rngd", &d_rngd)],
        "cosine": {
            "exact_rngd": cosine(d_ng.view(), d_rngd.view()),
            "exact_gradient": cosine(d_ng.view(), g.view()),
            "rngd_gradient": cosine(d_rngd.view(), g.view()),
        },
        "rank_curve": curve,
        "compute_ms": clock.seconds() * 1e3,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn setting(act: &str, batch: usize, classes: usize) -> (Settings, Mlp<f64>, Array2<f64>, Vec<u8>) {
        let s = Settings::from_json(&json!({"activation": act, "batch": batch, "classes": classes})).unwrap();
        let net = Mlp::<f64>::new(&s.sizes(), s.activation, Arch::Plain, s.init_std, s.seed);
        let (x, y) = toy_batch(batch, classes, s.spread, s.seed);
        (s, net, x, y)
    }

    /// J_k = ∂logits_k/∂θ by central differences on the MLP's evaluation pass.
    fn fd_jacobian(net: &Mlp<f64>, x: ArrayView1<f64>, slots: &[LayerSlot]) -> Array2<f64> {
        let p: usize = slots.iter().map(|l| l.neurons * l.dim).sum();
        let xr = x.insert_axis(Axis(0));
        let c = net.logits(xr).ncols();
        let mut j = Array2::zeros((c, p));
        let h = 1e-6;
        for (l, slot) in slots.iter().enumerate() {
            for i in 0..slot.neurons {
                for a in 0..slot.dim {
                    let col = slot.offset + i * slot.dim + a;
                    let mut up = net.clone();
                    up.weights[l][[a, i]] += h;
                    let mut down = net.clone();
                    down.weights[l][[a, i]] -= h;
                    let diff = (up.logits(xr) - down.logits(xr)) / (2.0 * h);
                    j.column_mut(col).assign(&diff.row(0));
                }
            }
        }
        j
    }

    #[test]
    fn full_fisher_is_the_jacobian_form() {
        for (act, batch, classes) in [("tanh", 5, 2), ("sigmoid", 4, 3), ("elu", 3, 4)] {
            let (s, net, x, _) = setting(act, batch, classes);
            let slots = layout(&s.sizes());
            let f = full_fisher(&net, x.view());
            let probs = crate::model::loss::softmax(net.logits(x.view()).view());
            let mut want = Array2::<f64>::zeros(f.dim());
            for k in 0..batch {
                let j = fd_jacobian(&net, x.row(k), &slots);
                let p = probs.row(k);
                let mut cov = Array2::from_diag(&p);
                cov -= &p.insert_axis(Axis(1)).dot(&p.insert_axis(Axis(0)));
                want += &j.t().dot(&cov).dot(&j);
            }
            want /= batch as f64;
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let worst = (&f - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(worst < 1e-7 * scale, "{act}: max difference {worst} (scale {scale})");
        }
    }

    #[test]
    fn ranks_stay_within_their_bounds() {
        let out = run(&json!({"batch": 3, "classes": 3}), None).unwrap();
        // 2-3-3-3: 9 + 12 + 12 = 33 parameters; 3 samples × (3−1) = 6.
        assert_eq!(out["params"], 33);
        assert_eq!(out["fisher"]["bound"], 6);
        let rank = out["fisher"]["rank"].as_u64().unwrap();
        assert!((5..=6).contains(&rank), "full FIM rank {rank}");
        let mut total = 0;
        for b in out["rfim"]["blocks"].as_array().unwrap() {
            let (r, bound) = (b["rank"].as_u64().unwrap(), b["bound"].as_u64().unwrap());
            assert!(r <= bound && r >= 1, "block {b}: rank {r} > {bound}");
            total += r * b["serves"].as_u64().unwrap();
        }
        assert_eq!(out["rfim"]["rank"].as_u64().unwrap(), total, "the block-diagonal rank is the sum of its blocks'");
        for point in out["rank_curve"].as_array().unwrap() {
            let (r, bound) = (point["fisher_rank"].as_u64().unwrap(), point["fisher_bound"].as_u64().unwrap());
            assert!(r <= bound, "{point}");
        }
        // With enough samples every block is full rank, while the full FIM keeps the
        // softmax's null space: one vector added to every class's output weights
        // changes no probability, 3 hidden outputs + bias = 4 directions.
        let last = out["rank_curve"].as_array().unwrap().last().unwrap();
        assert_eq!(last["rfim_rank"], 33);
        assert!(last["fisher_rank"].as_u64().unwrap() <= 33 - 4, "{last}");
    }

    #[test]
    fn exact_step_with_huge_damping_is_the_gradient_direction() {
        let out = run(&json!({"damping": 1e6}), None).unwrap();
        let c = out["cosine"]["exact_gradient"].as_f64().unwrap();
        assert!(c > 0.99999, "cosine {c}");
        let small = run(&json!({"damping": 1e-6}), None).unwrap();
        assert!(small["cosine"]["exact_gradient"].as_f64().unwrap() < 0.99, "little damping turns the step");
    }

    /// The optimizer's RNGD step equals the closed-form blocks inverted in f64,
    /// and the full-FIM step solves (F + εI) d = g.
    #[test]
    fn steps_solve_their_own_systems() {
        let (s, net, x, y) = setting("relu", 6, 2);
        let slots = layout(&s.sizes());
        let blocks = rngd_blocks(&net, x.view(), 1.0);
        let g = flatten(&net.loss_and_grad(x.view(), &y, 0.0).grads);
        let mut want = Array1::zeros(g.len());
        for b in &blocks {
            let slot = slots[b.layer];
            let neurons: Vec<usize> = b.neuron.map_or((0..slot.neurons).collect(), |i| vec![i]);
            for i in neurons {
                let a = slot.offset + i * slot.dim;
                let gi = g.slice(s![a..a + slot.dim]);
                want.slice_mut(s![a..a + slot.dim]).assign(&damped_solve(&b.matrix, s.damping, gi).unwrap());
            }
        }
        let got = rngd_step(&net, x.view(), &y, s.damping, 1.0);
        let scale = want.iter().fold(0.0f64, |m: f64, v| m.max(v.abs()));
        let worst = (&got - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(worst < 2e-3 * scale, "RNGD step differs by {worst} (scale {scale})");

        let f = full_fisher(&net, x.view());
        let d = damped_solve(&f, s.damping, g.view()).unwrap();
        let eps = s.damping * f.diag().sum();
        let back = f.dot(&d) + &d * eps;
        assert!((&back - &g).iter().all(|v| v.abs() < 1e-8 * g.iter().fold(0.0f64, |m, v| m.max(v.abs()))));
    }

    #[test]
    fn every_control_is_read_and_checked() {
        let a = run(&json!({"batch": 4}), None).unwrap();
        let b = run(&json!({"batch": 12}), None).unwrap();
        assert_ne!(a["fisher"]["rank"], b["fisher"]["rank"]);
        assert!(run(&json!({"activation": "swish"}), None).unwrap_err().starts_with("activation must be one of"));
        assert!(run(&json!({"classes": 9}), None).unwrap_err().starts_with("classes must be"));
    }
}
