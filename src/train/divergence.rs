//! When a run has diverged, and what in its config most likely made it.
//!
//! A run stops when its training loss is not finite or has grown past
//! [`GROWTH_LIMIT`] times its first loss: a run at 1000× its starting loss has
//! left the region where the data shapes the steps (Adam at lr 100 reaches
//! 2.3e11 while every value stays finite), and it never comes back in the
//! epochs a lab run lasts.

use crate::config::{default_lr, Num, TrainConfig};
use crate::optim::OptimizerKind;

/// How many times its first loss a run's loss may reach before it is stopped.
pub const GROWTH_LIMIT: f64 = 1000.0;

/// Why a loss means divergence: `None` while the run is healthy. `first` is the
/// run's first training loss, when it has one.
pub(crate) fn verdict(loss: f64, first: Option<f64>) -> Option<String> {
    if !loss.is_finite() {
        return Some(format!("the loss became {loss}"));
    }
    let first = first.filter(|f| f.is_finite() && *f > 0.0)?;
    (loss > GROWTH_LIMIT * first)
        .then(|| format!("the loss reached {loss:.3e}, over {GROWTH_LIMIT}× its first value {first:.4}"))
}

/// The likely cause, from the config alone, as a sentence with advice: an L2
/// coefficient that outweighs the data, RNGD damping too weak to tame the
/// metric's small eigenvalues, or else the learning rate.
pub(crate) fn likely_cause(config: &TrainConfig) -> String {
    /// Past this the penalty β‖w‖² dominates the cross-entropy of an 80-wide network at its initial weights.
    const LARGE_L2: f64 = 0.1;
    /// Below this damping, ε = ε_rel·tr(G) + ε_abs no longer bounds the inverse's largest eigenvalue usefully.
    const WEAK_DAMPING: f64 = 1e-7;
    if config.l2 >= LARGE_L2 {
        return format!("The L2 coefficient (l2 = {}) is the likely cause: try a smaller one.", Num(config.l2));
    }
    let r = &config.rngd;
    if config.optimizer == OptimizerKind::Rngd && r.eps_rel < WEAK_DAMPING && r.eps_abs < WEAK_DAMPING {
        return format!(
            "RNGD's damping (eps_rel = {}, eps_abs = {}) is the likely cause: the inverse metric blows up \
             directions the metric barely sees; try a larger eps_rel, such as 1e-4.",
            Num(r.eps_rel),
            Num(r.eps_abs)
        );
    }
    let default = default_lr(config.optimizer);
    format!(
        "The learning rate (lr = {}; {}'s default is {}) is the likely cause: try a smaller one.",
        Num(config.lr()),
        config.optimizer.name(),
        Num(default)
    )
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_loss_diverges_when_not_finite_or_far_above_its_start() {
        assert_eq!(verdict(f64::NAN, Some(2.3)).unwrap(), "the loss became NaN");
        assert_eq!(verdict(f64::INFINITY, None).unwrap(), "the loss became inf");
        assert_eq!(verdict(2.3e11, Some(2.3)).unwrap(), "the loss reached 2.300e11, over 1000× its first value 2.3000");
        assert_eq!(verdict(2000.0, Some(2.3)), None);
        assert_eq!(verdict(5.0, None), None);
    }

    #[test]
    fn the_cause_is_read_from_the_config() {
        let c = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            likely_cause(&c)
        };
        assert!(c(|c| c.l2 = 0.5).starts_with("The L2 coefficient (l2 = 0.5)"));
        assert!(c(|c| {
            c.optimizer = OptimizerKind::Rngd;
            c.rngd.eps_rel = 0.0;
            c.rngd.eps_abs = 1e-9;
        })
        .starts_with("RNGD's damping (eps_rel = 0, eps_abs = 1e-9)"));
        assert_eq!(
            c(|c| c.lr = Some(5.0)),
            "The learning rate (lr = 5; sgd's default is 0.1) is the likely cause: try a smaller one."
        );
        // Weak damping matters only to RNGD.
        assert!(c(|c| c.rngd.eps_rel = 0.0).starts_with("The learning rate"));
    }
}
