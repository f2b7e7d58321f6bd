//! Aggregation over seeds: the runs of each (architecture, optimizer) at its selected
//! learning rate, boiled down to final numbers and per-epoch bands.

use std::collections::BTreeMap;

use super::key::Key;
use super::load::{Epoch, Run};
use super::stats::{mean, min_max, std_dev};

/// Mean and min–max over seeds at one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub epoch: u32,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// The runs of one (arch, optimizer) at its selected lr.
#[derive(Clone, Debug)]
pub struct Summary {
    pub key: Key,
    pub lr: f64,
    /// Seeds of the completed runs, sorted.
    pub seeds: Vec<u64>,
    /// Seeds whose run diverged (left out of every number below).
    pub diverged_seeds: Vec<u64>,
    /// Final epoch of the completed runs: (fewest, most).
    pub epochs: (u32, u32),
    pub final_train_loss: f64,
    pub final_test_acc: f64,
    pub final_test_acc_std: Option<f64>,
    /// Mean over seeds of each run's best epoch test accuracy.
    pub best_test_acc: f64,
    pub seconds_per_epoch: f64,
    /// The epoch a tenth of the way through (see [`early_epoch`]) and the mean training loss there.
    pub early_epoch: u32,
    pub early_train_loss: Option<f64>,
    pub inverse_fallbacks: u64,
    pub train_loss: Vec<Band>,
    /// Test error in percent.
    pub test_error: Vec<Band>,
}

/// The epoch at which the learning curves' sharpness is compared: a tenth of the way through.
pub fn early_epoch(last: u32) -> u32 {
    (last / 10).max(1)
}

pub fn mean_at(bands: &[Band], epoch: u32) -> Option<f64> {
    bands.iter().find(|b| b.epoch == epoch).map(|b| b.mean)
}

fn bands(runs: &[&Run], value: impl Fn(&Epoch) -> f64) -> Vec<Band> {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for r in runs {
        for e in &r.epochs {
            let v = value(e);
            if v.is_finite() {
                by_epoch.entry(e.epoch).or_default().push(v);
            }
        }
    }
    by_epoch
        .into_iter()
        .map(|(epoch, xs)| {
            let (min, max) = min_max(&xs);
            Band { epoch, mean: mean(&xs), min, max }
        })
        .collect()
}

/// One summary per (arch, optimizer) that has a selected lr and at least one run at it.
pub fn summarise(runs: &[Run], chosen: &BTreeMap<Key, f64>) -> Vec<Summary> {
    let mut out = Vec::new();
    for (key, &lr) in chosen {
        let at_lr: Vec<&Run> = runs.iter().filter(|r| Key::of(r) == *key && r.lr == lr).collect();
        if at_lr.is_empty() {
            continue;
        }
        let mut done: Vec<&Run> = at_lr.iter().copied().filter(|r| r.completed()).collect();
        done.sort_by_key(|r| r.seed);
        let mut diverged_seeds: Vec<u64> = at_lr.iter().filter(|r| !r.completed()).map(|r| r.seed).collect();
        diverged_seeds.sort();
        let lasts: Vec<&Epoch> = done.iter().filter_map(|r| r.last()).collect();
        let finals = |f: fn(&Epoch) -> f64| lasts.iter().map(|e| f(e)).collect::<Vec<f64>>();
        let accs = finals(|e| e.test_accuracy);
        let best: Vec<f64> =
            done.iter().map(|r| r.epochs.iter().map(|e| e.test_accuracy).fold(f64::NEG_INFINITY, f64::max)).collect();
        let per_epoch = finals(|e| e.seconds / e.epoch.max(1) as f64);
        let last_epochs: Vec<u32> = lasts.iter().map(|e| e.epoch).collect();
        let train_loss = bands(&done, |e| e.train_loss);
        let early = early_epoch(last_epochs.iter().copied().min().unwrap_or(1));
        out.push(Summary {
            key: key.clone(),
            lr,
            seeds: done.iter().map(|r| r.seed).collect(),
            diverged_seeds,
            epochs: (last_epochs.iter().copied().min().unwrap_or(0), last_epochs.iter().copied().max().unwrap_or(0)),
            final_train_loss: mean(&finals(|e| e.train_loss)),
            final_test_acc: mean(&accs),
            final_test_acc_std: std_dev(&accs),
            best_test_acc: mean(&best),
            seconds_per_epoch: mean(&per_epoch),
            early_epoch: early,
            early_train_loss: mean_at(&train_loss, early),
            inverse_fallbacks: done.iter().filter_map(|r| r.inverse_fallbacks).sum(),
            train_loss,
            test_error: bands(&done, |e| 100.0 * (1.0 - e.test_accuracy)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::fixtures::{close, diverged, run};

    #[test]
    fn summary_aggregates_the_selected_lr_over_seeds() {
        let mut runs = vec![
            run("plain", "rngd", 0.03, 1, 0.96, 1.0, 4),
            run("plain", "rngd", 0.03, 2, 0.97, 2.0, 4),
            run("plain", "rngd", 0.03, 3, 0.98, 3.0, 4),
            diverged(run("plain", "rngd", 0.03, 4, 0.5, 1.0, 2)),
            // Not the selected lr: ignored.
            run("plain", "rngd", 0.1, 1, 0.10, 9.0, 4),
        ];
        runs[0].epochs[1].test_accuracy = 0.99;
        runs[2].inverse_fallbacks = Some(2);
        let chosen = BTreeMap::from([(Key::new("plain", "rngd"), 0.03)]);
        let s = &summarise(&runs, &chosen)[0];
        assert_eq!(s.seeds, vec![1, 2, 3]);
        assert_eq!(s.diverged_seeds, vec![4]);
        assert_eq!(s.epochs, (4, 4));
        assert!(close(s.final_test_acc, 0.97));
        assert!(close(s.final_test_acc_std.unwrap(), 0.01));
        assert!(close(s.final_train_loss, (1.0 + 2.0 + 3.0) / 3.0 / 4.0));
        assert!(close(s.best_test_acc, (0.99 + 0.97 + 0.98) / 3.0));
        assert!(close(s.seconds_per_epoch, 0.5));
        // A tenth of 4 epochs rounds down to the first: losses 1, 2, 3 there.
        assert_eq!(s.early_epoch, 1);
        assert!(close(s.early_train_loss.unwrap(), 2.0));
        assert_eq!((early_epoch(100), early_epoch(25), early_epoch(3)), (10, 2, 1));
        assert_eq!(s.inverse_fallbacks, 2);
        assert_eq!(s.train_loss.len(), 4);
        let b = &s.train_loss[1];
        assert_eq!(b.epoch, 2);
        assert!(close(b.mean, 1.0) && close(b.min, 0.5) && close(b.max, 1.5));
        let e = &s.test_error[1];
        assert!(close(e.min, 1.0) && close(e.max, 3.0) && close(e.mean, 2.0));
    }
}
