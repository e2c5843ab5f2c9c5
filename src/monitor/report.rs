//! Writing a comparison: `report.json` (everything), `report.md` (for
//! people and tickets), `report.html` (one self-contained page), SVG plots (PSI by feature; reference vs current
//! histograms of the worst features), and `manifest.json`.

use std::path::Path;

use plotters::style::RGBColor;

use super::compare::{FeatureDrift, Level, Report};
use crate::artifact::{write_atomic, write_json, Manifest};
use crate::error::Result;
use crate::eval::plots::{svg, Plot, Series};

/// Histograms are drawn for at most this many flagged features.
pub const HISTOGRAMS: usize = 6;

const REFERENCE: RGBColor = RGBColor(127, 127, 127);
const CURRENT: RGBColor = RGBColor(31, 119, 180);
const WARN: RGBColor = RGBColor(255, 127, 14);
const ALERT: RGBColor = RGBColor(214, 39, 40);

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn p_value(v: Option<f64>) -> String {
    match v {
        Some(p) if p < 1e-4 => "<1e-4".into(),
        Some(p) => format!("{p:.4}"),
        None => "-".into(),
    }
}

fn row(f: &FeatureDrift) -> [String; 8] {
    [
        f.name.clone(),
        f.level.as_str().into(),
        fmt(f.psi, 3),
        format!(
            "{} {}",
            f.test.as_deref().unwrap_or("-"),
            fmt(f.statistic, 3)
        ),
        p_value(f.p_value),
        match f.drifted {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => "-".into(),
        },
        format!(
            "{:.1}% -> {:.1}%",
            100.0 * f.reference_missing,
            100.0 * f.current_missing
        ),
        f.reasons.join("; "),
    ]
}

const HEADER: [&str; 8] = [
    "feature", "level", "PSI", "test", "p", "drifted", "missing", "why",
];

/// The data set's drift in one line: drifted features over those judged.
fn dataset_line(r: &Report) -> Option<String> {
    let share = r.drift_share?;
    let judged = r.features.iter().filter(|f| f.drifted.is_some()).count();
    let drifted = r
        .features
        .iter()
        .filter(|f| f.drifted == Some(true))
        .count();
    Some(format!(
        "data set drift: {}: {drifted} of {judged} features drifted ({:.0}%; the threshold is {:.0}%)",
        if r.dataset_drift { "yes" } else { "no" },
        100.0 * share,
        100.0 * r.thresholds.drift_share
    ))
}

/// How each feature was judged, in words, for the report's foot.
fn tests_line(r: &Report) -> String {
    let t = &r.thresholds;
    format!(
        "A shift counts only when its feature's test says so: up to {} reference rows a test at p < {} (KS for numbers, chi-squared for categories, the two-proportion z-test for 0/1 features); above, a distance >= {} (Wasserstein normalised by the reference's standard deviation for numbers, Jensen-Shannon for categories and 0/1 features).",
        t.test_rows_max, t.p_value, t.distance
    )
}

/// The terminal table: every feature, the score, then causes and windows.
pub fn terminal(r: &Report) -> String {
    let mut rows: Vec<[String; 8]> = r.features.iter().chain(r.score.iter()).map(row).collect();
    rows.insert(0, HEADER.map(String::from));
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!(
        "monitor: {} ({} rows) vs reference {} ({} rows)\n",
        r.current, r.current_rows, r.reference, r.reference_rows
    );
    for row in &rows {
        for (w, cell) in widths.iter().zip(row.iter()) {
            out.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(&row[7]);
        out.push('\n');
    }
    if let Some(line) = dataset_line(r) {
        out.push_str(&line);
        out.push('\n');
    }
    if !r.codes.is_empty() {
        out.push_str("\ncode and unit changes:\n");
        for c in &r.codes {
            out.push_str(&format!("  [{}] {}\n", c.level.as_str(), c.describe()));
        }
    }
    for w in &r.windows {
        let estimated = w.estimate.as_ref().and_then(|e| e.estimated.auroc);
        out.push_str(&format!(
            "window {}: {} rows, AUROC {} (estimated {}), ECE {} [{}] {}\n",
            w.window.label,
            w.rows,
            fmt(w.performance.and_then(|p| p.auroc), 3),
            fmt(estimated, 3),
            fmt(w.performance.map(|p| p.ece), 3),
            w.level.as_str(),
            w.reasons.join("; ")
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&format!(
        "verdict: {} (exit code {})\n",
        r.verdict.as_str(),
        r.exit_code
    ));
    out
}

/// The Markdown report.
pub fn markdown(r: &Report) -> String {
    let mut md = String::from("# Drift and performance report\n\n");
    md.push_str(&format!(
        "- reference: `{}` ({} rows)\n- current: `{}` ({} rows)\n- **verdict: {}** (exit code {})\n\n",
        r.reference, r.reference_rows, r.current, r.current_rows, r.verdict.as_str(), r.exit_code
    ));
    if let Some(line) = dataset_line(r) {
        md.push_str(&format!("{line}.\n\n"));
    }
    let worst = r.worst();
    if !worst.is_empty() {
        md.push_str("## Flagged features\n\n");
        for f in &worst {
            md.push_str(&format!(
                "- **{}** ({}): {}\n",
                f.name,
                f.level.as_str(),
                f.reasons.join("; ")
            ));
            for c in &f.causes {
                md.push_str(&format!("  - cause: {c}\n"));
            }
        }
        md.push('\n');
    }
    if !r.codes.is_empty() {
        md.push_str("## Code and unit changes\n\n");
        for c in &r.codes {
            md.push_str(&format!("- {} ({})\n", c.describe(), c.level.as_str()));
        }
        md.push('\n');
    }
    md.push_str("## Every feature\n\n| ");
    md.push_str(&HEADER.join(" | "));
    md.push_str(" |\n|");
    md.push_str(&"---|".repeat(HEADER.len()));
    md.push('\n');
    for f in r.features.iter().chain(r.score.iter()) {
        md.push_str(&format!("| {} |\n", row(f).join(" | ")));
    }
    if !r.windows.is_empty() {
        md.push_str("\n## Performance by window\n\n| window | rows | mean score | labelled | AUROC | ECE | observed | level |\n|---|---|---|---|---|---|---|---|\n");
        if let Some(p) = r.reference_performance {
            md.push_str(&format!(
                "| reference | {} | {:.3} | {} | {} | {:.3} | {:.3} | |\n",
                p.n,
                p.mean_score,
                p.n,
                fmt(p.auroc, 3),
                p.ece,
                p.observed_rate
            ));
        }
        for w in &r.windows {
            let p = w.performance;
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} {} |\n",
                w.window.label,
                w.rows,
                fmt(w.mean_score, 3),
                p.map_or(0, |p| p.n),
                fmt(p.and_then(|p| p.auroc), 3),
                fmt(p.map(|p| p.ece), 3),
                fmt(p.map(|p| p.observed_rate), 3),
                w.level.as_str(),
                w.reasons.join("; ")
            ));
        }
    }
    md.push_str(&estimate_section(r));
    if !r.notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in &r.notes {
            md.push_str(&format!("- {n}\n"));
        }
    }
    md.push_str("\nPSI thresholds: warn at ");
    md.push_str(&format!(
        "{}, alert at {}. {} Plots: `psi.svg`, `hist-<feature>.svg`; the same with estimated and realised performance over time in `report.html`.\n",
        r.thresholds.psi_warn,
        r.thresholds.psi_alert,
        tests_line(r)
    ));
    md
}

/// `estimate +- 3 sd`, or `-`.
fn pm(v: Option<f64>, sd: Option<f64>) -> String {
    match (v, sd) {
        (Some(v), Some(sd)) => format!("{v:.3} ± {:.3}", super::estimate::SIGMAS * sd),
        (Some(v), None) => format!("{v:.3}"),
        _ => "-".into(),
    }
}

/// The estimated performance table: per window each figure estimated from
/// the scores (± 3 sd at the window's size), the realised one where labels
/// exist, and the reference band.
fn estimate_section(r: &Report) -> String {
    let Some(b) = &r.estimation else {
        return String::new();
    };
    let mut md = String::from("\n## Estimated performance (before the labels arrive)\n\n");
    md.push_str(&format!(
        "Scores recalibrated on the reference's {} labelled rows (logit(p) = {:.3} + {:.3} logit(score)); operating threshold {} ({}). Estimated: the expected figure if the chance of readmission at each score is what it was on the reference, ± 3 sd at the window's size; realised: on the window's labelled rows. A window alerts when an estimate falls below the reference's figure - 3 sd. No estimate can see a change in the outcome's relation to the inputs (concept shift): where the realised figures come in far from the estimate, that is what happened.\n\n",
        b.rows,
        b.calibration.intercept,
        b.calibration.slope,
        fmt(b.threshold, 3),
        b.threshold_source
    ));
    md.push_str("| window | rows | labelled | est. AUROC | real AUROC | est. precision | real precision | est. recall | real recall | est. net benefit | real net benefit |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let f = |x: Option<f64>| fmt(x, 3);
    let rf = b.reference;
    md.push_str(&format!(
        "| reference | {} | {} | | {} | | {} | | {} | | {} |\n",
        b.rows,
        b.rows,
        f(rf.auroc),
        f(rf.precision),
        f(rf.recall),
        f(rf.net_benefit)
    ));
    for w in &r.windows {
        let Some(e) = &w.estimate else { continue };
        let real = e.realised.unwrap_or_default();
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            w.window.label,
            e.rows,
            e.labelled,
            pm(e.estimated.auroc, e.sd.auroc),
            f(real.auroc),
            pm(e.estimated.precision, e.sd.precision),
            f(real.precision),
            pm(e.estimated.recall, e.sd.recall),
            f(real.recall),
            pm(e.estimated.net_benefit, e.sd.net_benefit),
            f(real.net_benefit),
        ));
    }
    md
}

fn series(name: &str, points: Vec<(f64, f64)>, color: RGBColor, markers: bool) -> Series {
    Series {
        name: name.into(),
        points,
        color,
        markers,
    }
}

/// The plots: PSI of every feature (sorted, with the thresholds) and a
/// histogram of each of the worst features.
pub fn plots(r: &Report) -> Vec<Plot> {
    let mut by_psi: Vec<&FeatureDrift> = r.features.iter().filter(|f| f.psi.is_some()).collect();
    by_psi.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));
    let points: Vec<(f64, f64)> = by_psi
        .iter()
        .enumerate()
        .map(|(i, f)| (i as f64 + 1.0, f.psi.unwrap_or(0.0)))
        .collect();
    let n = points.len().max(1) as f64;
    let top = points
        .first()
        .map_or(0.0, |p| p.1)
        .max(r.thresholds.psi_alert)
        * 1.1;
    let names: Vec<String> = by_psi.iter().map(|f| f.name.clone()).collect();
    let mut out = vec![Plot {
        file_stem: "psi".into(),
        title: "PSI by feature, largest first".into(),
        x_label: "feature".into(),
        y_label: "population stability index".into(),
        x_range: (0.0, n + 1.0),
        y_range: (0.0, top),
        series: vec![
            series("PSI", points, CURRENT, true),
            series(
                "warn",
                vec![
                    (0.0, r.thresholds.psi_warn),
                    (n + 1.0, r.thresholds.psi_warn),
                ],
                WARN,
                false,
            ),
            series(
                "alert",
                vec![
                    (0.0, r.thresholds.psi_alert),
                    (n + 1.0, r.thresholds.psi_alert),
                ],
                ALERT,
                false,
            ),
        ],
        legend_top: true,
        x_names: names,
    }];
    for f in r.worst().into_iter().take(HISTOGRAMS) {
        let pts = |shares: &[f64]| -> Vec<(f64, f64)> {
            shares
                .iter()
                .enumerate()
                .map(|(i, &s)| (i as f64 + 1.0, s))
                .collect()
        };
        let hi = f
            .reference_shares
            .iter()
            .chain(&f.current_shares)
            .fold(0.0f64, |a, &b| a.max(b));
        out.push(Plot {
            file_stem: format!("hist-{}", f.name),
            title: format!("{}: share by reference bin (PSI {})", f.name, fmt(f.psi, 3)),
            x_label: format!(
                "bin 1..{} ({} .. {})",
                f.bins.len(),
                f.bins.first().map_or("", String::as_str),
                f.bins.last().map_or("", String::as_str)
            ),
            y_label: "share of rows".into(),
            x_range: (0.5, f.bins.len() as f64 + 0.5),
            y_range: (0.0, hi * 1.15 + 1e-9),
            series: vec![
                series("reference", pts(&f.reference_shares), REFERENCE, true),
                series("current", pts(&f.current_shares), CURRENT, true),
            ],
            legend_top: true,
            x_names: Vec::new(),
        });
    }
    out
}

/// Write the report, plots and manifest into `out`; returns the files.
pub fn write(r: &Report, out: &Path, inputs: &[(&str, String)]) -> Result<Vec<String>> {
    write_json(out.join("report.json"), r)?;
    write_atomic(out.join("report.md"), markdown(r).as_bytes())?;
    write_atomic(out.join("report.html"), super::html::html(r).as_bytes())?;
    let mut files = vec![
        "report.json".to_string(),
        "report.md".to_string(),
        "report.html".to_string(),
    ];
    for plot in plots(r) {
        let name = format!("{}.svg", plot.file_stem);
        write_atomic(out.join(&name), svg(&plot)?.as_bytes())?;
        files.push(name);
    }
    let mut m = Manifest::new("monitor");
    for (k, v) in inputs {
        m.inputs.insert((*k).into(), v.clone());
    }
    m.counts.insert("reference_rows".into(), r.reference_rows);
    m.counts.insert("current_rows".into(), r.current_rows);
    m.counts.insert("features".into(), r.features.len() as u64);
    m.counts
        .insert("flagged_features".into(), r.worst().len() as u64);
    m.counts.insert("code_changes".into(), r.codes.len() as u64);
    m.details
        .insert("verdict".into(), serde_json::json!(r.verdict));
    m.details
        .insert("exit_code".into(), serde_json::json!(r.exit_code));
    let alerts: Vec<&str> = r
        .features
        .iter()
        .filter(|f| f.level == Level::Alert)
        .map(|f| f.name.as_str())
        .collect();
    m.details
        .insert("alert_features".into(), serde_json::json!(alerts));
    m.checksum_dir(out)?;
    m.write(out)?;
    Ok(files)
}
