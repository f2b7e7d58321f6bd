//! Lesson (e): on an exponential family, mirror descent with the
//! log-partition function A is natural gradient descent.
//!
//! A family p(x | θ) = h(x) exp(θ·T(x) − A(θ)) has two coordinate systems:
//! the natural parameters θ and the mean parameters μ = ∇A(θ) = E[T(x)], with
//! θ = ∇A*(μ) for the convex conjugate A* (the negative entropy). The Fisher
//! information is F(θ) = ∇²A(θ) in θ, and ∇²A*(μ) = F(θ)⁻¹ in μ. The loss is
//! the cross-entropy to a target with mean parameters μ*,
//! L(θ) = A(θ) − θ·μ* (+ const) = KL(p* ‖ p_θ) + const, so ∇_θL = μ − μ* and
//! ∇_μL = ∇²A*(μ)(μ − μ*).
//!
//! The identities the lesson demonstrates, step by step, on a Bernoulli
//! (θ = logit) or a Gaussian N(m, s²) (θ = (m/s², −1/2s²), μ = (m, m² + s²)):
//!
//! 1. **Exact.** Mirror descent in θ with mirror map A,
//!    ∇A(θ_{t+1}) = ∇A(θ_t) − η ∇_θL(θ_t), i.e. μ_{t+1} = μ_t − η ∇_θL, is natural
//!    gradient descent in the *mean* parameters,
//!    μ_{t+1} = μ_t − η [∇²A*(μ_t)]⁻¹ ∇_μL(μ_t): the same iterates, to rounding.
//! 2. **Exact, dual.** Mirror descent in μ with mirror map A*,
//!    ∇A*(μ_{t+1}) = ∇A*(μ_t) − η ∇_μL, i.e. θ_{t+1} = θ_t − η ∇_μL, is natural
//!    gradient descent in the *natural* parameters, θ_{t+1} = θ_t − η F(θ_t)⁻¹ ∇_θL.
//! 3. **First order.** Natural gradient in θ and in μ (so mirror descent with
//!    A and with A*) agree to first order in η: one step from the same point
//!    differs by O(η²), since μ(θ + δ) = μ + F(θ)δ + O(|δ|²).
//!
//! The two sides of each identity are computed by different formulas
//! (∇A and ∇A* in closed form, F(θ) inverted against ∇²A*(μ) computed on its
//! own), so their agreement is a numerical check, not the same arithmetic twice.

use serde_json::{json, Value};

use super::params::Params;
use crate::Dataset;

/// The two families of the lesson.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    Bernoulli,
    Gaussian,
}

type V = Vec<f64>;
type M = Vec<Vec<f64>>;

fn sigm(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

impl Family {
    /// μ = ∇A(θ).
    pub fn mean_of(self, th: &[f64]) -> V {
        match self {
            Family::Bernoulli => vec![sigm(th[0])],
            Family::Gaussian => {
                let v = -1.0 / (2.0 * th[1]);
                let m = th[0] * v;
                vec![m, m * m + v]
            }
        }
    }

    /// θ = ∇A*(μ).
    pub fn natural_of(self, mu: &[f64]) -> V {
        match self {
            Family::Bernoulli => vec![(mu[0] / (1.0 - mu[0])).ln()],
            Family::Gaussian => {
                let v = mu[1] - mu[0] * mu[0];
                vec![mu[0] / v, -1.0 / (2.0 * v)]
            }
        }
    }

    /// Whether μ is a valid mean parameter (0 < p < 1; variance > 0).
    pub fn valid_mean(self, mu: &[f64]) -> bool {
        mu.iter().all(|v| v.is_finite())
            && match self {
                Family::Bernoulli => mu[0] > 0.0 && mu[0] < 1.0,
                Family::Gaussian => mu[1] - mu[0] * mu[0] > 0.0,
            }
    }

    pub fn valid_natural(self, th: &[f64]) -> bool {
        th.iter().all(|v| v.is_finite())
            && match self {
                Family::Bernoulli => th[0].abs() < 700.0,
                Family::Gaussian => th[1] < 0.0,
            }
    }

    /// A(θ), up to a constant.
    pub fn log_partition(self, th: &[f64]) -> f64 {
        match self {
            Family::Bernoulli => th[0].max(0.0) + (-th[0].abs()).exp().ln_1p(),
            Family::Gaussian => -th[0] * th[0] / (4.0 * th[1]) - 0.5 * (-2.0 * th[1]).ln(),
        }
    }

    /// F(θ) = ∇²A(θ) = Cov[T(x)].
    pub fn fisher_natural(self, th: &[f64]) -> M {
        match self {
            Family::Bernoulli => {
                let p = sigm(th[0]);
                vec![vec![p * (1.0 - p)]]
            }
            Family::Gaussian => {
                let v = -1.0 / (2.0 * th[1]);
                let m = th[0] * v;
                vec![vec![v, 2.0 * m * v], vec![2.0 * m * v, 2.0 * v * v + 4.0 * m * m * v]]
            }
        }
    }

    /// ∇²A*(μ): the Fisher information in the mean parameters.
    pub fn fisher_mean(self, mu: &[f64]) -> M {
        match self {
            Family::Bernoulli => vec![vec![1.0 / (mu[0] * (1.0 - mu[0]))]],
            Family::Gaussian => {
                let v = mu[1] - mu[0] * mu[0];
                vec![
                    vec![1.0 / v + 2.0 * mu[0] * mu[0] / (v * v), -mu[0] / (v * v)],
                    vec![-mu[0] / (v * v), 1.0 / (2.0 * v * v)],
                ]
            }
        }
    }
}

fn mat_vec(a: &M, x: &[f64]) -> V {
    a.iter().map(|r| r.iter().zip(x).map(|(p, q)| p * q).sum()).collect()
}

/// a⁻¹ b for a 1×1 or 2×2 matrix, by Cramer's rule.
fn solve(a: &M, b: &[f64]) -> V {
    if a.len() == 1 {
        return vec![b[0] / a[0][0]];
    }
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    vec![(a[1][1] * b[0] - a[0][1] * b[1]) / det, (a[0][0] * b[1] - a[1][0] * b[0]) / det]
}

fn axpy(x: &[f64], eta: f64, d: &[f64]) -> V {
    x.iter().zip(d).map(|(a, b)| a - eta * b).collect()
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt()
}

/// The problem: a family, a target μ* and the loss L(θ) = A(θ) − θ·μ*.
pub struct Problem {
    pub family: Family,
    pub target: V,
}

impl Problem {
    pub fn loss(&self, th: &[f64]) -> f64 {
        self.family.log_partition(th) - th.iter().zip(&self.target).map(|(a, b)| a * b).sum::<f64>()
    }

    /// ∇_θL = ∇A(θ) − μ*.
    pub fn grad_natural(&self, th: &[f64]) -> V {
        self.family.mean_of(th).iter().zip(&self.target).map(|(a, b)| a - b).collect()
    }

    /// ∇_μL = ∇²A*(μ)(μ − μ*), the chain rule through θ = ∇A*(μ).
    pub fn grad_mean(&self, mu: &[f64]) -> V {
        let diff: V = mu.iter().zip(&self.target).map(|(a, b)| a - b).collect();
        mat_vec(&self.family.fisher_mean(mu), &diff)
    }

    /// Mirror descent with mirror map A: μ_{t+1} = ∇A(θ_t) − η∇_θL(θ_t), θ_{t+1} = ∇A*(μ_{t+1}).
    pub fn mirror_a(&self, th: &[f64], eta: f64) -> Option<V> {
        let mu = axpy(&self.family.mean_of(th), eta, &self.grad_natural(th));
        self.family.valid_mean(&mu).then(|| self.family.natural_of(&mu))
    }

    /// Natural gradient in μ: μ_{t+1} = μ_t − η [∇²A*(μ_t)]⁻¹ ∇_μL(μ_t).
    pub fn natural_mean(&self, mu: &[f64], eta: f64) -> Option<V> {
        let next = axpy(mu, eta, &solve(&self.family.fisher_mean(mu), &self.grad_mean(mu)));
        self.family.valid_mean(&next).then_some(next)
    }

    /// Mirror descent with mirror map A*: θ_{t+1} = θ_t − η∇_μL(μ_t).
    pub fn mirror_a_star(&self, th: &[f64], eta: f64) -> Option<V> {
        let next = axpy(th, eta, &self.grad_mean(&self.family.mean_of(th)));
        self.family.valid_natural(&next).then_some(next)
    }

    /// Natural gradient in θ: θ_{t+1} = θ_t − η F(θ_t)⁻¹ ∇_θL(θ_t).
    pub fn natural_natural(&self, th: &[f64], eta: f64) -> Option<V> {
        let next = axpy(th, eta, &solve(&self.family.fisher_natural(th), &self.grad_natural(th)));
        self.family.valid_natural(&next).then_some(next)
    }

    /// Plain gradient descent in θ, for contrast.
    pub fn gradient(&self, th: &[f64], eta: f64) -> Option<V> {
        let next = axpy(th, eta, &self.grad_natural(th));
        self.family.valid_natural(&next).then_some(next)
    }
}

/// Iterates of `step` from `x0`, stopping where a step leaves the domain.
fn iterate(x0: &[f64], steps: usize, step: impl Fn(&[f64]) -> Option<V>) -> Vec<V> {
    let mut out = vec![x0.to_vec()];
    for _ in 0..steps {
        match step(out.last().unwrap().as_slice()) {
            Some(x) => out.push(x),
            None => break,
        }
    }
    out
}

/// Parameters (all optional): `family` ("bernoulli" | "gaussian"), `eta`,
/// `steps`, and `start` and `target`: a probability for the Bernoulli, [m, s]
/// for the Gaussian.
pub fn run(params: &Value, _data: Option<&Dataset>) -> Result<Value, String> {
    let p = Params::new(params, &["family", "eta", "steps", "start", "target"])?;
    let family = match p.choice("family", "bernoulli", &["bernoulli", "gaussian"])? {
        "gaussian" => Family::Gaussian,
        _ => Family::Bernoulli,
    };
    let eta = p.positive("eta", 0.3, 2.0)?;
    let steps = p.usize_in("steps", 12, 1, 200)?;
    let (start_mu, target_mu) = match family {
        Family::Bernoulli => {
            let s = p.f64_in("start", 0.05, 1e-4, 1.0 - 1e-4)?;
            let t = p.f64_in("target", 0.8, 1e-4, 1.0 - 1e-4)?;
            (vec![s], vec![t])
        }
        Family::Gaussian => {
            let s = p.vector("start", &[-1.0, 2.0], 2)?;
            let t = p.vector("target", &[1.0, 0.5], 2)?;
            if s[1] <= 0.0 {
                return Err(format!("start s must be positive, got {}", s[1]));
            }
            if t[1] <= 0.0 {
                return Err(format!("target s must be positive, got {}", t[1]));
            }
            (vec![s[0], s[0] * s[0] + s[1] * s[1]], vec![t[0], t[0] * t[0] + t[1] * t[1]])
        }
    };
    let pr = Problem { family, target: target_mu.clone() };
    let th0 = family.natural_of(&start_mu);

    let md_a = iterate(&th0, steps, |th| pr.mirror_a(th, eta));
    let ng_mu = iterate(&start_mu, steps, |mu| pr.natural_mean(mu, eta));
    let md_astar = iterate(&th0, steps, |th| pr.mirror_a_star(th, eta));
    let ng_th = iterate(&th0, steps, |th| pr.natural_natural(th, eta));
    let gd = iterate(&th0, steps, |th| pr.gradient(th, eta));
    let ng_mu_th: Vec<V> = ng_mu.iter().map(|mu| family.natural_of(mu)).collect();

    let best = pr.loss(&family.natural_of(&target_mu));
    let n = md_a.len().min(ng_mu.len()).min(md_astar.len()).min(ng_th.len());
    let rows: Vec<Value> = (0..n)
        .map(|t| {
            // one step of NGD in θ from the mirror-descent iterate: the first-order gap
            let local = if t + 1 < md_a.len() {
                pr.natural_natural(&md_a[t], eta).map(|x| dist(&x, &md_a[t + 1]))
            } else {
                None
            };
            json!({
                "t": t,
                "mirror_a": md_a[t],
                "natural_mean": ng_mu_th[t],
                "exact_gap": dist(&md_a[t], &ng_mu_th[t]),
                "mirror_a_star": md_astar[t],
                "natural_natural": ng_th[t],
                "dual_gap": dist(&md_astar[t], &ng_th[t]),
                "first_order_gap": dist(&md_a[t], &ng_th[t]),
                "one_step_gap": local,
            })
        })
        .collect();
    let loss_of = |xs: &[V]| -> Vec<f64> { xs.iter().map(|th| pr.loss(th) - best).collect() };
    let max_of = |key: &str| rows.iter().filter_map(|r| r[key].as_f64()).fold(0.0, f64::max);

    let family_name = match family {
        Family::Bernoulli => "bernoulli",
        Family::Gaussian => "gaussian",
    };
    Ok(json!({
        "family": family_name,
        "eta": eta,
        "start": {"mean": start_mu, "natural": th0},
        "target": {"mean": target_mu, "natural": family.natural_of(&target_mu)},
        "rows": rows,
        "paths": {
            "mirror_a": md_a,
            "natural_mean": ng_mu_th,
            "mirror_a_star": md_astar,
            "natural_natural": ng_th,
            "gradient": gd,
        },
        "excess_loss": {
            "mirror_a": loss_of(&md_a),
            "natural_natural": loss_of(&ng_th),
            "gradient": loss_of(&gd),
        },
        "max_gap": {
            "exact": max_of("exact_gap"),
            "dual": max_of("dual_gap"),
            "first_order": max_of("first_order_gap"),
            "one_step": max_of("one_step_gap"),
        },
        "stopped": {
            "mirror_a": (md_a.len() <= steps).then_some(md_a.len()),
            "natural_natural": (ng_th.len() <= steps).then_some(ng_th.len()),
            "gradient": (gd.len() <= steps).then_some(gd.len()),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const FAMILIES: [(Family, &[f64]); 2] = [(Family::Bernoulli, &[0.2]), (Family::Gaussian, &[-0.4, 1.7])];

    #[test]
    fn the_two_coordinate_systems_are_dual() {
        for (f, mu) in FAMILIES {
            let th = f.natural_of(mu);
            assert!(dist(&f.mean_of(&th), mu) < 1e-12, "{f:?}");
            // ∇A by finite differences of A
            let h = 1e-6;
            for a in 0..th.len() {
                let (mut up, mut down) = (th.clone(), th.clone());
                up[a] += h;
                down[a] -= h;
                let fd = (f.log_partition(&up) - f.log_partition(&down)) / (2.0 * h);
                assert!((fd - mu[a]).abs() < 1e-6, "{f:?} ∂A/∂θ{a}: {fd} vs {}", mu[a]);
            }
            // ∇²A(θ) · ∇²A*(μ) = I
            let (ft, fm) = (f.fisher_natural(&th), f.fisher_mean(mu));
            for (i, row) in ft.iter().enumerate() {
                for j in 0..mu.len() {
                    let prod: f64 = row.iter().zip(&fm).map(|(a, col)| a * col[j]).sum();
                    assert!((prod - (i == j) as u8 as f64).abs() < 1e-10, "{f:?} ({i},{j}): {prod}");
                }
            }
        }
    }

    #[test]
    fn mirror_descent_with_a_is_natural_gradient_in_the_mean_parameters() {
        for (family, params) in
            [("bernoulli", json!({"eta": 0.4, "steps": 30})), ("gaussian", json!({"eta": 0.2, "steps": 30}))]
        {
            let mut p = params.clone();
            p["family"] = json!(family);
            let out = run(&p, None).unwrap();
            assert_eq!(out["rows"].as_array().unwrap().len(), 31, "{family}");
            let gap = &out["max_gap"];
            assert!(gap["exact"].as_f64().unwrap() < 1e-9, "{family}: {gap}");
            assert!(gap["dual"].as_f64().unwrap() < 1e-9, "{family}: {gap}");
            // the other pairing differs, at first order
            assert!(gap["first_order"].as_f64().unwrap() > 1e-4, "{family}: {gap}");
        }
    }

    /// One step of NGD in θ and one of mirror descent with A (= NGD in μ) from
    /// the same point differ by O(η²): halving η quarters the gap.
    #[test]
    fn natural_gradients_in_theta_and_mu_agree_to_first_order() {
        for (f, mu) in FAMILIES {
            let target = match f {
                Family::Bernoulli => vec![0.7],
                Family::Gaussian => vec![0.5, 0.25 + 0.36],
            };
            let pr = Problem { family: f, target };
            let th = f.natural_of(mu);
            let gap = |eta: f64| dist(&pr.mirror_a(&th, eta).unwrap(), &pr.natural_natural(&th, eta).unwrap());
            let step = |eta: f64| dist(&pr.mirror_a(&th, eta).unwrap(), &th);
            let ratio = gap(0.02) / gap(0.01);
            assert!((3.8..4.2).contains(&ratio), "{f:?}: gap ratio {ratio}");
            assert!(gap(0.01) < 0.05 * step(0.01), "{f:?}: gap {} vs step {}", gap(0.01), step(0.01));
        }
    }

    #[test]
    fn every_method_reaches_the_target() {
        for (family, start) in [("bernoulli", json!(0.05)), ("gaussian", json!([-1.0, 2.0]))] {
            let out = run(&json!({"family": family, "eta": 0.2, "steps": 200, "start": start}), None).unwrap();
            for k in ["mirror_a", "natural_natural"] {
                let l = out["excess_loss"][k].as_array().unwrap();
                assert!(l.last().unwrap().as_f64().unwrap().abs() < 1e-9, "{family} {k}: {}", l.last().unwrap());
            }
        }
    }

    #[test]
    fn fields_are_checked() {
        assert!(run(&json!({"start": 1.5}), None).unwrap_err().starts_with("start"));
        assert!(run(&json!({"family": "poisson"}), None).unwrap_err().starts_with("family"));
        assert!(run(&json!({"family": "gaussian", "target": [0, -1]}), None).unwrap_err().contains("target s"));
    }
}
