//! Options shared by `train`, `compare` and `bench`, turned into a validated `TrainConfig`,
//! and how a run reports the backend it really trains on.

use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use rngd_lab::config::BackendChoice;
use rngd_lab::data::bundled;
use rngd_lab::model::{Activation, Arch};
use rngd_lab::{Dataset, TrainConfig, Trainer};

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Architecture: plain, or bna (batch norm after every hidden activation).
    #[arg(long, default_value = "plain")]
    pub arch: Arch,
    /// Activation: relu, prelu[:leak], elu[:alpha], tanh, sigmoid.
    #[arg(long, default_value = "relu")]
    pub activation: Activation,
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "80,80,80")]
    pub hidden: Vec<usize>,
    /// Minibatch size.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Epochs to train (passes over the training split).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub epochs: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// L2 coefficient on the weights, inside the loss.
    #[arg(long, default_value_t = 1e-3)]
    pub l2: f64,
    /// Standard deviation of the truncated-normal initialisation.
    #[arg(long, default_value_t = 0.1)]
    pub init_std: f64,
    /// Heavy-ball momentum on the update (any optimizer).
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Decoupled weight decay (any optimizer).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Adam β1.
    #[arg(long, default_value_t = 0.9)]
    pub beta1: f64,
    /// Adam β2.
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f64,
    /// Adam ε.
    #[arg(long, default_value_t = 1e-8)]
    pub adam_eps: f64,
    /// RNGD: EMA rate λ of the metrics.
    #[arg(long, default_value_t = 0.005)]
    pub lambda: f64,
    /// RNGD: steps T between inverse refreshes.
    #[arg(long, default_value_t = 100)]
    pub refresh: u32,
    /// RNGD: damping relative to the trace.
    #[arg(long, default_value_t = 1e-4)]
    pub eps_rel: f64,
    /// RNGD: absolute damping.
    #[arg(long, default_value_t = 0.0)]
    pub eps_abs: f64,
    /// RNGD: smoothing width ω of the (P)ReLU selector.
    #[arg(long, default_value_t = 1.0)]
    pub omega: f64,
    /// RNGD: update the metrics every k steps, with rate 1 − (1−λ)^k.
    #[arg(long, default_value_t = 1)]
    pub metric_every: u32,
    /// RNGD: rank of the input-layer inverse (0 = exact).
    #[arg(long, default_value_t = 0)]
    pub input_rank: usize,
    /// RNGD: a named setting of --metric-every, --input-rank and --refresh:
    /// literal (the paper's algorithm, the default) or fast.
    #[arg(long, conflicts_with_all = ["metric_every", "input_rank", "refresh"])]
    pub rngd_preset: Option<rngd_lab::optim::RngdPreset>,
    /// A folder of standard IDX files (train-*, and t10k-* or test-*), raw or gzipped.
    /// Default: the bundled 8,000/2,000 MNIST subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Hold out this many training digits as a validation split (for choosing
    /// hyperparameters; the test split is for reporting only).
    #[arg(long, default_value_t = 0)]
    pub validation: usize,
    /// Where to train: auto (a hardware GPU when there is one, else the CPU),
    /// gpu (any adapter, software ones included; fails without one) or cpu.
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// CPU threads for RNGD's per-neuron and metric work (metric updates,
    /// inverses, preconditioning); 0 is one per core. The default, 1, keeps
    /// timings single-core and comparable with the browser's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub threads: u16,
    /// The most memory a run may hold (weights, gradients, optimizer state,
    /// activations), checked before anything is allocated: bytes, or with a
    /// unit, as in 512M, 1.5G or 2GiB. Default: three quarters of this machine's memory.
    #[arg(long, value_parser = rngd_lab::memory::parse_size)]
    pub memory_budget: Option<u64>,
    /// SGD and Adam: learn RNGD's metric read-only beside the run, as the
    /// page does for its geometry view (every 10 steps); bench shows its cost.
    #[arg(long)]
    pub track_metric: bool,
}

/// The data a run trains on: training, test and optional validation splits.
pub struct RunData {
    pub data: Dataset,
    pub validation: Option<rngd_lab::data::Split>,
    /// Original training-file row of each row of `data.train`.
    pub train_rows: Vec<usize>,
    pub source: String,
}

impl RunArgs {
    pub fn config(&self, optimizer: rngd_lab::OptimizerKind, lr: Option<f64>) -> TrainConfig {
        let mut c = TrainConfig {
            optimizer,
            arch: self.arch,
            activation: self.activation,
            hidden: self.hidden.clone(),
            lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            batch: self.batch,
            seed: self.seed,
            l2: self.l2,
            init_std: self.init_std,
            backend: self.backend,
            track_metric: self.track_metric,
            ..TrainConfig::default()
        };
        c.adam.beta1 = self.beta1;
        c.adam.beta2 = self.beta2;
        c.adam.eps = self.adam_eps;
        c.rngd.lambda = self.lambda;
        c.rngd.refresh = self.refresh;
        c.rngd.eps_rel = self.eps_rel;
        c.rngd.eps_abs = self.eps_abs;
        c.rngd.omega = self.omega;
        c.rngd.metric_every = self.metric_every;
        c.rngd.input_rank = self.input_rank;
        if let Some(p) = self.rngd_preset {
            c.rngd = p.apply(c.rngd);
        }
        c
    }

    pub fn load(&self) -> Result<RunData, String> {
        rngd_lab::par::set_threads(self.threads as usize);
        if let Some(bytes) = self.memory_budget {
            rngd_lab::memory::set_budget(bytes);
        }
        let (full, source) = match &self.data {
            Some(d) => (Dataset::from_dir(d).map_err(|e| e.to_string())?, d.display().to_string()),
            None => (bundled::mnist_subset().map_err(|e| e.to_string())?, "bundled MNIST subset (assets/mnist)".into()),
        };
        if self.validation == 0 {
            let rows = (0..full.train.len()).collect();
            return Ok(RunData { data: full, validation: None, train_rows: rows, source });
        }
        let (data, val, rows) = full.carve_validation(self.validation, self.seed).map_err(|e| e.to_string())?;
        Ok(RunData { data, validation: Some(val), train_rows: rows, source })
    }
}

/// The backend a trainer really uses, as the library reports it
/// (`Trainer::backend()`): written into JSON records and printed for people.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendReport {
    /// "cpu" or "gpu".
    pub kind: String,
    /// The GPU adapter, when one was looked at.
    pub adapter: Option<String>,
    /// Why this backend: a sentence from the library.
    pub reason: String,
    /// After a GPU device loss: the steps replayed on the CPU.
    #[serde(default)]
    pub lost_steps: Option<u64>,
}

impl BackendReport {
    pub fn of(trainer: &Trainer) -> BackendReport {
        let value = serde_json::to_value(trainer.backend()).expect("the backend info serialises");
        serde_json::from_value(value).expect("the backend info has kind, adapter, reason and lost_steps")
    }

    pub fn is_gpu(&self) -> bool {
        self.kind == "gpu"
    }

    /// A software adapter (lavapipe/llvmpipe, SwiftShader, WARP): a CPU emulating
    /// a GPU, whose times say nothing about a real GPU.
    pub fn software(&self) -> bool {
        self.adapter.as_deref().is_some_and(is_software_adapter)
    }

    /// `gpu (llvmpipe (…), software adapter)` or `cpu`.
    pub fn label(&self) -> String {
        match (&self.adapter, self.is_gpu()) {
            (Some(a), true) if self.software() => format!("gpu ({a}, software adapter)"),
            (Some(a), true) => format!("gpu ({a})"),
            _ => self.kind.clone(),
        }
    }

    /// One line for people: what runs where, and why.
    pub fn line(&self) -> String {
        let lost = match self.lost_steps {
            Some(n) => format!(" [GPU device lost: {n} steps replayed on the CPU]"),
            None => String::new(),
        };
        format!("backend {}: {}{lost}", self.label(), self.reason)
    }
}

/// Adapter descriptions of wgpu (`name (backend, device type)`) and of browsers
/// that are software renderers.
pub fn is_software_adapter(adapter: &str) -> bool {
    let a = adapter.to_ascii_lowercase();
    a.contains(", cpu)")
        || ["llvmpipe", "lavapipe", "swiftshader", "softpipe", "microsoft basic render"].iter().any(|s| a.contains(s))
}
