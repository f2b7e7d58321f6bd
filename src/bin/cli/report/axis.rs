//! The figure's axes: round tick values on log and epoch axes, and an axis type
//! that puts plotters' grid lines exactly at them.

use super::summary::Band;

/// A tick label with two significant digits, trailing zeros trimmed.
pub fn tick(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (1 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Round tick values for a log axis over `[lo, hi]`: the coarsest of the
/// mantissa sets 1, 1-2-5, 1-2-3-5-7, 1..9 and 1..9.5 in halves that gives at
/// least four ticks (or the finest, on a very narrow range).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    const HALVES: [f64; 18] =
        [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5];
    const SETS: [&[f64]; 5] =
        [&[1.0], &[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0, 5.0, 7.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &HALVES];
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut ticks = Vec::new();
    for set in SETS {
        ticks = (k0..=k1)
            .flat_map(|k| set.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|&v| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
            .collect();
        if ticks.len() >= 4 {
            break;
        }
    }
    ticks
}

/// Epoch ticks from 0 to `max` with a round step, at most about ten of them.
pub fn epoch_ticks(max: u32) -> Vec<f64> {
    let step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
        .into_iter()
        .find(|s| max / s <= 10)
        .unwrap_or(max.div_ceil(10).max(1));
    (0..=max / step).map(|i| (i * step) as f64).collect()
}

/// An axis (linear or log) whose grid lines and labels sit exactly at `ticks`.
pub struct Ticked<R> {
    pub inner: R,
    pub ticks: Vec<f64>,
}

impl<R: plotters::coord::ranged1d::Ranged<ValueType = f64>> plotters::coord::ranged1d::Ranged for Ticked<R> {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold lines and labels at the ticks; no light lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// A log-scale range around every band of `series`, padded a little.
pub fn log_range(series: &[&[Band]]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for bands in series {
        for b in bands.iter() {
            if b.min > 0.0 {
                lo = lo.min(b.min);
            }
            hi = hi.max(b.max);
        }
    }
    if !lo.is_finite() || !hi.is_finite() || hi <= 0.0 {
        return (0.01, 1.0);
    }
    if hi / lo < 1.5 {
        (lo / 1.25, hi * 1.25)
    } else {
        (lo / 1.08, hi * 1.08)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_ticks_are_round_and_in_range() {
        let labels = |v: Vec<f64>| v.into_iter().map(tick).collect::<Vec<_>>().join(" ");
        assert_eq!(labels(log_ticks(0.05, 2.0)), "0.05 0.1 0.2 0.5 1 2");
        assert_eq!(labels(log_ticks(0.9, 200.0)), "1 2 5 10 20 50 100 200");
        assert_eq!(labels(log_ticks(1e-3, 20.0)), "0.001 0.01 0.1 1 10");
        assert_eq!(labels(log_ticks(1.6, 4.9)), "2 2.5 3 3.5 4 4.5");
        assert_eq!(labels(log_ticks(2.1, 3.9)), "2.5 3 3.5");
        assert_eq!(log_ticks(0.0, 1.0), Vec::<f64>::new());
        assert_eq!(epoch_ticks(2), vec![0.0, 1.0, 2.0]);
        assert_eq!(epoch_ticks(100), vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]);
        assert_eq!(epoch_ticks(30), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
    }

    #[test]
    fn ticks_have_two_significant_digits() {
        assert_eq!(tick(0.03), "0.03");
        assert_eq!(tick(0.0312), "0.031");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(2.54), "2.5");
        assert_eq!(tick(40.0), "40");
    }
}
