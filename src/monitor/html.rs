//! `report.html`: the report as one self-contained page for people who do
//! not read Markdown: the verdict, the flagged features with their
//! histograms, estimated against realised performance over time, code and
//! unit changes, every feature, the notes.
//!
//! Self-contained on purpose: a hospital's reports are opened on machines
//! without internet access and mailed around, so the plots are inline SVG
//! drawn here, styles are inline, and nothing is fetched (no scripts, no
//! fonts, no images from elsewhere).

use std::fmt::Write as _;

use super::compare::{FeatureDrift, Level, Report, WindowReport};
use super::estimate::{Figures, SIGMAS};

const REFERENCE: &str = "#7f7f7f";
const CURRENT: &str = "#1f77b4";
const REALISED: &str = "#d62728";
const BAND: &str = "#e6e6e6";

/// Escape text for HTML (and SVG) content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fmt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

fn level_class(l: Level) -> &'static str {
    l.as_str()
}

/// Plot area of every chart: width, height and margins (left, right, top,
/// bottom) in SVG units.
const W: f64 = 640.0;
const H: f64 = 280.0;
const ML: f64 = 56.0;
const MR: f64 = 16.0;
const MT: f64 = 46.0;
const MB: f64 = 64.0;

/// A y axis from `lo` to `hi` with five labelled gridlines; returns the
/// SVG and the value-to-pixel mapping.
fn y_axis(lo: f64, hi: f64, label: &str) -> (String, impl Fn(f64) -> f64) {
    let span = (hi - lo).max(1e-9);
    let y = move |v: f64| MT + (H - MT - MB) * (1.0 - (v - lo) / span);
    let mut s = String::new();
    for k in 0..=4 {
        let v = lo + span * k as f64 / 4.0;
        let py = y(v);
        let _ = write!(
            s,
            r##"<line x1="{ML}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{v:.2}</text>"##,
            W - MR,
            ML - 4.0,
            py + 4.0
        );
    }
    let _ = write!(
        s,
        r##"<text transform="translate(14,{:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text><line x1="{ML}" x2="{ML}" y1="{MT}" y2="{}" stroke="#333"/><line x1="{ML}" x2="{}" y1="{}" y2="{}" stroke="#333"/>"##,
        (MT + H - MB) / 2.0,
        esc(label),
        H - MB,
        W - MR,
        H - MB,
        H - MB
    );
    (s, y)
}

/// Category labels under the x axis, every `step`-th one, slanted when
/// there are many.
fn x_labels(labels: &[String], x: &dyn Fn(usize) -> f64) -> String {
    let step = labels.len().div_ceil(12).max(1);
    let slant = labels.len() > 6 || labels.iter().any(|l| l.len() > 10);
    let mut s = String::new();
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
        let (px, py) = (x(i), H - MB + 14.0);
        let l: String = l.chars().take(18).collect();
        if slant {
            let _ = write!(
                s,
                r#"<text transform="translate({px:.1},{py:.1}) rotate(-35)" text-anchor="end" font-size="10">{}</text>"#,
                esc(&l)
            );
        } else {
            let _ = write!(
                s,
                r#"<text x="{px:.1}" y="{py:.1}" text-anchor="middle" font-size="10">{}</text>"#,
                esc(&l)
            );
        }
    }
    s
}

/// A legend under the title: (colour, name) pairs, left to right.
fn legend(items: &[(&str, &str)]) -> String {
    let mut s = String::new();
    let mut x = ML;
    for (colour, name) in items {
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="25" width="12" height="12" fill="{colour}" stroke="#999" stroke-width="0.5"/><text x="{:.1}" y="35" font-size="11">{}</text>"##,
            x + 16.0,
            esc(name)
        );
        x += 16.0 + 6.5 * name.chars().count() as f64 + 18.0;
    }
    s
}

fn svg_open(title: &str) -> String {
    format!(
        r#"<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" font-family="sans-serif"><title>{}</title><text x="{ML}" y="18" font-size="13" font-weight="bold">{}</text>"#,
        esc(title),
        esc(title)
    )
}

/// Reference and current shares of a feature by reference bin (or
/// category), side by side.
pub fn histogram_svg(f: &FeatureDrift) -> String {
    let n = f.bins.len().max(1);
    let hi = f
        .reference_shares
        .iter()
        .chain(&f.current_shares)
        .fold(0.0f64, |a, &b| a.max(b))
        .max(0.01)
        * 1.1;
    let (axis, y) = y_axis(0.0, hi, "share of rows");
    let slot = (W - ML - MR) / n as f64;
    let x = |i: usize| ML + slot * (i as f64 + 0.5);
    let title = format!("{}: share by bin, PSI {}", f.name, fmt(f.psi));
    let mut s = svg_open(&title);
    s.push_str(&axis);
    let bar = (slot * 0.38).min(28.0);
    for (i, (r, c)) in f.reference_shares.iter().zip(&f.current_shares).enumerate() {
        for (share, colour, dx) in [(r, REFERENCE, -bar), (c, CURRENT, 0.0)] {
            let top = y(*share);
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{top:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}"><title>{}: {:.1}%</title></rect>"#,
                x(i) + dx,
                (H - MB - top).max(0.0),
                esc(f.bins.get(i).map_or("", String::as_str)),
                100.0 * share
            );
        }
    }
    s.push_str(&x_labels(&f.bins, &x));
    s.push_str(&legend(&[(REFERENCE, "reference"), (CURRENT, "current")]));
    s.push_str("</svg>");
    s
}

/// One performance figure over the windows: the reference band (its
/// figure ± 3 sd at each window's size) shaded, the estimate with its own
/// ± 3 sd whiskers, and the realised figure where labels exist.
pub fn performance_svg(
    name: &str,
    reference: Option<f64>,
    windows: &[&WindowReport],
    get: fn(&Figures) -> Option<f64>,
) -> Option<String> {
    let est: Vec<_> = windows.iter().filter_map(|w| w.estimate.as_ref()).collect();
    if est.is_empty() || est.iter().all(|e| get(&e.estimated).is_none()) {
        return None;
    }
    let mut values: Vec<f64> = Vec::new();
    for e in &est {
        for f in [&e.estimated, &e.lower, &e.upper] {
            values.extend(get(f));
        }
        if let (Some(v), Some(sd)) = (get(&e.estimated), get(&e.sd)) {
            values.extend([v - SIGMAS * sd, v + SIGMAS * sd]);
        }
        values.extend(e.realised.as_ref().and_then(get));
    }
    values.extend(reference);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(0.01);
    let (axis, y) = y_axis(lo - pad, hi + pad, name);
    let n = windows.len();
    let slot = (W - ML - MR) / n.max(1) as f64;
    let x = |i: usize| ML + slot * (i as f64 + 0.5);
    let mut s = svg_open(&format!("{name}: estimated and realised by window"));
    s.push_str(&axis);
    // the reference band as one polygon: upper edge left to right, lower back
    let band: Vec<(usize, f64, f64)> = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let e = w.estimate.as_ref()?;
            Some((i, get(&e.lower)?, get(&e.upper)?))
        })
        .collect();
    if !band.is_empty() {
        let mut pts: Vec<String> = band
            .iter()
            .map(|(i, _, u)| format!("{:.1},{:.1}", x(*i), y(*u)))
            .collect();
        pts.extend(
            band.iter()
                .rev()
                .map(|(i, l, _)| format!("{:.1},{:.1}", x(*i), y(*l))),
        );
        let _ = write!(
            s,
            r#"<polygon points="{}" fill="{BAND}" stroke="none"/>"#,
            pts.join(" ")
        );
    }
    if let Some(r) = reference {
        let _ = write!(
            s,
            r#"<line x1="{ML}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="{REFERENCE}" stroke-dasharray="5,4"/>"#,
            W - MR,
            y(r),
            y(r)
        );
    }
    let mut line = |points: Vec<(f64, f64)>, colour: &str| {
        if points.len() > 1 {
            let d: Vec<String> = points
                .iter()
                .map(|(px, py)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = write!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                d.join(" ")
            );
        }
        for (px, py) in points {
            let _ = write!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{colour}"/>"#
            );
        }
    };
    let estimated: Vec<(f64, f64)> = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some((x(i), y(get(&w.estimate.as_ref()?.estimated)?))))
        .collect();
    let realised: Vec<(f64, f64)> = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some((x(i), y(get(w.estimate.as_ref()?.realised.as_ref()?)?))))
        .collect();
    line(estimated, CURRENT);
    line(realised, REALISED);
    for (i, w) in windows.iter().enumerate() {
        let Some(e) = &w.estimate else { continue };
        if let (Some(v), Some(sd)) = (get(&e.estimated), get(&e.sd)) {
            let _ = write!(
                s,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{CURRENT}" stroke-width="1"/>"#,
                x(i),
                x(i),
                y(v - SIGMAS * sd),
                y(v + SIGMAS * sd)
            );
        }
    }
    let labels: Vec<String> = windows.iter().map(|w| w.window.label.clone()).collect();
    s.push_str(&x_labels(&labels, &x));
    s.push_str(&legend(&[
        (BAND, "reference ± 3 sd"),
        (CURRENT, "estimated"),
        (REALISED, "realised"),
    ]));
    s.push_str("</svg>");
    Some(s)
}

/// Reads one figure out of a set of figures.
type Get = fn(&Figures) -> Option<f64>;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}\
th{background:#f3f3f3}.verdict{font-size:1.4em;padding:.4em .8em;display:inline-block;border-radius:4px}\
.ok{background:#d9f2d9}.warn{background:#ffe7c2}.alert{background:#f8c9c9}\
.figure{margin:1em 0}svg{max-width:100%;height:auto;background:#fff}.note{color:#555}";

/// The whole page.
pub fn html(r: &Report) -> String {
    let mut h = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drift and performance report</title>");
    let _ = write!(h, "<style>{STYLE}</style></head><body>");
    h.push_str("<h1>Drift and performance report</h1>");
    let _ = write!(
        h,
        r#"<p id="verdict" class="verdict {}">verdict: <strong>{}</strong> (exit code {})</p><p>current: <code>{}</code> ({} rows)<br>reference: <code>{}</code> ({} rows)</p>"#,
        level_class(r.verdict),
        r.verdict.as_str(),
        r.exit_code,
        esc(&r.current),
        r.current_rows,
        esc(&r.reference),
        r.reference_rows
    );
    if let Some(share) = r.drift_share {
        let judged = r.features.iter().filter(|f| f.drifted.is_some()).count();
        let drifted = r
            .features
            .iter()
            .filter(|f| f.drifted == Some(true))
            .count();
        let _ = write!(
            h,
            "<p id=\"dataset-drift\">data set drift: <strong>{}</strong>: {drifted} of {judged} features drifted ({:.0}%; the threshold is {:.0}%)</p>",
            if r.dataset_drift { "yes" } else { "no" },
            100.0 * share,
            100.0 * r.thresholds.drift_share
        );
    }
    let worst = r.worst();
    h.push_str("<h2 id=\"flagged\">Flagged features</h2>");
    if worst.is_empty() {
        h.push_str("<p>No feature moved beyond its thresholds.</p>");
    }
    for f in worst.iter().take(super::report::HISTOGRAMS) {
        let _ = write!(
            h,
            r#"<div class="figure" id="feature-{}"><h3><span class="{}">{}</span> ({})</h3><p>{}</p>"#,
            esc(&f.name),
            level_class(f.level),
            esc(&f.name),
            f.level.as_str(),
            esc(&f.reasons.join("; "))
        );
        for c in &f.causes {
            let _ = write!(h, "<p>cause: {}</p>", esc(c));
        }
        h.push_str(&histogram_svg(f));
        h.push_str("</div>");
    }
    for f in worst.iter().skip(super::report::HISTOGRAMS) {
        let _ = write!(
            h,
            "<p><strong>{}</strong> ({}): {}</p>",
            esc(&f.name),
            f.level.as_str(),
            esc(&f.reasons.join("; "))
        );
    }
    performance_section(&mut h, r);
    if !r.codes.is_empty() {
        h.push_str("<h2 id=\"codes\">Code and unit changes</h2><ul>");
        for c in &r.codes {
            let _ = write!(
                h,
                "<li class=\"{}\">{} ({})</li>",
                level_class(c.level),
                esc(&c.describe()),
                c.level.as_str()
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2 id=\"features\">Every feature</h2><table><tr><th>feature</th><th>level</th><th>PSI</th><th>test</th><th>statistic</th><th>p</th><th>drifted</th><th>missing</th><th>why</th></tr>");
    for f in r.features.iter().chain(r.score.iter()) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}% → {:.1}%</td><td>{}</td></tr>",
            esc(&f.name),
            level_class(f.level),
            f.level.as_str(),
            fmt(f.psi),
            esc(f.test.as_deref().unwrap_or("-")),
            fmt(f.statistic),
            f.p_value.map_or("-".into(), |p| format!("{p:.2e}")),
            match f.drifted {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            },
            100.0 * f.reference_missing,
            100.0 * f.current_missing,
            esc(&f.reasons.join("; "))
        );
    }
    h.push_str("</table>");
    if !r.notes.is_empty() {
        h.push_str("<h2 id=\"notes\">Notes</h2><ul>");
        for n in &r.notes {
            let _ = write!(h, "<li class=\"note\">{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

/// Estimated against realised performance over time: a plot per figure
/// and the table behind them.
fn performance_section(h: &mut String, r: &Report) {
    let Some(b) = &r.estimation else {
        return;
    };
    let windows: Vec<&WindowReport> = r.windows.iter().filter(|w| w.estimate.is_some()).collect();
    if windows.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"performance\">Estimated and realised performance</h2>");
    let _ = write!(
        h,
        "<p>Estimated from the scores alone (recalibrated on the reference's {} labelled rows), so it is there before the outcomes are; realised on each window's labelled rows once they come. Operating threshold {} ({}). The grey band is the reference's figure ± 3 standard deviations at each window's size: an estimate below it is an alert. No estimate without labels sees a change in the outcome's relation to the inputs (concept shift): where the realised figure falls away from the estimate, that is what happened.</p>",
        b.rows,
        fmt(b.threshold),
        esc(&b.threshold_source)
    );
    let plots: [(&str, Option<f64>, Get); 4] = [
        ("AUROC", b.reference.auroc, |f| f.auroc),
        ("precision", b.reference.precision, |f| f.precision),
        ("recall", b.reference.recall, |f| f.recall),
        ("net benefit", b.reference.net_benefit, |f| f.net_benefit),
    ];
    for (name, reference, get) in plots {
        if let Some(svg) = performance_svg(name, reference, &windows, get) {
            let _ = write!(
                h,
                "<div class=\"figure\" id=\"performance-{}\">{svg}</div>",
                name.replace(' ', "-")
            );
        }
    }
    h.push_str("<table id=\"performance-table\"><tr><th>window</th><th>rows</th><th>labelled</th><th>estimated AUROC (± 3 sd)</th><th>realised AUROC</th><th>estimated precision</th><th>realised precision</th><th>estimated recall</th><th>realised recall</th><th>level</th></tr>");
    for w in &windows {
        let Some(e) = &w.estimate else { continue };
        let real = e.realised.unwrap_or_default();
        let pm = |v: Option<f64>, sd: Option<f64>| match (v, sd) {
            (Some(v), Some(sd)) => format!("{v:.3} ± {:.3}", SIGMAS * sd),
            _ => fmt(v),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{} {}</td></tr>",
            esc(&w.window.label),
            e.rows,
            e.labelled,
            pm(e.estimated.auroc, e.sd.auroc),
            fmt(real.auroc),
            pm(e.estimated.precision, e.sd.precision),
            fmt(real.precision),
            pm(e.estimated.recall, e.sd.recall),
            fmt(real.recall),
            level_class(w.level),
            w.level.as_str(),
            esc(&w.reasons.join("; "))
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
