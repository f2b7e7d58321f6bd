//! The markdown table: final numbers per (architecture, optimizer), the verdicts, and
//! the learning-rate grid with the selection rule spelled out.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::fmt::{fmt_lr, fmt_seeds, pct};
use super::key::{arch_label, opt_label};
use super::load::Run;
use super::preset::{literal_for, speed_flags, Comparison, PresetSummary};
use super::select::{GridOutcome, Selection, SELECTION_WINDOW};
use super::summary::Summary;
use super::verdict::{bn_sentence, verdict};

fn describe_net(runs: &[Run]) -> String {
    let set =
        |f: &dyn Fn(&Run) -> String| runs.iter().map(f).collect::<BTreeSet<String>>().into_iter().collect::<Vec<_>>();
    let hidden = set(&|r| r.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join("-"));
    let act = set(&|r| r.activation.clone().unwrap_or_else(|| "?".into()));
    let batch = set(&|r| r.batch.map(|b| b.to_string()).unwrap_or_else(|| "?".into()));
    format!("hidden layers {}, {} activations, batch {}", hidden.join(" / "), act.join(" / "), batch.join(" / "))
}

pub struct TableInputs<'a> {
    pub runs: &'a [Run],
    pub selection: &'a Selection,
    pub summaries: &'a [Summary],
    /// RNGD preset runs; the section comparing them appears only when there are some.
    pub presets: &'a [PresetSummary],
    pub data_label: &'a str,
    pub command: &'a str,
}

pub fn render_table(t: &TableInputs) -> String {
    let mut md = String::new();
    let all_seeds: BTreeSet<u64> = t.summaries.iter().flat_map(|s| s.seeds.iter().copied()).collect();
    let epochs: BTreeSet<u32> = t.summaries.iter().flat_map(|s| [s.epochs.0, s.epochs.1]).collect();
    let epochs = epochs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("–");
    let _ = writeln!(md, "### SGD, Adam and RNGD on MNIST (Sun & Nielsen, ICML 2017, §5.1 and Fig. 2)\n");
    let _ = writeln!(
        md,
        "Data: {}. Network: {}. {} epochs, seeds {}. Numbers are means over seeds at the final epoch; ± is the sample standard \
         deviation (n − 1) over seeds. Test accuracy is on the test split, which plays no part in choosing anything.\n",
        t.data_label,
        describe_net(t.runs),
        epochs,
        fmt_seeds(&all_seeds.into_iter().collect::<Vec<_>>())
    );
    let early: BTreeSet<u32> = t.summaries.iter().map(|s| s.early_epoch).collect();
    let one_early = (early.len() == 1).then(|| *early.first().expect("one element"));
    let early_header = match one_early {
        Some(k) => format!("train loss at epoch {k}"),
        None => "train loss a tenth of the way".into(),
    };
    let _ = writeln!(
        md,
        "| arch | optimizer | selected lr | seeds | {early_header} | final train loss | final test accuracy | best-epoch test accuracy | s/epoch | notes |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in t.summaries {
        let std = s.final_test_acc_std.map(|v| format!(" ± {:.2}", 100.0 * v)).unwrap_or_default();
        let mut notes = Vec::new();
        if !s.diverged_seeds.is_empty() {
            notes.push(format!("diverged: seed {}", fmt_seeds(&s.diverged_seeds)));
        }
        if s.inverse_fallbacks > 0 {
            notes.push(format!("{} inverse fallbacks", s.inverse_fallbacks));
        }
        if let Some(grid) = t.selection.grid.get(&s.key) {
            let (first, last) = (grid.first().map(|g| g.lr), grid.last().map(|g| g.lr));
            if grid.len() > 1 && (first == Some(s.lr) || last == Some(s.lr)) {
                notes.push("selected lr is at the edge of the grid".into());
            }
            let chosen_v = grid.iter().find(|g| g.lr == s.lr).map(|g| g.outcome.clone());
            let tied: Vec<String> = grid
                .iter()
                .filter(|g| g.lr != s.lr && Some(&g.outcome) == chosen_v.as_ref())
                .map(|g| fmt_lr(g.lr))
                .collect();
            if !tied.is_empty() {
                notes.push(format!("validation tie with lr {} (smaller kept)", tied.join(", ")));
            }
        }
        if s.epochs.0 != s.epochs.1 {
            notes.push(format!("epochs {}–{}", s.epochs.0, s.epochs.1));
        }
        if s.seeds.is_empty() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | 0 | – | – | – | – | – | {} |",
                arch_label(&s.key.arch),
                opt_label(&s.key.optimizer),
                fmt_lr(s.lr),
                notes.join("; ")
            );
            continue;
        }
        let early_cell = match (s.early_train_loss, one_early) {
            (Some(v), Some(_)) => format!("{v:.4}"),
            (Some(v), None) => format!("{v:.4} (epoch {})", s.early_epoch),
            (None, _) => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {early_cell} | {:.4} | {:.2}{std} % | {:.2} % | {:.2} | {} |",
            arch_label(&s.key.arch),
            opt_label(&s.key.optimizer),
            fmt_lr(s.lr),
            s.seeds.len(),
            s.final_train_loss,
            100.0 * s.final_test_acc,
            100.0 * s.best_test_acc,
            s.seconds_per_epoch,
            notes.join("; ")
        );
    }
    let _ = writeln!(
        md,
        "\ns/epoch is wall time per epoch including evaluation, on whatever machine ran the records (runs may have shared its cores).\n"
    );
    let archs: BTreeSet<(u8, String)> = t.summaries.iter().map(|s| (s.key.arch_rank, s.key.arch.clone())).collect();
    for (_, a) in &archs {
        let _ = writeln!(md, "- {}", verdict(a, t.summaries));
    }
    if let Some(b) = bn_sentence(t.summaries) {
        let _ = writeln!(md, "- {b}");
    }
    let _ = writeln!(
        md,
        "\nThe paper: \"RNGD presents a sharper learning curve and better generalization, especially when it is combined with BN.\"\n"
    );
    let _ = writeln!(md, "**Learning-rate selection.** For each architecture and optimizer the selected learning rate is the one whose seed-1 run \
        has the highest validation accuracy (held-out training digits) averaged over its last {SELECTION_WINDOW} epochs; runs that diverged are excluded, and a tie goes to \
        the smaller rate. The other seeds then run at the selected rate only.\n");
    let _ =
        writeln!(md, "| arch | optimizer | seed-1 validation accuracy, mean of the last {SELECTION_WINDOW} epochs, per learning rate (selected in bold) |");
    let _ = writeln!(md, "|---|---|---|");
    for (key, grid) in &t.selection.grid {
        let chosen = t.selection.chosen.get(key);
        let cells: Vec<String> = grid
            .iter()
            .map(|g| {
                let v = match g.outcome {
                    GridOutcome::Validation(v) => pct(v),
                    GridOutcome::Diverged => "diverged".into(),
                    GridOutcome::NoValidation => "no validation split".into(),
                };
                if chosen == Some(&g.lr) {
                    format!("**{}: {v}**", fmt_lr(g.lr))
                } else {
                    format!("{}: {v}", fmt_lr(g.lr))
                }
            })
            .collect();
        let _ = writeln!(md, "| {} | {} | {} |", arch_label(&key.arch), opt_label(&key.optimizer), cells.join(" · "));
    }
    render_presets(&mut md, t.summaries, t.presets);
    let _ = writeln!(md, "\nRegenerate this table and the figure with `{}`.", t.command);
    md
}

fn fmt_epochs((lo, hi): (u32, u32)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

/// Mean ± sample standard deviation of final test accuracy, as in the main table.
fn fmt_acc(s: &Summary) -> String {
    if s.seeds.is_empty() {
        return "–".into();
    }
    let std = s.final_test_acc_std.map(|v| format!(" ± {:.2}", 100.0 * v)).unwrap_or_default();
    format!("{:.2}{std} %", 100.0 * s.final_test_acc)
}

/// The presets against the literal algorithm, one row per (arch, preset, lr).
/// Writes nothing when there are no preset runs.
fn render_presets(md: &mut String, summaries: &[Summary], presets: &[PresetSummary]) {
    if presets.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n**RNGD presets.** RNGD with a named setting of its speed options (`--rngd-preset`), against the literal \
         algorithm: the RNGD rows of the first table, at their selected learning rate. A run counts as a preset run by the \
         speed settings in its record's config, and preset runs take no part in the learning-rate selection, the first \
         table or the verdicts above.\n"
    );
    let _ = writeln!(
        md,
        "| arch | preset | speed settings | lr | seeds (literal / preset) | literal final test accuracy | preset final test accuracy | difference | literal s/epoch | preset s/epoch | verdict | notes |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for ps in presets {
        let p = &ps.summary;
        let literal = literal_for(summaries, &p.key.arch);
        let mut notes = Vec::new();
        if !p.diverged_seeds.is_empty() {
            notes.push(format!("preset diverged: seed {}", fmt_seeds(&p.diverged_seeds)));
        }
        if p.inverse_fallbacks > 0 {
            notes.push(format!("{} inverse fallbacks", p.inverse_fallbacks));
        }
        if let Some(l) = literal {
            if l.lr != p.lr {
                notes.push(format!("the literal RNGD's selected lr is {}", fmt_lr(l.lr)));
            }
            if !p.seeds.is_empty() && l.seeds != p.seeds {
                notes.push(format!("seeds differ: literal {}, preset {}", fmt_seeds(&l.seeds), fmt_seeds(&p.seeds)));
            }
            if !p.seeds.is_empty() && l.epochs != p.epochs {
                notes.push(format!("epochs differ: literal {}, preset {}", fmt_epochs(l.epochs), fmt_epochs(p.epochs)));
            }
        }
        let per_epoch =
            |s: &Summary| if s.seeds.is_empty() { "–".into() } else { format!("{:.2}", s.seconds_per_epoch) };
        let (difference, verdict) = match literal {
            Some(l) if !p.seeds.is_empty() => {
                let c = Comparison::of(l, p);
                (format!("{:+.2} points", c.difference), c.verdict())
            }
            Some(_) => ("–".into(), "no verdict: no completed preset runs".into()),
            None => ("–".into(), "no verdict: no completed literal RNGD runs at a selected rate".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} | {} / {} | {} | {} | {difference} | {} | {} | {verdict} | {} |",
            arch_label(&p.key.arch),
            ps.preset,
            speed_flags(&ps.settings),
            fmt_lr(p.lr),
            literal.map_or(0, |l| l.seeds.len()),
            p.seeds.len(),
            literal.map(fmt_acc).unwrap_or("–".into()),
            fmt_acc(p),
            literal.map(per_epoch).unwrap_or("–".into()),
            per_epoch(p),
            notes.join("; ")
        );
    }
    let _ = writeln!(
        md,
        "\nThe verdict rule: a preset is **within the literal algorithm's seed spread** when the absolute difference of the \
         mean final test accuracies, |mean(preset) − mean(literal)|, is at most the larger of the two sample standard \
         deviations over seeds, and **above** or **below** it otherwise, by the sign of the difference; a preset keeps \
         the literal algorithm's accuracy unless it is below. With fewer than two completed seeds on either side there \
         is no verdict, and a preset that diverged on a seed where the literal algorithm did not is below. The difference is \
         the preset's mean minus the literal one's, in accuracy points. s/epoch is each record's own wall time, evaluation \
         included, from whatever build and machine load ran it, so it is no speed comparison: for that, \
         `rngd-lab bench --variants literal,fast` times both in interleaved rounds."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rngd_lab::optim::RngdPreset;

    use crate::cli::report::fixtures::{diverged, run, slower, with_preset};
    use crate::cli::report::preset::{split, summarise_presets};
    use crate::cli::report::select::select;
    use crate::cli::report::summary::summarise;

    #[test]
    fn table_states_the_rule_the_grid_and_the_command() {
        let mut runs = Vec::new();
        for seed in 1..=2 {
            runs.push(run("plain", "sgd", 0.1, seed, 0.95, 0.2, 2));
            runs.push(run("plain", "rngd", 0.03, seed, 0.97, 0.05, 2));
        }
        runs.push(run("plain", "sgd", 0.01, 1, 0.93, 0.2, 2));
        runs.push(run("plain", "sgd", 0.3, 1, 0.95, 0.2, 2));
        runs.push(diverged(run("plain", "rngd", 0.3, 1, 0.5, 0.2, 1)));
        let selection = select(&runs);
        let summaries = summarise(&runs, &selection.chosen);
        let md = render_table(&TableInputs {
            runs: &runs,
            selection: &selection,
            summaries: &summaries,
            presets: &[],
            data_label: "test data",
            command: "rngd-lab report --runs r --table t.md",
        });
        assert!(md.contains("| train loss at epoch 1 | final train loss |"), "{md}");
        assert!(md.contains("| PLAIN | SGD | 0.1 | 2 | 0.2000 | 0.1000 | 95.00 ± 0.00 % |"), "{md}");
        assert!(md.contains("| PLAIN | RNGD | 0.03 | 2 | 0.0500 | 0.0250 | 97.00 ± 0.00 % |"), "{md}");
        assert!(md.contains("selected lr is at the edge of the grid"), "{md}");
        assert!(md.contains("| PLAIN | SGD | 0.01: 93.00% · **0.1: 95.00%** · 0.3: 95.00% |"), "{md}");
        assert!(md.contains("validation tie with lr 0.3 (smaller kept) |"), "{md}");
        assert!(md.contains("| PLAIN | RNGD | **0.03: 97.00%** · 0.3: diverged |"), "{md}");
        assert!(md.contains("highest validation accuracy"), "{md}");
        assert!(md.contains("`rngd-lab report --runs r --table t.md`"), "{md}");
        assert!(md.contains("beats SGD's (95.00%) by 2.00 points"), "{md}");
        assert!(md.contains("hidden layers 80-80-80, relu activations, batch 50"), "{md}");
    }

    /// Renders the table of `runs` as `report` does: presets set aside first.
    fn render(runs: Vec<Run>) -> String {
        let (main, preset_runs) = split(runs);
        let selection = select(&main);
        let summaries = summarise(&main, &selection.chosen);
        let presets = summarise_presets(&preset_runs);
        render_table(&TableInputs {
            runs: &main,
            selection: &selection,
            summaries: &summaries,
            presets: &presets,
            data_label: "test data",
            command: "rngd-lab report --runs r --table t.md",
        })
    }

    #[test]
    fn presets_get_their_own_section_and_leave_the_rest_alone() {
        let fast = RngdPreset::ALL.into_iter().find(|&p| p != RngdPreset::Literal).unwrap();
        let mut runs = Vec::new();
        for (seed, acc) in [(1, 0.95), (2, 0.97)] {
            runs.push(run("plain", "sgd", 0.1, seed, acc - 0.01, 0.2, 2));
            runs.push(run("plain", "rngd", 0.03, seed, acc, 0.05, 2));
        }
        runs.push(run("plain", "rngd", 0.1, 1, 0.9, 0.05, 2));
        let without = render(runs.clone());
        assert!(!without.contains("RNGD presets"), "{without}");
        // Half a point lower than the literal RNGD, in half the time; and a better preset
        // run at a rate the literal grid lost on, which must not change the selection.
        for (seed, acc) in [(1, 0.945), (2, 0.965)] {
            runs.push(slower(with_preset(run("plain", "rngd", 0.03, seed, acc, 0.05, 2), fast), 0.5));
        }
        runs.push(with_preset(run("plain", "rngd", 0.1, 1, 0.99, 0.05, 2), fast));
        let with = render(runs);
        let (main_part, _) = without.split_once("\nRegenerate").unwrap();
        assert!(with.starts_with(main_part), "{with}");
        let settings = speed_flags(&fast.apply(rngd_lab::optim::RngdConfig::default()));
        let row = format!(
            "| PLAIN | {fast} | `{settings}` | 0.03 | 2 / 2 | 96.00 ± 1.41 % | 95.50 ± 1.41 % | -0.50 points | 0.50 | 0.25 | \
             within the literal algorithm's seed spread (gap 0.50 ≤ sd 1.41) |  |"
        );
        assert!(with.contains(&row), "{with}");
        // The preset run at the other rate has one seed: no verdict, and a note on the rate.
        assert!(
            with.contains("no verdict: fewer than two completed seeds on one side | the literal RNGD's selected lr is 0.03; seeds differ: literal 1, 2, preset 1 |"),
            "{with}"
        );
        assert!(with.contains("at most the larger of the two sample standard deviations"), "{with}");
        // A stray `|` in a cell would split it: every line of the section's table has 12 cells.
        let section = with.split_once("**RNGD presets.**").unwrap().1;
        for line in section.lines().filter(|l| l.starts_with('|')) {
            assert_eq!(line.matches('|').count(), 13, "{line}");
        }
        assert!(with.trim_end().ends_with("`rngd-lab report --runs r --table t.md`."), "{with}");
    }
}
