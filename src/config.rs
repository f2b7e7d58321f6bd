//! The configuration of one training run, shared by the CLI and the browser.
//!
//! Every field has the paper's default, and `validate` turns a bad value into an
//! error that names the field, before any work starts.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Activation, Arch};
use crate::optim::{AdamConfig, OptimizerKind, RngdConfig};

/// A refused config: the field at fault (its path in the JSON config, such as
/// `lr` or `rngd.lambda`, so that the page can show the message next to the
/// control) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid config: {message}")]
pub struct ConfigError {
    pub field: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError { field, message: message.into() }
    }
}

/// Where a run trains. `Auto` takes a hardware GPU adapter when there is one and
/// the CPU otherwise: software adapters (lavapipe, SwiftShader) are slower than
/// the CPU path. `Gpu` insists on an adapter, software ones included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Gpu, BackendChoice::Cpu];

    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        }
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        BackendChoice::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown backend {s:?}; expected auto, gpu or cpu"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub optimizer: OptimizerKind,
    pub arch: Arch,
    pub activation: Activation,
    /// Widths of the hidden layers; input (784) and output (10) are implied.
    pub hidden: Vec<usize>,
    /// Learning rate γ; `None` takes the optimizer's default (see [`default_lr`]).
    pub lr: Option<f64>,
    /// Heavy-ball momentum on the update, any optimizer; 0 is off.
    pub momentum: f64,
    /// Decoupled weight decay, any optimizer; 0 is off (the paper uses `l2` instead).
    pub weight_decay: f64,
    pub batch: usize,
    pub seed: u64,
    /// L2 coefficient β on the weights (not the biases), inside the loss.
    pub l2: f64,
    /// Standard deviation of the truncated-normal initialisation.
    pub init_std: f64,
    pub adam: AdamConfig,
    pub rngd: RngdConfig,
    /// Where to train: "auto" (a hardware GPU if there is one), "gpu" or "cpu".
    pub backend: BackendChoice,
    /// SGD and Adam: learn the metric RNGD would learn, read-only, beside the
    /// run, so that the diagnostics compare the three runs' geometry like with
    /// like (see `optim::track`). Off by default: on the CPU it costs about a
    /// third of an SGD step, which timings and benchmarks must not pay unasked.
    /// The page turns it on. RNGD learns its own metric and ignores this.
    pub track_metric: bool,
}

/// Learning rates that train well within a few epochs on the bundled subset
/// with the default network (compare `rngd-lab train --optimizer X --epochs 5
/// --lr ...`). Long runs want smaller ones: the 100-epoch experiment chooses its
/// own on validation digits (`results/table.md`).
pub fn default_lr(kind: OptimizerKind) -> f64 {
    match kind {
        OptimizerKind::Sgd => 0.1,
        OptimizerKind::Adam => 1e-3,
        OptimizerKind::Rngd => 0.05,
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: OptimizerKind::Sgd,
            arch: Arch::Plain,
            activation: Activation::Relu,
            hidden: vec![80, 80, 80],
            lr: None,
            momentum: 0.0,
            weight_decay: 0.0,
            batch: 50,
            seed: 1,
            l2: 1e-3,
            init_std: 0.1,
            adam: AdamConfig::default(),
            rngd: RngdConfig::default(),
            backend: BackendChoice::Auto,
            track_metric: false,
        }
    }
}

/// The largest hidden width we accept; wider layers would only exhaust memory in a browser tab.
pub const MAX_WIDTH: usize = 4096;
/// The most hidden layers we accept. The paper's networks have 3 to 5; past a
/// few dozen plain MLPs do not train at all, and every layer is a GPU dispatch.
pub const MAX_DEPTH: usize = 64;
/// The largest L2 coefficient: β·‖w‖² is added to the loss, and with β above 1
/// the penalty, not the data, decides every step (1e300 overflows at step 1).
pub const MAX_L2: f64 = 1.0;

/// A number in a message as a person would write it: 1e300 rather than a
/// 301-digit integer, 0.5 rather than 0.5000000000000001's cousins, NaN and inf as they are.
pub struct Num(pub f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0.abs();
        if a.is_finite() && a != 0.0 && !(1e-4..1e6).contains(&a) {
            write!(f, "{:e}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// `Ok` when `ok`, else the error for `field`.
pub(crate) fn check(ok: bool, field: &'static str, msg: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, msg()))
    }
}

impl TrainConfig {
    /// The learning rate in force: the configured one or the optimizer's default.
    pub fn lr(&self) -> f64 {
        self.lr.unwrap_or_else(|| default_lr(self.optimizer))
    }

    /// The same config with every default made explicit, for records.
    pub fn resolved(&self) -> TrainConfig {
        TrainConfig { lr: Some(self.lr()), ..self.clone() }
    }

    /// Checks every field; `train_rows` bounds the batch size.
    pub fn validate(&self, train_rows: usize) -> Result<(), ConfigError> {
        let lr = self.lr();
        check(lr.is_finite() && lr > 0.0, "lr", || format!("lr must be a positive number, got {}", Num(lr)))?;
        check(lr <= 100.0, "lr", || format!("lr {} is too large (at most 100)", Num(lr)))?;
        check((0.0..1.0).contains(&self.momentum), "momentum", || {
            format!("momentum must be in [0, 1), got {}", Num(self.momentum))
        })?;
        check(self.weight_decay.is_finite() && (0.0..1.0).contains(&self.weight_decay), "weight_decay", || {
            format!("weight_decay must be in [0, 1), got {}", Num(self.weight_decay))
        })?;
        check(!self.hidden.is_empty(), "hidden", || "hidden must list at least one layer width".into())?;
        check(self.hidden.len() <= MAX_DEPTH, "hidden", || {
            format!("at most {MAX_DEPTH} hidden layers, got {}", self.hidden.len())
        })?;
        check(self.hidden.iter().all(|&w| (1..=MAX_WIDTH).contains(&w)), "hidden", || {
            format!("every hidden width must be in 1..={MAX_WIDTH}, got {:?}", self.hidden)
        })?;
        check(self.batch >= 1 && self.batch <= train_rows, "batch", || {
            format!("batch must be in 1..={train_rows} (the training rows), got {}", self.batch)
        })?;
        check(self.arch == crate::model::Arch::Plain || self.batch >= 2, "batch", || {
            "batch norm (arch bna) needs a batch of at least 2".into()
        })?;
        check(self.l2.is_finite() && (0.0..=MAX_L2).contains(&self.l2), "l2", || {
            format!("l2 must be in [0, {MAX_L2}], got {}", Num(self.l2))
        })?;
        check(self.init_std.is_finite() && self.init_std > 0.0 && self.init_std <= 10.0, "init_std", || {
            format!("init_std must be in (0, 10], got {}", Num(self.init_std))
        })?;
        self.activation.validate().map_err(|m| ConfigError::new("activation", m))?;
        self.adam.validate()?;
        self.rngd.validate()?;
        self.rngd.validate_for(&self.sizes(crate::data::PIXELS, crate::data::CLASSES))?;
        crate::memory::check(self)?;
        Ok(())
    }

    /// Layer sizes from input to output.
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        std::iter::once(inputs).chain(self.hidden.iter().copied()).chain(std::iter::once(classes)).collect()
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn defaults_are_valid_and_match_the_paper() {
        let c = TrainConfig::default();
        c.validate(8000).unwrap();
        assert_eq!((c.batch, c.l2, c.init_std), (50, 1e-3, 0.1));
        assert_eq!(c.sizes(784, 10), vec![784, 80, 80, 80, 10]);
        assert_eq!((c.rngd.lambda, c.rngd.refresh, c.rngd.eps_rel, c.rngd.omega), (0.005, 100, 1e-4, 1.0));
        assert_eq!((c.adam.beta1, c.adam.beta2, c.adam.eps), (0.9, 0.999, 1e-8));
    }

    #[test]
    fn bad_values_name_the_field() {
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate(8000).unwrap_err().to_string()
        };
        let field = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate(8000).unwrap_err().field
        };
        // The field's path in the JSON config: the page shows the message next to that control.
        assert_eq!(field(|c| c.lr = Some(1e9)), "lr");
        assert!(bad(|c| c.lr = Some(1e9)).contains("lr 1e9 is too large"));
        assert!(bad(|c| c.l2 = 1e300).contains("l2 must be in [0, 1], got 1e300"));
        assert_eq!(field(|c| c.hidden = vec![80, 0]), "hidden");
        assert_eq!(field(|c| c.rngd.refresh = 0), "rngd.refresh");
        assert_eq!(field(|c| c.adam.beta2 = 1.0), "adam.beta2");
        assert_eq!(field(|c| c.activation = Activation::Prelu { leak: 2.0 }), "activation");
        assert!(bad(|c| c.lr = Some(f64::NAN)).contains("lr must be a positive number, got NaN"));
        assert!(bad(|c| c.lr = Some(-0.1)).contains("lr must be a positive number"));
        assert!(bad(|c| c.hidden.clear()).contains("hidden must list at least one"));
        assert!(bad(|c| c.hidden = vec![80, 0]).contains("every hidden width"));
        assert!(bad(|c| c.batch = 0).contains("batch must be in 1..=8000"));
        assert!(bad(|c| c.batch = 8001).contains("batch must be in 1..=8000"));
        assert!(bad(|c| c.l2 = f64::INFINITY).contains("l2"));
        assert!(bad(|c| c.momentum = 1.0).contains("momentum"));
        assert!(bad(|c| c.rngd.lambda = 2.0).contains("rngd lambda must be in (0, 1]"));
        assert!(bad(|c| c.rngd.refresh = 0).contains("refresh T"));
        assert!(bad(|c| c.adam.beta2 = -0.5).contains("adam betas"));
        assert!(bad(|c| c.activation = Activation::Elu { alpha: -1.0 }).contains("ELU alpha"));
        assert!(bad(|c| {
            c.arch = Arch::Bna;
            c.batch = 1
        })
        .contains("at least 2"));
    }

    #[test]
    fn unknown_fields_and_optimizers_are_rejected() {
        let e = serde_json::from_str::<TrainConfig>(r#"{"lr": 0.1, "learning_rate": 2}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `learning_rate`"), "{e}");
        let e = serde_json::from_str::<TrainConfig>(r#"{"optimizer": "lbfgs"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `lbfgs`"), "{e}");
        let e = serde_json::from_str::<TrainConfig>(r#"{"rngd": {"lambda": 0.1, "T": 3}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `T`"), "{e}");
        let c: TrainConfig =
            serde_json::from_str(r#"{"lr": 0.2, "optimizer": "rngd", "arch": "bna", "activation": "elu:0.5"}"#)
                .unwrap();
        assert_eq!((c.lr(), c.batch, c.arch, c.activation), (0.2, 50, Arch::Bna, Activation::Elu { alpha: 0.5 }));
        assert_eq!(TrainConfig { optimizer: OptimizerKind::Adam, ..Default::default() }.lr(), 1e-3);
    }
}
