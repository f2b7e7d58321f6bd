//! GPU-against-CPU checks on random problems, shared by the native tests, the
//! browser tests and the page's own start-up check, so all three test the same thing.

use ndarray::{Array2, Array3};
use rand::Rng;

use super::{cpu, gpu};
use crate::rng::{self, Stream};

/// Largest accepted |GPU − CPU| relative to the largest |CPU| entry. Both sum
/// the same f32 products in different orders, so the difference is a few ulps
/// of the result per accumulated term; 1e-5 leaves room for batches of hundreds.
pub const METRIC_TOLERANCE: f32 = 1e-5;

/// A random metric-update problem: symmetric metrics near the identity,
/// augmented inputs in [-1, 1] with a last column of ones, selectors in [0, 1].
pub fn random_problem(dim: usize, batch: usize, neurons: usize, seed: u64) -> (Array3<f32>, Array2<f32>, Array2<f32>) {
    let mut r = rng::stream(seed, Stream::Test);
    let mut g = Array3::<f32>::zeros((neurons, dim, dim));
    for i in 0..neurons {
        for a in 0..dim {
            for b in a..dim {
                let v = if a == b { 1.0 + r.random_range(0.0..0.5) } else { r.random_range(-0.1..0.1) };
                g[[i, a, b]] = v;
                g[[i, b, a]] = v;
            }
        }
    }
    let h = Array2::from_shape_fn((batch, dim), |(_, a)| if a + 1 == dim { 1.0 } else { r.random_range(-1.0..1.0) });
    let nu = Array2::from_shape_simple_fn((batch, neurons), || r.random_range(0.0..1.0));
    (g, h, nu)
}

/// Runs the metric update on the GPU and on the CPU and returns the largest
/// difference relative to the largest entry.
pub async fn metric_update_check(
    ctx: &gpu::GpuContext,
    dim: usize,
    batch: usize,
    neurons: usize,
    seed: u64,
) -> Result<f32, gpu::GpuError> {
    let lambda = 0.05;
    let (mut g, h, nu) = random_problem(dim, batch, neurons, seed);
    let kernel = gpu::MetricUpdateKernel::new(ctx);
    let got = kernel
        .run(
            ctx,
            g.as_slice().unwrap(),
            h.as_slice().unwrap(),
            nu.as_slice().unwrap(),
            gpu::MetricShape { batch, dim, neurons },
            lambda,
        )
        .await?;
    cpu::metric_update(&mut g, h.view(), nu.view(), lambda);
    let scale = g.iter().fold(0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    Ok(g.iter().zip(&got).fold(0f32, |m, (c, x)| m.max((c - x).abs())) / scale)
}
