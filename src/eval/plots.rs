//! Plots of an evaluation, as SVG (for the web and the book) and PNG (for
//! slides and chat): loss curves, ROC, precision-recall, calibration and the
//! decision curve.
//!
//! Every plot is described once as a [`Plot`] (title, axes, line series) and
//! drawn by one function on either backend. PNG text needs a font in the
//! binary: DejaVu Sans (assets/fonts, Bitstream Vera licence) is registered
//! with plotters' ab_glyph text renderer on first use.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::report::EvalReport;
use crate::artifact::write_atomic;
use crate::error::{Error, IoContext, Result};

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
const SIZE: (u32, u32) = (720, 540);

fn register() {
    REGISTER.call_once(|| {
        // The bytes are a known-good TTF compiled in; failure would be a build defect.
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// One line on a plot.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Draw markers at the points as well (reliability bins).
    pub markers: bool,
}

/// A line chart: title, axis labels and ranges, series.
#[derive(Debug, Clone)]
pub struct Plot {
    pub file_stem: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub series: Vec<Series>,
    /// Put the legend top right (falling curves) instead of bottom right.
    pub legend_top: bool,
    /// Names of the x positions 1, 2, ... (a plot of named things, such as
    /// features ranked by drift): written under the axis, upright, instead
    /// of numbers. Empty for a numeric axis.
    pub x_names: Vec<String>,
}

/// Pixels of the plotting area a legend entry takes (a line of its text).
const LEGEND_ENTRY_PX: f64 = 24.0;

/// The top of a y range that leaves room for an upper legend of `entries`
/// lines above the highest value `top`, so the legend never hides a
/// line's last point (which, on a rising curve, is where it sits).
pub fn legend_headroom(top: f64, entries: usize) -> f64 {
    // The plotting area of a SIZE plot is about 430 px high; keep the
    // legend box and a margin out of the data's share of it.
    let reserved = (LEGEND_ENTRY_PX * entries as f64 + 16.0) / 430.0;
    top / (1.0 - reserved.min(0.6))
}

const MODEL: RGBColor = RGBColor(31, 119, 180);
const REFERENCE: RGBColor = RGBColor(127, 127, 127);
const SECOND: RGBColor = RGBColor(214, 39, 40);
const THIRD: RGBColor = RGBColor(44, 160, 44);

fn series(name: &str, points: Vec<(f64, f64)>, color: RGBColor) -> Series {
    Series {
        name: name.into(),
        points,
        color,
        markers: false,
    }
}

/// The plots a report makes (loss curves only when history is known).
pub fn plots(report: &EvalReport) -> Vec<Plot> {
    let mut out = Vec::new();
    if !report.history.is_empty() {
        let h = &report.history;
        let x = |e: &super::run_dir::Epoch| e.epoch as f64;
        let train: Vec<_> = h.iter().map(|e| (x(e), e.train_loss)).collect();
        let valid: Vec<_> = h.iter().map(|e| (x(e), e.valid_loss)).collect();
        let (lo, hi) = bounds(train.iter().chain(&valid).map(|p| p.1));
        let (x0, x1) = bounds(h.iter().map(x));
        out.push(Plot {
            file_stem: "loss".into(),
            legend_top: true,
            x_names: Vec::new(),
            title: format!("Loss by epoch: {}", report.run_name),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            x_range: (x0, x1.max(x0 + 1.0)),
            y_range: (lo.min(0.0), hi * 1.05 + 1e-9),
            series: vec![
                series("train", train, MODEL),
                series("valid", valid, SECOND),
            ],
        });
    }
    let auroc = report
        .metrics
        .auroc
        .map(|a| format!(" (AUROC {a:.3})"))
        .unwrap_or_default();
    out.push(Plot {
        file_stem: "roc".into(),
        legend_top: false,
        x_names: Vec::new(),
        title: format!("ROC, {} split{auroc}", report.split),
        x_label: "1 - specificity (false positive rate)".into(),
        y_label: "sensitivity (true positive rate)".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        series: vec![
            series("model", report.roc.clone(), MODEL),
            series("chance", vec![(0.0, 0.0), (1.0, 1.0)], REFERENCE),
        ],
    });
    let ap = report
        .metrics
        .auprc
        .map(|a| format!(" (AP {a:.3})"))
        .unwrap_or_default();
    out.push(Plot {
        file_stem: "pr".into(),
        legend_top: true,
        x_names: Vec::new(),
        title: format!("Precision-recall, {} split{ap}", report.split),
        x_label: "recall (sensitivity)".into(),
        y_label: "precision (PPV)".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        series: vec![
            series("model", report.pr.clone(), MODEL),
            series(
                "prevalence",
                vec![(0.0, report.prevalence), (1.0, report.prevalence)],
                REFERENCE,
            ),
        ],
    });
    let top = report
        .reliability
        .iter()
        .map(|b| b.mean_score.max(b.observed_rate))
        .fold(0.0_f64, f64::max);
    let top = ((top * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
    out.push(Plot {
        file_stem: "calibration".into(),
        legend_top: false,
        x_names: Vec::new(),
        title: format!(
            "Calibration, {} split (ECE {:.3})",
            report.split, report.metrics.ece
        ),
        x_label: "mean predicted risk".into(),
        y_label: "observed rate".into(),
        x_range: (0.0, top),
        y_range: (0.0, top),
        series: vec![
            Series {
                name: "model".into(),
                points: report
                    .reliability
                    .iter()
                    .map(|b| (b.mean_score, b.observed_rate))
                    .collect(),
                color: MODEL,
                markers: true,
            },
            series("ideal", vec![(0.0, 0.0), (top, top)], REFERENCE),
        ],
    });
    let dc = &report.decision_curve;
    let hi = dc
        .iter()
        .map(|p| p.model.max(p.treat_all))
        .fold(0.0_f64, f64::max);
    let hi = if hi > 0.0 { hi * 1.1 } else { 0.05 };
    let clip = |v: f64| v.max(-hi * 0.5);
    out.push(Plot {
        file_stem: "decision_curve".into(),
        legend_top: true,
        x_names: Vec::new(),
        title: format!("Decision curve, {} split", report.split),
        x_label: "threshold probability".into(),
        y_label: "net benefit".into(),
        x_range: (0.0, 1.0),
        y_range: (-hi * 0.5, hi),
        series: vec![
            series(
                "model",
                dc.iter().map(|p| (p.threshold, clip(p.model))).collect(),
                MODEL,
            ),
            series(
                "treat all",
                // Treat-all falls steeply: draw it while it is on the chart.
                dc.iter()
                    .filter(|p| p.treat_all >= -hi * 0.5)
                    .map(|p| (p.threshold, p.treat_all))
                    .collect(),
                THIRD,
            ),
            series(
                "treat none",
                dc.iter().map(|p| (p.threshold, p.treat_none)).collect(),
                REFERENCE,
            ),
        ],
    });
    out
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Draw one plot on any plotters backend.
fn draw<DB: DrawingBackend>(plot: &Plot, root: DrawingArea<DB, Shift>) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| {
        Error::failure(format!("plot {}: {e}", plot.file_stem))
    };
    root.fill(&WHITE).map_err(err)?;
    // Upright names need room below the axis for the longest one.
    let longest = plot.x_names.iter().map(|n| n.chars().count()).max();
    let x_area = longest.map_or(48, |chars| 40 + 6 * chars.min(32) as u32);
    let mut chart = ChartBuilder::on(&root)
        .caption(&plot.title, (FONT, 22))
        .margin(14)
        .x_label_area_size(x_area)
        // Tick labels like "-100000" need room, or the axis title overprints them.
        .y_label_area_size(
            if plot.y_range.0.abs().max(plot.y_range.1.abs()) >= 1000.0 {
                96
            } else {
                64
            },
        )
        .build_cartesian_2d(
            plot.x_range.0..plot.x_range.1,
            plot.y_range.0..plot.y_range.1,
        )
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235));
    let no_number = |_: &f64| String::new();
    if !plot.x_names.is_empty() {
        // A grid line at each position (plotters picks a step of 1 when it
        // may place as many labels as there are positions, 0 ..= n + 1);
        // the names are drawn below, not as numbers.
        mesh.x_labels(plot.x_names.len() + 2)
            .x_label_formatter(&no_number);
    }
    mesh.draw().map_err(err)?;
    // Each name upright, starting just under its position on the axis
    // (plotters' own tick labels are centred on the tick, which would put
    // half of a turned name inside the plot).
    let upright = TextStyle::from((FONT, 12).into_font())
        .transform(FontTransform::Rotate90)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, name) in plot.x_names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 1.0, plot.y_range.0));
        root.draw_text(name, &upright, (x, y + 8)).map_err(err)?;
    }
    for s in &plot.series {
        let color = s.color;
        let drawn = chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?;
        // A series without a name (the second edge of a band) has no legend entry.
        if !s.name.is_empty() {
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        if s.markers {
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(if plot.legend_top {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Render a plot as SVG text.
pub fn svg(plot: &Plot) -> Result<String> {
    register();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(plot, root)?;
    }
    Ok(text)
}

/// Render a plot as a PNG file, atomically: drawn under a temporary name
/// (still ending in .png, which picks the encoder) and renamed.
pub fn png(plot: &Plot, path: &Path) -> Result<()> {
    register();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).at(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}.png",
        plot.file_stem,
        std::process::id()
    ));
    let drawn = {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        draw(plot, root)
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).at(path)
}

/// Write every plot of the report as `<stem>.svg` and `<stem>.png` in `dir`.
pub fn write_all(report: &EvalReport, dir: &Path) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for plot in plots(report) {
        write_atomic(
            dir.join(format!("{}.svg", plot.file_stem)),
            svg(&plot)?.as_bytes(),
        )?;
        png(&plot, &dir.join(format!("{}.png", plot.file_stem)))?;
        written.push(plot.file_stem);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(svg: &str, tag: &str, attr: &str) -> Vec<f64> {
        let re = regex::Regex::new(&format!(r#"<{tag} [^>]*\b{attr}="([0-9.]+)""#)).unwrap();
        re.captures_iter(svg)
            .map(|c| c[1].parse().unwrap())
            .collect()
    }

    /// Two rising lines whose last points are the highest: with the
    /// headroom, the upper legend box ends above every point.
    #[test]
    fn the_legend_leaves_every_point_visible() {
        let line = |name: &str, top: f64, color| Series {
            name: name.into(),
            points: vec![(6.0, top * 0.5), (8.0, top * 0.8), (10.0, top)],
            color,
            markers: true,
        };
        let mut plot = Plot {
            file_stem: "t".into(),
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_range: (5.5, 10.5),
            y_range: (0.0, 120.0 * 1.1),
            series: vec![line("fast", 120.0, MODEL), line("slow", 90.0, SECOND)],
            legend_top: true,
            x_names: Vec::new(),
        };
        let below_legend = |plot: &Plot| {
            let text = svg(plot).unwrap();
            let ys = numbers(&text, "rect", "y");
            let hs = numbers(&text, "rect", "height");
            // The last rect is the legend's border (the first is the background).
            let legend_bottom = ys.last().unwrap() + hs.last().unwrap();
            let highest = numbers(&text, "circle", "cy")
                .into_iter()
                .fold(f64::INFINITY, f64::min);
            highest > legend_bottom
        };
        assert!(!below_legend(&plot), "without headroom the legend hides it");
        plot.y_range.1 = legend_headroom(120.0 * 1.05, 2);
        assert!(below_legend(&plot));
    }

    /// Named positions are written under the axis, each starting below it.
    #[test]
    fn named_positions_are_written_under_the_axis() {
        let plot = Plot {
            file_stem: "psi".into(),
            title: "t".into(),
            x_label: "feature".into(),
            y_label: "psi".into(),
            x_range: (0.0, 4.0),
            y_range: (0.0, 1.0),
            series: vec![series(
                "PSI",
                vec![(1.0, 0.9), (2.0, 0.5), (3.0, 0.1)],
                MODEL,
            )],
            legend_top: true,
            x_names: vec!["creatinine".into(), "age".into(), "n_medications".into()],
        };
        let text = svg(&plot).unwrap();
        let axis_y = numbers(&text, "line", "y1").into_iter().fold(0.0, f64::max);
        for name in &plot.x_names {
            let re = regex::Regex::new(&format!(
                r#"<text x="[0-9.]+" y="([0-9.]+)"[^>]*text-anchor="start"[^>]*rotate\(90[^>]*>\s*{name}\s*<"#
            ))
            .unwrap();
            let y: f64 = re
                .captures(&text)
                .unwrap_or_else(|| panic!("{name} missing"))[1]
                .parse()
                .unwrap();
            assert!(y > axis_y, "{name} at {y}, axis at {axis_y}");
        }
    }
}
