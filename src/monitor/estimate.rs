//! Performance before the labels arrive: confidence-based performance
//! estimation (CBPE, as NannyML does it).
//!
//! A readmission label exists 30 days after discharge at the earliest, so
//! for the newest window the monitor has scores and no outcomes. If the
//! scores are calibrated, each one is the chance its stay is readmitted, and
//! every figure that counts outcomes has an expectation: at the operating
//! threshold `t`, a flagged stay with calibrated risk `p` is a true positive
//! with chance `p` and a false positive with chance `1 - p`, so the expected
//! confusion matrix is a sum of risks; the expected ROC curve ranks the
//! stays by score and accumulates `p` (true positives) and `1 - p` (false
//! positives). Calibration is fitted on the reference, where labels exist
//! (the logistic recalibration `eval` already uses), and carried in the
//! profile.
//!
//! How far an estimate may wander by chance depends on the window's size:
//! the reference is resampled at its own size, the spread of each realised
//! figure measured, and scaled by `sqrt(m / n)` to a window of `n` rows;
//! the band is the reference's figure +- 3 such standard deviations.
//!
//! The assumption: the chance of the outcome given the score is the same
//! now as on the reference. Covariate shift (other patients, a moved
//! assay) keeps it; a change in the outcome's relation to the inputs
//! (concept shift) breaks it, and no label-free method can see that. The
//! realised figures, once labels come, are set beside the estimates so the
//! report shows when the estimate missed.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::eval::calibration::Recalibration;

/// Resamples of the reference used to measure each figure's spread.
pub const RESAMPLES: u64 = 200;
/// At most this many reference rows per resample (the spread is scaled to
/// each window's size anyway, so more rows would add time, not accuracy).
pub const RESAMPLE_ROWS: usize = 5000;
/// Bands are the reference's figure +- this many standard deviations.
pub const SIGMAS: f64 = 3.0;

/// The four figures estimated (and realised) per window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub auroc: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Net benefit at the threshold as the threshold probability.
    pub net_benefit: Option<f64>,
}

impl Figures {
    /// `(name, value)` of each figure, in report order.
    pub fn named(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("AUROC", self.auroc),
            ("precision", self.precision),
            ("recall", self.recall),
            ("net benefit", self.net_benefit),
        ]
    }

    fn map2(&self, other: &Figures, f: impl Fn(f64, f64) -> f64) -> Figures {
        let g = |a: Option<f64>, b: Option<f64>| Some(f(a?, b?));
        Figures {
            auroc: g(self.auroc, other.auroc),
            precision: g(self.precision, other.precision),
            recall: g(self.recall, other.recall),
            net_benefit: g(self.net_benefit, other.net_benefit),
        }
    }
}

/// The expected (or counted) confusion matrix at the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpectedConfusion {
    pub threshold: f64,
    pub tp: f64,
    pub fp: f64,
    pub tn: f64,
    #[serde(rename = "fn")]
    pub fn_: f64,
}

impl ExpectedConfusion {
    /// Sum of outcome chances `p` over stays flagged (`score >= t`) or not.
    /// With 0/1 outcomes for `p` this is the counted matrix.
    pub fn of(scores: &[f64], p: &[f64], threshold: f64) -> ExpectedConfusion {
        let mut c = ExpectedConfusion {
            threshold,
            tp: 0.0,
            fp: 0.0,
            tn: 0.0,
            fn_: 0.0,
        };
        for (&s, &p) in scores.iter().zip(p) {
            if s >= threshold {
                c.tp += p;
                c.fp += 1.0 - p;
            } else {
                c.fn_ += p;
                c.tn += 1.0 - p;
            }
        }
        c
    }

    /// Precision, recall and net benefit (at the threshold probability).
    fn figures(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        let n = self.tp + self.fp + self.tn + self.fn_;
        let t = self.threshold;
        let nb = (n > 0.0 && t < 1.0).then(|| (self.tp - self.fp * t / (1.0 - t)) / n);
        (
            ratio(self.tp, self.tp + self.fp),
            ratio(self.tp, self.tp + self.fn_),
            nb,
        )
    }
}

/// AUROC of the expected ROC curve: stays ranked by score, each adding `p`
/// to the true and `1 - p` to the false positives; tied scores move
/// together (a diagonal step, as for counted outcomes). With 0/1 outcomes
/// for `p` this is the ordinary AUROC. `None` when either expected class
/// is empty.
pub fn expected_auroc(scores: &[f64], p: &[f64]) -> Option<f64> {
    let n = scores.len().min(p.len());
    let pos: f64 = p[..n].iter().sum();
    let neg = n as f64 - pos;
    if pos <= 0.0 || neg <= 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut area) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let (mut dtp, mut dfp) = (0.0, 0.0);
        let mut j = i;
        while j < n && scores[order[j]] == scores[order[i]] {
            dtp += p[order[j]];
            dfp += 1.0 - p[order[j]];
            j += 1;
        }
        // trapezoid: the new false positives times the mean true positives
        area += dfp * (tp + dtp / 2.0);
        tp += dtp;
        i = j;
    }
    Some(area / (pos * neg))
}

/// The figures for scores and outcome chances (calibrated risks for an
/// estimate, 0/1 labels for the realised figures).
pub fn figures(
    scores: &[f64],
    p: &[f64],
    threshold: Option<f64>,
) -> (Figures, Option<ExpectedConfusion>) {
    let confusion = threshold.map(|t| ExpectedConfusion::of(scores, p, t));
    let (precision, recall, net_benefit) = confusion.map_or((None, None, None), |c| c.figures());
    (
        Figures {
            auroc: expected_auroc(scores, p),
            precision,
            recall,
            net_benefit,
        },
        confusion,
    )
}

/// What the reference gives estimation: the calibration, the threshold,
/// the realised figures and their spread. Saved in the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basis {
    /// Maps a score to the chance of readmission, fitted on the reference.
    pub calibration: Recalibration,
    /// The operating threshold (on the model's score), when known.
    pub threshold: Option<f64>,
    /// Where the threshold came from.
    pub threshold_source: String,
    /// Labelled reference rows the calibration and figures come from.
    pub rows: u64,
    /// The reference's realised figures.
    pub reference: Figures,
    /// Each figure's standard deviation over resamples of `resample_rows`
    /// rows, times `sqrt(resample_rows)`: divide by `sqrt(n)` for a window
    /// of `n` rows.
    pub unit_sd: Figures,
    pub resample_rows: u64,
    /// Expected calibration error of the reference's scores before the
    /// recalibration: a large one means raw scores would mislead.
    pub raw_ece: f64,
}

impl Basis {
    /// Fit on labelled reference scores; `None` with fewer than two classes
    /// among the labelled rows (nothing to calibrate against).
    pub fn fit(
        scores: &[f64],
        labels: &[Option<bool>],
        threshold: Option<f64>,
        threshold_source: &str,
        seed: u64,
    ) -> Option<Basis> {
        let (s, y): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(labels)
            .filter_map(|(&s, l)| l.map(|l| (s, l)))
            .unzip();
        let calibration = Recalibration::fit(&s, &y)?;
        let y01: Vec<f64> = y.iter().map(|&b| f64::from(u8::from(b))).collect();
        let (reference, _) = figures(&s, &y01, threshold);
        // Resample the reference (with replacement) and measure the spread
        // of each realised figure.
        let m = s.len().min(RESAMPLE_ROWS);
        let mut rng = crate::rng::stream(seed, "monitor-estimate-band", 0);
        let mut draws: Vec<Figures> = Vec::with_capacity(RESAMPLES as usize);
        let (mut rs, mut ry) = (vec![0.0; m], vec![0.0; m]);
        for _ in 0..RESAMPLES {
            for k in 0..m {
                let i = rng.random_range(0..s.len());
                rs[k] = s[i];
                ry[k] = y01[i];
            }
            draws.push(figures(&rs, &ry, threshold).0);
        }
        let sd = |get: fn(&Figures) -> Option<f64>| {
            let v: Vec<f64> = draws.iter().filter_map(get).collect();
            if v.len() < 2 {
                return None;
            }
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            Some(var.sqrt() * (m as f64).sqrt())
        };
        let unit_sd = Figures {
            auroc: sd(|f| f.auroc),
            precision: sd(|f| f.precision),
            recall: sd(|f| f.recall),
            net_benefit: sd(|f| f.net_benefit),
        };
        let bins = crate::eval::calibration::reliability(&s, &y, 10);
        Some(Basis {
            calibration,
            threshold,
            threshold_source: threshold_source.into(),
            rows: s.len() as u64,
            reference,
            unit_sd,
            resample_rows: m as u64,
            raw_ece: crate::eval::calibration::ece(&bins),
        })
    }

    /// Each figure's standard deviation for a window of `n` rows.
    pub fn sd(&self, n: usize) -> Figures {
        let root = (n.max(1) as f64).sqrt();
        self.unit_sd.map2(&self.unit_sd, |a, _| a / root)
    }

    /// The estimate for one window's scores (and, where some of its rows
    /// are labelled, the realised figures on those rows).
    pub fn estimate(&self, scores: &[f64], labels: &[Option<bool>]) -> WindowEstimate {
        let p: Vec<f64> = scores.iter().map(|&s| self.calibration.apply(s)).collect();
        let (estimated, confusion) = figures(scores, &p, self.threshold);
        let (ls, ly): (Vec<f64>, Vec<f64>) = scores
            .iter()
            .zip(labels)
            .filter_map(|(&s, l)| l.map(|l| (s, f64::from(u8::from(l)))))
            .unzip();
        let realised = (!ls.is_empty()).then(|| figures(&ls, &ly, self.threshold).0);
        let sd = self.sd(scores.len());
        let lower = self.reference.map2(&sd, |r, s| r - SIGMAS * s);
        let upper = self.reference.map2(&sd, |r, s| r + SIGMAS * s);
        WindowEstimate {
            rows: scores.len() as u64,
            labelled: ls.len() as u64,
            estimated,
            confusion,
            sd,
            lower,
            upper,
            realised,
        }
    }
}

/// The estimate for one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowEstimate {
    pub rows: u64,
    /// Rows whose outcome is known (the realised figures use only these).
    pub labelled: u64,
    pub estimated: Figures,
    pub confusion: Option<ExpectedConfusion>,
    /// Standard deviation of each figure at this window's size.
    pub sd: Figures,
    /// The reference band: the reference's figure -+ 3 sd.
    pub lower: Figures,
    pub upper: Figures,
    pub realised: Option<Figures>,
}

impl WindowEstimate {
    /// Figures whose estimate fell below the reference band, in words.
    pub fn below_band(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ((name, e), (_, lo)) in self.estimated.named().iter().zip(self.lower.named()) {
            if let (Some(e), Some(lo)) = (e, lo) {
                if *e < lo {
                    out.push(format!(
                        "estimated {name} {e:.3} below the reference band (>= {lo:.3})"
                    ));
                }
            }
        }
        out
    }

    /// Figures whose realised value lies more than 3 sd from the estimate
    /// (on the labelled rows' count): the estimate's assumption broke.
    pub fn missed(&self) -> Vec<String> {
        let Some(r) = &self.realised else {
            return Vec::new();
        };
        // the realised figure's own noise is at the labelled count
        let scale = (self.rows as f64 / self.labelled.max(1) as f64).sqrt();
        let mut out = Vec::new();
        for (((name, e), (_, r)), (_, sd)) in self
            .estimated
            .named()
            .iter()
            .zip(r.named())
            .zip(self.sd.named())
        {
            if let (Some(e), Some(r), Some(sd)) = (e, r, sd) {
                if (r - e).abs() > SIGMAS * sd * scale {
                    out.push(format!("{name}: estimated {e:.3}, realised {r:.3}"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::auroc;

    #[test]
    fn with_counted_outcomes_the_estimate_is_the_realised_figure() {
        let s = [0.9, 0.8, 0.8, 0.4, 0.3, 0.1];
        let y = [true, false, true, true, false, false];
        let p: Vec<f64> = y.iter().map(|&b| f64::from(u8::from(b))).collect();
        let (f, c) = figures(&s, &p, Some(0.5));
        assert_eq!(f.auroc, auroc(&s, &y));
        let c = c.unwrap();
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (2.0, 1.0, 2.0, 1.0));
        let e = crate::eval::metrics::confusion(&s, &y, 0.5);
        assert_eq!(f.precision, e.ppv);
        assert_eq!(f.recall, e.sensitivity);
        let nb = crate::eval::decision::net_benefit(&s, &y, 0.5);
        assert!((f.net_benefit.unwrap() - nb).abs() < 1e-15);
    }

    #[test]
    fn expected_confusion_sums_the_risks() {
        let s = [0.9, 0.6, 0.2];
        let c = ExpectedConfusion::of(&s, &s, 0.5);
        assert!((c.tp - 1.5).abs() < 1e-12);
        assert!((c.fp - 0.5).abs() < 1e-12);
        assert!((c.fn_ - 0.2).abs() < 1e-12);
        assert!((c.tn - 0.8).abs() < 1e-12);
        // AUROC by hand: pairs (i above j) weighted p_i (1 - p_j), plus
        // each stay against itself counted half (a tie):
        // 0.9*0.4 + 0.9*0.8 + 0.6*0.8 + (0.9*0.1 + 0.6*0.4 + 0.2*0.8)/2
        let want = (0.9 * 0.4 + 0.9 * 0.8 + 0.6 * 0.8 + (0.09 + 0.24 + 0.16) / 2.0) / (1.7 * 1.3);
        assert!((expected_auroc(&s, &s).unwrap() - want).abs() < 1e-12);
    }

    /// Calibrated risks from a known distribution: the estimate from the
    /// risks alone lands on the figures the drawn outcomes give, within the
    /// sampling error the basis predicts.
    #[test]
    fn calibrated_scores_estimate_the_true_figures() {
        let mut rng = crate::rng::stream(11, "cbpe-test", 0);
        let draw = |rng: &mut crate::rng::Rng, n: usize| -> (Vec<f64>, Vec<Option<bool>>) {
            let s: Vec<f64> = (0..n)
                .map(|_| {
                    let z: f64 = -2.0 + 1.2 * (rng.random::<f64>() * 2.0 - 1.0) * 1.7;
                    1.0 / (1.0 + (-z).exp())
                })
                .collect();
            let y = s.iter().map(|&p| Some(rng.random::<f64>() < p)).collect();
            (s, y)
        };
        let (rs, ry) = draw(&mut rng, 20_000);
        let basis = Basis::fit(&rs, &ry, Some(0.2), "test", 1).unwrap();
        // calibrated scores need (almost) no recalibration
        assert!((basis.calibration.slope - 1.0).abs() < 0.1, "{basis:?}");
        assert!(basis.calibration.intercept.abs() < 0.1, "{basis:?}");
        let (cs, cy) = draw(&mut rng, 20_000);
        let w = basis.estimate(&cs, &cy);
        let r = w.realised.unwrap();
        for ((name, e), ((_, r), (_, sd))) in w
            .estimated
            .named()
            .iter()
            .zip(r.named().iter().zip(w.sd.named()))
        {
            let (e, r, sd) = (e.unwrap(), r.unwrap(), sd.unwrap());
            assert!(sd > 0.0 && sd < 0.05, "{name} sd {sd}");
            assert!(
                (e - r).abs() < 3.0 * sd,
                "{name}: estimated {e} realised {r} sd {sd}"
            );
        }
        assert!(w.missed().is_empty(), "{:?}", w.missed());
        assert!(w.below_band().is_empty(), "{:?}", w.below_band());
        // The expected confusion matrix is close to the counted one.
        let c = w.confusion.unwrap();
        let counted = crate::eval::metrics::confusion(
            &cs,
            &cy.iter().map(|y| y.unwrap()).collect::<Vec<_>>(),
            0.2,
        );
        assert!(
            (c.tp - counted.tp as f64).abs() < 0.05 * counted.tp as f64,
            "{c:?} {counted:?}"
        );
        assert!(
            (c.fp - counted.fp as f64).abs() < 0.05 * counted.fp as f64,
            "{c:?} {counted:?}"
        );
    }

    /// Concept shift: outcomes drawn from flattened risks. The scores (and
    /// so the estimate) do not move; the realised AUROC falls, and the
    /// window says the estimate missed.
    #[test]
    fn a_change_in_the_outcome_model_is_missed_and_said() {
        let mut rng = crate::rng::stream(12, "cbpe-test", 0);
        let s: Vec<f64> = (0..20_000)
            .map(|i| 1.0 / (1.0 + (-(-2.0 + 3.0 * ((i % 100) as f64 / 100.0 - 0.5))).exp()))
            .collect();
        let y: Vec<Option<bool>> = s.iter().map(|&p| Some(rng.random::<f64>() < p)).collect();
        let basis = Basis::fit(&s, &y, Some(0.2), "test", 1).unwrap();
        let flat: Vec<Option<bool>> = s
            .iter()
            .map(|&p| {
                let z = (p / (1.0 - p)).ln();
                let q = 1.0 / (1.0 + (-(-2.0 + 0.2 * (z + 2.0))).exp());
                Some(rng.random::<f64>() < q)
            })
            .collect();
        let w = basis.estimate(&s, &flat);
        let (e, r) = (
            w.estimated.auroc.unwrap(),
            w.realised.unwrap().auroc.unwrap(),
        );
        assert!(e - r > 0.1, "estimated {e} realised {r}");
        assert!(w.below_band().is_empty());
        assert!(
            w.missed().iter().any(|m| m.starts_with("AUROC")),
            "{:?}",
            w.missed()
        );
    }

    #[test]
    fn shrunk_scores_fall_below_the_band() {
        // Losing a strong input squeezes the scores towards the mean: the
        // estimated AUROC falls and leaves the band.
        let mut rng = crate::rng::stream(13, "cbpe-test", 0);
        let z: Vec<f64> = (0..5000)
            .map(|i| -2.0 + 3.0 * ((i % 100) as f64 / 100.0 - 0.5))
            .collect();
        let s: Vec<f64> = z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
        let y: Vec<Option<bool>> = s.iter().map(|&p| Some(rng.random::<f64>() < p)).collect();
        let basis = Basis::fit(&s, &y, Some(0.15), "test", 1).unwrap();
        let squeezed: Vec<f64> = z
            .iter()
            .map(|z| 1.0 / (1.0 + (-(-2.0 + 0.3 * (z + 2.0))).exp()))
            .collect();
        let w = basis.estimate(&squeezed, &vec![None; squeezed.len()]);
        assert!(w.realised.is_none() && w.labelled == 0);
        assert!(w.below_band().iter().any(|m| m.contains("AUROC")), "{w:?}");
    }
}
