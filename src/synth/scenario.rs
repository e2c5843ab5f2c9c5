//! Scenario files: the knobs of the population model, in TOML.
//!
//! A scenario holds numbers and choices, never code: the window, the
//! population mix, prevalence multipliers, the units and codes a site
//! exports, drift and defect rates. The built-in scenarios are embedded
//! in the binary so `--scenario baseline` works from any directory; a path
//! ending in `.toml` reads that file instead.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{toml_error, Error, IoContext, Result};

/// The built-in scenarios: (name, TOML text).
pub const BUILT_IN: [(&str, &str); 6] = [
    (
        "baseline",
        include_str!("../../datasets/scenarios/baseline.toml"),
    ),
    (
        "legacy-messy",
        include_str!("../../datasets/scenarios/legacy-messy.toml"),
    ),
    (
        "site-b",
        include_str!("../../datasets/scenarios/site-b.toml"),
    ),
    (
        "drift-2025",
        include_str!("../../datasets/scenarios/drift-2025.toml"),
    ),
    (
        "elective-2025",
        include_str!("../../datasets/scenarios/elective-2025.toml"),
    ),
    (
        "concept-shift-2025",
        include_str!("../../datasets/scenarios/concept-shift-2025.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Formats written when `--formats` is not given.
    pub formats: Vec<String>,
    pub window: Window,
    pub population: Population,
    #[serde(default)]
    pub conditions: Prevalence,
    pub utilisation: Utilisation,
    #[serde(default)]
    pub units: Units,
    #[serde(default)]
    pub drift: Drift,
    /// Present only for scenarios that export siloed legacy systems.
    #[serde(default)]
    pub legacy: Option<Legacy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    pub age_mean: f64,
    pub age_sd: f64,
    pub female_share: f64,
    pub hispanic_share: f64,
    pub race: BTreeMap<String, f64>,
    pub payer_under_65: BTreeMap<String, f64>,
    pub zip3: BTreeMap<String, f64>,
    /// Sending facility / site code.
    pub site: String,
    /// Shifts the MRN sequence so two sites never share numbers.
    pub mrn_offset: u64,
}

/// Multipliers on each chronic condition's prevalence curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Prevalence {
    pub hypertension: f64,
    pub diabetes: f64,
    pub heart_failure: f64,
    pub copd: f64,
    pub ckd: f64,
    pub afib: f64,
    pub depression: f64,
}

impl Default for Prevalence {
    fn default() -> Self {
        Prevalence {
            hypertension: 1.0,
            diabetes: 1.0,
            heart_failure: 1.0,
            copd: 1.0,
            ckd: 1.0,
            afib: 1.0,
            depression: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Utilisation {
    pub admissions_per_year: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Units {
    pub glucose: String,
    pub creatinine: String,
    pub lab_codes: String,
}

impl Default for Units {
    fn default() -> Self {
        Units {
            glucose: "mg/dL".into(),
            creatinine: "mg/dL".into(),
            lab_codes: "loinc".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Drift {
    pub creatinine_shift: f64,
    pub diabetes_specific_codes: f64,
    pub hypertension_i11: f64,
    /// Concept shift: from `risk_effect_from` on, every stay's true log-odds
    /// of readmission is pulled towards `RISK_EFFECT_CENTRE` by this factor
    /// (1 = the documented outcome model, 0.4 = the drivers weigh 40% of
    /// what they did). The inputs do not change; their relation to the
    /// outcome does.
    pub risk_effect: f64,
    /// First discharge day the changed outcome model applies to (all days
    /// when absent).
    pub risk_effect_from: Option<NaiveDate>,
}

impl Default for Drift {
    fn default() -> Self {
        Drift {
            creatinine_shift: 0.0,
            diabetes_specific_codes: 0.0,
            hypertension_i11: 0.0,
            risk_effect: 1.0,
            risk_effect_from: None,
        }
    }
}

/// The log-odds a concept shift pulls risks towards: about the mean
/// log-odds of readmission in the baseline population, so that the rate
/// stays near what it was while who is readmitted becomes harder to tell.
pub const RISK_EFFECT_CENTRE: f64 = -2.2;

impl Drift {
    /// The true risk of readmission on a discharge day, from the documented
    /// outcome model's log-odds `z`.
    pub fn outcome_risk(&self, z: f64, day: NaiveDate) -> f64 {
        let shifted = self.risk_effect != 1.0 && self.risk_effect_from.is_none_or(|d| day >= d);
        let z = if shifted {
            RISK_EFFECT_CENTRE + self.risk_effect * (z - RISK_EFFECT_CENTRE)
        } else {
            z
        };
        super::truth::logistic(z)
    }
}

/// Defect rates for the siloed legacy exports (each a share of records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Legacy {
    /// Share of patients the crosswalk links (the rest ingest must link).
    pub crosswalk_share: f64,
    /// Share of patients registered twice with a name or DOB variation.
    pub duplicate_patients: f64,
    /// Share of patients who are a look-alike of the patient generated
    /// before them: a different person (own SSN, MRN, address, history)
    /// with the same name and sex and a birth date within 60 days. Linkage
    /// that merges on name and a near birth date merges two people.
    #[serde(default)]
    pub lookalike_patients: f64,
    /// Share of registration dates written in a second date format.
    pub mixed_date_formats: f64,
    /// Share of glucose, temperature and weight results in the other unit.
    pub mixed_units: f64,
    /// Share of lab results sent with the local code instead of LOINC.
    pub local_codes: f64,
    /// Share of values left empty.
    pub missing_values: f64,
    /// Share of values replaced by an impossible value or a 999 placeholder.
    pub impossible_values: f64,
    /// Share of registration lines cut short.
    pub truncated_records: f64,
}

impl Scenario {
    /// Load a built-in scenario by name, or a file when given a path.
    pub fn load(name_or_path: &str) -> Result<Scenario> {
        let looks_like_path = name_or_path.ends_with(".toml")
            || name_or_path.contains('/')
            || name_or_path.contains('\\');
        if looks_like_path {
            let path = Path::new(name_or_path);
            let text = std::fs::read_to_string(path).at(path)?;
            return Scenario::parse(path, &text);
        }
        let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) else {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(Error::usage(format!(
                "unknown scenario {name_or_path:?}: built-in scenarios are {}, or give a path to a .toml file",
                names.join(", ")
            )));
        };
        Scenario::parse(Path::new(&format!("{name_or_path}.toml")), text)
    }

    /// Parse and check a scenario; errors name the file, the line and the key.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        scenario.validate(path, text)?;
        Ok(scenario)
    }

    fn validate(&self, path: &Path, text: &str) -> Result<()> {
        let bad = |key: &str, expected: &str, found: String| {
            let line = line_of_key(text, key);
            Error::bad_input(
                path.display(),
                Some(match line {
                    Some(l) => format!("line {l}, key {key}"),
                    None => format!("key {key}"),
                }),
                expected,
                found,
            )
        };
        if self.window.end <= self.window.start {
            return Err(bad(
                "end",
                "a window end after its start",
                self.window.end.to_string(),
            ));
        }
        let p = &self.population;
        let shares = [
            ("female_share", p.female_share),
            ("hispanic_share", p.hispanic_share),
        ];
        for (key, v) in shares {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(key, "a share between 0 and 1", v.to_string()));
            }
        }
        if !(18.0..=100.0).contains(&p.age_mean) || p.age_sd.is_nan() || p.age_sd <= 0.0 {
            return Err(bad(
                "age_mean",
                "an age mean in 18..=100 with a positive age_sd",
                format!("{} / {}", p.age_mean, p.age_sd),
            ));
        }
        for (key, map) in [
            ("race", &p.race),
            ("payer_under_65", &p.payer_under_65),
            ("zip3", &p.zip3),
        ] {
            let total: f64 = map.values().sum();
            if map.values().any(|w| w.is_nan() || *w < 0.0) || total.is_nan() || total <= 0.0 {
                return Err(bad(
                    key,
                    "non-negative weights with a positive sum",
                    format!("{map:?}"),
                ));
            }
        }
        for zip3 in p.zip3.keys() {
            if !super::names::PLACES.iter().any(|pl| pl.zip3 == zip3) {
                return Err(bad(
                    "zip3",
                    "ZIP3 areas from the embedded place list (see the data dictionary)",
                    zip3.clone(),
                ));
            }
        }
        let c = &self.conditions;
        for (key, v) in [
            ("hypertension", c.hypertension),
            ("diabetes", c.diabetes),
            ("heart_failure", c.heart_failure),
            ("copd", c.copd),
            ("ckd", c.ckd),
            ("afib", c.afib),
            ("depression", c.depression),
        ] {
            if !(0.0..=5.0).contains(&v) {
                return Err(bad(key, "a multiplier in 0..=5", v.to_string()));
            }
        }
        let u = self.utilisation.admissions_per_year;
        if !(u > 0.0 && u <= 10.0) {
            return Err(bad(
                "admissions_per_year",
                "a rate in (0, 10]",
                u.to_string(),
            ));
        }
        if !["mg/dL", "mmol/L"].contains(&self.units.glucose.as_str()) {
            return Err(bad(
                "glucose",
                "\"mg/dL\" or \"mmol/L\"",
                self.units.glucose.clone(),
            ));
        }
        if !["mg/dL", "umol/L"].contains(&self.units.creatinine.as_str()) {
            return Err(bad(
                "creatinine",
                "\"mg/dL\" or \"umol/L\"",
                self.units.creatinine.clone(),
            ));
        }
        if !["loinc", "local"].contains(&self.units.lab_codes.as_str()) {
            return Err(bad(
                "lab_codes",
                "\"loinc\" or \"local\"",
                self.units.lab_codes.clone(),
            ));
        }
        let d = &self.drift;
        for (key, v) in [
            ("diabetes_specific_codes", d.diabetes_specific_codes),
            ("hypertension_i11", d.hypertension_i11),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(key, "a share between 0 and 1", v.to_string()));
            }
        }
        if !(0.0..=2.0).contains(&d.risk_effect) {
            return Err(bad(
                "risk_effect",
                "a factor in 0..=2 (1 leaves the outcome model as documented)",
                d.risk_effect.to_string(),
            ));
        }
        if !(-5.0..=5.0).contains(&d.creatinine_shift) {
            return Err(bad(
                "creatinine_shift",
                "a shift in -5..=5 mg/dL",
                d.creatinine_shift.to_string(),
            ));
        }
        if let Some(l) = &self.legacy {
            for (key, v) in [
                ("crosswalk_share", l.crosswalk_share),
                ("duplicate_patients", l.duplicate_patients),
                ("lookalike_patients", l.lookalike_patients),
                ("mixed_date_formats", l.mixed_date_formats),
                ("mixed_units", l.mixed_units),
                ("local_codes", l.local_codes),
                ("missing_values", l.missing_values),
                ("impossible_values", l.impossible_values),
                ("truncated_records", l.truncated_records),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad(key, "a share between 0 and 1", v.to_string()));
                }
            }
        }
        for f in &self.formats {
            if !FORMATS.contains(&f.as_str()) {
                return Err(bad(
                    "formats",
                    &format!("formats among {}", FORMATS.join(", ")),
                    f.clone(),
                ));
            }
        }
        Ok(())
    }
}

/// Every output format `data generate` knows.
pub const FORMATS: [&str; 5] = ["csv", "parquet", "fhir", "hl7v2", "legacy"];

/// The 1-based line where `key = ...` is first set, for error messages.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}
