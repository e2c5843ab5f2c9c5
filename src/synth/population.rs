//! One synthetic patient at a time: demographics and identifiers, chronic
//! conditions, a chain of inpatient stays with vitals, labs and medications,
//! and the outcomes drawn from the ground truth.
//!
//! Everything is drawn from the patient's own RNG stream
//! (`rng::stream(seed, "patient", index)`), so a patient is the same whatever
//! thread or shard makes it. Values are made in canonical units here; a
//! site's units and codes are applied afterwards by `site::present`.

use chrono::{Duration, NaiveDateTime};
use rand::Rng as _;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

use super::names::{self, Place};
use super::scenario::Scenario;
use super::truth::{logistic, readmission_logit};
use crate::clinical::analysis::{age_years, features_at_discharge, PatientRecords};
use crate::clinical::codes::{Chronic, Disposition, Measure, DRUGS, LOINC};
use crate::clinical::AnalysisRow;
use crate::clinical::{
    Condition, Encounter, Medication, Observation, Patient, PatientBundle, StayTruth,
};
use crate::rng::{self, Rng};

/// Stops a pathological chain of stays; real patients stay far below it.
const MAX_STAYS: usize = 40;

/// Principal diagnoses of acute stays (ICD-10-CM).
const ACUTE_REASONS: [&str; 9] = [
    "J18.9", "A41.9", "N39.0", "R07.9", "L03.90", "K92.2", "S72.001A", "I63.9", "N17.9",
];

/// The generator for one scenario and seed. Cheap to share between threads.
pub struct Population<'a> {
    pub scenario: &'a Scenario,
    pub seed: u64,
    places: Vec<(&'static Place, f64)>,
    races: Vec<(String, f64)>,
    payers: Vec<(String, f64)>,
    start: NaiveDateTime,
    /// Exclusive end of the data: midnight after the window's last day.
    pub data_end: NaiveDateTime,
}

impl<'a> Population<'a> {
    pub fn new(scenario: &'a Scenario, seed: u64) -> Self {
        let places = scenario
            .population
            .zip3
            .iter()
            .filter_map(|(z, w)| names::PLACES.iter().find(|p| p.zip3 == z).map(|p| (p, *w)))
            .collect();
        let to_vec = |m: &std::collections::BTreeMap<String, f64>| {
            m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>()
        };
        Population {
            scenario,
            seed,
            places,
            races: to_vec(&scenario.population.race),
            payers: to_vec(&scenario.population.payer_under_65),
            start: scenario
                .window
                .start
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
            data_end: (scenario.window.end + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        }
    }

    /// Make patient number `index` (0-based, global across shards).
    pub fn patient(&self, index: u64) -> PatientBundle {
        self.patient_with_features(index).0
    }

    /// Make patient number `index`, with the features known at each
    /// discharge (what the outcome was drawn from, in stay order, label
    /// left 0): `analysis_rows` of the bundle would compute them again.
    pub fn patient_with_features(&self, index: u64) -> (PatientBundle, Vec<AnalysisRow>) {
        self.patient_reusing(index, &mut Spare::default())
    }

    /// `patient_with_features`, filling records that earlier patients
    /// handed back to `spare` instead of allocating new ones. The records
    /// are the same whatever `spare` holds.
    pub fn patient_reusing(
        &self,
        index: u64,
        spare: &mut Spare,
    ) -> (PatientBundle, Vec<AnalysisRow>) {
        let mut rng = rng::stream(self.seed, "patient", index);
        let patient = self.person(index, &mut rng);
        let patient = self.look_alike(index, patient);
        let age0 = age_years(patient.birth_date, self.start.date());
        let conditions = self.conditions(index, &patient, age0, &mut rng);
        let mut bundle = PatientBundle {
            patient: Some(patient),
            conditions,
            observations: std::mem::take(&mut spare.list),
            ..Default::default()
        };
        let features = self.stays(index, age0, &mut bundle, spare, &mut rng);
        (bundle, features)
    }

    /// With the legacy knob `lookalike_patients`, some patients take the
    /// name, sex and (within 60 days) the birth date of the patient before
    /// them: two people a linkage must keep apart. Drawn from a stream of
    /// its own, so a scenario without the knob makes the same patients as
    /// before; the patient before is made again from its own stream (and
    /// is itself a look-alike when its draw says so), so every patient
    /// still depends only on the seed and its index.
    fn look_alike(&self, index: u64, mut p: Patient) -> Patient {
        let share = self
            .scenario
            .legacy
            .as_ref()
            .map_or(0.0, |l| l.lookalike_patients);
        if share <= 0.0 || index == 0 {
            return p;
        }
        let mut rng = rng::stream(self.seed, "lookalike", index);
        if rng.random::<f64>() >= share {
            return p;
        }
        let before = self.person(index - 1, &mut rng::stream(self.seed, "patient", index - 1));
        let before = self.look_alike(index - 1, before);
        p.given_name = before.given_name;
        p.family_name = before.family_name;
        p.sex = before.sex;
        p.birth_date = before.birth_date + Duration::days(rng.random_range(-60..=60));
        p
    }

    fn person(&self, index: u64, rng: &mut Rng) -> Patient {
        let pop = &self.scenario.population;
        let female = rng.random::<f64>() < pop.female_share;
        let age = Normal::new(pop.age_mean, pop.age_sd)
            .map(|d| d.sample(rng))
            .unwrap_or(pop.age_mean)
            .clamp(18.0, 100.0);
        let birth_date =
            self.start.date() - Duration::days((age * 365.25) as i64 + rng.random_range(0..365));
        let race = pick_weighted(&self.races, rng).to_string();
        let hispanic = rng.random::<f64>() < pop.hispanic_share;
        let payer = if age >= 65.0 {
            if rng.random::<f64>() < 0.9 {
                "Medicare"
            } else {
                "Commercial"
            }
            .to_string()
        } else {
            pick_weighted(&self.payers, rng).to_string()
        };
        let place = *pick_weighted(&self.places, rng);
        let given = if female {
            pick(&names::FEMALE_NAMES, rng)
        } else {
            pick(&names::MALE_NAMES, rng)
        };
        let family = pick(&names::FAMILY_NAMES, rng);
        let address_line = format!(
            "{} {} {}",
            rng.random_range(1..9999),
            pick(&names::STREETS, rng),
            pick(&names::STREET_SUFFIXES, rng)
        );
        let zip = format!("{}{:02}", place.zip3, rng.random_range(1..100));
        let phone = format!("{}-555-01{:02}", place.area_code, rng.random_range(0..100));
        let email = format!(
            "{}.{}{}@{}",
            ascii_lower(given),
            ascii_lower(family),
            rng.random_range(1..100),
            pick(&names::EMAIL_DOMAINS, rng)
        );
        // area 900-999 is never issued: realistic shape, never a real SSN
        let ssn = format!(
            "{}-{:02}-{:04}",
            rng.random_range(900..1000),
            rng.random_range(1..100),
            rng.random_range(1..10000)
        );
        // a bijection on 8 digits, so MRNs never collide within a site
        let mrn = format!(
            "{:08}",
            (index.wrapping_mul(48_271).wrapping_add(pop.mrn_offset)) % 100_000_000
        );
        Patient {
            patient_id: patient_id(index),
            mrn,
            given_name: given.to_string(),
            family_name: family.to_string(),
            sex: if female { "F" } else { "M" }.to_string(),
            birth_date,
            race,
            ethnicity: if hispanic {
                "Hispanic or Latino"
            } else {
                "Not Hispanic or Latino"
            }
            .to_string(),
            payer,
            address_line,
            city: place.city.to_string(),
            state: place.state.to_string(),
            zip,
            phone,
            email,
            ssn,
            death_date: None,
        }
    }

    /// Chronic conditions: present before the window with an age/sex
    /// dependent prevalence, or starting during it.
    fn conditions(&self, index: u64, p: &Patient, age: f64, rng: &mut Rng) -> Vec<Condition> {
        let male = p.sex == "M";
        let mut present: Vec<Chronic> = Vec::new();
        let mut out = Vec::new();
        let window_days = (self.data_end - self.start).num_days().max(1);
        for c in Chronic::ALL {
            let has = |x: Chronic| present.contains(&x);
            let prob = (prevalence(
                c,
                age,
                male,
                has(Chronic::Hypertension),
                has(Chronic::Diabetes),
            ) * self.multiplier(c))
            .min(0.95);
            let onset = if rng.random::<f64>() < prob {
                let years_before = rng.random_range(0.3..12.0_f64).min((age - 18.0).max(0.3));
                Some(self.start.date() - Duration::days((years_before * 365.25) as i64))
            } else if rng.random::<f64>() < prob * 0.15 {
                Some(self.start.date() + Duration::days(rng.random_range(0..window_days)))
            } else {
                None
            };
            let Some(onset_date) = onset else { continue };
            present.push(c);
            let (code, display) = self.code_for(c, rng);
            out.push(Condition {
                condition_id: format!("C{index:07}-{:02}", out.len() + 1),
                patient_id: patient_id(index),
                encounter_id: None,
                code: code.to_string(),
                display: display.to_string(),
                onset_date,
            });
        }
        out
    }

    fn multiplier(&self, c: Chronic) -> f64 {
        let m = &self.scenario.conditions;
        match c {
            Chronic::Hypertension => m.hypertension,
            Chronic::Diabetes => m.diabetes,
            Chronic::HeartFailure => m.heart_failure,
            Chronic::Copd => m.copd,
            Chronic::Ckd => m.ckd,
            Chronic::Afib => m.afib,
            Chronic::Depression => m.depression,
        }
    }

    /// The ICD-10-CM code a condition is recorded with, after any coding drift.
    fn code_for(&self, c: Chronic, rng: &mut Rng) -> (&'static str, &'static str) {
        let d = &self.scenario.drift;
        match c {
            Chronic::Diabetes if d.diabetes_specific_codes > 0.0 => {
                if rng.random::<f64>() < d.diabetes_specific_codes {
                    if rng.random::<f64>() < 0.5 {
                        ("E11.65", "Type 2 diabetes mellitus with hyperglycemia")
                    } else {
                        (
                            "E11.22",
                            "Type 2 diabetes mellitus with diabetic chronic kidney disease",
                        )
                    }
                } else {
                    (c.icd10(), c.display())
                }
            }
            Chronic::Hypertension if d.hypertension_i11 > 0.0 => {
                if rng.random::<f64>() < d.hypertension_i11 {
                    ("I11.9", "Hypertensive heart disease without heart failure")
                } else {
                    (c.icd10(), c.display())
                }
            }
            _ => (c.icd10(), c.display()),
        }
    }

    /// The chain of stays: the first uniformly in the window, each next one
    /// either a readmission drawn from the true risk or a later admission
    /// from the background rate, until the data ends or the patient dies.
    fn stays(
        &self,
        index: u64,
        age0: f64,
        b: &mut PatientBundle,
        spare: &mut Spare,
        rng: &mut Rng,
    ) -> Vec<AnalysisRow> {
        let mut features = Vec::new();
        // taken out while the stays are made (and put back at the end) so
        // that it can be read beside the bundle without a copy
        let Some(mut patient) = b.patient.take() else {
            return features;
        };
        // about 30 measurements a stay: room for a typical patient at once
        // rather than growing (and copying) the vector step by step
        b.observations.reserve(96);
        b.medications.reserve(12);
        let frailty: f64 = Normal::new(0.0, 1.0).map(|d| d.sample(rng)).unwrap_or(0.0);
        let window_minutes = (self.data_end - self.start).num_minutes().max(1);
        let mut admit = self.start + Duration::minutes(rng.random_range(0..window_minutes));
        let weight0 = LogNormal::new(if patient.sex == "M" { 4.43 } else { 4.28 }, 0.2)
            .map(|d| d.sample(rng))
            .unwrap_or(80.0);
        for k in 1..=MAX_STAYS {
            if admit >= self.data_end {
                break;
            }
            let present: Vec<Chronic> = b
                .conditions
                .iter()
                .filter(|c| c.onset_date <= admit.date())
                .filter_map(|c| Chronic::from_icd10(&c.code))
                .collect();
            let has = |c: Chronic| present.contains(&c);
            let age = age_years(patient.birth_date, admit.date());
            let acuity = Normal::new(0.15 * present.len() as f64 + 0.2 * frailty, 1.0)
                .map(|d| d.sample(rng))
                .unwrap_or(0.0);
            let reason = if !present.is_empty() && rng.random::<f64>() < 0.45 {
                present[rng.random_range(0..present.len())].icd10()
            } else {
                pick(&ACUTE_REASONS, rng)
            };
            let los_days =
                LogNormal::new((3.0_f64).ln() + 0.25 * acuity + 0.006 * (age - 65.0), 0.55)
                    .map(|d| d.sample(rng))
                    .unwrap_or(3.0)
                    .clamp(0.25, 45.0);
            let mut discharge =
                admit + Duration::minutes(((los_days * 1440.0) / 15.0).round() as i64 * 15);
            let mortality = logistic(
                -5.2 + 0.045 * (age - 65.0)
                    + 0.8 * acuity
                    + 0.4 * f64::from(u8::from(has(Chronic::HeartFailure)))
                    + 0.3 * f64::from(u8::from(has(Chronic::Copd)))
                    + 0.3 * f64::from(u8::from(has(Chronic::Ckd)))
                    + if reason == "A41.9" { 1.0 } else { 0.0 },
            );
            let died = rng.random::<f64>() < mortality;
            let disposition = if died {
                Disposition::Expired
            } else {
                let u: f64 = rng.random();
                let p_ama = 0.015 + if age < 45.0 { 0.03 } else { 0.0 };
                let p_snf = logistic(-3.4 + 0.07 * (age - 65.0) + 0.5 * acuity + 0.05 * los_days);
                let p_hh = 0.12 + 0.1 * f64::from(u8::from(has(Chronic::HeartFailure)));
                if u < p_ama {
                    discharge =
                        admit + Duration::minutes(((discharge - admit).num_minutes() / 2).max(120));
                    Disposition::LeftAma
                } else if u < p_ama + p_snf {
                    Disposition::SkilledNursing
                } else if u < p_ama + p_snf + p_hh {
                    Disposition::HomeHealth
                } else {
                    Disposition::Home
                }
            };
            let stay = Encounter {
                encounter_id: format!("E{index:07}-{k:02}"),
                patient_id: patient.patient_id.clone(),
                class: "IMP".into(),
                admit_time: admit,
                discharge_time: Some(discharge),
                disposition: disposition.name().into(),
                reason_code: reason.into(),
            };
            let ctx = StayContext {
                stay: &stay,
                discharge,
                has_dm: has(Chronic::Diabetes),
                has_hf: has(Chronic::HeartFailure),
                has_copd: has(Chronic::Copd),
                has_ckd: has(Chronic::Ckd),
                has_htn: has(Chronic::Hypertension),
                has_afib: has(Chronic::Afib),
                female: patient.sex == "F",
                age,
                acuity,
                weight: weight0,
                pneumonia: reason == "J18.9",
            };
            let first_observation = b.observations.len();
            self.observations(&ctx, b, spare, rng);
            medications(&ctx, &present, b, rng);
            b.encounters.push(stay);
            let Some(stay) = b.encounters.last() else {
                break;
            };

            let row = {
                let rec = PatientRecords {
                    patient: &patient,
                    encounters: &b.encounters,
                    // only this stay's measurements count, and they are
                    // the last ones made: earlier stays' are skipped here
                    // rather than filtered out again at every discharge
                    observations: &b.observations[first_observation..],
                    conditions: &b.conditions,
                    medications: &b.medications,
                };
                features_at_discharge(&rec, stay, discharge)
            };
            let true_risk = if died {
                0.0
            } else {
                self.scenario
                    .drift
                    .outcome_risk(readmission_logit(&row), discharge.date())
            };
            features.push(row);
            let readmit = !died && rng.random::<f64>() < true_risk;
            b.truth.push(StayTruth {
                encounter_id: stay.encounter_id.clone(),
                patient_id: patient.patient_id.clone(),
                true_risk: round6(true_risk),
                readmit_30d: u8::from(readmit),
                true_mortality_risk: round6(mortality),
                died_in_hospital: u8::from(died),
            });
            if died {
                patient.death_date = Some(discharge.date());
                break;
            }
            admit = if readmit {
                discharge + Duration::minutes(rng.random_range(720..(29 * 1440 + 720)))
            } else {
                // background utilisation: sicker and frailer patients come back sooner
                let rate = self.scenario.utilisation.admissions_per_year
                    * (0.35 * present.len() as f64 + 0.5 * frailty + 0.01 * (age0 - 60.0)).exp();
                let years = Exp::new(rate.max(1e-6))
                    .map(|d| d.sample(rng))
                    .unwrap_or(10.0);
                discharge
                    + Duration::days(31)
                    + Duration::minutes((years.min(50.0) * 365.25 * 1440.0) as i64)
            };
        }
        b.patient = Some(patient);
        features
    }

    fn observations(
        &self,
        ctx: &StayContext,
        b: &mut PatientBundle,
        spare: &mut Spare,
        rng: &mut Rng,
    ) {
        let stay = ctx.stay;
        let los_min = (ctx.discharge - stay.admit_time).num_minutes().max(60);
        let mut n = 0usize;
        let mut push = |b: &mut PatientBundle, m: Measure, at_min: i64, value: f64| {
            n += 1;
            let (lo, hi) = m.plausible();
            // every field is set: nothing of the earlier patient remains
            let mut o = spare.observation();
            write_child_id(&mut o.observation_id, 'O', &stay.encounter_id, n, 3);
            o.patient_id.clone_from(&stay.patient_id);
            o.encounter_id.clone_from(&stay.encounter_id);
            o.time = stay.admit_time + Duration::minutes(at_min.clamp(0, los_min));
            o.code = m.loinc().into();
            o.system = LOINC.into();
            o.display = m.display().into();
            o.value = round_to(value.clamp(lo, hi), decimals(m));
            o.unit = m.unit().into();
            b.observations.push(o);
        };
        // a vital set about once a day, evenly over the stay
        let sets = ((los_min as f64 / 1440.0).ceil() as i64).clamp(1, 4);
        for s in 0..sets {
            let at = 30 + (los_min - 60) * s / sets.max(2).saturating_sub(1).max(1);
            let recovery = at as f64 / los_min as f64;
            for m in [
                Measure::HeartRate,
                Measure::Sbp,
                Measure::Dbp,
                Measure::RespRate,
                Measure::Temperature,
                Measure::Spo2,
                Measure::Weight,
            ] {
                let wanted = match m {
                    Measure::Weight => s == 0 || (s == sets - 1 && rng.random::<f64>() < 0.5),
                    _ => rng.random::<f64>() > 0.03,
                };
                if wanted {
                    let v = vital(m, ctx, recovery, rng);
                    push(b, m, at, v);
                }
            }
        }
        // labs: an admission panel and, for longer stays, one before discharge
        let mut panels = vec![(120_i64, 0.0)];
        if los_min > 36 * 60 && rng.random::<f64>() < 0.6 {
            panels.push((los_min - 360, 0.8));
        }
        for (at, recovery) in panels {
            if rng.random::<f64>() > 0.95 {
                continue;
            }
            for m in [
                Measure::Sodium,
                Measure::Potassium,
                Measure::Creatinine,
                Measure::Glucose,
                Measure::Hemoglobin,
                Measure::Wbc,
            ] {
                let v = lab(m, ctx, recovery, self.scenario.drift.creatinine_shift, rng);
                push(b, m, at, v);
            }
            let bnp_p = if ctx.has_hf {
                0.85
            } else if ctx.has_copd || ctx.pneumonia {
                0.35
            } else {
                0.08
            };
            if rng.random::<f64>() < bnp_p * if recovery > 0.0 { 0.4 } else { 1.0 } {
                let v = lab(Measure::Bnp, ctx, recovery, 0.0, rng);
                push(b, Measure::Bnp, at + 5, v);
            }
            let a1c_p = if ctx.has_dm { 0.75 } else { 0.08 };
            if recovery == 0.0 && rng.random::<f64>() < a1c_p {
                let v = lab(Measure::Hba1c, ctx, recovery, 0.0, rng);
                push(b, Measure::Hba1c, at + 5, v);
            }
        }
    }
}

/// Records of patients already written, kept to be filled again. A
/// patient has some 66 observations of three owned strings each: filling
/// old strings in place (their capacity fits) instead of allocating and
/// freeing them was the largest single saving in the generator's profile.
#[derive(Debug, Default)]
pub struct Spare {
    observations: Vec<Observation>,
    /// An empty vector with capacity, for the next patient's observations.
    list: Vec<Observation>,
}

impl Spare {
    /// Keep the records of a patient that is no longer needed.
    pub fn recycle(&mut self, mut b: PatientBundle) {
        self.observations.append(&mut b.observations);
        if b.observations.capacity() > self.list.capacity() {
            self.list = b.observations;
        }
    }

    /// An old observation to overwrite, or a new empty one.
    fn observation(&mut self) -> Observation {
        self.observations.pop().unwrap_or_else(|| Observation {
            observation_id: String::new(),
            patient_id: String::new(),
            encounter_id: String::new(),
            time: NaiveDateTime::default(),
            code: "".into(),
            system: "".into(),
            display: "".into(),
            value: 0.0,
            unit: "".into(),
        })
    }
}

/// What a stay's values depend on.
struct StayContext<'s> {
    stay: &'s Encounter,
    /// The stay's discharge (every generated stay is discharged).
    discharge: NaiveDateTime,
    has_dm: bool,
    has_hf: bool,
    has_copd: bool,
    has_ckd: bool,
    has_htn: bool,
    has_afib: bool,
    female: bool,
    age: f64,
    acuity: f64,
    weight: f64,
    pneumonia: bool,
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

fn normal(mean: f64, sd: f64, rng: &mut Rng) -> f64 {
    Normal::new(mean, sd).map(|d| d.sample(rng)).unwrap_or(mean)
}

fn lognormal(median: f64, sigma: f64, rng: &mut Rng) -> f64 {
    LogNormal::new(median.max(1e-9).ln(), sigma)
        .map(|d| d.sample(rng))
        .unwrap_or(median)
}

/// A vital sign; `recovery` runs 0 (admission) to 1 (discharge) and fades
/// the acute effect.
fn vital(m: Measure, c: &StayContext, recovery: f64, rng: &mut Rng) -> f64 {
    let a = c.acuity * (1.0 - 0.7 * recovery);
    match m {
        Measure::HeartRate => normal(78.0 + 8.0 * a + 8.0 * flag(c.has_afib), 9.0, rng),
        Measure::Sbp => normal(
            126.0 + 10.0 * flag(c.has_htn) - 6.0 * flag(c.has_hf) - 4.0 * a,
            15.0,
            rng,
        ),
        Measure::Dbp => normal(74.0 + 5.0 * flag(c.has_htn) - 2.0 * a, 9.0, rng),
        Measure::RespRate => normal(17.0 + 2.0 * a + 2.0 * flag(c.has_copd), 2.0, rng),
        Measure::Temperature => normal(36.8 + 0.45 * a.max(0.0), 0.35, rng),
        Measure::Spo2 => normal(
            97.0 - 3.0 * flag(c.has_copd) - 1.5 * flag(c.has_hf) - 1.2 * a,
            1.5,
            rng,
        )
        .min(100.0),
        Measure::Weight => normal(c.weight, 1.0, rng),
        _ => 0.0,
    }
}

/// A laboratory result in canonical units.
fn lab(m: Measure, c: &StayContext, recovery: f64, creatinine_shift: f64, rng: &mut Rng) -> f64 {
    let a = c.acuity * (1.0 - 0.7 * recovery);
    match m {
        Measure::Sodium => normal(139.0 - 2.0 * flag(c.has_hf) - 1.0 * a, 3.5, rng),
        Measure::Potassium => normal(4.2 + 0.3 * flag(c.has_ckd) + 0.1 * a, 0.45, rng),
        Measure::Creatinine => {
            let median = 0.8
                * if c.female { 0.85 } else { 1.0 }
                * (1.0 + 0.006 * (c.age - 50.0).max(0.0))
                * if c.has_ckd { 2.1 } else { 1.0 }
                * (0.12 * a).exp();
            lognormal(median, 0.22, rng) + creatinine_shift
        }
        Measure::Glucose => {
            let mean = if c.has_dm { 165.0 } else { 104.0 } + 12.0 * a.max(0.0);
            lognormal(mean, if c.has_dm { 0.3 } else { 0.15 }, rng)
        }
        Measure::Hemoglobin => normal(
            if c.female { 12.4 } else { 13.6 } - 1.3 * flag(c.has_ckd) - 0.3 * a,
            1.6,
            rng,
        ),
        Measure::Wbc => lognormal(7.5 * (0.18 * a).exp(), 0.3, rng),
        Measure::Bnp => lognormal(
            if c.has_hf { 650.0 } else { 70.0 } * (0.3 * a).exp(),
            0.8,
            rng,
        ),
        Measure::Hba1c => {
            if c.has_dm {
                normal(7.9, 1.4, rng)
            } else {
                normal(5.5, 0.4, rng)
            }
        }
        _ => 0.0,
    }
}

/// Drugs ordered early in a stay, following the conditions present.
fn medications(c: &StayContext, present: &[Chronic], b: &mut PatientBundle, rng: &mut Rng) {
    let stay = c.stay;
    let mut n = 0usize;
    let mut seen_for: Vec<Chronic> = Vec::new();
    for d in DRUGS {
        let p = match d.treats {
            Some(ch) if present.contains(&ch) => {
                if seen_for.contains(&ch) {
                    0.4
                } else {
                    0.8
                }
            }
            Some(_) => 0.0,
            None if d.name == "atorvastatin" => {
                if c.has_dm || c.has_htn || c.has_hf {
                    0.55
                } else {
                    0.12
                }
            }
            None => 0.25,
        };
        if rng.random::<f64>() < p {
            if let Some(ch) = d.treats {
                seen_for.push(ch);
            }
            n += 1;
            b.medications.push(Medication {
                medication_id: child_id('M', &stay.encounter_id, n, 2),
                patient_id: stay.patient_id.clone(),
                encounter_id: stay.encounter_id.clone(),
                rxnorm: d.rxnorm.into(),
                name: d.name.into(),
                authored_time: stay.admit_time + Duration::minutes(rng.random_range(60..240)),
            });
        }
    }
}

/// Prevalence of a chronic condition at `age` in an inpatient population,
/// before the scenario's multiplier.
pub fn prevalence(c: Chronic, age: f64, male: bool, htn: bool, dm: bool) -> f64 {
    let m = flag(male);
    let z = match c {
        Chronic::Hypertension => -0.9 + 0.055 * (age - 50.0),
        Chronic::Diabetes => -1.5 + 0.03 * (age - 50.0) + 0.25 * flag(htn),
        Chronic::HeartFailure => -3.2 + 0.06 * (age - 50.0) + 0.25 * m,
        Chronic::Copd => -2.8 + 0.04 * (age - 50.0),
        Chronic::Ckd => -3.2 + 0.055 * (age - 50.0) + 0.6 * flag(dm) + 0.5 * flag(htn),
        Chronic::Afib => -4.0 + 0.08 * (age - 50.0) + 0.3 * m,
        Chronic::Depression => -1.9 - 0.01 * (age - 50.0) + 0.5 * (1.0 - m),
    };
    logistic(z)
}

/// The id of the `n`th record of a stay: the stay's id with its letter
/// replaced by `letter` and `-n` zero-padded to `width` digits appended
/// (`E0000042-01` -> `O0000042-01-007`). Built by hand: it runs for every
/// observation, and `format!` was a visible share of the generator's time.
pub fn child_id(letter: char, stay_id: &str, n: usize, width: usize) -> String {
    let mut id = String::new();
    write_child_id(&mut id, letter, stay_id, n, width);
    id
}

/// `child_id` written into `id` (cleared first), reusing its memory.
fn write_child_id(id: &mut String, letter: char, stay_id: &str, n: usize, width: usize) {
    let base = stay_id.get(1..).unwrap_or_default();
    let mut digits = [b'0'; 20];
    let mut len = 0;
    let mut rest = n;
    while rest > 0 || len == 0 {
        len += 1;
        digits[digits.len() - len] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let len = len.max(width.min(digits.len()));
    id.clear();
    id.reserve(1 + base.len() + 1 + len);
    id.push(letter);
    id.push_str(base);
    id.push('-');
    for d in &digits[digits.len() - len..] {
        id.push(char::from(*d));
    }
}

/// `P0000042`: the synthetic person id of patient `index`.
pub fn patient_id(index: u64) -> String {
    format!("P{index:07}")
}

fn decimals(m: Measure) -> i32 {
    match m {
        Measure::Creatinine => 2,
        Measure::Temperature
        | Measure::Weight
        | Measure::Hba1c
        | Measure::Potassium
        | Measure::Hemoglobin
        | Measure::Wbc => 1,
        _ => 0,
    }
}

pub fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10_f64.powi(decimals);
    (x * f).round() / f
}

fn round6(x: f64) -> f64 {
    round_to(x, 6)
}

fn pick<T: Copy>(items: &[T], rng: &mut Rng) -> T {
    items[rng.random_range(0..items.len())]
}

fn pick_weighted<'t, T>(items: &'t [(T, f64)], rng: &mut Rng) -> &'t T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for (item, w) in items {
        if u < *w {
            return item;
        }
        u -= w;
    }
    &items[items.len() - 1].0
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => Some('a'),
            'é' | 'è' | 'ë' | 'ê' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ö' | 'ô' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ñ' => Some('n'),
            'ç' => Some('c'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_records_make_the_same_patients() {
        let scenario = Scenario::load("baseline").unwrap();
        let pop = Population::new(&scenario, 5);
        let mut spare = Spare::default();
        let mut reused = 0;
        // in an order where long patients are followed by short ones and
        // back, so recycled strings are both longer and shorter than needed
        for index in [3, 0, 7, 1, 2, 40, 9, 8, 31, 5, 6, 4, 11, 10, 12] {
            reused += spare.observations.len();
            let (b, features) = pop.patient_reusing(index, &mut spare);
            let (fresh, fresh_features) = pop.patient_with_features(index);
            assert_eq!(b, fresh, "patient {index}");
            assert_eq!(features, fresh_features, "patient {index}");
            spare.recycle(b);
        }
        assert!(reused > 200, "only {reused} observations reused");
    }

    #[test]
    fn child_ids_are_the_stay_id_with_a_padded_number() {
        assert_eq!(child_id('O', "E0000042-01", 7, 3), "O0000042-01-007");
        let mut reused = "a much longer id left from before".to_string();
        write_child_id(&mut reused, 'O', "E0000042-01", 7, 3);
        assert_eq!(reused, "O0000042-01-007");
        assert_eq!(child_id('M', "E0000042-12", 10, 2), "M0000042-12-10");
        assert_eq!(child_id('O', "E1-01", 1234, 3), "O1-01-1234");
        assert_eq!(child_id('O', "E1-01", 0, 3), "O1-01-000");
        for n in [0, 1, 9, 10, 99, 100, 999, 1000, 123_456] {
            assert_eq!(
                child_id('O', "E0000001-03", n, 3),
                format!("O{}-{n:03}", "0000001-03")
            );
        }
    }
}
