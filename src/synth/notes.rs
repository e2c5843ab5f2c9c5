//! Discharge notes with planted PHI, and the ground truth of every span.
//!
//! A note is built piece by piece: plain clinical text is appended as is,
//! and each identifier is appended through `phi`, which records its kind and
//! byte offsets. So the truth file cannot drift from the text: the spans are
//! where the writer put the values, not where a pattern later finds them.
//! Sentence shapes vary (titles, first-name-only, dates spelled out or
//! numeric, phone with or without brackets) so a scrubber has to generalise.
//! After the discharge summary each note carries one more entry from the
//! stay, written the way other staff write: a nursing note, a progress
//! note, a social work note or a telephone encounter, naming relatives,
//! clinicians, employers and facilities, with dates and phone numbers in
//! many shapes. These entries draw from their own random stream, so the
//! discharge summary before them reads the same as it always did.

use std::fmt::Write as _;

use chrono::NaiveDateTime;
use rand::seq::IndexedRandom;
use rand::Rng as _;

use super::names::{FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES};
use super::population::Population;
use crate::clinical::analysis::age_years;
use crate::clinical::{Chronic, DateStyle, Note, PatientBundle, PhiKind, PhiSpan};
use crate::rng;

/// A note being written, with the spans of the PHI it contains.
struct NoteText {
    note_id: String,
    text: String,
    spans: Vec<PhiSpan>,
}

impl NoteText {
    fn plain(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Formatted plain text, written in place (no string made for it).
    fn write(&mut self, args: std::fmt::Arguments) {
        // writing into a String cannot fail
        let _ = self.text.write_fmt(args);
    }

    fn phi(&mut self, kind: PhiKind, value: &str) {
        self.phi_parts(kind, &[value]);
    }

    /// One PHI value written from several pieces (a full name).
    fn phi_parts(&mut self, kind: PhiKind, parts: &[&str]) {
        let start = self.text.len();
        for part in parts {
            self.text.push_str(part);
        }
        self.spans.push(PhiSpan {
            note_id: self.note_id.clone(),
            kind,
            start,
            end: self.text.len(),
        });
    }
}

/// The date styles notes use, chosen by a note's style number.
fn date_text(t: &NaiveDateTime, style: u32) -> String {
    let style = match style {
        0 => DateStyle::Slash,
        1 => DateStyle::Month,
        _ => DateStyle::Iso,
    };
    crate::clinical::date_text(t.date(), style)
}

fn phone_text(phone: &str, style: u32) -> String {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != 10 || style == 0 {
        return phone.to_string();
    }
    format!("({}) {}-{}", &digits[..3], &digits[3..6], &digits[6..])
}

/// The header each kind of entry after the summary begins with.
#[cfg(test)]
const ENTRY_HEADERS: [&str; 4] = [
    "NURSING NOTE ",
    "PROGRESS NOTE (",
    "SOCIAL WORK NOTE, ",
    "TELEPHONE ENCOUNTER ",
];

/// Employers a social worker writes down (invented; no real company).
const EMPLOYERS: [&str; 8] = [
    "Harborview Logistics",
    "Northgate Foods",
    "Brightwater Insurance",
    "Maple Ridge School District",
    "Summit Auto Parts",
    "Crescent Bakery",
    "Riverside Printing",
    "Keystone Freight",
];

/// Facilities a patient comes from or goes to (invented).
const FACILITIES: [&str; 6] = [
    "Oakview Skilled Nursing Facility",
    "St. Brigid Rehabilitation Center",
    "Pine Hollow Assisted Living",
    "Mercy Ridge Hospital",
    "Lakeshore Home Health",
    "Cedar Court Nursing Home",
];

/// Relations, each with whether the relative is a woman.
const RELATIONS: [(&str, bool); 8] = [
    ("daughter", true),
    ("son", false),
    ("sister", true),
    ("brother", false),
    ("niece", true),
    ("nephew", false),
    ("granddaughter", true),
    ("neighbor", false),
];

fn pick<'a>(rng: &mut impl rand::Rng, from: &[&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or_default()
}

/// A phone number that is not the patient's, in one of many shapes.
fn other_phone(rng: &mut impl rand::Rng) -> String {
    let area = rng.random_range(201..990u32);
    let line = rng.random_range(100..200u32);
    match rng.random_range(0..5u32) {
        0 => format!("({area}) 555-0{line}"),
        1 => format!("{area}-555-0{line}"),
        2 => format!("{area}.555.0{line}"),
        3 => format!("{area} 555 0{line}"),
        _ => format!("+1 {area} 555 0{line}"),
    }
}

/// One more entry from the stay after the discharge summary, in another
/// writer's style, with its PHI recorded as it is written.
fn add_entry(
    n: &mut NoteText,
    p: &crate::clinical::Patient,
    discharged: &NaiveDateTime,
    rng: &mut impl rand::Rng,
) {
    let when = |rng: &mut dyn rand::RngCore| {
        let style = *DateStyle::ALL.choose(rng).unwrap_or(&DateStyle::Slash);
        crate::clinical::date_text(discharged.date(), style)
    };
    let (relation, woman) = *RELATIONS.choose(rng).unwrap_or(&RELATIONS[0]);
    let (relation, woman) = if rng.random_bool(0.25) {
        if p.sex == "F" {
            ("husband", false)
        } else {
            ("wife", true)
        }
    } else {
        (relation, woman)
    };
    let given = pick(rng, if woman { &FEMALE_NAMES } else { &MALE_NAMES });
    let surname = match rng.random_range(0..10u32) {
        0..=3 => Some(p.family_name.as_str()),
        4..=6 => Some(pick(rng, &FAMILY_NAMES)),
        _ => None,
    };
    let relative = |n: &mut NoteText| match surname {
        Some(s) => n.phi_parts(PhiKind::Name, &[given, " ", s]),
        None => n.phi(PhiKind::Name, given),
    };
    let clinician_names: &[&str] = if rng.random_bool(0.5) {
        &FEMALE_NAMES
    } else {
        &MALE_NAMES
    };
    let clinician_given = pick(rng, clinician_names);
    let clinician_family = pick(rng, &FAMILY_NAMES);
    let credential = pick(rng, &["MD", "DO", "NP", "PA-C", "RN"]);
    let phone = other_phone(rng);
    let capital = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match rng.random_range(0..4u32) {
        0 => {
            n.plain(
                "
NURSING NOTE ",
            );
            n.phi(PhiKind::Date, &when(rng));
            n.write(format_args!(
                " {:02}:{:02}
Pt resting, VSS, tolerating diet. ",
                rng.random_range(0..24u32),
                rng.random_range(0..60u32)
            ));
            n.plain(&capital(relation));
            n.plain(" ");
            relative(n);
            n.plain(" at bedside, updated on plan; asks to be called at ");
            n.phi(PhiKind::Phone, &phone);
            n.plain(" with any change. Meds given per MAR, reviewed with ");
            n.phi_parts(PhiKind::Name, &[clinician_given, " ", clinician_family]);
            n.plain(", ");
            n.plain(credential);
            n.plain(
                ".
",
            );
        }
        1 => {
            n.plain(
                "
PROGRESS NOTE (",
            );
            n.phi(PhiKind::Date, &when(rng));
            n.plain(
                ")
S: feels better, slept well.
O: afebrile, lungs clear.
A/P: continue current plan. Discussed with attending ",
            );
            n.phi_parts(PhiKind::Name, &[clinician_given, " ", clinician_family]);
            n.plain(". PCP: Dr. ");
            n.phi(PhiKind::Name, pick(rng, &FAMILY_NAMES));
            n.plain(". Plan reviewed with ");
            n.plain(relation);
            n.plain(" ");
            relative(n);
            n.plain(
                ".
",
            );
        }
        2 => {
            n.plain(
                "
SOCIAL WORK NOTE, ",
            );
            n.phi(PhiKind::Date, &when(rng));
            n.plain(
                "
Met with patient and ",
            );
            n.plain(relation);
            n.plain(" ");
            relative(n);
            n.plain(". Patient works at ");
            n.phi(PhiKind::Name, pick(rng, &EMPLOYERS));
            n.plain("; work note provided. Discharge planning: referral to ");
            n.phi(PhiKind::Name, pick(rng, &FACILITIES));
            n.plain(", intake on ");
            let intake = *discharged + chrono::Duration::days(rng.random_range(1..8));
            let style = *DateStyle::ALL.choose(rng).unwrap_or(&DateStyle::Slash);
            n.phi(
                PhiKind::Date,
                &crate::clinical::date_text(intake.date(), style),
            );
            n.plain(". ");
            n.plain(&capital(relation));
            n.plain(" can be reached at ");
            n.phi(PhiKind::Phone, &phone);
            n.plain(
                ".
",
            );
        }
        _ => {
            n.plain(
                "
TELEPHONE ENCOUNTER ",
            );
            n.phi(PhiKind::Date, &when(rng));
            n.plain(
                "
Call from ",
            );
            n.plain(relation);
            n.plain(" ");
            relative(n);
            n.plain(" (cell ");
            n.phi(PhiKind::Phone, &phone);
            n.plain(") asking about follow-up. Advised to keep the appointment. Routed to Dr. ");
            n.phi(PhiKind::Name, clinician_family);
            n.plain(
                ".
",
            );
        }
    }
}

/// Add one discharge note per stay to the bundle, with its PHI spans.
pub fn add_notes(pop: &Population, index: u64, b: &mut PatientBundle) {
    // read beside the notes being added, not copied: this runs per patient
    let Some(p) = b.patient.as_ref() else { return };
    let conditions: Vec<&str> = Chronic::ALL
        .into_iter()
        .filter(|c| {
            b.conditions
                .iter()
                .any(|x| Chronic::from_icd10(&x.code) == Some(*c))
        })
        .map(|c| c.display())
        .collect();
    // the same for every stay of the patient
    let history = if conditions.is_empty() {
        " with no chronic conditions on record".to_string()
    } else {
        format!(
            " with a history of {}",
            conditions.join(", ").to_lowercase()
        )
    };
    let mut rng = rng::stream(pop.seed, "notes", index);
    let mut entries = rng::stream(pop.seed, "note-entries", index);
    for (i, stay) in b.encounters.iter().enumerate() {
        // a discharge summary is written at discharge
        let Some(discharged) = stay.discharge_time else {
            continue;
        };
        let mut n = NoteText {
            note_id: format!("N{}", stay.encounter_id.trim_start_matches('E')),
            text: String::with_capacity(768),
            spans: Vec::with_capacity(16),
        };
        let style = rng.random_range(0..3u32);
        let title = if p.sex == "F" { "Ms." } else { "Mr." };

        n.plain("DISCHARGE SUMMARY\nPatient: ");
        n.phi_parts(PhiKind::Name, &[&p.given_name, " ", &p.family_name]);
        n.plain("  MRN: ");
        n.phi(PhiKind::Mrn, &p.mrn);
        n.plain("\nAdmitted: ");
        n.phi(PhiKind::Date, &date_text(&stay.admit_time, style));
        n.plain("  Discharged: ");
        n.phi(PhiKind::Date, &date_text(&discharged, style));
        n.plain("\n\n");

        n.plain(title);
        n.plain(" ");
        n.phi(PhiKind::Name, &p.family_name);
        let age = age_years(p.birth_date, discharged.date());
        if age > 89.0 {
            n.plain(" is a ");
            n.phi(PhiKind::Age, &format!("{age:.0}"));
            n.plain("-year-old");
        } else {
            n.write(format_args!(" is a {age:.0}-year-old"));
        }
        n.plain(if p.sex == "F" { " woman" } else { " man" });
        n.plain(&history);
        n.write(format_args!(
            ", admitted for {}. ",
            Chronic::from_icd10(&stay.reason_code).map_or("acute illness", |c| c.display())
        ));
        if i > 0 {
            n.plain("This is a repeat admission. ");
        }
        n.write(format_args!(
            "Length of stay {:.1} days. Discharged {} in stable condition.\n\n",
            (discharged - stay.admit_time).num_minutes() as f64 / 1440.0,
            stay.disposition.replace('_', " ")
        ));

        n.plain("Social: lives at ");
        n.phi(PhiKind::Address, &p.address_line);
        n.plain(", ");
        n.phi(PhiKind::City, &p.city);
        n.write(format_args!(", {} ", p.state));
        n.phi(PhiKind::Zip, &p.zip);
        n.plain(". ");
        match rng.random_range(0..3u32) {
            0 => {
                n.plain("Daughter can be reached at ");
                n.phi(PhiKind::Phone, &phone_text(&p.phone, 1));
                n.plain(".\n");
            }
            1 => {
                n.plain("Contact: ");
                n.phi(PhiKind::Phone, &phone_text(&p.phone, 0));
                n.plain(" or ");
                n.phi(PhiKind::Email, &p.email);
                n.plain(".\n");
            }
            _ => {
                n.plain("Patient prefers email (");
                n.phi(PhiKind::Email, &p.email);
                n.plain(").\n");
            }
        }

        n.plain("\nFollow-up: ");
        let follow = discharged + chrono::Duration::days(rng.random_range(5..15));
        n.plain("see primary care on ");
        n.phi(PhiKind::Date, &date_text(&follow, (style + 1) % 3));
        n.plain(". ");
        if rng.random_bool(0.15) {
            n.plain("Insurance verification used SSN ");
            n.phi(PhiKind::Ssn, &p.ssn);
            n.plain(". ");
        }
        if rng.random_bool(0.1) {
            let portal = ["portal.example-hospital.org", "myhealth.example.net"];
            n.plain("Results are on ");
            n.phi(
                PhiKind::Url,
                &format!(
                    "https://{}/p/{}",
                    portal.choose(&mut rng).unwrap_or(&portal[0]),
                    p.mrn
                ),
            );
            n.plain(". ");
        }
        if rng.random_bool(0.05) {
            n.plain("Remote monitoring device at ");
            n.phi(
                PhiKind::Ip,
                &format!(
                    "10.{}.{}.{}",
                    rng.random_range(0..256),
                    rng.random_range(0..256),
                    rng.random_range(1..255)
                ),
            );
            n.plain(". ");
        }
        n.write(format_args!("Call {} ", p.given_name));
        // the given name above is PHI too: record it
        let at = n.text.len() - p.given_name.len() - 1;
        n.spans.push(PhiSpan {
            note_id: n.note_id.clone(),
            kind: PhiKind::Name,
            start: at,
            end: at + p.given_name.len(),
        });
        n.plain("if symptoms return.\n");
        add_entry(&mut n, p, &discharged, &mut entries);

        b.notes.push(Note {
            note_id: n.note_id.clone(),
            patient_id: p.patient_id.clone(),
            encounter_id: stay.encounter_id.clone(),
            time: discharged,
            text: n.text,
        });
        b.phi_spans.extend(n.spans);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::scenario::Scenario;

    #[test]
    fn every_span_covers_the_identifier_it_names() {
        let scenario = Scenario::load("baseline").unwrap();
        let pop = Population::new(&scenario, 3);
        let mut seen_kinds = std::collections::BTreeSet::new();
        let mut entries = std::collections::BTreeSet::new();
        for index in 0..40 {
            let mut b = pop.patient(index);
            add_notes(&pop, index, &mut b);
            let p = b.patient.clone().unwrap();
            assert_eq!(b.notes.len(), b.encounters.len());
            for note in &b.notes {
                let entry = ENTRY_HEADERS.iter().find(|h| note.text.contains(*h));
                entries.insert(entry.copied().unwrap_or("none"));
                // the patient's own name is among the names
                assert!(note.text.contains(&p.family_name));
            }
            for span in &b.phi_spans {
                let note = b.notes.iter().find(|n| n.note_id == span.note_id).unwrap();
                let text = &note.text[span.start..span.end];
                seen_kinds.insert(span.kind);
                match span.kind {
                    PhiKind::Mrn => assert_eq!(text, p.mrn),
                    PhiKind::Zip => assert_eq!(text, p.zip),
                    PhiKind::City => assert_eq!(text, p.city),
                    PhiKind::Email => assert_eq!(text, p.email),
                    PhiKind::Ssn => assert_eq!(text, p.ssn),
                    // the patient, a relative, a clinician, an employer
                    // or a facility: a capitalised name
                    PhiKind::Name => assert!(
                        text.chars().next().is_some_and(char::is_uppercase),
                        "{text}"
                    ),
                    PhiKind::Phone => assert!(
                        text.chars().filter(char::is_ascii_digit).count() >= 10,
                        "{text}"
                    ),
                    _ => assert!(!text.is_empty()),
                }
            }
        }
        for k in [
            PhiKind::Name,
            PhiKind::Date,
            PhiKind::Mrn,
            PhiKind::Phone,
            PhiKind::Address,
            PhiKind::Zip,
        ] {
            assert!(seen_kinds.contains(&k), "{k:?} never planted");
        }
        // every note has one more entry after its summary, and every style
        // of entry is written
        let mut want: Vec<&str> = ENTRY_HEADERS.to_vec();
        want.sort();
        assert_eq!(entries.into_iter().collect::<Vec<_>>(), want);
    }
}
