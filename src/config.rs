//! The configuration of one training run, shared by the CLI and the browser.
//!
//! Every field has the paper's default, and `validate` turns a bad value into an
//! error that names the field, before any work starts.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
}

impl OptimizerKind {
    pub fn parse(s: &str) -> Result<OptimizerKind, ConfigError> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            other => Err(ConfigError(format!("unknown optimizer {other:?}; expected \"sgd\""))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid config: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub optimizer: OptimizerKind,
    /// Widths of the hidden layers; input (784) and output (10) are implied.
    pub hidden: Vec<usize>,
    pub lr: f64,
    pub momentum: f64,
    pub batch: usize,
    pub seed: u64,
    /// L2 coefficient β on the weights (not the biases).
    pub l2: f64,
    /// Standard deviation of the truncated-normal initialisation.
    pub init_std: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: OptimizerKind::Sgd,
            hidden: vec![80, 80, 80],
            lr: 0.1,
            momentum: 0.0,
            batch: 50,
            seed: 1,
            l2: 1e-3,
            init_std: 0.1,
        }
    }
}

/// The largest hidden width we accept; wider layers would only exhaust memory in a browser tab.
pub const MAX_WIDTH: usize = 4096;

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError(msg()))
    }
}

impl TrainConfig {
    /// Checks every field; `train_rows` bounds the batch size.
    pub fn validate(&self, train_rows: usize) -> Result<(), ConfigError> {
        check(self.lr.is_finite() && self.lr > 0.0, || format!("lr must be a positive number, got {}", self.lr))?;
        check(self.lr <= 100.0, || format!("lr {} is too large (at most 100)", self.lr))?;
        check((0.0..1.0).contains(&self.momentum), || format!("momentum must be in [0, 1), got {}", self.momentum))?;
        check(!self.hidden.is_empty(), || "hidden must list at least one layer width".into())?;
        check(self.hidden.iter().all(|&w| (1..=MAX_WIDTH).contains(&w)), || {
            format!("every hidden width must be in 1..={MAX_WIDTH}, got {:?}", self.hidden)
        })?;
        check(self.batch >= 1 && self.batch <= train_rows, || {
            format!("batch must be in 1..={train_rows} (the training rows), got {}", self.batch)
        })?;
        check(self.l2.is_finite() && self.l2 >= 0.0, || format!("l2 must be a number ≥ 0, got {}", self.l2))?;
        check(self.init_std.is_finite() && self.init_std > 0.0 && self.init_std <= 10.0, || {
            format!("init_std must be in (0, 10], got {}", self.init_std)
        })?;
        Ok(())
    }

    /// Layer sizes from input to output.
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        std::iter::once(inputs).chain(self.hidden.iter().copied()).chain(std::iter::once(classes)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_paper() {
        let c = TrainConfig::default();
        c.validate(8000).unwrap();
        assert_eq!((c.batch, c.l2, c.init_std), (50, 1e-3, 0.1));
        assert_eq!(c.sizes(784, 10), vec![784, 80, 80, 80, 10]);
    }

    #[test]
    fn bad_values_name_the_field() {
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate(8000).unwrap_err().to_string()
        };
        assert!(bad(|c| c.lr = f64::NAN).contains("lr must be a positive number, got NaN"));
        assert!(bad(|c| c.lr = -0.1).contains("lr must be a positive number"));
        assert!(bad(|c| c.hidden.clear()).contains("hidden must list at least one"));
        assert!(bad(|c| c.hidden = vec![80, 0]).contains("every hidden width"));
        assert!(bad(|c| c.batch = 0).contains("batch must be in 1..=8000"));
        assert!(bad(|c| c.batch = 8001).contains("batch must be in 1..=8000"));
        assert!(bad(|c| c.l2 = f64::INFINITY).contains("l2"));
        assert!(bad(|c| c.momentum = 1.0).contains("momentum"));
    }

    #[test]
    fn unknown_fields_and_optimizers_are_rejected() {
        let e = serde_json::from_str::<TrainConfig>(r#"{"lr": 0.1, "learning_rate": 2}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `learning_rate`"), "{e}");
        let e = serde_json::from_str::<TrainConfig>(r#"{"optimizer": "lbfgs"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `lbfgs`"), "{e}");
        let c: TrainConfig = serde_json::from_str(r#"{"lr": 0.2}"#).unwrap();
        assert_eq!((c.lr, c.batch), (0.2, 50));
    }
}
