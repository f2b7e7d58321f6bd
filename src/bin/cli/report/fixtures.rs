//! Small synthetic runs shared by the report's unit tests.

use rngd_lab::optim::{RngdConfig, RngdPreset};

use super::load::{Epoch, Run};

/// A run whose test accuracy and validation accuracy stay at `acc`, and whose
/// training loss falls as `loss / epoch`.
pub fn run(arch: &str, opt: &str, lr: f64, seed: u64, acc: f64, loss: f64, epochs: u32) -> Run {
    Run {
        source: format!("{arch}-{opt}-{lr}-{seed}.json"),
        arch: arch.into(),
        optimizer: opt.into(),
        lr,
        seed,
        epochs: (1..=epochs)
            .map(|e| Epoch {
                epoch: e,
                train_loss: loss / e as f64,
                test_loss: 0.1,
                test_accuracy: acc,
                validation_accuracy: Some(acc),
                seconds: 0.5 * e as f64,
            })
            .collect(),
        diverged: None,
        inverse_fallbacks: None,
        hidden: vec![80, 80, 80],
        activation: Some("relu".into()),
        batch: Some(50),
        rngd: RngdConfig::default(),
    }
}

/// `r` as if trained with `--rngd-preset p`: only the config says so, not the file name.
pub fn with_preset(mut r: Run, p: RngdPreset) -> Run {
    r.rngd = p.apply(r.rngd);
    r
}

/// `r` with its every epoch `factor` times as long.
pub fn slower(mut r: Run, factor: f64) -> Run {
    for e in &mut r.epochs {
        e.seconds *= factor;
    }
    r
}

pub fn diverged(mut r: Run) -> Run {
    r.diverged = Some("loss is not finite".into());
    r
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}
