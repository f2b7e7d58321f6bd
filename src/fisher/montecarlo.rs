//! Samplers and log-likelihoods of the paper's stochastic
//! models, finite-difference scores, and a Monte-Carlo Fisher estimate with
//! per-entry standard errors: the tests' check of every closed form, and the
//! RFIM lesson's Monte-Carlo estimate.
//!
//! The score is taken by central differences of log p, not from any closed
//! form, so the check E[score scoreᵀ] ≈ RFIM is independent of the algebra
//! behind ν_f. Central differences with step 1e-6 on O(1) log-likelihoods
//! err by ~1e-10, far below the Monte-Carlo error.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::transfer::Transfer;
use crate::model::Activation;

/// Every unit of the one-neuron table.
pub const TRANSFERS: [Transfer; 6] = [
    Transfer::Identity,
    Transfer::Act(Activation::Relu),
    Transfer::Act(Activation::Prelu { leak: 0.2 }),
    Transfer::Act(Activation::Elu { alpha: 1.5 }),
    Transfer::Act(Activation::Tanh),
    Transfer::Act(Activation::Sigmoid),
];

/// How many Monte-Carlo standard errors an entry may deviate.
pub const Z: f64 = 5.0;
/// Slack for finite-difference and rounding error, far below any standard error.
pub const ABS_SLACK: f64 = 1e-8;

fn sigm(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// One draw of the unit's response at pre-activation t (RNGD.md table):
/// tanh → y ∈ {−1, 1} with p(1) = (1 + tanh t)/2; sigmoid → Bernoulli(sigm t);
/// the others → y ~ N(μ(t), 1).
pub fn sample_unit<R: Rng>(tr: Transfer, t: f64, omega: f64, rng: &mut R) -> f64 {
    let u: f64 = rng.random();
    match tr {
        Transfer::Act(Activation::Tanh) => {
            if u < (1.0 + t.tanh()) / 2.0 {
                1.0
            } else {
                -1.0
            }
        }
        Transfer::Act(Activation::Sigmoid) => {
            if u < sigm(t) {
                1.0
            } else {
                0.0
            }
        }
        _ => {
            let e: f64 = StandardNormal.sample(rng);
            tr.mean(t, omega) + e
        }
    }
}

/// log p(y | t) of the unit's model, up to a constant in t.
pub fn log_lik_unit(tr: Transfer, t: f64, y: f64, omega: f64) -> f64 {
    match tr {
        Transfer::Act(Activation::Tanh) => ((1.0 + y * t.tanh()) / 2.0).ln(),
        Transfer::Act(Activation::Sigmoid) => {
            let p = sigm(t);
            if y > 0.5 {
                p.ln()
            } else {
                (1.0 - p).ln()
            }
        }
        _ => -0.5 * (y - tr.mean(t, omega)).powi(2),
    }
}

/// ∇f(θ) by central differences with step 1e-6.
pub fn fd_gradient(f: impl Fn(&[f64]) -> f64, theta: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    let mut th = theta.to_vec();
    (0..theta.len())
        .map(|a| {
            th[a] = theta[a] + h;
            let up = f(&th);
            th[a] = theta[a] - h;
            let down = f(&th);
            th[a] = theta[a];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// W's columns stacked into one vector (neuron i owns i·D..(i+1)·D).
pub fn vec_cols(w: ArrayView2<f64>) -> Vec<f64> {
    w.t().iter().copied().collect()
}

/// Monte-Carlo mean of s sᵀ with the standard error of each entry.
pub struct FisherEstimate {
    pub mean: Array2<f64>,
    pub se: Array2<f64>,
}

/// Averages s sᵀ over `n` scores from `draw` (each of length `p`).
pub fn estimate_fisher(n: usize, p: usize, mut draw: impl FnMut() -> Vec<f64>) -> FisherEstimate {
    let (mut sum, mut sq) = (Array2::<f64>::zeros((p, p)), Array2::<f64>::zeros((p, p)));
    for _ in 0..n {
        let s = draw();
        for a in 0..p {
            for b in 0..p {
                let v = s[a] * s[b];
                sum[[a, b]] += v;
                sq[[a, b]] += v * v;
            }
        }
    }
    let nf = n as f64;
    let mean = sum / nf;
    let var = sq / nf - &mean * &mean;
    let se = var.mapv(|v| (v.max(0.0) / nf).sqrt());
    FisherEstimate { mean, se }
}

/// Asserts |MC − closed form| ≤ Z·SE + ABS_SLACK entry by entry; returns the
/// largest deviation in standard errors, for the failure message of callers.
pub fn assert_matches(est: &FisherEstimate, closed: &Array2<f64>, label: &str) -> f64 {
    assert_eq!(est.mean.dim(), closed.dim(), "{label}: shapes differ");
    let mut worst: f64 = 0.0;
    for ((idx, &mc), &g) in est.mean.indexed_iter().zip(closed.iter()) {
        let se = est.se[idx];
        let dev = (mc - g).abs();
        assert!(dev <= Z * se + ABS_SLACK, "{label}: entry {idx:?} MC {mc} vs closed {g} (SE {se})");
        if se > 0.0 {
            worst = worst.max(dev / se);
        }
    }
    println!("{label}: largest deviation {worst:.2} SE");
    worst
}

/// The smallest eigenvalue of a symmetric matrix (faer's self-adjoint solver).
pub fn min_eigenvalue(g: &Array2<f64>) -> f64 {
    let m = faer::Mat::<f64>::from_fn(g.nrows(), g.ncols(), |i, j| g[[i, j]]);
    let ev = m.self_adjoint_eigenvalues(faer::Side::Lower).expect("eigenvalues converge");
    ev.into_iter().fold(f64::INFINITY, f64::min)
}
