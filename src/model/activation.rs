//! Hidden-layer activations: the function f, its derivative f′, and the
//! selector ν_f of the paper's RFIM table (RNGD.md, "One neuron").

use ndarray::NdFloat;
use serde::{Deserialize, Serialize};

/// Smoothing width ω of the (P)ReLU selector; the paper uses 1.
pub const DEFAULT_OMEGA: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    Relu,
    /// Leaky/parametric ReLU with fixed leak ι ∈ [0, 1).
    Prelu { leak: f64 },
    Elu { alpha: f64 },
    Tanh,
    Sigmoid,
}

fn c<F: NdFloat>(x: f64) -> F {
    F::from(x).expect("constant fits the float type")
}

fn sigm<F: NdFloat>(t: F) -> F {
    F::one() / (F::one() + (-t).exp())
}

impl Activation {
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Prelu { .. } => "prelu",
            Activation::Elu { .. } => "elu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }

    pub fn f<F: NdFloat>(&self, t: F) -> F {
        match *self {
            Activation::Relu => t.max(F::zero()),
            Activation::Prelu { leak } => {
                if t >= F::zero() {
                    t
                } else {
                    c::<F>(leak) * t
                }
            }
            Activation::Elu { alpha } => {
                if t >= F::zero() {
                    t
                } else {
                    c::<F>(alpha) * (t.exp() - F::one())
                }
            }
            Activation::Tanh => t.tanh(),
            Activation::Sigmoid => sigm(t),
        }
    }

    /// f′(t). At the kink of (P)ReLU we take the right derivative.
    pub fn df<F: NdFloat>(&self, t: F) -> F {
        match *self {
            Activation::Relu => {
                if t > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Activation::Prelu { leak } => {
                if t > F::zero() {
                    F::one()
                } else {
                    c(leak)
                }
            }
            Activation::Elu { alpha } => {
                if t >= F::zero() {
                    F::one()
                } else {
                    c::<F>(alpha) * t.exp()
                }
            }
            Activation::Tanh => F::one() - t.tanh().powi(2),
            Activation::Sigmoid => {
                let s = sigm(t);
                s * (F::one() - s)
            }
        }
    }

    /// The selector ν_f(t) with σ = 1: the neuron's RFIM is ν_f · x̃x̃ᵀ.
    /// For (P)ReLU it uses the smoothed model with width `omega`.
    pub fn nu<F: NdFloat>(&self, t: F, omega: f64) -> F {
        match *self {
            Activation::Relu => Activation::Prelu { leak: 0.0 }.nu(t, omega),
            Activation::Prelu { leak } => {
                let i = c::<F>(leak);
                let one_minus = F::one() - i;
                let s = i + one_minus * sigm(one_minus * t / c(omega));
                s * s
            }
            Activation::Elu { alpha } => {
                if t >= F::zero() {
                    F::one()
                } else {
                    c::<F>(alpha * alpha) * (c::<F>(2.0) * t).exp()
                }
            }
            Activation::Tanh => F::one() - t.tanh().powi(2),
            Activation::Sigmoid => {
                let s = sigm(t);
                s * (F::one() - s)
            }
        }
    }

    /// Checks the activation's own parameters.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Activation::Prelu { leak } if !(0.0..1.0).contains(&leak) => {
                Err(format!("PReLU leak must be in [0, 1), got {leak}"))
            }
            Activation::Elu { alpha } if !(alpha.is_finite() && alpha > 0.0) => {
                Err(format!("ELU alpha must be a positive number, got {alpha}"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 5] = [
        Activation::Relu,
        Activation::Prelu { leak: 0.1 },
        Activation::Elu { alpha: 1.5 },
        Activation::Tanh,
        Activation::Sigmoid,
    ];

    #[test]
    fn derivative_matches_finite_differences_away_from_kinks() {
        for a in ALL {
            for &t in &[-2.3f64, -0.7, 0.4, 1.9] {
                let h = 1e-6;
                let fd = (a.f(t + h) - a.f(t - h)) / (2.0 * h);
                assert!((fd - a.df(t)).abs() < 1e-6, "{a:?} at {t}: fd {fd} vs {}", a.df(t));
            }
        }
    }

    #[test]
    fn relu_selector_picks_active_samples() {
        let a = Activation::Relu;
        assert!(a.nu(8.0f64, 1.0) > 0.99);
        assert!(a.nu(-8.0f64, 1.0) < 1e-3);
        assert!((a.nu(0.0f64, 1.0) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn validation_rejects_out_of_range_parameters() {
        assert!(Activation::Prelu { leak: 1.0 }.validate().is_err());
        assert!(Activation::Elu { alpha: f64::NAN }.validate().is_err());
        assert!(Activation::Tanh.validate().is_ok());
    }
}
