//! A small seeded analysis table with a known logistic signal, for tests,
//! benchmarks and the guide when no generated dataset is at hand.
//!
//! The true log-odds of readmission are
//!
//! ```text
//! -2.2 + 0.03 (age - 65) + 0.45 prior + 0.9 chf + 0.5 copd + 0.4 ckd
//!      + 0.08 (los - 4) + 0.7 [creatinine > 2] + 0.6 [hr > 100 and sbp < 100]
//! ```
//!
//! so a linear model captures most of it and an MLP a little more.

use rand::Rng as _;

use crate::clinical::AnalysisRow;
use crate::rng;

/// `n` stays of about `n / 2` patients (each has one or two stays).
pub fn toy_table(n: usize, seed: u64) -> Vec<AnalysisRow> {
    let mut rows = Vec::with_capacity(n);
    let mut patient = 0usize;
    let mut i = 0usize;
    while i < n {
        let mut rng = rng::stream(seed, "toy-patient", patient as u64);
        let stays = if rng.random_bool(0.5) { 2 } else { 1 };
        let age0: f64 = rng.random_range(20.0..95.0);
        let sex = if rng.random_bool(0.52) { "F" } else { "M" };
        let race = ["White", "Black", "Hispanic", "Asian", "Other"][rng.random_range(0..5)];
        let payer = ["Medicare", "Medicaid", "Commercial", "SelfPay"][rng.random_range(0..4)];
        let chronic: Vec<f64> = [0.4, 0.2, 0.12, 0.1, 0.1, 0.08, 0.15]
            .iter()
            .map(|&p| f64::from(u8::from(rng.random_bool(p))))
            .collect();
        for s in 0..stays.min(n - i) {
            rows.push(stay(
                &mut rng, i, patient, s, age0, sex, race, payer, &chronic,
            ));
            i += 1;
        }
        patient += 1;
    }
    rows
}

#[allow(clippy::too_many_arguments)]
fn stay(
    rng: &mut rng::Rng,
    i: usize,
    patient: usize,
    s: usize,
    age0: f64,
    sex: &str,
    race: &str,
    payer: &str,
    chronic: &[f64],
) -> AnalysisRow {
    let c = |k: usize| chronic.get(k).copied().unwrap_or(0.0);
    let age = (age0 + s as f64 * 0.5).round();
    let prior = f64::from(rng.random_range(0u8..4) * u8::from(rng.random_bool(0.5))) + s as f64;
    let los = f64::from(rng.random_range(1u8..15));
    // A value, missing with probability p.
    macro_rules! maybe {
        ($p:expr, $v:expr) => {{
            let v: f64 = $v;
            (!rng.random_bool($p)).then_some(v)
        }};
    }
    let hr: f64 = rng.random_range(55.0..125.0);
    let sbp: f64 = rng.random_range(85.0..170.0);
    let creat: f64 = rng.random_range(0.5..1.6) + c(4) * rng.random_range(0.0..2.5);
    let logit = -2.2
        + 0.03 * (age - 65.0)
        + 0.45 * prior
        + 0.9 * c(2)
        + 0.5 * c(3)
        + 0.4 * c(4)
        + 0.08 * (los - 4.0)
        + if creat > 2.0 { 0.7 } else { 0.0 }
        + if hr > 100.0 && sbp < 100.0 { 0.6 } else { 0.0 };
    let label = rng.random_bool(1.0 / (1.0 + (-logit).exp()));
    let n_meds = f64::from(rng.random_range(0u8..12));
    AnalysisRow {
        stay_id: format!("S{i:07}"),
        patient_id: format!("P{patient:07}"),
        admit_time: day(i, 0),
        discharge_time: day(i, los as usize),
        age,
        sex: sex.into(),
        race_ethnicity: race.into(),
        payer: payer.into(),
        los_days: los,
        prior_admissions_365d: prior,
        days_since_last_discharge: (prior > 0.0).then(|| f64::from(rng.random_range(3u16..365))),
        disposition: ["Home", "HomeHealth", "SNF"][rng.random_range(0..3)].into(),
        htn: c(0),
        t2dm: c(1),
        chf: c(2),
        copd: c(3),
        ckd: c(4),
        afib: c(5),
        depression: c(6),
        n_medications: n_meds,
        hr: maybe!(0.05, hr.round()),
        sbp: maybe!(0.05, sbp.round()),
        dbp: maybe!(0.05, (sbp * 0.6).round()),
        rr: maybe!(0.1, rng.random_range(12.0f64..26.0).round()),
        temp_c: maybe!(0.1, rng.random_range(36.0..38.5)),
        spo2: maybe!(0.05, rng.random_range(88.0f64..100.0).round()),
        weight_kg: maybe!(0.2, rng.random_range(45.0..130.0)),
        hba1c: maybe!(0.6, rng.random_range(4.8..10.0) + c(1)),
        glucose: maybe!(0.2, rng.random_range(70.0..220.0)),
        creatinine: maybe!(0.15, creat),
        sodium: maybe!(0.15, rng.random_range(128.0f64..146.0).round()),
        potassium: maybe!(0.15, rng.random_range(3.2..5.4)),
        hemoglobin: maybe!(0.15, rng.random_range(8.0..16.0)),
        wbc: maybe!(0.15, rng.random_range(3.5..15.0)),
        bnp: maybe!(0.5, rng.random_range(20.0..400.0) + c(2) * 500.0),
        readmit_30d: u8::from(label),
        extra: Default::default(),
    }
}

/// Stays spread over time, one every ~30 minutes from 2023-01-01, so that a
/// temporal split has a clear order.
fn day(i: usize, plus_days: usize) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2023, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let t =
        base + chrono::Duration::minutes(30 * i as i64) + chrono::Duration::days(plus_days as i64);
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}
