//! CPU reference for the metric kernels. The GPU kernels are checked against these.

use ndarray::{Array3, ArrayView2, Axis};

/// The per-neuron metric update of RNGD (RNGD.md, step 2):
///
/// `G_i ← (1−λ)·G_i + λ·mean_k ν_ki h̃_k h̃_kᵀ` for every neuron `i`,
///
/// where `h` is the batch of augmented inputs (batch × D, last column 1),
/// `nu` the selectors (batch × neurons) and `g` holds one D×D metric per neuron.
pub fn metric_update(g: &mut Array3<f32>, h: ArrayView2<f32>, nu: ArrayView2<f32>, lambda: f32) {
    let (batch, dim) = h.dim();
    assert_eq!(nu.nrows(), batch, "one selector row per sample");
    assert_eq!(g.dim(), (nu.ncols(), dim, dim), "one D×D metric per neuron");
    let scale = lambda / batch as f32;
    for (i, mut gi) in g.axis_iter_mut(Axis(0)).enumerate() {
        // h̃ᵀ diag(ν_i) h̃, formed as (ν_i ⊙ h̃)ᵀ h̃.
        let weighted = &h * &nu.column(i).insert_axis(Axis(1));
        let outer = weighted.t().dot(&h);
        gi.zip_mut_with(&outer, |gv, &o| *gv = (1.0 - lambda) * *gv + scale * o);
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use ndarray::{array, Array2};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn one_sample_one_neuron_by_hand() {
        let mut g = Array3::from_shape_fn((1, 2, 2), |(_, a, b)| if a == b { 1.0 } else { 0.0 });
        let h = array![[2.0f32, 1.0]];
        let nu = array![[0.5f32]];
        metric_update(&mut g, h.view(), nu.view(), 0.1);
        // 0.9·I + 0.1·0.5·[[4,2],[2,1]]
        let want = array![[0.9 + 0.2, 0.1], [0.1, 0.9 + 0.05]];
        assert!((g.index_axis(Axis(0), 0).to_owned() - want).iter().all(|d| d.abs() < 1e-6));
    }

    #[test]
    fn zero_selector_only_decays() {
        let mut g = Array3::<f32>::ones((3, 4, 4));
        let h = Array2::<f32>::ones((5, 4));
        let nu = Array2::<f32>::zeros((5, 3));
        metric_update(&mut g, h.view(), nu.view(), 0.25);
        assert!(g.iter().all(|&v| (v - 0.75).abs() < 1e-7));
    }
}
