//! Tests that run inside headless Chrome through `wasm-pack test --headless --chrome`:
//! training in wasm, and the WGSL kernel on the browser's own WebGPU adapter.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use wasm_bindgen_test::*;

use rngd_lab::backend::gpu::GpuContext;
use rngd_lab::backend::parity;
use rngd_lab::backend::selftest::{metric_update_check, METRIC_TOLERANCE};
use rngd_lab::model::Arch;
use rngd_lab::optim::RngdConfig;
use rngd_lab::train::BackendKind;
use rngd_lab::{BackendChoice, Dataset, OptimizerKind, TrainConfig, Trainer};

wasm_bindgen_test_configure!(run_in_browser);

fn bundled() -> Arc<Dataset> {
    Arc::new(
        Dataset::from_idx(
            include_bytes!("../assets/mnist/train-images-idx3-ubyte.gz"),
            include_bytes!("../assets/mnist/train-labels-idx1-ubyte.gz"),
            include_bytes!("../assets/mnist/test-images-idx3-ubyte.gz"),
            include_bytes!("../assets/mnist/test-labels-idx1-ubyte.gz"),
        )
        .expect("the bundled subset parses in wasm"),
    )
}

#[wasm_bindgen_test]
async fn trains_in_wasm_and_loss_falls() {
    let mut t = Trainer::new(TrainConfig::default(), bundled()).unwrap();
    let before = t.snapshot_async().await;
    t.step_async(160).await.unwrap(); // one epoch
    let after = t.snapshot_async().await;
    assert_eq!(after.step, 160);
    assert!((after.epoch - 1.0).abs() < 1e-12);
    assert!(after.test_loss < 0.7 * before.test_loss, "{before:?} -> {after:?}");
    assert!(after.test_accuracy > 0.75, "{after:?}");
}

#[wasm_bindgen_test]
async fn rngd_with_batch_norm_trains_in_wasm_and_reports_its_geometry() {
    let config = TrainConfig {
        optimizer: OptimizerKind::Rngd,
        arch: Arch::Bna,
        rngd: RngdConfig { refresh: 20, ..RngdConfig::default() },
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(config, bundled()).unwrap();
    let before = t.snapshot_async().await;
    t.step_async(60).await.unwrap();
    let after = t.snapshot_async().await;
    assert!(after.test_loss < before.test_loss, "{before:?} -> {after:?}");
    let r = t.optimizer().rngd().unwrap();
    assert_eq!((r.refreshes(), r.fallbacks()), (3, 0));
    let d = t.diagnostics(1).unwrap();
    assert_eq!((d.spectra.len(), d.nu.as_ref().unwrap().len()), (80, 50));
}

#[wasm_bindgen_test]
fn bad_config_is_an_error_not_a_panic() {
    let cfg = TrainConfig { lr: Some(f64::NAN), ..TrainConfig::default() };
    let e = Trainer::new(cfg, bundled()).err().expect("NaN lr must be refused");
    assert!(e.to_string().contains("lr must be a positive number"), "{e}");
}

#[wasm_bindgen_test]
async fn metric_kernel_matches_cpu_on_browser_webgpu() {
    let ctx = GpuContext::new().await.expect("headless Chrome with --enable-unsafe-webgpu offers an adapter");
    web_sys::console::log_1(&format!("WebGPU adapter: {}", ctx.describe()).into());
    for &(dim, batch, neurons) in &[(17, 5, 3), (81, 50, 80)] {
        let err = metric_update_check(&ctx, dim, batch, neurons, 5).await.unwrap();
        assert!(err <= METRIC_TOLERANCE, "dim {dim} batch {batch} neurons {neurons}: relative error {err}");
    }
}

/// Every kernel on its own against the CPU, as natively (tests/gpu_native.rs).
#[wasm_bindgen_test]
async fn every_kernel_matches_the_cpu_on_browser_webgpu() {
    let ctx = GpuContext::new().await.expect("an adapter");
    let checks = rngd_lab::backend::gpu::checks::all(&ctx).await.unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(checks.len() >= 40, "{} checks", checks.len());
}

/// The same body as the native parity test (tests/gpu_native.rs), on Chrome's
/// WebGPU: each optimizer, PLAIN and BNA, after 1, 100 and 101 steps, within
/// the tolerances `parity::Tolerance` states and justifies.
#[wasm_bindgen_test]
async fn gpu_training_matches_cpu_on_browser_webgpu() {
    let reports = parity::every_optimizer(bundled(), vec![40, 30, 20]).await.unwrap();
    for (name, p) in &reports {
        web_sys::console::log_1(&format!("{name}: {p:?}").into());
    }
    assert_eq!(reports.len(), 18);
}

#[wasm_bindgen_test]
async fn auto_avoids_software_adapters_and_gpu_insists() {
    let ctx = GpuContext::new().await.expect("an adapter");
    let auto = Trainer::create(TrainConfig::default(), bundled()).await.unwrap();
    let gpu = Trainer::create(TrainConfig { backend: BackendChoice::Gpu, ..TrainConfig::default() }, bundled())
        .await
        .unwrap();
    assert_eq!(gpu.backend().kind, BackendKind::Gpu, "{:?}", gpu.backend());
    if ctx.is_software() {
        assert_eq!(auto.backend().kind, BackendKind::Cpu);
        assert!(auto.backend().reason.contains("software adapter"), "{:?}", auto.backend());
    }
}
