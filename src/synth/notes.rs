//! Discharge notes with planted PHI, and the ground truth of every span.
//!
//! A note is built piece by piece: plain clinical text is appended as is,
//! and each identifier is appended through `phi`, which records its kind and
//! byte offsets. So the truth file cannot drift from the text: the spans are
//! where the writer put the values, not where a pattern later finds them.
//! Sentence shapes vary (titles, first-name-only, dates spelled out or
//! numeric, phone with or without brackets) so a scrubber has to generalise.

use std::fmt::Write as _;

use chrono::NaiveDateTime;
use rand::seq::IndexedRandom;
use rand::Rng as _;

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
        for index in 0..40 {
            let mut b = pop.patient(index);
            add_notes(&pop, index, &mut b);
            let p = b.patient.clone().unwrap();
            assert_eq!(b.notes.len(), b.encounters.len());
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
                    PhiKind::Name => assert!(text.contains(&p.family_name) || text == p.given_name),
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
    }
}
