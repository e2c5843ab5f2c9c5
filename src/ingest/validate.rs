//! Validation rules (expectations) that turn raw records into clean records.
//!
//! Each rule either passes a field, repairs it (a date in another format, a
//! local code, another unit: the fix is safe and recorded) or rejects the
//! record, which then goes to quarantine with the rule as its reason code.
//! Rules that need more than one record (referential integrity, duplicates)
//! run later in the pipeline; their codes live here so the quality report has
//! one list.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::maps::{CodeResolution, Maps, UnitResolution};
use super::raw::{RawRecord, Table, IN_PROGRESS, STATUS_FIELD};
use crate::clinical::codes::{Disposition, Measure, LOINC, SNOMED};
use crate::clinical::records::{
    Condition, Encounter, Medication, Note, Observation, Patient, Text,
};

/// A validation rule; its snake_case name is the quarantine reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The source could not be read as its format (a broken HL7 message, a
    /// FHIR resource that is not valid): the parser's error is the detail.
    Unparseable,
    /// The record has fewer or more fields than its header or segment.
    Truncated,
    /// A required field is empty.
    Required,
    /// A date or time that is not ISO 8601 (repaired) or not a date (rejected).
    DateFormat,
    /// A number that does not parse.
    Number,
    /// A placeholder standing in for a missing value (999, -1, UNKNOWN, ...).
    Placeholder,
    /// A value outside the physiologically possible range.
    Range,
    /// A code mapped from a local system (repaired) or unmapped (rejected).
    CodeMap,
    /// A unit converted to the canonical one (repaired) or unknown (rejected).
    Unit,
    /// A record pointing at a patient or encounter that does not exist.
    Referential,
    /// Discharge before admission.
    TimeOrder,
    /// The same record id seen twice.
    Duplicate,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::Unparseable,
        Rule::Truncated,
        Rule::Required,
        Rule::DateFormat,
        Rule::Number,
        Rule::Placeholder,
        Rule::Range,
        Rule::CodeMap,
        Rule::Unit,
        Rule::Referential,
        Rule::TimeOrder,
        Rule::Duplicate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::Unparseable => "unparseable",
            Rule::Truncated => "truncated",
            Rule::Required => "required",
            Rule::DateFormat => "date_format",
            Rule::Number => "number",
            Rule::Placeholder => "placeholder",
            Rule::Range => "range",
            Rule::CodeMap => "code_map",
            Rule::Unit => "unit",
            Rule::Referential => "referential",
            Rule::TimeOrder => "time_order",
            Rule::Duplicate => "duplicate",
        }
    }
}

/// What a rule did to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Repaired,
    Rejected,
}

/// One rule firing on one field of one record. `detail` never holds an
/// identifier: it names the field and quotes codes, units or numbers only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub outcome: Outcome,
    pub field: String,
    pub detail: String,
}

/// Values that stand for "missing" in legacy systems. Configurable. A
/// number is a placeholder only where no result of the analyte can be (out
/// of `Measure::plausible` once in its canonical unit): 999 is a BNP, 9999
/// a creatinine sentinel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placeholders {
    pub numbers: Vec<f64>,
    pub text: Vec<String>,
    pub dates: Vec<NaiveDate>,
}

impl Default for Placeholders {
    fn default() -> Self {
        Placeholders {
            numbers: vec![999.0, 9999.0, 99999.0, -1.0],
            text: ["UNKNOWN", "UNK", "N/A", "NULL", "NONE", "?", "-"]
                .map(String::from)
                .to_vec(),
            dates: vec![
                NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default(),
                NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default(),
            ],
        }
    }
}

/// A measurement after mapping, with what the source sent kept beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedObservation {
    /// A measure of the model: LOINC code, canonical unit and converted
    /// value. Any other LOINC-coded result: its code, unit and value as
    /// sent (`value` NaN when the result is not a number).
    pub obs: Observation,
    /// The model's measure; `None` for a LOINC-coded result outside the
    /// model (kept, but no feature reads it).
    pub measure: Option<Measure>,
    pub source_code: String,
    pub source_unit: String,
    pub source_value: String,
    /// A text or date result (dates as ISO 8601), or a coded result's text.
    pub value_as_string: String,
    /// A coded result's code, as `system|code` when the system is known.
    pub value_as_concept: String,
}

/// A record that passed, in its clean form.
#[derive(Debug, Clone, PartialEq)]
pub enum Clean {
    Patient(Patient),
    Encounter(Encounter),
    Observation(MappedObservation),
    Condition(Condition),
    Medication(Medication),
    Note(Note),
}

/// The result of checking one record: the clean form unless a rule rejected
/// it, and every finding (repairs included).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub clean: Option<Clean>,
    pub findings: Vec<Finding>,
}

impl Checked {
    /// The first rejecting finding: the quarantine reason.
    pub fn rejection(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.outcome == Outcome::Rejected)
    }
}

/// Collects findings while one record is checked.
struct Ctx<'a> {
    rec: &'a RawRecord,
    rules: &'a Placeholders,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn reject(&mut self, rule: Rule, field: &str, detail: impl Into<String>) {
        self.push(rule, Outcome::Rejected, field, detail);
    }

    fn repair(&mut self, rule: Rule, field: &str, detail: impl Into<String>) {
        self.push(rule, Outcome::Repaired, field, detail);
    }

    fn push(&mut self, rule: Rule, outcome: Outcome, field: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            rule,
            outcome,
            field: field.to_string(),
            detail: detail.into(),
        });
    }

    fn is_placeholder_text(&self, v: &str) -> bool {
        self.rules.text.iter().any(|p| p.eq_ignore_ascii_case(v))
    }

    /// A required text field; placeholders count as missing.
    fn text(&mut self, field: &str) -> Option<String> {
        let v = self.rec.get(field);
        if v.is_empty() {
            self.reject(Rule::Required, field, "required, found empty");
            None
        } else if self.is_placeholder_text(v) {
            self.reject(Rule::Placeholder, field, "a placeholder instead of a value");
            None
        } else {
            Some(v.to_string())
        }
    }

    /// An optional text field: a placeholder is cleared and recorded.
    fn optional_text(&mut self, field: &str) -> String {
        let v = self.rec.get(field);
        if !v.is_empty() && self.is_placeholder_text(v) {
            self.repair(Rule::Placeholder, field, "placeholder cleared");
            return String::new();
        }
        v.to_string()
    }

    fn datetime(&mut self, field: &str) -> Option<NaiveDateTime> {
        let v = self.text(field)?;
        match parse_when(&v) {
            Some((t, true)) => Some(t),
            Some((t, false)) => {
                self.repair(Rule::DateFormat, field, "reformatted to ISO 8601");
                Some(t)
            }
            None => {
                self.reject(
                    Rule::DateFormat,
                    field,
                    "expected a date-time like 2023-04-05T14:30:00",
                );
                None
            }
        }
    }

    fn date(&mut self, field: &str) -> Option<NaiveDate> {
        let v = self.text(field)?;
        let d = self.parse_date_field(field, &v)?;
        if self.rules.dates.contains(&d) {
            self.reject(Rule::Placeholder, field, "a placeholder date");
            return None;
        }
        Some(d)
    }

    fn optional_date(&mut self, field: &str) -> Option<NaiveDate> {
        let v = self.optional_text(field);
        if v.is_empty() {
            return None;
        }
        self.parse_date_field(field, &v)
    }

    fn parse_date_field(&mut self, field: &str, v: &str) -> Option<NaiveDate> {
        match parse_date(v) {
            Some((d, true)) => Some(d),
            Some((d, false)) => {
                self.repair(Rule::DateFormat, field, "reformatted to ISO 8601");
                Some(d)
            }
            None => {
                self.reject(Rule::DateFormat, field, "expected a date like 2023-04-05");
                None
            }
        }
    }
}

const DATETIME_FORMATS: [&str; 8] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y%m%d%H%M%S",
    "%Y%m%d%H%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M",
];

const DATE_FORMATS: [&str; 3] = ["%Y%m%d", "%m/%d/%Y", "%d.%m.%Y"];

/// Parse a date-time in ISO 8601 (`true`) or one of the other formats legacy
/// systems write (`false`, US month/day order). A bare date means midnight.
pub fn parse_when(s: &str) -> Option<(NaiveDateTime, bool)> {
    let s = s.trim();
    if let Some(t) = crate::clinical::records::parse_datetime(s) {
        return Some((t, true));
    }
    // FHIR instants may carry fractions or a zone; the clock time is kept.
    if s.len() > 19 && s.is_char_boundary(19) {
        if let Some(t) = crate::clinical::records::parse_datetime(&s[..19]) {
            return Some((t, false));
        }
    }
    DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| parse_date(s).and_then(|(d, _)| d.and_hms_opt(0, 0, 0)))
        .map(|t| (t, false))
}

/// Parse a date in ISO 8601 (`true`) or another common format (`false`); a
/// date-time gives its date.
pub fn parse_date(s: &str) -> Option<(NaiveDate, bool)> {
    let s = s.trim();
    if let Some(d) = crate::clinical::iso::parse_date(s) {
        return Some((d, true));
    }
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| {
            crate::clinical::records::parse_datetime(s)
                .or_else(|| {
                    DATETIME_FORMATS
                        .iter()
                        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                })
                .map(|t| t.date())
        })
        .map(|d| (d, false))
}

/// Check one raw record against every single-record rule and map it.
pub fn check(rec: &RawRecord, maps: &Maps, rules: &Placeholders) -> Checked {
    let mut ctx = Ctx {
        rec,
        rules,
        findings: Vec::new(),
    };
    if let Some(error) = rec.fields.get(super::raw::PARSE_ERROR_FIELD) {
        ctx.reject(Rule::Unparseable, "", error.clone());
        return Checked {
            clean: None,
            findings: ctx.findings,
        };
    }
    if rec.fields.is_empty() {
        ctx.reject(
            Rule::Truncated,
            "",
            "the record has the wrong number of fields",
        );
        return Checked {
            clean: None,
            findings: ctx.findings,
        };
    }
    let clean = match rec.table {
        Table::Patient => patient(&mut ctx).map(Clean::Patient),
        Table::Encounter => encounter(&mut ctx).map(Clean::Encounter),
        Table::Observation => observation(&mut ctx, maps).map(Clean::Observation),
        Table::Condition => condition(&mut ctx, maps).map(Clean::Condition),
        Table::Medication => medication(&mut ctx).map(Clean::Medication),
        Table::Note => note(&mut ctx).map(Clean::Note),
    };
    let rejected = ctx.findings.iter().any(|f| f.outcome == Outcome::Rejected);
    Checked {
        clean: if rejected { None } else { clean },
        findings: ctx.findings,
    }
}

fn patient(ctx: &mut Ctx) -> Option<Patient> {
    let patient_id = ctx.text("patient_id");
    let sex = ctx.text("sex").and_then(|s| {
        let norm = match s.to_ascii_uppercase().as_str() {
            "F" | "FEMALE" => "F",
            "M" | "MALE" => "M",
            _ => "",
        };
        if norm.is_empty() {
            ctx.reject(Rule::CodeMap, "sex", "expected F or M");
            None
        } else {
            if norm != s {
                ctx.repair(Rule::CodeMap, "sex", "recoded to F/M");
            }
            Some(norm.to_string())
        }
    });
    let birth_date = ctx.date("birth_date");
    if let Some(b) = birth_date {
        let lo = NaiveDate::from_ymd_opt(1890, 1, 1).unwrap_or_default();
        let hi = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default();
        if b < lo || b > hi {
            ctx.reject(Rule::Range, "birth_date", "a birth year outside 1890..2100");
        }
    }
    let p = Patient {
        patient_id: patient_id?,
        mrn: ctx.optional_text("mrn"),
        given_name: ctx.optional_text("given_name"),
        family_name: ctx.optional_text("family_name"),
        sex: sex?,
        birth_date: birth_date?,
        race: ctx.optional_text("race"),
        ethnicity: ctx.optional_text("ethnicity"),
        payer: ctx.optional_text("payer"),
        address_line: ctx.optional_text("address_line"),
        city: ctx.optional_text("city"),
        state: ctx.optional_text("state"),
        zip: ctx.optional_text("zip"),
        phone: ctx.optional_text("phone"),
        email: ctx.optional_text("email"),
        ssn: ctx.optional_text("ssn"),
        death_date: ctx.optional_date("death_date"),
    };
    Some(p)
}

fn encounter(ctx: &mut Ctx) -> Option<Encounter> {
    let encounter_id = ctx.text("encounter_id");
    let patient_id = ctx.text("patient_id");
    let admit = ctx.datetime("admit_time");
    // An open stay (the source says the visit is still going on) has no
    // discharge yet; anywhere else an empty discharge time is missing data.
    let open =
        ctx.rec.get(STATUS_FIELD) == IN_PROGRESS && ctx.rec.get("discharge_time").trim().is_empty();
    let discharge = if open {
        Some(None)
    } else {
        ctx.datetime("discharge_time").map(Some)
    };
    if let (Some(a), Some(Some(d))) = (admit, discharge) {
        if d < a {
            ctx.reject(
                Rule::TimeOrder,
                "discharge_time",
                "discharge before admission",
            );
        }
    }
    let class = match ctx.optional_text("class") {
        c if c.is_empty() => {
            ctx.repair(Rule::Required, "class", "empty class taken as IMP");
            "IMP".to_string()
        }
        c => c,
    };
    // The model needs a disposition only for discharged inpatient stays
    // (its index discharges): other visits (AMB, EMER, ...) and open stays
    // are kept without one, as US Core and Synthea send them, and one the
    // model does not know (an emergency visit "admitted as inpatient") is
    // cleared, with a repair that says so, rather than costing the visit.
    let disposition = if class == "IMP" && !open {
        ctx.text("disposition").and_then(|d| disposition(ctx, &d))
    } else {
        match ctx.optional_text("disposition") {
            d if d.is_empty() => Some(d),
            d if known_disposition(&d).is_none() => {
                let why = if open {
                    "an open stay"
                } else {
                    "a visit that is not a stay"
                };
                ctx.repair(
                    Rule::CodeMap,
                    "disposition",
                    format!("{d:?} is not one of the model's dispositions and {why} needs none: cleared"),
                );
                Some(String::new())
            }
            d => disposition(ctx, &d),
        }
    };
    Some(Encounter {
        encounter_id: encounter_id?,
        patient_id: patient_id?,
        class,
        admit_time: admit?,
        discharge_time: discharge?,
        disposition: disposition?,
        reason_code: ctx.optional_text("reason_code"),
    })
}

/// A disposition read by name, NUBC code or words, and how it was read
/// (empty for its name).
fn known_disposition(d: &str) -> Option<(Disposition, String)> {
    if let Some(x) = Disposition::from_name(d) {
        Some((x, String::new()))
    } else if let Some(x) = Disposition::from_nubc(d) {
        Some((x, format!("NUBC {d}")))
    } else {
        Disposition::from_text(d).map(|x| (x, "text".to_string()))
    }
}

/// A disposition by name, NUBC code or words (`Discharge to home`).
fn disposition(ctx: &mut Ctx, d: &str) -> Option<String> {
    let Some((x, how)) = known_disposition(d) else {
        ctx.reject(
            Rule::CodeMap,
            "disposition",
            format!("expected a disposition name, NUBC code or text, found {d:?}"),
        );
        return None;
    };
    if !how.is_empty() {
        ctx.repair(
            Rule::CodeMap,
            "disposition",
            format!("{how} -> {}", x.name()),
        );
    }
    Some(x.name().to_string())
}

/// How a result's value reads (the raw record's `value_type`; a source
/// that only sends numbers leaves it out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Number,
    Text,
    Concept,
    Date,
}

impl ValueKind {
    fn of(rec: &RawRecord) -> ValueKind {
        match rec.get("value_type") {
            "text" => ValueKind::Text,
            "concept" => ValueKind::Concept,
            "date" => ValueKind::Date,
            _ => ValueKind::Number,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ValueKind::Number => "number",
            ValueKind::Text => "text",
            ValueKind::Concept => "coded",
            ValueKind::Date => "date",
        }
    }
}

/// A LOINC code as LOINC writes them: up to 7 digits, a dash and the
/// mod-10 check digit of those digits. Local codes sent with the LOINC
/// system (a `GLU` tagged `LN`) fail it.
pub fn is_loinc_code(code: &str) -> bool {
    let Some((body, check)) = code.trim().split_once('-') else {
        return false;
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(body) || body.len() > 7 || check.len() != 1 || !digits(check) {
        return false;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check.as_bytes()[0] - b'0')
}

/// The result's coding system is LOINC.
fn is_loinc_system(system: &str) -> bool {
    system == LOINC || system.eq_ignore_ascii_case("LN") || system.eq_ignore_ascii_case("LOINC")
}

/// A result: a measure of the model (found by LOINC code, or a local code
/// in lab-codes.toml) must be a number in a known unit within its plausible
/// range. Any other result coded in LOINC (a valid LOINC code with the
/// LOINC system) is kept as sent: number, text, coded value or date, with
/// no unit conversion or range (no feature reads it). A code neither is
/// quarantined as unmapped, to be added to the map.
fn observation(ctx: &mut Ctx, maps: &Maps) -> Option<MappedObservation> {
    let observation_id = ctx.text("observation_id");
    let patient_id = ctx.text("patient_id");
    // a result outside any visit (an outpatient lab) names none: OMOP's
    // visit_occurrence_id is nullable; one it names must exist (later)
    let encounter_id = Some(ctx.optional_text("encounter_id"));
    let time = ctx.datetime("time");
    let source_code = ctx.text("code")?;
    let kind = ValueKind::of(ctx.rec);
    // Some(measure or None outside the model); None: unmapped (rejected,
    // the value still checked so every finding on the record is reported)
    let resolved = match maps.resolve_code(&source_code) {
        Some(CodeResolution::Loinc(m)) => Some(Some(m)),
        Some(CodeResolution::Mapped(m)) => {
            ctx.repair(
                Rule::CodeMap,
                "code",
                format!("local {source_code} -> LOINC {}", m.loinc()),
            );
            Some(Some(m))
        }
        None if is_loinc_system(ctx.rec.get("system")) && is_loinc_code(&source_code) => Some(None),
        None => {
            ctx.reject(
                Rule::CodeMap,
                "code",
                format!("unmapped code {source_code:?}: add it to lab-codes.toml"),
            );
            None
        }
    };
    let measure = resolved.flatten();
    let source_value = ctx.rec.get("value").to_string();
    let source_unit = ctx.rec.get("unit").to_string();
    let comparator = ctx.rec.get("value_comparator");
    let shown_value = format!("{comparator}{source_value}");
    if let (Some(m), false) = (measure, kind == ValueKind::Number) {
        ctx.reject(
            Rule::Number,
            "value",
            format!(
                "expected a number for {}, found a {} result",
                m.feature(),
                kind.name()
            ),
        );
        return None;
    }
    let value = if source_value.is_empty() {
        ctx.reject(Rule::Required, "value", "required, found empty");
        None
    } else if ctx.is_placeholder_text(&source_value) {
        ctx.reject(
            Rule::Placeholder,
            "value",
            "a placeholder instead of a value",
        );
        None
    } else if kind != ValueKind::Number {
        Some(f64::NAN)
    } else {
        match source_value.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                ctx.reject(
                    Rule::Number,
                    "value",
                    format!("expected a number, found {source_value:?}"),
                );
                None
            }
        }
    };
    let (measure, value) = (resolved?, value?);
    // a model measure's code, name and unit are the program's own text,
    // borrowed rather than copied for every result
    let (code, display, unit, value): (Text, Text, Text, f64) = match measure {
        Some(m) => (
            m.loinc().into(),
            m.display().into(),
            m.unit().into(),
            measured(ctx, maps, m, value, &source_unit)?,
        ),
        None => (
            source_code.clone().into(),
            ctx.rec.get("display").to_string().into(),
            source_unit.clone().into(),
            value,
        ),
    };
    let value_as_concept = match (kind, ctx.rec.get("value_code")) {
        (ValueKind::Concept, "") => String::new(),
        (ValueKind::Concept, c) => match ctx.rec.get("value_code_system") {
            "" => c.to_string(),
            system => format!("{system}|{c}"),
        },
        _ => String::new(),
    };
    let value_as_string = match kind {
        ValueKind::Number => String::new(),
        _ => source_value.clone(),
    };
    Some(MappedObservation {
        obs: Observation {
            observation_id: observation_id?,
            patient_id: patient_id?,
            encounter_id: encounter_id?,
            time: time?,
            code,
            system: LOINC.into(),
            display,
            value,
            unit,
        },
        measure,
        source_code,
        source_unit,
        source_value: shown_value,
        value_as_string,
        value_as_concept,
    })
}

/// A model measure's value in its canonical unit, range-checked; `sent` is
/// the number as the source sent it, in its own unit.
fn measured(
    ctx: &mut Ctx,
    maps: &Maps,
    measure: Measure,
    sent: f64,
    source_unit: &str,
) -> Option<f64> {
    let value = match maps.to_canonical(measure, sent, source_unit) {
        Some(UnitResolution::Canonical) => sent,
        Some(UnitResolution::Converted { from, value: v }) => {
            ctx.repair(
                Rule::Unit,
                "unit",
                format!("{from} -> {} for {}", measure.unit(), measure.feature()),
            );
            round6(v)
        }
        None => {
            ctx.reject(
                Rule::Unit,
                "unit",
                format!(
                    "expected {} (or a unit in units.toml) for {}, found {source_unit:?}",
                    measure.unit(),
                    measure.feature()
                ),
            );
            return None;
        }
    };
    // A sentinel (999, -1, ...) is judged per analyte, in its canonical
    // unit: inside the plausible range it is a result like any other (a BNP
    // of 999 pg/mL, a glucose of 999 mg/dL), outside it the system's
    // "no value".
    let (lo, hi) = measure.plausible();
    if ctx.rules.numbers.contains(&sent) && !(lo..=hi).contains(&value) {
        ctx.reject(
            Rule::Placeholder,
            "value",
            format!(
                "placeholder {sent}: outside the plausible range of {} ({lo} to {hi} {})",
                measure.feature(),
                measure.unit()
            ),
        );
        return None;
    }
    if !(lo..=hi).contains(&value) {
        ctx.reject(
            Rule::Range,
            "value",
            format!(
                "{} between {lo} and {hi} {}, found {value}",
                measure.feature(),
                measure.unit()
            ),
        );
        return None;
    }
    Some(value)
}

/// A condition: ICD-10-CM as sent, or a code of another system written
/// `system|code` by its reader. SNOMED CT is mapped through
/// snomed-conditions.toml (a repair); a code no map knows is kept as sent,
/// and the pipeline lists it among the unmapped codes.
fn condition(ctx: &mut Ctx, maps: &Maps) -> Option<Condition> {
    let condition_id = ctx.text("condition_id");
    let patient_id = ctx.text("patient_id");
    let code = ctx.text("code");
    let onset = ctx.date("onset_date");
    let encounter_id = Some(ctx.optional_text("encounter_id")).filter(|e| !e.is_empty());
    let mut display = ctx.optional_text("display");
    let code = code.map(|code| match code.split_once('|') {
        None => code.to_ascii_uppercase(),
        Some((system, snomed)) if system == SNOMED => match maps.resolve_snomed_condition(snomed) {
            Some(m) => {
                ctx.repair(
                    Rule::CodeMap,
                    "code",
                    format!("SNOMED CT {snomed} -> ICD-10-CM {}", m.icd10cm),
                );
                display.clone_from(&m.display);
                m.icd10cm.clone()
            }
            None => code,
        },
        Some(_) => code,
    });
    Some(Condition {
        condition_id: condition_id?,
        patient_id: patient_id?,
        encounter_id,
        code: code?,
        display,
        onset_date: onset?,
    })
}

fn medication(ctx: &mut Ctx) -> Option<Medication> {
    let medication_id = ctx.text("medication_id");
    let patient_id = ctx.text("patient_id");
    let encounter_id = ctx.text("encounter_id");
    let rxnorm = ctx.text("rxnorm");
    let authored = ctx.datetime("authored_time");
    Some(Medication {
        medication_id: medication_id?,
        patient_id: patient_id?,
        encounter_id: encounter_id?,
        rxnorm: rxnorm?,
        name: ctx.optional_text("name"),
        authored_time: authored?,
    })
}

fn note(ctx: &mut Ctx) -> Option<Note> {
    let note_id = ctx.text("note_id");
    let patient_id = ctx.text("patient_id");
    // as for results: a note outside any visit names none
    let encounter_id = Some(ctx.optional_text("encounter_id"));
    let time = ctx.datetime("time");
    let text = ctx.text("text");
    Some(Note {
        note_id: note_id?,
        patient_id: patient_id?,
        encounter_id: encounter_id?,
        time: time?,
        // the text is kept byte for byte: PHI spans are offsets into it
        text: text.map(|_| ctx.rec.fields.get("text").cloned().unwrap_or_default())?,
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(table: Table, fields: &[(&str, &str)]) -> RawRecord {
        RawRecord {
            source: "test".into(),
            table,
            location: "line 2".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw: String::new(),
        }
    }

    fn obs(code: &str, value: &str, unit: &str) -> Checked {
        let rec = raw(
            Table::Observation,
            &[
                ("observation_id", "O1"),
                ("patient_id", "P1"),
                ("encounter_id", "E1"),
                ("time", "2023-01-02T03:04:05"),
                ("code", code),
                ("value", value),
                ("unit", unit),
            ],
        );
        check(&rec, &Maps::builtin().unwrap(), &Placeholders::default())
    }

    fn reason(c: &Checked) -> Option<Rule> {
        c.rejection().map(|f| f.rule)
    }

    #[test]
    fn observations_are_mapped_converted_and_range_checked() {
        let c = obs("GLU", "7.0", "mmol/L");
        let Some(Clean::Observation(m)) = &c.clean else {
            panic!("{c:?}")
        };
        assert_eq!(m.obs.code, "2345-7");
        assert_eq!(m.obs.unit, "mg/dL");
        assert!((m.obs.value - 126.112).abs() < 1e-9);
        assert_eq!(
            (
                m.source_code.as_str(),
                m.source_unit.as_str(),
                m.source_value.as_str()
            ),
            ("GLU", "mmol/L", "7.0")
        );
        let rules: Vec<Rule> = c.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec![Rule::CodeMap, Rule::Unit]);

        // a sentinel is judged per analyte: a value where it is plausible...
        assert_eq!(reason(&obs("2345-7", "999", "mg/dL")), None);
        assert_eq!(reason(&obs("BNP", "999", "pg/mL")), None);
        assert_eq!(reason(&obs("CREAT", "999", "umol/L")), None);
        // ...a placeholder where no result can be
        assert_eq!(
            reason(&obs("2160-0", "9999", "mg/dL")),
            Some(Rule::Placeholder)
        );
        assert_eq!(
            reason(&obs("2345-7", "9999", "mg/dL")),
            Some(Rule::Placeholder)
        );
        assert_eq!(
            reason(&obs("2345-7", "-1", "mg/dL")),
            Some(Rule::Placeholder)
        );
        assert_eq!(
            reason(&obs("2345-7", "UNKNOWN", "mg/dL")),
            Some(Rule::Placeholder)
        );
        assert_eq!(reason(&obs("2345-7", "5000", "mg/dL")), Some(Rule::Range));
        assert_eq!(reason(&obs("2345-7", "abc", "mg/dL")), Some(Rule::Number));
        assert_eq!(reason(&obs("2345-7", "100", "g/L")), Some(Rule::Unit));
        assert_eq!(reason(&obs("LOCAL-9", "100", "mg/dL")), Some(Rule::CodeMap));
        // °F that would be implausible as °C is converted first, then passes
        assert_eq!(reason(&obs("8310-5", "101.3", "[degF]")), None);
        assert_eq!(reason(&obs("8310-5", "101.3", "Cel")), Some(Rule::Range));
    }

    #[test]
    fn only_inpatient_stays_need_a_disposition_and_words_are_mapped() {
        let enc = |class: &str, disp: &str| {
            check(
                &raw(
                    Table::Encounter,
                    &[
                        ("encounter_id", "E1"),
                        ("patient_id", "P1"),
                        ("class", class),
                        ("admit_time", "2023-01-01T08:00:00"),
                        ("discharge_time", "2023-01-01T09:00:00"),
                        ("disposition", disp),
                    ],
                ),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        let amb = enc("AMB", "");
        let Some(Clean::Encounter(e)) = &amb.clean else {
            panic!("{amb:?}")
        };
        assert_eq!((e.class.as_str(), e.disposition.as_str()), ("AMB", ""));
        assert!(amb.findings.is_empty(), "{:?}", amb.findings);
        let missing = enc("IMP", "");
        assert_eq!(reason(&missing), Some(Rule::Required));
        assert_eq!(missing.rejection().unwrap().field, "disposition");
        // Synthea's text-only disposition, on a stay and on an emergency visit
        for class in ["IMP", "EMER"] {
            let home = enc(class, "Discharge to home");
            let Some(Clean::Encounter(e)) = &home.clean else {
                panic!("{home:?}")
            };
            assert_eq!(e.disposition, "home");
            assert_eq!(home.findings[0].detail, "text -> home");
        }
        // one the model does not know: a stay is rejected; a visit that
        // needs none is kept, the value cleared with a repair
        assert_eq!(reason(&enc("IMP", "moon")), Some(Rule::CodeMap));
        let ed = enc("EMER", "Admitted as Inpatient^Sample^ACR");
        let Some(Clean::Encounter(e)) = &ed.clean else {
            panic!("{ed:?}")
        };
        assert_eq!(e.disposition, "");
        assert_eq!(ed.findings.len(), 1, "{:?}", ed.findings);
        assert_eq!(ed.findings[0].outcome, Outcome::Repaired);
        assert!(ed.findings[0].detail.contains("needs none"));
    }

    #[test]
    fn a_stay_is_open_only_when_its_source_says_so() {
        let enc = |status: &str, discharge: &str, disp: &str| {
            check(
                &raw(
                    Table::Encounter,
                    &[
                        ("encounter_id", "E1"),
                        ("patient_id", "P1"),
                        ("class", "IMP"),
                        ("admit_time", "2023-01-01T08:00:00"),
                        ("discharge_time", discharge),
                        ("disposition", disp),
                        (STATUS_FIELD, status),
                    ],
                ),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        // a feed's inpatient still in: kept, no discharge, no disposition
        let open = enc(IN_PROGRESS, "", "");
        let Some(Clean::Encounter(e)) = &open.clean else {
            panic!("{open:?}")
        };
        assert_eq!((e.discharge_time, e.disposition.as_str()), (None, ""));
        assert!(open.findings.is_empty(), "{:?}", open.findings);
        // an export's empty discharge cell is missing data
        let missing = enc("", "", "home");
        assert_eq!(reason(&missing), Some(Rule::Required));
        assert_eq!(missing.rejection().unwrap().field, "discharge_time");
        // a finished stay must still have a disposition
        assert_eq!(
            reason(&enc("finished", "2023-01-02T08:00:00", "")),
            Some(Rule::Required)
        );
        // in progress but discharged after all: the discharge counts
        let done = enc(IN_PROGRESS, "2023-01-02T08:00:00", "home");
        let Some(Clean::Encounter(e)) = &done.clean else {
            panic!("{done:?}")
        };
        assert!(e.discharge_time.is_some());
    }

    #[test]
    fn snomed_conditions_are_mapped_or_kept_as_sent() {
        let cond = |code: &str| {
            check(
                &raw(
                    Table::Condition,
                    &[
                        ("condition_id", "C1"),
                        ("patient_id", "P1"),
                        ("code", code),
                        ("display", "Diabetes mellitus type 2 (disorder)"),
                        ("onset_date", "2020-05-01"),
                    ],
                ),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        let mapped = cond("http://snomed.info/sct|44054006");
        let Some(Clean::Condition(c)) = &mapped.clean else {
            panic!("{mapped:?}")
        };
        assert_eq!(
            (c.code.as_str(), c.display.as_str()),
            ("E11.9", "Type 2 diabetes mellitus without complications")
        );
        assert_eq!(
            mapped.findings[0].detail,
            "SNOMED CT 44054006 -> ICD-10-CM E11.9"
        );
        let kept = cond("http://snomed.info/sct|87433001");
        let Some(Clean::Condition(c)) = &kept.clean else {
            panic!("{kept:?}")
        };
        assert_eq!(c.code, "http://snomed.info/sct|87433001");
        assert!(kept.findings.is_empty());
        let Some(Clean::Condition(c)) = cond("i10").clean else {
            panic!()
        };
        assert_eq!(c.code, "I10");
    }

    #[test]
    fn encounters_check_time_order_and_dispositions() {
        let enc = |admit: &str, discharge: &str, disp: &str| {
            check(
                &raw(
                    Table::Encounter,
                    &[
                        ("encounter_id", "E1"),
                        ("patient_id", "P1"),
                        ("class", "IMP"),
                        ("admit_time", admit),
                        ("discharge_time", discharge),
                        ("disposition", disp),
                    ],
                ),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        let ok = enc("2023-01-01T08:00:00", "01/03/2023 10:30", "03");
        let Some(Clean::Encounter(e)) = &ok.clean else {
            panic!("{ok:?}")
        };
        assert_eq!(e.disposition, "skilled_nursing");
        assert_eq!(
            crate::clinical::records::format_datetime(&e.discharge_time.unwrap()),
            "2023-01-03T10:30:00"
        );
        assert_eq!(ok.findings.len(), 2, "{:?}", ok.findings);
        assert_eq!(
            reason(&enc("2023-01-05T08:00:00", "2023-01-03T10:30:00", "home")),
            Some(Rule::TimeOrder)
        );
        assert_eq!(
            reason(&enc("2023-13-05T08:00:00", "2023-01-03T10:30:00", "home")),
            Some(Rule::DateFormat)
        );
        assert_eq!(
            reason(&enc("2023-01-01T08:00:00", "2023-01-03T10:30:00", "moon")),
            Some(Rule::CodeMap)
        );
    }

    #[test]
    fn patients_need_id_sex_and_a_real_birth_date() {
        let pat = |dob: &str, sex: &str| {
            check(
                &raw(
                    Table::Patient,
                    &[
                        ("patient_id", "P1"),
                        ("sex", sex),
                        ("birth_date", dob),
                        ("given_name", "UNKNOWN"),
                    ],
                ),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        let ok = pat("19500615", "female");
        let Some(Clean::Patient(p)) = &ok.clean else {
            panic!("{ok:?}")
        };
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1950, 6, 15).unwrap());
        assert_eq!(p.sex, "F");
        assert_eq!(p.given_name, "", "a placeholder name is cleared");
        assert_eq!(reason(&pat("1900-01-01", "F")), Some(Rule::Placeholder));
        assert_eq!(reason(&pat("", "F")), Some(Rule::Required));
        assert_eq!(reason(&pat("1950-06-15", "X")), Some(Rule::CodeMap));
        let truncated = check(
            &raw(Table::Patient, &[]),
            &Maps::builtin().unwrap(),
            &Placeholders::default(),
        );
        assert_eq!(reason(&truncated), Some(Rule::Truncated));
    }

    #[test]
    fn loinc_codes_are_checked_by_their_check_digit() {
        for ok in ["2345-7", "8867-4", "59408-5", "1988-5", "600-7", "18842-5"] {
            assert!(is_loinc_code(ok), "{ok}");
        }
        for bad in [
            "2345-6",
            "GLU",
            "12345678-9",
            "2345",
            "-7",
            "23a5-7",
            "2345-77",
            "",
        ] {
            assert!(!is_loinc_code(bad), "{bad}");
        }
    }

    /// A result outside the model: kept as sent when coded in LOINC (a
    /// number, text, a coded value), quarantined as unmapped when local;
    /// a model measure sent as text is no number.
    #[test]
    fn results_outside_the_model_are_kept_when_coded_in_loinc() {
        let result = |code: &str, system: &str, extra: &[(&str, &str)]| {
            let mut fields = vec![
                ("observation_id", "O1"),
                ("patient_id", "P1"),
                ("encounter_id", ""),
                ("time", "2023-01-02T03:04:05"),
                ("code", code),
                ("system", system),
                ("display", "test"),
                ("value", "5"),
                ("unit", "mg/L"),
            ];
            for (k, v) in extra {
                fields.retain(|(name, _)| name != k);
                fields.push((k, v));
            }
            check(
                &raw(Table::Observation, &fields),
                &Maps::builtin().unwrap(),
                &Placeholders::default(),
            )
        };
        let crp = result("1988-5", LOINC, &[("value_comparator", "<")]);
        let Some(Clean::Observation(m)) = &crp.clean else {
            panic!("{crp:?}")
        };
        assert_eq!(m.measure, None);
        assert_eq!((m.obs.value, m.obs.unit.as_ref()), (5.0, "mg/L"));
        assert_eq!(m.source_value, "<5");
        assert_eq!(m.obs.encounter_id, "", "no visit: an outpatient result");
        let culture = result(
            "600-7",
            "LN",
            &[
                ("value_type", "concept"),
                ("value", "Staph aureus"),
                ("value_code", "3092008"),
                ("value_code_system", "SCT"),
            ],
        );
        let Some(Clean::Observation(m)) = &culture.clean else {
            panic!("{culture:?}")
        };
        assert!(m.obs.value.is_nan());
        assert_eq!(
            (m.value_as_concept.as_str(), m.value_as_string.as_str()),
            ("SCT|3092008", "Staph aureus")
        );
        // a check digit that is wrong: a local code after all
        assert_eq!(reason(&result("1988-4", LOINC, &[])), Some(Rule::CodeMap));
        // a LOINC-looking code under a local system
        assert_eq!(reason(&result("1988-5", "XYZ", &[])), Some(Rule::CodeMap));
        // glucose as text: the model needs a number
        let text = result(
            "2345-7",
            LOINC,
            &[("value_type", "text"), ("value", "high")],
        );
        assert_eq!(reason(&text), Some(Rule::Number));
    }
}
