//! Typed rows of the clean clinical model.
//!
//! Field names are the column names of the CSV and Parquet tables (see the
//! data dictionary in the book). Times are local hospital time without a zone,
//! written ISO 8601 (`2023-04-05T14:30:00`); values are in the unit given
//! beside them, which for clean data is the measure's canonical UCUM unit.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// Text that is usually one of the model's constants (a code, a unit, a
/// display name) and only sometimes read from a file: borrowing the
/// constant saves the generator an allocation per field and row.
pub type Text = std::borrow::Cow<'static, str>;

/// One person, with the direct identifiers de-identification must handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    /// Stable synthetic person id (e.g. `P0000042`); not an identifier a
    /// hospital would hold, but the key that ties the clean tables together.
    pub patient_id: String,
    /// Medical record number as the hospital assigns it.
    pub mrn: String,
    pub given_name: String,
    pub family_name: String,
    /// `F` or `M`.
    pub sex: String,
    #[serde(serialize_with = "super::iso::serialize_date")]
    pub birth_date: NaiveDate,
    /// OMB race category, e.g. `White`, `Black or African American`.
    pub race: String,
    /// `Hispanic or Latino` or `Not Hispanic or Latino`.
    pub ethnicity: String,
    /// `Medicare`, `Medicaid`, `Commercial`, `Self-pay`.
    pub payer: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    /// Five-digit ZIP code.
    pub zip: String,
    pub phone: String,
    pub email: String,
    pub ssn: String,
    /// Date of death when the person died in the window.
    #[serde(serialize_with = "super::iso::serialize_opt_date")]
    pub death_date: Option<NaiveDate>,
}

/// One visit: an inpatient stay, or an emergency or clinic visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encounter {
    pub encounter_id: String,
    pub patient_id: String,
    /// FHIR v3 ActCode class, `IMP` for inpatient.
    pub class: String,
    #[serde(serialize_with = "super::iso::serialize_datetime")]
    pub admit_time: NaiveDateTime,
    /// `None` while the patient is still in: a feed read before the
    /// discharge holds the stays of today's inpatients, which a warehouse
    /// keeps (their results belong to them) but the model cannot yet use as
    /// index stays.
    #[serde(serialize_with = "super::iso::serialize_opt_datetime")]
    pub discharge_time: Option<NaiveDateTime>,
    /// `Disposition::name()`, e.g. `home`, `skilled_nursing`, `expired`;
    /// empty for an open stay and for visits that are not admissions.
    pub disposition: String,
    /// ICD-10-CM code of the principal diagnosis of the stay.
    pub reason_code: String,
}

/// One measurement: a vital sign or a laboratory result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub observation_id: String,
    pub patient_id: String,
    pub encounter_id: String,
    #[serde(serialize_with = "super::iso::serialize_datetime")]
    pub time: NaiveDateTime,
    /// LOINC code in clean data; a local code in some messy sources.
    pub code: Text,
    /// Code system URI (`http://loinc.org` or a local system).
    pub system: Text,
    pub display: Text,
    pub value: f64,
    /// UCUM unit.
    pub unit: Text,
}

/// A diagnosis (chronic condition) known from `onset_date`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub condition_id: String,
    pub patient_id: String,
    /// The encounter where it was recorded, when there was one.
    pub encounter_id: Option<String>,
    /// ICD-10-CM code.
    pub code: String,
    pub display: String,
    #[serde(serialize_with = "super::iso::serialize_date")]
    pub onset_date: NaiveDate,
}

/// A medication order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medication {
    pub medication_id: String,
    pub patient_id: String,
    pub encounter_id: String,
    /// RxNorm concept id.
    pub rxnorm: String,
    pub name: String,
    #[serde(serialize_with = "super::iso::serialize_datetime")]
    pub authored_time: NaiveDateTime,
}

/// A free-text discharge note. It contains PHI by design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub note_id: String,
    pub patient_id: String,
    pub encounter_id: String,
    #[serde(serialize_with = "super::iso::serialize_datetime")]
    pub time: NaiveDateTime,
    pub text: String,
}

/// Kinds of PHI the generator plants in notes (HIPAA Safe Harbor categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhiKind {
    Name,
    Date,
    Mrn,
    Phone,
    Email,
    Ssn,
    Address,
    City,
    Zip,
    Url,
    Ip,
    Age,
}

impl PhiKind {
    /// Every kind, in the order of the declaration: the learned detector's
    /// classes follow it, so a shipped model depends on it.
    pub const ALL: [PhiKind; 12] = [
        PhiKind::Name,
        PhiKind::Date,
        PhiKind::Mrn,
        PhiKind::Phone,
        PhiKind::Email,
        PhiKind::Ssn,
        PhiKind::Address,
        PhiKind::City,
        PhiKind::Zip,
        PhiKind::Url,
        PhiKind::Ip,
        PhiKind::Age,
    ];
}

/// Ground truth: one PHI span in a note, as byte offsets into `Note::text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiSpan {
    pub note_id: String,
    pub kind: PhiKind,
    pub start: usize,
    pub end: usize,
}

/// Ground truth for one stay: the true readmission probability the generator
/// drew the label from, and the outcomes themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StayTruth {
    pub encounter_id: String,
    pub patient_id: String,
    /// True probability of 30-day readmission given the data at discharge.
    pub true_risk: f64,
    /// 1 when readmitted within 30 days of discharge.
    pub readmit_30d: u8,
    /// True probability of dying in hospital during this stay.
    pub true_mortality_risk: f64,
    pub died_in_hospital: u8,
}

/// Everything about one patient: the unit the generator makes and streams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatientBundle {
    pub patient: Option<Patient>,
    pub encounters: Vec<Encounter>,
    pub observations: Vec<Observation>,
    pub conditions: Vec<Condition>,
    pub medications: Vec<Medication>,
    pub notes: Vec<Note>,
    pub phi_spans: Vec<PhiSpan>,
    pub truth: Vec<StayTruth>,
}

/// Parse the ISO 8601 local date-time every clean table uses.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    super::iso::parse_datetime(s.trim())
}

pub fn format_datetime(t: &NaiveDateTime) -> String {
    super::iso::format_datetime(t)
}

/// The ways free text (a note, a letter) writes a date. The generator
/// writes notes in these styles and de-identification reads and rewrites
/// them, so both sides share one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `2021-08-30`
    Iso,
    /// `08/30/2021`
    Slash,
    /// `8/30/2021`
    SlashUnpadded,
    /// `August 30, 2021`
    Month,
    /// `Aug 30, 2021`
    MonthShort,
}

impl DateStyle {
    /// Every style, in the order `parse_date_text` tries them (the full
    /// month name before the short one: `May` is both).
    pub const ALL: [DateStyle; 5] = [
        DateStyle::Iso,
        DateStyle::Slash,
        DateStyle::SlashUnpadded,
        DateStyle::Month,
        DateStyle::MonthShort,
    ];

    pub(crate) fn pattern(self) -> &'static str {
        match self {
            DateStyle::Iso => "%Y-%m-%d",
            DateStyle::Slash => "%m/%d/%Y",
            DateStyle::SlashUnpadded => "%-m/%-d/%Y",
            DateStyle::Month => "%B %-d, %Y",
            DateStyle::MonthShort => "%b %-d, %Y",
        }
    }
}

/// A date written in `style`.
pub fn date_text(d: NaiveDate, style: DateStyle) -> String {
    super::iso::date_style_text(d, style).unwrap_or_else(|| d.format(style.pattern()).to_string())
}

/// A date written in one of the `DateStyle`s (month names in any case),
/// and the style; `None` for anything else, such as a two-digit year or a
/// date without a year. Only text that `date_text` writes back the same
/// way is accepted, so a rewritten date keeps the style it was found in.
pub fn parse_date_text(text: &str) -> Option<(NaiveDate, DateStyle)> {
    let text = text.trim();
    DateStyle::ALL.into_iter().find_map(|style| {
        let d = NaiveDate::parse_from_str(text, style.pattern()).ok()?;
        date_text(d, style)
            .eq_ignore_ascii_case(text)
            .then_some((d, style))
    })
}

#[cfg(test)]
impl Patient {
    /// A patient with every field filled, for tests.
    pub fn example() -> Patient {
        Patient {
            patient_id: "P1".into(),
            mrn: "M1".into(),
            given_name: "Ann".into(),
            family_name: "Lee".into(),
            sex: "F".into(),
            birth_date: NaiveDate::from_ymd_opt(1950, 6, 15).unwrap(),
            race: "White".into(),
            ethnicity: "Not Hispanic or Latino".into(),
            payer: "Medicare".into(),
            address_line: "1 Main St".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            zip: "62701".into(),
            phone: "217-555-0100".into(),
            email: "ann@example.org".into(),
            ssn: "900-00-0001".into(),
            death_date: None,
        }
    }
}

#[cfg(test)]
mod date_text_tests {
    use super::*;

    #[test]
    fn each_style_writes_and_reads_back() {
        let d = NaiveDate::from_ymd_opt(2021, 8, 3).unwrap();
        let written: Vec<String> = DateStyle::ALL.iter().map(|s| date_text(d, *s)).collect();
        assert_eq!(
            written,
            [
                "2021-08-03",
                "08/03/2021",
                "8/3/2021",
                "August 3, 2021",
                "Aug 3, 2021"
            ]
        );
        for (text, style) in written.iter().zip(DateStyle::ALL) {
            assert_eq!(parse_date_text(text), Some((d, style)), "{text}");
        }
        let may = NaiveDate::from_ymd_opt(2022, 5, 31).unwrap();
        assert_eq!(
            parse_date_text("may 31, 2022"),
            Some((may, DateStyle::Month))
        );
        for bad in [
            "12/31/23",
            "August 14",
            "08/3/2021",
            "Smarch 1, 2021",
            "2021-02-30",
        ] {
            assert_eq!(parse_date_text(bad), None, "{bad}");
        }
    }
}
