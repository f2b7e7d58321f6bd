//! Each optimizer reaches a stated test accuracy on the bundled subset within
//! a few epochs, for both architectures. These are the accuracies a change must
//! not lose; the README's experiment shows the full learning curves.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use rngd_lab::data::bundled;
use rngd_lab::model::Arch;
use rngd_lab::{Dataset, OptimizerKind, TrainConfig, Trainer};

fn data() -> Arc<Dataset> {
    Arc::new(bundled::mnist_subset().expect("the bundled subset parses"))
}

fn accuracy_after(config: TrainConfig, epochs: u32, data: Arc<Dataset>) -> f64 {
    let mut t = Trainer::new(config, data).unwrap();
    let steps = epochs * t.batches_per_epoch() as u32;
    t.step(steps).unwrap();
    t.evaluate_test().accuracy
}

/// (optimizer, architecture, epochs, the test accuracy it must reach). Each
/// floor sits a little below what seed 1 reaches with the default learning
/// rates, e.g. `rngd-lab train --optimizer rngd --epochs 3`.
const FLOORS: [(OptimizerKind, Arch, u32, f64); 6] = [
    (OptimizerKind::Sgd, Arch::Plain, 3, 0.89),
    (OptimizerKind::Adam, Arch::Plain, 3, 0.90),
    (OptimizerKind::Rngd, Arch::Plain, 3, 0.89),
    (OptimizerKind::Sgd, Arch::Bna, 2, 0.91),
    (OptimizerKind::Adam, Arch::Bna, 2, 0.91),
    (OptimizerKind::Rngd, Arch::Bna, 2, 0.90),
];

#[test]
fn every_optimizer_reaches_its_stated_accuracy() {
    let data = data();
    let mut failures = Vec::new();
    for (optimizer, arch, epochs, floor) in FLOORS {
        let config = TrainConfig { optimizer, arch, ..TrainConfig::default() };
        let acc = accuracy_after(config, epochs, data.clone());
        eprintln!("{optimizer:?} {arch:?}: {:.2}% after {epochs} epochs (floor {:.0}%)", 100.0 * acc, 100.0 * floor);
        if acc < floor {
            failures.push(format!("{optimizer:?} {arch:?}: {acc:.4} < {floor}"));
        }
    }
    assert!(failures.is_empty(), "below the stated accuracy: {failures:?}");
}

#[test]
fn sgd_reaches_ninety_percent_in_five_epochs_as_the_cli_promises() {
    let acc = accuracy_after(TrainConfig::default(), 5, data());
    assert!(acc >= 0.90, "SGD, 5 epochs, seed 1: {acc}");
}

#[test]
fn a_diverging_run_stops_with_a_clear_error_and_stays_stopped() {
    let config = TrainConfig { lr: Some(100.0), ..TrainConfig::default() };
    let mut t = Trainer::new(config, data()).unwrap();
    let err = t.step(200).unwrap_err().to_string();
    assert!(err.contains("sgd diverged at step"), "{err}");
    assert!(err.contains("smaller learning rate"), "{err}");
    assert_eq!(t.step(1).unwrap_err().to_string(), err, "a stopped run stays stopped");
}

#[test]
fn compared_runs_share_initialisation_and_batches() {
    let data = data();
    let mk = |optimizer| Trainer::new(TrainConfig { optimizer, ..TrainConfig::default() }, data.clone()).unwrap();
    let (mut a, mut b) = (mk(OptimizerKind::Sgd), mk(OptimizerKind::Rngd));
    assert_eq!(a.network().weights, b.network().weights);
    for _ in 0..5 {
        a.step(1).unwrap();
        b.step(1).unwrap();
        assert_eq!(a.last_batch(), b.last_batch());
    }
}
