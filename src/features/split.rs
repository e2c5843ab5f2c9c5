//! Patient-level train/valid/calibration/test splits.
//!
//! Rows are stays, and one patient may have many. Splitting stays at random
//! would put the same patient in train and test, and the model would be
//! judged partly on people it has already seen. Every method here therefore
//! assigns whole patients.
//!
//! Four splits, one job each (the selection protocol the tools enforce):
//! - train (60%) fits the weights and the feature transform;
//! - valid (10%) chooses the epoch (best epoch, early stopping);
//! - calibration (15%) chooses what is fitted after the model: the
//!   operating threshold (`eval --target-sensitivity`, `cost roi`) and the
//!   logistic recalibration. Choosing them on the split that also chose the
//!   epoch would reuse it twice, and on test would tune to the judge;
//! - test (15%) is touched once, to report.
//!
//! Two ways to draw the same four cuts:
//! - `Hash`: SHA-256 of (seed, patient id) mapped to [0, 1): below 0.60 is
//!   train, below 0.70 valid, below 0.85 calibration, the rest test. It
//!   depends on nothing but the id and the seed, so a patient keeps their
//!   split when rows are added.
//! - `Temporal`: stays sorted by discharge time; the earliest 60% of stays
//!   mark train, the next 10% valid, the next 15% calibration, the last 15%
//!   test, so the model is judged on discharges later than any it learned
//!   from. A patient with stays on both sides of a cut goes wholly to the
//!   split of their first stay, so the later splits can be a little smaller.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clinical::AnalysisRow;

/// Which split a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Valid,
    Calibration,
    Test,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Calibration => "calibration",
            Split::Test => "test",
        }
    }

    /// Every split, in the order of their cuts.
    pub const ALL: [Split; 4] = [Split::Train, Split::Valid, Split::Calibration, Split::Test];

    /// The split of a name as `as_str` writes it.
    pub fn from_name(name: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// How rows are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SplitMethod {
    /// Hash of the patient id with the seed: 60/10/15/15 of patients.
    #[default]
    Hash,
    /// By discharge time: earliest 60% of stays train, next 10% valid, next
    /// 15% calibration, last 15% test.
    Temporal,
}

/// Where each split ends on [0, 1); test takes the rest. Test keeps the
/// patients it had when there were three splits (the last 15%), and
/// calibration takes the old validation share (70-85%).
const TRAIN_END: f64 = 0.60;
const VALID_END: f64 = 0.70;
const CALIBRATION_END: f64 = 0.85;

/// The split of every row, in row order.
pub fn assign_splits(rows: &[AnalysisRow], method: SplitMethod, seed: u64) -> Vec<Split> {
    match method {
        SplitMethod::Hash => rows
            .iter()
            .map(|r| split_of_fraction(patient_fraction(seed, &r.patient_id)))
            .collect(),
        SplitMethod::Temporal => temporal(rows),
    }
}

fn split_of_fraction(u: f64) -> Split {
    if u < TRAIN_END {
        Split::Train
    } else if u < VALID_END {
        Split::Valid
    } else if u < CALIBRATION_END {
        Split::Calibration
    } else {
        Split::Test
    }
}

/// A stable number in [0, 1) for a patient and seed.
fn patient_fraction(seed: u64, patient_id: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(b"carelab-split-v1");
    h.update(seed.to_le_bytes());
    h.update(patient_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 bits: exactly representable in an f64.
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

fn temporal(rows: &[AnalysisRow]) -> Vec<Split> {
    // ISO timestamps sort as text; ties break on stay id for determinism.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&rows[a], &rows[b]);
        (ra.discharge_time.as_str(), ra.stay_id.as_str())
            .cmp(&(rb.discharge_time.as_str(), rb.stay_id.as_str()))
    });
    let n = rows.len() as f64;
    let mut first_split: BTreeMap<&str, Split> = BTreeMap::new();
    for (rank, &i) in order.iter().enumerate() {
        let split = split_of_fraction(rank as f64 / n);
        first_split
            .entry(rows[i].patient_id.as_str())
            .or_insert(split);
    }
    rows.iter()
        .map(|r| {
            first_split
                .get(r.patient_id.as_str())
                .copied()
                .unwrap_or(Split::Train)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn rows(n: usize, stays_per_patient: usize) -> Vec<AnalysisRow> {
        (0..n)
            .map(|i| AnalysisRow {
                stay_id: format!("S{i:05}"),
                patient_id: format!("P{:05}", i / stays_per_patient),
                discharge_time: format!("2024-01-01T{i:08}"),
                ..Default::default()
            })
            .collect()
    }

    fn patients_in(rows: &[AnalysisRow], splits: &[Split], which: Split) -> BTreeSet<String> {
        rows.iter()
            .zip(splits)
            .filter(|(_, s)| **s == which)
            .map(|(r, _)| r.patient_id.clone())
            .collect()
    }

    #[test]
    fn hash_split_keeps_patients_whole_and_near_60_10_15_15() {
        let rows = rows(9000, 3);
        let splits = assign_splits(&rows, SplitMethod::Hash, 7);
        let sets: Vec<BTreeSet<String>> = Split::ALL
            .iter()
            .map(|&s| patients_in(&rows, &splits, s))
            .collect();
        for (i, a) in sets.iter().enumerate() {
            for b in &sets[i + 1..] {
                assert!(a.is_disjoint(b));
            }
        }
        assert_eq!(sets.iter().map(BTreeSet::len).sum::<usize>(), 3000);
        for (set, want) in sets.iter().zip([0.60, 0.10, 0.15, 0.15]) {
            let frac = set.len() as f64 / 3000.0;
            assert!((frac - want).abs() < 0.03, "fraction {frac}, want {want}");
        }
        // Same seed, same splits; another seed moves patients.
        assert_eq!(splits, assign_splits(&rows, SplitMethod::Hash, 7));
        assert_ne!(splits, assign_splits(&rows, SplitMethod::Hash, 8));
    }

    #[test]
    fn temporal_split_orders_by_discharge_and_keeps_patients_whole() {
        // One stay per patient: exact 60/10/15/15 by time.
        let rows = rows(100, 1);
        let splits = assign_splits(&rows, SplitMethod::Temporal, 0);
        assert!(splits[..60].iter().all(|s| *s == Split::Train));
        assert!(splits[60..70].iter().all(|s| *s == Split::Valid));
        assert!(splits[70..85].iter().all(|s| *s == Split::Calibration));
        assert!(splits[85..].iter().all(|s| *s == Split::Test));
        // A patient whose stays straddle a cut follows their first stay.
        let mut rows = rows;
        rows[99].patient_id = rows[0].patient_id.clone();
        let splits = assign_splits(&rows, SplitMethod::Temporal, 0);
        assert_eq!(splits[99], Split::Train);
    }
}
