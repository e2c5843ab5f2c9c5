//! How a site exports its records: units and lab codes.
//!
//! The generator makes every value in the canonical unit with LOINC codes
//! (so the truth and `analysis.csv` are defined on one scale); a site that
//! reports glucose in mmol/L, creatinine in umol/L or its own lab codes gets
//! those applied to the exported tables here.

use super::population::round_to;
use super::scenario::Scenario;
use crate::clinical::{Measure, Observation, PatientBundle};

/// mg/dL of glucose per mmol/L.
pub const GLUCOSE_MG_PER_MMOL: f64 = 18.016;
/// umol/L of creatinine per mg/dL.
pub const CREATININE_UMOL_PER_MG: f64 = 88.42;

/// The local lab code system URI of a site.
pub fn local_system(site: &str) -> String {
    format!("urn:carelab:{}:lab", site.to_ascii_lowercase())
}

/// A site's own mnemonic for a laboratory test (vitals keep LOINC).
pub fn local_code(m: Measure) -> Option<&'static str> {
    Some(match m {
        Measure::Hba1c => "A1C",
        Measure::Glucose => "GLU",
        Measure::Creatinine => "CREA",
        Measure::Sodium => "NA",
        Measure::Potassium => "K",
        Measure::Hemoglobin => "HGB",
        Measure::Wbc => "WBC",
        Measure::Bnp => "BNP",
        _ => return None,
    })
}

/// Does this scenario export anything other than canonical units and LOINC?
pub fn is_canonical(s: &Scenario) -> bool {
    s.units.glucose == "mg/dL" && s.units.creatinine == "mg/dL" && s.units.lab_codes == "loinc"
}

/// The bundle as the site exports it.
pub fn present(b: &PatientBundle, s: &Scenario) -> PatientBundle {
    let mut out = b.clone();
    for o in &mut out.observations {
        present_observation(o, s);
    }
    out
}

fn present_observation(o: &mut Observation, s: &Scenario) {
    let Some(m) = Measure::from_loinc(&o.code) else {
        return;
    };
    match m {
        Measure::Glucose if s.units.glucose == "mmol/L" => {
            o.value = round_to(o.value / GLUCOSE_MG_PER_MMOL, 1);
            o.unit = "mmol/L".into();
        }
        Measure::Creatinine if s.units.creatinine == "umol/L" => {
            o.value = round_to(o.value * CREATININE_UMOL_PER_MG, 0);
            o.unit = "umol/L".into();
        }
        _ => {}
    }
    if s.units.lab_codes == "local" {
        if let Some(code) = local_code(m) {
            o.code = code.into();
            o.system = local_system(&s.population.site).into();
        }
    }
}
