//! Seeded randomness. ChaCha8 gives the same numbers on every platform, so a
//! seed means the same initial weights and batches natively and in wasm.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Independent random streams drawn from one seed, one per purpose, so that
/// (for example) changing the optimizer never changes the initial weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Init = 1,
    Batches = 2,
    Validation = 3,
    Test = 4,
}

pub fn stream(seed: u64, purpose: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose as u64);
    rng
}

/// A normal sample with standard deviation `std`, redrawn while it lies beyond
/// two standard deviations (as TensorFlow's `truncated_normal`, which the paper used).
pub fn truncated_normal<R: Rng + ?Sized>(rng: &mut R, std: f64) -> f64 {
    loop {
        let z: f64 = StandardNormal.sample(rng);
        if z.abs() <= 2.0 {
            return z * std;
        }
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn truncated_normal_stays_in_range_with_the_right_spread() {
        let mut rng = stream(3, Stream::Test);
        let xs: Vec<f64> = (0..20_000).map(|_| truncated_normal(&mut rng, 0.1)).collect();
        assert!(xs.iter().all(|x| x.abs() <= 0.2));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        // A N(0, 1) truncated at ±2 has variance 0.7737; scaled by 0.1² here.
        assert!(mean.abs() < 0.003, "mean {mean}");
        assert!((var / 0.01 - 0.7737).abs() < 0.03, "variance ratio {}", var / 0.01);
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: u64 = stream(1, Stream::Init).random();
        let b: u64 = stream(1, Stream::Batches).random();
        assert_ne!(a, b);
        assert_eq!(a, stream(1, Stream::Init).random::<u64>());
    }
}
