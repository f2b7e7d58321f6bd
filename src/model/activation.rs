//! Hidden-layer activations: the function f, its derivative f′, and the
//! selector ν_f of the paper's RFIM table (RNGD.md, "One neuron").

use ndarray::NdFloat;
use serde::{Deserialize, Serialize};

/// Smoothing width ω of the (P)ReLU selector; the paper uses 1.
pub const DEFAULT_OMEGA: f64 = 1.0;

/// Written as a short string in configs and on the command line:
/// `relu`, `prelu:0.1` (leak), `elu:1.0` (alpha), `tanh`, `sigmoid`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Activation {
    Relu,
    /// Leaky/parametric ReLU with fixed leak ι ∈ [0, 1).
    Prelu {
        leak: f64,
    },
    Elu {
        alpha: f64,
    },
    Tanh,
    Sigmoid,
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let num = |default: f64| -> Result<f64, String> {
            arg.map_or(Ok(default), |a| {
                a.trim().parse::<f64>().map_err(|_| format!("bad number {a:?} in activation {s:?}"))
            })
        };
        let act = match name.trim() {
            "relu" if arg.is_none() => Activation::Relu,
            "prelu" => Activation::Prelu { leak: num(0.25)? },
            "elu" => Activation::Elu { alpha: num(1.0)? },
            "tanh" if arg.is_none() => Activation::Tanh,
            "sigmoid" if arg.is_none() => Activation::Sigmoid,
            _ => {
                return Err(format!(
                    "unknown activation {s:?}; expected relu, prelu[:leak], elu[:alpha], tanh or sigmoid"
                ))
            }
        };
        act.validate()?;
        Ok(act)
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::Prelu { leak } => write!(f, "prelu:{leak}"),
            Activation::Elu { alpha } => write!(f, "elu:{alpha}"),
            other => f.write_str(other.name()),
        }
    }
}

impl TryFrom<String> for Activation {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Activation> for String {
    fn from(a: Activation) -> String {
        a.to_string()
    }
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
                Err(format!("PReLU leak must be in [0, 1), got {}", crate::config::Num(leak)))
            }
            Activation::Elu { alpha } if !(alpha.is_finite() && alpha > 0.0) => {
                Err(format!("ELU alpha must be a positive number, got {}", crate::config::Num(alpha)))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

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
    fn parses_and_prints_the_short_form() {
        for a in ALL {
            assert_eq!(a.to_string().parse::<Activation>().unwrap(), a);
        }
        assert_eq!("prelu".parse::<Activation>().unwrap(), Activation::Prelu { leak: 0.25 });
        assert!("prelu:1.5".parse::<Activation>().unwrap_err().contains("leak must be in [0, 1)"));
        assert!("relu:2".parse::<Activation>().unwrap_err().contains("unknown activation"));
        assert!("swish".parse::<Activation>().unwrap_err().contains("unknown activation"));
        let json = serde_json::to_string(&Activation::Elu { alpha: 2.0 }).unwrap();
        assert_eq!(json, "\"elu:2\"");
    }

    #[test]
    fn validation_rejects_out_of_range_parameters() {
        assert!(Activation::Prelu { leak: 1.0 }.validate().is_err());
        assert!(Activation::Elu { alpha: f64::NAN }.validate().is_err());
        assert!(Activation::Tanh.validate().is_ok());
    }
}
