//! Lesson (c): the relative Fisher information of one ReLU neuron, and why
//! ν selects samples.
//!
//! A neuron y ~ N(relu_ω(wᵀx̃), 1) with the reference inputs x held fixed has
//! the RFIM G(w) = (1/n) Σ_k ν(wᵀx̃_k) x̃_k x̃_kᵀ (paper §3.1; [`neuron_rfim_batch`]),
//! where ν = sigm(t/ω)² is the smoothed ReLU's selector: near 1 where the
//! neuron is active, near 0 where it is off. The lesson sets this closed form
//! beside a Monte-Carlo estimate E[s sᵀ] from sampled outputs y, the score s
//! taken by finite differences of log p(y | w, x) (the crate's test
//! machinery, [`crate::fisher::montecarlo`]), so nothing of ν's algebra enters
//! the estimate.
//!
//! It then shows why RNGD gives the input and softmax layers one shared
//! metric: a linear neuron's RFIM is (1/n) Σ x̃x̃ᵀ whatever its weights, the same
//! matrix for every neuron of the layer, while a ReLU's moves with w; and the
//! softmax layer's exact RFIM is dense, its off-diagonal blocks
//! (1/n) Σ (−η_i η_j) x̃x̃ᵀ coupling the neurons, too large to keep per neuron,
//! so RNGD uses the shared (1/n) Σ x̃x̃ᵀ there too.

use ndarray::{s, Array1, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::{json, Value};

use super::params::Params;
use crate::fisher::montecarlo::{estimate_fisher, fd_gradient, log_lik_unit, sample_unit, FisherEstimate};
use crate::fisher::{
    augment_rows, linear_layer_rfim_batch, neuron_rfim_batch, neuron_selectors, softmax_layer_rfim_batch, Transfer,
};
use crate::model::Activation;
use crate::Dataset;

/// MNIST digits are averaged over 4×4 blocks of pixels (7×7 inputs), so that
/// the 50×50 metric and its Monte-Carlo estimate stay quick on a phone.
const POOL: usize = 4;
const SIDE: usize = 28 / POOL;
/// How many of the most and least selected MNIST digits the page shows.
const SHOWN: usize = 6;

/// The inputs: n rows of d features, and for MNIST the digits' row indices.
struct Inputs {
    x: Array2<f64>,
    rows: Vec<usize>,
}

fn random_inputs(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Inputs {
    let x = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(rng));
    Inputs { x, rows: Vec::new() }
}

fn mnist_inputs(data: &Dataset, n: usize, rng: &mut ChaCha8Rng) -> Inputs {
    use rand::seq::index::sample;
    let split = &data.train;
    let rows: Vec<usize> = sample(rng, split.len(), n.min(split.len())).into_vec();
    let mut x = Array2::zeros((rows.len(), SIDE * SIDE));
    for (k, &r) in rows.iter().enumerate() {
        let img = split.image(r);
        for i in 0..28 {
            for j in 0..28 {
                x[[k, (i / POOL) * SIDE + j / POOL]] += img[i * 28 + j] as f64 / (POOL * POOL) as f64;
            }
        }
    }
    Inputs { x, rows }
}

/// A unit direction in R^d, drawn from the seed.
fn direction(d: usize, rng: &mut ChaCha8Rng) -> Array1<f64> {
    let u = Array1::<f64>::from_shape_fn(d, |_| StandardNormal.sample(rng));
    let norm = u.dot(&u).sqrt();
    u / norm
}

/// The Monte-Carlo estimate of E[s sᵀ] for the neuron (weights + bias `w`) on
/// the rows of `x`, with `draws` sampled outputs per row.
pub fn monte_carlo(w: &Array1<f64>, x: &Array2<f64>, omega: f64, draws: usize, rng: &mut ChaCha8Rng) -> FisherEstimate {
    let tr = Transfer::Act(Activation::Relu);
    let xt = augment_rows(x.view());
    let n = xt.nrows();
    let mut count = 0;
    estimate_fisher(n * draws, w.len(), || {
        let row = xt.row(count / draws).to_owned();
        count += 1;
        let y = sample_unit(tr, w.dot(&row), omega, &mut *rng);
        let wv: Vec<f64> = w.to_vec();
        fd_gradient(|th| log_lik_unit(tr, th.iter().zip(row.iter()).map(|(a, b)| a * b).sum(), y, omega), &wv)
    })
}

/// Eigenvalues of a symmetric matrix, largest first.
fn spectrum(g: &Array2<f64>) -> Result<Vec<f64>, String> {
    let (ev, _) = crate::linalg::sym_eigen_f64(g.view()).map_err(|e| format!("eigenvalues: {e}"))?;
    let mut v = ev.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    Ok(v)
}

fn frobenius(a: ndarray::ArrayView2<f64>) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// How the MC estimate deviates from the closed form, in standard errors.
pub struct Agreement {
    pub worst_se: f64,
    pub within2: f64,
    pub within3: f64,
    pub rel_error: f64,
}

pub fn agreement(est: &FisherEstimate, g: &Array2<f64>) -> Agreement {
    let (mut worst, mut in2, mut in3, mut total) = (0.0f64, 0usize, 0usize, 0usize);
    for ((idx, &mc), &c) in est.mean.indexed_iter().zip(g.iter()) {
        let se = est.se[idx];
        let z = if se > 0.0 {
            (mc - c).abs() / se
        } else if (mc - c).abs() < 1e-9 {
            0.0
        } else {
            f64::INFINITY
        };
        worst = worst.max(z);
        in2 += (z <= 2.0) as usize;
        in3 += (z <= 3.0) as usize;
        total += 1;
    }
    let rel_error = frobenius((&est.mean - g).view()) / frobenius(g.view());
    Agreement { worst_se: worst, within2: in2 as f64 / total as f64, within3: in3 as f64 / total as f64, rel_error }
}

/// Parameters (all optional): `inputs` ("random" | "mnist"), `dim` (random
/// inputs' dimension), `samples`, `scale` (length of the weight vector),
/// `bias`, `omega` (ν's smoothing width), `draws` (sampled outputs per input)
/// and `seed`.
pub fn run(params: &Value, data: Option<&Dataset>) -> Result<Value, String> {
    let p = Params::new(params, &["inputs", "dim", "samples", "scale", "bias", "omega", "draws", "seed"])?;
    let inputs = p.choice("inputs", "random", &["random", "mnist"])?;
    let dim = p.usize_in("dim", 4, 1, 24)?;
    let n = p.usize_in("samples", 200, 5, 2000)?;
    let scale = p.f64_in("scale", 1.0, 0.0, 20.0)?;
    let bias = p.f64_in("bias", 0.0, -10.0, 10.0)?;
    let omega = p.positive("omega", 1.0, 10.0)?;
    let draws = p.usize_in("draws", 20, 1, 500)?;
    let seed = p.usize_in("seed", 1, 0, u32::MAX as usize)? as u64;
    if n * draws > 200_000 {
        return Err(format!("samples × draws must be at most 200000, got {}", n * draws));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inp = match inputs {
        "mnist" => {
            mnist_inputs(data.ok_or("inputs \"mnist\" needs the MNIST subset, which is not loaded")?, n, &mut rng)
        }
        _ => random_inputs(n, dim, &mut rng),
    };
    let x = &inp.x;
    // The samples really drawn: a training split smaller than `samples` gives fewer.
    let n = x.nrows();
    let d = x.ncols();
    // Scaled by √d / mean ‖x‖ (≈ 1 for standard normal inputs), so that t = wᵀx̃
    // spreads by about `scale` whether the inputs are random or pooled pixels.
    let mean_norm = x.map_axis(Axis(1), |r| r.dot(&r).sqrt()).mean().unwrap_or(1.0).max(1e-9);
    let gain = (d as f64).sqrt() / mean_norm;
    let u = direction(d, &mut rng) * gain;
    let mut w = Array1::zeros(d + 1);
    w.slice_mut(s![..d]).assign(&(&u * scale));
    w[d] = bias;

    let relu = Activation::Relu;
    let t = augment_rows(x.view()).dot(&w);
    let nu = neuron_selectors(relu, w.view(), x.view(), omega);
    let g = neuron_rfim_batch(relu, w.view(), x.view(), omega);
    let mc = monte_carlo(&w, x, omega, draws, &mut rng);
    let agree = agreement(&mc, &g);

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| nu[b].total_cmp(&nu[a]));
    let active = nu.iter().filter(|&&v| v > 0.5).count();

    // A few entries side by side: the first inputs' diagonal and the bias's.
    let mut entries: Vec<(usize, usize)> = (0..d.min(3)).map(|a| (a, a)).collect();
    entries.push((0, d));
    if d > 1 {
        entries.push((0, 1));
    }
    entries.push((d, d));
    let entry_rows: Vec<Value> = entries
        .iter()
        .map(|&(a, b)| json!({"a": a, "b": b, "closed": g[[a, b]], "mc": mc.mean[[a, b]], "se": mc.se[[a, b]]}))
        .collect();

    // Why the input and softmax layers share one metric.
    let v = direction(d, &mut rng) * (gain * scale);
    let mut w2 = w.clone();
    w2.slice_mut(s![..d]).assign(&v);
    let lin = |w: &Array1<f64>| neuron_rfim_batch(Transfer::Identity, w.view(), x.view(), omega);
    let shared = linear_layer_rfim_batch(x.view());
    let linear_diff = frobenius((&lin(&w) - &lin(&w2)).view()).max(frobenius((&lin(&w) - &shared).view()));
    let g2 = neuron_rfim_batch(relu, w2.view(), x.view(), omega);
    let relu_diff = frobenius((&g - &g2).view()) / frobenius(g.view());
    let classes = 3;
    let mut ws = Array2::zeros((d + 1, classes));
    for c in 0..classes {
        ws.column_mut(c).slice_mut(s![..d]).assign(&(direction(d, &mut rng) * (gain * scale)));
    }
    let soft = softmax_layer_rfim_batch(ws.view(), x.view());
    let dd = d + 1;
    let block = |i: usize, j: usize| frobenius(soft.slice(s![i * dd..(i + 1) * dd, j * dd..(j + 1) * dd]));
    let diag: f64 = (0..classes).map(|i| block(i, i)).sum::<f64>() / classes as f64;
    let off: f64 = (0..classes)
        .flat_map(|i| (0..classes).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| block(i, j))
        .sum::<f64>()
        / (classes * (classes - 1)) as f64;

    let images: Value = if inp.rows.is_empty() {
        Value::Null
    } else {
        let pick = |ks: &[usize]| -> Vec<Value> {
            ks.iter()
                .map(|&k| {
                    let r = inp.rows[k];
                    let px: Vec<u8> = data.unwrap().train.image(r).iter().map(|&v| (v * 255.0).round() as u8).collect();
                    json!({"sample": k, "nu": nu[k], "label": data.unwrap().train.labels[r], "pixels": px})
                })
                .collect()
        };
        let top = &order[..SHOWN.min(n)];
        let bottom: Vec<usize> = order.iter().rev().take(SHOWN.min(n)).copied().collect();
        json!({"most": pick(top), "least": pick(&bottom)})
    };

    let pool = if inputs == "mnist" { POOL } else { 1 };
    Ok(json!({
        "inputs": inputs,
        "dim": d,
        "samples": n,
        "draws": draws,
        "omega": omega,
        "weights": w.to_vec(),
        "t": t.to_vec(),
        "nu": nu.to_vec(),
        "order": order,
        "active": active,
        "mean_nu": nu.mean().unwrap_or(0.0),
        "closed": {"eigenvalues": spectrum(&g)?, "trace": g.diag().sum()},
        "mc": {
            "eigenvalues": spectrum(&mc.mean)?,
            "trace": mc.mean.diag().sum(),
            "worst_se": agree.worst_se,
            "within2": agree.within2,
            "within3": agree.within3,
            "rel_error": agree.rel_error,
        },
        "entries": entry_rows,
        "shared": {
            "linear_diff": linear_diff,
            "relu_diff": relu_diff,
            "softmax_offdiag_ratio": off / diag,
            "second_moment_trace": shared.diag().sum(),
        },
        "images": images,
        "pool": pool,
        "mean_input_norm": mean_norm,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The Monte-Carlo estimate from sampled outputs agrees with ν·x̃x̃ᵀ
    /// entry by entry, within its standard errors.
    #[test]
    fn monte_carlo_matches_the_closed_form() {
        for (bias, omega) in [(0.0, 1.0), (-1.5, 0.3), (2.0, 2.0)] {
            let out =
                run(&json!({"samples": 300, "draws": 40, "bias": bias, "omega": omega, "scale": 1.5}), None).unwrap();
            let mc = &out["mc"];
            let worst = mc["worst_se"].as_f64().unwrap();
            assert!(worst < 5.0, "bias {bias}: worst deviation {worst} SE");
            assert!(mc["within2"].as_f64().unwrap() > 0.8, "bias {bias}: {}", mc["within2"]);
            let (ct, mt) = (out["closed"]["trace"].as_f64().unwrap(), mc["trace"].as_f64().unwrap());
            assert!((ct - mt).abs() < 0.1 * ct, "traces {ct} vs {mt}");
        }
    }

    /// Raising the bias switches more samples on: more of them get ν ≈ 1 and
    /// the metric grows; far below the kink ν ≈ 0 and the metric vanishes.
    #[test]
    fn the_bias_moves_which_samples_count() {
        let at = |b: f64| run(&json!({"bias": b, "draws": 1}), None).unwrap();
        let (off, mid, on) = (at(-6.0), at(0.0), at(6.0));
        let active = |v: &Value| v["active"].as_u64().unwrap();
        assert!(active(&off) < active(&mid) && active(&mid) < active(&on));
        assert_eq!(active(&on), 200);
        let tr = |v: &Value| v["closed"]["trace"].as_f64().unwrap();
        assert!(tr(&off) < 0.01 * tr(&on), "{} vs {}", tr(&off), tr(&on));
        // ν is the smoothed selector sigm(t/ω)²
        let t = mid["t"][7].as_f64().unwrap();
        let s = 1.0 / (1.0 + (-t).exp());
        assert!((mid["nu"][7].as_f64().unwrap() - s * s).abs() < 1e-12);
    }

    /// A linear neuron's RFIM does not depend on its weights, so one matrix
    /// serves the whole layer; a ReLU's does; softmax blocks couple neurons.
    #[test]
    fn linear_metrics_are_shared_and_softmax_couples() {
        let out = run(&json!({"draws": 1, "scale": 2.0}), None).unwrap();
        let sh = &out["shared"];
        assert!(sh["linear_diff"].as_f64().unwrap() < 1e-12);
        assert!(sh["relu_diff"].as_f64().unwrap() > 0.05);
        assert!(sh["softmax_offdiag_ratio"].as_f64().unwrap() > 0.1);
    }

    #[test]
    fn spectra_are_sorted_and_nonnegative() {
        let out = run(&json!({"dim": 6, "draws": 5}), None).unwrap();
        let ev: Vec<f64> =
            out["closed"]["eigenvalues"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(ev.len(), 7);
        assert!(ev.windows(2).all(|w| w[0] >= w[1]) && *ev.last().unwrap() > -1e-12);
    }

    #[test]
    fn mnist_needs_the_dataset_and_fields_are_named() {
        assert!(run(&json!({"inputs": "mnist"}), None).unwrap_err().contains("MNIST"));
        assert!(run(&json!({"omega": 0}), None).unwrap_err().starts_with("omega"));
        assert!(run(&json!({"samples": 2000, "draws": 500}), None).unwrap_err().starts_with("samples × draws"));
    }
}
