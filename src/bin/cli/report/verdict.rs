//! The sentences under the table: does RNGD do what the paper says, judged from the numbers.

use std::fmt::Write as _;

use super::fmt::pct;
use super::key::{arch_label, opt_label};
use super::summary::{mean_at, Summary};

/// The sentence for one architecture: does RNGD beat SGD and Adam on mean final
/// test accuracy, and is its final training loss lower? Computed, never assumed.
pub fn verdict(arch: &str, summaries: &[Summary]) -> String {
    let label = arch_label(arch);
    let get = |o: &str| summaries.iter().find(|s| s.key.arch == arch && s.key.optimizer == o && !s.seeds.is_empty());
    let Some(r) = get("rngd") else {
        return format!("**{label}**: no verdict, as there are no completed RNGD runs at a selected learning rate.");
    };
    let others: Vec<&Summary> = ["sgd", "adam"].iter().filter_map(|o| get(o)).collect();
    if others.is_empty() {
        return format!("**{label}**: no verdict, as there are no completed SGD or Adam runs to compare RNGD with.");
    }
    let mut s = format!("**{label}**: RNGD's mean final test accuracy, {},", pct(r.final_test_acc));
    let mut acc_parts = Vec::new();
    for o in &others {
        let name = opt_label(&o.key.optimizer);
        let diff = 100.0 * (r.final_test_acc - o.final_test_acc);
        let spread = match (r.final_test_acc_std, o.final_test_acc_std) {
            (Some(a), Some(b)) => {
                let sd = 100.0 * a.max(b);
                if diff.abs() > sd {
                    format!(", more than the larger seed standard deviation ({sd:.2})")
                } else {
                    format!(", within the larger seed standard deviation ({sd:.2})")
                }
            }
            _ => String::new(),
        };
        let part = if diff.abs() < 0.005 {
            format!("ties {name}'s ({})", pct(o.final_test_acc))
        } else if diff > 0.0 {
            format!("beats {name}'s ({}) by {diff:.2} points{spread}", pct(o.final_test_acc))
        } else {
            format!("falls short of {name}'s ({}) by {:.2} points{spread}", pct(o.final_test_acc), -diff)
        };
        acc_parts.push(part);
    }
    let _ = write!(s, " {}.", acc_parts.join("; it "));
    let mut loss_parts = Vec::new();
    for o in &others {
        let name = opt_label(&o.key.optimizer);
        let word = if r.final_train_loss < o.final_train_loss { "lower" } else { "not lower" };
        loss_parts.push(format!("{word} than {name}'s ({:.4})", o.final_train_loss));
    }
    let _ = write!(s, " Its final training loss, {:.4}, is {}.", r.final_train_loss, loss_parts.join(" and "));
    // Sharpness of the learning curve: training loss a tenth of the way through.
    let k = r.early_epoch;
    let early: Vec<(String, f64)> =
        others.iter().filter_map(|o| mean_at(&o.train_loss, k).map(|v| (opt_label(&o.key.optimizer), v))).collect();
    let sharper = match r.early_train_loss {
        Some(re) if early.len() == others.len() => {
            let parts: Vec<String> = early
                .iter()
                .map(|(name, v)| format!("{} than {name}'s ({v:.4})", if re < *v { "lower" } else { "not lower" }))
                .collect();
            let _ = write!(s, " At epoch {k} its training loss, {re:.4}, is {}.", parts.join(" and "));
            Some(early.iter().all(|(_, v)| re < *v))
        }
        _ => None,
    };
    let generalises = others.iter().all(|o| r.final_test_acc > o.final_test_acc);
    let lower_loss = others.iter().all(|o| r.final_train_loss < o.final_train_loss);
    let names: Vec<String> = others.iter().map(|o| opt_label(&o.key.optimizer)).collect();
    let yes_no = |b: bool| if b { "holds" } else { "does not hold" };
    // Is every accuracy gap wider than the larger seed standard deviation of the pair?
    let beyond_spread = others.iter().all(|o| match (r.final_test_acc_std, o.final_test_acc_std) {
        (Some(a), Some(b)) => (r.final_test_acc - o.final_test_acc).abs() > a.max(b),
        _ => true,
    });
    let generalisation = match (generalises, beyond_spread) {
        (true, true) => "holds",
        (true, false) => "holds on the means but not beyond the seed-to-seed spread",
        (false, _) => "does not hold",
    };
    let _ = write!(
        s,
        " So here, against {}, the paper's claim of better generalization {generalisation}",
        names.join(" and ")
    );
    if let Some(sh) = sharper {
        let _ = write!(s, ", a sharper learning curve (lower training loss at epoch {k}) {}", yes_no(sh));
    }
    let _ = write!(s, ", and a lower final training loss {}.", yes_no(lower_loss));
    s
}

/// RNGD's margin over the better of SGD and Adam, in accuracy points.
fn margin(arch: &str, summaries: &[Summary]) -> Option<f64> {
    let get = |o: &str| summaries.iter().find(|s| s.key.arch == arch && s.key.optimizer == o && !s.seeds.is_empty());
    let r = get("rngd")?;
    let best = ["sgd", "adam"].iter().filter_map(|o| get(o)).map(|s| s.final_test_acc).reduce(f64::max)?;
    Some(100.0 * (r.final_test_acc - best))
}

/// Whether RNGD's advantage is larger with batch norm ("especially with BN").
pub fn bn_sentence(summaries: &[Summary]) -> Option<String> {
    let (p, b) = (margin("plain", summaries)?, margin("bna", summaries)?);
    let larger = b > p;
    Some(format!(
        "**With vs without BN**: RNGD's margin over the better of SGD and Adam is {b:+.2} points on BNA and {p:+.2} on PLAIN, \
         so its advantage {} with batch norm{}.",
        if larger { "is larger" } else { "is not larger" },
        if larger { ", as the paper reports" } else { ", unlike the paper's \"especially with BN\"" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::fixtures::run;
    use crate::cli::report::select::select;
    use crate::cli::report::summary::summarise;

    fn three(arch: &str, rngd_acc: f64, rngd_loss: f64) -> Vec<Summary> {
        let mut runs = Vec::new();
        for seed in 1..=3 {
            let jitter = 0.001 * seed as f64;
            runs.push(run(arch, "sgd", 0.1, seed, 0.95 + jitter, 0.2, 1));
            runs.push(run(arch, "adam", 0.001, seed, 0.96 + jitter, 0.1, 1));
            runs.push(run(arch, "rngd", 0.03, seed, rngd_acc + jitter, rngd_loss, 1));
        }
        summarise(&runs, &select(&runs).chosen)
    }

    #[test]
    fn verdict_is_computed_from_the_numbers() {
        let win = verdict("plain", &three("plain", 0.97, 0.05));
        assert!(win.starts_with("**PLAIN**"), "{win}");
        assert!(win.contains("97.20%"), "{win}");
        assert!(
            win.contains("beats SGD's (95.20%) by 2.00 points, more than the larger seed standard deviation (0.10)"),
            "{win}"
        );
        assert!(win.contains("beats Adam's (96.20%) by 1.00 points"), "{win}");
        assert!(
            win.contains(
                "Its final training loss, 0.0500, is lower than SGD's (0.2000) and lower than Adam's (0.1000)"
            ),
            "{win}"
        );
        assert!(win.contains("At epoch 1 its training loss, 0.0500, is lower than SGD's"), "{win}");
        assert!(
            win.contains(
                "against SGD and Adam, the paper's claim of better generalization holds, a sharper learning curve \
                 (lower training loss at epoch 1) holds, and a lower final training loss holds."
            ),
            "{win}"
        );

        let mixed = verdict("bna", &three("bna", 0.955, 0.15));
        assert!(mixed.starts_with("**BNA**"), "{mixed}");
        assert!(mixed.contains("beats SGD's (95.20%) by 0.50 points"), "{mixed}");
        assert!(mixed.contains("falls short of Adam's (96.20%) by 0.50 points"), "{mixed}");
        assert!(mixed.contains("lower than SGD's (0.2000) and not lower than Adam's (0.1000)"), "{mixed}");
        assert!(mixed.contains("better generalization does not hold, a sharper learning curve"), "{mixed}");
        assert!(mixed.contains("does not hold, and a lower final training loss does not hold."), "{mixed}");

        let tiny = verdict("plain", &three("plain", 0.9605, 0.05));
        assert!(tiny.contains("by 0.05 points, within the larger seed standard deviation (0.10)"), "{tiny}");
        assert!(
            tiny.contains("better generalization holds on the means but not beyond the seed-to-seed spread,"),
            "{tiny}"
        );

        let none = verdict(
            "plain",
            &three("plain", 0.97, 0.05).into_iter().filter(|s| s.key.optimizer != "rngd").collect::<Vec<_>>(),
        );
        assert!(none.contains("no verdict"), "{none}");
    }

    #[test]
    fn bn_sentence_compares_margins() {
        let mut both = three("plain", 0.965, 0.05);
        both.extend(three("bna", 0.98, 0.05));
        let s = bn_sentence(&both).unwrap();
        assert!(s.contains("+2.00 points on BNA and +0.50 on PLAIN"), "{s}");
        assert!(s.contains("is larger with batch norm, as the paper reports"), "{s}");
        let mut flipped = three("plain", 0.98, 0.05);
        flipped.extend(three("bna", 0.955, 0.05));
        let s = bn_sentence(&flipped).unwrap();
        assert!(s.contains("-0.50 points on BNA and +2.00 on PLAIN"), "{s}");
        assert!(s.contains("is not larger"), "{s}");
        assert_eq!(bn_sentence(&three("plain", 0.97, 0.05)), None);
    }
}
