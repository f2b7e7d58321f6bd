//! RNGD presets (`--rngd-preset`) beside the literal algorithm.
//!
//! A run says which preset it used only through its record's resolved config:
//! the speed settings in `config.rngd`, matched with `RngdPreset::of`. File names
//! are the experiment script's convention and prove nothing, and the presets'
//! numbers belong to the library, which may retune them, so the report looks
//! at neither.
//!
//! Preset runs stay out of the paper's comparison: the RNGD rows, the
//! learning-rate selection and the verdicts are the literal algorithm's alone.
//! The presets get a section of their own, each measured against the literal
//! RNGD at its selected learning rate.

use std::collections::BTreeMap;

use rngd_lab::optim::{RngdConfig, RngdPreset};

use super::key::Key;
use super::load::Run;
use super::summary::{summarise, Summary};

/// Where a run belongs in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// SGD, Adam, or RNGD with the literal preset's settings: the paper's comparison.
    Main,
    /// RNGD with the settings of a preset other than the literal one.
    Preset(RngdPreset),
    /// RNGD with speed settings no preset has: flags set by hand, or a preset
    /// whose numbers have changed since the run.
    Unnamed,
}

pub fn role(run: &Run) -> Role {
    if run.optimizer != "rngd" {
        return Role::Main;
    }
    match RngdPreset::of(&run.rngd) {
        Some(RngdPreset::Literal) => Role::Main,
        Some(p) => Role::Preset(p),
        None => Role::Unnamed,
    }
}

/// Splits runs into the paper's comparison and the preset runs. A run with
/// unnamed speed settings fits neither, as there is nothing to call it: it is
/// left out, with a warning.
pub fn split(runs: Vec<Run>) -> (Vec<Run>, Vec<Run>) {
    let (mut main, mut presets) = (Vec::new(), Vec::new());
    for r in runs {
        match role(&r) {
            Role::Main => main.push(r),
            Role::Preset(_) => presets.push(r),
            Role::Unnamed => eprintln!(
                "warning: {}: {} RNGD with {}, which is no preset; left out of the report",
                r.source,
                r.arch,
                speed_flags(&r.rngd)
            ),
        }
    }
    (main, presets)
}

/// The speed settings as the flags that set them.
pub fn speed_flags(c: &RngdConfig) -> String {
    format!("--metric-every {} --input-rank {} --refresh {}", c.metric_every, c.input_rank, c.refresh)
}

/// The runs of one preset on one architecture at one learning rate.
#[derive(Clone, Debug)]
pub struct PresetSummary {
    pub preset: RngdPreset,
    /// The speed settings in its records: the preset's numbers when the runs were made.
    pub settings: RngdConfig,
    /// Summarised like a row of the main table; its key is (arch, rngd).
    pub summary: Summary,
}

/// One summary per (arch, preset, lr), ordered by arch, then preset, then lr.
pub fn summarise_presets(preset_runs: &[Run]) -> Vec<PresetSummary> {
    let mut groups: BTreeMap<(Key, usize, u64), (RngdPreset, Vec<Run>)> = BTreeMap::new();
    for r in preset_runs {
        let Role::Preset(p) = role(r) else { continue };
        let rank = RngdPreset::ALL.iter().position(|&q| q == p).unwrap_or(usize::MAX);
        // Positive floats order like their bits, so this sorts by lr.
        groups.entry((Key::of(r), rank, r.lr.to_bits())).or_insert_with(|| (p, Vec::new())).1.push(r.clone());
    }
    groups
        .into_iter()
        .filter_map(|((key, _, lr), (preset, runs))| {
            let settings = runs[0].rngd;
            let summary = summarise(&runs, &BTreeMap::from([(key, f64::from_bits(lr))])).pop()?;
            Some(PresetSummary { preset, settings, summary })
        })
        .collect()
}

/// The literal RNGD of `arch` at its selected learning rate, if it completed any run.
pub fn literal_for<'a>(summaries: &'a [Summary], arch: &str) -> Option<&'a Summary> {
    summaries.iter().find(|s| s.key == Key::new(arch, "rngd") && !s.seeds.is_empty())
}

/// How a preset fared against the literal algorithm.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Mean final test accuracy, preset minus literal, in points.
    pub difference: f64,
    /// The larger of the two seed standard deviations of final test accuracy,
    /// in points; `None` when either side has fewer than two completed seeds.
    pub spread: Option<f64>,
    /// Seeds on which the preset diverged and the literal algorithm did not:
    /// a preset that fails on a seed is less accurate there, whatever its mean
    /// over the others.
    pub diverged: Vec<u64>,
}

impl Comparison {
    pub fn of(literal: &Summary, preset: &Summary) -> Comparison {
        let spread = match (literal.final_test_acc_std, preset.final_test_acc_std) {
            (Some(a), Some(b)) => Some(100.0 * a.max(b)),
            _ => None,
        };
        let diverged = preset.diverged_seeds.iter().copied().filter(|s| !literal.diverged_seeds.contains(s)).collect();
        Comparison { difference: 100.0 * (preset.final_test_acc - literal.final_test_acc), spread, diverged }
    }

    /// The verdict rule: within the literal algorithm's seed spread when
    /// |mean preset − mean literal| ≤ the larger of the two seed standard
    /// deviations; otherwise above or below it, by the sign of the difference.
    /// A preset keeps the literal algorithm's accuracy unless it is below.
    /// No verdict without both deviations.
    pub fn standing(&self) -> Option<Standing> {
        if !self.diverged.is_empty() {
            return Some(Standing::Below);
        }
        self.spread.map(|sd| {
            if self.difference.abs() <= sd {
                Standing::Within
            } else if self.difference > 0.0 {
                Standing::Above
            } else {
                Standing::Below
            }
        })
    }

    /// The verdict in words, with the two numbers it compares.
    pub fn verdict(&self) -> String {
        let d = self.difference.abs();
        if !self.diverged.is_empty() {
            let seeds: Vec<String> = self.diverged.iter().map(|s| s.to_string()).collect();
            return format!("below the literal algorithm: the preset diverged on seed {}", seeds.join(", "));
        }
        match (self.standing(), self.spread) {
            (Some(Standing::Within), Some(sd)) => {
                format!("within the literal algorithm's seed spread (gap {d:.2} ≤ sd {sd:.2})")
            }
            (Some(Standing::Above), Some(sd)) => {
                format!("above the literal algorithm's seed spread: more accurate (gap {d:.2} > sd {sd:.2})")
            }
            (Some(Standing::Below), Some(sd)) => {
                format!("below the literal algorithm's seed spread: less accurate (gap {d:.2} > sd {sd:.2})")
            }
            _ => "no verdict: fewer than two completed seeds on one side".into(),
        }
    }
}

/// Where a preset's mean final test accuracy falls against the literal
/// algorithm's, measured in seed standard deviations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Within,
    Above,
    Below,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::fixtures::{close, diverged, run, slower, with_preset};
    use crate::cli::report::load::parse_records;
    use crate::cli::report::select::select;

    /// Some preset other than the literal one, whatever its numbers are today.
    fn fast() -> RngdPreset {
        RngdPreset::ALL.into_iter().find(|&p| p != RngdPreset::Literal).expect("a preset besides literal")
    }

    #[test]
    fn the_config_not_the_file_name_says_which_preset() {
        let literal = run("plain", "rngd", 0.03, 1, 0.9, 1.0, 2);
        assert_eq!(role(&literal), Role::Main);
        let mut named_fast = literal.clone();
        named_fast.source = format!("plain-rngd-{}-seed1.json", fast());
        assert_eq!(role(&named_fast), Role::Main, "a file name alone makes no preset run");
        assert_eq!(role(&with_preset(literal.clone(), fast())), Role::Preset(fast()));
        assert_eq!(role(&with_preset(literal.clone(), RngdPreset::Literal)), Role::Main);
        // SGD and Adam records carry RNGD's defaults too; they never are preset runs.
        assert_eq!(role(&with_preset(run("plain", "sgd", 0.1, 1, 0.9, 1.0, 2), fast())), Role::Main);
        let mut odd = literal;
        odd.rngd.metric_every = 7919;
        assert_eq!(RngdPreset::of(&odd.rngd), None, "the test needs settings no preset has");
        assert_eq!(role(&odd), Role::Unnamed);
    }

    #[test]
    fn a_preset_record_is_recognised_by_its_resolved_config() {
        let settings = serde_json::to_string(&fast().apply(RngdConfig::default())).unwrap();
        let record = format!(
            r#"{{"optimizer":"rngd","config":{{"arch":"bna","lr":0.03,"seed":2,"rngd":{settings}}},
               "epochs":[{{"epoch":1,"train_loss":0.5,"test_loss":0.4,"test_accuracy":0.9,"seconds":0.8}}]}}"#
        );
        let runs = parse_records(&record, "bna-compare-seed2.json").unwrap();
        assert_eq!(role(&runs[0]), Role::Preset(fast()));
        // A record from before the speed options has no rngd section: the literal algorithm.
        let old = record.replace(&format!(r#","rngd":{settings}"#), "");
        assert_eq!(role(&parse_records(&old, "old.json").unwrap()[0]), Role::Main);
    }

    #[test]
    fn preset_runs_stay_out_of_the_selection() {
        let mut runs = Vec::new();
        for lr in [0.01, 0.03] {
            runs.push(run("plain", "rngd", lr, 1, if lr == 0.01 { 0.95 } else { 0.94 }, 1.0, 2));
        }
        let alone = select(&runs);
        // A better preset run at another rate, and one at the same rate and seed.
        runs.push(with_preset(run("plain", "rngd", 0.03, 1, 0.99, 1.0, 2), fast()));
        runs.push(with_preset(run("plain", "rngd", 0.01, 1, 0.90, 1.0, 2), fast()));
        let (main, presets) = split(runs);
        assert_eq!(presets.len(), 2);
        let with = select(&main);
        assert_eq!(with.chosen, alone.chosen);
        assert_eq!(with.grid, alone.grid);
        assert_eq!(with.chosen[&Key::new("plain", "rngd")], 0.01);
    }

    #[test]
    fn presets_are_summarised_per_arch_and_rate() {
        let runs = vec![
            with_preset(run("bna", "rngd", 0.03, 1, 0.95, 1.0, 2), fast()),
            with_preset(run("plain", "rngd", 0.01, 2, 0.94, 1.0, 2), fast()),
            with_preset(run("plain", "rngd", 0.01, 1, 0.96, 1.0, 2), fast()),
            diverged(with_preset(run("plain", "rngd", 0.01, 3, 0.5, 1.0, 1), fast())),
        ];
        let s = summarise_presets(&runs);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].summary.key.arch.as_str(), s[0].summary.lr), ("plain", 0.01));
        assert_eq!(s[0].preset, fast());
        assert_eq!(s[0].settings, fast().apply(RngdConfig::default()));
        assert_eq!(s[0].summary.seeds, vec![1, 2]);
        assert_eq!(s[0].summary.diverged_seeds, vec![3]);
        assert!(close(s[0].summary.final_test_acc, 0.95));
        assert_eq!(s[1].summary.key.arch, "bna");
    }

    /// The literal and preset summaries of two seeds each, with the given final accuracies.
    fn pair(literal: [f64; 2], preset: [f64; 2], preset_time: f64) -> (Summary, Summary) {
        let l: Vec<Run> = (0..2).map(|i| run("plain", "rngd", 0.03, i as u64 + 1, literal[i], 1.0, 2)).collect();
        let p: Vec<Run> = (0..2)
            .map(|i| {
                slower(with_preset(run("plain", "rngd", 0.03, i as u64 + 1, preset[i], 1.0, 2), fast()), preset_time)
            })
            .collect();
        let chosen = BTreeMap::from([(Key::new("plain", "rngd"), 0.03)]);
        (summarise(&l, &chosen).remove(0), summarise_presets(&p).remove(0).summary)
    }

    #[test]
    fn the_verdict_compares_the_gap_with_the_larger_seed_spread() {
        // Literal: 95 % and 97 %, sd 1.41 points. Preset 0.5 points lower on average: within.
        let (l, p) = pair([0.95, 0.97], [0.945, 0.965], 0.5);
        let c = Comparison::of(&l, &p);
        assert!(close(c.difference, -0.5));
        assert!(close(c.spread.unwrap(), 100.0 * 0.02 / 2f64.sqrt()));
        assert_eq!(c.standing(), Some(Standing::Within));
        assert_eq!(c.verdict(), "within the literal algorithm's seed spread (gap 0.50 ≤ sd 1.41)");
        // 2 points lower, a gap wider than both deviations: below.
        let (l, p) = pair([0.95, 0.97], [0.93, 0.95], 1.0);
        let c = Comparison::of(&l, &p);
        assert_eq!(c.standing(), Some(Standing::Below));
        assert_eq!(c.verdict(), "below the literal algorithm's seed spread: less accurate (gap 2.00 > sd 1.41)");
        // The larger deviation counts, whichever side it is on: a noisy preset is within.
        let (l, p) = pair([0.96, 0.96], [0.92, 0.98], 1.0);
        let c = Comparison::of(&l, &p);
        assert!(close(c.spread.unwrap(), 100.0 * 0.06 / 2f64.sqrt()));
        assert_eq!(c.standing(), Some(Standing::Within));
        // 2 points higher: above the spread, named as such rather than as a failure.
        let (l, p) = pair([0.95, 0.97], [0.98, 0.98], 1.0);
        let c = Comparison::of(&l, &p);
        assert_eq!(c.standing(), Some(Standing::Above));
        assert!(c.verdict().starts_with("above the literal algorithm's seed spread: more accurate"), "{}", c.verdict());
        // One seed has no standard deviation: no verdict.
        let (mut l, p) = pair([0.95, 0.97], [0.95, 0.97], 1.0);
        l.final_test_acc_std = None;
        let c = Comparison::of(&l, &p);
        assert_eq!(c.standing(), None);
        assert!(c.verdict().starts_with("no verdict"), "{}", c.verdict());
    }
}
