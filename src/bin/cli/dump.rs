//! `--dump DIR`: the state of a run at chosen steps, as .npy files that numpy
//! reads directly, in a layout independent of our internal storage:
//!
//! - `init/W{l}.npy`: each layer's augmented (d_in+1)×d_out weights, bias in the last row;
//! - `batches.npy`: steps × batch training-row indices (rows of the training file) up to the last dump step;
//! - `meta.json`: sizes, architecture, activation, optimizer, every hyperparameter, data used;
//! - `step{t}/W{l}.npy`, `grad{l}.npy` after step t (the gradient that step used);
//!   for RNGD also `G{l}.npy` and `Ginv{l}.npy`: (d_in+1)² for a shared metric,
//!   d_out×(d_in+1)² for per-neuron metrics; under BNA also `bn_scale{j}.npy` and `bn_shift{j}.npy`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, ArrayViewD};
use ndarray_npy::WriteNpyExt;

use rngd_lab::Trainer;

use super::args::RunData;

pub struct DumpPlan {
    dir: PathBuf,
    steps: BTreeSet<u64>,
    f64: bool,
    batches: Vec<Vec<i64>>,
    train_rows: Vec<usize>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("could not write {}: {e}", path.display())
}

impl DumpPlan {
    pub fn new(dir: PathBuf, steps: &[u64], f64: bool) -> Result<DumpPlan, String> {
        if steps.is_empty() || steps.contains(&0) {
            return Err(format!("--dump-steps must list steps ≥ 1, got {steps:?}"));
        }
        if dir.exists() && !dir.is_dir() {
            return Err(format!("--dump {}: is a file; give a folder", dir.display()));
        }
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        Ok(DumpPlan { dir, steps: steps.iter().copied().collect(), f64, batches: Vec::new(), train_rows: Vec::new() })
    }

    fn write(&self, rel: &str, a: ArrayViewD<f32>) -> Result<(), String> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
        let file = std::fs::File::create(&path).map_err(|e| io_err(&path, e))?;
        let file = std::io::BufWriter::new(file);
        if self.f64 {
            a.mapv(|v| v as f64).write_npy(file).map_err(|e| io_err(&path, e))
        } else {
            a.write_npy(file).map_err(|e| io_err(&path, e))
        }
    }

    fn write_weights(&self, folder: &str, weights: &[Array2<f32>]) -> Result<(), String> {
        for (l, w) in weights.iter().enumerate() {
            self.write(&format!("{folder}/W{l}.npy"), w.view().into_dyn())?;
        }
        Ok(())
    }

    pub fn begin(&mut self, trainer: &Trainer, rd: &RunData) -> Result<(), String> {
        self.train_rows = rd.train_rows.clone();
        self.write_weights("init", &trainer.network().weights)?;
        let config = trainer.config().resolved();
        let net = trainer.network();
        let layouts: Vec<serde_json::Value> = match trainer.optimizer().rngd() {
            Some(r) => r
                .metrics
                .iter()
                .map(|m| serde_json::json!(if m.is_shared() { "shared" } else { "per_neuron" }))
                .collect(),
            None => Vec::new(),
        };
        let meta = serde_json::json!({
            "sizes": net.sizes(),
            "arch": config.arch,
            "activation": config.activation,
            "optimizer": config.optimizer,
            "config": config,
            "dtype": if self.f64 { "float64" } else { "float32" },
            "dump_steps": self.steps,
            "data": {
                "source": rd.source,
                "train_rows": rd.data.train.len(),
                "test_rows": rd.data.test.len(),
                "validation_rows": rd.validation.as_ref().map(|v| v.len()),
                "batches_index": "rows of the training file, before any validation split was carved out",
            },
            "metric_layout": layouts,
            "layout": {
                "W": "(d_in+1) x d_out, bias in the last row",
                "grad": "same as W: the loss gradient the step used",
                "G": "(d_in+1)^2 for a shared metric, d_out x (d_in+1)^2 for per-neuron metrics",
                "Ginv": "same as G: the stored inverse in force after the step",
            },
        });
        let path = self.dir.join("meta.json");
        std::fs::write(&path, serde_json::to_string_pretty(&meta).expect("plain data") + "\n")
            .map_err(|e| io_err(&path, e))
    }

    pub fn after_step(&mut self, trainer: &Trainer) -> Result<(), String> {
        let last = *self.steps.iter().next_back().expect("at least one step");
        let step = trainer.steps_done();
        if step <= last {
            self.batches.push(trainer.last_batch().iter().map(|&r| self.train_rows[r] as i64).collect());
        }
        if !self.steps.contains(&step) {
            return Ok(());
        }
        let folder = format!("step{step}");
        self.write_weights(&folder, &trainer.network().weights)?;
        let grads = trainer.last_gradients().expect("gradient recording is on while dumping");
        let layers = trainer.network().layers();
        for (l, g) in grads[..layers].iter().enumerate() {
            self.write(&format!("{folder}/grad{l}.npy"), g.view().into_dyn())?;
        }
        for (j, bn) in trainer.network().bn.iter().enumerate() {
            self.write(&format!("{folder}/bn_scale{j}.npy"), bn.scale.row(0).into_dyn())?;
            self.write(&format!("{folder}/bn_shift{j}.npy"), bn.shift.row(0).into_dyn())?;
        }
        if let Some(r) = trainer.optimizer().rngd() {
            for l in 0..layers {
                let g: ArrayD<f32> = r.metric_dense(l);
                let inv: ArrayD<f32> = r.inverse_dense(l);
                self.write(&format!("{folder}/G{l}.npy"), g.view())?;
                self.write(&format!("{folder}/Ginv{l}.npy"), inv.view())?;
            }
        }
        Ok(())
    }

    /// Writes `batches.npy` with the rows seen up to the last dump step; called once, when the run ends.
    pub fn finish(&self) -> Result<(), String> {
        let width = self.batches.first().map_or(0, |b| b.len());
        let flat: Vec<i64> = self.batches.iter().flatten().copied().collect();
        let arr = Array2::from_shape_vec((self.batches.len(), width), flat).expect("batches have equal size");
        let path = self.dir.join("batches.npy");
        let file = std::fs::File::create(&path).map_err(|e| io_err(&path, e))?;
        arr.write_npy(std::io::BufWriter::new(file)).map_err(|e| io_err(&path, e))
    }
}
