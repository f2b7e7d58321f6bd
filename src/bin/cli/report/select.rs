//! Learning-rate selection: the rule stated in the `report` module documentation,
//! applied to the seed-1 runs of each (architecture, optimizer).

use std::collections::BTreeMap;

use super::key::Key;
use super::load::Run;

/// How one learning rate of the grid fared on seed 1.
#[derive(Clone, Debug, PartialEq)]
pub enum GridOutcome {
    /// Final-epoch validation accuracy.
    Validation(f64),
    Diverged,
    NoValidation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GridEntry {
    pub lr: f64,
    pub outcome: GridOutcome,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The seed-1 grid of each (arch, optimizer), by increasing lr.
    pub grid: BTreeMap<Key, Vec<GridEntry>>,
    /// The chosen lr of each (arch, optimizer) that has a candidate.
    pub chosen: BTreeMap<Key, f64>,
}

/// Epochs at the end of a run whose validation accuracies are averaged to score it.
pub const SELECTION_WINDOW: usize = 10;

/// Mean validation accuracy over the last [`SELECTION_WINDOW`] epochs (fewer if
/// the run is shorter). One epoch alone is too noisy: on 1,000 validation
/// digits a single digit is 0.1 %, and single-epoch scores tie or flip.
fn late_validation(r: &Run) -> Option<f64> {
    let tail: Vec<f64> =
        r.epochs.iter().rev().take(SELECTION_WINDOW).map(|e| e.validation_accuracy).collect::<Option<_>>()?;
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    (!tail.is_empty() && mean.is_finite()).then_some(mean)
}

/// Applies the selection rule (see the module documentation) to `runs`.
pub fn select(runs: &[Run]) -> Selection {
    let mut sel = Selection::default();
    for r in runs.iter().filter(|r| r.seed == 1) {
        let outcome = if !r.completed() {
            GridOutcome::Diverged
        } else {
            match late_validation(r) {
                Some(v) => GridOutcome::Validation(v),
                None => GridOutcome::NoValidation,
            }
        };
        sel.grid.entry(Key::of(r)).or_default().push(GridEntry { lr: r.lr, outcome });
    }
    for (key, grid) in sel.grid.iter_mut() {
        grid.sort_by(|a, b| a.lr.total_cmp(&b.lr));
        let mut best: Option<(f64, f64)> = None;
        for g in grid.iter() {
            if let GridOutcome::Validation(v) = g.outcome {
                // Strictly greater: on a tie the smaller lr (seen first) stays.
                if best.is_none_or(|(_, bv)| v > bv) {
                    best = Some((g.lr, v));
                }
            }
        }
        if let Some((lr, _)) = best {
            sel.chosen.insert(key.clone(), lr);
        }
    }
    sel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::fixtures::{diverged, run};

    #[test]
    fn selection_takes_best_seed1_validation_and_skips_diverged() {
        let runs = vec![
            run("plain", "sgd", 0.01, 1, 0.90, 1.0, 3),
            run("plain", "sgd", 0.1, 1, 0.95, 1.0, 3),
            diverged(run("plain", "sgd", 0.3, 1, 0.99, 1.0, 3)),
            // Other seeds never choose, however good.
            run("plain", "sgd", 0.03, 2, 0.999, 1.0, 3),
            run("plain", "rngd", 0.03, 1, 0.96, 1.0, 3),
            run("plain", "rngd", 0.01, 1, 0.96, 1.0, 3),
            run("bna", "sgd", 0.3, 1, 0.97, 1.0, 3),
            diverged(run("bna", "adam", 0.003, 1, 0.97, 1.0, 3)),
        ];
        let sel = select(&runs);
        assert_eq!(sel.chosen.get(&Key::new("plain", "sgd")), Some(&0.1));
        // A tie goes to the smaller lr.
        assert_eq!(sel.chosen.get(&Key::new("plain", "rngd")), Some(&0.01));
        assert_eq!(sel.chosen.get(&Key::new("bna", "sgd")), Some(&0.3));
        assert_eq!(sel.chosen.get(&Key::new("bna", "adam")), None);
        let grid = &sel.grid[&Key::new("plain", "sgd")];
        assert_eq!(grid.iter().map(|g| g.lr).collect::<Vec<_>>(), vec![0.01, 0.1, 0.3]);
        assert_eq!(grid[2].outcome, GridOutcome::Diverged);
        assert!(
            matches!(grid[1].outcome, GridOutcome::Validation(v) if (v - 0.95).abs() < 1e-12),
            "{:?}",
            grid[1].outcome
        );
        // PLAIN before BNA, SGD before Adam before RNGD.
        let order: Vec<(String, String)> = sel.grid.keys().map(|k| (k.arch.clone(), k.optimizer.clone())).collect();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(order, vec![s("plain", "sgd"), s("plain", "rngd"), s("bna", "sgd"), s("bna", "adam")]);
    }

    #[test]
    fn selection_uses_the_last_epochs_not_the_best() {
        let mut early = run("plain", "adam", 0.003, 1, 0.90, 1.0, 3);
        early.epochs[0].validation_accuracy = Some(0.99);
        let steady = run("plain", "adam", 0.001, 1, 0.95, 1.0, 3);
        let sel = select(&[early, steady]);
        assert_eq!(sel.chosen[&Key::new("plain", "adam")], 0.001);
    }
}
