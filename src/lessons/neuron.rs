//! Lesson (b): one sigmoid neuron (logistic regression on 784 pixels and a
//! bias) learning MNIST 3-vs-5, trained three ways from the same start w = 0:
//!
//! - **GD**: w ← w − γ·g, with g = mean_k (s_k − y_k) x̃_k the gradient of the
//!   mean cross-entropy and s_k = sigm(wᵀx̃_k);
//! - **NGD**: w ← w − γ·(F + εI)⁻¹ g, with F = mean_k ν_k x̃_k x̃_kᵀ and
//!   ν_k = s_k(1 − s_k): the neuron's Fisher information, i.e. its RFIM
//!   (`crate::fisher::neuron_rfim_batch` with the sigmoid), recomputed from
//!   the current w every `refresh` steps (every step by default);
//! - **whitened GD**: w ← w − γ·(M + εI)⁻¹ g, with M = mean_k x̃_k x̃_kᵀ the
//!   pixels' second moment. That is plain GD on inputs whitened by M^{-1/2}
//!   (θ = M^{1/2}w), and the metric RNGD keeps for its input layer: the
//!   neuron's Fisher with every ν set to 1.
//!
//! This is the single-neuron experiment of the arXiv version of the paper
//! (§5.1, eqs. 28–30), with the project's L2 term β/2·‖w‖² (bias excluded)
//! added to the loss so that the problem keeps a finite minimum: a few hundred
//! digits in 785 dimensions are linearly separable, and without it every
//! method would drive the weights to infinity. Each metric G is inverted as
//! G + εI with ε = damping·tr(G) + β (RNGD's ε_rel and ε_abs): β is the L2
//! term's own curvature, and without it NGD's steps grow without bound as the
//! neuron grows confident and ν, hence F, fades.
//!
//! The metrics are 785 × 785, but the n training digits span at most n of
//! those dimensions, and every gradient lies in their span. So each damped
//! inverse is applied through the n × n Gram matrix K = X̃X̃ᵀ (Woodbury):
//! with G = X̃ᵀ diag(a) X̃ and S = diag(√a),
//! (G + εI)⁻¹ g = (g − X̃ᵀ S (S K S + εI)⁻¹ S X̃ g) / ε.
//! K is computed once; a refresh is one n × n Cholesky factorisation, which
//! keeps a few hundred digits and a hundred steps well inside a second. The
//! nonzero eigenvalues of G are those of S K S, which gives the spectra too.
//! Four digits in five pixels are 0, so the digits are kept as sparse rows:
//! every product with X̃ or X̃ᵀ costs a fifth of the dense one.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::SliceRandom;
use serde_json::{json, Value};

use super::params::Params;
use crate::clock::Stopwatch;
use crate::data::{Dataset, Split, PIXELS};
use crate::fisher::{augment_rows, Transfer};
use crate::model::Activation;
use crate::rng::{self, Stream};

const FIELDS: [&str; 9] = ["samples", "steps", "lr_gd", "lr_ngd", "lr_white", "damping", "refresh", "l2", "seed"];

/// The digit whose target is y = 1 (the other, 5, has y = 0).
const POSITIVE: u8 = 3;
const NEGATIVE: u8 = 5;
/// Eigenvalues below this fraction of the largest count as zero for the rank.
pub const RANK_TOLERANCE: f64 = 1e-10;
/// Digits shown nearest to, and farthest from, the NGD neuron's decision boundary.
const SHOWN_DIGITS: usize = 8;

/// The lesson's settings, as read from the page's controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub samples: usize,
    pub steps: usize,
    pub lr_gd: f64,
    pub lr_ngd: f64,
    pub lr_white: f64,
    /// ε = damping · tr(G) for each metric G that is inverted.
    pub damping: f64,
    /// NGD recomputes its Fisher from the current weights every `refresh` steps.
    pub refresh: usize,
    /// β of the L2 term β/2·‖w‖² (bias excluded).
    pub l2: f64,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            samples: 200,
            steps: 100,
            // About the best of each on a grid (as the paper chose them), for 200 digits and 100 steps.
            lr_gd: 1.0,
            lr_ngd: 1.0,
            lr_white: 3.0,
            damping: 1e-4,
            refresh: 1,
            l2: 1e-3,
            seed: 1,
        }
    }
}

impl Settings {
    /// ε = damping·tr(G) + β for every metric inverted.
    pub fn damping(&self) -> Damping {
        Damping { rel: self.damping, abs: self.l2 }
    }

    pub fn from_json(v: &Value) -> Result<Settings, String> {
        let p = Params::new(v, &FIELDS)?;
        let d = Settings::default();
        Ok(Settings {
            samples: p.usize_in("samples", d.samples, 20, 1000)?,
            steps: p.usize_in("steps", d.steps, 1, 500)?,
            lr_gd: p.positive("lr_gd", d.lr_gd, 100.0)?,
            lr_ngd: p.positive("lr_ngd", d.lr_ngd, 100.0)?,
            lr_white: p.positive("lr_white", d.lr_white, 100.0)?,
            damping: p.f64_in("damping", d.damping, 1e-8, 10.0)?,
            refresh: p.usize_in("refresh", d.refresh, 1, 500)?,
            l2: p.f64_in("l2", d.l2, 0.0, 1.0)?,
            seed: p.usize_in("seed", d.seed as usize, 0, u32::MAX as usize)? as u64,
        })
    }
}

/// The rows of a matrix that is mostly zeros (compressed sparse rows).
#[derive(Debug, Clone)]
pub struct SparseRows {
    starts: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
    ncols: usize,
}

impl SparseRows {
    pub fn from_dense(a: ArrayView2<f64>) -> SparseRows {
        let mut m = SparseRows { starts: vec![0], cols: vec![], vals: vec![], ncols: a.ncols() };
        for row in a.rows() {
            for (j, &v) in row.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                m.cols.push(j);
                m.vals.push(v);
            }
            m.starts.push(m.cols.len());
        }
        m
    }

    pub fn nrows(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn ncols(&self) -> usize {
        self.ncols
    }

    fn row(&self, k: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let r = self.starts[k]..self.starts[k + 1];
        self.cols[r.clone()].iter().copied().zip(self.vals[r].iter().copied())
    }

    /// A w (n values).
    pub fn dot(&self, w: ArrayView1<f64>) -> Array1<f64> {
        Array1::from_shape_fn(self.nrows(), |k| self.row(k).map(|(j, v)| v * w[j]).sum())
    }

    /// Aᵀ r (ncols values).
    pub fn t_dot(&self, r: ArrayView1<f64>) -> Array1<f64> {
        let mut out = Array1::zeros(self.ncols);
        for (k, &rk) in r.iter().enumerate() {
            for (j, v) in self.row(k) {
                out[j] += v * rk;
            }
        }
        out
    }

    /// A Aᵀ (n × n), row i scattered into a dense vector once and dotted with every later row.
    pub fn gram(&self) -> Array2<f64> {
        let n = self.nrows();
        let mut k = Array2::zeros((n, n));
        let mut dense = vec![0.0; self.ncols];
        for i in 0..n {
            for (j, v) in self.row(i) {
                dense[j] = v;
            }
            for l in i..n {
                let s: f64 = self.row(l).map(|(j, v)| v * dense[j]).sum();
                k[[i, l]] = s;
                k[[l, i]] = s;
            }
            for (j, _) in self.row(i) {
                dense[j] = 0.0;
            }
        }
        k
    }

    pub fn row_dense(&self, k: usize) -> Array1<f64> {
        let mut out = Array1::zeros(self.ncols);
        for (j, v) in self.row(k) {
            out[j] = v;
        }
        out
    }
}

/// Augmented digits x̃ (n × 785, sparse) with targets y ∈ {0, 1}.
#[derive(Debug, Clone)]
pub struct Digits {
    pub xt: SparseRows,
    pub y: Array1<f64>,
}

impl Digits {
    /// From augmented rows x̃ (n × (d+1), the bias column last) and targets.
    pub fn new(xt: ArrayView2<f64>, y: Array1<f64>) -> Digits {
        assert_eq!(xt.nrows(), y.len());
        Digits { xt: SparseRows::from_dense(xt), y }
    }

    fn from_split(split: &Split, rows: &[usize]) -> Digits {
        let x = split.images.select(Axis(0), rows).mapv(f64::from);
        let y = rows.iter().map(|&r| if split.labels[r] == POSITIVE { 1.0 } else { 0.0 }).collect();
        Digits::new(augment_rows(x.view()).view(), y)
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// `samples` training 3s and 5s chosen by a seeded shuffle, and every 3 and 5 of the test split.
pub fn three_vs_five(data: &Dataset, samples: usize, seed: u64) -> Result<(Digits, Digits), String> {
    let pick = |s: &Split| -> Vec<usize> {
        (0..s.len()).filter(|&r| s.labels[r] == POSITIVE || s.labels[r] == NEGATIVE).collect()
    };
    let mut train = pick(&data.train);
    if train.len() < samples {
        return Err(format!("samples must be at most {} (the 3s and 5s of the training split)", train.len()));
    }
    train.shuffle(&mut rng::stream(seed, Stream::Batches));
    train.truncate(samples);
    let test = pick(&data.test);
    if test.is_empty() {
        return Err("the test split holds no 3s or 5s".into());
    }
    Ok((Digits::from_split(&data.train, &train), Digits::from_split(&data.test, &test)))
}

/// ln(1 + eᵗ), without overflow.
fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

fn sigm(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// Mean cross-entropy and accuracy of the pre-activations `t` against `y`.
/// CE = −y ln s − (1−y) ln(1−s) = softplus(t) − y·t, written from t so that
/// a confident mistake costs its true (large) loss rather than ln 0.
pub fn loss_and_accuracy(t: ArrayView1<f64>, y: ArrayView1<f64>) -> (f64, f64) {
    let n = y.len() as f64;
    let loss = t.iter().zip(y).map(|(&t, &y)| softplus(t) - y * t).sum::<f64>() / n;
    let right = t.iter().zip(y).filter(|(&t, &y)| (t > 0.0) == (y > 0.5)).count();
    (loss, right as f64 / n)
}

/// β/2·‖w‖², the bias (last entry) excluded as in the crate's MLP.
pub fn l2_penalty(w: ArrayView1<f64>, l2: f64) -> f64 {
    let n = w.len() - 1;
    0.5 * l2 * w.slice(s![..n]).dot(&w.slice(s![..n]))
}

/// Pre-activations t = X̃w and the gradient of the loss,
/// g = mean_k (s_k − y_k) x̃_k + β·w (bias excluded from β·w).
pub fn gradient(d: &Digits, w: ArrayView1<f64>, l2: f64) -> (Array1<f64>, Array1<f64>) {
    let t = d.xt.dot(w);
    let r = (&t.mapv(sigm) - &d.y) / d.len() as f64;
    let mut g = d.xt.t_dot(r.view());
    let n = w.len() - 1;
    g.slice_mut(s![..n]).scaled_add(l2, &w.slice(s![..n]));
    (t, g)
}

/// The sigmoid neuron's selectors ν_k = s_k(1 − s_k), from the crate's RFIM table.
pub fn selectors(t: ArrayView1<f64>) -> Array1<f64> {
    let unit = Transfer::from(Activation::Sigmoid);
    t.mapv(|t| unit.nu(t, crate::model::activation::DEFAULT_OMEGA))
}

/// What is added to a metric's diagonal before it is inverted:
/// ε = rel·tr(G) + abs, as RNGD's ε_rel and ε_abs. The lesson sets abs to the
/// L2 coefficient β, the curvature of the L2 term, so that a metric that fades
/// (ν → 0 on digits the neuron has learnt) never asks for an unbounded step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Damping {
    pub rel: f64,
    pub abs: f64,
}

impl Damping {
    pub fn eps(&self, trace: f64) -> f64 {
        self.rel * trace + self.abs
    }
}

/// A damped metric (G + εI) with G = X̃ᵀ diag(a) X̃ = Σ_k a_k x̃_k x̃_kᵀ,
/// kept as the Cholesky factor of the n × n matrix S K S + εI (S = diag √a).
pub struct DampedMetric {
    sqrt_a: Array1<f64>,
    eps: f64,
    trace: f64,
    chol: faer::linalg::solvers::Llt<f64>,
}

impl DampedMetric {
    /// `weights` are the a_k; ε from `damping`, with tr(G) = Σ_k a_k K_kk.
    pub fn new(gram: &Array2<f64>, weights: ArrayView1<f64>, damping: Damping) -> Result<DampedMetric, String> {
        let sqrt_a = weights.mapv(f64::sqrt);
        let trace = weights.iter().zip(gram.diag()).map(|(a, k)| a * k).sum::<f64>();
        let eps = damping.eps(trace);
        let n = gram.nrows();
        // K is symmetric: read K[j, i] so that faer's column-major fill walks rows of K.
        let m = Mat::from_fn(n, n, |i, j| sqrt_a[i] * gram[[j, i]] * sqrt_a[j] + if i == j { eps } else { 0.0 });
        let chol = m.llt(Side::Lower).map_err(|_| "the damped metric is not positive definite".to_string())?;
        Ok(DampedMetric { sqrt_a, eps, trace, chol })
    }

    pub fn eps(&self) -> f64 {
        self.eps
    }

    pub fn trace(&self) -> f64 {
        self.trace
    }

    /// (G + εI)⁻¹ g = (g − X̃ᵀ S (S K S + εI)⁻¹ S X̃ g) / ε.
    pub fn solve(&self, xt: &SparseRows, g: ArrayView1<f64>) -> Array1<f64> {
        let u = xt.dot(g) * &self.sqrt_a;
        let mut rhs = Mat::from_fn(u.len(), 1, |i, _| u[i]);
        self.chol.solve_in_place(&mut rhs);
        let c = Array1::from_shape_fn(u.len(), |i| rhs[(i, 0)]) * &self.sqrt_a;
        (&g - &xt.t_dot(c.view())) / self.eps
    }
}

/// The nonzero part of a metric's spectrum and what it says about conditioning.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Eigenvalues of G, largest first: the n of S K S (the other D − n are 0).
    pub eigenvalues: Vec<f64>,
    pub rank: usize,
    pub dim: usize,
    pub eps: f64,
}

impl Spectrum {
    pub fn of(gram: &Array2<f64>, weights: ArrayView1<f64>, damping: Damping, dim: usize) -> Result<Spectrum, String> {
        let n = gram.nrows();
        let sa = weights.mapv(f64::sqrt);
        let m = Mat::from_fn(n, n, |i, j| sa[i] * gram[[j, i]] * sa[j]);
        let vals = m.self_adjoint_eigenvalues(Side::Lower).map_err(|_| "the eigenvalues did not converge")?;
        let mut eigenvalues: Vec<f64> = vals.into_iter().map(|v| v.max(0.0)).collect();
        eigenvalues.sort_by(|a, b| b.total_cmp(a));
        let top = eigenvalues[0];
        let rank = eigenvalues.iter().filter(|&&v| v > RANK_TOLERANCE * top).count();
        let trace: f64 = weights.iter().zip(gram.diag()).map(|(a, k)| a * k).sum();
        Ok(Spectrum { eigenvalues, rank, dim, eps: damping.eps(trace) })
    }

    /// The spectrum of c·G, damped by `damping`.
    pub fn scaled(&self, c: f64, damping: Damping) -> Spectrum {
        let trace: f64 = self.eigenvalues.iter().sum::<f64>() * c;
        Spectrum {
            eigenvalues: self.eigenvalues.iter().map(|v| v * c).collect(),
            rank: self.rank,
            dim: self.dim,
            eps: damping.eps(trace),
        }
    }

    pub fn largest(&self) -> f64 {
        self.eigenvalues[0]
    }

    /// The smallest eigenvalue counted in the rank (none when G is 0, as
    /// when every ν has underflowed after a diverging run).
    pub fn smallest_nonzero(&self) -> Option<f64> {
        self.rank.checked_sub(1).map(|k| self.eigenvalues[k])
    }

    /// λ_max / λ_min over the directions the digits span.
    pub fn condition_nonzero(&self) -> Option<f64> {
        self.smallest_nonzero().map(|low| self.largest() / low)
    }

    /// The condition number of what is inverted, G + εI: its smallest
    /// eigenvalue is ε alone when G is singular (rank < 785).
    pub fn condition_damped(&self) -> f64 {
        let low = if self.rank < self.dim { 0.0 } else { self.eigenvalues[self.dim - 1] };
        (self.largest() + self.eps) / (low + self.eps)
    }

    fn to_json(&self) -> Value {
        json!({
            "eigenvalues": self.eigenvalues,
            "rank": self.rank,
            "dim": self.dim,
            "largest": self.largest(),
            "smallest_nonzero": self.smallest_nonzero(),
            "condition_nonzero": self.condition_nonzero(),
            "eps": self.eps,
            "condition_damped": self.condition_damped(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Gd,
    Ngd,
    Whitened,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Gd, Method::Ngd, Method::Whitened];

    pub fn id(self) -> &'static str {
        match self {
            Method::Gd => "gd",
            Method::Ngd => "ngd",
            Method::Whitened => "white",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Method::Gd => "gradient descent",
            Method::Ngd => "natural gradient (the neuron's RFIM)",
            Method::Whitened => "whitened inputs (second moment, ν = 1)",
        }
    }

    fn lr(self, s: &Settings) -> f64 {
        match self {
            Method::Gd => s.lr_gd,
            Method::Ngd => s.lr_ngd,
            Method::Whitened => s.lr_white,
        }
    }
}

/// One method's learning curves: entry k is measured after k steps.
#[derive(Debug, Clone)]
pub struct Run {
    pub method: Method,
    pub loss: Vec<f64>,
    pub accuracy: Vec<f64>,
    pub test_loss: Vec<f64>,
    pub test_accuracy: Vec<f64>,
    pub w: Array1<f64>,
    /// The step whose update made the weights non-finite, if one did.
    pub diverged_at: Option<usize>,
    /// NGD only: how many times the Fisher was recomputed.
    pub refreshes: usize,
}

/// Trains one method from w = 0.
pub fn train(method: Method, s: &Settings, train: &Digits, test: &Digits, gram: &Array2<f64>) -> Result<Run, String> {
    let n = train.len() as f64;
    let mut w = Array1::<f64>::zeros(train.xt.ncols());
    let mut run = Run {
        method,
        loss: vec![],
        accuracy: vec![],
        test_loss: vec![],
        test_accuracy: vec![],
        w: w.clone(),
        diverged_at: None,
        refreshes: 0,
    };
    let lr = method.lr(s);
    let damping = s.damping();
    let mut metric = match method {
        Method::Whitened => Some(DampedMetric::new(gram, Array1::from_elem(train.len(), 1.0 / n).view(), damping)?),
        _ => None,
    };
    for step in 0..=s.steps {
        let (t, g) = gradient(train, w.view(), s.l2);
        let (l, a) = loss_and_accuracy(t.view(), train.y.view());
        let (tl, ta) = loss_and_accuracy(test.xt.dot(w.view()).view(), test.y.view());
        run.loss.push(l + l2_penalty(w.view(), s.l2));
        run.accuracy.push(a);
        run.test_loss.push(tl);
        run.test_accuracy.push(ta);
        if step == s.steps {
            break;
        }
        if method == Method::Ngd && step % s.refresh == 0 {
            // A factorisation that fails (weights blown up, metric not finite) ends the run as diverged.
            match DampedMetric::new(gram, (selectors(t.view()) / n).view(), damping) {
                Ok(m) => metric = Some(m),
                Err(_) => {
                    run.diverged_at = Some(step);
                    break;
                }
            }
            run.refreshes += 1;
        }
        let d = match &metric {
            Some(m) => m.solve(&train.xt, g.view()),
            None => g,
        };
        w.scaled_add(-lr, &d);
        if !w.iter().all(|v| v.is_finite()) {
            run.diverged_at = Some(step + 1);
            break;
        }
        run.w.assign(&w);
    }
    Ok(run)
}

/// The first step at which `curve` is at or below `level`.
fn first_at_or_below(curve: &[f64], level: f64) -> Option<usize> {
    curve.iter().position(|&v| v <= level)
}

fn digit_json(d: &Digits, k: usize, nu: f64, t: f64) -> Value {
    let pixels: Vec<u8> = d.xt.row_dense(k).slice(s![..PIXELS]).iter().map(|&p| (p * 255.0).round() as u8).collect();
    json!({
        "label": if d.y[k] > 0.5 { POSITIVE } else { NEGATIVE },
        "nu": nu,
        "p3": sigm(t),
        "pixels": pixels,
    })
}

/// Runs the lesson: see the module documentation.
pub fn run(params: &Value, data: Option<&Dataset>) -> Result<Value, String> {
    let s = Settings::from_json(params)?;
    let data = data.ok_or("this lesson needs the MNIST digits, and none were given")?;
    let clock = Stopwatch::start();
    let (train_set, test_set) = three_vs_five(data, s.samples, s.seed)?;
    let gram = train_set.xt.gram();
    let dim = train_set.xt.ncols();
    let n = train_set.len() as f64;

    let runs = Method::ALL.map(|m| train(m, &s, &train_set, &test_set, &gram));
    let runs: Vec<Run> = runs.into_iter().collect::<Result<_, _>>()?;

    let ones = Array1::from_elem(train_set.len(), 1.0 / n);
    let second_moment = Spectrum::of(&gram, ones.view(), s.damping(), dim)?;
    let ngd = &runs[1];
    let t_end = train_set.xt.dot(ngd.w.view());
    let nu_end = selectors(t_end.view());
    let fisher_end = Spectrum::of(&gram, (&nu_end / n).view(), s.damping(), dim)?;
    // At w = 0 every ν is ¼: the Fisher is M/4 (its spectrum too), and NGD's first step is whitening's.
    let fisher_start = second_moment.scaled(0.25, s.damping());

    let gd_final = *runs[0].loss.last().expect("at least one point");
    let methods: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "id": r.method.id(),
                "name": r.method.name(),
                "lr": r.method.lr(&s),
                "loss": r.loss,
                "accuracy": r.accuracy,
                "test_loss": r.test_loss,
                "test_accuracy": r.test_accuracy,
                "diverged_at": r.diverged_at,
                "refreshes": r.refreshes,
                "steps_to_gd_final": first_at_or_below(&r.loss, gd_final),
                "weights": r.w.slice(s![..PIXELS]).to_vec(),
                "bias": r.w[PIXELS],
            })
        })
        .collect();

    // The digits the trained NGD neuron weighs most and least (ν near ¼ on the boundary, near 0 far from it).
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    order.sort_by(|&a, &b| nu_end[b].total_cmp(&nu_end[a]));
    let shown = |rows: &[usize]| -> Vec<Value> {
        rows.iter().map(|&k| digit_json(&train_set, k, nu_end[k], t_end[k])).collect()
    };
    let informative = order.iter().filter(|&&k| nu_end[k] > 0.05).count();

    Ok(json!({
        "samples": train_set.len(),
        "test_samples": test_set.len(),
        "positive": POSITIVE,
        "negative": NEGATIVE,
        "dim": dim,
        "steps": s.steps,
        "damping": s.damping,
        "refresh": s.refresh,
        "l2": s.l2,
        "rank_tolerance": RANK_TOLERANCE,
        "methods": methods,
        "metrics": {
            "second_moment": second_moment.to_json(),
            "fisher_start": fisher_start.to_json(),
            "fisher_end": fisher_end.to_json(),
        },
        "nu": {
            "mean": nu_end.mean().unwrap_or(0.0),
            "max": nu_end.iter().cloned().fold(0.0, f64::max),
            "informative": informative,
            "threshold": 0.05,
            "nearest": shown(&order[..SHOWN_DIGITS.min(order.len())]),
            "farthest": shown(&order[order.len().saturating_sub(SHOWN_DIGITS)..]),
        },
        "compute_ms": clock.seconds() * 1e3,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fisher::neuron_rfim_batch;
    use ndarray::Array;
    use rand::Rng;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// n random "digits" with d pixels in [0, 1] and random labels.
    fn toy(n: usize, d: usize, seed: u64) -> (Digits, Array2<f64>) {
        let mut r = rng::stream(seed, Stream::Test);
        let x = Array2::from_shape_simple_fn((n, d), || if r.random::<f64>() < 0.4 { r.random::<f64>() } else { 0.0 });
        let y = Array1::from_shape_simple_fn(n, || if r.random::<bool>() { 1.0 } else { 0.0 });
        (Digits::new(augment_rows(x.view()).view(), y), x)
    }

    /// Dense (A + εI)⁻¹ b by faer's LU, independent of the Woodbury route.
    fn dense_solve(a: &Array2<f64>, eps: f64, b: ArrayView1<f64>) -> Array1<f64> {
        let n = a.nrows();
        let m = Mat::from_fn(n, n, |i, j| a[[i, j]] + if i == j { eps } else { 0.0 });
        let rhs = Mat::from_fn(n, 1, |i, _| b[i]);
        let x = m.partial_piv_lu().solve(&rhs);
        Array1::from_shape_fn(n, |i| x[(i, 0)])
    }

    fn max_rel(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        (&a - &b).iter().fold(0.0f64, |m, v| m.max(v.abs())) / scale
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (d, _) = toy(12, 7, 3);
        let mut r = rng::stream(5, Stream::Test);
        let w = Array::from_shape_simple_fn(8, || r.random_range(-1.5..1.5));
        let l2 = 0.3;
        let (_, g) = gradient(&d, w.view(), l2);
        let loss =
            |w: &Array1<f64>| loss_and_accuracy(d.xt.dot(w.view()).view(), d.y.view()).0 + l2_penalty(w.view(), l2);
        for i in 0..w.len() {
            let h = 1e-6;
            let (mut up, mut down) = (w.clone(), w.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (loss(&up) - loss(&down)) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-8, "entry {i}: finite difference {fd}, analytic {}", g[i]);
        }
    }

    /// The NGD step through the n × n Gram matrix equals (F + εI)⁻¹ g with F
    /// the crate's closed-form RFIM of a sigmoid neuron, inverted densely;
    /// both with fewer digits than dimensions (F singular) and with more.
    #[test]
    fn natural_gradient_uses_the_sigmoid_neurons_rfim() {
        for (n, dim, seed) in [(5, 9, 1), (40, 6, 2)] {
            let (d, x) = toy(n, dim, seed);
            let mut r = rng::stream(seed + 10, Stream::Test);
            let w = Array::from_shape_simple_fn(dim + 1, || r.random_range(-1.0..1.0));
            let (t, g) = gradient(&d, w.view(), 0.01);
            let fisher = neuron_rfim_batch(Activation::Sigmoid, w.view(), x.view(), 1.0);
            // ν = s(1 − s), the Fisher information of a Bernoulli(sigm t) about t.
            let nu = selectors(t.view());
            let explicit = t.mapv(|t| sigm(t) * (1.0 - sigm(t)));
            assert!(max_rel(nu.view(), explicit.view()) < 1e-14);

            let gram = d.xt.gram();
            let xt = augment_rows(x.view());
            assert!((&gram - &xt.dot(&xt.t())).iter().all(|v| v.abs() < 1e-12), "the sparse Gram matrix");
            let damping = Damping { rel: 1e-3, abs: 1e-4 };
            let metric = DampedMetric::new(&gram, (&nu / n as f64).view(), damping).unwrap();
            assert!((metric.trace() - fisher.diag().sum()).abs() < 1e-12 * metric.trace());
            let step = metric.solve(&d.xt, g.view());
            let want = dense_solve(&fisher, metric.eps(), g.view());
            let err = max_rel(step.view(), want.view());
            assert!(err < 1e-7, "n={n}, d={dim}: relative difference {err}");

            // The spectrum from S K S is the closed form's nonzero spectrum.
            let spec = Spectrum::of(&gram, (&nu / n as f64).view(), damping, dim + 1).unwrap();
            let (dense, _) = crate::linalg::sym_eigen_f64(fisher.view()).unwrap();
            let mut dense: Vec<f64> = dense.to_vec();
            dense.sort_by(|a, b| b.total_cmp(a));
            assert_eq!(spec.rank, n.min(dim + 1), "rank of {n} digits in {} dimensions", dim + 1);
            for k in 0..spec.rank {
                let (a, b) = (spec.eigenvalues[k], dense[k]);
                assert!((a - b).abs() < 1e-10 * dense[0], "eigenvalue {k}: {a} vs {b}");
            }
        }
    }

    /// Whitening preconditions by the second moment: the Fisher with ν = 1.
    #[test]
    fn whitening_inverts_the_second_moment() {
        let (d, x) = toy(30, 5, 4);
        let gram = d.xt.gram();
        let n = d.len() as f64;
        let m = crate::fisher::linear_layer_rfim_batch(x.view());
        let damping = Damping { rel: 1e-4, abs: 0.0 };
        let metric = DampedMetric::new(&gram, Array1::from_elem(d.len(), 1.0 / n).view(), damping).unwrap();
        let g = Array1::from_shape_fn(6, |i| (i as f64 - 2.5) * 0.3);
        let step = metric.solve(&d.xt, g.view());
        let want = dense_solve(&m, metric.eps(), g.view());
        assert!(max_rel(step.view(), want.view()) < 1e-8);
    }

    // The bundled digits are compiled into native builds only (the browser fetches them).
    #[cfg(not(target_arch = "wasm32"))]
    fn mnist() -> Dataset {
        crate::data::bundled::mnist_subset().expect("the bundled MNIST subset parses")
    }

    /// On the real digits, with a fixed seed: NGD and whitening get far lower
    /// than GD in the same number of steps, and the second moment of the
    /// pixels is badly conditioned (which is why GD crawls).
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn natural_gradient_beats_gradient_descent_on_three_vs_five() {
        let data = mnist();
        let out = run(&json!({"samples": 300, "steps": 60}), Some(&data)).unwrap();
        let last = |id: &str| -> f64 {
            let m = out["methods"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap();
            assert!(m["diverged_at"].is_null(), "{id} diverged");
            *m["loss"].as_array().unwrap().last().unwrap().as_f64().as_ref().unwrap()
        };
        let (gd, ngd, white) = (last("gd"), last("ngd"), last("white"));
        let steps = |id: &str| {
            out["methods"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["steps_to_gd_final"].as_u64()
        };
        println!("loss after 60 steps: GD {gd:.4}, NGD {ngd:.4}, whitened {white:.4}; GD's loss reached by NGD at step {:?}, whitened at {:?}", steps("ngd"), steps("white"));
        assert!(ngd < gd && white < gd, "NGD {ngd}, whitened {white} vs GD {gd}");
        assert!(steps("ngd").unwrap() <= 10, "NGD takes {:?} steps to GD's 60-step loss", steps("ngd"));
        let m = &out["metrics"]["second_moment"];
        println!(
            "second moment: rank {}, condition (nonzero part) {:.3e}",
            m["rank"],
            m["condition_nonzero"].as_f64().unwrap()
        );
        assert!(m["condition_nonzero"].as_f64().unwrap() > 1e3);
        assert_eq!(out["samples"], 300);
        assert!(out["test_samples"].as_u64().unwrap() > 100);
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn the_fisher_at_zero_is_a_quarter_of_the_second_moment() {
        let data = mnist();
        let (train_set, _) = three_vs_five(&data, 60, 2).unwrap();
        let gram = train_set.xt.gram();
        let n = train_set.len() as f64;
        let (t, _) = gradient(&train_set, Array1::zeros(785).view(), 0.0);
        let damping = Damping { rel: 1e-4, abs: 0.0 };
        let f = Spectrum::of(&gram, (selectors(t.view()) / n).view(), damping, 785).unwrap();
        let m = Spectrum::of(&gram, Array1::from_elem(60, 1.0 / n).view(), damping, 785).unwrap();
        for (a, b) in f.eigenvalues.iter().zip(&m.eigenvalues) {
            assert!((a - 0.25 * b).abs() < 1e-12 * m.largest());
        }
        let quarter = m.scaled(0.25, damping);
        assert!((quarter.eps - f.eps).abs() < 1e-12 * f.eps, "the damping of M/4 is the Fisher's");
        assert_eq!(quarter.rank, f.rank);
    }

    /// A learning rate far too large ends a run early, reported, rather than failing the lesson.
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn a_diverging_run_is_reported_not_fatal() {
        let out = run(&json!({"samples": 60, "steps": 40, "lr_ngd": 30, "l2": 0}), Some(&mnist())).unwrap();
        let ngd = &out["methods"][1];
        assert_eq!(ngd["id"], "ngd");
        let fisher = &out["metrics"]["fisher_end"];
        println!("NGD at lr 30: diverged at {}, final Fisher rank {}", ngd["diverged_at"], fisher["rank"]);
        assert!(ngd["loss"].as_array().unwrap().iter().all(|v| v.is_number()), "every loss is a finite number");
    }

    #[test]
    fn refuses_to_run_without_digits_and_checks_its_fields() {
        let e = run(&Value::Null, None).unwrap_err();
        assert!(e.contains("MNIST"), "{e}");
        assert!(run(&json!({"steps": 0}), None).unwrap_err().starts_with("steps must be"));
        assert!(run(&json!({"lr": 1}), None).unwrap_err().contains("unknown parameter"));
    }
}
