//! What monitoring compares: a `Sample` (the raw columns of one side, as
//! read) and a `Profile` (the summary of a reference sample that is enough
//! to compare against: bins, category counts, missing counts, a thinned
//! sorted sample for KS, the score distribution, code and unit counts).
//!
//! The reference side is always reduced to a profile, whether it arrives as
//! data or as a saved `profile.json`, so both paths compare the same way and
//! production need not keep the training data.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::stats::{bin_counts, quantile_edges};
use crate::clinical::analysis::FeatureKind;

/// Format tag of a saved profile, checked on load.
pub const PROFILE_FORMAT: &str = "carelab-monitor-profile/1";

/// At most this many order statistics of a numeric column are kept for the
/// KS test; below it the reference sample is kept whole (the test is then
/// exact), above it evenly spaced quantiles stand in for it.
pub const KS_SAMPLE_MAX: usize = 5000;

/// One column of a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Numeric(Vec<Option<f64>>),
    /// Categories, binary features included ("0"/"1").
    Categorical(Vec<Option<String>>),
}

/// Observation values and condition counts by code, from the clean-model
/// tables, when a side has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeSample {
    /// `(code, unit)` -> display and values.
    pub observations: BTreeMap<(String, String), (String, Vec<f64>)>,
    /// ICD-10-CM code -> (display, count).
    pub conditions: BTreeMap<String, (String, u64)>,
}

/// One side as read: feature columns by name, plus what monitoring can use
/// beside them.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// What was read (a path), for reports.
    pub source: String,
    pub rows: usize,
    pub columns: BTreeMap<String, (FeatureKind, Column)>,
    /// Model scores, one per row, when known.
    pub scores: Option<Vec<f64>>,
    /// Outcome labels, one per row (`None` where unknown), when known.
    pub labels: Option<Vec<Option<bool>>>,
    /// When each row happened (discharge or scoring time).
    pub times: Vec<Option<NaiveDateTime>>,
    /// Each row's stay identifier (or pseudonym), for joining labels.
    pub stays: Vec<Option<String>>,
    pub codes: Option<CodeSample>,
}

/// Summary of a numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Non-missing values.
    pub n: u64,
    /// Inner edges of the reference quantile bins.
    pub edges: Vec<f64>,
    /// Reference counts in those bins.
    pub counts: Vec<f64>,
    /// Sorted values (or evenly spaced order statistics) for the KS test.
    pub sample: Vec<f64>,
    pub median: Option<f64>,
}

impl NumericProfile {
    pub fn from_values(values: &[f64], bins: usize) -> NumericProfile {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let edges = quantile_edges(&sorted, bins);
        let counts = bin_counts(&sorted, &edges);
        NumericProfile {
            n: sorted.len() as u64,
            median: crate::eval::bootstrap::quantile(&sorted, 0.5),
            sample: thin_sorted(&sorted, KS_SAMPLE_MAX),
            edges,
            counts,
        }
    }
}

/// Evenly spaced order statistics of a sorted sample, at most `max`.
fn thin_sorted(sorted: &[f64], max: usize) -> Vec<f64> {
    if sorted.len() <= max || max < 2 {
        return sorted.to_vec();
    }
    let last = sorted.len() - 1;
    (0..max)
        .filter_map(|k| sorted.get(k * last / (max - 1)).copied())
        .collect()
}

/// Summary of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub kind: FeatureKind,
    pub rows: u64,
    pub missing: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<BTreeMap<String, u64>>,
}

impl FeatureProfile {
    pub fn from_column(kind: FeatureKind, column: &Column, bins: usize) -> FeatureProfile {
        match column {
            Column::Numeric(values) => {
                let present: Vec<f64> = values.iter().flatten().copied().collect();
                FeatureProfile {
                    kind,
                    rows: values.len() as u64,
                    missing: (values.len() - present.len()) as u64,
                    numeric: Some(NumericProfile::from_values(&present, bins)),
                    categories: None,
                }
            }
            Column::Categorical(values) => FeatureProfile {
                kind,
                rows: values.len() as u64,
                missing: values.iter().filter(|v| v.is_none()).count() as u64,
                numeric: None,
                categories: Some(category_counts(values)),
            },
        }
    }

    pub fn missing_rate(&self) -> f64 {
        rate(self.missing, self.rows)
    }
}

pub fn category_counts(values: &[Option<String>]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v.clone()).or_insert(0) += 1;
    }
    counts
}

pub fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Reference code and unit counts (and observation value summaries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeProfile {
    pub observations: Vec<ObservationCode>,
    pub conditions: Vec<ConditionCode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationCode {
    pub code: String,
    pub unit: String,
    pub display: String,
    pub values: NumericProfile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionCode {
    pub code: String,
    pub display: String,
    pub count: u64,
}

impl CodeProfile {
    pub fn from_sample(codes: &CodeSample, bins: usize) -> CodeProfile {
        CodeProfile {
            observations: codes
                .observations
                .iter()
                .map(|((code, unit), (display, values))| ObservationCode {
                    code: code.clone(),
                    unit: unit.clone(),
                    display: display.clone(),
                    values: NumericProfile::from_values(values, bins),
                })
                .collect(),
            conditions: codes
                .conditions
                .iter()
                .map(|(code, (display, count))| ConditionCode {
                    code: code.clone(),
                    display: display.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}

/// Reference performance, when the reference was scored and labelled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    pub n: u64,
    pub positives: u64,
    pub auroc: Option<f64>,
    pub ece: f64,
    pub observed_rate: f64,
    pub mean_score: f64,
}

impl Performance {
    /// Performance of scores against labels (rows without a label skipped);
    /// `None` when nothing is labelled. Reuses `eval`'s definitions.
    pub fn of(scores: &[f64], labels: &[Option<bool>]) -> Option<Performance> {
        let (s, y): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(labels)
            .filter_map(|(&s, l)| l.map(|l| (s, l)))
            .unzip();
        if s.is_empty() {
            return None;
        }
        let n = s.len() as f64;
        let positives = crate::eval::metrics::positives(&y);
        let bins = crate::eval::calibration::reliability(&s, &y, 10);
        Some(Performance {
            n: s.len() as u64,
            positives: positives as u64,
            auroc: crate::eval::metrics::auroc(&s, &y),
            ece: crate::eval::calibration::ece(&bins),
            observed_rate: positives as f64 / n,
            mean_score: s.iter().sum::<f64>() / n,
        })
    }
}

/// The saved summary of a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub format: String,
    pub source: String,
    pub rows: u64,
    pub bins: usize,
    pub features: BTreeMap<String, FeatureProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<NumericProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<CodeProfile>,
    /// Medians of each measure among stays with and without each condition
    /// that drives it: what tells a change in case mix from a changed assay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strata: Vec<Stratum>,
    /// What estimating performance without labels needs from the reference
    /// (its calibration, the operating threshold, the figures' spread),
    /// when the reference was scored and labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimation: Option<super::estimate::Basis>,
}

/// The operating threshold estimation counts flagged stays at, and where it
/// came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Operating {
    pub threshold: f64,
    pub source: String,
}

/// A measure's median among stays without and with one condition that
/// drives it (`Measure::driven_by`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stratum {
    /// The measure's feature (`creatinine`).
    pub measure: String,
    /// The condition's feature (`ckd`).
    pub condition: String,
    pub median_without: Option<f64>,
    pub median_with: Option<f64>,
    pub n_without: u64,
    pub n_with: u64,
}

/// Every (measure, driving condition) stratum a sample's columns allow.
pub fn strata(sample: &Sample) -> Vec<Stratum> {
    let mut out = Vec::new();
    for measure in crate::clinical::Measure::ALL {
        let Some((_, Column::Numeric(values))) = sample.columns.get(measure.feature()) else {
            continue;
        };
        for condition in measure.driven_by() {
            let Some((_, Column::Categorical(has))) = sample.columns.get(condition.feature())
            else {
                continue;
            };
            let (mut with, mut without) = (Vec::new(), Vec::new());
            for (v, h) in values.iter().zip(has) {
                match (v, h.as_deref()) {
                    (Some(v), Some("1")) => with.push(*v),
                    (Some(v), Some("0")) => without.push(*v),
                    _ => {}
                }
            }
            out.push(Stratum {
                measure: measure.feature().into(),
                condition: condition.feature().into(),
                median_without: median(&mut without),
                median_with: median(&mut with),
                n_without: without.len() as u64,
                n_with: with.len() as u64,
            });
        }
    }
    out
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    crate::eval::bootstrap::quantile(values, 0.5)
}

impl Profile {
    /// Summarise a reference sample with `bins` quantile bins a feature;
    /// `operating` is the threshold estimation counts flagged stays at.
    pub fn from_sample(sample: &Sample, bins: usize, operating: Option<&Operating>) -> Profile {
        let performance = match (&sample.scores, &sample.labels) {
            (Some(s), Some(l)) => Performance::of(s, l),
            _ => None,
        };
        let estimation = match (&sample.scores, &sample.labels) {
            (Some(s), Some(l)) => super::estimate::Basis::fit(
                s,
                l,
                operating.map(|o| o.threshold),
                operating.map_or("none", |o| o.source.as_str()),
                0,
            ),
            _ => None,
        };
        Profile {
            format: PROFILE_FORMAT.into(),
            source: sample.source.clone(),
            rows: sample.rows as u64,
            bins,
            features: sample
                .columns
                .iter()
                .map(|(name, (kind, col))| {
                    (name.clone(), FeatureProfile::from_column(*kind, col, bins))
                })
                .collect(),
            score: sample
                .scores
                .as_ref()
                .map(|s| NumericProfile::from_values(s, bins)),
            performance,
            codes: sample
                .codes
                .as_ref()
                .map(|c| CodeProfile::from_sample(c, bins)),
            strata: strata(sample),
            estimation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_counts_missing_values_bins_and_categories() {
        let mut s = Sample {
            source: "t".into(),
            rows: 4,
            ..Default::default()
        };
        s.columns.insert(
            "x".into(),
            (
                FeatureKind::Numeric,
                Column::Numeric(vec![Some(1.0), None, Some(2.0), Some(3.0)]),
            ),
        );
        s.columns.insert(
            "c".into(),
            (
                FeatureKind::Categorical,
                Column::Categorical(vec![
                    Some("a".into()),
                    Some("b".into()),
                    Some("a".into()),
                    None,
                ]),
            ),
        );
        let p = Profile::from_sample(&s, 2, None);
        let x = &p.features["x"];
        assert_eq!((x.rows, x.missing), (4, 1));
        let num = x.numeric.as_ref().unwrap();
        assert_eq!(num.edges, vec![2.0]);
        assert_eq!(num.counts, vec![2.0, 1.0]);
        assert_eq!(num.sample, vec![1.0, 2.0, 3.0]);
        assert_eq!(num.median, Some(2.0));
        let cats = p.features["c"].categories.as_ref().unwrap();
        assert_eq!(cats.get("a"), Some(&2));
        assert_eq!(cats.get("b"), Some(&1));
        assert!((p.features["c"].missing_rate() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn thinning_keeps_the_ends() {
        let v: Vec<f64> = (0..101).map(f64::from).collect();
        assert_eq!(thin_sorted(&v, 5), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
    }
}
