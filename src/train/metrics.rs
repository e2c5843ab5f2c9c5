//! The two numbers training watches: AUROC and log loss.

/// Area under the ROC curve: the chance that a random positive scores above
/// a random negative (ties count a half). `None` without both classes.
pub fn auroc(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = order.iter().filter(|&&i| labels[i] == 1).count() as f64;
    let negatives = order.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += order[i..=j].iter().filter(|&&k| labels[k] == 1).count() as f64 * avg_rank;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
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
