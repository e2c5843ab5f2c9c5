//! The two numbers training watches: AUROC and log loss.

/// Area under the ROC curve (ties count a half); `None` without both
/// classes. The evaluation's rank-sum AUROC, on 0/1 labels.
pub fn auroc(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let labels: Vec<bool> = labels.iter().map(|&y| y == 1).collect();
    crate::eval::metrics::auroc(scores, &labels)
}

/// Mean binary cross-entropy of probabilities (clipped away from 0 and 1).
pub fn log_loss(scores: &[f64], labels: &[u8]) -> f64 {
    if scores.is_empty() {
        return f64::NAN;
    }
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-7, 1.0 - 1e-7);
            if y == 1 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / scores.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_pairs_and_ties() {
        assert_eq!(auroc(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]), Some(0.75));
        assert_eq!(auroc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        assert_eq!(auroc(&[0.2, 0.9], &[1, 0]), Some(0.0));
        assert_eq!(auroc(&[0.2, 0.9], &[1, 1]), None);
    }

    #[test]
    fn log_loss_of_known_values() {
        let l = log_loss(&[0.5, 0.5], &[0, 1]);
        assert!((l - std::f64::consts::LN_2).abs() < 1e-12);
        assert!(log_loss(&[1.0], &[0]) < 17.0);
    }
}
