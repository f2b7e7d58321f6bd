//! Running the recorded dispatches: training steps, evaluation, and copies
//! of the device state back to the host.

use ndarray::{s, Array2, ArrayView1};

use super::*;

/// A part of one step, as encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Gather, forward, loss, backward.
    Gradient,
    /// RNGD's metric updates.
    Metrics,
    /// RNGD's preconditioning and the optimizer's update.
    Update,
}

impl GpuEngine {
    pub fn describe(&self) -> String {
        self.ctx.describe()
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Adam's bias corrections for step `t` (1-based), computed exactly as the CPU's Adam does.
    fn adam_corrections(&self, t: u64) -> (f32, f32) {
        match self.optim.adam {
            Some(c) => {
                let t = t.min(i32::MAX as u64) as i32;
                (1.0 - (c.beta1 as f32).powi(t), 1.0 - (c.beta2 as f32).powi(t))
            }
            None => (1.0, 1.0),
        }
    }

    fn record(&self, parts: &[(usize, Phase)]) -> wgpu::CommandBuffer {
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("steps") });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes: None });
            for &(j, phase) in parts {
                let list = match phase {
                    Phase::Gradient => &self.forward_backward,
                    Phase::Metrics => &self.metric_updates,
                    Phase::Update => &self.update,
                };
                let offset = (j as u64 * STEP_STRIDE) as u32;
                for d in list {
                    d.encode(&mut pass, (&self.step_group, offset));
                }
            }
        }
        enc.finish()
    }

    /// Runs one step per minibatch in `rows` (each `batch` training-row
    /// numbers), the first being step `first` + 1. At most [`MAX_CHUNK`] steps.
    pub async fn run_steps(&mut self, first: u64, rows: &[u32]) -> Result<StepsOutcome, GpuError> {
        let n = rows.len() / self.batch;
        assert!((1..=MAX_CHUNK).contains(&n) && rows.len() == n * self.batch, "1..={MAX_CHUNK} whole minibatches");
        self.ctx.check()?;
        let mut infos = vec![0u8; n * STEP_STRIDE as usize];
        for j in 0..n {
            let t = first + j as u64 + 1;
            let (c1, c2) = self.adam_corrections(t);
            let info = StepInfo {
                index_offset: u(j * self.batch),
                step: t as u32,
                slot: u(j),
                valid: u(self.batch),
                c1,
                c2,
                bn_rate: crate::model::mlp::bn_running_rate(t) as f32,
                pad: 0,
            };
            let at = j * STEP_STRIDE as usize;
            infos[at..at + std::mem::size_of::<StepInfo>()].copy_from_slice(bytemuck::bytes_of(&info));
        }
        self.ctx.queue.write_buffer(&self.steps, 0, &infos);
        self.ctx.queue.write_buffer(&self.indices, 0, bytemuck::cast_slice(rows));

        let mut parts = Vec::with_capacity(3 * n);
        for j in 0..n {
            let t = first + j as u64;
            parts.push((j, Phase::Gradient));
            if self.optim.track_every.is_some_and(|k| t.is_multiple_of(k as u64)) {
                parts.push((j, Phase::Metrics));
            }
            if let Some(r) = &self.optim.rngd {
                if t.is_multiple_of(r.config.metric_every as u64) {
                    parts.push((j, Phase::Metrics));
                }
                if (t + 1).is_multiple_of(r.config.refresh as u64) {
                    // The CPU refreshes after this step's metric update and before
                    // its preconditioning: so does the GPU, between two submissions.
                    self.ctx.queue.submit([self.record(&parts)]);
                    parts.clear();
                    self.refresh().await?;
                }
            }
            parts.push((j, Phase::Update));
        }
        self.ctx.queue.submit([self.record(&parts)]);

        let bytes =
            self.ctx.read_regions(&self.result_staging, &[(&self.results, (n * 16) as u64), (&self.bad, 4)]).await?;
        let sums: &[f32] = bytemuck::cast_slice(&bytes[0]);
        let bad = bytemuck::cast_slice::<u8, u32>(&bytes[1])[0];
        let losses: Vec<f64> = sums
            .chunks_exact(4)
            .map(|r| {
                // As the CPU: mean cross-entropy plus l2/2 · Σ w², in f32.
                let data = r[0] / r[3];
                (data + 0.5 * self.l2 * r[2]) as f64
            })
            .collect();
        let by_loss = losses.iter().position(|l| !l.is_finite()).map(|j| (first + j as u64 + 1, losses[j]));
        let by_params = (bad != u32::MAX).then_some((bad as u64, f64::NAN));
        // The CPU checks the loss before the update, so at the same step the loss wins.
        let diverged = match (by_loss, by_params) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        Ok(StepsOutcome { losses, diverged })
    }

    /// RNGD's refresh: reads every metric back, inverts on the host and uploads
    /// the inverses.
    ///
    /// Why on the host: WGSL has no f64, and a metric damped by only
    /// `1e-4 · tr G` can have a condition number near 10⁴·D, where an f32
    /// Cholesky keeps almost no correct digits. The host's f64 Cholesky is the
    /// CPU backend's own code, so both backends fall back, and count, alike.
    /// It runs once every T steps and moves D² floats per shared metric and
    /// m·D² per per-neuron layer each way.
    async fn refresh(&mut self) -> Result<(), GpuError> {
        let bufs: Vec<&wgpu::Buffer> = self.metrics.iter().collect();
        let metrics = self.ctx.read_many(&bufs).await?;
        let r = self.optim.rngd.as_mut().expect("only RNGD refreshes");
        for (m, g) in r.metrics.iter_mut().zip(&metrics) {
            m.set_metric_dense(g);
        }
        r.refresh_inverses();
        for (m, buf) in r.metrics.iter().zip(&self.inverses) {
            let inv = m.inverse_dense();
            let inv = inv.as_standard_layout();
            self.ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(inv.as_slice().expect("standard layout")));
        }
        Ok(())
    }

    /// Mean cross-entropy and accuracy on the resident test set, in one submission.
    pub async fn evaluate_test(&self) -> Result<(f64, f64), GpuError> {
        self.ctx.check()?;
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("eval") });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("eval"), timestamp_writes: None });
            for c in 0..self.eval_chunks {
                for d in &self.evaluation {
                    d.encode(&mut pass, (&self.eval_group, (c as u64 * STEP_STRIDE) as u32));
                }
            }
        }
        self.ctx.queue.submit([enc.finish()]);
        let sums = self.ctx.read_f32(&self.eval_results).await?;
        let (mut ce, mut correct, mut rows) = (0.0f64, 0.0f64, 0.0f64);
        for r in sums.chunks_exact(4).take(self.eval_chunks) {
            ce += r[0] as f64;
            correct += r[1] as f64;
            rows += r[3] as f64;
        }
        Ok((ce / rows, correct / rows))
    }

    /// Copies back everything a run needs to go on elsewhere (the network and
    /// the optimizer's state) and, when asked, the latest minibatch's
    /// activations (for the diagnostics).
    pub async fn download(&self, with_activations: bool) -> Result<HostState, GpuError> {
        let mut bufs: Vec<&wgpu::Buffer> = vec![&self.params];
        bufs.extend(&self.running);
        if let Some((m1, m2)) = &self.moments {
            bufs.extend([m1, m2]);
        }
        bufs.extend(&self.velocity);
        bufs.extend(&self.metrics);
        if with_activations {
            bufs.extend(&self.train.xt);
            bufs.extend(&self.train.z);
        }
        let mut out = self.ctx.read_many(&bufs).await?.into_iter();
        let mut take = |k: usize| (&mut out).take(k).collect::<Vec<_>>();
        let params = take(1).remove(0);
        let running = take(self.running.len());
        let moments = self.moments.is_some().then(|| {
            let mut m = take(2);
            let second = m.pop().expect("two moments");
            (m.pop().expect("two moments"), second)
        });
        let velocity = self.velocity.is_some().then(|| take(1).remove(0));
        let metrics = take(self.metrics.len());
        let forward = with_activations.then(|| {
            let layers = self.sizes.len() - 1;
            (take(layers), take(layers))
        });
        Ok(HostState { params, running, moments, velocity, metrics, forward })
    }

    /// Writes downloaded state into the host's network, optimizer and tracked
    /// metric (SGD, Adam), whose shapes it came from; `steps` is the number of steps run. Returns the
    /// latest minibatch's forward pass when it was downloaded.
    pub fn store(
        &self,
        s: HostState,
        net: &mut Mlp<f32>,
        optimizer: &mut Optimizer,
        tracked: Option<&mut MetricTracker>,
        steps: u64,
    ) -> Option<Forward<f32>> {
        self.arena.scatter(&s.params, net);
        for (bn, r) in net.bn.iter_mut().zip(&s.running) {
            let w = bn.running_mean.len();
            bn.running_mean.assign(&ArrayView1::from(&r[..w]));
            bn.running_var.assign(&ArrayView1::from(&r[w..2 * w]));
            bn.updates = steps;
        }
        if let Some(v) = &s.velocity {
            if let Some(m) = &mut optimizer.momentum {
                self.arena.scatter_arrays(v, &mut m.velocity);
            }
        }
        match &mut optimizer.preconditioner {
            Preconditioner::Adam(a) => {
                if let Some((m1, m2)) = &s.moments {
                    self.arena.scatter_arrays(m1, &mut a.m);
                    self.arena.scatter_arrays(m2, &mut a.v);
                    a.t = steps as i32;
                }
            }
            Preconditioner::Rngd(r) => {
                if let (false, Some(host)) = (s.metrics.is_empty(), &self.optim.rngd) {
                    r.metrics = host.metrics.clone();
                    for (m, g) in r.metrics.iter_mut().zip(&s.metrics) {
                        m.set_metric_dense(g);
                    }
                    r.steps = steps;
                    r.refreshes = host.refreshes;
                }
            }
            Preconditioner::Identity => {}
        }
        if let (Some(t), false) = (tracked, s.metrics.is_empty()) {
            t.set_dense(&s.metrics, steps);
        }
        s.forward.map(|(xt, z)| {
            let rows = self.batch;
            let inputs = xt
                .into_iter()
                .enumerate()
                .map(|(l, v)| {
                    let full = Array2::from_shape_vec((rows, self.sizes[l] + 1), v).expect("rows × (d_in + 1)");
                    full.slice(s![.., ..self.sizes[l]]).to_owned()
                })
                .collect();
            let pre = z
                .into_iter()
                .enumerate()
                .map(|(l, v)| Array2::from_shape_vec((rows, self.sizes[l + 1]), v).expect("rows × d_out"))
                .collect();
            Forward { inputs, pre, bn: Vec::new() }
        })
    }

    /// Destroys the device, as a driver reset would (to test the fallback).
    pub fn lose_device(&self) {
        self.ctx.destroy();
    }
}
