//! The `legacy-messy` silos: one hospital as four systems that each know
//! the same people under their own identifiers, with recorded defects.
//!
//! Under `OUT/legacy/`:
//! - `registration.txt` + `registration.layout.toml`: the ADT mainframe's
//!   fixed-width export (P = patient, E = encounter), keyed by hospital MRN;
//! - `labs.hl7`: the laboratory's HL7 v2 ORU^R01 feed, keyed by the lab
//!   system's own patient id, with local codes and mixed units;
//! - `clinic/bundles.ndjson`: the partner clinic's FHIR R4 transaction
//!   bundles (its own patient ids; conditions, medications, office vitals);
//! - `pharmacy.csv`: the pharmacy's dispensing file in windows-1252;
//! - `crosswalk.csv`: the links the hospital already knows (a share);
//! - `truth/linkage.csv` and `truth/defects.csv`: the ground truth;
//! - `pipeline.toml`: an ingest config for all of it.
//!
//! Every record gets at most one defect of each kind, drawn from its own
//! RNG stream, and every defect drawn is written to `truth/defects.csv` with
//! the clean and the injected value: nothing else differs from the clean
//! population.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng as _;
use rand_distr::{Distribution, Normal};

use super::population::{round_to, Population};
use super::scenario::Legacy;
use crate::artifact::{AtomicFile, Written};
use crate::clinical::{
    format_datetime, Chronic, Encounter, Measure, Medication, Observation, Patient, PatientBundle,
};
use crate::error::{Error, IoContext, Result};
use crate::formats::legacy::Layout;
use crate::formats::{fhir, hl7v2};

/// The registration export's layout, written beside it.
pub const REGISTRATION_LAYOUT: &str = include_str!("legacy_registration.layout.toml");
/// Where the local lab mnemonics come from (the ingest map knows them all).
const LAB_CODES: &str = include_str!("../../datasets/maps/lab-codes.toml");

/// Source names, as in `pipeline.toml`, the crosswalk and the truth.
pub const REGISTRATION: &str = "registration";
pub const LABS: &str = "labs";
pub const CLINIC: &str = "clinic";
pub const PHARMACY: &str = "pharmacy";

/// Formats of the registration export: the layout's own, and the second
/// format some screens wrote (`mixed_date_formats`).
const DATE: &str = "%Y%m%d";
const DATE_ALT: &str = "%m/%d/%Y";
const DATETIME: &str = "%Y%m%d%H%M%S";
const DATETIME_ALT: &str = "%m/%d/%Y %H:%M:%S";
/// The placeholder birth date of the mainframe ("unknown").
const PLACEHOLDER_DATE: &str = "19000101";

/// The columns of `pharmacy.csv`.
pub const PHARMACY_COLUMNS: [&str; 11] = [
    "rx_number",
    "pharmacy_patient_id",
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "zip",
    "visit_number",
    "rxnorm",
    "drug_name",
    "dispensed_time",
];

/// One injected defect, before its line number is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Defect {
    pub source: &'static str,
    pub file: &'static str,
    /// The id of the record it sits in (MRN, encounter id, observation id);
    /// empty for file-level defects.
    pub record_id: String,
    pub field: String,
    pub kind: DefectKind,
    pub clean: String,
    pub injected: String,
}

/// The kinds of defect `legacy-messy` injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DefectKind {
    DuplicatePatient,
    MixedDateFormat,
    MissingValue,
    Placeholder,
    ImpossibleValue,
    TruncatedRecord,
    MixedUnit,
    LocalCode,
    Latin1Encoding,
}

impl DefectKind {
    pub const ALL: [DefectKind; 9] = [
        DefectKind::DuplicatePatient,
        DefectKind::MixedDateFormat,
        DefectKind::MissingValue,
        DefectKind::Placeholder,
        DefectKind::ImpossibleValue,
        DefectKind::TruncatedRecord,
        DefectKind::MixedUnit,
        DefectKind::LocalCode,
        DefectKind::Latin1Encoding,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DefectKind::DuplicatePatient => "duplicate_patient",
            DefectKind::MixedDateFormat => "mixed_date_format",
            DefectKind::MissingValue => "missing_value",
            DefectKind::Placeholder => "placeholder",
            DefectKind::ImpossibleValue => "impossible_value",
            DefectKind::TruncatedRecord => "truncated_record",
            DefectKind::MixedUnit => "mixed_unit",
            DefectKind::LocalCode => "local_code",
            DefectKind::Latin1Encoding => "latin1_encoding",
        }
    }

    pub fn from_name(name: &str) -> Option<DefectKind> {
        DefectKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Everything one person contributes to the silos (made in parallel; line
/// and message numbers are given when written, in patient order).
#[derive(Debug, Clone, Default)]
pub struct Silos {
    /// Registration lines, each with the defects it carries.
    registration: Vec<(String, Vec<Defect>)>,
    /// Lab messages, each with the defects it carries.
    labs: Vec<(String, Vec<Defect>)>,
    clinic: Option<String>,
    pharmacy: Vec<Vec<String>>,
    crosswalk: Vec<[String; 4]>,
    linkage: Vec<[String; 3]>,
}

/// A bijection on u32 ids, so local ids never collide and do not give the
/// person index away.
fn scramble(index: u64, multiplier: u32) -> u32 {
    (index as u32).wrapping_mul(multiplier)
}

pub fn lab_id(index: u64) -> String {
    format!("L{:010}", scramble(index, 2_654_435_761))
}

pub fn clinic_id(index: u64) -> String {
    format!("CL-{:010}", scramble(index, 2_246_822_519))
}

pub fn pharmacy_id(index: u64) -> String {
    format!("RX{:010}", scramble(index, 3_266_489_917))
}

/// The MRN a duplicate registration got: another number from the same
/// sequence space (9 prefix: the block a second registration desk used).
pub fn duplicate_mrn(mrn: &str) -> String {
    format!("9{mrn}")
}

fn layout() -> &'static Layout {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        // The embedded layout is checked by a unit test; an error here is a
        // bug in CareLab, not in any input.
        Layout::parse(Path::new("registration.layout.toml"), REGISTRATION_LAYOUT)
            .unwrap_or_else(|e| panic!("embedded registration layout: {e}"))
    })
}

/// LOINC -> the local mnemonics a lab system might send (from the map).
fn local_codes() -> &'static BTreeMap<String, Vec<String>> {
    static CODES: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    CODES.get_or_init(|| {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Ok(table) = LAB_CODES.parse::<toml::Table>() {
            if let Some(codes) = table.get("codes").and_then(|c| c.as_table()) {
                for (local, loinc) in codes {
                    if let Some(loinc) = loinc.as_str() {
                        out.entry(loinc.to_string())
                            .or_default()
                            .push(local.clone());
                    }
                }
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        out
    })
}

/// Make one person's share of every silo.
pub fn silos(pop: &Population, index: u64, clean: &PatientBundle) -> Silos {
    let mut out = Silos::default();
    let Some(p) = clean.patient.as_ref() else {
        return out;
    };
    let Some(knobs) = pop.scenario.legacy.as_ref() else {
        return out;
    };
    let mut rng = crate::rng::stream(pop.seed, "legacy", index);
    let person = p.patient_id.clone();
    let link = |out: &mut Silos, source: &str, id: &str| {
        out.linkage
            .push([source.to_string(), id.to_string(), person.clone()]);
    };

    // 1. Registration: the patient, maybe a duplicate, the encounters.
    link(&mut out, REGISTRATION, &p.mrn);
    out.registration
        .push(registration_patient(p, &p.mrn, knobs, &mut rng));
    let mut dup_mrn = None;
    if rng.random::<f64>() < knobs.duplicate_patients {
        let mrn = duplicate_mrn(&p.mrn);
        link(&mut out, REGISTRATION, &mrn);
        out.registration.push(duplicate_patient(p, &mrn, &mut rng));
        dup_mrn = Some(mrn);
    }
    let n_enc = clean.encounters.len();
    for (k, e) in clean.encounters.iter().enumerate() {
        // the duplicate registration holds the latest stay of a person with
        // several: the readmission only shows once the two are linked
        let mrn = match &dup_mrn {
            Some(d) if n_enc > 1 && k + 1 == n_enc => d.as_str(),
            _ => p.mrn.as_str(),
        };
        out.registration
            .push(registration_encounter(e, mrn, knobs, &mut rng));
    }

    // 2. Labs: every result, under the lab system's id.
    let lid = lab_id(index);
    if !clean.observations.is_empty() {
        link(&mut out, LABS, &lid);
        out.labs = lab_messages(pop, p, &lid, &clean.observations, knobs, &mut rng);
    }

    // 3. Clinic: some patients with a chronic condition are seen there.
    let cid = clinic_id(index);
    let seen_at_clinic = !clean.conditions.is_empty() && rng.random::<f64>() < 0.5;
    if seen_at_clinic {
        link(&mut out, CLINIC, &cid);
        out.clinic = Some(clinic_bundle(pop, p, &cid, clean, &mut rng));
    }

    // 4. Pharmacy: everyone who was dispensed a drug.
    let rid = pharmacy_id(index);
    if !clean.medications.is_empty() {
        link(&mut out, PHARMACY, &rid);
        out.pharmacy = clean
            .medications
            .iter()
            .map(|m| pharmacy_row(p, &rid, m))
            .collect();
    }

    // The crosswalk: the links the hospital's MPI already holds.
    let mut known = Vec::new();
    if !out.labs.is_empty() {
        known.push((LABS, lid));
    }
    if seen_at_clinic {
        known.push((CLINIC, cid));
    }
    if !out.pharmacy.is_empty() {
        known.push((PHARMACY, rid));
    }
    for (source, id) in known {
        if rng.random::<f64>() < knobs.crosswalk_share {
            out.crosswalk
                .push([REGISTRATION.into(), p.mrn.clone(), source.into(), id]);
        }
    }
    out
}

fn registration_patient(
    p: &Patient,
    mrn: &str,
    knobs: &Legacy,
    rng: &mut crate::rng::Rng,
) -> (String, Vec<Defect>) {
    let mut v = patient_values(p, mrn);
    let defect = |field: &str, kind, clean: String, injected: String| Defect {
        source: REGISTRATION,
        file: "registration.txt",
        record_id: mrn.to_string(),
        field: field.to_string(),
        kind,
        clean,
        injected,
    };
    let mut defects = Vec::new();
    let u = rng.random::<f64>();
    let (t, m, i) = (
        knobs.truncated_records,
        knobs.missing_values,
        knobs.impossible_values,
    );
    let d = knobs.mixed_date_formats;
    let bd = p.birth_date.format(DATE).to_string();
    if u < t {
        // cut below: the whole line is the field
    } else if u < t + m {
        let field = if rng.random::<bool>() {
            "sex"
        } else {
            "birth_date"
        };
        let clean = v.insert(field.into(), String::new()).unwrap_or_default();
        defects.push(defect(
            field,
            DefectKind::MissingValue,
            clean,
            String::new(),
        ));
    } else if u < t + m + i {
        v.insert("birth_date".into(), PLACEHOLDER_DATE.into());
        defects.push(defect(
            "birth_date",
            DefectKind::Placeholder,
            bd,
            PLACEHOLDER_DATE.into(),
        ));
    } else if u < t + m + i + d {
        let alt = p.birth_date.format(DATE_ALT).to_string();
        v.insert("birth_date".into(), alt.clone());
        defects.push(defect("birth_date", DefectKind::MixedDateFormat, bd, alt));
    }
    let line = write_line("P", &v);
    if u < t {
        return truncate(line, mrn, rng);
    }
    (line, defects)
}

/// A second registration of the same person with one variation: a typo in
/// the given name, or day and month of birth swapped.
fn duplicate_patient(p: &Patient, mrn: &str, rng: &mut crate::rng::Rng) -> (String, Vec<Defect>) {
    let mut v = patient_values(p, mrn);
    let day = p.birth_date.day();
    let month = p.birth_date.month();
    let swapped = NaiveDate::from_ymd_opt(p.birth_date.year(), day, month)
        .filter(|_| day != month && rng.random::<bool>());
    let (field, clean, injected) = match swapped {
        Some(d) => (
            "birth_date",
            p.birth_date.format(DATE).to_string(),
            d.format(DATE).to_string(),
        ),
        None => {
            let typo = typo(&p.given_name, rng);
            ("given_name", p.given_name.clone(), typo)
        }
    };
    v.insert(field.into(), injected.clone());
    let d = Defect {
        source: REGISTRATION,
        file: "registration.txt",
        record_id: mrn.to_string(),
        field: field.to_string(),
        kind: DefectKind::DuplicatePatient,
        clean,
        injected,
    };
    (write_line("P", &v), vec![d])
}

/// Swap two neighbouring letters (or double the last one): a typing slip.
fn typo(name: &str, rng: &mut crate::rng::Rng) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let n = chars.len();
    if n >= 3 {
        let i = rng.random_range(1..n - 1);
        if chars.get(i) != chars.get(i + 1) {
            chars.swap(i, i + 1);
            return chars.into_iter().collect();
        }
    }
    let mut s = name.to_string();
    if let Some(last) = chars.last() {
        s.push(*last);
    }
    s
}

fn registration_encounter(
    e: &Encounter,
    mrn: &str,
    knobs: &Legacy,
    rng: &mut crate::rng::Rng,
) -> (String, Vec<Defect>) {
    let admit = e.admit_time.format(DATETIME).to_string();
    // an open stay's discharge cell is empty, as such an export writes it
    let discharge = e
        .discharge_time
        .map(|t| t.format(DATETIME).to_string())
        .unwrap_or_default();
    let mut v: BTreeMap<String, String> = [
        ("encounter_id", e.encounter_id.clone()),
        ("patient_id", mrn.to_string()),
        ("class", e.class.clone()),
        ("admit_time", admit.clone()),
        ("discharge_time", discharge.clone()),
        ("disposition", e.disposition.clone()),
        ("reason_code", e.reason_code.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let defect = |field: &str, kind, clean: String, injected: String| Defect {
        source: REGISTRATION,
        file: "registration.txt",
        record_id: e.encounter_id.clone(),
        field: field.to_string(),
        kind,
        clean,
        injected,
    };
    let mut defects = Vec::new();
    let u = rng.random::<f64>();
    let (t, m, i) = (
        knobs.truncated_records,
        knobs.missing_values,
        knobs.impossible_values,
    );
    let d = knobs.mixed_date_formats;
    if u < t {
    } else if u < t + m {
        let field = ["admit_time", "discharge_time", "disposition"][rng.random_range(0..3)];
        let clean = v.insert(field.into(), String::new()).unwrap_or_default();
        defects.push(defect(
            field,
            DefectKind::MissingValue,
            clean,
            String::new(),
        ));
    } else if u < t + m + i {
        // discharged a day before admission: impossible, not a placeholder
        let bad = (e.admit_time - Duration::days(1))
            .format(DATETIME)
            .to_string();
        v.insert("discharge_time".into(), bad.clone());
        defects.push(defect(
            "discharge_time",
            DefectKind::ImpossibleValue,
            discharge,
            bad,
        ));
    } else if u < t + m + i + d {
        let admit = rng.random::<bool>();
        let (field, time) = match e.discharge_time {
            Some(t) if !admit => ("discharge_time", t),
            _ => ("admit_time", e.admit_time),
        };
        let alt = time.format(DATETIME_ALT).to_string();
        let clean = v.insert(field.into(), alt.clone()).unwrap_or_default();
        defects.push(defect(field, DefectKind::MixedDateFormat, clean, alt));
    }
    let line = write_line("E", &v);
    if u < t {
        return truncate(line, &e.encounter_id, rng);
    }
    (line, defects)
}

fn patient_values(p: &Patient, mrn: &str) -> BTreeMap<String, String> {
    [
        ("patient_id", mrn.to_string()),
        ("mrn", mrn.to_string()),
        ("family_name", p.family_name.clone()),
        ("given_name", p.given_name.clone()),
        ("sex", p.sex.clone()),
        ("birth_date", p.birth_date.format(DATE).to_string()),
        ("race", p.race.clone()),
        ("ethnicity", p.ethnicity.clone()),
        ("payer", p.payer.clone()),
        ("address_line", p.address_line.clone()),
        ("city", p.city.clone()),
        ("state", p.state.clone()),
        ("zip", p.zip.clone()),
        ("phone", p.phone.clone()),
        ("ssn", p.ssn.clone()),
        (
            "death_date",
            p.death_date
                .map(|d| d.format(DATE).to_string())
                .unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Write a line through the embedded layout; values that do not fit are
/// cut to the field width (the mainframe's own behaviour), which the
/// layout's widths make rare and which is not a recorded defect because
/// the clean value is what the export could hold.
fn write_line(code: &str, values: &BTreeMap<String, String>) -> String {
    let layout = layout();
    let fitted: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| {
            let width = layout
                .record(code)
                .and_then(|r| r.field(k))
                .map(|f| f.width)
                .unwrap_or(0);
            (k.clone(), v.chars().take(width).collect())
        })
        .collect();
    layout.write_line(code, &fitted).unwrap_or_default()
}

/// Cut a line short (an interrupted transfer): keeps at least the record
/// type and less than the whole.
fn truncate(line: String, record_id: &str, rng: &mut crate::rng::Rng) -> (String, Vec<Defect>) {
    let chars: Vec<char> = line.chars().collect();
    let n = chars.len().max(3);
    let keep = rng.random_range(n / 4..n * 3 / 4).max(1);
    let cut: String = chars.iter().take(keep).collect();
    let cut = cut.trim_end().to_string();
    let d = Defect {
        source: REGISTRATION,
        file: "registration.txt",
        record_id: record_id.to_string(),
        field: String::new(),
        kind: DefectKind::TruncatedRecord,
        clean: line,
        injected: cut.clone(),
    };
    (cut, vec![d])
}

/// The lab system's feed: results under its own patient id, some sent with
/// a local code, in the other unit, empty or impossible.
fn lab_messages(
    pop: &Population,
    p: &Patient,
    lid: &str,
    observations: &[Observation],
    knobs: &Legacy,
    rng: &mut crate::rng::Rng,
) -> Vec<(String, Vec<Defect>)> {
    let mut patient = p.clone();
    patient.patient_id = lid.to_string();
    patient.mrn = String::new();
    patient.ssn = String::new();
    let mut defects = Vec::new();
    let mut obs: Vec<Observation> = Vec::with_capacity(observations.len());
    for o in observations {
        let mut o = o.clone();
        o.patient_id = lid.to_string();
        defects.extend(lab_defects(pop, &mut o, knobs, rng));
        obs.push(o);
    }
    let bundle = PatientBundle {
        patient: Some(patient),
        observations: obs,
        ..PatientBundle::default()
    };
    let site = format!("{}-LAB", pop.scenario.population.site);
    let messages = hl7v2::messages(&bundle, &site);
    // each defect goes with the message that carries its observation (in
    // OBX-4; the generator's ids hold no delimiter)
    let mut out: Vec<(String, Vec<Defect>)> =
        messages.into_iter().map(|m| (m, Vec::new())).collect();
    let carries = |m: &str, id: &str| {
        m.split('\r')
            .any(|seg| seg.starts_with("OBX|") && seg.split('|').nth(4) == Some(id))
    };
    for d in defects {
        if let Some((_, list)) = out.iter_mut().find(|(m, _)| carries(m, &d.record_id)) {
            list.push(d);
        }
    }
    out
}

fn lab_defects(
    pop: &Population,
    o: &mut Observation,
    knobs: &Legacy,
    rng: &mut crate::rng::Rng,
) -> Vec<Defect> {
    let Some(m) = Measure::from_loinc(&o.code) else {
        return Vec::new();
    };
    let defect = |o: &Observation, field: &str, kind, clean: String, injected: String| Defect {
        source: LABS,
        file: "labs.hl7",
        record_id: o.observation_id.clone(),
        field: field.to_string(),
        kind,
        clean,
        injected,
    };
    let clean_value = format!("{}", o.value);
    let mut out = Vec::new();
    let u = rng.random::<f64>();
    if u < knobs.missing_values {
        o.value = f64::NAN;
        out.push(defect(
            o,
            "value",
            DefectKind::MissingValue,
            clean_value,
            String::new(),
        ));
        return out;
    }
    if u < knobs.missing_values + knobs.impossible_values {
        if rng.random::<bool>() {
            // the lab system's "no value": 999, or 9999 / 99999 for an
            // analyte where 999 is a result (glucose, BNP)
            let (_, hi) = m.plausible();
            o.value = [999.0, 9999.0, 99999.0]
                .into_iter()
                .find(|v| *v > hi)
                .unwrap_or(99999.0);
            out.push(defect(
                o,
                "value",
                DefectKind::Placeholder,
                clean_value,
                format!("{}", o.value),
            ));
        } else {
            // ten times the top of the plausible range: a slipped decimal
            let (_, hi) = m.plausible();
            o.value = round_to(hi * 10.0, 0);
            out.push(defect(
                o,
                "value",
                DefectKind::ImpossibleValue,
                clean_value,
                format!("{}", o.value),
            ));
        }
        return out;
    }
    let other_unit = match m {
        Measure::Glucose => Some(("mmol/L", 1.0 / super::site::GLUCOSE_MG_PER_MMOL, 0.0, 1)),
        Measure::Creatinine => Some(("µmol/L", super::site::CREATININE_UMOL_PER_MG, 0.0, 0)),
        Measure::Temperature => Some(("°F", 9.0 / 5.0, 32.0, 1)),
        Measure::Weight => Some(("lb", 1.0 / 0.453_592_37, 0.0, 1)),
        _ => None,
    };
    if let Some((unit, factor, offset, decimals)) = other_unit {
        if rng.random::<f64>() < knobs.mixed_units {
            let clean = format!("{} {}", o.value, o.unit);
            o.value = round_to(o.value * factor + offset, decimals);
            o.unit = unit.into();
            out.push(defect(
                o,
                "unit",
                DefectKind::MixedUnit,
                clean,
                format!("{} {}", o.value, o.unit),
            ));
        }
    }
    if let Some(locals) = local_codes().get(m.loinc()) {
        if !locals.is_empty() && rng.random::<f64>() < knobs.local_codes {
            let pick = rng.random_range(0..locals.len());
            if let Some(code) = locals.get(pick) {
                let clean = o.code.to_string();
                o.code = code.clone().into();
                o.system = super::site::local_system(&pop.scenario.population.site).into();
                out.push(defect(
                    o,
                    "code",
                    DefectKind::LocalCode,
                    clean,
                    code.clone(),
                ));
            }
        }
    }
    out
}

/// The partner clinic's record of a patient: its own ids, the chronic
/// conditions, a yearly office visit with blood pressure and weight (and
/// HbA1c for diabetics), and the drugs the patient takes.
fn clinic_bundle(
    pop: &Population,
    p: &Patient,
    cid: &str,
    clean: &PatientBundle,
    rng: &mut crate::rng::Rng,
) -> String {
    let mut patient = p.clone();
    patient.patient_id = cid.to_string();
    patient.mrn = String::new();
    patient.ssn = String::new();
    let mut b = PatientBundle {
        patient: Some(patient),
        ..PatientBundle::default()
    };
    for (k, c) in clean.conditions.iter().enumerate() {
        let mut c = c.clone();
        c.condition_id = format!("{cid}-C{:02}", k + 1);
        c.patient_id = cid.to_string();
        c.encounter_id = None;
        b.conditions.push(c);
    }
    let mean = |m: Measure| {
        let v: Vec<f64> = clean
            .observations
            .iter()
            .filter(|o| o.code == m.loinc() && o.value.is_finite())
            .map(|o| o.value)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let diabetic = clean
        .conditions
        .iter()
        .any(|c| Chronic::from_icd10(&c.code) == Some(Chronic::Diabetes));
    let mut measures = vec![(Measure::Sbp, 10.0), (Measure::Weight, 1.5)];
    if diabetic {
        measures.push((Measure::Hba1c, 0.4));
    }
    let start = pop.scenario.window.start;
    let years = (pop.scenario.window.end.year() - start.year()).max(0) + 1;
    for y in 0..years {
        let Some(day) = NaiveDate::from_ymd_opt(start.year() + y, 1, 1)
            .map(|d| d + Duration::days(rng.random_range(0..360)))
        else {
            continue;
        };
        if day > pop.scenario.window.end || p.death_date.is_some_and(|d| day >= d) {
            continue;
        }
        let Some(time) = day.and_hms_opt(rng.random_range(8..17), 0, 0) else {
            continue;
        };
        let enc_id = format!("{cid}-V{:02}", y + 1);
        b.encounters.push(Encounter {
            encounter_id: enc_id.clone(),
            patient_id: cid.to_string(),
            class: "AMB".into(),
            admit_time: time,
            discharge_time: Some(time + Duration::minutes(30)),
            disposition: "home".into(),
            reason_code: String::new(),
        });
        for (m, sd) in &measures {
            let Some(mu) = mean(*m) else { continue };
            let noise = Normal::new(0.0, *sd)
                .map(|n| n.sample(rng))
                .unwrap_or_default();
            let decimals = if matches!(m, Measure::Sbp) { 0 } else { 1 };
            b.observations.push(Observation {
                observation_id: format!("{enc_id}-{}", b.observations.len() + 1),
                patient_id: cid.to_string(),
                encounter_id: enc_id.clone(),
                time,
                code: m.loinc().into(),
                system: "http://loinc.org".into(),
                display: m.display().into(),
                value: round_to(mu + noise, decimals),
                unit: m.unit().into(),
            });
        }
    }
    if let Some(first) = b.encounters.first().cloned() {
        let mut seen: Vec<&str> = Vec::new();
        for m in &clean.medications {
            if seen.contains(&m.rxnorm.as_str()) {
                continue;
            }
            seen.push(&m.rxnorm);
            b.medications.push(Medication {
                medication_id: format!("{cid}-M{:02}", b.medications.len() + 1),
                patient_id: cid.to_string(),
                encounter_id: first.encounter_id.clone(),
                rxnorm: m.rxnorm.clone(),
                name: m.name.clone(),
                authored_time: first.admit_time,
            });
        }
    }
    fhir::bundle(&b).to_string()
}

fn pharmacy_row(p: &Patient, rid: &str, m: &Medication) -> Vec<String> {
    vec![
        m.medication_id.clone(),
        rid.to_string(),
        p.family_name.clone(),
        p.given_name.clone(),
        p.birth_date.format("%Y-%m-%d").to_string(),
        p.sex.clone(),
        p.zip.clone(),
        m.encounter_id.clone(),
        m.rxnorm.clone(),
        m.name.clone(),
        format_datetime(&m.authored_time),
    ]
}

/// Streams every person's silos into the files under `OUT/legacy/`.
pub struct Writer {
    dir: PathBuf,
    registration: AtomicFile,
    registration_lines: usize,
    labs: AtomicFile,
    lab_messages: usize,
    clinic: AtomicFile,
    clinic_bundles: usize,
    pharmacy: AtomicFile,
    pharmacy_lines: usize,
    crosswalk: csv::Writer<AtomicFile>,
    crosswalk_rows: usize,
    linkage: csv::Writer<AtomicFile>,
    linkage_rows: usize,
    defects: csv::Writer<AtomicFile>,
    defect_rows: BTreeMap<&'static str, u64>,
}

/// The columns of `truth/defects.csv`.
pub const DEFECT_COLUMNS: [&str; 8] = [
    "source",
    "file",
    "line",
    "record_id",
    "field",
    "kind",
    "clean_value",
    "injected_value",
];

impl Writer {
    /// Open every file under `out/legacy/`.
    pub fn create(out: &Path) -> Result<Writer> {
        let dir = out.join("legacy");
        let csv_file = |rel: &str, header: &[&str]| -> Result<csv::Writer<AtomicFile>> {
            let path = dir.join(rel);
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(AtomicFile::create(&path)?);
            w.write_record(header).map_err(|e| csv_err(&path, e))?;
            Ok(w)
        };
        let mut pharmacy = AtomicFile::create(dir.join("pharmacy.csv"))?;
        pharmacy
            .write_all(format!("{}\n", PHARMACY_COLUMNS.join(",")).as_bytes())
            .at(dir.join("pharmacy.csv"))?;
        Ok(Writer {
            registration: AtomicFile::create(dir.join("registration.txt"))?,
            registration_lines: 0,
            labs: AtomicFile::create(dir.join("labs.hl7"))?,
            lab_messages: 0,
            clinic: AtomicFile::create(dir.join("clinic").join("bundles.ndjson"))?,
            clinic_bundles: 0,
            pharmacy,
            pharmacy_lines: 1,
            crosswalk: csv_file("crosswalk.csv", &["source_a", "id_a", "source_b", "id_b"])?,
            crosswalk_rows: 0,
            linkage: csv_file(
                "truth/linkage.csv",
                &["source", "source_patient_id", "patient_id"],
            )?,
            linkage_rows: 0,
            defects: csv_file("truth/defects.csv", &DEFECT_COLUMNS)?,
            defect_rows: BTreeMap::new(),
            dir,
        })
    }

    fn defect(&mut self, line: usize, d: &Defect) -> Result<()> {
        let line = if line == 0 {
            String::new()
        } else {
            line.to_string()
        };
        self.defects
            .write_record([
                d.source,
                d.file,
                &line,
                &d.record_id,
                &d.field,
                d.kind.name(),
                &d.clean,
                &d.injected,
            ])
            .map_err(|e| csv_err(&self.dir.join("truth/defects.csv"), e))?;
        *self.defect_rows.entry(d.kind.name()).or_default() += 1;
        Ok(())
    }

    /// Append one person's silos, numbering lines and messages.
    pub fn write(&mut self, s: &Silos) -> Result<()> {
        for (line, defects) in &s.registration {
            self.registration_lines += 1;
            writeln!(self.registration, "{line}").at(self.dir.join("registration.txt"))?;
            for d in defects {
                self.defect(self.registration_lines, d)?;
            }
        }
        for (msg, defects) in &s.labs {
            self.lab_messages += 1;
            // CR ends each segment; a newline between messages keeps the
            // file readable and is ignored by HL7 parsers
            self.labs
                .write_all(msg.as_bytes())
                .and_then(|_| self.labs.write_all(b"\n"))
                .at(self.dir.join("labs.hl7"))?;
            for d in defects {
                self.defect(self.lab_messages, d)?;
            }
        }
        if let Some(b) = &s.clinic {
            self.clinic_bundles += 1;
            writeln!(self.clinic, "{b}").at(self.dir.join("clinic/bundles.ndjson"))?;
        }
        for row in &s.pharmacy {
            self.pharmacy_lines += 1;
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            let path = self.dir.join("pharmacy.csv");
            w.write_record(row).map_err(|e| csv_err(&path, e))?;
            let utf8 = w
                .into_inner()
                .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
            let text = String::from_utf8_lossy(&utf8);
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            self.pharmacy.write_all(&bytes).at(&path)?;
        }
        for row in &s.crosswalk {
            self.crosswalk_rows += 1;
            self.crosswalk
                .write_record(row)
                .map_err(|e| csv_err(&self.dir.join("crosswalk.csv"), e))?;
        }
        for row in &s.linkage {
            self.linkage_rows += 1;
            self.linkage
                .write_record(row)
                .map_err(|e| csv_err(&self.dir.join("truth/linkage.csv"), e))?;
        }
        Ok(())
    }

    /// Finish every file (plus the layout and the pipeline config); returns
    /// the files written with their checksums, and their counts.
    pub fn finish(mut self) -> Result<(Written, BTreeMap<String, u64>)> {
        // The pharmacy file's encoding is a defect of the whole file.
        let latin1 = Defect {
            source: PHARMACY,
            file: "pharmacy.csv",
            record_id: String::new(),
            field: "encoding".into(),
            kind: DefectKind::Latin1Encoding,
            clean: "UTF-8".into(),
            injected: "windows-1252".into(),
        };
        self.defect(0, &latin1)?;
        let mut files = Written::new();
        let commit = |f: AtomicFile, files: &mut Written| -> Result<()> {
            let path = f.path().to_path_buf();
            files.push((path, f.commit()?));
            Ok(())
        };
        commit(self.registration, &mut files)?;
        commit(self.labs, &mut files)?;
        commit(self.clinic, &mut files)?;
        commit(self.pharmacy, &mut files)?;
        for w in [self.crosswalk, self.linkage, self.defects] {
            let f = w
                .into_inner()
                .map_err(|e| Error::failure(format!("legacy csv: {e}")))?;
            commit(f, &mut files)?;
        }
        for (name, text) in [
            ("registration.layout.toml", REGISTRATION_LAYOUT),
            ("pipeline.toml", PIPELINE),
        ] {
            let path = self.dir.join(name);
            crate::artifact::write_atomic(&path, text.as_bytes())?;
            files.push((path, crate::artifact::sha256_hex(text.as_bytes())));
        }
        let mut counts = BTreeMap::new();
        counts.insert(
            "legacy_registration_lines".into(),
            self.registration_lines as u64,
        );
        counts.insert("legacy_lab_messages".into(), self.lab_messages as u64);
        counts.insert("legacy_clinic_bundles".into(), self.clinic_bundles as u64);
        counts.insert(
            "legacy_pharmacy_rows".into(),
            self.pharmacy_lines as u64 - 1,
        );
        counts.insert("legacy_crosswalk_links".into(), self.crosswalk_rows as u64);
        counts.insert("legacy_linkage_truth".into(), self.linkage_rows as u64);
        for (kind, n) in self.defect_rows {
            counts.insert(format!("legacy_defects_{kind}"), n);
        }
        Ok((files, counts))
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::failure(format!("writing {}: {e}", path.display()))
}

/// The ingest config written beside the silos.
pub const PIPELINE: &str = r#"# Ingest config for the legacy-messy silos (written by `carelab data generate`).
# Run: carelab ingest --config legacy/pipeline.toml --out clean
# Paths are relative to this file. Sources are listed in linkage priority.
crosswalk = "crosswalk.csv"
truth = "truth"

[[source]]
name = "registration"
kind = "fixed_width"
path = "registration.txt"
layout = "registration.layout.toml"

[[source]]
name = "labs"
kind = "hl7v2"
path = "labs.hl7"

[[source]]
name = "clinic"
kind = "fhir"
path = "clinic"

[[source]]
name = "pharmacy"
kind = "pharmacy_csv"
path = "pharmacy.csv"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_layout_parses_and_fits_the_records() {
        let l = layout();
        assert_eq!(l.records.len(), 2);
        let p = l.record("P").unwrap();
        assert!(p.field("birth_date").unwrap().width >= DATE_ALT.len() + 2);
        let e = l.record("E").unwrap();
        assert_eq!(e.field("admit_time").unwrap().width, 19);
    }

    #[test]
    fn local_ids_are_distinct_and_stable() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(lab_id).collect();
        assert_eq!(ids.len(), 10_000);
        assert_eq!(lab_id(1), "L2654435761");
        assert_ne!(clinic_id(5), pharmacy_id(5));
    }

    #[test]
    fn local_codes_come_from_the_map() {
        let codes = local_codes();
        assert!(codes["2345-7"].contains(&"GLU".to_string()));
        assert!(codes["8310-5"].contains(&"TEMP".to_string()));
    }
}
