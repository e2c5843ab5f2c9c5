//! The analysis table for the readmission task: one row per index discharge,
//! built only from what was known at discharge, plus the 30-day label.
//!
//! Index discharges are inpatient stays the patient left alive; a stay whose
//! 30-day follow-up runs past the end of the data is left out (its label is
//! unknown, not "no"). Measurements are the last value taken during the stay,
//! in the canonical unit; conditions count when their onset is on or before
//! the discharge date; prior utilisation counts stays admitted in the 365
//! days before this admission. Nothing dated after discharge is read, except
//! the admissions that define the label.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::codes::{Chronic, Disposition, Measure};
use super::records::{Condition, Encounter, Medication, Observation, Patient};

/// One row of the analysis table. Column order is field order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnalysisRow {
    pub stay_id: String,
    pub patient_id: String,
    pub admit_time: String,
    pub discharge_time: String,
    // demographics at discharge
    pub age: f64,
    pub sex: String,
    pub race_ethnicity: String,
    pub payer: String,
    // the stay and utilisation before it
    pub los_days: f64,
    pub prior_admissions_365d: f64,
    pub days_since_last_discharge: Option<f64>,
    pub disposition: String,
    // conditions known at discharge (0/1)
    pub htn: f64,
    pub t2dm: f64,
    pub chf: f64,
    pub copd: f64,
    pub ckd: f64,
    pub afib: f64,
    pub depression: f64,
    pub n_medications: f64,
    // last value in the stay, canonical units; empty when not measured
    pub hr: Option<f64>,
    pub sbp: Option<f64>,
    pub dbp: Option<f64>,
    pub rr: Option<f64>,
    pub temp_c: Option<f64>,
    pub spo2: Option<f64>,
    pub weight_kg: Option<f64>,
    pub hba1c: Option<f64>,
    pub glucose: Option<f64>,
    pub creatinine: Option<f64>,
    pub sodium: Option<f64>,
    pub potassium: Option<f64>,
    pub hemoglobin: Option<f64>,
    pub wbc: Option<f64>,
    pub bnp: Option<f64>,
    /// Label: readmitted within 30 days of discharge.
    pub readmit_30d: u8,
    /// Features beyond the data dictionary, by name: what a site's own
    /// features query returned (`train --features-sql`). Not a column of
    /// the table; a missing name is a missing value.
    #[serde(skip)]
    pub extra: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A number, possibly missing.
    Numeric,
    /// 0 or 1.
    Binary,
    /// A category named by a string.
    Categorical,
}

/// The model's input features, in order, with their kinds. The identifier,
/// time and label columns of `AnalysisRow` are not features.
pub const FEATURES: [(&str, FeatureKind); 33] = [
    ("age", FeatureKind::Numeric),
    ("sex", FeatureKind::Categorical),
    ("race_ethnicity", FeatureKind::Categorical),
    ("payer", FeatureKind::Categorical),
    ("los_days", FeatureKind::Numeric),
    ("prior_admissions_365d", FeatureKind::Numeric),
    ("days_since_last_discharge", FeatureKind::Numeric),
    ("disposition", FeatureKind::Categorical),
    ("htn", FeatureKind::Binary),
    ("t2dm", FeatureKind::Binary),
    ("chf", FeatureKind::Binary),
    ("copd", FeatureKind::Binary),
    ("ckd", FeatureKind::Binary),
    ("afib", FeatureKind::Binary),
    ("depression", FeatureKind::Binary),
    ("n_medications", FeatureKind::Numeric),
    ("hr", FeatureKind::Numeric),
    ("sbp", FeatureKind::Numeric),
    ("dbp", FeatureKind::Numeric),
    ("rr", FeatureKind::Numeric),
    ("temp_c", FeatureKind::Numeric),
    ("spo2", FeatureKind::Numeric),
    ("weight_kg", FeatureKind::Numeric),
    ("hba1c", FeatureKind::Numeric),
    ("glucose", FeatureKind::Numeric),
    ("creatinine", FeatureKind::Numeric),
    ("sodium", FeatureKind::Numeric),
    ("potassium", FeatureKind::Numeric),
    ("hemoglobin", FeatureKind::Numeric),
    ("wbc", FeatureKind::Numeric),
    ("bnp", FeatureKind::Numeric),
    // kept last so adding a measure does not renumber the others
    ("age_over_75", FeatureKind::Binary),
    ("polypharmacy", FeatureKind::Binary),
];

/// A feature's value: a number (absent when missing) or a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureValue {
    Num(Option<f64>),
    Cat(String),
}

impl AnalysisRow {
    /// The value of a feature named in `FEATURES`, or of an extra one this
    /// row carries; `None` for an unknown name.
    pub fn feature(&self, name: &str) -> Option<FeatureValue> {
        use FeatureValue::{Cat, Num};
        let v = match name {
            "age" => Num(Some(self.age)),
            "sex" => Cat(self.sex.clone()),
            "race_ethnicity" => Cat(self.race_ethnicity.clone()),
            "payer" => Cat(self.payer.clone()),
            "los_days" => Num(Some(self.los_days)),
            "prior_admissions_365d" => Num(Some(self.prior_admissions_365d)),
            "days_since_last_discharge" => Num(self.days_since_last_discharge),
            "disposition" => Cat(self.disposition.clone()),
            "htn" => Num(Some(self.htn)),
            "t2dm" => Num(Some(self.t2dm)),
            "chf" => Num(Some(self.chf)),
            "copd" => Num(Some(self.copd)),
            "ckd" => Num(Some(self.ckd)),
            "afib" => Num(Some(self.afib)),
            "depression" => Num(Some(self.depression)),
            "n_medications" => Num(Some(self.n_medications)),
            "age_over_75" => Num(Some(f64::from(u8::from(self.age > 75.0)))),
            "polypharmacy" => Num(Some(f64::from(u8::from(self.n_medications >= 5.0)))),
            other => match self.measure_by_feature(other) {
                Some(v) => Num(v),
                None => Num(Some(*self.extra.get(other)?)),
            },
        };
        Some(v)
    }

    fn measure_by_feature(&self, name: &str) -> Option<Option<f64>> {
        let m = Measure::ALL.into_iter().find(|m| m.feature() == name)?;
        Some(self.measure(m))
    }

    pub fn measure(&self, m: Measure) -> Option<f64> {
        match m {
            Measure::HeartRate => self.hr,
            Measure::Sbp => self.sbp,
            Measure::Dbp => self.dbp,
            Measure::RespRate => self.rr,
            Measure::Temperature => self.temp_c,
            Measure::Spo2 => self.spo2,
            Measure::Weight => self.weight_kg,
            Measure::Hba1c => self.hba1c,
            Measure::Glucose => self.glucose,
            Measure::Creatinine => self.creatinine,
            Measure::Sodium => self.sodium,
            Measure::Potassium => self.potassium,
            Measure::Hemoglobin => self.hemoglobin,
            Measure::Wbc => self.wbc,
            Measure::Bnp => self.bnp,
        }
    }

    fn measure_mut(&mut self, m: Measure) -> &mut Option<f64> {
        match m {
            Measure::HeartRate => &mut self.hr,
            Measure::Sbp => &mut self.sbp,
            Measure::Dbp => &mut self.dbp,
            Measure::RespRate => &mut self.rr,
            Measure::Temperature => &mut self.temp_c,
            Measure::Spo2 => &mut self.spo2,
            Measure::Weight => &mut self.weight_kg,
            Measure::Hba1c => &mut self.hba1c,
            Measure::Glucose => &mut self.glucose,
            Measure::Creatinine => &mut self.creatinine,
            Measure::Sodium => &mut self.sodium,
            Measure::Potassium => &mut self.potassium,
            Measure::Hemoglobin => &mut self.hemoglobin,
            Measure::Wbc => &mut self.wbc,
            Measure::Bnp => &mut self.bnp,
        }
    }

    pub fn condition(&self, c: Chronic) -> bool {
        let v = match c {
            Chronic::Hypertension => self.htn,
            Chronic::Diabetes => self.t2dm,
            Chronic::HeartFailure => self.chf,
            Chronic::Copd => self.copd,
            Chronic::Ckd => self.ckd,
            Chronic::Afib => self.afib,
            Chronic::Depression => self.depression,
        };
        v > 0.5
    }

    fn condition_mut(&mut self, c: Chronic) -> &mut f64 {
        match c {
            Chronic::Hypertension => &mut self.htn,
            Chronic::Diabetes => &mut self.t2dm,
            Chronic::HeartFailure => &mut self.chf,
            Chronic::Copd => &mut self.copd,
            Chronic::Ckd => &mut self.ckd,
            Chronic::Afib => &mut self.afib,
            Chronic::Depression => &mut self.depression,
        }
    }

    /// Age band used for subgroups and k-anonymity.
    pub fn age_band(&self) -> &'static str {
        age_band(self.age)
    }
}

pub fn age_band(age: f64) -> &'static str {
    match age {
        a if a < 40.0 => "18-39",
        a if a < 65.0 => "40-64",
        a if a < 80.0 => "65-79",
        _ => "80+",
    }
}

/// Combined race and ethnicity category used in the analysis table.
pub fn race_ethnicity(race: &str, ethnicity: &str) -> String {
    if ethnicity.eq_ignore_ascii_case("Hispanic or Latino") {
        return "Hispanic".into();
    }
    match race {
        "White" => "White",
        "Black or African American" => "Black",
        "Asian" => "Asian",
        _ => "Other",
    }
    .into()
}

/// One patient's clean records, each slice in any order.
#[derive(Debug, Clone, Copy)]
pub struct PatientRecords<'a> {
    pub patient: &'a Patient,
    pub encounters: &'a [Encounter],
    pub observations: &'a [Observation],
    pub conditions: &'a [Condition],
    pub medications: &'a [Medication],
}

/// Whole years between two dates.
pub fn age_years(birth: NaiveDate, on: NaiveDate) -> f64 {
    use chrono::Datelike;
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    f64::from(years.max(0))
}

/// The features of stay `stay` known at its discharge at `discharge` (the
/// label is left 0). The generator calls this with a patient's history so
/// far to draw the outcome; ingest calls it through `analysis_rows`.
pub fn features_at_discharge(
    rec: &PatientRecords,
    stay: &Encounter,
    discharge: NaiveDateTime,
) -> AnalysisRow {
    let p = rec.patient;
    let mut row = AnalysisRow {
        stay_id: stay.encounter_id.clone(),
        patient_id: p.patient_id.clone(),
        admit_time: super::records::format_datetime(&stay.admit_time),
        discharge_time: super::records::format_datetime(&discharge),
        age: age_years(p.birth_date, discharge.date()),
        sex: p.sex.clone(),
        race_ethnicity: race_ethnicity(&p.race, &p.ethnicity),
        payer: p.payer.clone(),
        los_days: round4((discharge - stay.admit_time).num_minutes() as f64 / 1440.0),
        disposition: stay.disposition.clone(),
        ..Default::default()
    };

    let year_before = stay.admit_time - Duration::days(365);
    // prior stays: inpatient ones discharged before this admission (an
    // export also holds visits of other classes, which are not admissions)
    let earlier = rec.encounters.iter().filter_map(|e| {
        let ended = e.discharge_time?;
        (e.class == "IMP" && e.encounter_id != stay.encounter_id && ended <= stay.admit_time)
            .then_some((e.admit_time, ended))
    });
    row.prior_admissions_365d = earlier
        .clone()
        .filter(|(admit, _)| *admit >= year_before)
        .count() as f64;
    row.days_since_last_discharge = earlier
        .map(|(_, ended)| ended)
        .max()
        .map(|last| round4((stay.admit_time - last).num_minutes() as f64 / 1440.0));

    for c in rec
        .conditions
        .iter()
        .filter(|c| c.onset_date <= discharge.date())
    {
        if let Some(chronic) = Chronic::from_icd10(&c.code) {
            *row.condition_mut(chronic) = 1.0;
        }
    }

    let mut drugs: Vec<&str> = rec
        .medications
        .iter()
        .filter(|m| m.authored_time <= discharge)
        .map(|m| m.rxnorm.as_str())
        .collect();
    drugs.sort_unstable();
    drugs.dedup();
    row.n_medications = drugs.len() as f64;

    // Last value of each measure during the stay; ties broken by id so the
    // result does not depend on input order.
    let mut last: Vec<Option<(NaiveDateTime, &str, f64)>> = vec![None; Measure::ALL.len()];
    for o in rec.observations.iter().filter(|o| {
        o.encounter_id == stay.encounter_id && o.time >= stay.admit_time && o.time <= discharge
    }) {
        let Some(m) = Measure::from_loinc(&o.code) else {
            continue;
        };
        let slot = &mut last[m as usize];
        let newer = match slot {
            None => true,
            Some((t, id, _)) => (o.time, o.observation_id.as_str()) > (*t, *id),
        };
        if newer {
            *slot = Some((o.time, o.observation_id.as_str(), o.value));
        }
    }
    for m in Measure::ALL {
        *row.measure_mut(m) = last[m as usize].map(|(_, _, v)| v);
    }
    row
}

/// True when another stay of the patient (an inpatient encounter, open or
/// not: an emergency or clinic visit is not a readmission) is admitted
/// within 30 days after `discharge`, `stay`'s discharge.
pub fn readmitted_within_30d(
    encounters: &[Encounter],
    stay: &Encounter,
    discharge: NaiveDateTime,
) -> bool {
    let end = discharge + Duration::days(30);
    encounters.iter().any(|e| {
        e.encounter_id != stay.encounter_id
            && e.class == "IMP"
            && e.admit_time > discharge
            && e.admit_time <= end
    })
}

/// `stay`'s discharge when it is an index discharge, given data that ends
/// at `data_end`: an inpatient stay, discharged alive, whose 30 days after
/// discharge the data covers. An open stay is not one yet.
pub fn index_discharge(stay: &Encounter, data_end: NaiveDateTime) -> Option<NaiveDateTime> {
    let discharge = stay.discharge_time?;
    (stay.class == "IMP"
        && Disposition::from_name(&stay.disposition) != Some(Disposition::Expired)
        && discharge + Duration::days(30) <= data_end)
        .then_some(discharge)
}

/// The analysis rows of one patient, in discharge order.
pub fn analysis_rows(rec: &PatientRecords, data_end: NaiveDateTime) -> Vec<AnalysisRow> {
    let mut stays: Vec<(NaiveDateTime, &Encounter)> = rec
        .encounters
        .iter()
        .filter_map(|e| Some((index_discharge(e, data_end)?, e)))
        .collect();
    stays.sort_by(|(a_end, a), (b_end, b)| (a_end, &a.encounter_id).cmp(&(b_end, &b.encounter_id)));
    stays
        .into_iter()
        .map(|(discharge, stay)| {
            let mut row = features_at_discharge(rec, stay, discharge);
            row.readmit_30d = u8::from(readmitted_within_30d(rec.encounters, stay, discharge));
            row
        })
        .collect()
}

/// Read an analysis table written as CSV (header row, columns as `AnalysisRow`).
pub fn read_analysis_csv(
    path: impl AsRef<std::path::Path>,
) -> crate::error::Result<Vec<AnalysisRow>> {
    use crate::error::{Error, IoContext};
    let path = path.as_ref();
    let file = std::fs::File::open(path).at(path)?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let mut rows = Vec::new();
    for (i, rec) in reader.deserialize::<AnalysisRow>().enumerate() {
        let row = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(i as u64 + 2);
            Error::bad_input(
                path.display(),
                Some(format!("line {line}")),
                "an analysis-table row (see the data dictionary)",
                e.to_string(),
            )
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// Write an analysis table as CSV, atomically.
pub fn write_analysis_csv(
    path: impl AsRef<std::path::Path>,
    rows: &[AnalysisRow],
) -> crate::error::Result<()> {
    use crate::error::Error;
    let path = path.as_ref();
    let file = crate::artifact::AtomicFile::create(path)?;
    let mut writer = csv::Writer::from_writer(file);
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    file.commit()?;
    Ok(())
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::records::parse_datetime;

    fn stay(id: &str, admit: &str, discharge: &str) -> Encounter {
        Encounter {
            encounter_id: id.into(),
            patient_id: "P1".into(),
            class: "IMP".into(),
            admit_time: parse_datetime(admit).unwrap(),
            discharge_time: Some(parse_datetime(discharge).unwrap()),
            disposition: "home".into(),
            reason_code: "I50.9".into(),
        }
    }

    fn obs(id: &str, enc: &str, time: &str, m: Measure, value: f64) -> Observation {
        Observation {
            observation_id: id.into(),
            patient_id: "P1".into(),
            encounter_id: enc.into(),
            time: parse_datetime(time).unwrap(),
            code: m.loinc().into(),
            system: crate::clinical::codes::LOINC.into(),
            display: m.display().into(),
            value,
            unit: m.unit().into(),
        }
    }

    #[test]
    fn rows_use_only_what_was_known_at_discharge() {
        let p = Patient::example();
        let encounters = vec![
            stay("E1", "2022-01-01T08:00:00", "2022-01-04T20:00:00"),
            stay("E2", "2022-01-20T10:00:00", "2022-01-25T10:00:00"),
            stay("E3", "2022-06-01T10:00:00", "2022-06-02T10:00:00"),
        ];
        let observations = vec![
            obs("O1", "E1", "2022-01-02T08:00:00", Measure::Creatinine, 1.1),
            obs("O2", "E1", "2022-01-04T08:00:00", Measure::Creatinine, 1.4),
            // taken in the next stay: must not leak into E1's row
            obs("O3", "E2", "2022-01-21T08:00:00", Measure::Creatinine, 3.0),
        ];
        let conditions = vec![Condition {
            condition_id: "C1".into(),
            patient_id: "P1".into(),
            encounter_id: None,
            code: "I50.9".into(),
            display: "Heart failure".into(),
            onset_date: NaiveDate::from_ymd_opt(2022, 1, 22).unwrap(),
        }];
        let rec = PatientRecords {
            patient: &p,
            encounters: &encounters,
            observations: &observations,
            conditions: &conditions,
            medications: &[],
        };
        let rows = analysis_rows(&rec, parse_datetime("2022-12-31T00:00:00").unwrap());
        assert_eq!(rows.len(), 3);
        let r1 = &rows[0];
        assert_eq!(r1.stay_id, "E1");
        assert_eq!(r1.age, 71.0);
        assert_eq!(r1.los_days, 3.5);
        assert_eq!(r1.creatinine, Some(1.4));
        assert_eq!(r1.chf, 0.0, "onset after discharge is not known yet");
        assert_eq!(r1.prior_admissions_365d, 0.0);
        assert_eq!(r1.days_since_last_discharge, None);
        assert_eq!(r1.readmit_30d, 1);
        let r2 = &rows[1];
        assert_eq!(r2.chf, 1.0);
        assert_eq!(r2.prior_admissions_365d, 1.0);
        assert_eq!(r2.creatinine, Some(3.0));
        assert!((r2.days_since_last_discharge.unwrap() - 15.5833).abs() < 1e-3);
        assert_eq!(r2.readmit_30d, 0);
        assert_eq!(rows[2].prior_admissions_365d, 2.0);
        // follow-up past the end of the data: not an index stay
        let short = analysis_rows(&rec, parse_datetime("2022-06-20T00:00:00").unwrap());
        assert_eq!(short.len(), 2);
    }

    #[test]
    fn every_feature_has_a_value() {
        let row = AnalysisRow::default();
        for (name, _) in FEATURES {
            assert!(row.feature(name).is_some(), "{name}");
        }
        assert!(row.feature("nonsense").is_none());
    }
}
