//! The order in which training rows are visited: a fresh seeded shuffle each epoch.
//!
//! The order depends only on the seed, never on the optimizer, so runs that are
//! compared see exactly the same minibatches.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::rng::{self, Stream};

#[derive(Debug, Clone)]
pub struct BatchOrder {
    rng: ChaCha8Rng,
    order: Vec<usize>,
    pos: usize,
    batch: usize,
    epoch: usize,
}

impl BatchOrder {
    /// `batch` must be in `1..=rows`; the config validates it before we get here.
    pub fn new(rows: usize, batch: usize, seed: u64) -> BatchOrder {
        assert!(batch >= 1 && batch <= rows, "batch {batch} must be in 1..={rows}");
        let mut rng = rng::stream(seed, Stream::Batches);
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut rng);
        BatchOrder { rng, order, pos: 0, batch, epoch: 0 }
    }

    /// The rows of the next minibatch. When fewer than a batch remain, they are
    /// dropped and a new epoch starts, so every batch has the same size.
    pub fn next_batch(&mut self) -> &[usize] {
        if self.pos + self.batch > self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
            self.epoch += 1;
        }
        let b = &self.order[self.pos..self.pos + self.batch];
        self.pos += self.batch;
        b
    }

    /// Full epochs completed so far.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Minibatches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len() / self.batch
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn each_epoch_is_a_permutation_and_epochs_differ() {
        let mut b = BatchOrder::new(10, 5, 7);
        let mut e0: Vec<usize> = [b.next_batch().to_vec(), b.next_batch().to_vec()].concat();
        let mut e1: Vec<usize> = [b.next_batch().to_vec(), b.next_batch().to_vec()].concat();
        assert_eq!(b.epoch(), 1);
        assert_ne!(e0, e1, "a new epoch must reshuffle");
        e0.sort();
        e1.sort();
        assert_eq!(e0, (0..10).collect::<Vec<_>>());
        assert_eq!(e1, e0);
    }

    #[test]
    fn same_seed_same_order_other_seed_other_order() {
        let take = |seed| {
            let mut b = BatchOrder::new(100, 10, seed);
            (0..25).flat_map(|_| b.next_batch().to_vec()).collect::<Vec<_>>()
        };
        assert_eq!(take(1), take(1));
        assert_ne!(take(1), take(2));
    }

    #[test]
    fn remainder_is_dropped_so_batches_are_full() {
        let mut b = BatchOrder::new(7, 3, 1);
        assert_eq!(b.batches_per_epoch(), 2);
        for _ in 0..10 {
            assert_eq!(b.next_batch().len(), 3);
        }
    }
}
