//! The same seed gives the same initial weights and minibatches natively and in
//! wasm. This file runs under `cargo test` and, compiled for wasm32, in headless
//! Chrome; both must meet the same golden values.
//!
//! The golden values were printed by this test natively:
//! `cargo test --test determinism -- --nocapture` (see the eprintln below).

use rngd_lab::data::BatchOrder;
use rngd_lab::model::{Activation, Arch, Mlp};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Bit patterns of the first three initial weights of layer 0, and the sum of
/// all initial weights, for seed 1 and the paper's 784-80-80-80-10 network.
const GOLDEN_FIRST_WEIGHT_BITS: [u32; 3] = [1029173601, 1014394110, 3189804377];
const GOLDEN_WEIGHT_SUM: f64 = 8.313705163857549;
/// The first ten training rows visited with seed 1, batch 50, 8,000 rows.
const GOLDEN_FIRST_ROWS: [usize; 10] = [243, 7760, 5040, 7471, 6502, 609, 3113, 5403, 6203, 4590];

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn seed_fixes_initial_weights_and_batch_order_on_every_platform() {
    let net = Mlp::<f32>::new(&[784, 80, 80, 80, 10], Activation::Relu, Arch::Plain, 0.1, 1);
    let bits: Vec<u32> = net.weights[0].iter().take(3).map(|w| w.to_bits()).collect();
    let sum: f64 = net.weights.iter().flat_map(|w| w.iter()).map(|&w| w as f64).sum();
    let mut order = BatchOrder::new(8000, 50, 1);
    let rows: Vec<usize> = order.next_batch()[..10].to_vec();
    eprintln!("first weight bits {bits:?}, weight sum {sum:?}, first rows {rows:?}");
    assert_eq!(bits, GOLDEN_FIRST_WEIGHT_BITS);
    assert_eq!(sum, GOLDEN_WEIGHT_SUM);
    assert_eq!(rows, GOLDEN_FIRST_ROWS);
}
