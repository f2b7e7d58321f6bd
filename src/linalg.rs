//! Dense symmetric linear algebra for the metrics, through faer: Cholesky
//! inverses for RNGD's refresh, and eigen-decompositions for low-rank inverses
//! and the diagnostics. Computed in f64 because a metric damped by only
//! `1e-4 · tr(G)` can have a condition number near 10⁴·d.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use ndarray::{Array1, Array2, ArrayView2};
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum LinalgError {
    #[error("the matrix is not positive definite")]
    NotPositiveDefinite,
    #[error("the matrix has a non-finite entry")]
    NotFinite,
    #[error("the eigen-decomposition did not converge")]
    NoConvergence,
}

fn to_faer_f64(a: ArrayView2<f64>) -> Result<Mat<f64>, LinalgError> {
    if a.iter().any(|v| !v.is_finite()) {
        return Err(LinalgError::NotFinite);
    }
    Ok(Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]]))
}

/// [`sym_eigen`] for an f64 matrix.
pub fn sym_eigen_f64(a: ArrayView2<f64>) -> Result<(Array1<f64>, Array2<f64>), LinalgError> {
    let m = to_faer_f64(a)?;
    let evd = m.self_adjoint_eigen(Side::Lower).map_err(|_| LinalgError::NoConvergence)?;
    let n = a.nrows();
    Ok((Array1::from_shape_fn(n, |i| evd.S()[i]), Array2::from_shape_fn((n, n), |(i, j)| evd.U()[(i, j)])))
}

fn to_faer(a: ArrayView2<f32>, shift: f64) -> Result<Mat<f64>, LinalgError> {
    if a.iter().any(|v| !v.is_finite()) {
        return Err(LinalgError::NotFinite);
    }
    let n = a.nrows();
    Ok(Mat::from_fn(n, n, |i, j| a[[i, j]] as f64 + if i == j { shift } else { 0.0 }))
}

/// `(A + shift·I)⁻¹` for a symmetric positive-definite `A`, by Cholesky.
/// Only the lower triangle of `A` is read.
pub fn spd_inverse(a: ArrayView2<f32>, shift: f64) -> Result<Array2<f32>, LinalgError> {
    assert_eq!(a.nrows(), a.ncols(), "square matrix expected");
    let m = to_faer(a, shift)?;
    let llt = m.llt(Side::Lower).map_err(|_| LinalgError::NotPositiveDefinite)?;
    let inv = llt.inverse();
    let out = Array2::from_shape_fn(a.dim(), |(i, j)| inv[(i, j)] as f32);
    if out.iter().any(|v| !v.is_finite()) {
        return Err(LinalgError::NotFinite);
    }
    Ok(out)
}

/// Eigenvalues in increasing order and the matching unit eigenvectors (as
/// columns) of a symmetric matrix. Only the lower triangle is read.
pub fn sym_eigen(a: ArrayView2<f32>) -> Result<(Array1<f64>, Array2<f64>), LinalgError> {
    sym_eigen_f64(a.mapv(f64::from).view())
}

/// An orthonormal basis of the column space of a tall matrix (thin QR's Q).
pub fn orthonormal_basis(a: &Array2<f64>) -> Array2<f64> {
    let (n, r) = a.dim();
    let m = Mat::from_fn(n, r, |i, j| a[[i, j]]);
    let q = m.qr().compute_thin_Q();
    Array2::from_shape_fn((n, r.min(n)), |(i, j)| q[(i, j)])
}

/// Eigenvalues only, increasing.
pub fn sym_eigenvalues(a: ArrayView2<f32>) -> Result<Array1<f64>, LinalgError> {
    let m = to_faer(a, 0.0)?;
    let v = m.self_adjoint_eigenvalues(Side::Lower).map_err(|_| LinalgError::NoConvergence)?;
    Ok(Array1::from(v))
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use ndarray::array;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn inverse_of_a_known_matrix() {
        let a = array![[4.0f32, 2.0], [2.0, 3.0]];
        let inv = spd_inverse(a.view(), 0.0).unwrap();
        let id = a.dot(&inv);
        assert!((id - Array2::<f32>::eye(2)).iter().all(|d| d.abs() < 1e-6));
        // The shift is added to the diagonal before inverting.
        let inv2 = spd_inverse(Array2::<f32>::zeros((2, 2)).view(), 0.5).unwrap();
        assert_eq!(inv2, array![[2.0, 0.0], [0.0, 2.0]]);
    }

    #[test]
    fn indefinite_or_non_finite_matrices_fail_cleanly() {
        let a = array![[1.0f32, 2.0], [2.0, 1.0]]; // eigenvalues 3 and −1
        assert_eq!(spd_inverse(a.view(), 0.0), Err(LinalgError::NotPositiveDefinite));
        let b = array![[1.0f32, f32::NAN], [f32::NAN, 1.0]];
        assert_eq!(spd_inverse(b.view(), 0.0), Err(LinalgError::NotFinite));
    }

    #[test]
    fn orthonormal_basis_spans_the_columns() {
        let a = array![[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]];
        let q = orthonormal_basis(&a);
        assert!((q.t().dot(&q) - Array2::<f64>::eye(2)).iter().all(|d| d.abs() < 1e-12));
        // Projecting a's columns onto span(q) gives them back.
        let back = q.dot(&q.t().dot(&a));
        assert!((back - &a).iter().all(|d| d.abs() < 1e-12));
    }

    #[test]
    fn eigen_decomposition_reconstructs_the_matrix() {
        let a = array![[2.0f32, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]];
        let (vals, vecs) = sym_eigen(a.view()).unwrap();
        let want = [1.0, 3.0, 5.0];
        assert!(vals.iter().zip(want).all(|(v, w)| (v - w).abs() < 1e-12), "{vals}");
        let back = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
        assert!(back.iter().zip(a.iter()).all(|(b, &a)| (b - a as f64).abs() < 1e-12));
        assert_eq!(sym_eigenvalues(a.view()).unwrap(), vals);
    }
}
