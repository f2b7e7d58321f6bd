//! The WGSL kernels against the CPU reference, natively (Vulkan; lavapipe in CI).
#![cfg(not(target_arch = "wasm32"))]
//!
//! Without any adapter the tests report that and pass, unless RNGD_REQUIRE_GPU=1
//! (set by the project's test script, which installs a software Vulkan driver),
//! in which case a missing adapter is a failure.

use rngd_lab::backend::gpu::{GpuContext, GpuError, MetricShape, MetricUpdateKernel};
use rngd_lab::backend::selftest::{metric_update_check, METRIC_TOLERANCE};

fn context() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => {
            eprintln!("GPU adapter: {}", ctx.describe());
            Some(ctx)
        }
        Err(e) => {
            assert!(std::env::var("RNGD_REQUIRE_GPU").as_deref() != Ok("1"), "RNGD_REQUIRE_GPU=1 but {e}");
            eprintln!("no GPU test run: {e}");
            None
        }
    }
}

#[test]
fn metric_update_matches_cpu_on_awkward_sizes() {
    let Some(ctx) = context() else { return };
    // Sizes that are not multiples of the 16×16 tile, a batch that is not a
    // multiple of 16, a single neuron, and the real hidden-layer shape (81, 50, 80).
    for &(dim, batch, neurons) in &[(1, 1, 1), (17, 5, 3), (33, 50, 1), (81, 50, 80), (40, 130, 4)] {
        let err = pollster::block_on(metric_update_check(&ctx, dim, batch, neurons, 9)).unwrap();
        assert!(err <= METRIC_TOLERANCE, "dim {dim} batch {batch} neurons {neurons}: relative error {err}");
    }
}

/// Every kernel on its own against the CPU (backend/gpu/checks.rs says what each case covers).
#[test]
fn every_kernel_matches_the_cpu_on_its_own() {
    let Some(ctx) = context() else { return };
    let checks = pollster::block_on(rngd_lab::backend::gpu::checks::all(&ctx)).unwrap();
    for c in &checks {
        eprintln!("{:<20} {:<70} {:.2e} (bound {:.0e})", c.kernel, c.case, c.error, c.bound);
    }
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(checks.len() >= 40, "{} checks", checks.len());
}

#[test]
fn oversized_metrics_are_refused_with_a_clear_error() {
    let Some(ctx) = context() else { return };
    let limit = ctx.max_storage_binding();
    // One 785² metric per neuron for 80 neurons is ~197 MB: over WebGPU's
    // 128 MiB default binding limit, which is why RNGD shares the input layer's metric.
    let (dim, neurons, batch) = (785usize, 80usize, 1usize);
    let needed = (neurons * dim * dim * 4) as u64;
    assert!(needed > limit, "the device should have WebGPU's default limits, got {limit}");
    let kernel = MetricUpdateKernel::new(&ctx);
    let g = vec![0f32; neurons * dim * dim];
    let h = vec![1f32; batch * dim];
    let nu = vec![1f32; batch * neurons];
    let err = pollster::block_on(kernel.run(&ctx, &g, &h, &nu, MetricShape { batch, dim, neurons }, 0.1)).unwrap_err();
    assert_eq!(err, GpuError::TooLarge { what: "the metrics".into(), needed, limit });
    assert!(err.to_string().contains("over the device limit"));
}

mod training_parity {
    use std::sync::Arc;

    use rngd_lab::backend::parity;
    use rngd_lab::{BackendChoice, Dataset, OptimizerKind, TrainConfig, Trainer};

    fn bundled() -> Arc<Dataset> {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mnist"));
        Arc::new(Dataset::from_dir(dir).expect("the bundled subset"))
    }

    /// The same body runs in headless Chrome (tests/web.rs); tolerances and
    /// their reasons are in `parity::Tolerance`.
    #[test]
    fn gpu_training_matches_cpu_for_every_optimizer_and_architecture() {
        if super::context().is_none() {
            return;
        }
        let reports = pollster::block_on(parity::every_optimizer(bundled(), vec![40, 30, 20])).unwrap();
        for (name, p) in &reports {
            eprintln!("{name}: {p:?}");
        }
        assert_eq!(reports.len(), 18);
    }

    /// SGD learns RNGD's metric read-only on the GPU too, with RNGD's own
    /// metric-update kernels every `TRACK_EVERY` steps, and it matches the CPU's.
    #[test]
    fn sgd_tracks_the_same_metric_on_the_gpu_as_on_the_cpu() {
        if super::context().is_none() {
            return;
        }
        let config = TrainConfig {
            optimizer: OptimizerKind::Sgd,
            hidden: vec![40, 30, 20],
            track_metric: true,
            ..TrainConfig::default()
        };
        for p in pollster::block_on(parity::compare(config.clone(), bundled(), &[1, 11, 21])).unwrap() {
            eprintln!("{p:?}");
            p.check(parity::Tolerance::DEFAULT).unwrap();
        }
        let mut gpu = Trainer::new(TrainConfig { backend: BackendChoice::Gpu, ..config }, bundled()).unwrap();
        gpu.step(21).unwrap();
        let d = pollster::block_on(gpu.diagnostics_async(1)).unwrap();
        assert_eq!(serde_json::to_value(d.source).unwrap(), "tracked");
        // Three updates at rate 1 − 0.995¹⁰ have moved every neuron's metric off the identity.
        assert!(d.spectra.iter().all(|s| s.max - s.min > 1e-3), "{:?}", d.spectra[0]);
    }

    /// A drawn digit's prediction and the weights export read the GPU run's
    /// state, copied back after its steps: both agree with the GPU's own
    /// evaluation of the test split, and with each other.
    #[test]
    fn predictions_and_exported_weights_follow_the_gpu_run() {
        if super::context().is_none() {
            return;
        }
        let data = bundled();
        let config = TrainConfig { hidden: vec![40, 30], backend: BackendChoice::Gpu, ..TrainConfig::default() };
        let mut gpu = Trainer::new(config, data.clone()).unwrap();
        gpu.step(60).unwrap();
        let evaluation = gpu.evaluate_test();
        let test = &data.test;
        let mut correct = 0;
        for r in 0..test.len() {
            let image = test.image(r);
            let p = pollster::block_on(gpu.predict_async(image.as_slice().unwrap())).unwrap();
            correct += usize::from(p.label == test.labels[r] as usize);
        }
        assert_eq!(correct as f64 / test.len() as f64, evaluation.accuracy);
        let export = pollster::block_on(gpu.export_weights_async());
        assert_eq!(export.step, 60);
        let first = &export.layers[0];
        assert_eq!(
            first.weights,
            gpu.network().weights[0].slice(ndarray::s![..784, ..]).iter().copied().collect::<Vec<_>>()
        );
    }

    /// The acceptance check: on the paper's net, one epoch with seed 1
    /// reaches the CPU's test accuracy within half a point, for each optimizer.
    #[test]
    fn one_epoch_on_the_gpu_reaches_the_cpus_accuracy() {
        if super::context().is_none() {
            return;
        }
        let data = bundled();
        for optimizer in OptimizerKind::ALL {
            let accuracy = |backend| {
                let mut t =
                    Trainer::new(TrainConfig { optimizer, backend, ..TrainConfig::default() }, data.clone()).unwrap();
                let epoch = t.batches_per_epoch() as u32;
                t.step(epoch).unwrap();
                t.snapshot().test_accuracy
            };
            let (cpu, gpu) = (accuracy(BackendChoice::Cpu), accuracy(BackendChoice::Gpu));
            eprintln!("{optimizer:?}: CPU {:.2}%, GPU {:.2}%", 100.0 * cpu, 100.0 * gpu);
            assert!((cpu - gpu).abs() <= 0.005, "{optimizer:?}: CPU {cpu}, GPU {gpu}");
        }
    }
}

mod faults {
    use std::sync::Arc;

    use rngd_lab::train::{BackendKind, TrainError, CHECKPOINT_EVERY};
    use rngd_lab::{BackendChoice, Dataset, OptimizerKind, TrainConfig, Trainer};

    fn bundled() -> Arc<Dataset> {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mnist"));
        Arc::new(Dataset::from_dir(dir).expect("the bundled subset"))
    }

    fn small(optimizer: OptimizerKind, backend: BackendChoice) -> TrainConfig {
        TrainConfig { optimizer, backend, hidden: vec![24, 16], ..TrainConfig::default() }
    }

    /// A device destroyed mid-run (as a driver reset would) sends the run back
    /// to its last checkpoint on the CPU; the lost steps are recomputed there,
    /// so the run ends where the call said, on the path a CPU run takes.
    fn lose_the_device_after(optimizer: OptimizerKind, checkpoint: impl Fn(&mut Trainer) -> u32) {
        let data = bundled();
        let mut gpu = Trainer::new(small(optimizer, BackendChoice::Gpu), data.clone()).unwrap();
        let mut cpu = Trainer::new(small(optimizer, BackendChoice::Cpu), data).unwrap();
        assert_eq!(gpu.backend().kind, BackendKind::Gpu);
        let first = checkpoint(&mut gpu);
        gpu.step(30).unwrap();
        gpu.lose_device();
        gpu.step(10).unwrap();
        let b = gpu.backend().clone();
        assert_eq!((b.kind, b.lost_steps), (BackendKind::Cpu, Some(30)), "{b:?}");
        assert!(
            b.reason.contains("recomputing 30 steps") && b.reason.contains(&format!("step {first}")),
            "{}",
            b.reason
        );
        assert_eq!(gpu.steps_done(), first as u64 + 40);
        cpu.step(first + 40).unwrap();
        let (g, c) = (gpu.snapshot(), cpu.snapshot());
        assert!((g.test_loss - c.test_loss).abs() < 1e-4 * c.test_loss, "GPU then CPU {g:?}, CPU {c:?}");
        // Later calls stay on the CPU and keep training.
        gpu.step(5).unwrap();
        assert_eq!(gpu.steps_done(), first as u64 + 45);
    }

    /// RNGD, whose metrics and inverses must come back too, checkpointed by a copy to the host.
    #[test]
    fn a_lost_device_falls_back_to_the_cpu_from_the_last_host_copy() {
        if super::context().is_none() {
            return;
        }
        lose_the_device_after(OptimizerKind::Rngd, |t| {
            t.step(20).unwrap();
            t.sync_host();
            20
        });
    }

    /// The checkpoint a snapshot takes once CHECKPOINT_EVERY steps have passed.
    #[test]
    fn a_lost_device_falls_back_to_the_cpu_from_the_last_snapshot_checkpoint() {
        if super::context().is_none() {
            return;
        }
        lose_the_device_after(OptimizerKind::Adam, |t| {
            let first = CHECKPOINT_EVERY as u32 + 20;
            t.step(first).unwrap();
            t.snapshot();
            first
        });
    }

    /// Divergence on the GPU stops the run at the same step, with the same message, as on the CPU.
    #[test]
    fn a_diverging_gpu_run_stops_like_a_cpu_run() {
        if super::context().is_none() {
            return;
        }
        let data = bundled();
        let run = |backend| {
            // The paper's net at lr 100 blows up within a few dozen steps.
            let config = TrainConfig { lr: Some(100.0), backend, ..TrainConfig::default() };
            let mut t = Trainer::new(config, data.clone()).unwrap();
            let e = t.step(200).unwrap_err();
            // Every later call gives the same error, and the run does not move.
            assert_eq!(t.step(1).unwrap_err().to_string(), e.to_string());
            (e, t.steps_done())
        };
        let (cpu, gpu) = (run(BackendChoice::Cpu), run(BackendChoice::Gpu));
        assert_eq!(gpu.1, cpu.1, "GPU stopped at step {}, CPU at {}", gpu.1, cpu.1);
        // The same step, reason and cause. A finite loss past the growth limit
        // is compared within a relative 1e-4: the two backends sum it in f32 in
        // different orders, and its digits are printed in the message.
        let parts = |e: &TrainError| match e {
            TrainError::Diverged { step, loss, what, cause, .. } => {
                (*step, *loss, what.split(|c: char| c.is_ascii_digit()).next().unwrap_or("").to_string(), cause.clone())
            }
            other => panic!("{other}"),
        };
        let (c, g) = (parts(&cpu.0), parts(&gpu.0));
        assert_eq!((c.0, &c.2, &c.3), (g.0, &g.2, &g.3), "CPU: {}\nGPU: {}", cpu.0, gpu.0);
        assert!(
            (c.1.is_nan() && g.1.is_nan()) || (c.1 - g.1).abs() <= 1e-4 * c.1.abs(),
            "CPU: {}\nGPU: {}",
            cpu.0,
            gpu.0
        );
    }

    /// Per-neuron metrics over WebGPU's 128 MiB binding limit are refused with
    /// a message naming the buffer and the limit; `auto` then trains on the CPU.
    #[test]
    fn a_network_over_the_binding_limit_is_refused_by_name() {
        if super::context().is_none() {
            return;
        }
        // Layer 1 keeps 600 metrics of 601² floats: 867 MB.
        let config = TrainConfig { hidden: vec![600, 600], ..small(OptimizerKind::Rngd, BackendChoice::Gpu) };
        let e = Trainer::new(config.clone(), bundled()).err().expect("too large for one binding").to_string();
        assert!(
            e.contains("backend gpu was asked for")
                && e.contains("layer 1's per-neuron metrics (600 neurons × 601² floats)"),
            "{e}"
        );
        assert!(e.contains("max_storage_buffer_binding_size"), "{e}");
    }
}
