//! The drift statistics: population stability index, the two-sample
//! Kolmogorov-Smirnov test, the chi-squared test of homogeneity, the
//! two-proportion z-test, and two distances for large samples (Wasserstein
//! normalised by the reference's spread, Jensen-Shannon).
//!
//! Each is a pure function of two samples (or two count vectors) so that it
//! can be pinned against independent values: `tests/data/monitor/` holds
//! scipy's numbers for every test and distance
//! (`scripts/make-drift-fixtures.py`), and the PSI tests use a hand-computed
//! case.

use serde::{Deserialize, Serialize};

/// Share given to an empty bin before taking logarithms: without it one
/// empty bin makes the PSI infinite. The value most PSI write-ups use.
pub const PSI_EPSILON: f64 = 1e-4;

/// Population stability index of two count vectors over the same bins:
/// `sum((c_i - r_i) * ln(c_i / r_i))` over the bin shares, each share
/// floored at `PSI_EPSILON`. `None` when either side has no observations.
pub fn psi(reference: &[f64], current: &[f64]) -> Option<f64> {
    let r_total: f64 = reference.iter().sum();
    let c_total: f64 = current.iter().sum();
    if r_total <= 0.0 || c_total <= 0.0 || reference.len() != current.len() {
        return None;
    }
    let value = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let r = (r / r_total).max(PSI_EPSILON);
            let c = (c / c_total).max(PSI_EPSILON);
            (c - r) * (c / r).ln()
        })
        .sum();
    Some(value)
}

/// Inner edges of quantile bins from the reference sample: up to
/// `bins - 1` cut points at the reference's 1/bins, 2/bins, ... quantiles.
/// Quantiles are observed values (the inverted empirical distribution
/// function), so a discrete feature's edges fall on its values; repeated cut
/// points are merged and a cut at the maximum dropped, so a feature with few
/// distinct values gets fewer, wider bins instead of empty ones.
pub fn quantile_edges(reference: &[f64], bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = reference
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = Vec::new();
    let Some(&max) = sorted.last() else {
        return edges;
    };
    let n = sorted.len();
    for k in 1..bins {
        let rank = (k * n).div_ceil(bins).max(1);
        let Some(&q) = sorted.get(rank - 1) else {
            continue;
        };
        if q < max && edges.last().is_none_or(|&last| q > last) {
            edges.push(q);
        }
    }
    edges
}

/// Counts of values in the bins the inner `edges` make: bin `i` holds
/// values in `(edges[i-1], edges[i]]`, the first everything up to
/// `edges[0]`, the last everything above the last edge.
pub fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0.0; edges.len() + 1];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = edges.partition_point(|&e| e < v);
        if let Some(c) = counts.get_mut(i) {
            *c += 1.0;
        }
    }
    counts
}

/// Result of a test: the statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Two-sample Kolmogorov-Smirnov test: the largest gap between the two
/// empirical distribution functions, with the two-sided p-value from the
/// limiting Kolmogorov distribution at `sqrt(n*m/(n+m)) * D` (scipy's
/// `kstwobign.sf`). `None` when either sample is empty.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Option<TestResult> {
    let mut a: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
    let mut b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let d = ks_statistic(&a, &b)?;
    Some(TestResult {
        statistic: d,
        p_value: ks_p_value(d, a.len() as f64, b.len() as f64),
    })
}

/// The KS statistic of two sorted samples; `None` when either is empty.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    // At each distinct value step past every tie on both sides before
    // comparing the distribution functions.
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        let x = x.min(y);
        while a.get(i).is_some_and(|&v| v <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    Some(d)
}

/// Two-sided asymptotic p-value of a KS statistic `d` from samples of
/// sizes `n` and `m`.
pub fn ks_p_value(d: f64, n: f64, m: f64) -> f64 {
    kolmogorov_sf((n * m / (n + m)).sqrt() * d)
}

/// Survival function of the Kolmogorov distribution:
/// `2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2)`; for small x the Jacobi
/// theta form `1 - sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2 / (8 x^2))`, which
/// converges where the first does not.
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < 1.0 {
        let pi = std::f64::consts::PI;
        let s: f64 = (1..=20)
            .map(|k| {
                let o = (2 * k - 1) as f64;
                (-(o * o) * pi * pi / (8.0 * x * x)).exp()
            })
            .sum();
        return (1.0 - (2.0 * pi).sqrt() / x * s).clamp(0.0, 1.0);
    }
    let s: f64 = (1..=100)
        .map(|k| {
            let k = k as f64;
            let sign = if k as u64 % 2 == 1 { 1.0 } else { -1.0 };
            sign * (-2.0 * k * k * x * x).exp()
        })
        .sum();
    (2.0 * s).clamp(0.0, 1.0)
}

/// Chi-squared test of homogeneity on a 2 x K table (reference counts,
/// current counts over the same categories), without continuity correction
/// (scipy's `chi2_contingency(..., correction=False)`). Categories empty on
/// both sides are dropped. `None` when a side is empty or fewer than two
/// categories remain.
pub fn chi_squared(reference: &[f64], current: &[f64]) -> Option<TestResult> {
    let cells: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r, c))
        .filter(|&(r, c)| r + c > 0.0)
        .collect();
    let r_total: f64 = cells.iter().map(|c| c.0).sum();
    let c_total: f64 = cells.iter().map(|c| c.1).sum();
    if cells.len() < 2 || r_total <= 0.0 || c_total <= 0.0 {
        return None;
    }
    let total = r_total + c_total;
    let statistic: f64 = cells
        .iter()
        .map(|&(r, c)| {
            let col = r + c;
            let (er, ec) = (col * r_total / total, col * c_total / total);
            (r - er).powi(2) / er + (c - ec).powi(2) / ec
        })
        .sum();
    let dof = (cells.len() - 1) as f64;
    Some(TestResult {
        statistic,
        p_value: chi2_sf(statistic, dof),
    })
}

/// Two-proportion z-test (pooled, two-sided) of a binary column: counts of
/// `[no, yes]` on each side. `None` when a side is empty or the pooled
/// proportion is 0 or 1 (nothing varies, so nothing can have shifted).
pub fn two_proportion_z(reference: [f64; 2], current: [f64; 2]) -> Option<TestResult> {
    let (n1, n2) = (reference[0] + reference[1], current[0] + current[1]);
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let (p1, p2) = (reference[1] / n1, current[1] / n2);
    let pooled = (reference[1] + current[1]) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 {
        return None;
    }
    let z = (p2 - p1) / se;
    Some(TestResult {
        statistic: z,
        p_value: normal_two_sided(z),
    })
}

/// `P(|Z| >= |z|)` for a standard normal Z: erfc(|z|/sqrt 2), which is the
/// regularised upper gamma Q(1/2, z^2/2).
pub fn normal_two_sided(z: f64) -> f64 {
    if z == 0.0 {
        return 1.0;
    }
    gamma_q(0.5, z * z / 2.0)
}

/// The first Wasserstein distance between two samples (the area between
/// their distribution functions; scipy's `wasserstein_distance`), divided
/// by the reference's standard deviation (population, floored at 0.001) so
/// that one threshold serves every unit: Evidently's "normed" form. Both
/// samples sorted. `None` when either is empty.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Option<f64> {
    if reference.is_empty() || current.is_empty() {
        return None;
    }
    let (n, m) = (reference.len() as f64, current.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut area = 0.0;
    let mut x = reference[0].min(current[0]);
    // Walk the merged values; between two consecutive ones both
    // distribution functions are flat.
    while i < reference.len() || j < current.len() {
        let next = match (reference.get(i), current.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        area += (i as f64 / n - j as f64 / m).abs() * (next - x);
        x = next;
        while reference.get(i).is_some_and(|&v| v <= x) {
            i += 1;
        }
        while current.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
    }
    let mean = reference.iter().sum::<f64>() / n;
    let var = reference.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some(area / var.sqrt().max(0.001))
}

/// Jensen-Shannon distance (natural logarithm; scipy's
/// `spatial.distance.jensenshannon`) between two count vectors over the
/// same categories. `None` when either side is empty.
pub fn jensen_shannon(reference: &[f64], current: &[f64]) -> Option<f64> {
    let (r_total, c_total): (f64, f64) = (reference.iter().sum(), current.iter().sum());
    if r_total <= 0.0 || c_total <= 0.0 {
        return None;
    }
    let kl = |p: f64, m: f64| if p > 0.0 { p * (p / m).ln() } else { 0.0 };
    let divergence: f64 = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (p, q) = (r / r_total, c / c_total);
            let m = (p + q) / 2.0;
            (kl(p, m) + kl(q, m)) / 2.0
        })
        .sum();
    Some(divergence.max(0.0).sqrt())
}

/// Survival function of the chi-squared distribution with `dof` degrees
/// of freedom: the regularised upper incomplete gamma Q(dof/2, x/2).
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_q(dof / 2.0, x / 2.0)
}

/// Regularised upper incomplete gamma Q(a, x): the series for P below
/// x < a + 1, Lentz's continued fraction for Q above (Numerical Recipes 6.2).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_fraction(a, x)
    }
}

fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut ap = a;
    for _ in 0..1000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * 1e-16 {
            break;
        }
    }
    (sum.ln() - x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms), good
/// to about 1e-15 relative.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, &c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_matches_a_hand_computed_case() {
        // shares r = (.5, .3, .2), c = (.3, .3, .4):
        // (.3-.5) ln(.3/.5) + 0 + (.4-.2) ln(.4/.2) = 0.2 ln(5/3) + 0.2 ln 2
        let want = 0.2 * (5.0f64 / 3.0).ln() + 0.2 * 2.0f64.ln();
        let got = psi(&[50.0, 30.0, 20.0], &[30.0, 30.0, 40.0]).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert!((got - 0.240_8).abs() < 1e-3);
    }

    #[test]
    fn psi_floors_empty_bins_and_is_zero_for_equal_shares() {
        assert_eq!(psi(&[10.0, 20.0], &[1.0, 2.0]), Some(0.0));
        // r = (1, 0), c = (.5, .5): (.5-1) ln(.5) + (.5-1e-4) ln(.5/1e-4)
        let want = -0.5 * 0.5f64.ln() + (0.5 - 1e-4) * (0.5f64 / 1e-4).ln();
        let got = psi(&[4.0, 0.0], &[1.0, 1.0]).unwrap();
        assert!((got - want).abs() < 1e-12);
        assert_eq!(psi(&[0.0, 0.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn quantile_edges_merge_ties_and_bins_count_every_value() {
        let r: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_edges(&r, 2), vec![5.0]);
        assert_eq!(bin_counts(&r, &[5.0]), vec![5.0, 5.0]);
        assert_eq!(quantile_edges(&r, 4), vec![3.0, 5.0, 8.0]);
        // A binary feature: every quantile is 0 or 1, one edge survives.
        let binary = [0.0, 0.0, 0.0, 1.0, 1.0];
        assert_eq!(quantile_edges(&binary, 10), vec![0.0]);
        assert_eq!(bin_counts(&binary, &[0.0]), vec![3.0, 2.0]);
        assert_eq!(
            bin_counts(&[0.5, 1.0, 2.0, f64::NAN], &[1.0]),
            vec![2.0, 1.0]
        );
    }

    #[test]
    fn ks_statistic_handles_ties_and_identical_samples() {
        let a = [1.0, 2.0, 2.0, 3.0];
        let r = ks_two_sample(&a, &a).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
        let r = ks_two_sample(&[1.0, 2.0, 3.0], &[4.0, 5.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!(ks_two_sample(&[], &[1.0]).is_none());
    }

    #[test]
    fn kolmogorov_sf_is_continuous_at_the_switch() {
        let lo = kolmogorov_sf(1.0 - 1e-9);
        let hi = kolmogorov_sf(1.0);
        assert!((lo - hi).abs() < 1e-8, "{lo} vs {hi}");
        // scipy.special.kolmogorov(1.0) = 0.26999967167735456
        assert!((hi - 0.269_999_671_677_354_56).abs() < 1e-12);
    }

    #[test]
    fn chi2_sf_matches_closed_forms() {
        // dof 2: Q = exp(-x/2)
        assert!((chi2_sf(3.0, 2.0) - (-1.5f64).exp()).abs() < 1e-14);
        // dof 1 at x = 3.841458820694124: the 95th percentile
        assert!((chi2_sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-12);
        assert!((chi2_sf(40.0, 4.0) - (-20.0f64).exp() * 21.0).abs() < 1e-20);
    }
}
