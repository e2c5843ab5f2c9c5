//! A small hand-made PatientBundle shared by the format tests: two stays, a
//! few observations (one under a local code), a note with `&`, `|` and a
//! line break, a name with `^` and an address with `&`.
#![allow(dead_code)]

use carelab::clinical::codes::LOINC;
use carelab::clinical::*;
use chrono::{NaiveDate, NaiveDateTime};

pub fn t(s: &str) -> NaiveDateTime {
    parse_datetime(s).unwrap()
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn obs(id: &str, enc: &str, time: &str, m: Measure, value: f64) -> Observation {
    Observation {
        observation_id: id.into(),
        patient_id: "P0000007".into(),
        encounter_id: enc.into(),
        time: t(time),
        code: m.loinc().into(),
        system: LOINC.into(),
        display: m.display().into(),
        value,
        unit: m.unit().into(),
    }
}

pub fn bundle() -> PatientBundle {
    let patient = Patient {
        patient_id: "P0000007".into(),
        mrn: "MRN-0042".into(),
        given_name: "Siobhan^?".into(),
        family_name: "O'Brien".into(),
        sex: "F".into(),
        birth_date: d("1948-02-29"),
        race: "White".into(),
        ethnicity: "Not Hispanic or Latino".into(),
        payer: "Medicare".into(),
        address_line: "12 Smith & Sons Way".into(),
        city: "Springfield".into(),
        state: "IL".into(),
        zip: "62704".into(),
        phone: "555-010-4477".into(),
        email: "siobhan@example.org".into(),
        ssn: "123-45-6789".into(),
        death_date: None,
    };
    let enc = |id: &str, admit: &str, discharge: &str, disp: &str, reason: &str| Encounter {
        encounter_id: id.into(),
        patient_id: "P0000007".into(),
        class: "IMP".into(),
        admit_time: t(admit),
        discharge_time: Some(t(discharge)),
        disposition: disp.into(),
        reason_code: reason.into(),
    };
    let mut local = obs("O5", "E2", "2023-06-02T08:00:00", Measure::Glucose, 7.4);
    local.code = "GLU-LOC".into();
    local.system = "http://hospital.example/codes/lab".into();
    local.display = "Glucose (local)".into();
    local.unit = "mmol/L".into();
    PatientBundle {
        patient: Some(patient),
        encounters: vec![
            enc("E1", "2023-01-10T09:15:00", "2023-01-14T11:00:00", "home", "I50.9"),
            enc("E2", "2023-06-01T22:40:00", "2023-06-05T10:30:00", "skilled_nursing", "J44.9"),
        ],
        observations: vec![
            obs("O1", "E1", "2023-01-10T09:30:00", Measure::HeartRate, 92.0),
            obs("O2", "E1", "2023-01-10T09:30:00", Measure::Sbp, 141.0),
            obs("O3", "E1", "2023-01-11T06:00:00", Measure::Creatinine, 1.37),
            obs("O4", "E2", "2023-06-01T23:00:00", Measure::Temperature, 38.25),
            local,
        ],
        conditions: vec![
            Condition {
                condition_id: "C1".into(),
                patient_id: "P0000007".into(),
                encounter_id: Some("E1".into()),
                code: "I50.9".into(),
                display: "Heart failure, unspecified".into(),
                onset_date: d("2019-03-02"),
            },
            Condition {
                condition_id: "C2".into(),
                patient_id: "P0000007".into(),
                encounter_id: None,
                code: "J44.9".into(),
                display: "Chronic obstructive pulmonary disease, unspecified".into(),
                onset_date: d("2015-07-19"),
            },
        ],
        medications: vec![Medication {
            medication_id: "M1".into(),
            patient_id: "P0000007".into(),
            encounter_id: "E1".into(),
            rxnorm: "4603".into(),
            name: "furosemide".into(),
            authored_time: t("2023-01-10T10:00:00"),
        }],
        notes: vec![Note {
            note_id: "N1".into(),
            patient_id: "P0000007".into(),
            encounter_id: "E1".into(),
            time: t("2023-01-14T10:45:00"),
            text: "Discharge summary: Siobhan O'Brien, 74 y/o.\nDx: CHF & COPD | stable.\r\nFollow up ~2 wks; see \\notes^.".into(),
        }],
        phi_spans: vec![],
        truth: vec![],
    }
}
