//! Heavy-ball momentum as a transform on the update: `v ← μ v + u; u ← v`.
//! It applies after preconditioning, so it composes with SGD, Adam and RNGD alike.

use ndarray::Array2;

#[derive(Debug, Clone)]
pub struct Momentum {
    pub mu: f32,
    pub(crate) velocity: Vec<Array2<f32>>,
}

impl Momentum {
    pub fn new(mu: f32, shapes: &[(usize, usize)]) -> Momentum {
        Momentum { mu, velocity: shapes.iter().map(|&s| Array2::zeros(s)).collect() }
    }

    pub fn apply(&mut self, updates: &mut [Array2<f32>]) {
        let mu = self.mu;
        for (u, v) in updates.iter_mut().zip(&mut self.velocity) {
            v.zip_mut_with(u, |v, &g| *v = mu * *v + g);
            u.assign(v);
        }
    }
}
