//! A run on the GPU backend, as seen from the trainer: steps in chunks of one
//! submission, the host copy (checkpoint) the run falls back to if the GPU
//! fails, and the copies back for diagnostics.

use super::backend::{BackendInfo, BackendKind};
use super::{block_on, Trainer};
use crate::backend::gpu::GpuError;
use crate::data::BatchOrder;

/// Steps between the GPU state copies a run falls back to if the device is lost.
/// A copy is taken at a snapshot once this many steps have passed since the last.
pub const CHECKPOINT_EVERY: u64 = 500;

/// The host's copy of a GPU run: the network and optimizer state (held in the
/// trainer) are as of `step`, with the batch order as it was then.
#[derive(Debug, Clone)]
pub(super) struct Checkpoint {
    pub(super) step: u64,
    pub(super) order: BatchOrder,
}

impl Trainer {
    /// `n` steps on the GPU, with one read-back of their losses.
    pub(super) async fn gpu_steps(&mut self, n: usize) -> Result<(), GpuError> {
        let engine = self.gpu.as_mut().expect("a GPU run");
        let mut order = self.order.clone();
        let mut rows = Vec::with_capacity(n * self.config.batch);
        for _ in 0..n {
            rows.extend(order.next_batch().iter().map(|&r| r as u32));
        }
        let out = engine.run_steps(self.step, &rows).await?;
        self.order = order;
        self.last_batch.clear();
        self.last_batch.extend(rows[(n - 1) * self.config.batch..].iter().map(|&r| r as usize));
        self.last_forward = None;
        for &loss in &out.losses {
            self.step += 1;
            // In the CPU's order: this step's loss first (not finite, or past
            // the growth limit), then the device's flag for a non-finite loss
            // or parameter at this step. The device has run the whole chunk,
            // so after a stop its state is ahead of the step reported; a
            // stopped run is not stepped again.
            if self.judge(loss) {
                return Ok(());
            }
            if let Some((step, loss)) = out.diverged.filter(|d| d.0 <= self.step) {
                self.step = step;
                self.judge(loss);
                return Ok(());
            }
            self.loss_sum += loss;
            self.loss_count += 1;
            self.last_loss = Some(loss);
        }
        Ok(())
    }

    /// After a GPU failure: back to the last checkpoint, on the CPU from now on.
    pub(super) fn fall_back(&mut self, e: GpuError) {
        let lost = self.step - self.checkpoint.step;
        self.gpu = None;
        self.step = self.checkpoint.step;
        self.order = self.checkpoint.order.clone();
        self.loss_sum = 0.0;
        self.loss_count = 0;
        self.last_forward = None;
        self.backend = BackendInfo {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: format!(
                "{e}; the run went on on the CPU from its copy at step {}, recomputing {lost} steps",
                self.checkpoint.step
            ),
            lost_steps: Some(lost),
        };
    }

    /// Copies the GPU run's state into [`Trainer::network`], [`Trainer::optimizer`]
    /// and [`Trainer::last_forward`], which also makes it the run's new checkpoint.
    /// Nothing to do on the CPU. If the GPU fails, the run falls back to the CPU.
    pub async fn sync_host_async(&mut self) {
        let Some(engine) = &self.gpu else { return };
        match engine.download(true).await {
            Ok(state) => {
                self.last_forward =
                    engine.store(state, &mut self.net, &mut self.optimizer, self.tracked.as_mut(), self.step);
                self.checkpoint = Checkpoint { step: self.step, order: self.order.clone() };
            }
            Err(e) => {
                let target = self.step;
                self.fall_back(e);
                self.catch_up(target);
            }
        }
    }

    pub fn sync_host(&mut self) {
        block_on(self.sync_host_async())
    }

    /// CPU steps until `target` (after a fall-back), stopping at a divergence.
    pub(super) fn catch_up(&mut self, target: u64) {
        while self.step < target && self.diverged.is_none() {
            self.one_step();
        }
    }

    /// Destroys the run's GPU device, as a driver reset would: the next call
    /// falls back to the CPU. For testing that path; nothing happens on the CPU.
    pub fn lose_device(&self) {
        if let Some(g) = &self.gpu {
            g.lose_device();
        }
    }
}
