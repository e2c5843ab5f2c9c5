//! Statistical sanity of the population model on 2,000 baseline patients:
//! the numbers a clinician would check first. Bands are wide enough for
//! sampling noise at this size (standard errors noted) and narrow enough to
//! catch a broken model.

use std::collections::BTreeMap;

use carelab::clinical::{Chronic, Measure, PatientBundle};
use carelab::synth::{Population, Scenario};
use chrono::Datelike;

const N: u64 = 2_000;

fn population() -> (Scenario, Vec<PatientBundle>) {
    let scenario = Scenario::load("baseline").unwrap();
    let pop = Population::new(&scenario, 11);
    let bundles = (0..N).map(|i| pop.patient(i)).collect();
    (scenario, bundles)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn has(b: &PatientBundle, c: Chronic) -> bool {
    b.conditions
        .iter()
        .any(|x| Chronic::from_icd10(&x.code) == Some(c))
}

fn values(bundles: &[&PatientBundle], m: Measure) -> Vec<f64> {
    bundles
        .iter()
        .flat_map(|b| &b.observations)
        .filter(|o| o.code == m.loinc() && o.value.is_finite())
        .map(|o| o.value)
        .collect()
}

#[test]
fn the_population_looks_like_an_adult_inpatient_population() {
    let (scenario, bundles) = population();
    let start = scenario.window.start;
    let age_of = |b: &PatientBundle| {
        let p = b.patient.as_ref().unwrap();
        let mut age = start.year() - p.birth_date.year();
        if start.ordinal() < p.birth_date.ordinal() {
            age -= 1;
        }
        age as f64
    };
    let ages: Vec<f64> = bundles.iter().map(age_of).collect();

    // Age: a normal(mean, sd) clipped to 18..=100; clipping at 18 lifts the
    // mean a little and narrows the sd. SE of the mean ~0.4 years.
    let (m, s) = (mean(&ages), sd(&ages));
    let p = &scenario.population;
    assert!(
        (m - p.age_mean).abs() < 2.0,
        "age mean {m:.1} vs {}",
        p.age_mean
    );
    assert!(s > p.age_sd - 3.0 && s < p.age_sd + 1.0, "age sd {s:.1}");
    assert!(ages.iter().all(|a| (17.0..=101.0).contains(a)));

    // Prevalence by age band: every condition but depression rises with
    // age; depression falls slightly (the model's documented slope).
    let young: Vec<&PatientBundle> = bundles.iter().filter(|b| age_of(b) < 50.0).collect();
    let old: Vec<&PatientBundle> = bundles.iter().filter(|b| age_of(b) >= 70.0).collect();
    assert!(young.len() > 300 && old.len() > 300);
    let share = |group: &[&PatientBundle], c: Chronic| {
        group.iter().filter(|b| has(b, c)).count() as f64 / group.len() as f64
    };
    let mut table = BTreeMap::new();
    for c in Chronic::ALL {
        let (y, o) = (share(&young, c), share(&old, c));
        table.insert(format!("{c:?}"), (y, o));
        if c == Chronic::Depression {
            assert!(o < y + 0.05, "depression {y:.3} -> {o:.3}");
        } else {
            assert!(o > y, "{c:?} does not rise with age: {y:.3} -> {o:.3}");
        }
    }
    let (y, o) = table["Hypertension"];
    assert!(y > 0.15 && o > 0.6, "hypertension {y:.3} / {o:.3}");

    // Labs follow the conditions.
    let diabetic: Vec<&PatientBundle> = bundles
        .iter()
        .filter(|b| has(b, Chronic::Diabetes))
        .collect();
    let not_diabetic: Vec<&PatientBundle> = bundles
        .iter()
        .filter(|b| !has(b, Chronic::Diabetes))
        .collect();
    let (a1c_dm, a1c_no) = (
        mean(&values(&diabetic, Measure::Hba1c)),
        mean(&values(&not_diabetic, Measure::Hba1c)),
    );
    assert!(a1c_dm > a1c_no + 1.0, "HbA1c {a1c_dm:.2} vs {a1c_no:.2}");
    assert!(
        (6.5..10.0).contains(&a1c_dm),
        "HbA1c in diabetics {a1c_dm:.2}"
    );
    assert!((4.8..6.3).contains(&a1c_no), "HbA1c otherwise {a1c_no:.2}");

    let hf: Vec<&PatientBundle> = bundles
        .iter()
        .filter(|b| has(b, Chronic::HeartFailure))
        .collect();
    let no_hf: Vec<&PatientBundle> = bundles
        .iter()
        .filter(|b| !has(b, Chronic::HeartFailure))
        .collect();
    let (bnp_hf, bnp_no) = (
        mean(&values(&hf, Measure::Bnp)),
        mean(&values(&no_hf, Measure::Bnp)),
    );
    assert!(bnp_hf > 2.0 * bnp_no, "BNP {bnp_hf:.0} vs {bnp_no:.0}");

    // Stays: positive length, sane readmission rate (SE ~1 point).
    let stays: Vec<_> = bundles.iter().flat_map(|b| &b.encounters).collect();
    assert!(stays.len() as u64 > N / 2, "{} stays", stays.len());
    assert!(stays.iter().all(|e| e.discharge_time > Some(e.admit_time)));
    let los: Vec<f64> = stays
        .iter()
        .map(|e| (e.discharge_time.unwrap() - e.admit_time).num_hours() as f64 / 24.0)
        .collect();
    let mean_los = mean(&los);
    assert!(
        (2.0..10.0).contains(&mean_los),
        "mean LOS {mean_los:.1} days"
    );
    let truth: Vec<_> = bundles.iter().flat_map(|b| &b.truth).collect();
    let readmit = truth.iter().filter(|t| t.readmit_30d == 1).count() as f64 / truth.len() as f64;
    assert!((0.05..0.30).contains(&readmit), "readmission {readmit:.3}");
    assert!(truth
        .iter()
        .all(|t| (0.0..=1.0).contains(&t.true_risk) && t.true_risk.is_finite()));
}
