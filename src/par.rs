//! Work over independent neurons, spread over the machine's cores natively
//! (rayon) and done in order on one thread in wasm, where the page already
//! runs each training run in its own worker.
//!
//! Natively the thread count is one until [`set_threads`] says otherwise, so
//! timings and benchmark ratios are single-core unless asked for, and runs are
//! bit-for-bit reproducible. With more threads, per-neuron work is still
//! computed by the same code whichever thread takes it, but [`gemm`] splits a
//! product into blocks, and the matrix kernel rounds a partial tile
//! differently from a whole one: results then agree with one thread's to f32
//! rounding, not to the bit.

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use rayon::prelude::*;
    use std::sync::OnceLock;

    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();

    /// Uses `n` threads (0: one per core) for the rest of the process. The
    /// first call wins: later ones return the count already in force.
    pub fn set_threads(n: usize) -> usize {
        POOL.get_or_init(|| {
            rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("a thread pool with default settings builds")
        })
        .current_num_threads()
    }

    pub fn threads() -> usize {
        POOL.get().map_or(1, |p| p.current_num_threads())
    }

    /// `f(i, chunk)` for every `size`-long chunk of `data`, on the pool when it has more than one thread.
    pub fn for_each_chunk<T: Send, F>(data: &mut [T], size: usize, f: F)
    where
        F: Fn(usize, &mut [T]) + Sync + Send,
    {
        match POOL.get() {
            Some(pool) if pool.current_num_threads() > 1 => {
                pool.install(|| data.par_chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c)))
            }
            _ => data.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c)),
        }
    }

    /// `f(item)` for every item, on the pool when it has more than one thread.
    pub fn for_each_item<T: Send, F>(items: Vec<T>, f: F)
    where
        F: Fn(T) + Sync + Send,
    {
        match POOL.get() {
            Some(pool) if pool.current_num_threads() > 1 => pool.install(|| items.into_par_iter().for_each(f)),
            _ => items.into_iter().for_each(f),
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    /// wasm runs on the calling thread: the count stays 1.
    pub fn set_threads(_n: usize) -> usize {
        1
    }

    pub fn threads() -> usize {
        1
    }

    pub fn for_each_chunk<T, F: Fn(usize, &mut [T])>(data: &mut [T], size: usize, f: F) {
        data.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    }

    pub fn for_each_item<T, F: Fn(T)>(items: Vec<T>, f: F) {
        items.into_iter().for_each(f);
    }
}

pub use imp::{for_each_chunk, for_each_item, set_threads, threads};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

/// `c ← α·a·b + β·c`, split over the threads along c's longer side (one
/// product when there is one thread). Splitting the columns gives each thread
/// its own part of b, which matters when b is the big operand: the per-neuron
/// metric update's b holds every sample's packed outer product (33 MB on the
/// wide net), and a row split would make every thread pack all of it.
pub fn gemm(alpha: f32, a: &ArrayView2<f32>, b: &ArrayView2<f32>, beta: f32, c: &mut Array2<f32>) {
    let (rows, cols) = c.dim();
    let threads = threads();
    if threads <= 1 || rows.max(cols) < 2 * threads {
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    if cols >= rows {
        let per = cols.div_ceil(threads);
        let parts: Vec<(ArrayViewMut2<f32>, ArrayView2<f32>)> =
            c.axis_chunks_iter_mut(Axis(1), per).zip(b.axis_chunks_iter(Axis(1), per)).collect();
        for_each_item(parts, |(mut c_part, b_part)| general_mat_mul(alpha, a, &b_part, beta, &mut c_part));
    } else {
        let per = rows.div_ceil(threads);
        let parts: Vec<(ArrayViewMut2<f32>, ArrayView2<f32>)> =
            c.axis_chunks_iter_mut(Axis(0), per).zip(a.axis_chunks_iter(Axis(0), per)).collect();
        for_each_item(parts, |(mut c_part, a_part)| general_mat_mul(alpha, &a_part, b, beta, &mut c_part));
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn split_products_equal_the_whole_to_rounding() {
        // Natively this asks for two threads, so `gemm` really splits c's rows
        // (on one core the pool still has two threads). The other tests in this
        // process may then run their per-neuron work in parallel too, which is
        // what they should be indifferent to.
        let close = |x: &Array2<f32>, y: &Array2<f32>| {
            // Sums of 50 products of size ≤ 4·3: a few f32 ulps of 600 at most.
            x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs()))
        };
        let threads = set_threads(2);
        let a = Array2::from_shape_fn((37, 50), |(i, j)| ((i * 31 + j * 7) % 17) as f32 * 0.37 - 3.0);
        let b = Array2::from_shape_fn((50, 29), |(i, j)| ((i * 13 + j * 5) % 11) as f32 * 0.21 - 1.0);
        let mut c = Array2::from_shape_fn((37, 29), |(i, j)| (i + j) as f32 * 0.01);
        let mut want = c.clone();
        general_mat_mul(0.7, &a, &b, 0.9, &mut want);
        gemm(0.7, &a.view(), &b.view(), 0.9, &mut c);
        assert!(close(&c, &want), "with {threads} thread(s): {c} vs {want}");
        // A transposed operand, as the metric updates pass it.
        let mut c2 = Array2::zeros((50, 50));
        let mut want2 = c2.clone();
        general_mat_mul(1.0, &a.t(), &a, 0.0, &mut want2);
        gemm(1.0, &a.t(), &a.view(), 0.0, &mut c2);
        assert!(close(&c2, &want2));
        let mut seen = vec![0usize; 10];
        for_each_chunk(&mut seen, 3, |i, chunk| chunk.iter_mut().for_each(|v| *v = i + 1));
        assert_eq!(seen, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4]);
    }
}
