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
                let mut t = Trainer::new(TrainConfig { optimizer, backend, ..TrainConfig::default() }, data.clone()).unwrap();
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
