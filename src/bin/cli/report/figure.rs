//! The learning-curve figure (after the paper's Fig. 2), as SVG.

use std::collections::BTreeSet;
use std::path::Path;

use super::axis::{epoch_ticks, log_range, log_ticks, tick, Ticked};
use super::fmt::{fmt_lr, fmt_seeds};
use super::key::{arch_label, opt_label};
use super::preset::PresetSummary;
use super::summary::{Band, Summary};

fn colour(optimizer: &str) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    match optimizer {
        "sgd" => RGBColor(31, 119, 180),
        "adam" => RGBColor(255, 127, 14),
        "rngd" => RGBColor(44, 160, 44),
        _ => RGBColor(110, 110, 110),
    }
}

/// Draws the figure; each preset with completed runs adds a dashed line (its mean,
/// without a band) to its architecture's row.
pub fn draw_figure(
    path: &Path,
    summaries: &[Summary],
    presets: &[PresetSummary],
    data_label: &str,
) -> Result<(), String> {
    use plotters::element::DashedPathElement;
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    let err = |e: &dyn std::fmt::Display| format!("could not draw {}: {e}", path.display());
    let plotted: Vec<&Summary> = summaries.iter().filter(|s| !s.seeds.is_empty()).collect();
    if plotted.is_empty() {
        return Err("nothing to plot: no completed runs at a selected learning rate".into());
    }
    let archs: Vec<String> = {
        let set: BTreeSet<(u8, String)> = plotted.iter().map(|s| (s.key.arch_rank, s.key.arch.clone())).collect();
        set.into_iter().map(|(_, a)| a).collect()
    };
    let plotted_presets: Vec<&PresetSummary> = presets.iter().filter(|p| !p.summary.seeds.is_empty()).collect();
    let seeds: BTreeSet<u64> = plotted.iter().flat_map(|s| s.seeds.iter().copied()).collect();
    let max_epoch = plotted
        .iter()
        .copied()
        .chain(plotted_presets.iter().map(|p| &p.summary))
        .map(|s| s.epochs.1)
        .max()
        .unwrap_or(1)
        .max(1);
    let x_ticks = epoch_ticks(max_epoch);

    // A third line of subtitle says what the dashed lines are, when there are any.
    let head_h = if plotted_presets.is_empty() { 130u32 } else { 160 };
    let (w, row_h) = (1500u32, 500u32);
    let root = SVGBackend::new(path, (w, head_h + row_h * archs.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (head, body) = root.split_vertically(head_h);
    let centre = Pos::new(HPos::Center, VPos::Center);
    let title = "Learning curves of SGD, Adam and RNGD on an MLP (after Sun & Nielsen, ICML 2017, Fig. 2)";
    head.draw(&Text::new(
        title,
        (w as i32 / 2, 34),
        ("sans-serif", 34).into_font().style(FontStyle::Bold).color(&BLACK).pos(centre),
    ))
    .map_err(|e| err(&e))?;
    let mut sub = vec![
        format!("{data_label}; seeds {}.", fmt_seeds(&seeds.into_iter().collect::<Vec<_>>())),
        "Lines: mean over seeds; bands: min–max over seeds. Each learning rate was chosen on seed-1 validation accuracy.".into(),
    ];
    if !plotted_presets.is_empty() {
        sub.push(
            "Dashed: RNGD with a speed preset (--rngd-preset), mean over seeds, kept out of the choice of rates."
                .into(),
        );
    }
    for (i, line) in sub.into_iter().enumerate() {
        head.draw(&Text::new(
            line,
            (w as i32 / 2, 76 + 30 * i as i32),
            ("sans-serif", 24).into_font().color(&RGBColor(60, 60, 60)).pos(centre),
        ))
        .map_err(|e| err(&e))?;
    }

    let panels = body.split_evenly((archs.len(), 2));
    for (row, arch) in archs.iter().enumerate() {
        let in_row: Vec<&Summary> = plotted.iter().copied().filter(|s| &s.key.arch == arch).collect();
        let presets_in_row: Vec<&PresetSummary> =
            plotted_presets.iter().copied().filter(|p| &p.summary.key.arch == arch).collect();
        for col in 0..2 {
            let area = &panels[row * 2 + col];
            let pick = |s: &Summary| -> Vec<Band> {
                if col == 0 {
                    s.train_loss.clone()
                } else {
                    s.test_error.clone()
                }
            };
            let data: Vec<Vec<Band>> = in_row.iter().map(|s| pick(s)).collect();
            let preset_data: Vec<Vec<Band>> = presets_in_row.iter().map(|p| pick(&p.summary)).collect();
            let refs: Vec<&[Band]> = data.iter().chain(&preset_data).map(|d| d.as_slice()).collect();
            let (lo, hi) = log_range(&refs);
            let y_ticks = log_ticks(lo, hi);
            let (caption, ydesc) = if col == 0 {
                (format!("{}: training loss", arch_label(arch)), "training loss (log scale)")
            } else {
                (format!("{}: test error", arch_label(arch)), "test error, % (log scale)")
            };
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 28).into_font().style(FontStyle::Bold))
                .margin_left(20)
                .margin_right(30)
                .margin_top(10)
                .margin_bottom(10)
                .x_label_area_size(60)
                .y_label_area_size(90)
                .build_cartesian_2d(
                    Ticked {
                        inner: plotters::coord::types::RangedCoordf64::from(0.0..max_epoch as f64),
                        ticks: x_ticks.clone(),
                    },
                    Ticked { inner: LogCoord::from((lo..hi).log_scale()), ticks: y_ticks },
                )
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(ydesc)
                .axis_desc_style(("sans-serif", 22))
                .label_style(("sans-serif", 20))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| tick(*v))
                .bold_line_style(RGBColor(225, 225, 225))
                .axis_style(RGBColor(90, 90, 90))
                .draw()
                .map_err(|e| err(&e))?;
            for (s, bands) in in_row.iter().zip(&data) {
                let c = colour(&s.key.optimizer);
                let mut outline: Vec<(f64, f64)> = bands.iter().map(|b| (b.epoch as f64, b.max)).collect();
                outline.extend(bands.iter().rev().map(|b| (b.epoch as f64, b.min.max(lo))));
                if s.seeds.len() > 1 {
                    chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18)))).map_err(|e| err(&e))?;
                }
            }
            for (s, bands) in in_row.iter().zip(&data) {
                let c = colour(&s.key.optimizer);
                let label = format!(
                    "{}, lr {} ({} seed{})",
                    opt_label(&s.key.optimizer),
                    fmt_lr(s.lr),
                    s.seeds.len(),
                    if s.seeds.len() == 1 { "" } else { "s" }
                );
                chart
                    .draw_series(LineSeries::new(bands.iter().map(|b| (b.epoch as f64, b.mean)), c.stroke_width(3)))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], c.stroke_width(4)));
            }
            for (p, bands) in presets_in_row.iter().zip(&preset_data) {
                let s = &p.summary;
                let c = colour(&s.key.optimizer);
                let label = format!(
                    "{} {}, lr {} ({} seed{})",
                    opt_label(&s.key.optimizer),
                    p.preset,
                    fmt_lr(s.lr),
                    s.seeds.len(),
                    if s.seeds.len() == 1 { "" } else { "s" }
                );
                let points: Vec<(f64, f64)> = bands.iter().map(|b| (b.epoch as f64, b.mean)).collect();
                chart
                    .draw_series(DashedLineSeries::new(points, 14, 8, c.stroke_width(3)))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 28, y)], 8, 4, c.stroke_width(4)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .margin(12)
                .legend_area_size(36)
                .label_font(("sans-serif", 20))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
