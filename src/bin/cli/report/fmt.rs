//! How numbers are written in the table and the figure.

pub fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// A learning rate as the experiment script passes it back (`0.0003`, not `3e-4`).
pub fn fmt_lr(lr: f64) -> String {
    format!("{lr}")
}

pub fn fmt_seeds(seeds: &[u64]) -> String {
    seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}
