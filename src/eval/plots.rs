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
    let mut chart = ChartBuilder::on(&root)
        .caption(&plot.title, (FONT, 22))
        .margin(14)
        .x_label_area_size(48)
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
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
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
