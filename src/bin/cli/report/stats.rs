//! The few statistics the report needs: means, sample standard deviations and ranges over seeds.

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1); `None` below two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

pub fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::fixtures::close;

    #[test]
    fn mean_and_sample_std() {
        assert!(close(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5));
        assert!(close(std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(), (32.0f64 / 7.0).sqrt()));
        assert_eq!(std_dev(&[3.0]), None);
        assert_eq!(std_dev(&[]), None);
    }
}
