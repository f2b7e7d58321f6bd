//! Softmax cross-entropy, computed stably from the logits.

use ndarray::{Array2, ArrayView2, Axis, NdFloat};

/// Row-wise softmax of `logits` (batch × classes), shifted by each row's max so exp never overflows.
pub fn softmax<F: NdFloat>(logits: ArrayView2<F>) -> Array2<F> {
    let mut p = logits.to_owned();
    for mut row in p.rows_mut() {
        let m = row.fold(F::neg_infinity(), |a, &b| a.max(b));
        row.mapv_inplace(|z| (z - m).exp());
        let s = row.sum();
        row.mapv_inplace(|e| e / s);
    }
    p
}

/// Mean cross-entropy of `labels` under softmax(`logits`), and the probabilities.
pub fn cross_entropy<F: NdFloat>(logits: ArrayView2<F>, labels: &[u8]) -> (F, Array2<F>) {
    assert_eq!(logits.nrows(), labels.len());
    let probs = softmax(logits);
    let mut total = F::zero();
    for (k, &y) in labels.iter().enumerate() {
        // log p = z_y − logsumexp(z), written from the logits for accuracy when p is tiny.
        let row = logits.row(k);
        let m = row.fold(F::neg_infinity(), |a, &b| a.max(b));
        let lse = m + row.fold(F::zero(), |a, &z| a + (z - m).exp()).ln();
        total = total + lse - row[y as usize];
    }
    (total / F::from(labels.len()).unwrap(), probs)
}

/// ∂(mean CE)/∂logits = (softmax − onehot) / batch.
pub fn cross_entropy_grad<F: NdFloat>(probs: &Array2<F>, labels: &[u8]) -> Array2<F> {
    let n = F::from(labels.len()).unwrap();
    let mut g = probs.clone();
    for (k, &y) in labels.iter().enumerate() {
        g[[k, y as usize]] -= F::one();
    }
    g.mapv_inplace(|v| v / n);
    g
}

/// Index of the largest logit in each row.
pub fn argmax_rows<F: NdFloat>(logits: ArrayView2<F>) -> Vec<usize> {
    logits
        .axis_iter(Axis(0))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, F::neg_infinity()), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) })
                .0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use ndarray::array;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let p = softmax(array![[1000.0f64, 1000.0, -1000.0]].view());
        assert!((p[[0, 0]] - 0.5).abs() < 1e-12 && p[[0, 2]] == 0.0);
        let (loss, _) = cross_entropy(array![[1000.0f64, -1000.0]].view(), &[1]);
        assert!((loss - 2000.0).abs() < 1e-9, "{loss}");
    }

    #[test]
    fn uniform_logits_give_log_classes() {
        let (loss, _) = cross_entropy(Array2::<f64>::zeros((4, 10)).view(), &[0, 1, 2, 3]);
        assert!((loss - 10f64.ln()).abs() < 1e-12);
    }
}
