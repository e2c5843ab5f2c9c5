//! Bootstrap confidence intervals and the subgroup table.
//!
//! Rows are resampled with replacement, each replicate from its own named
//! random stream (`rng::stream(seed, "eval-bootstrap/<group>", b)`), so the
//! intervals are the same on every machine and thread count. Intervals are
//! percentile intervals (2.5th and 97.5th, linear interpolation as numpy's
//! default). Replicates where a statistic is undefined (one class drawn) are
//! left out of that statistic and counted.

use std::collections::BTreeMap;

use rand::Rng as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::calibration::calibration_in_the_large;
use super::metrics::{auroc, confusion};
use super::run_dir::Prediction;
use crate::clinical::analysis::age_band;
use crate::rng;

/// A 95% percentile interval and how many replicates it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
    /// Replicates in which the statistic was defined.
    pub replicates: usize,
}

/// The q-quantile (0..=1) of sorted values, interpolating linearly.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (*sorted.get(lo)?, *sorted.get(hi)?);
    Some(a + (b - a) * (pos - lo as f64))
}

/// Percentile intervals for `k` statistics computed together on each of
/// `replicates` resamples of (scores, labels). `stat` returns one value per
/// statistic, `None` where undefined for that resample.
pub fn bootstrap<F>(
    scores: &[f64],
    labels: &[bool],
    replicates: usize,
    seed: u64,
    stream: &str,
    k: usize,
    stat: F,
) -> Vec<Option<Interval>>
where
    F: Fn(&[f64], &[bool]) -> Vec<Option<f64>> + Sync,
{
    let n = scores.len().min(labels.len());
    if n == 0 || replicates == 0 {
        return vec![None; k];
    }
    let draws: Vec<Vec<Option<f64>>> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut r = rng::stream(seed, stream, b as u64);
            let (mut s, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for _ in 0..n {
                let i = r.random_range(0..n);
                s.push(scores[i]);
                y.push(labels[i]);
            }
            stat(&s, &y)
        })
        .collect();
    (0..k)
        .map(|j| {
            let mut vals: Vec<f64> = draws
                .iter()
                .filter_map(|d| d.get(j).copied().flatten())
                .filter(|v| v.is_finite())
                .collect();
            vals.sort_by(f64::total_cmp);
            Some(Interval {
                lower: quantile(&vals, 0.025)?,
                upper: quantile(&vals, 0.975)?,
                replicates: vals.len(),
            })
        })
        .collect()
}

/// A statistic with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub ci: Option<Interval>,
}

/// One row of the subgroup table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubgroupRow {
    /// "all", "sex", "age_band", "race_ethnicity" or "payer".
    pub attribute: String,
    pub group: String,
    pub n: u64,
    pub events: u64,
    pub auroc: Estimate,
    pub calibration_in_the_large: Estimate,
    /// Sensitivity at the report's threshold (not re-chosen per group).
    pub sensitivity: Estimate,
    /// Why this group's numbers are fragile, if they are.
    pub warning: Option<String>,
}

/// Groups too small for stable estimates get a warning.
pub const MIN_GROUP_N: u64 = 100;
pub const MIN_GROUP_EVENTS: u64 = 10;

/// The statistics the subgroup table reports, in its order.
fn group_stats(scores: &[f64], labels: &[bool], threshold: f64) -> Vec<Option<f64>> {
    vec![
        auroc(scores, labels),
        calibration_in_the_large(scores, labels),
        confusion(scores, labels, threshold).sensitivity,
    ]
}

/// Point estimates and intervals for one set of rows.
pub fn subgroup_row(
    attribute: &str,
    group: &str,
    rows: &[&Prediction],
    threshold: f64,
    replicates: usize,
    seed: u64,
) -> SubgroupRow {
    let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
    let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
    let n = rows.len() as u64;
    let events = labels.iter().filter(|&&y| y).count() as u64;
    let point = group_stats(&scores, &labels, threshold);
    let stream = format!("eval-bootstrap/{attribute}={group}");
    let cis = bootstrap(&scores, &labels, replicates, seed, &stream, 3, |s, y| {
        group_stats(s, y, threshold)
    });
    let est = |j: usize| Estimate {
        value: point.get(j).copied().flatten(),
        ci: cis.get(j).copied().flatten(),
    };
    let warning = (n < MIN_GROUP_N || events < MIN_GROUP_EVENTS).then(|| {
        format!(
            "small group ({n} stays, {events} events; want at least {MIN_GROUP_N} and {MIN_GROUP_EVENTS}): wide intervals, read with care"
        )
    });
    SubgroupRow {
        attribute: attribute.to_string(),
        group: group.to_string(),
        n,
        events,
        auroc: est(0),
        calibration_in_the_large: est(1),
        sensitivity: est(2),
        warning,
    }
}

/// The attributes the subgroup table splits by, and how to read each from a row.
pub const ATTRIBUTES: [&str; 4] = ["sex", "age_band", "race_ethnicity", "payer"];

fn attribute_value(p: &Prediction, attribute: &str) -> String {
    match attribute {
        "sex" => p.sex.clone(),
        "age_band" => age_band(p.age).to_string(),
        "race_ethnicity" => p.race_ethnicity.clone(),
        "payer" => p.payer.clone(),
        _ => String::new(),
    }
}

/// The whole table: "all" first, then each attribute's groups in sorted order.
pub fn subgroup_table(
    rows: &[&Prediction],
    threshold: f64,
    replicates: usize,
    seed: u64,
) -> Vec<SubgroupRow> {
    let mut out = vec![subgroup_row(
        "all", "all", rows, threshold, replicates, seed,
    )];
    for attribute in ATTRIBUTES {
        let mut groups: BTreeMap<String, Vec<&Prediction>> = BTreeMap::new();
        for p in rows {
            let key = attribute_value(p, attribute);
            let key = if key.is_empty() {
                "unknown".into()
            } else {
                key
            };
            groups.entry(key).or_default().push(p);
        }
        for (group, members) in &groups {
            out.push(subgroup_row(
                attribute, group, members, threshold, replicates, seed,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.5));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert!((quantile(&v, 0.025).unwrap() - 1.075).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
    }
}
