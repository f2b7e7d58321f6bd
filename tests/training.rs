//! Each optimizer reaches a stated test accuracy on the bundled subset within
//! a few epochs, for both architectures. These are the accuracies a change must
//! not lose; the README's experiment shows the full learning curves.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use rngd_lab::data::bundled;
use rngd_lab::model::Arch;
use rngd_lab::{Dataset, OptimizerKind, TrainConfig, TrainError, Trainer};

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
    assert!(err.contains("The learning rate (lr = 100; sgd's default is 0.1) is the likely cause"), "{err}");
    assert_eq!(t.step(1).unwrap_err().to_string(), err, "a stopped run stays stopped");
}

/// Adam at lr 100 keeps every value finite while its loss climbs to about
/// 1e11: the growth limit, not a NaN, has to stop it.
#[test]
fn a_finite_loss_far_above_its_start_stops_the_run_too() {
    let config = TrainConfig { optimizer: OptimizerKind::Adam, lr: Some(100.0), ..TrainConfig::default() };
    let mut t = Trainer::new(config, data()).unwrap();
    let err = t.step(400).unwrap_err();
    let TrainError::Diverged { loss, ref what, .. } = err else { panic!("{err}") };
    assert!(
        loss.is_finite() && what.contains(&format!("over {}× its first value", rngd_lab::train::GROWTH_LIMIT)),
        "{err}"
    );
    assert!(err.to_string().contains("adam diverged at step"), "{err}");
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

/// Batch norm's test-time statistics must mean something from the first
/// points: the issue that asked for bias-corrected running averages measured
/// BNA with sigmoid after one epoch at 32 % test accuracy (test loss 2.0)
/// while its training loss was already 0.86, because a plain EMA started at
/// mean 0, variance 1 lagged far behind. Here, at each of the first snapshots,
/// the test loss (running statistics) must stay within 0.3 of the training
/// cross-entropy of the last 5 steps (batch statistics, nearly the same
/// weights; the L2 term, about 0.38 at the start, taken off). The two still
/// differ by minibatch noise and by the digits.
#[test]
fn batch_norm_test_loss_tracks_training_loss_from_the_first_points() {
    use rngd_lab::model::Activation;
    let config = TrainConfig { arch: Arch::Bna, activation: Activation::Sigmoid, ..TrainConfig::default() };
    let mut t = Trainer::new(config, data()).unwrap();
    for _ in 0..4 {
        t.step(35).unwrap();
        t.snapshot();
        t.step(5).unwrap();
        let s = t.snapshot();
        let train = s.train_loss.unwrap() - t.network().l2_penalty(t.config().l2 as f32) as f64;
        eprintln!("step {}: train {train:.3}, test {:.3}, accuracy {:.3}", s.step, s.test_loss, s.test_accuracy);
        assert!(
            (s.test_loss - train).abs() < 0.3,
            "step {}: test loss {} against training loss {train}",
            s.step,
            s.test_loss
        );
    }
}
