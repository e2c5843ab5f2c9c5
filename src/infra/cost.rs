//! What a model costs to train and to run, and what it may save.
//!
//! Every figure comes from a formula printed beside it, so a learner can
//! redo the arithmetic for their own hospital's prices. Compute cost is
//! either cloud (an hourly price) or on-premises (capital spread over the
//! hardware's life at a utilisation, plus power). Savings come from the
//! model's confusion matrix at a threshold on the test split: each true
//! positive flagged gets an intervention that prevents a readmission with
//! some effectiveness; every flagged patient costs an intervention.

use serde::Serialize;

use crate::eval::bootstrap::{bootstrap, Clusters, Interval};
use crate::eval::metrics::{confusion, Confusion};
use crate::eval::run_dir::Prediction;

/// Prices for one way of paying for compute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// Cloud price per hour of the instance training ran on (a GPU
    /// instance's for a run trained on CUDA).
    pub cloud_hourly: f64,
    /// Cloud price per hour of the instance inference was measured on: the
    /// CPU, where CareLab scores, so a GPU price is never paired with a
    /// CPU-measured speed.
    pub inference_cloud_hourly: f64,
    /// Hardware purchase price (on-premises).
    pub capex: f64,
    /// Years the hardware is used.
    pub years: f64,
    /// Fraction of the hours in those years the hardware is busy (0..1].
    pub utilisation: f64,
    /// Power draw while busy, watts.
    pub power_watts: f64,
    /// Power draw while idle (switched on, doing nothing), watts.
    pub idle_watts: f64,
    /// Electricity price per kWh.
    pub kwh_price: f64,
}

/// Hourly cost of on-premises hardware while it is busy: the capital spread
/// over the busy hours, the power of a busy hour, and the power of the idle
/// hours that come with each busy one (a machine busy a quarter of the time
/// idles three hours for every busy hour, and the bill counts them):
/// capex / (years × 8,760 h × u) + (busy W + idle W × (1 − u) / u) / 1,000 × price per kWh.
pub fn on_prem_hourly(p: &Pricing) -> f64 {
    let busy_hours = p.years * 8760.0 * p.utilisation;
    if busy_hours <= 0.0 || p.utilisation <= 0.0 {
        return f64::INFINITY;
    }
    let idle_per_busy_hour = (1.0 - p.utilisation) / p.utilisation;
    p.capex / busy_hours
        + (p.power_watts + p.idle_watts * idle_per_busy_hour) / 1000.0 * p.kwh_price
}

/// Cost of a job that runs `seconds` at `hourly` per hour.
pub fn job_cost(seconds: f64, hourly: f64) -> f64 {
    seconds / 3600.0 * hourly
}

/// Cost of 1,000 predictions at `per_second` predictions a second.
pub fn per_thousand_predictions(per_second: f64, hourly: f64) -> f64 {
    if per_second <= 0.0 {
        return f64::INFINITY;
    }
    job_cost(1000.0 / per_second, hourly)
}

/// Training and inference cost under cloud and on-premises pricing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub train_seconds: f64,
    pub predictions_per_second: f64,
    pub on_prem_hourly: f64,
    pub cloud_train_cost: f64,
    pub on_prem_train_cost: f64,
    pub cloud_per_1000_predictions: f64,
    pub on_prem_per_1000_predictions: f64,
    pub formulas: Vec<String>,
}

pub fn cost_report(train_seconds: f64, predictions_per_second: f64, p: &Pricing) -> CostReport {
    let prem = on_prem_hourly(p);
    CostReport {
        train_seconds,
        predictions_per_second,
        on_prem_hourly: prem,
        cloud_train_cost: job_cost(train_seconds, p.cloud_hourly),
        on_prem_train_cost: job_cost(train_seconds, prem),
        cloud_per_1000_predictions: per_thousand_predictions(
            predictions_per_second,
            p.inference_cloud_hourly,
        ),
        on_prem_per_1000_predictions: per_thousand_predictions(predictions_per_second, prem),
        formulas: vec![
            "on-prem hourly = capex / (years × 8760 × utilisation) + (busy watts + idle watts × (1 − utilisation) / utilisation) / 1000 × price per kWh"
                .into(),
            "run cost = training seconds / 3600 × hourly".into(),
            "cost per 1,000 predictions = (1000 / predictions per second) / 3600 × hourly".into(),
        ],
    }
}

/// The money side of acting on the model's flags.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Economics {
    /// Cost of one readmission to the hospital.
    pub readmission_cost: f64,
    /// Cost of the intervention given to each flagged patient.
    pub intervention_cost: f64,
    /// Fraction of readmissions the intervention prevents among true positives.
    pub effectiveness: f64,
}

/// Net savings per 1,000 discharges, and where they break even.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roi {
    pub threshold: f64,
    pub sensitivity: f64,
    pub ppv: f64,
    pub flagged_per_1000: f64,
    pub true_positives_per_1000: f64,
    pub prevented_per_1000: f64,
    pub savings_per_1000: f64,
    pub intervention_spend_per_1000: f64,
    pub net_per_1000: f64,
    /// Net savings per pound/dollar spent on interventions.
    pub roi: f64,
    /// Intervention cost at which net savings are zero: PPV × effectiveness × readmission cost.
    pub break_even_intervention_cost: f64,
    /// Effectiveness needed for net savings of zero: intervention cost / (PPV × readmission cost).
    pub break_even_effectiveness: f64,
}

/// ROI of acting on flags at `threshold` with confusion counts `c`:
/// flagged = 1000 × (TP+FP)/n; prevented = 1000 × TP/n × effectiveness;
/// net = prevented × readmission cost − flagged × intervention cost.
pub fn roi(threshold: f64, c: &Confusion, e: &Economics) -> Roi {
    let n = (c.tp + c.fp + c.tn + c.fn_).max(1) as f64;
    let flagged = 1000.0 * (c.tp + c.fp) as f64 / n;
    let tp = 1000.0 * c.tp as f64 / n;
    let prevented = tp * e.effectiveness;
    let savings = prevented * e.readmission_cost;
    let spend = flagged * e.intervention_cost;
    let ppv = c.ppv.unwrap_or(0.0);
    Roi {
        threshold,
        sensitivity: c.sensitivity.unwrap_or(0.0),
        ppv,
        flagged_per_1000: flagged,
        true_positives_per_1000: tp,
        prevented_per_1000: prevented,
        savings_per_1000: savings,
        intervention_spend_per_1000: spend,
        net_per_1000: savings - spend,
        roi: if spend > 0.0 {
            (savings - spend) / spend
        } else {
            0.0
        },
        break_even_intervention_cost: ppv * e.effectiveness * e.readmission_cost,
        break_even_effectiveness: if ppv > 0.0 && e.readmission_cost > 0.0 {
            e.intervention_cost / (ppv * e.readmission_cost)
        } else {
            f64::INFINITY
        },
    }
}

/// ROI at every threshold from 0.01 to 0.99 in steps of 0.01.
pub fn roi_curve(scores: &[f64], labels: &[bool], e: &Economics) -> Vec<Roi> {
    (1..100)
        .map(|i| {
            let t = f64::from(i) / 100.0;
            roi(t, &confusion(scores, labels, t), e)
        })
        .collect()
}

/// The threshold a care team should use, chosen on data that did not
/// choose anything else about the model (the calibration split, never the
/// validation split that chose the epoch nor the test split): the highest
/// net savings among thresholds that flag at most `capacity` (a share, 0..1)
/// of discharges; of thresholds that tie (no score lies between them), the
/// lowest. `None` when no
/// threshold fits the capacity or none saves money.
pub fn choose_threshold(curve: &[Roi], capacity: f64) -> Option<Roi> {
    curve
        .iter()
        .filter(|r| r.flagged_per_1000 <= capacity * 1000.0 + 1e-9)
        .filter(|r| r.net_per_1000 > 0.0)
        .fold(None, |best: Option<&Roi>, r| match best {
            Some(b) if b.net_per_1000 >= r.net_per_1000 => Some(b),
            _ => Some(r),
        })
        .cloned()
}

/// 95% intervals of the ROI figures at one threshold, from a bootstrap that
/// resamples patients (all of a patient's stays together), as evaluation's
/// intervals do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoiIntervals {
    pub replicates: usize,
    pub stays: usize,
    pub patients: usize,
    pub flagged_per_1000: Option<Interval>,
    pub net_per_1000: Option<Interval>,
    pub roi: Option<Interval>,
    pub break_even_intervention_cost: Option<Interval>,
    pub break_even_effectiveness: Option<Interval>,
    /// Lower and upper net savings per 1,000 at each threshold of the
    /// curve (0.01 to 0.99): the band of the plot.
    pub band: Vec<(f64, Option<Interval>)>,
}

/// Bootstrap the ROI at `threshold` and the whole net-savings curve.
pub fn roi_intervals(
    rows: &[&Prediction],
    threshold: f64,
    e: &Economics,
    replicates: usize,
    seed: u64,
) -> RoiIntervals {
    let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
    let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
    let clusters = Clusters::patients(rows);
    let at = bootstrap(
        &scores,
        &labels,
        &clusters,
        replicates,
        seed,
        "cost-roi/chosen",
        5,
        |s, y| {
            let r = roi(threshold, &confusion(s, y, threshold), e);
            vec![
                Some(r.flagged_per_1000),
                Some(r.net_per_1000),
                Some(r.roi),
                Some(r.break_even_intervention_cost),
                Some(r.break_even_effectiveness),
            ]
        },
    );
    let thresholds: Vec<f64> = (1..100).map(|i| f64::from(i) / 100.0).collect();
    let band = bootstrap(
        &scores,
        &labels,
        &clusters,
        replicates,
        seed,
        "cost-roi/curve",
        thresholds.len(),
        |s, y| {
            thresholds
                .iter()
                .map(|&t| Some(roi(t, &confusion(s, y, t), e).net_per_1000))
                .collect()
        },
    );
    RoiIntervals {
        replicates,
        stays: rows.len(),
        patients: clusters.len(),
        flagged_per_1000: at[0],
        net_per_1000: at[1],
        roi: at[2],
        break_even_intervention_cost: at[3],
        break_even_effectiveness: at[4],
        band: thresholds.into_iter().zip(band).collect(),
    }
}

/// The net-savings curve as a plot (SVG/PNG through the evaluation plots),
/// with its 95% band when `band` holds one, in `currency`.
pub fn roi_plot(
    curve: &[Roi],
    band: &[(f64, Option<Interval>)],
    chosen: f64,
    currency: &str,
) -> crate::eval::plots::Plot {
    use crate::eval::plots::{Plot, Series};
    use plotters::style::RGBColor;
    let points: Vec<(f64, f64)> = curve
        .iter()
        .map(|r| (r.threshold, r.net_per_1000))
        .collect();
    let lower: Vec<(f64, f64)> = band
        .iter()
        .filter_map(|(t, ci)| ci.map(|c| (*t, c.lower)))
        .collect();
    let upper: Vec<(f64, f64)> = band
        .iter()
        .filter_map(|(t, ci)| ci.map(|c| (*t, c.upper)))
        .collect();
    let (lo, hi) = points
        .iter()
        .chain(&lower)
        .chain(&upper)
        .fold((0.0f64, 0.0f64), |(lo, hi), &(_, y)| (lo.min(y), hi.max(y)));
    let pad = ((hi - lo) * 0.05).max(1.0);
    let mut series = vec![Series {
        name: "net savings".into(),
        points,
        color: RGBColor(31, 119, 180),
        markers: false,
    }];
    if !lower.is_empty() {
        for (name, points) in [("95% interval (patients resampled)", lower), ("", upper)] {
            series.push(Series {
                name: name.into(),
                points,
                color: RGBColor(158, 202, 225),
                markers: false,
            });
        }
    }
    Plot {
        file_stem: "roi".into(),
        title: "Net savings per 1,000 discharges by threshold".into(),
        x_label: "threshold".into(),
        y_label: format!("net savings per 1,000 discharges ({currency})"),
        x_range: (0.0, 1.0),
        y_range: (lo - pad, hi + pad),
        series: series
            .into_iter()
            .chain([
                Series {
                    name: "break even".into(),
                    points: vec![(0.0, 0.0), (1.0, 0.0)],
                    color: RGBColor(127, 127, 127),
                    markers: false,
                },
                Series {
                    name: format!("chosen threshold {chosen:.2}"),
                    points: vec![(chosen, lo - pad), (chosen, hi + pad)],
                    color: RGBColor(214, 39, 40),
                    markers: false,
                },
            ])
            .collect(),
        legend_top: true,
        x_names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing() -> Pricing {
        Pricing {
            cloud_hourly: 3.60,
            inference_cloud_hourly: 3.60,
            capex: 8760.0,
            years: 2.0,
            utilisation: 0.5,
            power_watts: 500.0,
            idle_watts: 0.0,
            kwh_price: 0.20,
        }
    }

    #[test]
    fn cost_formulas_by_hand() {
        let p = pricing();
        // 8760 / (2 × 8760 × 0.5) = 1.0 per hour, + 0.5 kW × 0.20 = 0.10
        assert!((on_prem_hourly(&p) - 1.10).abs() < 1e-12);
        // 30 minutes at 3.60/h = 1.80
        assert!((job_cost(1800.0, 3.60) - 1.80).abs() < 1e-12);
        // 1,000 predictions at 100/s = 10 s at 3.60/h = 0.01
        assert!((per_thousand_predictions(100.0, 3.60) - 0.01).abs() < 1e-12);
        let r = cost_report(1800.0, 100.0, &p);
        assert!((r.on_prem_train_cost - 0.55).abs() < 1e-12);
        assert!(per_thousand_predictions(0.0, 1.0).is_infinite());
        // Idle power: busy half the time, each busy hour brings one idle
        // hour at 100 W: 1.0 + (500 + 100) / 1000 × 0.20 = 1.12 an hour.
        let idle = Pricing {
            idle_watts: 100.0,
            ..p
        };
        assert!((on_prem_hourly(&idle) - 1.12).abs() < 1e-12);
        // Busy a tenth of the time: nine idle hours per busy hour.
        let rare = Pricing {
            utilisation: 0.1,
            idle_watts: 100.0,
            ..p
        };
        let expected = 8760.0 / (2.0 * 8760.0 * 0.1) + (500.0 + 100.0 * 9.0) / 1000.0 * 0.20;
        assert!((on_prem_hourly(&rare) - expected).abs() < 1e-12);
        // Inference is priced at its own (CPU) rate, training at the run's.
        let gpu_run = Pricing {
            cloud_hourly: 4.0,
            inference_cloud_hourly: 0.2,
            ..p
        };
        let r = cost_report(3600.0, 100.0, &gpu_run);
        assert!((r.cloud_train_cost - 4.0).abs() < 1e-12);
        assert!(
            (r.cloud_per_1000_predictions - per_thousand_predictions(100.0, 0.2)).abs() < 1e-15
        );
    }

    #[test]
    fn roi_by_hand() {
        // n = 1000: 60 TP, 140 FP, 90 FN, 710 TN; PPV 0.3, sensitivity 0.4
        let scores: Vec<f64> = (0..1000).map(|i| if i < 200 { 0.9 } else { 0.1 }).collect();
        let labels: Vec<bool> = (0..1000)
            .map(|i| i < 60 || (200..290).contains(&i))
            .collect();
        let c = confusion(&scores, &labels, 0.2);
        assert_eq!((c.tp, c.fp, c.fn_, c.tn), (60, 140, 90, 710));
        let e = Economics {
            readmission_cost: 15_000.0,
            intervention_cost: 500.0,
            effectiveness: 0.25,
        };
        let r = roi(0.2, &c, &e);
        assert!((r.ppv - 0.3).abs() < 1e-12 && (r.sensitivity - 0.4).abs() < 1e-12);
        assert!((r.flagged_per_1000 - 200.0).abs() < 1e-9);
        assert!((r.prevented_per_1000 - 15.0).abs() < 1e-9);
        // 15 × 15,000 − 200 × 500 = 225,000 − 100,000
        assert!((r.net_per_1000 - 125_000.0).abs() < 1e-6);
        assert!((r.roi - 1.25).abs() < 1e-12);
        // 0.3 × 0.25 × 15,000 = 1,125
        assert!((r.break_even_intervention_cost - 1125.0).abs() < 1e-9);
        // 500 / (0.3 × 15,000)
        assert!((r.break_even_effectiveness - 500.0 / 4500.0).abs() < 1e-12);
        // at the break-even cost the net is zero
        let even = roi(
            0.2,
            &c,
            &Economics {
                intervention_cost: 1125.0,
                ..e
            },
        );
        assert!(even.net_per_1000.abs() < 1e-6);
        let curve = roi_curve(&scores, &labels, &e);
        assert_eq!(curve.len(), 99);
        assert!(
            (curve[19].net_per_1000 - 125_000.0).abs() < 1e-6,
            "t = 0.20"
        );
        // above every score nobody is flagged: nothing spent, nothing saved
        assert_eq!(curve[98].net_per_1000, 0.0);
    }

    #[test]
    fn the_chosen_threshold_is_the_best_within_capacity_and_the_lowest_of_ties() {
        // Scores 0.9 (200 stays, 60 events) and 0.1 (800 stays, 90 events):
        // every threshold in 0.11..=0.90 flags the same 200 stays.
        let scores: Vec<f64> = (0..1000).map(|i| if i < 200 { 0.9 } else { 0.1 }).collect();
        let labels: Vec<bool> = (0..1000)
            .map(|i| i < 60 || (200..290).contains(&i))
            .collect();
        let e = Economics {
            readmission_cost: 15_000.0,
            intervention_cost: 500.0,
            effectiveness: 0.25,
        };
        let curve = roi_curve(&scores, &labels, &e);
        let best = choose_threshold(&curve, 1.0).unwrap();
        assert!((best.threshold - 0.11).abs() < 1e-12, "{}", best.threshold);
        assert!((best.net_per_1000 - 125_000.0).abs() < 1e-6);
        // a team that can call 10% of discharges cannot run it
        assert_eq!(choose_threshold(&curve, 0.1), None);
        // and an intervention that costs more than it saves is never chosen
        let dear = Economics {
            intervention_cost: 5_000.0,
            ..e
        };
        assert_eq!(
            choose_threshold(&roi_curve(&scores, &labels, &dear), 1.0),
            None
        );
    }
}
