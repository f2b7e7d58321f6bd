//! The GPU training engine: the whole training step of SGD, Adam and RNGD as
//! recorded WGSL dispatches over buffers that stay on the device.
//!
//! - The training and test sets are uploaded once; each minibatch is gathered
//!   on the GPU from the seeded row order the host uploads per call.
//! - Every pipeline, bind group and buffer is made in [`GpuEngine::new`];
//!   a step only replays dispatches. Up to [`MAX_CHUNK`] steps go into one
//!   submission, each reading its own [`StepInfo`] through a dynamic offset.
//! - Per call only the loss sums and the divergence flag come back. Metrics,
//!   weights and activations are read only when asked for ([`GpuEngine::download`]).
//! - RNGD's inverses are computed on the host in f64, every T steps, from the
//!   metrics read back then (see [`GpuEngine::refresh`] for why).

mod buffers;
mod layout;
pub mod params;
mod run;

use ndarray::Array2;

use super::kernel::{act_code, gemm_groups, stride_groups, Dispatch, KernelId, Kernels, StepInfo, STEP_STRIDE};
use super::{GpuContext, GpuError};
use crate::config::TrainConfig;
use crate::data::{Dataset, CLASSES, PIXELS};
use crate::model::{mlp, Arch, Forward, Mlp};
use crate::optim::{AdamConfig, MetricTracker, Optimizer, Preconditioner, Rngd};
use buffers::{Activations, Alloc};
pub use layout::Arena;

/// Steps encoded into one submission at most (and slots in the step buffers).
pub const MAX_CHUNK: usize = 64;
/// Test rows evaluated per chunk, as on the CPU.
pub const EVAL_ROWS: usize = 500;

/// What a run of steps produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StepsOutcome {
    /// The training loss (with the L2 term) of each step, in order.
    pub losses: Vec<f64>,
    /// The first step (1-based) whose loss or parameters stopped being finite, and that loss.
    pub diverged: Option<(u64, f64)>,
}

/// The device state copied back to the host.
pub struct HostState {
    params: Vec<f32>,
    running: Vec<Vec<f32>>,
    moments: Option<(Vec<f32>, Vec<f32>)>,
    velocity: Option<Vec<f32>>,
    metrics: Vec<Vec<f32>>,
    forward: Option<(Vec<Vec<f32>>, Vec<Vec<f32>>)>,
}

struct Optim {
    adam: Option<AdamConfig>,
    /// The host's copy of RNGD's metrics, for the refresh (f64 inverses) and its counters.
    rngd: Option<Rngd>,
    /// SGD and Adam: steps between updates of the metric tracked read-only
    /// (the same metric-update kernels as RNGD's, never inverted or used to step).
    track_every: Option<u32>,
}

pub struct GpuEngine {
    pub ctx: GpuContext,
    sizes: Vec<usize>,
    batch: usize,
    l2: f32,
    arena: Arena,
    optim: Optim,
    params: wgpu::Buffer,
    running: Vec<wgpu::Buffer>,
    moments: Option<(wgpu::Buffer, wgpu::Buffer)>,
    velocity: Option<wgpu::Buffer>,
    bad: wgpu::Buffer,
    metrics: Vec<wgpu::Buffer>,
    inverses: Vec<wgpu::Buffer>,
    train: Activations,
    indices: wgpu::Buffer,
    steps: wgpu::Buffer,
    step_group: wgpu::BindGroup,
    eval_group: wgpu::BindGroup,
    results: wgpu::Buffer,
    eval_results: wgpu::Buffer,
    result_staging: wgpu::Buffer,
    eval_chunks: usize,
    /// Every storage buffer made, label and bytes, in order (what
    /// `crate::memory::gpu_buffers` plans before a device is opened).
    buffers: Vec<(String, u64)>,
    forward_backward: Vec<Dispatch>,
    metric_updates: Vec<Dispatch>,
    update: Vec<Dispatch>,
    evaluation: Vec<Dispatch>,
}

/// True when layer `l` of `layers` keeps one metric per neuron (RNGD.md §5, step 1).
fn per_neuron(l: usize, layers: usize) -> bool {
    l > 0 && l + 1 < layers
}

fn u(x: usize) -> u32 {
    u32::try_from(x).expect("sizes are validated far below u32::MAX")
}

impl GpuEngine {
    /// Uploads the data set and the run's current state, and records every
    /// dispatch. `tracked` is the read-only metric of an SGD or Adam run.
    pub fn new(
        ctx: GpuContext,
        config: &TrainConfig,
        data: &Dataset,
        net: &Mlp<f32>,
        optimizer: &Optimizer,
        tracked: Option<&MetricTracker>,
    ) -> Result<GpuEngine, GpuError> {
        let sizes = net.sizes();
        let layers = sizes.len() - 1;
        let batch = config.batch;
        let a = Alloc::new(&ctx);
        let arena = Arena::of(net);
        let bna = config.arch == Arch::Bna;
        let rngd_state = optimizer.rngd();
        // The metrics learnt on the device: RNGD's, or the tracked ones of SGD and Adam.
        let metric_state = rngd_state.or(tracked.map(MetricTracker::as_rngd));

        // The largest buffers first, so a network too big fails before anything is made.
        let mut metrics = Vec::new();
        let mut inverses = Vec::new();
        if let Some(r) = metric_state {
            for l in 0..layers {
                let (d, m) = (sizes[l] + 1, sizes[l + 1]);
                let what = if per_neuron(l, layers) {
                    format!("layer {l}'s per-neuron metrics ({m} neurons × {d}² floats)")
                } else {
                    format!("layer {l}'s shared metric ({d}² floats)")
                };
                let g = r.metric_dense(l);
                metrics.push(a.init(&what, g.as_standard_layout().as_slice().expect("standard layout"))?);
                if rngd_state.is_none() {
                    continue;
                }
                let inv = r.inverse_dense(l);
                inverses.push(a.init(
                    &format!("the inverse of {what}"),
                    inv.as_standard_layout().as_slice().expect("standard layout"),
                )?);
            }
        }
        let train_images =
            a.init("the training images", data.train.images.as_standard_layout().as_slice().expect("contiguous"))?;
        let test_images =
            a.init("the test images", data.test.images.as_standard_layout().as_slice().expect("contiguous"))?;
        let labels = |s: &[u8]| s.iter().map(|&v| v as u32).collect::<Vec<u32>>();
        let train_labels = a.init("the training labels", &labels(&data.train.labels))?;
        let test_labels = a.init("the test labels", &labels(&data.test.labels))?;

        let params = a.init("the parameters", &arena.gather(net))?;
        let grads = a.zeros("the gradients", arena.total)?;
        let upd = if rngd_state.is_some() { a.zeros("RNGD's updates", arena.total)? } else { a.unused() };
        let moments = match &optimizer.preconditioner {
            Preconditioner::Adam(adam) => Some((
                a.init("Adam's first moments", &flat(&adam.m))?,
                a.init("Adam's second moments", &flat(&adam.v))?,
            )),
            _ => None,
        };
        let velocity = match &optimizer.momentum {
            Some(m) => Some(a.init("the momentum", &flat(&m.velocity))?),
            None => None,
        };
        let bad = a.init("the divergence flag", &[u32::MAX])?;
        let running = net
            .bn
            .iter()
            .enumerate()
            .map(|(j, bn)| {
                let stats: Vec<f32> = bn.running_mean.iter().chain(bn.running_var.iter()).copied().collect();
                a.init(&format!("batch norm {j}'s running statistics"), &stats)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let layout: Vec<u32> =
            (0..layers).flat_map(|l| [u(arena.weight_offset(l)), u(sizes[l]), u(sizes[l + 1])]).collect();
        let layout = a.init("the layer layout", &layout)?;

        let train = Activations::new(&a, &sizes, batch, true)?;
        let test_len = data.test.len();
        let eval_rows = EVAL_ROWS.min(test_len);
        let eval = Activations::new(&a, &sizes, eval_rows, false)?;
        let eval_chunks = test_len.div_ceil(eval_rows);
        // Padding rows point at row 0; the loss kernel counts only `valid` rows.
        let test_order: Vec<u32> = (0..eval_chunks * eval_rows).map(|i| if i < test_len { u(i) } else { 0 }).collect();
        let test_order = a.init("the test order", &test_order)?;
        let indices = a.zeros("the minibatch rows", MAX_CHUNK * batch)?;
        let results = a.zeros("the step losses", MAX_CHUNK * 4)?;
        let eval_results = a.zeros("the evaluation sums", eval_chunks * 4)?;
        let steps = a.steps("step uniforms", MAX_CHUNK);
        let eval_steps = a.steps("evaluation uniforms", eval_chunks);
        for c in 0..eval_chunks {
            let info = StepInfo {
                index_offset: u(c * eval_rows),
                slot: u(c),
                valid: u(eval_rows.min(test_len - c * eval_rows)),
                ..StepInfo::default()
            };
            ctx.queue.write_buffer(&eval_steps, c as u64 * STEP_STRIDE, bytemuck::bytes_of(&info));
        }

        let kernels = Kernels::new(&ctx.device);
        let dev = &ctx.device;
        let (kind, param) = act_code(config.activation);
        let omega = config.rngd.omega as f32;
        let bn_eps = mlp::BN_EPS as f32;

        // ---- forward pass, loss, backward pass --------------------------------------
        let nus: Vec<Option<wgpu::Buffer>> = (0..layers)
            .map(|l| {
                (metric_state.is_some() && per_neuron(l, layers))
                    .then(|| a.zeros(&format!("layer {l}'s selectors"), batch * sizes[l + 1]))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        let mut bn_cache = Vec::new(); // (xhat, stats) per hidden layer under BNA
        if bna {
            for (j, &w) in sizes[1..layers].iter().enumerate() {
                bn_cache
                    .push((a.zeros(&format!("batch norm {j}'s x̂"), batch * w)?, a.zeros("batch statistics", 3 * w)?));
            }
        }
        let dh: Vec<Option<wgpu::Buffer>> = (0..layers)
            .map(|l| (l > 0).then(|| a.zeros(&format!("layer {l}'s input gradient"), batch * sizes[l])).transpose())
            .collect::<Result<_, _>>()?;

        let forward = |acts: &Activations,
                       images: &wgpu::Buffer,
                       labels: &wgpu::Buffer,
                       order: &wgpu::Buffer,
                       training: bool| {
            let rows = acts.rows;
            let mut list = vec![kernels.dispatch(
                dev,
                KernelId::Gather,
                &params::Gather { rows: u(rows), pixels: u(PIXELS), ..Default::default() },
                &[images, labels, order, &acts.xt[0], &acts.labels],
                stride_groups(rows * (PIXELS + 1)),
            )];
            for l in 0..layers {
                let (d_in, d_out) = (sizes[l], sizes[l + 1]);
                let mut g = params::Gemm::plain(rows, d_out, d_in + 1);
                g.b_off = u(arena.weight_offset(l));
                list.push(kernels.dispatch(
                    dev,
                    KernelId::Gemm,
                    &g,
                    &[&acts.xt[l], &params, &acts.z[l], &params],
                    gemm_groups(rows, d_out),
                ));
                if l + 1 == layers {
                    break;
                }
                let unused = a.unused();
                let nu = if training { nus[l].as_ref().unwrap_or(&unused) } else { &unused };
                let write_nu = u32::from(training && nus[l].is_some());
                if bna {
                    let (scale_off, shift_off) = arena.bn_offsets(l);
                    if training {
                        let (xhat, stats) = &bn_cache[l];
                        list.push(kernels.dispatch(
                            dev,
                            KernelId::BatchNormTrain,
                            &params::BatchNormTrain {
                                rows: u(rows),
                                width: u(d_out),
                                kind,
                                write_nu,
                                param,
                                omega,
                                eps: bn_eps,
                                scale_off: u(scale_off),
                                shift_off: u(shift_off),
                                ..Default::default()
                            },
                            &[&acts.z[l], &params, &acts.xt[l + 1], xhat, stats, &running[l], nu],
                            (u(d_out), 1, 1),
                        ));
                    } else {
                        list.push(kernels.dispatch(
                            dev,
                            KernelId::BatchNormEval,
                            &params::BatchNormEval {
                                rows: u(rows),
                                width: u(d_out),
                                kind,
                                param,
                                eps: bn_eps,
                                scale_off: u(scale_off),
                                shift_off: u(shift_off),
                                ..Default::default()
                            },
                            &[&acts.z[l], &params, &running[l], &acts.xt[l + 1]],
                            stride_groups(rows * d_out),
                        ));
                    }
                } else {
                    list.push(kernels.dispatch(
                        dev,
                        KernelId::ActivationForward,
                        &params::ActivationForward {
                            rows: u(rows),
                            width: u(d_out),
                            kind,
                            write_nu,
                            param,
                            omega,
                            ..Default::default()
                        },
                        &[&acts.z[l], &acts.xt[l + 1], nu],
                        stride_groups(rows * d_out),
                    ));
                }
            }
            let last = layers - 1;
            list.push(kernels.dispatch(
                dev,
                KernelId::SoftmaxXent,
                &params::SoftmaxXent { rows: u(rows), classes: u(CLASSES), write_grad: u32::from(training), pad: 0 },
                &[&acts.z[last], &acts.labels, acts.dz.last().expect("the logits' gradient"), &acts.row_out],
                (u(rows.div_ceil(64)), 1, 1),
            ));
            list.push(kernels.dispatch(
                dev,
                KernelId::Loss,
                &params::Loss { layers: u(layers), with_l2: u32::from(training), ..Default::default() },
                &[&acts.row_out, &params, &layout, if training { &results } else { &eval_results }],
                (1, 1, 1),
            ));
            list
        };
        let mut forward_backward = forward(&train, &train_images, &train_labels, &indices, true);
        let evaluation = forward(&eval, &test_images, &test_labels, &test_order, false);

        let l2 = config.l2 as f32;
        for l in (0..layers).rev() {
            let (d_in, d_out) = (sizes[l], sizes[l + 1]);
            let off = u(arena.weight_offset(l));
            // dW = x̃ᵀ dZ + l2·W on the weight rows (not the bias row).
            let g = params::Gemm {
                m: u(d_in + 1),
                n: u(d_out),
                k: u(batch),
                mode: 1,
                a_rs: 1,
                a_cs: u(d_in + 1),
                b_rs: u(d_out),
                b_cs: 1,
                c_off: off,
                c_rs: u(d_out),
                w_off: off,
                decay_rows: u(d_in),
                l2,
                ..Default::default()
            };
            forward_backward.push(kernels.dispatch(
                dev,
                KernelId::Gemm,
                &g,
                &[&train.xt[l], &train.dz[l], &grads, &params],
                gemm_groups(d_in + 1, d_out),
            ));
            if l == 0 {
                break;
            }
            // dH = dZ · W[..d_in]ᵀ.
            let dh_l = dh[l].as_ref().expect("layers above the first have an input gradient");
            let g = params::Gemm {
                m: u(batch),
                n: u(d_in),
                k: u(d_out),
                a_rs: u(d_out),
                a_cs: 1,
                b_off: off,
                b_rs: 1,
                b_cs: u(d_out),
                c_rs: u(d_in),
                ..Default::default()
            };
            forward_backward.push(kernels.dispatch(
                dev,
                KernelId::Gemm,
                &g,
                &[&train.dz[l], &params, dh_l, &params],
                gemm_groups(batch, d_in),
            ));
            if bna {
                let (scale_off, shift_off) = arena.bn_offsets(l - 1);
                let (xhat, stats) = &bn_cache[l - 1];
                forward_backward.push(kernels.dispatch(
                    dev,
                    KernelId::BatchNormBackward,
                    &params::BatchNormBackward {
                        rows: u(batch),
                        width: u(d_in),
                        kind,
                        param,
                        scale_off: u(scale_off),
                        shift_off: u(shift_off),
                        ..Default::default()
                    },
                    &[dh_l, xhat, stats, &params, &train.z[l - 1], &train.dz[l - 1], &grads],
                    (u(d_in), 1, 1),
                ));
            } else {
                forward_backward.push(kernels.dispatch(
                    dev,
                    KernelId::ActivationBackward,
                    &params::ActivationBackward { count: u(batch * d_in), kind, param, pad: 0 },
                    &[&train.z[l - 1], dh_l, &train.dz[l - 1]],
                    stride_groups(batch * d_in),
                ));
            }
        }

        // ---- RNGD: metric updates and preconditioning -------------------------------
        let mut metric_updates = Vec::new();
        let mut update = Vec::new();
        if let Some(r) = metric_state {
            let lambda = r.effective_lambda();
            for l in 0..layers {
                let (d, m) = (sizes[l] + 1, sizes[l + 1]);
                let own = per_neuron(l, layers);
                let neurons = if own { m } else { 1 };
                let unused = a.unused();
                let nu = nus[l].as_ref().unwrap_or(&unused);
                let tiles = gemm_groups(d, d).0;
                metric_updates.push(kernels.dispatch(
                    dev,
                    KernelId::MetricUpdate,
                    &params::MetricUpdate {
                        batch: u(batch),
                        dim: u(d),
                        neurons: u(neurons),
                        lambda,
                        one_metric: u32::from(!own),
                        ..Default::default()
                    },
                    &[&train.xt[l], nu, &metrics[l]],
                    (tiles, tiles, u(neurons)),
                ));
                if rngd_state.is_none() {
                    continue;
                }
                let off = u(arena.weight_offset(l));
                update.push(if own {
                    kernels.dispatch(
                        dev,
                        KernelId::Precondition,
                        &params::Precondition { dim: u(d), neurons: u(m), off, pad: 0 },
                        &[&inverses[l], &grads, &upd],
                        (u(d.div_ceil(64)), u(m), 1),
                    )
                } else {
                    let mut g = params::Gemm::plain(d, m, d);
                    g.b_off = off;
                    g.c_off = off;
                    kernels.dispatch(dev, KernelId::Gemm, &g, &[&inverses[l], &grads, &upd, &params], gemm_groups(d, m))
                });
            }
        }

        // ---- the optimizer's last stage over the whole arena --------------------------
        let adam = match &optimizer.preconditioner {
            Preconditioner::Adam(adam) => Some(adam.config),
            _ => None,
        };
        let ac = adam.unwrap_or_default();
        let (unused_m1, unused_m2, unused_vel) = (a.unused(), a.unused(), a.unused());
        let (m1, m2) = moments.as_ref().map_or((&unused_m1, &unused_m2), |(x, y)| (x, y));
        update.push(kernels.dispatch(
            dev,
            KernelId::Apply,
            &params::Apply {
                count: u(arena.total),
                precond_end: if rngd_state.is_some() { u(arena.weights_end()) } else { 0 },
                adam: u32::from(adam.is_some()),
                momentum_on: u32::from(velocity.is_some()),
                lr: optimizer.lr,
                weight_decay: optimizer.weight_decay,
                beta1: ac.beta1 as f32,
                beta2: ac.beta2 as f32,
                eps: ac.eps as f32,
                mu: optimizer.momentum.as_ref().map_or(0.0, |m| m.mu),
                ..Default::default()
            },
            &[&params, &grads, &upd, m1, m2, velocity.as_ref().unwrap_or(&unused_vel), &bad],
            stride_groups(arena.total),
        ));

        let step_group = kernels.step_group(dev, &steps);
        let eval_group = kernels.step_group(dev, &eval_steps);
        let result_staging = ctx.staging((MAX_CHUNK * 4 * 4 + 4) as u64);
        let rngd = rngd_state.map(|r| {
            let mut host = r.config.init(&sizes);
            host.metrics = r.metrics.clone();
            host.refreshes = r.refreshes;
            host
        });
        drop(kernels);
        let buffers = a.made();
        // A kernel that failed to compile, or any other error so far, fails here rather than mid-run.
        ctx.check()?;
        Ok(GpuEngine {
            sizes,
            batch,
            l2,
            arena,
            optim: Optim { adam, rngd, track_every: tracked.map(|_| crate::optim::TRACK_EVERY) },
            params,
            running,
            moments,
            velocity,
            bad,
            metrics,
            inverses,
            train,
            indices,
            steps,
            step_group,
            eval_group,
            results,
            eval_results,
            result_staging,
            eval_chunks,
            buffers,
            forward_backward,
            metric_updates,
            update,
            evaluation,
            ctx,
        })
    }
}

impl GpuEngine {
    /// Every storage buffer the engine made: label and bytes, in the order made.
    pub fn buffers(&self) -> &[(String, u64)] {
        &self.buffers
    }
}

fn flat(arrays: &[Array2<f32>]) -> Vec<f32> {
    arrays.iter().flat_map(|a| a.iter().copied()).collect()
}

/// Submits `dispatches` once, outside any training step (tests, self-tests),
/// with `step` as their [`StepInfo`].
pub fn run_once(ctx: &GpuContext, kernels: &Kernels, dispatches: &[Dispatch], step: StepInfo) {
    let steps = Alloc::new(ctx).steps("step uniforms", 1);
    ctx.queue.write_buffer(&steps, 0, bytemuck::bytes_of(&step));
    let group = kernels.step_group(&ctx.device, &steps);
    let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("once") });
    {
        let mut pass =
            enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("once"), timestamp_writes: None });
        for d in dispatches {
            d.encode(&mut pass, (&group, 0));
        }
    }
    ctx.queue.submit([enc.finish()]);
}
