//! Calibration: do predicted risks match observed rates?
//!
//! Two summaries from logistic recalibration of the outcome on the model's
//! logit, `logit P(y=1) = a + b * logit(score)`:
//! - the calibration slope `b` (fit jointly with an intercept): 1 is ideal,
//!   below 1 means the scores are too extreme (overfitting), above 1 too timid;
//! - calibration-in-the-large, the intercept `a` with `b` fixed at 1 (the
//!   logit used as an offset): 0 is ideal, negative means risks are
//!   overestimated on average, positive underestimated.
//!
//! The joint fit's own intercept is reported too, as `recalibration_intercept`.
//! Both fits are unpenalised maximum likelihood by Newton's method.
//!
//! The joint fit is also the fix: [`Recalibration`] fitted on the
//! calibration split maps every score through `sigmoid(a + b * logit(score))`.
//! Its intercept and slope go together; the intercept alone is not a shift
//! that fixes calibration-in-the-large (when `b` is not 1, `a` is the
//! correction at a score of 0.5 only). On the split it was fitted on, the
//! recalibrated mean risk equals the observed rate exactly: the maximum
//! likelihood equation for the intercept is `sum(y - p) = 0`.

use serde::{Deserialize, Serialize};

use super::metrics::{brier, PROB_EPS};

pub fn logit(p: f64) -> f64 {
    let p = p.clamp(PROB_EPS, 1.0 - PROB_EPS);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Intercept with slope fixed at 1 (calibration-in-the-large). `None` when
/// only one class is present (the maximum-likelihood estimate is infinite).
pub fn calibration_in_the_large(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n_pos = labels.iter().filter(|&&y| y).count();
    if n_pos == 0 || n_pos == labels.len() {
        return None;
    }
    let offsets: Vec<f64> = scores.iter().map(|&s| logit(s)).collect();
    let mut a = 0.0;
    for _ in 0..100 {
        let (mut grad, mut hess) = (0.0, 0.0);
        for (&o, &y) in offsets.iter().zip(labels) {
            let p = sigmoid(a + o);
            grad += f64::from(u8::from(y)) - p;
            hess += p * (1.0 - p);
        }
        if hess <= 0.0 {
            return None;
        }
        let step = grad / hess;
        a += step;
        if step.abs() < 1e-13 {
            break;
        }
    }
    a.is_finite().then_some(a)
}

/// Log-likelihood of `logit P = a + b * x`.
fn log_likelihood(x: &[f64], labels: &[bool], a: f64, b: f64) -> f64 {
    x.iter()
        .zip(labels)
        .map(|(&xi, &y)| {
            let z = a + b * xi;
            // log sigmoid(z) and log(1 - sigmoid(z)), stable for large |z|.
            let log1pexp = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            if y {
                z - log1pexp
            } else {
                -log1pexp
            }
        })
        .sum()
}

/// Joint fit of intercept and slope: `(intercept, slope)`. `None` with one
/// class or when the scores do not vary (no slope to estimate). Newton's
/// method with step halving, started from (logit of the event rate, 0), so
/// that extreme logits (scores of exactly 0 or 1) cannot make it diverge.
pub fn recalibration_fit(scores: &[f64], labels: &[bool]) -> Option<(f64, f64)> {
    let n_pos = labels.iter().filter(|&&y| y).count();
    if n_pos == 0 || n_pos == labels.len() {
        return None;
    }
    let x: Vec<f64> = scores.iter().map(|&s| logit(s)).collect();
    let (mut a, mut b) = (logit(n_pos as f64 / labels.len() as f64), 0.0);
    let mut ll = log_likelihood(&x, labels, a, b);
    for _ in 0..200 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&xi, &y) in x.iter().zip(labels) {
            let p = sigmoid(a + b * xi);
            let r = f64::from(u8::from(y)) - p;
            let w = p * (1.0 - p);
            ga += r;
            gb += r * xi;
            haa += w;
            hab += w * xi;
            hbb += w * xi * xi;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            return None;
        }
        // Newton step: H^-1 g for the 2x2 information matrix.
        let mut da = (hbb * ga - hab * gb) / det;
        let mut db = (haa * gb - hab * ga) / det;
        let mut halvings = 0;
        let mut next = log_likelihood(&x, labels, a + da, b + db);
        while (next.is_nan() || next < ll - 1e-12 * ll.abs()) && halvings < 50 {
            da /= 2.0;
            db /= 2.0;
            halvings += 1;
            next = log_likelihood(&x, labels, a + da, b + db);
        }
        a += da;
        b += db;
        ll = next;
        if da.abs().max(db.abs()) < 1e-13 {
            break;
        }
    }
    (a.is_finite() && b.is_finite()).then_some((a, b))
}

/// Logistic recalibration: `logit(new) = intercept + slope * logit(score)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Recalibration {
    pub intercept: f64,
    pub slope: f64,
}

impl Recalibration {
    /// The maximum-likelihood fit on these scores and outcomes; `None` as
    /// for [`recalibration_fit`].
    pub fn fit(scores: &[f64], labels: &[bool]) -> Option<Recalibration> {
        recalibration_fit(scores, labels)
            .map(|(intercept, slope)| Recalibration { intercept, slope })
    }

    /// The recalibrated risk of one score.
    pub fn apply(&self, score: f64) -> f64 {
        sigmoid(self.intercept + self.slope * logit(score))
    }
}

/// How well one set of scores is calibrated, in the figures the report and
/// the card show before and after recalibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    pub mean_score: f64,
    pub observed_rate: f64,
    /// Intercept with the slope fixed at 1 (0 is ideal).
    pub calibration_in_the_large: Option<f64>,
    /// Slope of the joint fit (1 is ideal).
    pub calibration_slope: Option<f64>,
    pub ece: f64,
    pub brier: f64,
}

impl CalibrationSummary {
    pub fn of(scores: &[f64], labels: &[bool], bins: usize) -> CalibrationSummary {
        let n = scores.len().max(1) as f64;
        CalibrationSummary {
            mean_score: scores.iter().sum::<f64>() / n,
            observed_rate: labels.iter().filter(|&&y| y).count() as f64 / n,
            calibration_in_the_large: calibration_in_the_large(scores, labels),
            calibration_slope: recalibration_fit(scores, labels).map(|r| r.1),
            ece: ece(&reliability(scores, labels, bins)),
            brier: brier(scores, labels),
        }
    }
}

/// One bin of the reliability curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub n: u64,
    pub mean_score: f64,
    pub observed_rate: f64,
}

/// Reliability curve over `n_bins` equal-width bins of the score on [0, 1]
/// (scikit-learn's `calibration_curve(strategy="uniform")`: bins are
/// (lower, upper] except the first, [0, 0.1], so a score on an inner edge
/// goes to the lower bin; empty bins are left out).
pub fn reliability(scores: &[f64], labels: &[bool], n_bins: usize) -> Vec<ReliabilityBin> {
    let n_bins = n_bins.max(1);
    // Edges computed as numpy.linspace does (i * step), so that scores that
    // sit on an edge land in the same bin as they do in scikit-learn.
    let step = 1.0 / n_bins as f64;
    let edges: Vec<f64> = (0..=n_bins).map(|i| i as f64 * step).collect();
    let inner = edges.get(1..n_bins).unwrap_or(&[]);
    let mut sum_score = vec![0.0; n_bins];
    let mut sum_label = vec![0.0; n_bins];
    let mut count = vec![0u64; n_bins];
    for (&s, &y) in scores.iter().zip(labels) {
        let bin = inner.partition_point(|&e| e < s).min(n_bins - 1);
        sum_score[bin] += s;
        sum_label[bin] += f64::from(u8::from(y));
        count[bin] += 1;
    }
    (0..n_bins)
        .filter(|&i| count[i] > 0)
        .map(|i| ReliabilityBin {
            lower: edges[i],
            upper: edges[i + 1],
            n: count[i],
            mean_score: sum_score[i] / count[i] as f64,
            observed_rate: sum_label[i] / count[i] as f64,
        })
        .collect()
}

/// Expected calibration error: the n-weighted mean gap between observed
/// rate and mean score over the reliability bins.
pub fn ece(bins: &[ReliabilityBin]) -> f64 {
    let n: u64 = bins.iter().map(|b| b.n).sum();
    if n == 0 {
        return f64::NAN;
    }
    bins.iter()
        .map(|b| b.n as f64 * (b.observed_rate - b.mean_score).abs())
        .sum::<f64>()
        / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citl_matches_closed_form_for_constant_score() {
        // With one score for everyone, the offset fit gives logit(rate) - logit(score).
        let s = [0.2; 10];
        let y: Vec<bool> = (0..10).map(|i| i < 4).collect();
        let a = calibration_in_the_large(&s, &y).unwrap();
        assert!((a - (logit(0.4) - logit(0.2))).abs() < 1e-9);
    }

    #[test]
    fn recalibration_is_the_identity_on_calibrated_logits_and_matches_the_rate() {
        // Scores that over-predict by a fixed logit shift: the fit recovers
        // the shift with slope 1, and the recalibrated mean is the rate.
        let truth: Vec<f64> = (0..400)
            .map(|i| 0.05 + 0.5 * (i % 20) as f64 / 20.0)
            .collect();
        let labels: Vec<bool> = (0..400)
            .map(|i| (i * 7919 % 100) as f64 / 100.0 < truth[i])
            .collect();
        let r = Recalibration::fit(&truth, &labels).unwrap();
        let shifted: Vec<f64> = truth.iter().map(|&p| sigmoid(logit(p) + 0.7)).collect();
        let s = Recalibration::fit(&shifted, &labels).unwrap();
        assert!((s.slope - r.slope).abs() < 1e-9, "{s:?} {r:?}");
        assert!((s.intercept - (r.intercept - 0.7 * r.slope)).abs() < 1e-9);
        let after: Vec<f64> = shifted.iter().map(|&p| s.apply(p)).collect();
        let summary = CalibrationSummary::of(&after, &labels, 10);
        assert!((summary.mean_score - summary.observed_rate).abs() < 1e-12);
        assert!(summary.brier <= CalibrationSummary::of(&shifted, &labels, 10).brier);
    }

    #[test]
    fn edge_scores_go_to_lower_bin() {
        let bins = reliability(
            &[0.0, 0.1, 0.15, 0.95, 1.0],
            &[false, true, true, true, true],
            10,
        );
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].n, bins[1].n, bins[2].n), (2, 1, 2));
        assert_eq!(bins[2].lower, 0.9);
    }
}
