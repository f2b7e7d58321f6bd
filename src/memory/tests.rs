// In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
use super::*;
use crate::model::Arch;
use crate::optim::OptimizerKind;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config(optimizer: OptimizerKind, hidden: &[usize], batch: usize) -> TrainConfig {
    TrainConfig { optimizer, hidden: hidden.to_vec(), batch, ..TrainConfig::default() }
}

fn part(plan: &MemoryPlan, what: &str) -> u64 {
    plan.parts.iter().find(|p| p.what == what).unwrap_or_else(|| panic!("no part {what:?} in {plan:#?}")).bytes
}

/// 784-3-2-10, batch 4, every part by hand.
#[test]
fn a_tiny_network_by_hand() {
    // 2393 floats of weights and biases.
    let weights = (785 * 3 + 4 * 2 + 3 * 10) * 4;
    // Inputs 4×(784+3+2) and pre-activations 4×(3+2+10), for two passes; the
    // minibatch copy, its labels and the softmax.
    let activations = 2 * (4 * 789 + 4 * 15) * 4 + 4 * 784 * 4 + 4 + 4 * 10 * 4;
    let order = 2 * 60_000 * 8;
    // 500 rows of the input (784) and two copies of layer 0's output (3).
    let eval = 500 * (784 + 2 * 3) * 4;

    let sgd = MemoryPlan::of(&config(OptimizerKind::Sgd, &[3, 2], 4));
    let names: Vec<&str> = sgd.parts.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(
        names,
        [
            "the weights",
            "the gradients",
            "activations for a batch of 4",
            "the batch order",
            "evaluating 500 rows at a time"
        ]
    );
    assert_eq!(part(&sgd, "the weights"), weights);
    assert_eq!(part(&sgd, "the gradients"), weights);
    assert_eq!(part(&sgd, "activations for a batch of 4"), activations);
    assert_eq!(part(&sgd, "the batch order"), order);
    assert_eq!(sgd.total(), 2 * weights + activations + order + eval);
    assert_eq!(sgd.largest().unwrap().what, "evaluating 500 rows at a time");

    let mut momentum = config(OptimizerKind::Sgd, &[3, 2], 4);
    momentum.momentum = 0.9;
    assert_eq!(part(&MemoryPlan::of(&momentum), "the momentum"), weights);

    let adam = MemoryPlan::of(&config(OptimizerKind::Adam, &[3, 2], 4));
    assert_eq!(part(&adam, "Adam's moments"), 2 * weights);
    assert_eq!(adam.total(), sgd.total() + 2 * weights);

    // RNGD: layer 0 shares one 785² metric, layer 1 keeps one packed 4×4
    // triangle (10 floats) per neuron for its 2 neurons, layer 2 shares a 3² one.
    let rngd = MemoryPlan::of(&config(OptimizerKind::Rngd, &[3, 2], 4));
    assert_eq!(part(&rngd, "RNGD's metric of layer 0"), 785 * 785 * 4);
    assert_eq!(part(&rngd, "RNGD's inverse of layer 0"), 785 * 785 * 4);
    assert_eq!(part(&rngd, "RNGD's per-neuron metrics of layer 1"), 2 * 10 * 4);
    assert_eq!(part(&rngd, "RNGD's inverses of layer 1"), 2 * 10 * 4);
    assert_eq!(part(&rngd, "RNGD's metric of layer 2"), 9 * 4);
    // Inverting layer 0's metric: its f32 copy and unpacked form, faer's f64
    // matrix, factor, inverse and scratch, and the f32 result.
    let refresh = 44 * 785 * 785;
    assert_eq!(part(&rngd, "inverting RNGD's metrics of layer 0 (f64 workspace)"), refresh);
    let state = 2 * (785 * 785 + 2 * 10 + 9) * 4;
    assert_eq!(rngd.total(), 2 * weights + activations + order + state + refresh);

    // A rank-8 inverse for the input layer: a 785×8 basis in f64 and f32, and 8 eigenvalues and coefficients.
    let mut low = config(OptimizerKind::Rngd, &[3, 2], 4);
    low.rngd.input_rank = 8;
    let low = MemoryPlan::of(&low);
    assert_eq!(part(&low, "RNGD's low-rank inverse of layer 0"), 785 * 8 * 12 + 8 * 12);
    // Layer 2 (D = 3) is narrower than the rank: exact.
    assert_eq!(part(&low, "RNGD's inverse of layer 2"), 9 * 4);

    // SGD tracking the metric holds RNGD's metrics and, unused, their identity inverses.
    let mut tracked = config(OptimizerKind::Sgd, &[3, 2], 4);
    tracked.track_metric = true;
    let tracked = MemoryPlan::of(&tracked);
    assert_eq!(part(&tracked, "tracked metrics of layer 0"), 2 * 785 * 785 * 4);
    assert_eq!(part(&tracked, "tracked metrics of layer 1"), 2 * 2 * 10 * 4);
    // Its largest temporary is the update of layer 0's shared metric (at most D²).
    assert_eq!(part(&tracked, "a step's temporaries at layer 0"), (4 * 785 + 785 * 785) * 4);

    // BNA: scale, shift, running mean and variance per hidden unit, and x̂ plus three statistics per pass.
    let mut bna = config(OptimizerKind::Sgd, &[3, 2], 4);
    bna.arch = Arch::Bna;
    let bna = MemoryPlan::of(&bna);
    assert_eq!(part(&bna, "batch norm's parameters and running statistics"), 4 * 5 * 4);
    assert_eq!(part(&bna, "the gradients"), weights + 2 * 5 * 4);
    assert_eq!(part(&bna, "activations for a batch of 4"), activations + 2 * (4 * 5 + 3 * 5) * 4);
}

#[test]
fn rngd_at_4096_4096_names_layer_1s_per_neuron_metrics() {
    let c = config(OptimizerKind::Rngd, &[4096, 4096], 50);
    let plan = MemoryPlan::of(&c);
    // Layer 1 (4096 → 4096; layers count from 0) keeps one 4097² metric per neuron, packed: 4096 × 4097·4098/2 floats.
    let metrics = 4096u64 * (4097 * 4098 / 2) * 4;
    assert_eq!(metrics, 137_539_633_152);
    let largest = plan.largest().unwrap();
    assert_eq!((largest.what.as_str(), largest.bytes), ("RNGD's per-neuron metrics of layer 1", metrics));
    assert_eq!(part(&plan, "RNGD's inverses of layer 1"), metrics);
    assert!(plan.total() > 2 * metrics && plan.total() < 2 * metrics + 20 * GIB, "{}", plan.total());

    let e = check_within(&c, 16 * GIB).unwrap_err();
    assert_eq!(e.field, "hidden");
    let want = format!(
        "this network needs {} of memory, over the budget of 16 GiB; the largest part is RNGD's per-neuron \
         metrics of layer 1 (128 GiB). Use fewer or narrower hidden layers{}",
        format_size(plan.total()),
        super::WHERE
    );
    assert_eq!(e.message, want);
    assert!(e.to_string().starts_with("invalid config: this network needs 25"), "{e}");
}

#[test]
fn absurd_networks_neither_overflow_nor_pass() {
    // A million layers of 4096 (before the memory check, validate only bounds the widths).
    let deep = config(OptimizerKind::Rngd, &vec![4096; 1_000_000], 8000);
    let plan = MemoryPlan::of(&deep);
    // 2 × 137.5 GB a layer, a million times: 2.75·10¹⁷ bytes, counted in u128.
    assert!(plan.total() > 1 << 57, "{}", plan.total());
    let e = check_within(&deep, 1 << 50).unwrap_err();
    assert!(e.message.contains("TiB of memory, over the budget of 1024 TiB"), "{e}");
    let e = check_within(&config(OptimizerKind::Sgd, &vec![4096; 100], 50), GIB).unwrap_err();
    assert!(e.message.contains("the largest part is the weights (") && e.message.contains("budget of 1 GiB"), "{e}");
    // The cases: 40 layers of 4096 in a browser tab (1 GiB), RNGD at 1000,1000.
    let tab = check_within(&config(OptimizerKind::Sgd, &[4096; 40], 50), GIB).unwrap_err();
    assert!(tab.message.contains("needs 5.09 GiB") && tab.message.contains("the weights (2.45 GiB)"), "{tab}");
    let rngd = MemoryPlan::of(&config(OptimizerKind::Rngd, &[1000, 1000], 50));
    assert_eq!(rngd.largest().unwrap().what, "RNGD's per-neuron metrics of layer 1");
    eprintln!("40×4096 sgd: {}\n1000,1000 rngd: {}", tab.message, format_size(rngd.total()));
    // A batch as large as the data set with wide layers: the activations, and the advice says so.
    let e = check_within(&config(OptimizerKind::Sgd, &[4096], 60_000), GIB).unwrap_err();
    assert!(e.message.contains("activations for a batch of 60000") && e.message.contains("or a smaller batch"), "{e}");
}

#[test]
fn the_default_networks_fit_a_browser_tab() {
    for optimizer in OptimizerKind::ALL {
        for arch in [Arch::Plain, Arch::Bna] {
            let c = TrainConfig { optimizer, arch, track_metric: true, ..TrainConfig::default() };
            let plan = MemoryPlan::of(&c);
            assert!(plan.total() < 64 * MIB, "{optimizer:?} {arch:?}: {plan:#?}");
            check_within(&c, GIB).unwrap();
        }
    }
    // The benchmark's wide and large nets (batch 256) stay well inside 1 GiB too.
    for hidden in [[256, 256, 256], [320, 320, 320]] {
        for optimizer in OptimizerKind::ALL {
            for track_metric in [false, true] {
                let c =
                    TrainConfig { optimizer, hidden: hidden.to_vec(), batch: 256, track_metric, ..Default::default() };
                check_within(&c, GIB).unwrap();
                let plan = MemoryPlan::of(&c);
                let largest = plan.largest().unwrap();
                let line =
                    format!("{optimizer:?} {hidden:?}/256 tracked {track_metric}: {}", format_size(plan.total()));
                eprintln!("{line}, largest {} ({})", largest.what, format_size(largest.bytes));
            }
        }
    }
}

#[test]
fn validate_applies_the_process_budget() {
    // The default budget is far above the default network and far below RNGD at 4096,4096.
    TrainConfig::default().validate(8000).unwrap();
    let e = config(OptimizerKind::Rngd, &[4096, 4096], 50).validate(8000).unwrap_err();
    assert_eq!(e.field, "hidden");
    assert!(e.message.contains("RNGD's per-neuron metrics of layer 1 (128 GiB)"), "{e}");
}

#[test]
fn gpu_buffers_follow_the_engine_and_webgpus_limits() {
    let limits = wgpu::Limits::default();
    assert_eq!(gpu::buffer_limit(&limits), 128 * MIB);
    // The paper's network trains on the GPU; its largest buffer is the training images.
    let c = config(OptimizerKind::Rngd, &[80, 80, 80], 50);
    let parts = gpu_buffers(&c, 8000, 2000);
    let largest = parts.iter().max_by_key(|p| p.bytes).unwrap();
    assert_eq!((largest.what.as_str(), largest.bytes), ("the training images", 8000 * 784 * 4));
    assert!(parts.iter().any(|p| p.what == "the inverse of layer 1's per-neuron metrics (80 neurons × 81² floats)"));
    check_gpu(&c, 8000, 2000, &limits).unwrap();
    // 600 metrics of 601² floats (867 MB) for layer 1 (counted from 0, as the engine does).
    let c = config(OptimizerKind::Rngd, &[600, 600], 50);
    let e = check_gpu(&c, 8000, 2000, &limits).unwrap_err();
    assert_eq!(
        e,
        crate::backend::gpu::GpuError::TooLarge {
            what: "layer 1's per-neuron metrics (600 neurons × 601² floats)".into(),
            needed: 600 * 601 * 601 * 4,
            limit: 128 * MIB,
        }
    );
    // SGD and Adam track no metric unless asked; full MNIST's training images
    // (60,000 × 784 floats, 179 MiB) are over the binding limit by themselves.
    let c = config(OptimizerKind::Adam, &[80], 50);
    assert!(gpu_buffers(&c, 8000, 2000).iter().all(|p| !p.what.contains("metric")));
    let e = check_gpu(&c, 60_000, 10_000, &limits).unwrap_err().to_string();
    assert!(e.starts_with("the training images needs 188160000 bytes in one buffer"), "{e}");
}
