//! Decision curve analysis (Vickers and Elkin): is acting on the model
//! better than treating everyone or no one?
//!
//! At a threshold probability `pt` a clinician is willing to treat `1/pt - 1`
//! people without the event to catch one with it, so a false positive costs
//! `pt / (1 - pt)` of a true positive:
//! `net benefit = TP/n - FP/n * pt / (1 - pt)`.
//! Treat-all flags everyone; treat-none has net benefit 0.

use serde::{Deserialize, Serialize};

use super::metrics::confusion;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionPoint {
    pub threshold: f64,
    pub model: f64,
    pub treat_all: f64,
    pub treat_none: f64,
}

/// Net benefit of flagging scores at or above `pt`.
pub fn net_benefit(scores: &[f64], labels: &[bool], pt: f64) -> f64 {
    let n = scores.len().min(labels.len());
    if n == 0 {
        return f64::NAN;
    }
    let c = confusion(scores, labels, pt);
    let n = n as f64;
    c.tp as f64 / n - c.fp as f64 / n * pt / (1.0 - pt)
}

/// The curve at thresholds 0.01, 0.02, ..., 0.99.
pub fn decision_curve(scores: &[f64], labels: &[bool]) -> Vec<DecisionPoint> {
    let n = scores.len().min(labels.len()).max(1) as f64;
    let prevalence = labels.iter().filter(|&&y| y).count() as f64 / n;
    (1..=99)
        .map(|i| {
            let pt = i as f64 / 100.0;
            DecisionPoint {
                threshold: pt,
                model: net_benefit(scores, labels, pt),
                treat_all: prevalence - (1.0 - prevalence) * pt / (1.0 - pt),
                treat_none: 0.0,
            }
        })
        .collect()
}
