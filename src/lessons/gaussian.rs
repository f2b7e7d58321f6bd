//! Lesson (a): fitting a Gaussian N(μ, σ) by gradient descent and by natural
//! gradient, in three parameterisations of the scale: σ itself, log σ, and the
//! precision τ = 1/σ².
//!
//! The loss is the cross-entropy to a target, L(μ, σ) = log σ + (v + (μ − m)²)/(2σ²)
//! (+ a constant), which is KL(N(m, √v) ‖ N(μ, σ)) for a target N(m, √v), and
//! the mean negative log-likelihood of samples whose mean is m and (biased)
//! variance v. Its minimum is at (m, √v) either way.
//!
//! The Fisher information of N(μ, σ) is diag(1/σ², 2/σ²) in (μ, σ). With the
//! scale written φ = g(σ) it becomes diag(1/σ², (2/σ²)(dσ/dφ)²): 2/σ² for σ, 2
//! for log σ, σ⁴/2 for τ. The gradient picks up one factor dσ/dφ, the Fisher
//! two, so the natural-gradient step F⁻¹∇L moves σ by the same amount to first
//! order in the step size whatever φ is: NGD's path in (μ, σ) depends on the
//! parameterisation only at second order (and not at all in the limit of small
//! steps), while plain GD's step in σ scales with (dσ/dφ)², so its path changes.
//!
//! The Fisher is also the curvature of KL: KL(p_θ ‖ p_{θ+δ}) = ½ δᵀF(θ)δ + O(|δ|³).
//! The lesson checks it numerically at the start point for the chosen φ.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde_json::{json, Value};

use super::params::Params;
use crate::Dataset;

/// How the scale is written: φ = σ, φ = log σ or φ = τ = 1/σ².
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Sigma,
    LogSigma,
    Precision,
}

pub const SCALES: [Scale; 3] = [Scale::Sigma, Scale::LogSigma, Scale::Precision];

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Sigma => "sigma",
            Scale::LogSigma => "log_sigma",
            Scale::Precision => "precision",
        }
    }

    fn parse(s: &str) -> Scale {
        match s {
            "log_sigma" => Scale::LogSigma,
            "precision" => Scale::Precision,
            _ => Scale::Sigma,
        }
    }

    /// φ = g(σ).
    pub fn phi(self, sigma: f64) -> f64 {
        match self {
            Scale::Sigma => sigma,
            Scale::LogSigma => sigma.ln(),
            Scale::Precision => 1.0 / (sigma * sigma),
        }
    }

    /// σ = g⁻¹(φ), or None when φ is outside the parameterisation's domain.
    pub fn sigma(self, phi: f64) -> Option<f64> {
        let s = match self {
            Scale::Sigma if phi > 0.0 => phi,
            Scale::LogSigma => phi.exp(),
            Scale::Precision if phi > 0.0 => 1.0 / phi.sqrt(),
            _ => return None,
        };
        (s.is_finite() && s > 0.0).then_some(s)
    }

    /// dσ/dφ at σ.
    pub fn dsigma(self, sigma: f64) -> f64 {
        match self {
            Scale::Sigma => 1.0,
            Scale::LogSigma => sigma,
            Scale::Precision => -0.5 * sigma.powi(3),
        }
    }
}

/// The target the Gaussian is fitted to, as its mean m and variance v.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub m: f64,
    pub v: f64,
}

impl Target {
    /// L(μ, σ) up to its constant.
    pub fn loss(&self, mu: f64, sigma: f64) -> f64 {
        sigma.ln() + (self.v + (mu - self.m).powi(2)) / (2.0 * sigma * sigma)
    }

    /// (∂L/∂μ, ∂L/∂σ).
    pub fn grad_mu_sigma(&self, mu: f64, sigma: f64) -> (f64, f64) {
        let s2 = sigma * sigma;
        ((mu - self.m) / s2, 1.0 / sigma - (self.v + (mu - self.m).powi(2)) / (s2 * sigma))
    }

    /// ∇L in (μ, φ).
    pub fn grad(&self, scale: Scale, mu: f64, sigma: f64) -> [f64; 2] {
        let (gm, gs) = self.grad_mu_sigma(mu, sigma);
        [gm, gs * scale.dsigma(sigma)]
    }
}

/// The Fisher information of N(μ, σ) in (μ, φ): it is diagonal.
pub fn fisher(scale: Scale, sigma: f64) -> [f64; 2] {
    let d = scale.dsigma(sigma);
    [1.0 / (sigma * sigma), 2.0 * d * d / (sigma * sigma)]
}

/// KL(N(μ1, σ1) ‖ N(μ2, σ2)) in closed form.
pub fn kl(mu1: f64, s1: f64, mu2: f64, s2: f64) -> f64 {
    (s2 / s1).ln() + (s1 * s1 + (mu1 - mu2).powi(2)) / (2.0 * s2 * s2) - 0.5
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    Gd,
    Ngd,
}

/// A descent path: the iterates in (μ, φ) and in (μ, σ), and the step at which
/// it left the parameterisation's domain (σ ≤ 0, τ ≤ 0) or blew up, if it did.
#[derive(Debug, Clone)]
pub struct Path {
    pub theta: Vec<[f64; 2]>,
    pub mu_sigma: Vec<[f64; 2]>,
    pub stopped: Option<usize>,
}

/// `steps` steps of GD or NGD with step size `eta` from (μ0, σ0).
pub fn descend(target: &Target, scale: Scale, method: Method, eta: f64, start: [f64; 2], steps: usize) -> Path {
    let (mut mu, mut phi) = (start[0], scale.phi(start[1]));
    let mut sigma = start[1];
    let mut path = Path { theta: vec![[mu, phi]], mu_sigma: vec![[mu, sigma]], stopped: None };
    for t in 1..=steps {
        let g = target.grad(scale, mu, sigma);
        let (dm, dp) = match method {
            Method::Gd => (g[0], g[1]),
            Method::Ngd => {
                let f = fisher(scale, sigma);
                (g[0] / f[0], g[1] / f[1])
            }
        };
        mu -= eta * dm;
        phi -= eta * dp;
        match scale.sigma(phi) {
            Some(s) if mu.abs() < 1e6 && s < 1e6 => sigma = s,
            _ => {
                path.stopped = Some(t);
                break;
            }
        }
        path.theta.push([mu, phi]);
        path.mu_sigma.push([mu, sigma]);
    }
    path
}

/// The largest distance, step by step in (μ, σ), between the paths of one
/// method in the three parameterisations, over the steps all of them reached
/// (a path that left its domain is reported as such, beside this number).
pub fn spread(paths: &[Path]) -> f64 {
    let n = paths.iter().map(|p| p.mu_sigma.len()).min().unwrap_or(0);
    let mut worst: f64 = 0.0;
    for t in 0..n {
        for a in paths {
            for b in paths {
                let (p, q) = (a.mu_sigma[t], b.mu_sigma[t]);
                worst = worst.max(((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt());
            }
        }
    }
    worst
}

/// The KL check at (μ, σ) for a step δ = r·(cos a, sin a) in (μ, φ):
/// (r, KL(p_θ ‖ p_{θ+δ}), ½δᵀFδ), or None when θ+δ leaves the domain.
pub fn kl_curvature(scale: Scale, mu: f64, sigma: f64, r: f64, angle: f64) -> Option<(f64, f64)> {
    let (dm, dp) = (r * angle.cos(), r * angle.sin());
    let s2 = scale.sigma(scale.phi(sigma) + dp)?;
    let f = fisher(scale, sigma);
    Some((kl(mu, sigma, mu + dm, s2), 0.5 * (f[0] * dm * dm + f[1] * dp * dp)))
}

fn round_pair(p: &[f64; 2]) -> Value {
    json!([p[0], p[1]])
}

fn path_json(p: &Path, coords: impl Fn(&Path) -> &Vec<[f64; 2]>) -> Value {
    json!({
        "points": coords(p).iter().map(round_pair).collect::<Vec<_>>(),
        "stopped": p.stopped,
    })
}

/// Parameters (all optional): `scale` ("sigma" | "log_sigma" | "precision"),
/// `eta` (step size), `steps`, `start` [μ0, σ0], `target` [m, s], `source`
/// ("target" | "samples"), `samples` (how many draws from N(m, s)), `seed`,
/// `delta` (the radius of the KL check) and `angle` (its direction in radians).
pub fn run(params: &Value, _data: Option<&Dataset>) -> Result<Value, String> {
    let p = Params::new(
        params,
        &["scale", "eta", "steps", "start", "target", "source", "samples", "seed", "delta", "angle", "grid"],
    )?;
    let scale = Scale::parse(p.choice("scale", "sigma", &["sigma", "log_sigma", "precision"])?);
    let eta = p.positive("eta", 0.1, 10.0)?;
    let steps = p.usize_in("steps", 40, 1, 1000)?;
    let start = p.vector("start", &[-2.0, 2.5], 2)?;
    let goal = p.vector("target", &[1.0, 0.7], 2)?;
    if start[1] <= 0.0 {
        return Err(format!("start σ must be positive, got {}", start[1]));
    }
    if goal[1] <= 0.0 {
        return Err(format!("target σ must be positive, got {}", goal[1]));
    }
    let source = p.choice("source", "target", &["target", "samples"])?;
    let n = p.usize_in("samples", 20, 2, 100_000)?;
    let seed = p.usize_in("seed", 1, 0, u32::MAX as usize)? as u64;
    let delta = p.positive("delta", 0.2, 10.0)?;
    let angle = p.f64_in("angle", 0.7, -10.0, 10.0)?;
    let grid = p.usize_in("grid", 48, 8, 200)?;

    let (target, samples) = match source {
        "samples" => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let dist = Normal::new(goal[0], goal[1]).map_err(|e| format!("target: {e}"))?;
            let xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
            (Target { m, v }, xs)
        }
        _ => (Target { m: goal[0], v: goal[1] * goal[1] }, Vec::new()),
    };
    let start = [start[0], start[1]];

    let all = |m: Method| SCALES.map(|s| descend(&target, s, m, eta, start, steps));
    let (gd_all, ngd_all) = (all(Method::Gd), all(Method::Ngd));
    let idx = SCALES.iter().position(|&s| s == scale).unwrap();
    let (gd, ngd) = (&gd_all[idx], &ngd_all[idx]);

    // The loss over a box of (μ, φ) that holds the start, the optimum and the paths.
    let (mut mu_lo, mut mu_hi) = (start[0].min(target.m), start[0].max(target.m));
    let (mut s_lo, mut s_hi) = (start[1].min(target.v.sqrt()), start[1].max(target.v.sqrt()));
    for q in gd.mu_sigma.iter().chain(&ngd.mu_sigma) {
        mu_lo = mu_lo.min(q[0]);
        mu_hi = mu_hi.max(q[0]);
        s_lo = s_lo.min(q[1]);
        s_hi = s_hi.max(q[1]);
    }
    let pad = 0.15 * (mu_hi - mu_lo).max(0.5);
    let (mu_lo, mu_hi) = (mu_lo - pad, mu_hi + pad);
    let (s_lo, s_hi) = (s_lo * 0.8, s_hi * 1.25);
    let (p_a, p_b) = (scale.phi(s_lo), scale.phi(s_hi));
    let (phi_lo, phi_hi) = (p_a.min(p_b), p_a.max(p_b));
    let lin = |lo: f64, hi: f64| (0..grid).map(move |i| lo + (hi - lo) * i as f64 / (grid - 1) as f64);
    let mus: Vec<f64> = lin(mu_lo, mu_hi).collect();
    let phis: Vec<f64> = lin(phi_lo, phi_hi).collect();
    let mut loss = Vec::with_capacity(grid * grid);
    for &ph in &phis {
        for &m in &mus {
            loss.push(scale.sigma(ph).map_or(f64::NAN, |s| target.loss(m, s)));
        }
    }

    let (m0, s0) = (start[0], start[1]);
    let checks: Vec<Value> = [1.0, 0.5, 0.25, 0.125]
        .iter()
        .filter_map(|k| {
            let r = delta * k;
            kl_curvature(scale, m0, s0, r, angle)
                .map(|(kl, quad)| json!({"r": r, "kl": kl, "quad": quad, "ratio": kl / quad}))
        })
        .collect();
    let f = fisher(scale, s0);

    let by_scale = |paths: &[Path; 3]| -> Value {
        SCALES.iter().zip(paths).map(|(s, p)| (s.name().to_string(), path_json(p, |p| &p.mu_sigma))).collect()
    };
    let last = |p: &Path| {
        let q = p.mu_sigma.last().unwrap();
        json!({"mu": q[0], "sigma": q[1], "loss": target.loss(q[0], q[1]), "steps": p.mu_sigma.len() - 1})
    };
    Ok(json!({
        "scale": scale.name(),
        "eta": eta,
        "steps": steps,
        "start": [m0, s0],
        "optimum": [target.m, target.v.sqrt()],
        "min_loss": target.loss(target.m, target.v.sqrt()),
        "samples": samples,
        "grid": {"mu": mus, "phi": phis, "loss": loss},
        "paths": {"gd": path_json(gd, |p| &p.theta), "ngd": path_json(ngd, |p| &p.theta)},
        "final": {"gd": last(gd), "ngd": last(ngd)},
        "invariance": {
            "gd": by_scale(&gd_all),
            "ngd": by_scale(&ngd_all),
            "spread": {"gd": spread(&gd_all), "ngd": spread(&ngd_all)},
            "compared": {
                "gd": gd_all.iter().map(|p| p.mu_sigma.len() - 1).min(),
                "ngd": ngd_all.iter().map(|p| p.mu_sigma.len() - 1).min(),
            },
        },
        "fisher": {"diag": [f[0], f[1]], "at": [m0, s0]},
        "kl_check": {"angle": angle, "rows": checks},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const T: Target = Target { m: 1.0, v: 0.49 };

    #[test]
    fn gradient_matches_finite_differences_in_every_parameterisation() {
        for s in SCALES {
            let (mu, sigma) = (-0.4, 1.7);
            let g = T.grad(s, mu, sigma);
            let h = 1e-6;
            let lphi = |phi: f64| T.loss(mu, s.sigma(phi).unwrap());
            let fd_phi = (lphi(s.phi(sigma) + h) - lphi(s.phi(sigma) - h)) / (2.0 * h);
            let fd_mu = (T.loss(mu + h, sigma) - T.loss(mu - h, sigma)) / (2.0 * h);
            assert!((g[0] - fd_mu).abs() < 1e-6 && (g[1] - fd_phi).abs() < 1e-6, "{s:?}: {g:?} vs {fd_mu}, {fd_phi}");
        }
    }

    /// KL(p_θ ‖ p_{θ+δ}) / (½δᵀFδ) → 1 as δ → 0, with an error linear in |δ|.
    #[test]
    fn fisher_is_the_curvature_of_kl() {
        for s in SCALES {
            for &angle in &[0.0, 0.7, std::f64::consts::FRAC_PI_2, 2.5] {
                let err = |r: f64| {
                    let (kl, quad) = kl_curvature(s, 0.3, 1.4, r, angle).unwrap();
                    (kl / quad - 1.0).abs()
                };
                assert!(err(1e-3) < 5e-3, "{s:?} at angle {angle}: ratio off by {}", err(1e-3));
                // third-order remainder: halving δ halves the relative error (or it is rounding-small)
                let (e1, e2) = (err(2e-2), err(1e-2));
                assert!(e2 < 0.6 * e1 || e2 < 1e-6, "{s:?} at angle {angle}: {e1} then {e2}");
            }
        }
    }

    /// NGD moves μ identically in every parameterisation, and σ identically to
    /// first order: the paths' spread in (μ, σ) halves with the step size
    /// (same η·steps), while GD's paths stay far apart.
    #[test]
    fn natural_gradient_paths_agree_across_parameterisations() {
        let start = [-2.0, 2.5];
        let run = |m: Method, eta: f64, steps: usize| SCALES.map(|s| descend(&T, s, m, eta, start, steps));
        let ngd = run(Method::Ngd, 0.02, 50);
        for p in &ngd {
            assert!(p.stopped.is_none());
            for (a, b) in p.mu_sigma.iter().zip(&ngd[0].mu_sigma) {
                assert!((a[0] - b[0]).abs() < 1e-12, "μ differs: {} vs {}", a[0], b[0]);
            }
        }
        let fine = run(Method::Ngd, 0.01, 100);
        let (coarse_spread, fine_spread) = (spread(&ngd), spread(&fine));
        let ratio = coarse_spread / fine_spread;
        assert!((1.7..2.3).contains(&ratio), "spread {coarse_spread} then {fine_spread}");
        let gd = run(Method::Gd, 0.02, 50);
        assert!(spread(&gd) > 20.0 * coarse_spread, "GD spread {} vs NGD {coarse_spread}", spread(&gd));
    }

    #[test]
    fn both_methods_reach_the_optimum() {
        for s in SCALES {
            for m in [Method::Gd, Method::Ngd] {
                let eta = if s == Scale::Precision && m == Method::Gd { 0.05 } else { 0.1 };
                let p = descend(&T, s, m, eta, [-2.0, 2.5], 5000);
                let q = p.mu_sigma.last().unwrap();
                assert!((q[0] - 1.0).abs() < 1e-3 && (q[1] - 0.7).abs() < 1e-3, "{s:?} {m:?}: {q:?}");
            }
        }
    }

    #[test]
    fn samples_are_fitted_by_their_mean_and_variance() {
        let out = run(&json!({"source": "samples", "samples": 500, "steps": 400, "eta": 0.2}), None).unwrap();
        let xs: Vec<f64> = out["samples"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let m = xs.iter().sum::<f64>() / 500.0;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 500.0).sqrt();
        let ngd = &out["final"]["ngd"];
        assert!((ngd["mu"].as_f64().unwrap() - m).abs() < 1e-6);
        assert!((ngd["sigma"].as_f64().unwrap() - sd).abs() < 1e-6);
        assert!((m - 1.0).abs() < 0.15 && (sd - 0.7).abs() < 0.15);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(run(&json!({"eta": 0}), None).unwrap_err().starts_with("eta"));
        assert!(run(&json!({"start": [0, -1]}), None).unwrap_err().contains("start σ"));
        assert!(run(&json!({"scale": "tau"}), None).unwrap_err().starts_with("scale"));
    }
}
