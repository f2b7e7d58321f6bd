//! How much arithmetic a step is, and how fast this core can do arithmetic at
//! best, so the benchmark can say what fraction of the machine a step uses.
//!
//! The counts are nominal: the matrix products and factorisations a step is
//! made of, 2 flops per multiply-add, and none of the element-wise work
//! (activations, batch norm, the update itself). The metric refresh is done in
//! f64 but counted like the rest. They are a yardstick, not a profile.

use std::hint::black_box;

use ndarray::linalg::general_mat_mul;
use ndarray::Array2;

use rngd_lab::clock::Stopwatch;
use rngd_lab::{OptimizerKind, TrainConfig};

/// Nominal flops of one step of `config` on a network with layer `sizes` (input to output).
pub fn per_step(config: &TrainConfig, sizes: &[usize]) -> f64 {
    let b = config.batch as f64;
    let layers = sizes.len() - 1;
    let mut flops = 0.0;
    for l in 0..layers {
        let (d_in, d_out) = (sizes[l] as f64, sizes[l + 1] as f64);
        // Forward, the weight gradient, and the gradient into the layer's input (not for the first).
        flops += 2.0 * b * d_in * d_out * if l == 0 { 2.0 } else { 3.0 };
        if config.optimizer != OptimizerKind::Rngd {
            continue;
        }
        let r = &config.rngd;
        let dim = d_in + 1.0;
        let (k, t) = (r.metric_every as f64, r.refresh as f64);
        let per_neuron = l > 0 && l + 1 < layers;
        if per_neuron {
            // The packed update νᵀ·P (m × B × D(D+1)/2), one D×D matrix-vector
            // product per neuron, and a Cholesky inverse (≈ D³) per neuron.
            flops += 2.0 * d_out * b * dim * (dim + 1.0) / 2.0 / k;
            flops += 2.0 * d_out * dim * dim;
            flops += d_out * dim * dim * dim / t;
        } else {
            flops += 2.0 * b * dim * dim / k;
            let rank = r.input_rank as f64;
            if r.input_rank > 0 && rank < dim {
                // V·(coef ⊙ Vᵀg), and one subspace-iteration step (two D×D×r products).
                flops += 4.0 * dim * rank * d_out;
                flops += 4.0 * dim * dim * rank / t;
            } else {
                flops += 2.0 * dim * dim * d_out;
                flops += dim * dim * dim / t;
            }
        }
    }
    flops
}

/// The f32 matrix-product rate of one core, in flop/s: the median of several
/// 512×512×512 products by the same kernel the CPU path uses (matrixmultiply,
/// through ndarray), after one untimed product.
pub fn gemm_peak() -> f64 {
    const N: usize = 512;
    let a = Array2::from_shape_fn((N, N), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
    let b = Array2::from_shape_fn((N, N), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.1);
    let mut c = Array2::<f32>::zeros((N, N));
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let clock = Stopwatch::start();
            general_mat_mul(1.0, black_box(&a), black_box(&b), 0.0, &mut c);
            black_box(&c);
            2.0 * (N * N * N) as f64 / clock.seconds()
        })
        .collect();
    rates.sort_by(|x, y| x.partial_cmp(y).expect("finite rates"));
    rates[rates.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_counts_three_products_per_layer_but_the_first() {
        let config = TrainConfig { hidden: vec![3], batch: 2, ..TrainConfig::default() };
        // 4 → 3 → 2: layer 0 forward + dW = 2·(2·2·4·3); layer 1 forward + dW + dH = 3·(2·2·3·2).
        assert_eq!(per_step(&config, &[4, 3, 2]), 96.0 + 72.0);
    }

    #[test]
    fn rngd_costs_more_and_its_speed_options_cost_less() {
        let sizes = [784, 80, 80, 80, 10];
        let sgd = per_step(&TrainConfig::default(), &sizes);
        let literal = TrainConfig { optimizer: OptimizerKind::Rngd, ..TrainConfig::default() };
        let mut fast = literal.clone();
        fast.rngd = rngd_lab::optim::RngdPreset::Fast.apply(fast.rngd);
        let (l, f) = (per_step(&literal, &sizes), per_step(&fast, &sizes));
        assert!(l > 5.0 * sgd && f < l && f > sgd, "sgd {sgd}, literal {l}, fast {f}");
    }
}
