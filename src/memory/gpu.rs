//! The GPU engine's storage buffers, computed from the config and the data
//! set's size, so that a network over WebGPU's limits is refused (or, under
//! `auto`, trained on the CPU) before a device is opened.
//!
//! [`gpu_buffers`] lists the buffers `GpuEngine::new` makes through its
//! `Alloc`, in the same order and with the same labels; the engine records
//! what it really made (`GpuEngine::buffers`) and a test compares the two.
//! The engine's own size check stays as the last guard.

use super::plan::Part;
use crate::backend::gpu::engine::{EVAL_ROWS, MAX_CHUNK};
use crate::backend::gpu::GpuError;
use crate::config::TrainConfig;
use crate::data::{CLASSES, PIXELS};
use crate::model::Arch;
use crate::optim::OptimizerKind;

/// Bytes of a buffer of `len` 4-byte values; WebGPU wants at least one.
fn words(len: u128) -> u128 {
    len.max(1) * 4
}

/// Every storage buffer the GPU engine makes for `config` on a data set of
/// `train_rows` and `test_rows`, in the order `GpuEngine::new` makes them,
/// labelled as it labels them (its layers counted from 0). Uniform, staging and
/// 16-byte placeholder buffers are left out: the engine does not size-check them.
pub fn gpu_buffers(config: &TrainConfig, train_rows: usize, test_rows: usize) -> Vec<Part> {
    let sizes: Vec<u128> = config.sizes(PIXELS, CLASSES).into_iter().map(|s| s as u128).collect();
    let layers = sizes.len() - 1;
    let batch = config.batch as u128;
    let (train_rows, test_rows) = (train_rows as u128, test_rows as u128);
    let bna = config.arch == Arch::Bna;
    let rngd = config.optimizer == OptimizerKind::Rngd;
    let metrics = rngd || config.track_metric;
    let per_neuron = |l: usize| l > 0 && l + 1 < layers;
    let mut out = Vec::new();
    let mut add = |what: String, bytes: u128| out.push(Part::new(what, bytes));

    // The metrics and RNGD's inverses, dense (neurons × D × D or D × D).
    if metrics {
        for l in 0..layers {
            let (d, m) = (sizes[l] + 1, sizes[l + 1]);
            let (what, len) = if per_neuron(l) {
                (format!("layer {l}'s per-neuron metrics ({m} neurons × {d}² floats)"), m * d * d)
            } else {
                (format!("layer {l}'s shared metric ({d}² floats)"), d * d)
            };
            add(what.clone(), words(len));
            if rngd {
                add(format!("the inverse of {what}"), words(len));
            }
        }
    }
    add("the training images".into(), words(train_rows * PIXELS as u128));
    add("the test images".into(), words(test_rows * PIXELS as u128));
    add("the training labels".into(), words(train_rows));
    add("the test labels".into(), words(test_rows));
    // The parameter arena: the weights, then each batch norm's scale and shift.
    let hidden: u128 = sizes[1..layers].iter().sum();
    let arena: u128 = sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum::<u128>() + if bna { 2 * hidden } else { 0 };
    add("the parameters".into(), words(arena));
    add("the gradients".into(), words(arena));
    if rngd {
        add("RNGD's updates".into(), words(arena));
    }
    if config.optimizer == OptimizerKind::Adam {
        add("Adam's first moments".into(), words(arena));
        add("Adam's second moments".into(), words(arena));
    }
    if config.momentum > 0.0 {
        add("the momentum".into(), words(arena));
    }
    add("the divergence flag".into(), words(1));
    if bna {
        for (j, &w) in sizes[1..layers].iter().enumerate() {
            add(format!("batch norm {j}'s running statistics"), words(2 * w));
        }
    }
    add("the layer layout".into(), words(3 * layers as u128));
    let test = test_rows.max(1);
    let eval_rows = (EVAL_ROWS as u128).min(test);
    let eval_chunks = test.div_ceil(eval_rows);
    for (rows, training) in [(batch, true), (eval_rows, false)] {
        for l in 0..layers {
            let (d_in, d_out) = (sizes[l], sizes[l + 1]);
            add(format!("layer {l}'s input for {rows} rows ({} values each)", d_in + 1), words(rows * (d_in + 1)));
            add(format!("layer {l}'s pre-activations"), words(rows * d_out));
            if training || l + 1 == layers {
                add(format!("layer {l}'s output gradient"), words(rows * d_out));
            }
        }
        add("labels".into(), words(rows));
        add("per-row losses".into(), words(rows * 2));
    }
    add("the test order".into(), words(eval_chunks * eval_rows));
    add("the minibatch rows".into(), words(MAX_CHUNK as u128 * batch));
    add("the step losses".into(), words(MAX_CHUNK as u128 * 4));
    add("the evaluation sums".into(), words(eval_chunks * 4));
    for l in 0..layers {
        if metrics && per_neuron(l) {
            add(format!("layer {l}'s selectors"), words(batch * sizes[l + 1]));
        }
    }
    if bna {
        for (j, &w) in sizes[1..layers].iter().enumerate() {
            add(format!("batch norm {j}'s x̂"), words(batch * w));
            add("batch statistics".into(), words(3 * w));
        }
    }
    for (l, &d_in) in sizes.iter().enumerate().take(layers).skip(1) {
        add(format!("layer {l}'s input gradient"), words(batch * d_in));
    }
    out
}

/// The size one buffer may have under `limits`: WebGPU's binding limit for
/// storage buffers, and its buffer limit.
pub fn buffer_limit(limits: &wgpu::Limits) -> u64 {
    limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
}

/// Refuses the first buffer of [`gpu_buffers`] over `limits` (as the engine,
/// which makes them in that order, would), with the engine's own error.
pub fn check_gpu(
    config: &TrainConfig,
    train_rows: usize,
    test_rows: usize,
    limits: &wgpu::Limits,
) -> Result<(), GpuError> {
    let limit = buffer_limit(limits);
    match gpu_buffers(config, train_rows, test_rows).into_iter().find(|p| p.bytes > limit) {
        Some(p) => Err(GpuError::TooLarge { what: p.what, needed: p.bytes, limit }),
        None => Ok(()),
    }
}
