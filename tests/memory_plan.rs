//! The memory plan against what a trainer really allocates, counted by a
//! global allocator; and the budget refusing networks before they allocate.
//!
//! One test function: the allocator's peak is process-wide, so the cases are
//! measured one after another on one thread.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/peak_alloc.rs"]
mod peak_alloc;

#[global_allocator]
static A: peak_alloc::Peak = peak_alloc::Peak;

use std::sync::Arc;

use rngd_lab::backend::gpu::{GpuContext, GpuEngine};
use rngd_lab::data::idx::encode_ubyte;
use rngd_lab::data::{CLASSES, PIXELS};
use rngd_lab::memory::{self, format_size, gpu_buffers, MemoryPlan, MIB};
use rngd_lab::model::{Arch, Mlp};
use rngd_lab::optim::{MetricTracker, Momentum, Optimizer, Preconditioner};
use rngd_lab::train::BackendKind;
use rngd_lab::{BackendChoice, Dataset, OptimizerKind, TrainConfig, TrainError, Trainer};

const TRAIN: usize = 200;
/// More than one evaluation chunk (500 rows), so that evaluation runs at its full size.
const TEST: usize = 600;

/// Digits of seeded noise with labels 0..9 in turn.
fn synthetic() -> Arc<Dataset> {
    let mut state = 12345u32;
    let mut pixels = |n: usize| -> Vec<u8> {
        (0..n * 784)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 24) as u8
            })
            .collect()
    };
    let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<u8>>();
    let (train_x, test_x) = (pixels(TRAIN), pixels(TEST));
    Arc::new(
        Dataset::from_idx(
            &encode_ubyte(&[TRAIN, 28, 28], &train_x),
            &encode_ubyte(&[TRAIN], &labels(TRAIN)),
            &encode_ubyte(&[TEST, 28, 28], &test_x),
            &encode_ubyte(&[TEST], &labels(TEST)),
        )
        .expect("a well-formed synthetic data set"),
    )
}

fn case(optimizer: OptimizerKind, hidden: &[usize], batch: usize) -> TrainConfig {
    let mut c =
        TrainConfig { optimizer, hidden: hidden.to_vec(), batch, backend: BackendChoice::Cpu, ..Default::default() };
    // A refresh every 2 steps, so that the 5 steps measured invert the metrics twice.
    c.rngd.refresh = 2;
    c
}

#[test]
fn the_plan_matches_what_a_trainer_allocates_and_the_budget_refuses_before_allocating() {
    let data = synthetic();
    let mut cases = Vec::new();
    for hidden in [&[80, 80, 80][..], &[300, 300], &[500]] {
        for optimizer in OptimizerKind::ALL {
            cases.push((optimizer.name().to_string(), case(optimizer, hidden, 50)));
        }
        let mut c = case(OptimizerKind::Rngd, hidden, 50);
        c.rngd.input_rank = 20;
        cases.push(("rngd rank 20".into(), c));
        for optimizer in [OptimizerKind::Sgd, OptimizerKind::Adam] {
            let mut c = case(optimizer, hidden, 50);
            c.track_metric = true;
            cases.push((format!("{} tracked", optimizer.name()), c));
        }
        for optimizer in [OptimizerKind::Sgd, OptimizerKind::Rngd] {
            let mut c = case(optimizer, hidden, 50);
            c.arch = Arch::Bna;
            cases.push((format!("{} bna", optimizer.name()), c));
        }
        let mut c = case(OptimizerKind::Sgd, hidden, 200);
        c.momentum = 0.9;
        cases.push(("sgd momentum b200".into(), c));
        cases.push(("rngd b200".into(), case(OptimizerKind::Rngd, hidden, 200)));
    }

    // The plan holds what the trainer holds, plus its largest short-lived
    // allocation. Measured peaks fall below the plan where a part is an upper
    // bound (the evaluation chunk's copies are freed layer by layer, a step's
    // temporaries are not all live at once, the SGD cases measure 0.7–0.9) and
    // could exceed it by what the plan leaves out (the trainer's small vectors,
    // the matrix product's packing buffers): at most a quarter over, so that a
    // refused network is refused well before it could have fitted, and a
    // network that passes cannot take much more than the budget.
    let band = 0.6..=1.25;
    let mut out_of_band = Vec::new();
    eprintln!(
        "{:<20} {:<14} {:>11} {:>11} {:>6}  largest part of the plan",
        "case", "hidden", "plan", "measured", "ratio"
    );
    for (name, config) in &cases {
        let plan = MemoryPlan::with_rows(config, TRAIN);
        let (trainer, peak) = peak_alloc::peak_during(|| {
            let mut t = Trainer::new(config.clone(), data.clone()).expect("a valid config");
            t.step(5).expect("no divergence");
            t.snapshot();
            t
        });
        drop(trainer);
        let ratio = peak as f64 / plan.total() as f64;
        let largest = plan.largest().unwrap();
        eprintln!(
            "{:<20} {:<14} {:>11} {:>11} {:>6.2}  {} ({})",
            name,
            format!("{:?}/{}", config.hidden, config.batch),
            format_size(plan.total()),
            format_size(peak as u64),
            ratio,
            largest.what,
            format_size(largest.bytes)
        );
        if !band.contains(&ratio) {
            out_of_band.push(format!("{name} {:?}: measured/plan = {ratio:.2}", config.hidden));
        }
    }
    assert!(out_of_band.is_empty(), "outside {band:?}: {out_of_band:#?}");

    // RNGD at 4096,4096 wants 256 GiB: refused by the default budget, fast, before allocating.
    let huge = case(OptimizerKind::Rngd, &[4096, 4096], 50);
    let start = std::time::Instant::now();
    let (result, peak) = peak_alloc::peak_during(|| Trainer::new(huge.clone(), data.clone()).err());
    let e = result.expect("refused").to_string();
    eprintln!(
        "4096,4096 rngd: refused in {:?} with {} allocated at peak: {e}",
        start.elapsed(),
        format_size(peak as u64)
    );
    assert!(e.contains("RNGD's per-neuron metrics of layer 1 (128 GiB)") && e.contains("over the budget of"), "{e}");
    assert!(peak < 4 * MIB as usize, "{peak} bytes allocated before refusing");
    assert!(start.elapsed().as_secs_f64() < 1.0, "{:?}", start.elapsed());

    // A small budget refuses even the default network, and says what the budget is.
    memory::set_budget(MIB);
    let refused = Trainer::new(case(OptimizerKind::Sgd, &[80, 80, 80], 50), data.clone()).err();
    memory::set_budget(0);
    let e = refused.expect("over a 1 MiB budget").to_string();
    assert!(e.contains("over the budget of 1 MiB") && e.contains("--memory-budget"), "{e}");
    assert_eq!(memory::budget(), memory::default_budget());
    Trainer::new(case(OptimizerKind::Sgd, &[80, 80, 80], 50), data.clone()).expect("the default budget again");

    gpu_buffers_are_planned_before_a_device_is_opened(&data);
}

/// The GPU engine's buffers, planned from the config: a network over WebGPU's
/// limits is refused (`gpu`) or trained on the CPU (`auto`) without a device
/// being opened; and where there is an adapter, the engine makes exactly the
/// buffers the plan lists and refuses the one the plan refuses.
fn gpu_buffers_are_planned_before_a_device_is_opened(data: &Arc<Dataset>) {
    // Layer 1 (counted from 0 as the engine counts) keeps 350 metrics of 351² floats: 172 MB dense.
    let over = TrainConfig { backend: BackendChoice::Auto, ..case(OptimizerKind::Rngd, &[350, 350], 50) };
    let what = "layer 1's per-neuron metrics (350 neurons × 351² floats)";
    let refusal =
        format!("{what} needs {} bytes in one buffer, over the device limit of 134217728", 350 * 351 * 351 * 4);
    let t = Trainer::new(over.clone(), data.clone()).expect("auto trains on the CPU");
    assert_eq!(t.backend().kind, BackendKind::Cpu);
    assert!(t.backend().reason.starts_with(&format!("auto: {refusal}")), "{:?}", t.backend());
    assert!(t.backend().reason.ends_with("training on the CPU"), "{:?}", t.backend());
    drop(t);
    let e = Trainer::new(TrainConfig { backend: BackendChoice::Gpu, ..over.clone() }, data.clone()).err().unwrap();
    assert!(matches!(e, TrainError::Gpu(_)), "{e:?}");
    let e = e.to_string();
    assert!(e.starts_with(&format!("backend gpu was asked for, but {refusal}")), "{e}");
    assert!(e.contains("max_storage_buffer_binding_size"), "{e}");

    let ctx = || match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            assert!(std::env::var("RNGD_REQUIRE_GPU").as_deref() != Ok("1"), "RNGD_REQUIRE_GPU=1 but {e}");
            eprintln!("no GPU adapter, the engine's buffers are not compared with the plan: {e}");
            None
        }
    };
    let engine = |config: &TrainConfig, ctx: GpuContext| {
        let net = Mlp::<f32>::new(&config.sizes(PIXELS, CLASSES), config.activation, config.arch, 0.1, 1);
        let shapes: Vec<(usize, usize)> = net.params().iter().map(|p| p.dim()).collect();
        let preconditioner = match config.optimizer {
            OptimizerKind::Sgd => Preconditioner::Identity,
            OptimizerKind::Adam => Preconditioner::Adam(config.adam.init(&shapes)),
            OptimizerKind::Rngd => Preconditioner::Rngd(Box::new(config.rngd.init(&net.sizes()))),
        };
        let optimizer = Optimizer {
            kind: config.optimizer,
            lr: 0.1,
            preconditioner,
            momentum: (config.momentum > 0.0).then(|| Momentum::new(config.momentum as f32, &shapes)),
            weight_decay: 0.0,
        };
        let tracked = (config.optimizer != OptimizerKind::Rngd && config.track_metric)
            .then(|| MetricTracker::new(config.rngd, &net.sizes()));
        GpuEngine::new(ctx, config, data, &net, &optimizer, tracked.as_ref())
    };
    let mut fits = vec![
        case(OptimizerKind::Sgd, &[80, 80, 80], 50),
        case(OptimizerKind::Adam, &[300, 300], 200),
        case(OptimizerKind::Rngd, &[80, 80, 80], 50),
        TrainConfig { arch: Arch::Bna, momentum: 0.9, ..case(OptimizerKind::Rngd, &[300, 30], 50) },
        TrainConfig { track_metric: true, arch: Arch::Bna, ..case(OptimizerKind::Sgd, &[100, 100, 20], 50) },
    ];
    fits[2].rngd.input_rank = 20;
    for config in &fits {
        let Some(ctx) = ctx() else { return };
        let made = engine(config, ctx).unwrap_or_else(|e| panic!("{:?}: {e}", config.hidden));
        let planned: Vec<(String, u64)> =
            gpu_buffers(config, TRAIN, TEST).into_iter().map(|p| (p.what, p.bytes)).collect();
        assert_eq!(made.buffers(), &planned[..], "{:?} {:?}", config.optimizer, config.hidden);
    }
    eprintln!("the GPU engine made exactly the buffers planned, for {} configs", fits.len());
    let Some(ctx) = ctx() else { return };
    let e = engine(&over, ctx).err().expect("over the binding limit");
    assert_eq!(Err(e), memory::check_gpu(&over, TRAIN, TEST, &wgpu::Limits::default()));
}
