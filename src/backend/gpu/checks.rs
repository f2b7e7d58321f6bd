//! Each WGSL kernel on its own against the CPU, on random inputs: sizes that
//! are not multiples of the workgroup size, selector rows of zero, an
//! ill-conditioned metric, non-finite parameters. One body for the native
//! tests (lavapipe), the browser tests (SwiftShader) and real GPUs.
//!
//! Every check reports its error and the bound it must stay under; unless a
//! check says otherwise the error is the largest |GPU − CPU| over the largest
//! |CPU| value, and the bound 1e-5: the two sides sum the same f32 products in
//! different orders (a few units of f32 rounding, 1.2e-7, per term), and the
//! GPU's exp and tanh are within a few units of the CPU's.

use ndarray::{s, Array1, Array2, Array3, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use wgpu::util::DeviceExt;

use super::engine::{params, run_once};
use super::kernel::{act_code, gemm_groups, stride_groups, KernelId, Kernels, StepInfo};
use super::{GpuContext, GpuError};
use crate::backend::cpu;
use crate::model::mlp::{batch_norm_backward, batch_norm_train, bn_running_rate, BatchNorm, BN_EPS};
use crate::model::{loss, Activation};
use crate::optim::{AdamConfig, Momentum, Optimizer, OptimizerKind, Preconditioner, StepContext};
use crate::rng::{self, Stream};

const TOLERANCE: f64 = 1e-5;

/// One kernel on one case.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub kernel: &'static str,
    pub case: String,
    pub error: f64,
    pub bound: f64,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.error <= self.bound
    }
}

enum Data {
    F(Vec<f32>),
    U(Vec<u32>),
}

/// Uploads `data` (one buffer per binding after `Params`), runs one dispatch
/// and reads every buffer back (u32 buffers as their bits).
async fn run<P: bytemuck::Pod>(
    ctx: &GpuContext,
    kernels: &Kernels,
    id: KernelId,
    p: &P,
    data: &[Data],
    groups: (u32, u32, u32),
    step: StepInfo,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let bufs: Vec<wgpu::Buffer> = data
        .iter()
        .map(|d| {
            let contents: &[u8] = match d {
                Data::F(v) => bytemuck::cast_slice(v),
                Data::U(v) => bytemuck::cast_slice(v),
            };
            ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("check"),
                contents,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            })
        })
        .collect();
    let refs: Vec<&wgpu::Buffer> = bufs.iter().collect();
    let d = kernels.dispatch(&ctx.device, id, p, &refs, groups);
    run_once(ctx, kernels, &[d], step);
    ctx.read_many(&refs).await
}

fn rel(cpu: &[f32], gpu: &[f32]) -> f64 {
    assert_eq!(cpu.len(), gpu.len());
    let diff = cpu.iter().zip(gpu).map(|(c, g)| (*c as f64 - *g as f64).abs()).fold(0.0, f64::max);
    let scale = cpu.iter().map(|c| (*c as f64).abs()).fold(0.0, f64::max);
    if diff == 0.0 {
        0.0
    } else {
        diff / scale.max(f64::MIN_POSITIVE)
    }
}

fn uniform(r: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| r.random_range(lo..hi)).collect()
}

fn check(kernel: &'static str, case: impl Into<String>, error: f64) -> Check {
    Check { kernel, case: case.into(), error, bound: TOLERANCE }
}

const ACTIVATIONS: [Activation; 5] = [
    Activation::Relu,
    Activation::Prelu { leak: 0.2 },
    Activation::Elu { alpha: 0.7 },
    Activation::Tanh,
    Activation::Sigmoid,
];

/// Every kernel check.
pub async fn all(ctx: &GpuContext) -> Result<Vec<Check>, GpuError> {
    let k = Kernels::new(&ctx.device);
    let mut r = rng::stream(42, Stream::Test);
    let mut out = Vec::new();
    out.extend(gather(ctx, &k, &mut r).await?);
    out.extend(gemm(ctx, &k, &mut r).await?);
    out.extend(activations(ctx, &k, &mut r).await?);
    out.extend(batch_norm(ctx, &k, &mut r).await?);
    out.extend(softmax_and_loss(ctx, &k, &mut r).await?);
    out.extend(metric_update(ctx, &k, &mut r).await?);
    out.extend(precondition(ctx, &k, &mut r).await?);
    out.extend(apply(ctx, &k, &mut r).await?);
    Ok(out)
}

async fn gather(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    for rows in [7usize, 70] {
        let (n, pixels, offset) = (9usize, 13usize, 5usize);
        let images = uniform(r, n * pixels, 0.0, 1.0);
        let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..10)).collect();
        let order: Vec<u32> = (0..offset + rows).map(|_| r.random_range(0..n as u32)).collect();
        let p = params::Gather { rows: rows as u32, pixels: pixels as u32, ..Default::default() };
        let step = StepInfo { index_offset: offset as u32, ..Default::default() };
        let data = [
            Data::F(images.clone()),
            Data::U(labels.clone()),
            Data::U(order.clone()),
            Data::F(vec![0.0; rows * (pixels + 1)]),
            Data::U(vec![0; rows]),
        ];
        let got = run(ctx, k, KernelId::Gather, &p, &data, stride_groups(rows * (pixels + 1)), step).await?;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for &i in &order[offset..] {
            x.extend(&images[i as usize * pixels..(i as usize + 1) * pixels]);
            x.push(1.0);
            y.push(labels[i as usize]);
        }
        let got_y: Vec<u32> = bytemuck::cast_slice(&got[4]).to_vec();
        let error = rel(&x, &got[3]) + if got_y == y { 0.0 } else { 1.0 };
        out.push(Check { bound: 0.0, ..check("gather", format!("{rows} rows"), error) });
    }
    Ok(out)
}

async fn gemm(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    // (m, n, k, A transposed, B transposed, L2 mode)
    for &(m, n, kk, ta, tb, l2) in &[
        (1usize, 1usize, 1usize, false, false, false),
        (37, 13, 29, false, false, false),
        (33, 65, 50, true, false, true),
        (50, 31, 17, false, true, false),
        (70, 9, 130, true, true, true),
    ] {
        let (a_off, b_off, c_off) = (3usize, 5usize, 2usize);
        let a = uniform(r, a_off + m * kk, -1.0, 1.0);
        let b = uniform(r, b_off + kk * n, -1.0, 1.0);
        let w = uniform(r, c_off + m * n, -1.0, 1.0);
        let at = |i: usize, j: usize| a[a_off + if ta { j * m + i } else { i * kk + j }] as f64;
        let bt = |i: usize, j: usize| b[b_off + if tb { j * kk + i } else { i * n + j }] as f64;
        let (decay_rows, l2v) = (m / 2, 0.01f32);
        let mut want = vec![0f32; c_off + m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc: f64 = (0..kk).map(|t| at(i, t) * bt(t, j)).sum();
                if l2 && i < decay_rows {
                    acc += l2v as f64 * w[c_off + i * n + j] as f64;
                }
                want[c_off + i * n + j] = acc as f32;
            }
        }
        let p = params::Gemm {
            m: m as u32,
            n: n as u32,
            k: kk as u32,
            mode: u32::from(l2),
            a_off: a_off as u32,
            a_rs: if ta { 1 } else { kk as u32 },
            a_cs: if ta { m as u32 } else { 1 },
            b_off: b_off as u32,
            b_rs: if tb { 1 } else { n as u32 },
            b_cs: if tb { kk as u32 } else { 1 },
            c_off: c_off as u32,
            c_rs: n as u32,
            w_off: c_off as u32,
            decay_rows: decay_rows as u32,
            l2: l2v,
            pad: 0,
        };
        let data = [Data::F(a), Data::F(b), Data::F(vec![0.0; c_off + m * n]), Data::F(w)];
        let got = run(ctx, k, KernelId::Gemm, &p, &data, gemm_groups(m, n), StepInfo::default()).await?;
        let case = format!(
            "{m}×{kk} · {kk}×{n}{}{}{}",
            if ta { ", Aᵀ" } else { "" },
            if tb { ", Bᵀ" } else { "" },
            if l2 { ", +L2" } else { "" }
        );
        out.push(check("gemm", case, rel(&want[c_off..], &got[2][c_off..])));
    }
    Ok(out)
}

async fn activations(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    let (rows, width, omega) = (70usize, 9usize, 1.0f64);
    for act in ACTIVATIONS {
        let mut z = uniform(r, rows * width, -6.0, 6.0);
        z[0] = 30.0;
        z[1] = -30.0;
        z[2] = 0.0;
        let (kind, param) = act_code(act);
        let p = params::ActivationForward {
            rows: rows as u32,
            width: width as u32,
            kind,
            write_nu: 1,
            param,
            omega: omega as f32,
            ..Default::default()
        };
        let data = [Data::F(z.clone()), Data::F(vec![0.0; rows * (width + 1)]), Data::F(vec![0.0; rows * width])];
        let got = run(ctx, k, KernelId::ActivationForward, &p, &data, stride_groups(rows * width), StepInfo::default())
            .await?;
        let mut h = Vec::new();
        for row in z.chunks(width) {
            h.extend(row.iter().map(|&t| act.f(t)));
            h.push(1.0);
        }
        let nu: Vec<f32> = z.iter().map(|&t| act.nu(t, omega)).collect();
        out.push(check("activation_forward", format!("{} f", act.name()), rel(&h, &got[1])));
        out.push(check("activation_forward", format!("{} ν", act.name()), rel(&nu, &got[2])));

        let dh = uniform(r, rows * width, -1.0, 1.0);
        let p = params::ActivationBackward { count: (rows * width) as u32, kind, param, pad: 0 };
        let data = [Data::F(z.clone()), Data::F(dh.clone()), Data::F(vec![0.0; rows * width])];
        let got =
            run(ctx, k, KernelId::ActivationBackward, &p, &data, stride_groups(rows * width), StepInfo::default())
                .await?;
        let dz: Vec<f32> = z.iter().zip(&dh).map(|(&t, &d)| d * act.df(t)).collect();
        out.push(check("activation_backward", act.name(), rel(&dz, &got[2])));
    }
    Ok(out)
}

async fn batch_norm(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    for (rows, width, act) in
        [(70usize, 5usize, Activation::Relu), (3, 4, Activation::Tanh), (130, 3, Activation::Elu { alpha: 1.0 })]
    {
        let (kind, param) = act_code(act);
        let z = uniform(r, rows * width, -2.0, 2.0);
        let za = Array2::from_shape_vec((rows, width), z.clone()).unwrap();
        let bn = BatchNorm {
            scale: Array2::from_shape_vec((1, width), uniform(r, width, 0.5, 1.5)).unwrap(),
            shift: Array2::from_shape_vec((1, width), uniform(r, width, -0.5, 0.5)).unwrap(),
            running_mean: Array1::from(uniform(r, width, -0.2, 0.2)),
            running_var: Array1::from(uniform(r, width, 0.5, 1.5)),
            updates: 2,
        };
        // The arena: scale at 1, shift after it.
        let mut arena = vec![0.0f32];
        arena.extend(bn.scale.iter());
        arena.extend(bn.shift.iter());
        let (scale_off, shift_off) = (1u32, 1 + width as u32);
        let running: Vec<f32> = bn.running_mean.iter().chain(bn.running_var.iter()).copied().collect();
        let case = format!("{rows} rows × {width}, {}", act.name());

        // Training mode.
        let p = params::BatchNormTrain {
            rows: rows as u32,
            width: width as u32,
            kind,
            write_nu: 1,
            param,
            omega: 1.0,
            eps: BN_EPS as f32,
            scale_off,
            shift_off,
            ..Default::default()
        };
        let data = [
            Data::F(z.clone()),
            Data::F(arena.clone()),
            Data::F(vec![0.0; rows * (width + 1)]),
            Data::F(vec![0.0; rows * width]),
            Data::F(vec![0.0; 3 * width]),
            Data::F(running.clone()),
            Data::F(vec![0.0; rows * width]),
        ];
        // The third update, whose rate is neither the first's 1 nor the limit 1 − m.
        let step = StepInfo { step: 3, bn_rate: bn_running_rate(3) as f32, ..StepInfo::default() };
        let got = run(ctx, k, KernelId::BatchNormTrain, &p, &data, (width as u32, 1, 1), step).await?;
        let (o, cache) = batch_norm_train(&bn, za.mapv(|t| act.f(t)));
        let mut h = Vec::new();
        for row in o.outer_iter() {
            h.extend(row.iter());
            h.push(1.0);
        }
        let stats: Vec<f32> = cache.mean.iter().chain(cache.var.iter()).chain(cache.inv_std.iter()).copied().collect();
        let (a, n) = (bn_running_rate(3) as f32, rows as f32);
        let correction = if rows > 1 { n / (n - 1.0) } else { 1.0 };
        let mut run_want = running.clone();
        for j in 0..width {
            run_want[j] = (1.0 - a) * run_want[j] + a * cache.mean[j];
            run_want[width + j] = (1.0 - a) * run_want[width + j] + a * cache.var[j] * correction;
        }
        out.push(check("batchnorm_train", format!("{case}: output"), rel(&h, &got[2])));
        out.push(check("batchnorm_train", format!("{case}: x̂"), rel(cache.xhat.as_slice().unwrap(), &got[3])));
        out.push(check("batchnorm_train", format!("{case}: statistics"), rel(&stats, &got[4])));
        out.push(check("batchnorm_train", format!("{case}: running statistics"), rel(&run_want, &got[5])));

        // Evaluation mode.
        let p = params::BatchNormEval {
            rows: rows as u32,
            width: width as u32,
            kind,
            param,
            eps: BN_EPS as f32,
            scale_off,
            shift_off,
            ..Default::default()
        };
        let data = [
            Data::F(z.clone()),
            Data::F(arena.clone()),
            Data::F(running.clone()),
            Data::F(vec![0.0; rows * (width + 1)]),
        ];
        let got_eval =
            run(ctx, k, KernelId::BatchNormEval, &p, &data, stride_groups(rows * width), StepInfo::default()).await?;
        let mut want = Vec::new();
        for row in za.outer_iter() {
            for j in 0..width {
                let inv_std = 1.0 / (bn.running_var[j] + BN_EPS as f32).sqrt();
                want.push((act.f(row[j]) - bn.running_mean[j]) * inv_std * bn.scale[[0, j]] + bn.shift[[0, j]]);
            }
            want.push(1.0);
        }
        out.push(check("batchnorm_eval", case.clone(), rel(&want, &got_eval[3])));

        // Backward, from the training pass's cache.
        let dh = uniform(r, rows * width, -1.0, 1.0);
        let p = params::BatchNormBackward {
            rows: rows as u32,
            width: width as u32,
            kind,
            param,
            scale_off,
            shift_off,
            ..Default::default()
        };
        let data = [
            Data::F(dh.clone()),
            Data::F(cache.xhat.as_slice().unwrap().to_vec()),
            Data::F(stats.clone()),
            Data::F(arena.clone()),
            Data::F(z.clone()),
            Data::F(vec![0.0; rows * width]),
            Data::F(vec![0.0; arena.len()]),
        ];
        let got =
            run(ctx, k, KernelId::BatchNormBackward, &p, &data, (width as u32, 1, 1), StepInfo::default()).await?;
        let (da, dscale, dshift) = batch_norm_backward(&bn, &cache, Array2::from_shape_vec((rows, width), dh).unwrap());
        let dz: Vec<f32> = da.iter().zip(&z).map(|(&d, &t)| d * act.df(t)).collect();
        let grads: Vec<f32> = dscale.iter().chain(dshift.iter()).copied().collect();
        out.push(check("batchnorm_backward", format!("{case}: dz"), rel(&dz, &got[5])));
        out.push(check("batchnorm_backward", format!("{case}: scale and shift"), rel(&grads, &got[6][1..])));
    }
    Ok(out)
}

async fn softmax_and_loss(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    let (rows, classes) = (70usize, 10usize);
    let mut z = uniform(r, rows * classes, -5.0, 5.0);
    z[3] = 1000.0; // exp would overflow without the max shift
    z[15] = -1000.0;
    let labels: Vec<u8> = (0..rows).map(|_| r.random_range(0..classes as u8)).collect();
    let p = params::SoftmaxXent { rows: rows as u32, classes: classes as u32, write_grad: 1, pad: 0 };
    let data = [
        Data::F(z.clone()),
        Data::U(labels.iter().map(|&l| l as u32).collect()),
        Data::F(vec![0.0; rows * classes]),
        Data::F(vec![0.0; rows * 2]),
    ];
    let got =
        run(ctx, k, KernelId::SoftmaxXent, &p, &data, (rows.div_ceil(64) as u32, 1, 1), StepInfo::default()).await?;
    let za = Array2::from_shape_vec((rows, classes), z).unwrap();
    let mut row_out = Vec::new();
    let pred = loss::argmax_rows(za.view());
    for kk in 0..rows {
        let (ce, _) = loss::cross_entropy(za.slice(s![kk..kk + 1, ..]), &labels[kk..kk + 1]);
        row_out.push(ce);
        row_out.push(if pred[kk] == labels[kk] as usize { 1.0 } else { 0.0 });
    }
    let (_, probs) = loss::cross_entropy(za.view(), &labels);
    let dz = loss::cross_entropy_grad(&probs, &labels);
    out.push(check("softmax_xent", "70 rows: loss and hits", rel(&row_out, &got[3])));
    out.push(check("softmax_xent", "70 rows: gradient", rel(dz.as_slice().unwrap(), &got[2])));

    // The loss sums: more rows than the workgroup, some not counted, two layers' weights.
    let (rows, valid) = (300usize, 290usize);
    let row_out = uniform(r, rows * 2, 0.0, 3.0);
    let params_arena = uniform(r, 200, -1.0, 1.0);
    let table: Vec<u32> = vec![0, 7, 11, 100, 9, 10]; // offset, d_in, d_out: 8×11 and 10×10 matrices
    let p = params::Loss { layers: 2, with_l2: 1, ..Default::default() };
    let step = StepInfo { slot: 1, valid: valid as u32, ..Default::default() };
    let data = [Data::F(row_out.clone()), Data::F(params_arena.clone()), Data::U(table), Data::F(vec![0.0; 8])];
    let got = run(ctx, k, KernelId::Loss, &p, &data, (1, 1, 1), step).await?;
    let ce: f64 = row_out.chunks(2).take(valid).map(|c| c[0] as f64).sum();
    let hits: f64 = row_out.chunks(2).take(valid).map(|c| c[1] as f64).sum();
    let w2: f64 = params_arena[..77].iter().chain(&params_arena[100..190]).map(|&v| (v as f64).powi(2)).sum();
    let want = [ce as f32, hits as f32, w2 as f32, valid as f32];
    out.push(check("loss", "300 rows, 290 counted, slot 1", rel(&want, &got[3][4..8])));
    Ok(out)
}

async fn metric_update(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    let lambda = 0.05;
    // (dim, batch, neurons, shared): sizes off the 32-entry blocks, a single
    // neuron, the paper's hidden layer (81, 50, 80), and one shared metric.
    for &(dim, batch, neurons, shared) in &[
        (1usize, 1usize, 1usize, false),
        (17, 5, 3, false),
        (40, 130, 4, false),
        (81, 50, 80, false),
        (45, 20, 1, true),
    ] {
        let (mut g, h, mut nu) = crate::backend::selftest::random_problem(dim, batch, neurons, r.random());
        // Samples whose selectors are all zero (a ReLU layer dead on them) must add nothing.
        for kk in (0..batch).step_by(3) {
            nu.row_mut(kk).fill(0.0);
        }
        if shared {
            nu.fill(1.0);
        }
        let p = params::MetricUpdate {
            batch: batch as u32,
            dim: dim as u32,
            neurons: neurons as u32,
            lambda,
            one_metric: u32::from(shared),
            ..Default::default()
        };
        let data = [
            Data::F(h.as_slice().unwrap().to_vec()),
            Data::F(if shared { vec![0.0; 4] } else { nu.as_slice().unwrap().to_vec() }),
            Data::F(g.as_slice().unwrap().to_vec()),
        ];
        let tiles = gemm_groups(dim, dim).0;
        let got =
            run(ctx, k, KernelId::MetricUpdate, &p, &data, (tiles, tiles, neurons as u32), StepInfo::default()).await?;
        cpu::metric_update(&mut g, h.view(), nu.view(), lambda);
        let case = if shared {
            format!("D {dim}, batch {batch}, one shared metric (ν = 1)")
        } else {
            format!("D {dim}, batch {batch}, {neurons} neuron(s), ν = 0 on every third sample")
        };
        out.push(check("metric_update", case, rel(g.as_slice().unwrap(), &got[2])));
    }
    Ok(out)
}

/// An ill-conditioned metric: eigenvalues log-spaced over four decades.
async fn precondition(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let (dim, neurons) = (37usize, 5usize);
    let mut inverse = Array3::<f32>::zeros((neurons, dim, dim));
    for i in 0..neurons {
        let q = crate::linalg::orthonormal_basis(&Array2::from_shape_fn((dim, dim), |_| r.random_range(-1.0..1.0)));
        let vals = Array1::from_shape_fn(dim, |a| 10f64.powf(-4.0 * a as f64 / (dim - 1) as f64));
        let g = (&q * &vals.view().insert_axis(Axis(0))).dot(&q.t()).mapv(|v| v as f32);
        let eps = 1e-4 * g.diag().sum() as f64; // RNGD's damping
        inverse.index_axis_mut(Axis(0), i).assign(&crate::linalg::spd_inverse(g.view(), eps).expect("damped SPD"));
    }
    let grad = Array2::from_shape_fn((dim, neurons), |_| r.random_range(-1.0f32..1.0));
    let off = 3usize;
    let mut arena = vec![0.0f32; off];
    arena.extend(grad.iter());
    let p = params::Precondition { dim: dim as u32, neurons: neurons as u32, off: off as u32, pad: 0 };
    let data = [Data::F(inverse.as_slice().unwrap().to_vec()), Data::F(arena.clone()), Data::F(vec![0.0; arena.len()])];
    let got = run(
        ctx,
        k,
        KernelId::Precondition,
        &p,
        &data,
        (dim.div_ceil(64) as u32, neurons as u32, 1),
        StepInfo::default(),
    )
    .await?;
    let mut metrics = crate::optim::rngd::NeuronMetrics::identity(neurons, dim);
    metrics.set_inverses(inverse.view());
    let want = metrics.precondition(&grad);
    // With a condition number near 10⁴ the products cancel heavily, so the
    // error is measured against the f32 rounding bound of each product,
    // D·u·Σ_b |G⁻¹_ab g_b| per backend, twice that for their difference.
    let mut worst = 0f64;
    for i in 0..neurons {
        for a in 0..dim {
            let mag: f64 = (0..dim).map(|b| (inverse[[i, a, b]] as f64 * grad[[b, i]] as f64).abs()).sum();
            let bound = 2.0 * dim as f64 * f32::EPSILON as f64 / 2.0 * mag;
            let diff = (want[[a, i]] as f64 - got[2][off + a * neurons + i] as f64).abs();
            worst = worst.max(diff / bound.max(f64::MIN_POSITIVE));
        }
    }
    Ok(vec![Check {
        kernel: "precondition",
        case: format!("D {dim}, {neurons} neurons, condition 10⁴, as a fraction of the f32 rounding bound"),
        error: worst,
        bound: 1.0,
    }])
}

async fn apply(ctx: &GpuContext, k: &Kernels, r: &mut ChaCha8Rng) -> Result<Vec<Check>, GpuError> {
    let mut out = Vec::new();
    let shapes = [(5usize, 40usize), (1, 50), (1, 50)];
    let total: usize = shapes.iter().map(|(a, b)| a * b).sum();
    let split = |v: &[f32]| -> Vec<Array2<f32>> {
        let mut at = 0;
        shapes
            .iter()
            .map(|&(a, b)| {
                let m = Array2::from_shape_vec((a, b), v[at..at + a * b].to_vec()).unwrap();
                at += a * b;
                m
            })
            .collect()
    };
    let flat = |v: &[Array2<f32>]| -> Vec<f32> { v.iter().flat_map(|m| m.iter().copied()).collect() };
    let step_no = 3u32;
    for (name, kind, momentum, weight_decay, rngd) in [
        ("sgd", OptimizerKind::Sgd, None, 0.0, false),
        ("sgd, momentum 0.9, weight decay 0.01", OptimizerKind::Sgd, Some(0.9f32), 0.01f32, false),
        ("adam at step 3", OptimizerKind::Adam, None, 0.0, false),
        ("rngd's updates on the weights, plain gradient on batch norm", OptimizerKind::Rngd, Some(0.5), 0.0, true),
    ] {
        let params0 = uniform(r, total, -1.0, 1.0);
        let grads = uniform(r, total, -1.0, 1.0);
        let upd = uniform(r, total, -1.0, 1.0);
        let (m1, m2, vel) = (uniform(r, total, -0.1, 0.1), uniform(r, total, 0.0, 0.01), uniform(r, total, -0.1, 0.1));
        let lr = 0.05f32;
        let adam_cfg = AdamConfig::default();
        // The CPU reference: the crate's own optimizer pipeline.
        let mut adam = adam_cfg.init(&shapes);
        adam.m = split(&m1);
        adam.v = split(&m2);
        adam.t = step_no as i32 - 1;
        let mut mom = momentum.map(|mu| Momentum::new(mu, &shapes));
        if let Some(m) = &mut mom {
            m.velocity = split(&vel);
        }
        let mut opt = Optimizer {
            kind,
            lr,
            preconditioner: if kind == OptimizerKind::Adam {
                Preconditioner::Adam(adam)
            } else {
                Preconditioner::Identity
            },
            momentum: mom,
            weight_decay,
        };
        let weights_end = 200;
        let cpu_grads = if rngd { [&upd[..weights_end], &grads[weights_end..]].concat() } else { grads.clone() };
        let mut ps = split(&params0);
        let forward = crate::model::Forward { inputs: vec![], pre: vec![], bn: vec![] };
        let ctx_step = StepContext { forward: &forward, weight_layers: 1, activation: Activation::Relu };
        opt.step(&mut ps.iter_mut().collect::<Vec<_>>(), split(&cpu_grads), &ctx_step);

        let (c1, c2) =
            (1.0 - (adam_cfg.beta1 as f32).powi(step_no as i32), 1.0 - (adam_cfg.beta2 as f32).powi(step_no as i32));
        let p = params::Apply {
            count: total as u32,
            precond_end: if rngd { weights_end as u32 } else { 0 },
            adam: u32::from(kind == OptimizerKind::Adam),
            momentum_on: u32::from(momentum.is_some()),
            lr,
            weight_decay,
            beta1: adam_cfg.beta1 as f32,
            beta2: adam_cfg.beta2 as f32,
            eps: adam_cfg.eps as f32,
            mu: momentum.unwrap_or(0.0),
            ..Default::default()
        };
        let step = StepInfo { step: step_no, c1, c2, ..Default::default() };
        let data = [
            Data::F(params0.clone()),
            Data::F(grads.clone()),
            Data::F(upd.clone()),
            Data::F(m1.clone()),
            Data::F(m2.clone()),
            Data::F(vel.clone()),
            Data::U(vec![u32::MAX]),
        ];
        let got = run(ctx, k, KernelId::Apply, &p, &data, stride_groups(total), step).await?;
        let mut error = rel(&flat(&ps), &got[0]);
        if let Preconditioner::Adam(a) = &opt.preconditioner {
            error = error.max(rel(&flat(&a.m), &got[3])).max(rel(&flat(&a.v), &got[4]));
        }
        if let Some(m) = &opt.momentum {
            error = error.max(rel(&flat(&m.velocity), &got[5]));
        }
        let flag = bytemuck::cast_slice::<f32, u32>(&got[6])[0];
        out.push(check("apply", name, error + if flag == u32::MAX { 0.0 } else { 1.0 }));
    }
    // A gradient that makes a parameter infinite records the step in the flag.
    let mut grads = vec![0.0f32; 130];
    grads[77] = f32::INFINITY;
    let p = params::Apply { count: 130, lr: 0.1, ..Default::default() };
    let step = StepInfo { step: 9, c1: 1.0, c2: 1.0, ..Default::default() };
    let data = [
        Data::F(vec![1.0; 130]),
        Data::F(grads),
        Data::F(vec![0.0; 4]),
        Data::F(vec![0.0; 4]),
        Data::F(vec![0.0; 4]),
        Data::F(vec![0.0; 4]),
        Data::U(vec![u32::MAX]),
    ];
    let got = run(ctx, k, KernelId::Apply, &p, &data, stride_groups(130), step).await?;
    let flag = bytemuck::cast_slice::<f32, u32>(&got[6])[0];
    out.push(Check {
        bound: 0.0,
        ..check("apply", "an infinite parameter flags its step", if flag == 9 { 0.0 } else { 1.0 })
    });
    Ok(out)
}
