//! The shared vocabulary: condition, measurement and medication codes.

use serde::{Deserialize, Serialize};

pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const HL7_DISCHARGE_DISPOSITION: &str =
    "http://terminology.hl7.org/CodeSystem/discharge-disposition";

/// Chronic conditions the population model knows, with ICD-10-CM codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chronic {
    Hypertension,
    Diabetes,
    HeartFailure,
    Copd,
    Ckd,
    Afib,
    Depression,
}

impl Chronic {
    pub const ALL: [Chronic; 7] = [
        Chronic::Hypertension,
        Chronic::Diabetes,
        Chronic::HeartFailure,
        Chronic::Copd,
        Chronic::Ckd,
        Chronic::Afib,
        Chronic::Depression,
    ];

    /// ICD-10-CM code written by the generator.
    pub fn icd10(self) -> &'static str {
        match self {
            Chronic::Hypertension => "I10",
            Chronic::Diabetes => "E11.9",
            Chronic::HeartFailure => "I50.9",
            Chronic::Copd => "J44.9",
            Chronic::Ckd => "N18.3",
            Chronic::Afib => "I48.91",
            Chronic::Depression => "F32.9",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Chronic::Hypertension => "Essential (primary) hypertension",
            Chronic::Diabetes => "Type 2 diabetes mellitus without complications",
            Chronic::HeartFailure => "Heart failure, unspecified",
            Chronic::Copd => "Chronic obstructive pulmonary disease, unspecified",
            Chronic::Ckd => "Chronic kidney disease, stage 3 (moderate)",
            Chronic::Afib => "Unspecified atrial fibrillation",
            Chronic::Depression => "Major depressive disorder, single episode, unspecified",
        }
    }

    /// Column name in the analysis table.
    pub fn feature(self) -> &'static str {
        match self {
            Chronic::Hypertension => "htn",
            Chronic::Diabetes => "t2dm",
            Chronic::HeartFailure => "chf",
            Chronic::Copd => "copd",
            Chronic::Ckd => "ckd",
            Chronic::Afib => "afib",
            Chronic::Depression => "depression",
        }
    }

    /// Which condition an ICD-10-CM code belongs to, by category prefix, so
    /// that more specific codes (E11.65, I50.22, N18.4, ...) count too.
    pub fn from_icd10(code: &str) -> Option<Chronic> {
        // the category is the first three characters, in any case (no
        // allocation: this runs for every condition at every stay)
        let category = code.trim().as_bytes().get(..3)?;
        let prefixes: [(&str, Chronic); 9] = [
            ("I10", Chronic::Hypertension),
            ("I11", Chronic::Hypertension),
            ("E11", Chronic::Diabetes),
            ("I50", Chronic::HeartFailure),
            ("J44", Chronic::Copd),
            ("N18", Chronic::Ckd),
            ("I48", Chronic::Afib),
            ("F32", Chronic::Depression),
            ("F33", Chronic::Depression),
        ];
        prefixes
            .iter()
            .find(|(p, _)| category.eq_ignore_ascii_case(p.as_bytes()))
            .map(|&(_, c)| c)
    }
}

/// Vital signs and laboratory tests, with LOINC codes and canonical UCUM units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    HeartRate,
    Sbp,
    Dbp,
    RespRate,
    Temperature,
    Spo2,
    Weight,
    Hba1c,
    Glucose,
    Creatinine,
    Sodium,
    Potassium,
    Hemoglobin,
    Wbc,
    Bnp,
}

impl Measure {
    pub const ALL: [Measure; 15] = [
        Measure::HeartRate,
        Measure::Sbp,
        Measure::Dbp,
        Measure::RespRate,
        Measure::Temperature,
        Measure::Spo2,
        Measure::Weight,
        Measure::Hba1c,
        Measure::Glucose,
        Measure::Creatinine,
        Measure::Sodium,
        Measure::Potassium,
        Measure::Hemoglobin,
        Measure::Wbc,
        Measure::Bnp,
    ];

    pub fn loinc(self) -> &'static str {
        match self {
            Measure::HeartRate => "8867-4",
            Measure::Sbp => "8480-6",
            Measure::Dbp => "8462-4",
            Measure::RespRate => "9279-1",
            Measure::Temperature => "8310-5",
            Measure::Spo2 => "59408-5",
            Measure::Weight => "29463-7",
            Measure::Hba1c => "4548-4",
            Measure::Glucose => "2345-7",
            Measure::Creatinine => "2160-0",
            Measure::Sodium => "2951-2",
            Measure::Potassium => "2823-3",
            Measure::Hemoglobin => "718-7",
            Measure::Wbc => "6690-2",
            Measure::Bnp => "30934-4",
        }
    }

    pub fn from_loinc(code: &str) -> Option<Measure> {
        let code = code.trim();
        Measure::ALL.into_iter().find(|m| m.loinc() == code)
    }

    pub fn display(self) -> &'static str {
        match self {
            Measure::HeartRate => "Heart rate",
            Measure::Sbp => "Systolic blood pressure",
            Measure::Dbp => "Diastolic blood pressure",
            Measure::RespRate => "Respiratory rate",
            Measure::Temperature => "Body temperature",
            Measure::Spo2 => "Oxygen saturation in Arterial blood by Pulse oximetry",
            Measure::Weight => "Body weight",
            Measure::Hba1c => "Hemoglobin A1c/Hemoglobin.total in Blood",
            Measure::Glucose => "Glucose [Mass/volume] in Serum or Plasma",
            Measure::Creatinine => "Creatinine [Mass/volume] in Serum or Plasma",
            Measure::Sodium => "Sodium [Moles/volume] in Serum or Plasma",
            Measure::Potassium => "Potassium [Moles/volume] in Serum or Plasma",
            Measure::Hemoglobin => "Hemoglobin [Mass/volume] in Blood",
            Measure::Wbc => "Leukocytes [#/volume] in Blood by Automated count",
            Measure::Bnp => "Natriuretic peptide B [Mass/volume] in Serum or Plasma",
        }
    }

    /// The one unit (UCUM) each measurement is stored in after ingest.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::HeartRate | Measure::RespRate => "/min",
            Measure::Sbp | Measure::Dbp => "mm[Hg]",
            Measure::Temperature => "Cel",
            Measure::Spo2 | Measure::Hba1c => "%",
            Measure::Weight => "kg",
            Measure::Glucose | Measure::Creatinine => "mg/dL",
            Measure::Sodium | Measure::Potassium => "mmol/L",
            Measure::Hemoglobin => "g/dL",
            Measure::Wbc => "10*3/uL",
            Measure::Bnp => "pg/mL",
        }
    }

    pub fn is_vital(self) -> bool {
        matches!(
            self,
            Measure::HeartRate
                | Measure::Sbp
                | Measure::Dbp
                | Measure::RespRate
                | Measure::Temperature
                | Measure::Spo2
                | Measure::Weight
        )
    }

    /// FHIR Observation category code.
    pub fn category(self) -> &'static str {
        if self.is_vital() {
            "vital-signs"
        } else {
            "laboratory"
        }
    }

    /// Column name in the analysis table (the last value in the stay).
    pub fn feature(self) -> &'static str {
        match self {
            Measure::HeartRate => "hr",
            Measure::Sbp => "sbp",
            Measure::Dbp => "dbp",
            Measure::RespRate => "rr",
            Measure::Temperature => "temp_c",
            Measure::Spo2 => "spo2",
            Measure::Weight => "weight_kg",
            Measure::Hba1c => "hba1c",
            Measure::Glucose => "glucose",
            Measure::Creatinine => "creatinine",
            Measure::Sodium => "sodium",
            Measure::Potassium => "potassium",
            Measure::Hemoglobin => "hemoglobin",
            Measure::Wbc => "wbc",
            Measure::Bnp => "bnp",
        }
    }

    /// The chronic conditions that move this measure's values in a
    /// population: when their prevalence changes, the measure's distribution
    /// changes with them, and no laboratory changed anything. BNP rises in
    /// heart failure and with renal impairment; HbA1c and glucose in
    /// diabetes; creatinine and potassium rise and haemoglobin falls in
    /// chronic kidney disease; oxygen saturation falls and respiratory rate
    /// rises in COPD; blood pressure follows hypertension.
    pub fn driven_by(self) -> &'static [Chronic] {
        match self {
            Measure::Bnp => &[Chronic::HeartFailure, Chronic::Ckd],
            Measure::Hba1c | Measure::Glucose => &[Chronic::Diabetes],
            Measure::Creatinine | Measure::Potassium | Measure::Hemoglobin => &[Chronic::Ckd],
            Measure::Spo2 | Measure::RespRate => &[Chronic::Copd],
            Measure::Sbp | Measure::Dbp => &[Chronic::Hypertension],
            Measure::HeartRate => &[Chronic::Afib],
            Measure::Temperature | Measure::Weight | Measure::Sodium | Measure::Wbc => &[],
        }
    }

    /// Physiologically possible range in the canonical unit: values outside
    /// are impossible (a typo, a placeholder, a wrong unit), not just abnormal.
    pub fn plausible(self) -> (f64, f64) {
        match self {
            Measure::HeartRate => (20.0, 250.0),
            Measure::Sbp => (50.0, 260.0),
            Measure::Dbp => (20.0, 160.0),
            Measure::RespRate => (4.0, 60.0),
            Measure::Temperature => (30.0, 44.0),
            Measure::Spo2 => (50.0, 100.0),
            Measure::Weight => (25.0, 300.0),
            Measure::Hba1c => (3.0, 20.0),
            Measure::Glucose => (20.0, 1500.0),
            Measure::Creatinine => (0.1, 20.0),
            Measure::Sodium => (100.0, 180.0),
            Measure::Potassium => (1.5, 9.0),
            Measure::Hemoglobin => (3.0, 25.0),
            Measure::Wbc => (0.1, 200.0),
            Measure::Bnp => (1.0, 35000.0),
        }
    }
}

/// One medication the population model prescribes (RxNorm ingredient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drug {
    pub rxnorm: &'static str,
    pub name: &'static str,
    /// The condition it treats; `None` for general drugs.
    pub treats: Option<Chronic>,
}

pub const DRUGS: [Drug; 12] = [
    Drug {
        rxnorm: "29046",
        name: "lisinopril",
        treats: Some(Chronic::Hypertension),
    },
    Drug {
        rxnorm: "17767",
        name: "amlodipine",
        treats: Some(Chronic::Hypertension),
    },
    Drug {
        rxnorm: "6809",
        name: "metformin",
        treats: Some(Chronic::Diabetes),
    },
    Drug {
        rxnorm: "274783",
        name: "insulin glargine",
        treats: Some(Chronic::Diabetes),
    },
    Drug {
        rxnorm: "4603",
        name: "furosemide",
        treats: Some(Chronic::HeartFailure),
    },
    Drug {
        rxnorm: "6918",
        name: "metoprolol",
        treats: Some(Chronic::HeartFailure),
    },
    Drug {
        rxnorm: "69120",
        name: "tiotropium",
        treats: Some(Chronic::Copd),
    },
    Drug {
        rxnorm: "435",
        name: "albuterol",
        treats: Some(Chronic::Copd),
    },
    Drug {
        rxnorm: "1364430",
        name: "apixaban",
        treats: Some(Chronic::Afib),
    },
    Drug {
        rxnorm: "36437",
        name: "sertraline",
        treats: Some(Chronic::Depression),
    },
    Drug {
        rxnorm: "83367",
        name: "atorvastatin",
        treats: None,
    },
    Drug {
        rxnorm: "1191",
        name: "aspirin",
        treats: None,
    },
];

/// Discharge disposition (NUBC UB-04 patient discharge status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Home,
    HomeHealth,
    SkilledNursing,
    LeftAma,
    Expired,
}

impl Disposition {
    pub const ALL: [Disposition; 5] = [
        Disposition::Home,
        Disposition::HomeHealth,
        Disposition::SkilledNursing,
        Disposition::LeftAma,
        Disposition::Expired,
    ];

    pub fn nubc(self) -> &'static str {
        match self {
            Disposition::Home => "01",
            Disposition::SkilledNursing => "03",
            Disposition::HomeHealth => "06",
            Disposition::LeftAma => "07",
            Disposition::Expired => "20",
        }
    }

    pub fn from_nubc(code: &str) -> Option<Disposition> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.nubc() == code.trim())
    }

    /// Name used in tables and the analysis row.
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Home => "home",
            Disposition::HomeHealth => "home_health",
            Disposition::SkilledNursing => "skilled_nursing",
            Disposition::LeftAma => "left_ama",
            Disposition::Expired => "expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Disposition> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.name() == name.trim())
    }

    /// HL7's discharge-disposition codes (US Core's example binding for
    /// `Encounter.hospitalization.dischargeDisposition`); `None` for the
    /// ones that are not one of CareLab's (other-hcf, hosp, psy, ...).
    pub fn from_hl7(system: &str, code: &str) -> Option<Disposition> {
        if system != HL7_DISCHARGE_DISPOSITION {
            return None;
        }
        match code.trim() {
            "home" | "alt-home" => Some(Disposition::Home),
            "snf" => Some(Disposition::SkilledNursing),
            "aadvice" => Some(Disposition::LeftAma),
            "exp" => Some(Disposition::Expired),
            _ => None,
        }
    }

    /// A disposition written in words, as exporters send it when they
    /// send no code: NUBC's displays (`Discharged to home or self care
    /// (routine discharge)`), HL7's (`Left against advice`) and shorter
    /// text (`Discharge to home`). The most specific words are tried first:
    /// "home health" before "home".
    pub fn from_text(text: &str) -> Option<Disposition> {
        let t = text.to_ascii_lowercase();
        let has = |w: &str| t.contains(w);
        if has("expired") || has("died") || has("deceased") {
            Some(Disposition::Expired)
        } else if has("against") && has("advice") {
            Some(Disposition::LeftAma)
        } else if has("skilled nursing") || has("(snf)") {
            Some(Disposition::SkilledNursing)
        } else if has("home health") {
            Some(Disposition::HomeHealth)
        } else if has("home") || has("self care") || has("self-care") {
            Some(Disposition::Home)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Chronic::ALL {
            assert_eq!(Chronic::from_icd10(c.icd10()), Some(c));
        }
        assert_eq!(Chronic::from_icd10("e11.65"), Some(Chronic::Diabetes));
        assert_eq!(Chronic::from_icd10("Z00.0"), None);
        for m in Measure::ALL {
            assert_eq!(Measure::from_loinc(m.loinc()), Some(m));
        }
        for d in Disposition::ALL {
            assert_eq!(Disposition::from_nubc(d.nubc()), Some(d));
            assert_eq!(Disposition::from_name(d.name()), Some(d));
        }
        // NUBC's own displays, HL7's, and the short text Synthea writes
        for (text, d) in [
            (
                "Discharged to home or self care (routine discharge)",
                Some(Disposition::Home),
            ),
            ("Discharge to home", Some(Disposition::Home)),
            (
                "Discharged/transferred to home under care of organized home health service organization in anticipation of covered skilled care",
                Some(Disposition::HomeHealth),
            ),
            (
                "Discharged/transferred to a skilled nursing facility (SNF) with Medicare certification in anticipation of skilled care",
                Some(Disposition::SkilledNursing),
            ),
            (
                "Left against medical advice or discontinued care",
                Some(Disposition::LeftAma),
            ),
            ("Left against advice", Some(Disposition::LeftAma)),
            ("Expired", Some(Disposition::Expired)),
            ("Other healthcare facility", None),
        ] {
            assert_eq!(Disposition::from_text(text), d, "{text}");
        }
        let hl7 = HL7_DISCHARGE_DISPOSITION;
        assert_eq!(
            Disposition::from_hl7(hl7, "snf"),
            Some(Disposition::SkilledNursing)
        );
        assert_eq!(Disposition::from_hl7(hl7, "hosp"), None);
        assert_eq!(Disposition::from_hl7("http://other", "home"), None);
    }
}
