//! The metrics RNGD learns, and their stored inverses.
//!
//! A shared metric is one D×D matrix for the whole layer. Per-neuron metrics
//! are stored packed: only the upper triangle of each symmetric D×D matrix, so
//! the EMA update of all m neurons is one matrix product
//! `G_packed ← (1−λ)·G_packed + (λ/B)·νᵀ·P`, where row k of P holds the upper
//! triangle of h̃_k h̃_kᵀ. That is half the multiply-adds of the literal update,
//! done by a single well-shaped GEMM.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, Array3, ArrayD, ArrayView2, Axis};

use crate::fisher::gram::augment_rows as augment;
use crate::linalg;

fn damping(g: ArrayView2<f32>, eps_rel: f64, eps_abs: f64) -> f64 {
    eps_rel * g.diag().iter().map(|&v| v as f64).sum::<f64>() + eps_abs
}

/// The top-r eigenpairs of a shared metric plus an isotropic tail:
/// `G⁻¹ ≈ V·diag(coef)·Vᵀ + c·I`, with `c = 1/(tail+ε)`, `coef_i = 1/(λ_i+ε) − c`,
/// and `tail` the mean of the other D − r eigenvalues, `(tr G − Σ λ_i)/(D − r)`.
///
/// The first refresh decomposes G fully; later ones track the top-r subspace
/// with one step of subspace iteration and a Rayleigh–Ritz projection from the
/// previous basis, which costs two D×D×r products instead of a D³ decomposition.
/// G moves slowly (an EMA with rate λ), so one step per refresh keeps up.
#[derive(Debug, Clone)]
pub struct LowRankInverse {
    pub rank: usize,
    /// D × r orthonormal basis (f64, so the iteration does not drift), empty before the first refresh.
    basis: Array2<f64>,
    /// The top-r eigenvalues of G at the last refresh, increasing.
    pub eigenvalues: Array1<f64>,
    /// `basis` in f32, kept so each step's preconditioning multiplies in f32 without converting.
    vectors: Array2<f32>,
    coef: Array1<f32>,
    tail: f32,
}

impl LowRankInverse {
    fn identity(dim: usize, rank: usize) -> Self {
        LowRankInverse {
            rank,
            basis: Array2::zeros((dim, 0)),
            eigenvalues: Array1::zeros(0),
            vectors: Array2::zeros((dim, 0)),
            coef: Array1::zeros(0),
            tail: 1.0,
        }
    }

    /// Recomputes the factors from `g`; returns false (keeping the old ones) on failure.
    fn refresh(&mut self, g: ArrayView2<f32>, eps: f64) -> bool {
        let dim = g.nrows();
        let r = self.rank.min(dim);
        let gd = g.mapv(f64::from);
        let (vals, vecs) = if self.basis.ncols() == r {
            let q = linalg::orthonormal_basis(&gd.dot(&self.basis));
            let projected = q.t().dot(&gd.dot(&q));
            match linalg::sym_eigen_f64(projected.view()) {
                Ok((vals, u)) => (vals, q.dot(&u)),
                Err(_) => return false,
            }
        } else {
            match linalg::sym_eigen_f64(gd.view()) {
                Ok((vals, vecs)) => (vals.slice(s![dim - r..]).to_owned(), vecs.slice(s![.., dim - r..]).to_owned()),
                Err(_) => return false,
            }
        };
        let rest = (dim - r) as f64;
        let tail = if rest > 0.0 { ((gd.diag().sum() - vals.sum()) / rest).max(0.0) } else { 0.0 };
        if !(vals[0] + eps > 0.0 && tail + eps > 0.0 && vals.iter().all(|v| v.is_finite())) {
            return false;
        }
        let c = 1.0 / (tail + eps);
        self.coef = vals.mapv(|v| (1.0 / (v + eps) - c) as f32);
        self.vectors = vecs.mapv(|v| v as f32);
        self.tail = c as f32;
        self.basis = vecs;
        self.eigenvalues = vals;
        true
    }

    fn apply(&self, g: &Array2<f32>) -> Array2<f32> {
        let mut out = g * self.tail;
        if self.coef.is_empty() {
            return out;
        }
        let mut proj = self.vectors.t().dot(g);
        proj *= &self.coef.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &self.vectors, &proj, 1.0, &mut out);
        out
    }

    fn dense(&self) -> Array2<f32> {
        let dim = self.vectors.nrows();
        let mut out = Array2::eye(dim) * self.tail;
        let scaled = &self.vectors * &self.coef.view().insert_axis(Axis(0));
        general_mat_mul(1.0, &scaled, &self.vectors.t(), 1.0, &mut out);
        out
    }
}

/// Below this the lazy scale of a shared metric is folded back into its entries,
/// long before f32 could overflow (λ = 0.005 takes ~5,500 steps to get here).
const RESCALE_BELOW: f64 = 1e-12;

/// One linear-layer metric shared by every neuron of a layer.
///
/// Stored as `G = scale · raw`, so the (1−λ) decay of every step is one scalar
/// multiply, and a step only touches the rows and columns of inputs that are
/// non-zero somewhere in the batch (most MNIST border pixels are always 0).
/// The result is the literal update, just cheaper.
#[derive(Debug, Clone)]
pub struct SharedMetric {
    raw: Array2<f32>,
    scale: f64,
    pub inverse: Array2<f32>,
    /// Set when the inverse is kept in low-rank form instead of `inverse`.
    pub low_rank: Option<Box<LowRankInverse>>,
    pub fallbacks: u64,
}

impl SharedMetric {
    pub fn identity(dim: usize, rank: Option<usize>) -> Self {
        SharedMetric {
            raw: Array2::eye(dim),
            scale: 1.0,
            inverse: if rank.is_some() { Array2::zeros((0, 0)) } else { Array2::eye(dim) },
            low_rank: rank.map(|r| Box::new(LowRankInverse::identity(dim, r))),
            fallbacks: 0,
        }
    }

    /// The metric G.
    pub fn metric(&self) -> Array2<f32> {
        self.raw.mapv(|v| (v as f64 * self.scale) as f32)
    }

    /// Replaces the metric (for tests and experiments).
    pub fn set_metric(&mut self, g: Array2<f32>) {
        assert_eq!(g.dim(), self.raw.dim());
        self.raw = g;
        self.scale = 1.0;
    }

    /// `G ← (1−λ)G + (λ/B)·h̃ᵀh̃`.
    pub fn update(&mut self, h: ArrayView2<f32>, lambda: f32) {
        let ha = augment(h);
        let dim = ha.ncols();
        self.scale *= 1.0 - lambda as f64;
        if self.scale < RESCALE_BELOW {
            let s = self.scale as f32;
            self.raw.mapv_inplace(|v| v * s);
            self.scale = 1.0;
        }
        let alpha = (lambda as f64 / ha.nrows() as f64 / self.scale) as f32;
        let active: Vec<usize> = (0..dim).filter(|&a| ha.column(a).iter().any(|&v| v != 0.0)).collect();
        if active.len() == dim {
            crate::par::gemm(alpha, &ha.t(), &ha.view(), 1.0, &mut self.raw);
            return;
        }
        let hc = ha.select(Axis(1), &active);
        let mut outer = Array2::zeros((active.len(), active.len()));
        crate::par::gemm(1.0, &hc.t(), &hc.view(), 0.0, &mut outer);
        for (i, &a) in active.iter().enumerate() {
            let mut row = self.raw.row_mut(a);
            for (j, &b) in active.iter().enumerate() {
                row[b] += alpha * outer[[i, j]];
            }
        }
    }

    pub fn refresh(&mut self, eps_rel: f64, eps_abs: f64) {
        let g = self.metric();
        let eps = damping(g.view(), eps_rel, eps_abs);
        let ok = match &mut self.low_rank {
            None => match linalg::spd_inverse(g.view(), eps) {
                Ok(inv) => {
                    self.inverse = inv;
                    true
                }
                Err(_) => false,
            },
            Some(lr) => lr.refresh(g.view(), eps),
        };
        if !ok {
            self.fallbacks += 1;
        }
    }

    pub fn precondition(&self, grad: &Array2<f32>) -> Array2<f32> {
        match &self.low_rank {
            None => {
                let mut out = Array2::zeros((self.inverse.nrows(), grad.ncols()));
                crate::par::gemm(1.0, &self.inverse.view(), &grad.view(), 0.0, &mut out);
                out
            }
            Some(lr) => lr.apply(grad),
        }
    }

    pub fn inverse_dense(&self) -> Array2<f32> {
        match &self.low_rank {
            None => self.inverse.clone(),
            Some(lr) => lr.dense(),
        }
    }
}

/// One metric per neuron of a layer and its inverse, both stored as packed
/// upper triangles: the inverses are read in full at every step, and half the
/// bytes is half the time of a memory-bound preconditioning.
#[derive(Debug, Clone)]
pub struct NeuronMetrics {
    pub dim: usize,
    /// neurons × D(D+1)/2: row i is the upper triangle of G_i, row by row.
    pub packed: Array2<f32>,
    /// neurons × D(D+1)/2: row i is the upper triangle of G_i⁻¹, row by row.
    inverse: Array2<f32>,
    pub fallbacks: u64,
}

/// Number of entries in the upper triangle of a D×D matrix.
fn packed_len(dim: usize) -> usize {
    dim * (dim + 1) / 2
}

impl NeuronMetrics {
    pub fn identity(neurons: usize, dim: usize) -> Self {
        let mut packed = Array2::zeros((neurons, packed_len(dim)));
        let mut p = 0;
        for a in 0..dim {
            packed.column_mut(p).fill(1.0);
            p += dim - a;
        }
        NeuronMetrics { dim, inverse: packed.clone(), packed, fallbacks: 0 }
    }

    pub fn neurons(&self) -> usize {
        self.packed.nrows()
    }

    /// `G_i ← (1−λ)G_i + (λ/B)·Σ_k ν_ki h̃_k h̃_kᵀ` for every neuron at once.
    /// Not inlined, so that `examples/wasm_simd.rs` can find its packing loop in the wasm build.
    #[inline(never)]
    pub fn update(&mut self, h: ArrayView2<f32>, nu: ArrayView2<f32>, lambda: f32) {
        let ha = augment(h);
        let (b, dim) = ha.dim();
        assert_eq!(dim, self.dim);
        assert_eq!(nu.dim(), (b, self.neurons()));
        let mut outer = Array2::<f32>::zeros((b, packed_len(dim)));
        for (row, mut out) in ha.outer_iter().zip(outer.outer_iter_mut()) {
            let out = out.as_slice_mut().expect("fresh arrays are contiguous");
            let mut p = 0;
            for a in 0..dim {
                let ra = row[a];
                for bb in a..dim {
                    out[p] = ra * row[bb];
                    p += 1;
                }
            }
        }
        crate::par::gemm(lambda / b as f32, &nu.t(), &outer.view(), 1.0 - lambda, &mut self.packed);
    }

    /// Neuron `i`'s metric as a full symmetric D×D matrix.
    pub fn metric(&self, i: usize) -> Array2<f32> {
        unpack(self.packed.row(i), self.dim)
    }

    /// Replaces every neuron's metric with the upper triangles of `g` (neurons × D × D).
    pub fn set_metrics(&mut self, g: ndarray::ArrayView3<f32>) {
        assert_eq!(g.dim(), (self.neurons(), self.dim, self.dim));
        for (gi, mut row) in g.outer_iter().zip(self.packed.outer_iter_mut()) {
            let mut p = 0;
            for a in 0..self.dim {
                for b in a..self.dim {
                    row[p] = gi[[a, b]];
                    p += 1;
                }
            }
        }
    }

    /// Inverts every neuron's metric, the neurons spread over the threads
    /// (`crate::par`). A failed inverse keeps the neuron's previous one.
    pub fn refresh(&mut self, eps_rel: f64, eps_abs: f64) {
        let dim = self.dim;
        let packed = &self.packed;
        let failed = std::sync::atomic::AtomicU64::new(0);
        let inverse = self.inverse.as_slice_mut().expect("the inverses are one contiguous block");
        crate::par::for_each_chunk(inverse, packed_len(dim), |i, out| {
            let g = unpack(packed.row(i), dim);
            match linalg::spd_inverse(g.view(), damping(g.view(), eps_rel, eps_abs)) {
                // The inverse's lower triangle (where the Cholesky factor
                // lives), stored as the upper one: one symmetric matrix.
                Ok(inv) => {
                    let mut p = 0;
                    for a in 0..dim {
                        for b in a..dim {
                            out[p] = inv[[b, a]];
                            p += 1;
                        }
                    }
                }
                Err(_) => {
                    failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        self.fallbacks += failed.into_inner();
    }

    /// Column i of the gradient (neuron i's weights and bias) times G_i⁻¹.
    ///
    /// Columns of the row-major gradient are strided, so it is transposed once
    /// to make every neuron's vector contiguous for its matrix-vector product.
    pub fn precondition(&self, grad: &Array2<f32>) -> Array2<f32> {
        let dim = self.dim;
        let per_neuron = grad.t().as_standard_layout().into_owned();
        let mut out = Array2::zeros(per_neuron.raw_dim());
        let inverse = self.inverse.as_slice().expect("the inverses are one contiguous block");
        let g = per_neuron.as_slice().expect("a fresh standard-layout array");
        let len = packed_len(dim);
        crate::par::for_each_chunk(out.as_slice_mut().expect("fresh arrays are contiguous"), dim, |i, o| {
            precondition_neuron(&inverse[i * len..(i + 1) * len], &g[i * dim..(i + 1) * dim], o);
        });
        out.reversed_axes().as_standard_layout().into_owned()
    }

    pub fn metric_dense(&self) -> Array3<f32> {
        let mut out = Array3::zeros((self.neurons(), self.dim, self.dim));
        for i in 0..self.neurons() {
            out.index_axis_mut(Axis(0), i).assign(&self.metric(i));
        }
        out
    }

    /// Every neuron's stored inverse as a full D×D matrix (neurons × D × D).
    pub fn inverse_dense(&self) -> Array3<f32> {
        let mut out = Array3::zeros((self.neurons(), self.dim, self.dim));
        for (i, row) in self.inverse.outer_iter().enumerate() {
            out.index_axis_mut(Axis(0), i).assign(&unpack(row, self.dim));
        }
        out
    }

    /// Replaces every stored inverse with the upper triangles of `inv`
    /// (neurons × D × D), for tests that precondition with chosen inverses.
    pub fn set_inverses(&mut self, inv: ndarray::ArrayView3<f32>) {
        assert_eq!(inv.dim(), (self.neurons(), self.dim, self.dim));
        for (gi, mut row) in inv.outer_iter().zip(self.inverse.outer_iter_mut()) {
            let mut p = 0;
            for a in 0..self.dim {
                for b in a..self.dim {
                    row[p] = gi[[a, b]];
                    p += 1;
                }
            }
        }
    }
}

/// The upper triangle `row` (row by row) as a full symmetric D×D matrix.
fn unpack(row: ndarray::ArrayView1<f32>, dim: usize) -> Array2<f32> {
    let mut g = Array2::zeros((dim, dim));
    let mut p = 0;
    for a in 0..dim {
        for b in a..dim {
            g[[a, b]] = row[p];
            g[[b, a]] = row[p];
            p += 1;
        }
    }
    g
}

/// `out = G⁻¹·g` for one neuron, from the upper triangle of its symmetric
/// inverse, packed row by row.
///
/// Row a of the triangle holds G⁻¹[a, a..]. It contributes its dot product
/// with g[a..] to out[a], and, being also column a below the diagonal, g[a]
/// times itself to out[a+1..]. Both run in one pass over the row, with eight
/// independent partial sums so that the compiler can keep them in SIMD lanes
/// (f32x4 in wasm) without reordering a float sum on its own.
/// Not inlined, so that `examples/wasm_simd.rs` can find it in the wasm build.
#[inline(never)]
pub fn precondition_neuron(inv: &[f32], g: &[f32], out: &mut [f32]) {
    let dim = g.len();
    assert!(inv.len() == packed_len(dim) && out.len() == dim, "a packed D×D inverse, and D-long vectors");
    out.fill(0.0);
    let mut start = 0;
    for a in 0..dim {
        let row = &inv[start..start + dim - a];
        start += dim - a;
        let ga = g[a];
        let (r, gt, ot) = (&row[1..], &g[a + 1..], &mut out[a + 1..]);
        let mut acc = [0.0f32; 8];
        let whole = r.len() / 8 * 8;
        for ((rc, gc), oc) in
            r[..whole].chunks_exact(8).zip(gt[..whole].chunks_exact(8)).zip(ot[..whole].chunks_exact_mut(8))
        {
            for l in 0..8 {
                acc[l] += rc[l] * gc[l];
                oc[l] += rc[l] * ga;
            }
        }
        let mut dot = acc.iter().sum::<f32>();
        for ((&v, &gb), o) in r[whole..].iter().zip(&gt[whole..]).zip(&mut ot[whole..]) {
            dot += v * gb;
            *o += v * ga;
        }
        out[a] += row[0] * ga + dot;
    }
}

/// The metric of one weight layer.
#[derive(Debug, Clone)]
pub enum LayerMetric {
    Shared(SharedMetric),
    PerNeuron(NeuronMetrics),
}

impl LayerMetric {
    pub fn refresh(&mut self, eps_rel: f64, eps_abs: f64) {
        match self {
            LayerMetric::Shared(m) => m.refresh(eps_rel, eps_abs),
            LayerMetric::PerNeuron(m) => m.refresh(eps_rel, eps_abs),
        }
    }

    pub fn precondition(&self, grad: &Array2<f32>) -> Array2<f32> {
        match self {
            LayerMetric::Shared(m) => m.precondition(grad),
            LayerMetric::PerNeuron(m) => m.precondition(grad),
        }
    }

    pub fn fallbacks(&self) -> u64 {
        match self {
            LayerMetric::Shared(m) => m.fallbacks,
            LayerMetric::PerNeuron(m) => m.fallbacks,
        }
    }

    /// Replaces the metric from its dense form (D×D shared, m×D×D per neuron).
    pub fn set_metric_dense(&mut self, g: &[f32]) {
        match self {
            LayerMetric::Shared(m) => {
                let d = m.raw.nrows();
                m.set_metric(Array2::from_shape_vec((d, d), g.to_vec()).expect("a D×D metric"));
            }
            LayerMetric::PerNeuron(m) => {
                let view = ndarray::ArrayView3::from_shape((m.neurons(), m.dim, m.dim), g).expect("m×D×D metrics");
                m.set_metrics(view);
            }
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, LayerMetric::Shared(_))
    }

    pub fn metric_dense(&self) -> ArrayD<f32> {
        match self {
            LayerMetric::Shared(m) => m.metric().into_dyn(),
            LayerMetric::PerNeuron(m) => m.metric_dense().into_dyn(),
        }
    }

    pub fn inverse_dense(&self) -> ArrayD<f32> {
        match self {
            LayerMetric::Shared(m) => m.inverse_dense().into_dyn(),
            LayerMetric::PerNeuron(m) => m.inverse_dense().into_dyn(),
        }
    }
}
