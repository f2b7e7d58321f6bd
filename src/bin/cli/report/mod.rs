//! `report`: reads run records (`train` or `compare` JSON), chooses each optimizer's
//! learning rate on validation accuracy, and writes the paper's Fig. 2 (SVG) and a
//! markdown table with a verdict computed from the numbers.
//!
//! Learning-rate selection, the one rule used everywhere (the experiment script
//! asks `report --print-selection` rather than repeating it): for each
//! (architecture, optimizer), the learning rate whose **seed-1** run has the highest
//! validation accuracy averaged over its last 10 epochs. Runs that diverged, or that have no
//! validation accuracy, are not candidates. Ties go to the smaller learning rate.
//!
//! RNGD runs made with a preset other than the literal one (`--rngd-preset`)
//! take no part in that rule, the main table or the verdicts; they get a section
//! of their own against the literal algorithm (see `preset`).

mod axis;
mod figure;
#[cfg(test)]
mod fixtures;
mod fmt;
mod key;
mod load;
mod preset;
mod select;
mod stats;
mod summary;
mod table;
mod verdict;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use figure::draw_figure;
use fmt::fmt_lr;
use load::load_runs;
use preset::{split, summarise_presets};
use select::select;
use summary::summarise;
use table::{render_table, TableInputs};

const DEFAULT_DATA: &str = "bundled MNIST subset: 7,000 train / 1,000 validation / 2,000 test digits";

#[derive(Args)]
pub struct ReportArgs {
    /// Folder of run records (*.json, searched recursively), each a `train` record or a `compare` list.
    #[arg(long)]
    runs: PathBuf,
    /// Folder of the records to choose learning rates from (default: the --runs folder).
    #[arg(long)]
    selection: Option<PathBuf>,
    /// Write the learning-curve figure here (SVG).
    #[arg(long)]
    figure: Option<PathBuf>,
    /// Write the markdown table here.
    #[arg(long)]
    table: Option<PathBuf>,
    /// Print each selected learning rate to stdout as `arch optimizer lr`, one per line.
    #[arg(long)]
    print_selection: bool,
    /// What the runs trained on, for the figure's title and the table.
    #[arg(long, default_value = DEFAULT_DATA)]
    data_label: String,
}

fn command_line(a: &ReportArgs) -> String {
    let mut c = format!("target/release/rngd-lab report --runs {}", a.runs.display());
    if let Some(s) = &a.selection {
        let _ = write!(c, " --selection {}", s.display());
    }
    if let Some(f) = &a.figure {
        let _ = write!(c, " --figure {}", f.display());
    }
    if let Some(t) = &a.table {
        let _ = write!(c, " --table {}", t.display());
    }
    if a.data_label != DEFAULT_DATA {
        let _ = write!(c, " --data-label '{}'", a.data_label.replace('\'', "'\\''"));
    }
    c
}

pub fn report(args: ReportArgs) -> Result<(), String> {
    if args.figure.is_none() && args.table.is_none() && !args.print_selection {
        return Err("nothing to do: give --figure, --table or --print-selection".into());
    }
    for (flag, path) in [("--figure", &args.figure), ("--table", &args.table)] {
        if let Some(path) = path {
            super::output::ensure_writable(flag, path)?;
        }
    }
    // Preset runs are set aside before anything is chosen or averaged, so the
    // paper's comparison reads exactly as it would without them.
    let (runs, preset_runs) = split(load_runs(&args.runs)?);
    let selection_runs = match &args.selection {
        Some(dir) => split(load_runs(dir)?).0,
        None => runs.clone(),
    };
    let selection = select(&selection_runs);
    if selection.grid.is_empty() {
        return Err("no seed-1 runs to choose learning rates from".into());
    }
    for (key, grid) in &selection.grid {
        if !selection.chosen.contains_key(key) {
            eprintln!(
                "warning: {} {}: none of its {} seed-1 runs completed with a validation accuracy; no learning rate selected",
                key.arch,
                key.optimizer,
                grid.len()
            );
        }
    }
    if args.print_selection {
        for (key, lr) in &selection.chosen {
            println!("{} {} {}", key.arch, key.optimizer, fmt_lr(*lr));
        }
    }
    let summaries = summarise(&runs, &selection.chosen);
    let presets = summarise_presets(&preset_runs);
    if let Some(path) = &args.figure {
        draw_figure(path, &summaries, &presets, &args.data_label)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.table {
        let command = command_line(&args);
        let md = render_table(&TableInputs {
            runs: &runs,
            selection: &selection,
            summaries: &summaries,
            presets: &presets,
            data_label: &args.data_label,
            command: &command,
        });
        std::fs::write(path, md).map_err(|e| format!("could not write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
