//! The ground truth: the true probability of 30-day readmission as a
//! documented function of the analysis row at discharge, and the Bayes
//! AUROC that no model can beat on average.
//!
//! Because the generator computes each stay's row with
//! `clinical::analysis::features_at_discharge` and draws the label from
//! `readmission_risk(&row)`, the truth is defined on exactly the table a
//! learner trains on. The formula is in the book chapter "The population
//! model"; keep the two in step.

use crate::clinical::AnalysisRow;

/// Logistic function.
pub fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn pos(x: f64) -> f64 {
    x.max(0.0)
}

/// The true probability of readmission within 30 days of this discharge.
///
/// A logistic of a linear predictor with non-linear terms and interactions:
/// an age spline with a knot at 75, log creatinine, log LOS, capped prior
/// admissions, a recent-discharge bump, conditions, heart failure x BNP,
/// diabetes x glucose, anaemia and hyponatraemia thresholds, disposition
/// and payer. Missing labs contribute nothing (a test not ordered is
/// mostly a test not indicated).
pub fn readmission_risk(row: &AnalysisRow) -> f64 {
    logistic(readmission_logit(row))
}

/// The linear predictor of `readmission_risk` (log odds).
pub fn readmission_logit(row: &AnalysisRow) -> f64 {
    let mut z = -3.9;
    // age: gentle slope, steeper after 75
    z += 0.012 * (row.age - 65.0) + 0.035 * pos(row.age - 75.0);
    // the stay
    z += 0.35 * (1.0 + row.los_days).ln();
    z += 0.18 * row.prior_admissions_365d.min(4.0);
    if row.days_since_last_discharge.is_some_and(|d| d <= 60.0) {
        z += 0.35;
    }
    // conditions
    z += 0.35 * row.chf + 0.30 * row.copd + 0.25 * row.ckd + 0.15 * row.t2dm;
    z += 0.25 * row.depression + 0.10 * row.afib;
    // labs, with interactions
    if let Some(cr) = row.creatinine {
        z += 0.4 * (cr.max(0.2) / 1.0).ln();
    }
    if let Some(bnp) = row.bnp {
        // BNP matters much more in heart failure
        z += (0.08 + 0.25 * row.chf) * pos((bnp.max(1.0) / 100.0).ln());
    }
    if let Some(g) = row.glucose {
        z += (0.002 + 0.006 * row.t2dm) * pos(g - 140.0);
    }
    if row.hemoglobin.is_some_and(|h| h < 10.0) {
        z += 0.40;
    }
    if row.sodium.is_some_and(|na| na < 133.0) {
        z += 0.30;
    }
    if row.spo2.is_some_and(|s| s < 92.0) {
        z += 0.25;
    }
    // where the patient goes and who pays
    z += match row.disposition.as_str() {
        "skilled_nursing" => 0.40,
        "home_health" => 0.25,
        "left_ama" => 0.70,
        _ => 0.0,
    };
    if row.payer == "Medicaid" {
        z += 0.20;
    }
    if row.n_medications >= 8.0 {
        z += 0.20;
    }
    z
}

/// AUROC by ranks (Mann-Whitney U), ties counted as one half.
/// `None` when either class is empty.
pub fn auroc(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let mut pairs: Vec<(f64, u8)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n_pos = pairs.iter().filter(|p| p.1 == 1).count() as f64;
    let n_neg = pairs.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    // sum of the (average) ranks of the positives
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let positives = pairs[i..=j].iter().filter(|p| p.1 == 1).count() as f64;
        rank_sum += avg_rank * positives;
        i = j + 1;
    }
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_ties_as_half() {
        assert_eq!(auroc(&[0.1, 0.2, 0.3, 0.4], &[0, 0, 1, 1]), Some(1.0));
        assert_eq!(auroc(&[0.4, 0.3, 0.2, 0.1], &[0, 0, 1, 1]), Some(0.0));
        assert_eq!(auroc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        // 1 positive at 0.3 vs negatives 0.1, 0.3, 0.5: wins 1, ties 1 -> 1.5/3
        assert_eq!(auroc(&[0.1, 0.3, 0.5, 0.3], &[0, 0, 0, 1]), Some(0.5));
        assert_eq!(auroc(&[0.1, 0.2], &[1, 1]), None);
    }

    #[test]
    fn risk_rises_with_the_documented_terms() {
        let base = AnalysisRow {
            age: 60.0,
            los_days: 3.0,
            disposition: "home".into(),
            payer: "Commercial".into(),
            ..Default::default()
        };
        let p0 = readmission_risk(&base);
        assert!(p0 > 0.02 && p0 < 0.12, "{p0}");
        let hf = AnalysisRow {
            chf: 1.0,
            bnp: Some(1500.0),
            ..base.clone()
        };
        let no_hf = AnalysisRow {
            bnp: Some(1500.0),
            ..base.clone()
        };
        // interaction: BNP adds more with heart failure than without
        let with = readmission_logit(&hf)
            - readmission_logit(&AnalysisRow {
                chf: 1.0,
                ..base.clone()
            });
        let without = readmission_logit(&no_hf) - readmission_logit(&base);
        assert!(with > 3.0 * without, "{with} vs {without}");
        let old = AnalysisRow {
            age: 88.0,
            ..base.clone()
        };
        assert!(readmission_risk(&old) > p0);
        let ama = AnalysisRow {
            disposition: "left_ama".into(),
            ..base.clone()
        };
        assert!((readmission_logit(&ama) - readmission_logit(&base) - 0.70).abs() < 1e-12);
    }
}
