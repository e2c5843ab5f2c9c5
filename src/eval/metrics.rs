//! Discrimination and accuracy metrics on a score vector and 0/1 labels.
//!
//! Each function follows the definition scikit-learn uses, so that the
//! numbers a learner gets here match the ones they will meet elsewhere; the
//! fixtures in `tests/data/metrics/` pin that to 1e-9.

use serde::{Deserialize, Serialize};

/// Clip used for log loss and logits: probabilities of exactly 0 or 1 would
/// give infinities. The same machine epsilon scikit-learn clips with.
pub const PROB_EPS: f64 = f64::EPSILON;

/// Number of positive labels.
pub fn positives(labels: &[bool]) -> usize {
    labels.iter().filter(|&&y| y).count()
}

/// Area under the ROC curve by the rank-sum (Mann-Whitney) statistic, with
/// tied scores given their average rank: equal to the trapezoidal area under
/// the ROC curve. `None` when only one class is present.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len().min(labels.len());
    let n_pos = positives(&labels[..n]);
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        // A block of tied scores shares the mean of ranks i+1..=j.
        let mut j = i + 1;
        while j < n && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_block = order[i..j].iter().filter(|&&k| labels[k]).count();
        rank_sum_pos += mean_rank * pos_in_block as f64;
        i = j;
    }
    let (p, q) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * q))
}

/// One operating point per distinct score, from the highest score down:
/// cumulative true and false positives when everything scoring at least
/// `threshold` is called positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub threshold: f64,
    pub tp: usize,
    pub fp: usize,
}

/// Operating points at every distinct score, highest threshold first.
pub fn steps(scores: &[f64], labels: &[bool]) -> Vec<Step> {
    let n = scores.len().min(labels.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (pos, &k) in order.iter().enumerate() {
        if labels[k] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_block = order
            .get(pos + 1)
            .is_none_or(|&next| scores[next] != scores[k]);
        if last_of_block {
            out.push(Step {
                threshold: scores[k],
                tp,
                fp,
            });
        }
    }
    out
}

/// Average precision as scikit-learn computes it: the sum over thresholds of
/// (recall gained) x (precision at that threshold), no interpolation.
/// `None` when there are no positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n_pos = positives(labels);
    if n_pos == 0 {
        return None;
    }
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for s in steps(scores, labels) {
        let recall = s.tp as f64 / n_pos as f64;
        let precision = s.tp as f64 / (s.tp + s.fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Some(ap)
}

/// Mean squared difference between score and outcome.
pub fn brier(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    if n == 0 {
        return f64::NAN;
    }
    let sum: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&s, &y)| (s - f64::from(u8::from(y))).powi(2))
        .sum();
    sum / n as f64
}

/// Mean negative log-likelihood (natural log), scores clipped to
/// [eps, 1 - eps] as scikit-learn does.
pub fn log_loss(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    if n == 0 {
        return f64::NAN;
    }
    let sum: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&s, &y)| {
            let p = s.clamp(PROB_EPS, 1.0 - PROB_EPS);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    sum / n as f64
}

/// The confusion matrix and the rates clinicians ask for, at one threshold.
/// A stay is flagged when its score is at least the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub threshold: f64,
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// TP / (TP + FN); null when there are no positives.
    pub sensitivity: Option<f64>,
    /// TN / (TN + FP); null when there are no negatives.
    pub specificity: Option<f64>,
    /// TP / (TP + FP), the positive predictive value; null when nobody is flagged.
    pub ppv: Option<f64>,
    /// TN / (TN + FN), the negative predictive value; null when everybody is flagged.
    pub npv: Option<f64>,
    /// Share of stays flagged.
    pub flagged_rate: f64,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub fn confusion(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
    let (mut tp, mut fp, mut tn, mut fn_) = (0u64, 0u64, 0u64, 0u64);
    for (&s, &y) in scores.iter().zip(labels) {
        match (s >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let n = tp + fp + tn + fn_;
    Confusion {
        threshold,
        tp,
        fp,
        tn,
        fn_,
        sensitivity: ratio(tp, tp + fn_),
        specificity: ratio(tn, tn + fp),
        ppv: ratio(tp, tp + fp),
        npv: ratio(tn, tn + fn_),
        flagged_rate: ratio(tp + fp, n).unwrap_or(0.0),
    }
}

/// The highest threshold (a score in the data) whose sensitivity reaches
/// `target`: the fewest flags that still catch the wanted share of events.
/// `None` when there are no positives.
pub fn threshold_for_sensitivity(scores: &[f64], labels: &[bool], target: f64) -> Option<f64> {
    let n_pos = positives(labels);
    if n_pos == 0 {
        return None;
    }
    steps(scores, labels)
        .into_iter()
        .find(|s| s.tp as f64 / n_pos as f64 >= target)
        .map(|s| s.threshold)
}

/// ROC curve points (false positive rate, true positive rate), from (0, 0)
/// to (1, 1), one point per distinct score.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let n_pos = positives(labels).max(1) as f64;
    let n_neg = (labels.len() - positives(labels)).max(1) as f64;
    let mut pts = vec![(0.0, 0.0)];
    pts.extend(
        steps(scores, labels)
            .into_iter()
            .map(|s| (s.fp as f64 / n_neg, s.tp as f64 / n_pos)),
    );
    pts
}

/// Precision-recall points (recall, precision), one per distinct score,
/// from the highest threshold down.
pub fn pr_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let n_pos = positives(labels).max(1) as f64;
    steps(scores, labels)
        .into_iter()
        .map(|s| (s.tp as f64 / n_pos, s.tp as f64 / (s.tp + s.fp) as f64))
        .collect()
}

/// Keep at most `max` points of a curve, always keeping both ends, so that
/// reports and plots stay small on large test sets.
pub fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let last = points.len() - 1;
    (0..max)
        .filter_map(|i| points.get(i * last / (max - 1)).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_ties_as_half() {
        // pairs (pos, neg): (0.8,0.1) win, (0.8,0.4) win, (0.4,0.1) win, (0.4,0.4) tie
        let s = [0.1, 0.4, 0.4, 0.8];
        let y = [false, false, true, true];
        assert!((auroc(&s, &y).unwrap() - 3.5 / 4.0).abs() < 1e-12);
        assert_eq!(auroc(&s, &[true; 4]), None);
    }

    #[test]
    fn average_precision_by_hand() {
        // descending: 0.9 pos (P=1, R=.5), 0.8 neg, 0.7 pos (P=2/3, R=1)
        let s = [0.9, 0.8, 0.7];
        let y = [true, false, true];
        let ap = average_precision(&s, &y).unwrap();
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn confusion_and_target_threshold() {
        let s = [0.1, 0.2, 0.3, 0.6, 0.7, 0.9];
        let y = [false, true, false, true, false, true];
        let c = confusion(&s, &y, 0.5);
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (2, 1, 2, 1));
        assert_eq!(c.ppv, Some(2.0 / 3.0));
        assert_eq!(threshold_for_sensitivity(&s, &y, 1.0), Some(0.2));
        assert_eq!(threshold_for_sensitivity(&s, &y, 0.6), Some(0.6));
    }

    #[test]
    fn thin_keeps_ends() {
        let pts: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 0.0)).collect();
        let t = thin(&pts, 11);
        assert_eq!(t.len(), 11);
        assert_eq!(t[0].0, 0.0);
        assert_eq!(t[10].0, 999.0);
    }
}
