//! Comparing a current sample with a reference profile: one verdict per
//! feature, the score, every code and unit change, performance per time
//! window, and the overall verdict.
//!
//! A feature is flagged by the size of its shift (PSI against the warn and
//! alert thresholds) only when the shift is also unlikely to be chance (the
//! KS or chi-squared p-value below `p_value`). Size alone flags noise on a
//! small window; significance alone flags trivial shifts on a large one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::estimate::{Basis, WindowEstimate};
use super::profile::{
    category_counts, rate, Column, FeatureProfile, NumericProfile, Performance, Profile, Sample,
    Stratum,
};
use super::stats::{
    bin_counts, chi_squared, jensen_shannon, ks_p_value, ks_statistic, psi, two_proportion_z,
    wasserstein_normed, TestResult,
};
use super::window::{windows, Window, WindowSpec};
use crate::clinical::analysis::FeatureKind;
use crate::clinical::{Chronic, Measure};
use crate::error::{toml_error, IoContext, Result};

/// How far is too far. Read from `--config thresholds.toml`; every key is
/// optional and unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub psi_warn: f64,
    pub psi_alert: f64,
    /// A shift counts only when its test's p-value is below this.
    pub p_value: f64,
    /// Absolute change in a feature's missing rate.
    pub missing_warn: f64,
    pub missing_alert: f64,
    /// A code at least this share of its table that appears or vanishes.
    pub code_min_share: f64,
    /// Drop in AUROC from the reference's, per window.
    pub auroc_drop_warn: f64,
    pub auroc_drop_alert: f64,
    /// Rise in expected calibration error per window over the reference's
    /// (the ECE itself when the reference has no scored labels).
    pub ece_warn: f64,
    pub ece_alert: f64,
    /// Windows with fewer labelled rows (or fewer than 10 events) get
    /// metrics shown but no verdict.
    pub min_window_rows: u64,
    /// Quantile bins of a numeric feature (used when the reference is data).
    pub bins: usize,
    /// Reference rows up to which a statistical test judges whether a
    /// shift is real (KS for numbers, chi-squared for categories, the
    /// two-proportion z-test for 0/1 features, at `p_value`). Above it a
    /// distance does, at `distance`: with thousands of rows every p-value
    /// is tiny, and a test flags differences nobody cares about.
    pub test_rows_max: u64,
    /// Distance at or above which a shift is real (Wasserstein normalised
    /// by the reference's standard deviation for numbers, Jensen-Shannon
    /// for categories and 0/1 features).
    pub distance: f64,
    /// Share of drifted features at or above which the data set as a whole
    /// has drifted.
    pub drift_share: f64,
    /// The threshold (on the model's score) at which estimated precision,
    /// recall and net benefit count flagged stays, when the model carries
    /// no operating point from `carelab eval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operating_threshold: Option<f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            psi_warn: 0.1,
            psi_alert: 0.25,
            p_value: 0.01,
            missing_warn: 0.05,
            missing_alert: 0.15,
            code_min_share: 0.001,
            auroc_drop_warn: 0.05,
            auroc_drop_alert: 0.10,
            ece_warn: 0.05,
            ece_alert: 0.10,
            min_window_rows: 100,
            bins: 10,
            test_rows_max: 1000,
            distance: 0.1,
            drift_share: 0.5,
            operating_threshold: None,
        }
    }
}

impl Thresholds {
    pub fn from_file(path: &Path) -> Result<Thresholds> {
        let text = std::fs::read_to_string(path).at(path)?;
        let t: Thresholds = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        let ordered = |warn: f64, alert: f64| 0.0 <= warn && warn <= alert;
        if !(ordered(t.psi_warn, t.psi_alert)
            && ordered(t.missing_warn, t.missing_alert)
            && ordered(t.auroc_drop_warn, t.auroc_drop_alert)
            && ordered(t.ece_warn, t.ece_alert)
            && (0.0..=1.0).contains(&t.p_value)
            && (0.0..=1.0).contains(&t.drift_share)
            && t.distance >= 0.0
            && t.operating_threshold
                .is_none_or(|x| (0.0..1.0).contains(&x))
            && t.bins >= 2)
        {
            return Err(crate::error::Error::bad_input(
                path.display(),
                None,
                "0 <= warn <= alert for each threshold, p_value and drift_share in 0..=1, operating_threshold in 0..1, distance >= 0, bins >= 2",
                "a threshold out of order or range",
            ));
        }
        Ok(t)
    }
}

/// A verdict, ordered: the overall verdict is the worst one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warn,
    Alert,
}

impl Level {
    /// The process exit code: 0 ok, 1 warn, 2 alert.
    pub fn exit_code(self) -> u8 {
        self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Alert => "alert",
        }
    }

    fn of(value: f64, warn: f64, alert: f64) -> Level {
        if value >= alert {
            Level::Alert
        } else if value >= warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// The comparison of one feature (or the score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub name: String,
    pub kind: FeatureKind,
    pub level: Level,
    pub psi: Option<f64>,
    /// What judged whether the shift is real, chosen by kind and reference
    /// size: "ks", "chi2" or "z" (a test: `p_value` is set), or
    /// "wasserstein" or "jensenshannon" (a distance: `statistic`).
    pub test: Option<String>,
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    /// Whether that test or distance says the feature drifted.
    #[serde(default)]
    pub drifted: Option<bool>,
    pub reference_missing: f64,
    pub current_missing: f64,
    pub reference_median: Option<f64>,
    pub current_median: Option<f64>,
    /// Why it got its level, in words.
    pub reasons: Vec<String>,
    /// Code and unit changes behind it, in words.
    pub causes: Vec<String>,
    /// Bin (or category) labels and the two sides' shares, for plots.
    pub bins: Vec<String>,
    pub reference_shares: Vec<f64>,
    pub current_shares: Vec<f64>,
}

/// A change in the codes or units a table uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeChange {
    /// "observations" or "conditions".
    pub table: String,
    pub code: String,
    pub unit: Option<String>,
    pub display: String,
    /// The model feature the code feeds, when known.
    pub feature: Option<String>,
    /// "new", "vanished" or "values" (same code and unit, values shifted).
    pub change: String,
    pub reference_share: f64,
    pub current_share: f64,
    pub psi: Option<f64>,
    pub reference_median: Option<f64>,
    pub current_median: Option<f64>,
    pub level: Level,
    /// For a value shift: the conditions that drive the measure and how
    /// their prevalence moved, read before an assay change is suggested.
    #[serde(default)]
    pub case_mix: Vec<CaseMix>,
}

/// How a condition that drives a measure moved, and whether the measure's
/// shift holds among the stays without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseMix {
    /// The condition's feature (`chf`, `ckd`, ...).
    pub feature: String,
    pub reference_share: f64,
    pub current_share: f64,
    /// Chi-squared test of the two shares.
    pub p_value: f64,
    /// The shares differ beyond chance (p below the thresholds' p_value).
    pub changed: bool,
    /// The measure's median among stays without the condition, then and now.
    pub reference_median_without: Option<f64>,
    pub current_median_without: Option<f64>,
    /// The measure's shift holds among stays without the condition (at
    /// least half the overall shift of its median, the same way): a change
    /// in who the patients are cannot explain it there.
    pub shift_holds_without: bool,
}

impl CaseMix {
    fn describe(&self) -> String {
        format!(
            "{} {:.1}% -> {:.1}% of stays (p = {:.2e}); median without {}: {} -> {}",
            self.feature,
            100.0 * self.reference_share,
            100.0 * self.current_share,
            self.p_value,
            self.feature,
            fmt_opt(self.reference_median_without),
            fmt_opt(self.current_median_without)
        )
    }
}

impl CodeChange {
    /// One line for people.
    pub fn describe(&self) -> String {
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" [{u}]"))
            .unwrap_or_default();
        let what = format!("{} {}{unit} ({})", self.table, self.code, self.display);
        match self.change.as_str() {
            "new" => format!(
                "new code {what}: {:.1}% of current records, none in the reference",
                100.0 * self.current_share
            ),
            "vanished" => format!(
                "vanished code {what}: {:.1}% of reference records, none now",
                100.0 * self.reference_share
            ),
            _ => {
                let shift = format!(
                    "values of {what} shifted with the same code and unit (median {} -> {}, PSI {:.3})",
                    fmt_opt(self.reference_median),
                    fmt_opt(self.current_median),
                    self.psi.unwrap_or(0.0)
                );
                let list = |mix: &[&CaseMix]| {
                    mix.iter()
                        .map(|m| m.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let all: Vec<&CaseMix> = self.case_mix.iter().collect();
                let holds = !all.is_empty() && all.iter().all(|m| m.shift_holds_without);
                let mix_moved = all.iter().any(|m| m.changed);
                if holds {
                    format!(
                        "{shift}; it holds among stays without the conditions that drive it ({}): not a change in case mix; a changed assay, calibration or reference range is likely; ask the laboratory",
                        list(&all)
                    )
                } else if mix_moved {
                    format!(
                        "{shift}, while the conditions that drive it changed and the shift does not hold without them ({}): a change in case mix is the likely cause, not the assay",
                        list(&all)
                    )
                } else if !all.is_empty() {
                    format!(
                        "{shift}; neither the conditions that drive it nor the values without them explain it ({}): look at both the laboratory and the patients",
                        list(&all)
                    )
                } else {
                    format!("{shift}: a changed assay or calibration, or a change in the patients; nothing here tells which")
                }
            }
        }
    }
}

/// The case mix behind each value shift: for every measure whose values
/// moved, how the prevalence of the conditions that drive it moved (from
/// those conditions' own feature comparisons) and whether the shift holds
/// among stays without them (from the two sides' strata).
fn read_case_mix(
    codes: &mut [CodeChange],
    features: &[FeatureDrift],
    reference: &[Stratum],
    current: &[Stratum],
    t: &Thresholds,
) {
    let stratum = |side: &[Stratum], m: &str, c: &str| {
        side.iter()
            .find(|s| s.measure == m && s.condition == c)
            .and_then(|s| s.median_without)
    };
    let share_of_one = |bins: &[String], shares: &[f64]| {
        bins.iter()
            .position(|b| b == "1")
            .and_then(|i| shares.get(i).copied())
            .unwrap_or(0.0)
    };
    for c in codes.iter_mut().filter(|c| c.change == "values") {
        let Some(measure) = Measure::from_loinc(&c.code)
            .or_else(|| Measure::ALL.into_iter().find(|m| m.display() == c.display))
        else {
            continue;
        };
        let overall = features
            .iter()
            .find(|f| f.name == measure.feature())
            .and_then(|f| Some(f.current_median? - f.reference_median?));
        c.case_mix = measure
            .driven_by()
            .iter()
            .filter_map(|condition| {
                let f = features.iter().find(|f| f.name == condition.feature())?;
                let p_value = f.p_value?;
                let then = stratum(reference, measure.feature(), &f.name);
                let now = stratum(current, measure.feature(), &f.name);
                let within = now.zip(then).map(|(n, t)| n - t);
                let shift_holds_without = match (overall, within) {
                    (Some(all), Some(w)) => {
                        all != 0.0 && w * all > 0.0 && w.abs() >= 0.5 * all.abs()
                    }
                    _ => false,
                };
                Some(CaseMix {
                    feature: f.name.clone(),
                    reference_share: share_of_one(&f.bins, &f.reference_shares),
                    current_share: share_of_one(&f.bins, &f.current_shares),
                    p_value,
                    changed: p_value < t.p_value,
                    reference_median_without: then,
                    current_median_without: now,
                    shift_holds_without,
                })
            })
            .collect();
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

/// Performance in one time window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    pub window: Window,
    pub rows: u64,
    pub mean_score: Option<f64>,
    pub performance: Option<Performance>,
    /// Performance estimated from the scores alone (with the realised
    /// figures on the labelled rows beside it).
    #[serde(default)]
    pub estimate: Option<WindowEstimate>,
    pub level: Level,
    pub reasons: Vec<String>,
}

/// Everything a comparison found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub reference: String,
    pub current: String,
    pub reference_rows: u64,
    pub current_rows: u64,
    pub verdict: Level,
    pub exit_code: u8,
    pub thresholds: Thresholds,
    /// In data-dictionary order.
    pub features: Vec<FeatureDrift>,
    pub score: Option<FeatureDrift>,
    pub codes: Vec<CodeChange>,
    pub reference_performance: Option<Performance>,
    /// What performance estimation took from the reference.
    #[serde(default)]
    pub estimation: Option<Basis>,
    pub windows: Vec<WindowReport>,
    /// Drifted features over features judged (the score left out), and
    /// whether that reaches `thresholds.drift_share`.
    #[serde(default)]
    pub drift_share: Option<f64>,
    #[serde(default)]
    pub dataset_drift: bool,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
}

impl Report {
    /// Flagged features, worst first (level, then PSI).
    pub fn worst(&self) -> Vec<&FeatureDrift> {
        let mut v: Vec<&FeatureDrift> = self
            .features
            .iter()
            .filter(|f| f.level > Level::Ok)
            .collect();
        v.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then(b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)))
                .then(a.name.cmp(&b.name))
        });
        v
    }
}

/// Compare `current` with the `reference` profile.
pub fn compare(
    reference: &Profile,
    current: &Sample,
    t: &Thresholds,
    window: WindowSpec,
) -> Report {
    let mut notes = Vec::new();
    let codes = match (&reference.codes, &current.codes) {
        (Some(r), Some(c)) => compare_codes(r, c, t),
        _ => {
            notes.push("code and unit frequencies not compared: the clean-model tables (observations, conditions) are not on both sides".into());
            Vec::new()
        }
    };
    let mut features = Vec::new();
    for (name, (kind, column)) in &current.columns {
        let Some(rp) = reference.features.get(name) else {
            notes.push(format!("{name}: not in the reference"));
            continue;
        };
        features.push(compare_feature(name, *kind, rp, column, t));
    }
    // Causes once every feature is compared: a value shift is read against
    // the drift of the conditions that drive it.
    let mut codes = codes;
    read_case_mix(
        &mut codes,
        &features,
        &reference.strata,
        &super::profile::strata(current),
        t,
    );
    for f in &mut features {
        f.causes = codes
            .iter()
            .filter(|c| c.feature.as_deref() == Some(f.name.as_str()))
            .map(CodeChange::describe)
            .collect();
    }
    let order = |n: &str| crate::clinical::FEATURES.iter().position(|(f, _)| *f == n);
    features.sort_by_key(|f| (order(&f.name), f.name.clone()));
    for name in reference.features.keys() {
        if !current.columns.contains_key(name) {
            notes.push(format!("{name}: in the reference, not in the current data"));
        }
    }
    let score = match (&reference.score, &current.scores) {
        (Some(r), Some(s)) => {
            let rp = FeatureProfile {
                kind: FeatureKind::Numeric,
                rows: r.n,
                missing: 0,
                numeric: Some(r.clone()),
                categories: None,
            };
            let col = Column::Numeric(s.iter().map(|&x| Some(x)).collect());
            Some(compare_feature("score", FeatureKind::Numeric, &rp, &col, t))
        }
        _ => {
            notes.push("score distribution not compared: scores are not known on both sides (give --model, or a prediction log and a profile made with --model)".into());
            None
        }
    };
    let windows = window_reports(reference, current, t, window, &mut notes);
    let judged: Vec<bool> = features.iter().filter_map(|f| f.drifted).collect();
    let drift_share = (!judged.is_empty())
        .then(|| judged.iter().filter(|d| **d).count() as f64 / judged.len() as f64);
    let verdict = features
        .iter()
        .map(|f| f.level)
        .chain(score.iter().map(|s| s.level))
        .chain(codes.iter().map(|c| c.level))
        .chain(windows.iter().map(|w| w.level))
        .max()
        .unwrap_or(Level::Ok);
    Report {
        reference: reference.source.clone(),
        current: current.source.clone(),
        reference_rows: reference.rows,
        current_rows: current.rows as u64,
        verdict,
        exit_code: verdict.exit_code(),
        thresholds: t.clone(),
        features,
        score,
        codes,
        reference_performance: reference.performance,
        estimation: reference.estimation.clone(),
        windows,
        drift_share,
        dataset_drift: drift_share.is_some_and(|s| s >= t.drift_share),
        notes,
    }
}

fn shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .map(|c| if total > 0.0 { c / total } else { 0.0 })
        .collect()
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    crate::eval::bootstrap::quantile(&v, 0.5)
}

/// What judged a shift: a test (with its p-value) or a distance.
#[derive(Debug, Clone, Copy)]
struct Judgement {
    name: &'static str,
    statistic: f64,
    p_value: Option<f64>,
    drifted: bool,
}

impl Judgement {
    fn test(name: &'static str, r: TestResult, t: &Thresholds) -> Judgement {
        Judgement {
            name,
            statistic: r.statistic,
            p_value: Some(r.p_value),
            drifted: r.p_value < t.p_value,
        }
    }

    fn distance(name: &'static str, d: f64, t: &Thresholds) -> Judgement {
        Judgement {
            name,
            statistic: d,
            p_value: None,
            drifted: d >= t.distance,
        }
    }

    /// Why a PSI past its threshold did not count, in words.
    fn dismissal(&self, t: &Thresholds) -> String {
        match self.p_value {
            Some(_) => format!("not significant ({} p >= {})", self.name, t.p_value),
            None => format!(
                "{} distance {:.3} < {}",
                self.name, self.statistic, t.distance
            ),
        }
    }
}

/// Binned counts and the judgement of a column against its reference.
struct Shift {
    bins: Vec<String>,
    reference: Vec<f64>,
    current: Vec<f64>,
    judgement: Option<Judgement>,
    current_median: Option<f64>,
}

/// A numeric column: KS up to `test_rows_max` reference values, the
/// normalised Wasserstein distance above.
fn numeric_shift(r: &NumericProfile, values: &[f64], t: &Thresholds) -> Shift {
    let current = bin_counts(values, &r.edges);
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let judgement = if r.n <= t.test_rows_max {
        ks_statistic(&r.sample, &sorted).map(|d| {
            let p_value = ks_p_value(d, r.n as f64, sorted.len() as f64);
            Judgement::test(
                "ks",
                TestResult {
                    statistic: d,
                    p_value,
                },
                t,
            )
        })
    } else {
        wasserstein_normed(&r.sample, &sorted).map(|d| Judgement::distance("wasserstein", d, t))
    };
    let mut bins = Vec::new();
    for i in 0..=r.edges.len() {
        let lo = i.checked_sub(1).and_then(|j| r.edges.get(j));
        let hi = r.edges.get(i);
        bins.push(match (lo, hi) {
            (None, Some(h)) => format!("<= {h:.4}"),
            (Some(l), Some(h)) => format!("({l:.4}, {h:.4}]"),
            (Some(l), None) => format!("> {l:.4}"),
            (None, None) => "all".into(),
        });
    }
    Shift {
        bins,
        reference: r.counts.clone(),
        current,
        judgement,
        current_median: crate::eval::bootstrap::quantile(&sorted, 0.5),
    }
}

/// A categorical column (0/1 features included): up to `test_rows_max`
/// reference rows chi-squared, or for two categories the two-proportion
/// z-test; the Jensen-Shannon distance above.
fn categorical_shift(
    r: &BTreeMap<String, u64>,
    values: &[Option<String>],
    t: &Thresholds,
) -> Shift {
    let c = category_counts(values);
    let names: Vec<String> = r
        .keys()
        .chain(c.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let get = |m: &BTreeMap<String, u64>, k: &String| m.get(k).copied().unwrap_or(0) as f64;
    let reference: Vec<f64> = names.iter().map(|k| get(r, k)).collect();
    let current: Vec<f64> = names.iter().map(|k| get(&c, k)).collect();
    let judgement = if reference.iter().sum::<f64>() > t.test_rows_max as f64 {
        jensen_shannon(&reference, &current).map(|d| Judgement::distance("jensenshannon", d, t))
    } else if let ([r0, r1], [c0, c1]) = (reference.as_slice(), current.as_slice()) {
        two_proportion_z([*r0, *r1], [*c0, *c1]).map(|x| Judgement::test("z", x, t))
    } else {
        chi_squared(&reference, &current).map(|x| Judgement::test("chi2", x, t))
    };
    Shift {
        bins: names,
        reference,
        current,
        judgement,
        current_median: None,
    }
}

fn compare_feature(
    name: &str,
    kind: FeatureKind,
    rp: &FeatureProfile,
    column: &Column,
    t: &Thresholds,
) -> FeatureDrift {
    let (shift, rows, missing) = match (column, &rp.numeric, &rp.categories) {
        (Column::Numeric(v), Some(r), _) => {
            let present: Vec<f64> = v.iter().flatten().copied().collect();
            (
                Some(numeric_shift(r, &present, t)),
                v.len(),
                v.len() - present.len(),
            )
        }
        (Column::Categorical(v), _, Some(r)) => {
            let missing = v.iter().filter(|x| x.is_none()).count();
            (Some(categorical_shift(r, v, t)), v.len(), missing)
        }
        (Column::Numeric(v), _, _) => (None, v.len(), v.iter().filter(|x| x.is_none()).count()),
        (Column::Categorical(v), _, _) => (None, v.len(), v.iter().filter(|x| x.is_none()).count()),
    };
    let current_missing = rate(missing as u64, rows as u64);
    let reference_missing = rp.missing_rate();
    let mut reasons = Vec::new();
    let mut level = Level::Ok;
    let psi_value = shift.as_ref().and_then(|s| psi(&s.reference, &s.current));
    let judgement = shift.as_ref().and_then(|s| s.judgement);
    if let Some(p) = psi_value {
        let by_size = Level::of(p, t.psi_warn, t.psi_alert);
        let significant = judgement.is_none_or(|j| j.drifted);
        if by_size > Level::Ok && significant {
            level = level.max(by_size);
            reasons.push(format!(
                "PSI {p:.3} >= {}",
                if by_size == Level::Alert {
                    t.psi_alert
                } else {
                    t.psi_warn
                }
            ));
        } else if let (true, Some(j)) = (by_size > Level::Ok, judgement) {
            reasons.push(format!("PSI {p:.3} but {}", j.dismissal(t)));
        }
    }
    // Missingness: size of the change, and a 2x2 chi-squared for chance.
    let delta = (current_missing - reference_missing).abs();
    let by_size = Level::of(delta, t.missing_warn, t.missing_alert);
    if by_size > Level::Ok {
        let r = [
            rp.missing as f64,
            (rp.rows - rp.missing.min(rp.rows)) as f64,
        ];
        let c = [missing as f64, (rows - missing) as f64];
        let significant = chi_squared(&r, &c).is_some_and(|x| x.p_value < t.p_value);
        if significant {
            level = level.max(by_size);
            reasons.push(format!(
                "missing rate {:.1}% -> {:.1}%",
                100.0 * reference_missing,
                100.0 * current_missing
            ));
        }
    }
    let (bins, reference_shares, current_shares, current_median) = match shift {
        Some(s) => (
            s.bins,
            shares(&s.reference),
            shares(&s.current),
            s.current_median,
        ),
        None => (Vec::new(), Vec::new(), Vec::new(), None),
    };
    FeatureDrift {
        name: name.into(),
        kind,
        level,
        psi: psi_value,
        test: judgement.map(|j| j.name.to_string()),
        statistic: judgement.map(|j| j.statistic),
        p_value: judgement.and_then(|j| j.p_value),
        drifted: judgement.map(|j| j.drifted),
        reference_missing,
        current_missing,
        reference_median: rp.numeric.as_ref().and_then(|n| n.median),
        current_median,
        reasons,
        causes: Vec::new(),
        bins,
        reference_shares,
        current_shares,
    }
}

/// The feature an observation code feeds: by LOINC code, or for a local
/// code by the test's display name (sites rename codes, rarely the test).
fn feature_of_observation(code: &str, display: &str) -> Option<String> {
    Measure::from_loinc(code)
        .or_else(|| Measure::ALL.into_iter().find(|m| m.display() == display))
        .map(|m| m.feature().to_string())
}

fn feature_of_condition(code: &str) -> Option<String> {
    Chronic::from_icd10(code).map(|c| c.feature().to_string())
}

/// New and vanished codes (and code-unit pairs) in both tables, and value
/// shifts of observations whose code and unit did not change.
fn compare_codes(
    r: &super::profile::CodeProfile,
    c: &super::profile::CodeSample,
    t: &Thresholds,
) -> Vec<CodeChange> {
    let mut out = Vec::new();
    let r_obs_total: f64 = r.observations.iter().map(|o| o.values.n as f64).sum();
    let c_obs_total: f64 = c.observations.values().map(|(_, v)| v.len() as f64).sum();
    let share = |n: f64, total: f64| if total > 0.0 { n / total } else { 0.0 };
    let mut seen = std::collections::BTreeSet::new();
    for o in &r.observations {
        let key = (o.code.clone(), o.unit.clone());
        seen.insert(key.clone());
        let rs = share(o.values.n as f64, r_obs_total);
        let base = CodeChange {
            table: "observations".into(),
            code: o.code.clone(),
            unit: Some(o.unit.clone()),
            display: o.display.clone(),
            feature: feature_of_observation(&o.code, &o.display),
            change: String::new(),
            reference_share: rs,
            current_share: 0.0,
            psi: None,
            reference_median: o.values.median,
            current_median: None,
            level: Level::Warn,
            case_mix: Vec::new(),
        };
        match c.observations.get(&key) {
            None if rs >= t.code_min_share => out.push(CodeChange {
                change: "vanished".into(),
                ..base
            }),
            None => {}
            Some((_, values)) => {
                let s = numeric_shift(&o.values, values, t);
                let p = psi(&s.reference, &s.current);
                let significant = s.judgement.is_some_and(|j| j.drifted);
                let level = p.map_or(Level::Ok, |p| Level::of(p, t.psi_warn, t.psi_alert));
                if significant && level > Level::Ok {
                    out.push(CodeChange {
                        change: "values".into(),
                        current_share: share(values.len() as f64, c_obs_total),
                        psi: p,
                        current_median: median(values),
                        level,
                        ..base
                    });
                }
            }
        }
    }
    for ((code, unit), (display, values)) in &c.observations {
        let cs = share(values.len() as f64, c_obs_total);
        if !seen.contains(&(code.clone(), unit.clone())) && cs >= t.code_min_share {
            out.push(CodeChange {
                table: "observations".into(),
                code: code.clone(),
                unit: Some(unit.clone()),
                display: display.clone(),
                feature: feature_of_observation(code, display),
                change: "new".into(),
                reference_share: 0.0,
                current_share: cs,
                psi: None,
                reference_median: None,
                current_median: median(values),
                level: Level::Warn,
                case_mix: Vec::new(),
            });
        }
    }
    let r_total: f64 = r.conditions.iter().map(|x| x.count as f64).sum();
    let c_total: f64 = c.conditions.values().map(|x| x.1 as f64).sum();
    let r_codes: BTreeMap<&str, &super::profile::ConditionCode> =
        r.conditions.iter().map(|x| (x.code.as_str(), x)).collect();
    let change = |code: &str, display: &str, rs: f64, cs: f64, kind: &str| CodeChange {
        table: "conditions".into(),
        code: code.into(),
        unit: None,
        display: display.into(),
        feature: feature_of_condition(code),
        change: kind.into(),
        reference_share: rs,
        current_share: cs,
        psi: None,
        reference_median: None,
        current_median: None,
        level: Level::Warn,
        case_mix: Vec::new(),
    };
    let mut conditions = Vec::new();
    for x in &r.conditions {
        let rs = share(x.count as f64, r_total);
        if !c.conditions.contains_key(&x.code) && rs >= t.code_min_share {
            conditions.push(change(&x.code, &x.display, rs, 0.0, "vanished"));
        }
    }
    for (code, (display, n)) in &c.conditions {
        let cs = share(*n as f64, c_total);
        if !r_codes.contains_key(code.as_str()) && cs >= t.code_min_share {
            conditions.push(change(code, display, 0.0, cs, "new"));
        }
    }
    out.extend(conditions);
    out
}

/// Scores and labels per time window, judged against the reference.
fn window_reports(
    reference: &Profile,
    current: &Sample,
    t: &Thresholds,
    spec: WindowSpec,
    notes: &mut Vec<String>,
) -> Vec<WindowReport> {
    let Some(scores) = &current.scores else {
        return Vec::new();
    };
    let labels = current
        .labels
        .clone()
        .unwrap_or_else(|| vec![None; scores.len()]);
    if labels.iter().all(Option::is_none) {
        notes.push("performance not measured: no labels for the current data (give --labels; outcomes arrive 30 days after discharge, so the newest window has none yet)".into());
    }
    let basis = reference.estimation.as_ref();
    match basis {
        None => notes.push("performance not estimated: the reference has no scored, labelled rows to calibrate against (give --model with a labelled reference)".into()),
        Some(b) => {
            if b.threshold.is_none() {
                notes.push("precision, recall and net benefit not estimated: the model carries no operating point (run carelab eval on it) and the thresholds file sets no operating_threshold".into());
            }
            if b.raw_ece >= t.ece_warn {
                notes.push(format!("the model's raw scores were miscalibrated on the reference (ECE {:.3}): estimates use them recalibrated there, and hold only while that recalibration does", b.raw_ece));
            }
        }
    }
    let mut missed = Vec::new();
    let undated = current.times.iter().filter(|x| x.is_none()).count();
    if undated > 0 {
        notes.push(format!(
            "{undated} rows without a time are left out of the windows"
        ));
    }
    let mut out = Vec::new();
    for (window, idx) in windows(&current.times, spec) {
        let s: Vec<f64> = idx.iter().filter_map(|&i| scores.get(i).copied()).collect();
        let l: Vec<Option<bool>> = idx
            .iter()
            .map(|&i| labels.get(i).copied().flatten())
            .collect();
        let performance = Performance::of(&s, &l);
        let mut level = Level::Ok;
        let mut reasons = Vec::new();
        let estimate = basis.filter(|_| !s.is_empty()).map(|b| b.estimate(&s, &l));
        if let Some(e) = estimate.as_ref().filter(|e| e.rows >= t.min_window_rows) {
            let below = e.below_band();
            if !below.is_empty() {
                level = Level::Alert;
                reasons.extend(below);
            }
            let m = e.missed();
            if !m.is_empty() {
                missed.push(format!("{}: {}", window.label, m.join(", ")));
            }
        }
        if let Some(p) = performance
            .filter(|p| p.n >= t.min_window_rows && p.positives >= 10 && p.n - p.positives >= 10)
        {
            // Calibration is judged by its rise over the reference's ECE
            // when that is known: a model that was never well calibrated
            // should not alert every window for what it always did.
            let base = reference.performance.map_or(0.0, |r| r.ece);
            let ece = Level::of(p.ece - base, t.ece_warn, t.ece_alert);
            if ece > Level::Ok {
                reasons.push(format!("ECE {base:.3} -> {:.3}", p.ece));
            }
            level = level.max(ece);
            if let (Some(now), Some(then)) = (p.auroc, reference.performance.and_then(|r| r.auroc))
            {
                let drop = Level::of(then - now, t.auroc_drop_warn, t.auroc_drop_alert);
                if drop > Level::Ok {
                    reasons.push(format!("AUROC {then:.3} -> {now:.3}"));
                }
                level = level.max(drop);
            }
        }
        out.push(WindowReport {
            window,
            rows: idx.len() as u64,
            mean_score: (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64),
            performance,
            estimate,
            level,
            reasons,
        });
    }
    if !missed.is_empty() {
        notes.push(format!(
            "the estimate missed the realised figures by more than 3 standard deviations in {} window(s) ({}): the chance of readmission at a given score changed (a model that lost its calibration, or concept shift: the outcome's relation to the inputs moved). No method without labels can see that; only the realised figures do",
            missed.len(),
            missed.join("; ")
        ));
    }
    out
}
