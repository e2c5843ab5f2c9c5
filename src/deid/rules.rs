//! The Safe Harbor and limited-data-set rules for single values: ZIP codes,
//! ages over 89, date elements, and the keyed per-patient date shift.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use super::pseudonym::Pseudonymizer;
use crate::clinical::{date_text, parse_date_text};

/// The ZIP3 areas with 20,000 people or fewer in the 2000 US Census, which
/// HHS guidance says must be written as `000` (45 CFR 164.514(b)(2)(i)(B);
/// list from the HHS "Guidance Regarding Methods for De-identification",
/// section on geographic units, based on Census 2000 ZCTA populations).
pub const RESTRICTED_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893",
];

/// Safe Harbor ZIP: the first three digits, or `000` for a restricted area
/// or a value that is not a ZIP code at all (never pass an unknown value on).
pub fn safe_harbor_zip(zip: &str) -> String {
    let digits: String = zip
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.len() < 5 {
        return "000".into();
    }
    let zip3 = &digits[..3];
    if RESTRICTED_ZIP3.contains(&zip3) {
        "000".into()
    } else {
        zip3.to_string()
    }
}

/// Whole years from `birth` to `at`.
pub fn age_years(birth: NaiveDate, at: NaiveDate) -> i64 {
    let mut age = i64::from(at.year() - birth.year());
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Age as published: the number of years, or `90+` above 89.
pub fn published_age(age: i64) -> String {
    if age > 89 {
        "90+".into()
    } else {
        age.to_string()
    }
}

/// A date or date-time cell, as it was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateCell {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl DateCell {
    pub fn parse(s: &str) -> Option<DateCell> {
        let s = s.trim();
        if let Some(t) = crate::clinical::parse_datetime(s) {
            return Some(DateCell::DateTime(t));
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
            return Some(DateCell::DateTime(t));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(DateCell::Date)
    }

    pub fn date(&self) -> NaiveDate {
        match self {
            DateCell::Date(d) => *d,
            DateCell::DateTime(t) => t.date(),
        }
    }

    pub fn year(&self) -> String {
        self.date().year().to_string()
    }

    pub fn shifted(&self, days: i64) -> DateCell {
        match self {
            DateCell::Date(d) => DateCell::Date(*d + Duration::days(days)),
            DateCell::DateTime(t) => DateCell::DateTime(*t + Duration::days(days)),
        }
    }

    pub fn format(&self) -> String {
        match self {
            DateCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            DateCell::DateTime(t) => crate::clinical::format_datetime(t),
        }
    }
}

/// The limited-data-set shift for one patient: derived from the keyed HMAC
/// of the patient id, so it is stable across tables and runs, unguessable
/// without the key, and never zero; within ±`max_days`.
pub fn date_shift_days(p: &Pseudonymizer, patient_id: &str, max_days: i64) -> i64 {
    let pseudo = p.pseudonym("dateshift", patient_id);
    let hex = pseudo.rsplit('-').next().unwrap_or("0");
    let n = u64::from_str_radix(hex, 16).unwrap_or(0);
    let span = (2 * max_days.max(1)) as u64;
    let k = (n % span) as i64; // 0 .. 2*max-1
    if k < max_days {
        k - max_days // -max .. -1
    } else {
        k - max_days + 1 // 1 .. max
    }
}

/// A date written in free text, shifted by `days` and written back in the
/// same style: `2021-08-30` (optionally with a time), or any other
/// `clinical::DateStyle` (`08/30/2021`, `8/30/2021`, `August 30, 2021`,
/// `Aug 30, 2021`). `None` for anything else (a two-digit year, a date
/// without a year): the caller then removes it rather than guess.
pub fn shift_date_text(text: &str, days: i64) -> Option<String> {
    if let Some(cell) = DateCell::parse(text) {
        // ISO date or date-time: keep the separator the text used
        let shifted = cell.shifted(days);
        return Some(match shifted {
            DateCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            DateCell::DateTime(t) if text.contains('T') => crate::clinical::format_datetime(&t),
            DateCell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        });
    }
    if let Some((date, style)) = parse_date_text(text) {
        return Some(date_text(date + Duration::days(days), style));
    }
    // a date with a clock time after it ("5/11/2023 14:32"): the date
    // moves, the time of day stays
    let (date, time) = text.trim().rsplit_once(' ')?;
    let clock = time.split(':').collect::<Vec<_>>();
    let is_clock = (2..=3).contains(&clock.len())
        && clock
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()));
    if !is_clock {
        return None;
    }
    let (date, style) = parse_date_text(date)?;
    Some(format!(
        "{} {time}",
        date_text(date + Duration::days(days), style)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_date_with_a_clock_time_moves_and_keeps_its_time() {
        assert_eq!(
            shift_date_text("5/11/2023 14:32", 3).as_deref(),
            Some("5/14/2023 14:32")
        );
        assert_eq!(
            shift_date_text("May 11, 2023 07:05:09", -11).as_deref(),
            Some("April 30, 2023 07:05:09")
        );
        assert_eq!(shift_date_text("5/11/23 14:32", 3), None, "two-digit year");
        assert_eq!(shift_date_text("5/11/2023 at noon", 3), None);
    }

    #[test]
    fn zip3_rule_edges() {
        assert_eq!(safe_harbor_zip("02139"), "021", "leading zero kept");
        assert_eq!(safe_harbor_zip("03601"), "000", "restricted 036");
        assert_eq!(safe_harbor_zip("89301"), "000", "restricted 893");
        assert_eq!(safe_harbor_zip("62704-1234"), "627");
        assert_eq!(safe_harbor_zip("6270"), "000", "not a ZIP");
        assert_eq!(safe_harbor_zip(""), "000");
    }

    #[test]
    fn ages_89_and_90() {
        let at = d("2024-06-01");
        assert_eq!(age_years(d("1934-06-02"), at), 89);
        assert_eq!(published_age(age_years(d("1934-06-02"), at)), "89");
        assert_eq!(age_years(d("1934-06-01"), at), 90);
        assert_eq!(published_age(age_years(d("1934-06-01"), at)), "90+");
    }

    #[test]
    fn shifts_are_keyed_bounded_and_nonzero() {
        let a = Pseudonymizer::new(&[7u8; 32]).unwrap();
        let b = Pseudonymizer::new(&[8u8; 32]).unwrap();
        let mut differ = 0;
        for i in 0..200 {
            let id = format!("P{i:07}");
            let s = date_shift_days(&a, &id, 180);
            assert!(s != 0 && (-180..=180).contains(&s));
            assert_eq!(s, date_shift_days(&a, &id, 180));
            if s != date_shift_days(&b, &id, 180) {
                differ += 1;
            }
        }
        assert!(differ > 190);
        let c = DateCell::parse("2023-01-31T10:00:00").unwrap();
        assert_eq!(shift_date_text("2023-01-31", 1).unwrap(), "2023-02-01");
        assert_eq!(
            shift_date_text("2023-01-31T10:00:00", -31).unwrap(),
            "2022-12-31T10:00:00"
        );
        assert_eq!(shift_date_text("01/31/2023", 1).unwrap(), "02/01/2023");
        assert_eq!(shift_date_text("1/31/2023", 1).unwrap(), "2/1/2023");
        assert_eq!(
            shift_date_text("August 14, 2021", 20).unwrap(),
            "September 3, 2021"
        );
        assert_eq!(shift_date_text("Feb 28, 2024", 1).unwrap(), "Feb 29, 2024");
        assert_eq!(shift_date_text("May 31, 2022", 1).unwrap(), "June 1, 2022");
        assert_eq!(shift_date_text("12/31/23", 1), None, "two-digit year");
        assert_eq!(shift_date_text("August 14", 1), None, "no year");
        assert_eq!(shift_date_text("Smarch 14, 2021", 1), None);
        assert_eq!(c.shifted(1).format(), "2023-02-01T10:00:00");
        assert_eq!(DateCell::parse("1950-02-03").unwrap().year(), "1950");
    }
}
