//! Bootstrap confidence intervals and the subgroup table.
//!
//! The unit resampled is the patient, not the stay: a patient readmitted
//! twice contributes correlated stays, and resampling stays as if they were
//! independent makes every interval too narrow. Each replicate draws as many
//! patients as the rows hold, with replacement, and takes all of each drawn
//! patient's stays (a cluster bootstrap). Each replicate comes from its own
//! named random stream (`rng::stream(seed, "eval-bootstrap/<group>", b)`), so
//! the intervals are the same on every machine and thread count. Intervals
//! are percentile intervals (2.5th and 97.5th, linear interpolation as
//! numpy's default). Replicates where a statistic is undefined (one class
//! drawn) are left out of that statistic and counted.

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

/// What a bootstrap replicate draws with replacement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resample {
    /// Patients, each with all of their stays: the honest unit when a
    /// patient can have several stays.
    #[default]
    Patients,
    /// Stays, as if they were independent: too narrow when patients repeat;
    /// kept to show the difference.
    Stays,
}

impl Resample {
    /// The clusters this unit makes of the rows.
    pub fn clusters(self, rows: &[&Prediction]) -> Clusters {
        match self {
            Resample::Patients => Clusters::patients(rows),
            Resample::Stays => Clusters::singletons(rows.len()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Resample::Patients => "patients",
            Resample::Stays => "stays",
        }
    }
}

/// Which patient each row belongs to, as the rows of each patient: the
/// clusters a bootstrap resamples. Patients are numbered in order of first
/// appearance, so the same rows give the same clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    members: Vec<Vec<usize>>,
    rows: usize,
}

impl Clusters {
    /// Clusters from one key per row (the patient id).
    pub fn by_key<'k>(keys: impl IntoIterator<Item = &'k str>) -> Clusters {
        let mut index: std::collections::HashMap<&str, usize> = Default::default();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut rows = 0;
        for (i, key) in keys.into_iter().enumerate() {
            let c = *index.entry(key).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            members[c].push(i);
            rows = i + 1;
        }
        Clusters { members, rows }
    }

    /// The clusters of scored stays: one per patient.
    pub fn patients(rows: &[&Prediction]) -> Clusters {
        Clusters::by_key(rows.iter().map(|p| p.patient_id.as_str()))
    }

    /// Every row its own cluster: the plain (stay-level) bootstrap.
    pub fn singletons(rows: usize) -> Clusters {
        Clusters {
            members: (0..rows).map(|i| vec![i]).collect(),
            rows,
        }
    }

    /// Number of clusters (patients).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Percentile intervals for `k` statistics computed together on each of
/// `replicates` cluster resamples of (scores, labels). `stat` returns one
/// value per statistic, `None` where undefined for that resample.
#[allow(clippy::too_many_arguments)]
pub fn bootstrap<F>(
    scores: &[f64],
    labels: &[bool],
    clusters: &Clusters,
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
    assert_eq!(clusters.rows, n, "one cluster index per row");
    if n == 0 || replicates == 0 {
        return vec![None; k];
    }
    let draws: Vec<Vec<Option<f64>>> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut r = rng::stream(seed, stream, b as u64);
            let (mut s, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for _ in 0..clusters.len() {
                for &i in &clusters.members[r.random_range(0..clusters.len())] {
                    s.push(scores[i]);
                    y.push(labels[i]);
                }
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
    /// Stays in the group.
    pub n: u64,
    /// Patients those stays belong to: the units the intervals resample.
    pub patients: u64,
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
    resample: Resample,
    replicates: usize,
    seed: u64,
) -> SubgroupRow {
    let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
    let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
    let clusters = resample.clusters(rows);
    let point = group_stats(&scores, &labels, threshold);
    let stream = format!("eval-bootstrap/{attribute}={group}");
    let cis = bootstrap(
        &scores,
        &labels,
        &clusters,
        replicates,
        seed,
        &stream,
        3,
        |s, y| group_stats(s, y, threshold),
    );
    let est = |j: usize| Estimate {
        value: point.get(j).copied().flatten(),
        ci: cis.get(j).copied().flatten(),
    };
    group_row(attribute, group, rows, [est(0), est(1), est(2)])
}

/// A subgroup row from its estimates (AUROC, calibration-in-the-large,
/// sensitivity), with its counts and the small-group warning.
fn group_row(
    attribute: &str,
    group: &str,
    rows: &[&Prediction],
    [auroc, calibration_in_the_large, sensitivity]: [Estimate; 3],
) -> SubgroupRow {
    let n = rows.len() as u64;
    let patients = Clusters::patients(rows).len() as u64;
    let events = rows.iter().filter(|p| p.label).count() as u64;
    let warning = (n < MIN_GROUP_N || events < MIN_GROUP_EVENTS).then(|| {
        format!(
            "small group ({n} stays of {patients} patients, {events} events; want at least {MIN_GROUP_N} stays and {MIN_GROUP_EVENTS} events): wide intervals, read with care"
        )
    });
    SubgroupRow {
        attribute: attribute.to_string(),
        group: group.to_string(),
        n,
        patients,
        events,
        auroc,
        calibration_in_the_large,
        sensitivity,
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

/// The whole table: "all" first, then each attribute's groups in sorted
/// order. The "all" row is the headline estimates themselves (`headline`
/// holds "auroc", "calibration_intercept" and "sensitivity"), so a report
/// gives one interval per quantity, never two from different resamples.
pub fn subgroup_table(
    rows: &[&Prediction],
    threshold: f64,
    resample: Resample,
    replicates: usize,
    seed: u64,
    headline: &BTreeMap<String, Estimate>,
) -> Vec<SubgroupRow> {
    let of = |name: &str| {
        headline.get(name).copied().unwrap_or(Estimate {
            value: None,
            ci: None,
        })
    };
    let all = [of("auroc"), of("calibration_intercept"), of("sensitivity")];
    let mut out = vec![group_row("all", "all", rows, all)];
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
                attribute, group, members, threshold, resample, replicates, seed,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stays(patients: &[(&str, f64, bool)]) -> Vec<Prediction> {
        patients
            .iter()
            .enumerate()
            .map(|(i, &(patient, score, label))| Prediction {
                stay_id: format!("S{i}"),
                patient_id: patient.to_string(),
                split: "test".into(),
                score,
                label,
                sex: "F".into(),
                age: 70.0,
                race_ethnicity: String::new(),
                payer: String::new(),
            })
            .collect()
    }

    #[test]
    fn clusters_group_each_patients_rows_in_order_of_first_appearance() {
        let c = Clusters::by_key(["b", "a", "b", "c", "a"]);
        assert_eq!(c.members, vec![vec![0, 2], vec![1, 4], vec![3]]);
        assert_eq!((c.len(), c.rows), (3, 5));
        assert_eq!(
            Clusters::singletons(3).members,
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn a_replicate_takes_every_stay_of_each_patient_it_draws() {
        // Patient A's three stays are all events, B's two never: any
        // replicate's event count is then a multiple of 3 and its stay count
        // a sum of 3s and 2s. A stay-level bootstrap would give any count.
        let rows = stays(&[
            ("A", 0.9, true),
            ("B", 0.1, false),
            ("A", 0.8, true),
            ("B", 0.2, false),
            ("A", 0.7, true),
        ]);
        let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
        let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
        let refs: Vec<&Prediction> = rows.iter().collect();
        let seen = std::sync::Mutex::new(Vec::new());
        bootstrap(
            &scores,
            &labels,
            &Clusters::patients(&refs),
            200,
            7,
            "t",
            1,
            |s, y| {
                let events = y.iter().filter(|&&v| v).count();
                seen.lock().unwrap().push((s.len(), events));
                vec![Some(events as f64)]
            },
        );
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 200);
        for (n, events) in seen {
            assert_eq!(events % 3, 0, "events {events} in a replicate of {n}");
            assert!([4, 5, 6].contains(&n), "{n} stays from two patients");
        }
    }

    #[test]
    fn patient_intervals_are_wider_than_stay_intervals_when_stays_repeat_patients() {
        // 40 patients with 5 stays each; a patient's stays share their
        // score and label: what the stays add is no new information.
        let mut spec = Vec::new();
        let names: Vec<String> = (0..40).map(|p| format!("P{p}")).collect();
        for (p, name) in names.iter().enumerate() {
            for _ in 0..5 {
                spec.push((name.as_str(), (p as f64 + 0.5) / 40.0, p % 3 == 0));
            }
        }
        let rows = stays(&spec);
        let refs: Vec<&Prediction> = rows.iter().collect();
        let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
        let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
        let width = |clusters: &Clusters| {
            let ci = bootstrap(&scores, &labels, clusters, 400, 1, "w", 1, |s, y| {
                vec![Some(
                    y.iter().filter(|&&v| v).count() as f64 / s.len() as f64,
                )]
            })[0]
                .unwrap();
            ci.upper - ci.lower
        };
        let by_patient = width(&Clusters::patients(&refs));
        let by_stay = width(&Clusters::singletons(rows.len()));
        // sqrt(5) wider in theory; at least 1.7x with 400 replicates
        assert!(by_patient > 1.7 * by_stay, "{by_patient} vs {by_stay}");
    }

    #[test]
    fn the_all_row_is_the_headline_estimate_and_counts_patients() {
        let rows = stays(&[("A", 0.9, true), ("B", 0.1, false), ("A", 0.8, false)]);
        let refs: Vec<&Prediction> = rows.iter().collect();
        let e = |v: f64| Estimate {
            value: Some(v),
            ci: Some(Interval {
                lower: v - 0.1,
                upper: v + 0.1,
                replicates: 9,
            }),
        };
        let headline: BTreeMap<String, Estimate> = [
            ("auroc".to_string(), e(0.7)),
            ("calibration_intercept".to_string(), e(0.1)),
            ("sensitivity".to_string(), e(0.5)),
        ]
        .into();
        let table = subgroup_table(&refs, 0.5, Resample::Patients, 20, 1, &headline);
        assert_eq!((table[0].n, table[0].patients, table[0].events), (3, 2, 1));
        assert_eq!(table[0].auroc, e(0.7));
        assert_eq!(table[0].calibration_in_the_large, e(0.1));
        assert_eq!(table[0].sensitivity, e(0.5));
    }

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
