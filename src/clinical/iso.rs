//! Dates and times as text without the `fmt` machinery.
//!
//! The generator writes a date or a date-time into nearly every row it
//! makes (millions per run), and chrono's `Debug`/`format` path walks a
//! format string and pads each number through `fmt` every time. These
//! functions write the same bytes directly for the dates that occur (years
//! 0 to 9999, whole seconds) and hand anything else back to chrono, so the
//! text never differs from what chrono writes; the tests hold them equal.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::Serializer;

/// `n` (0..=99) as two digits.
fn two(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// `n` (0..=9999) as four digits.
fn four(out: &mut [u8], n: u32) {
    two(&mut out[..2], n / 100);
    two(&mut out[2..], n % 100);
}

/// The year when it has four digits, the case every fast path covers.
fn four_digit_year(d: &NaiveDate) -> Option<u32> {
    u32::try_from(d.year()).ok().filter(|y| *y <= 9999)
}

/// `YYYY-MM-DD`, or `None` for a year outside 0..=9999.
pub fn date_ascii(d: &NaiveDate) -> Option<[u8; 10]> {
    let year = four_digit_year(d)?;
    let mut b = *b"0000-00-00";
    four(&mut b[0..4], year);
    two(&mut b[5..7], d.month());
    two(&mut b[8..10], d.day());
    Some(b)
}

/// `YYYY-MM-DDTHH:MM:SS`, or `None` for a year outside 0..=9999 or a time
/// with a fraction of a second (or a leap second).
pub fn datetime_ascii(t: &NaiveDateTime) -> Option<[u8; 19]> {
    if t.nanosecond() != 0 {
        return None;
    }
    let date = date_ascii(&t.date())?;
    let mut b = *b"0000-00-00T00:00:00";
    b[..10].copy_from_slice(&date);
    two(&mut b[11..13], t.hour());
    two(&mut b[14..16], t.minute());
    two(&mut b[17..19], t.second());
    Some(b)
}

/// The text of ASCII bytes this module made.
fn ascii(bytes: &[u8]) -> &str {
    // only ASCII digits and separators are ever written
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// `2023-04-05T14:30:00`, as `format("%Y-%m-%dT%H:%M:%S")` writes it.
pub fn format_datetime(t: &NaiveDateTime) -> String {
    match datetime_ascii(t) {
        Some(b) => ascii(&b).to_string(),
        None => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Append the number without padding.
fn push_unpadded(out: &mut String, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(ascii(&buf[i..]));
}

/// A date in one of the text styles, or `None` for a year outside
/// 0..=9999 (chrono writes those with a sign).
pub fn date_style_text(d: NaiveDate, style: super::records::DateStyle) -> Option<String> {
    use super::records::DateStyle;
    let year = four_digit_year(&d)?;
    let mut y = [0u8; 4];
    four(&mut y, year);
    let (month, day) = (d.month(), d.day());
    let mut out = String::with_capacity(18);
    match style {
        DateStyle::Iso => out.push_str(ascii(&date_ascii(&d)?)),
        DateStyle::Slash => {
            let mut md = *b"00/00/";
            two(&mut md[0..2], month);
            two(&mut md[3..5], day);
            out.push_str(ascii(&md));
            out.push_str(ascii(&y));
        }
        DateStyle::SlashUnpadded => {
            push_unpadded(&mut out, month);
            out.push('/');
            push_unpadded(&mut out, day);
            out.push('/');
            out.push_str(ascii(&y));
        }
        DateStyle::Month | DateStyle::MonthShort => {
            let name = MONTHS.get(month as usize - 1)?;
            out.push_str(if style == DateStyle::Month {
                name
            } else {
                name.get(..3)?
            });
            out.push(' ');
            push_unpadded(&mut out, day);
            out.push_str(", ");
            out.push_str(ascii(&y));
        }
    }
    Some(out)
}

/// Serialize a date-time as chrono's own `Serialize` does (its `Debug`
/// text), without going through `fmt` for the common case.
pub fn serialize_datetime<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    match datetime_ascii(t) {
        Some(b) => s.serialize_str(ascii(&b)),
        None => serde::Serialize::serialize(t, s),
    }
}

/// Serialize a date as chrono's own `Serialize` does.
pub fn serialize_date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    match date_ascii(d) {
        Some(b) => s.serialize_str(ascii(&b)),
        None => serde::Serialize::serialize(d, s),
    }
}

/// Serialize an optional date-time as serde would `Option<NaiveDateTime>`.
pub fn serialize_opt_datetime<S: Serializer>(
    t: &Option<NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    struct DateTime<'a>(&'a NaiveDateTime);
    impl serde::Serialize for DateTime<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_datetime(self.0, s)
        }
    }
    match t {
        Some(t) => s.serialize_some(&DateTime(t)),
        None => s.serialize_none(),
    }
}

/// Serialize an optional date as serde would `Option<NaiveDate>`.
pub fn serialize_opt_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    struct Date<'a>(&'a NaiveDate);
    impl serde::Serialize for Date<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_date(self.0, s)
        }
    }
    match d {
        Some(d) => s.serialize_some(&Date(d)),
        None => s.serialize_none(),
    }
}

/// `YYYY-MM-DD`. Dates as CareLab and FHIR write them are read digit by
/// digit; any other text goes to chrono's format parser, which decides as
/// it always did (the fast path only ever agrees with it, it never widens
/// it). chrono walks its format string for every date it reads.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    plain_date(s.as_bytes()).or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// `YYYY-MM-DDTHH:MM:SS`, likewise (see `parse_date`).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    plain_datetime(s.as_bytes())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok())
}

/// `YYYY-MM-DD` with four-digit years and two-digit months and days only.
fn plain_date(b: &[u8]) -> Option<NaiveDate> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = b else {
        return None;
    };
    let year = i32::try_from(number(&[y0, y1, y2, y3])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&[m0, m1])?, number(&[d0, d1])?)
}

/// `YYYY-MM-DDTHH:MM:SS`, every part with all its digits.
fn plain_datetime(b: &[u8]) -> Option<NaiveDateTime> {
    let (date, time) = b.split_at_checked(10)?;
    let &[b'T', h0, h1, b':', m0, m1, b':', s0, s1] = time else {
        return None;
    };
    plain_date(date)?.and_hms_opt(number(&[h0, h1])?, number(&[m0, m1])?, number(&[s0, s1])?)
}

/// ASCII digits as a number; None when any byte is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::records::DateStyle;

    #[test]
    fn dates_read_digit_by_digit_agree_with_chrono() {
        // Whatever the digit reader turns down goes to chrono unchanged:
        // both paths agree on every well-formed date of a leap year.
        let mut d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        for _ in 0..366 {
            let s = d.format("%Y-%m-%d").to_string();
            assert_eq!(plain_date(s.as_bytes()), Some(d));
            assert_eq!(NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok(), Some(d));
            d = d.succ_opt().unwrap();
        }
        for s in [
            "2023-04-05T14:30:09",
            "2024-02-29T00:00:00",
            "2023-12-31T23:59:59",
            "0000-01-01T00:00:00",
            "9999-12-31T23:59:59",
            "2023-02-29T00:00:00",
            "2023-13-01T00:00:00",
            "2023-04-05T24:00:00",
            "2023-04-05T14:30:60",
            "2016-12-31T23:59:60",
            "2023-4-05T14:30:09",
            "2023-04-05 14:30:09",
            "+2023-04-05T14:30:09",
            "2023-04-05T14:30:09Z",
            "2023-04-05T14:30",
            " 2023-04-05T14:30:07",
            "2023-04-0xT14:30:07",
            "",
        ] {
            let chrono = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok();
            assert_eq!(parse_datetime(s), chrono, "{s}");
            if let Some(t) = plain_datetime(s.as_bytes()) {
                assert_eq!(Some(t), chrono, "{s}");
            }
        }
        for s in [
            "2023-04-05",
            "0000-01-01",
            "2024-02-29",
            "2023-4-5",
            "2023-02-29",
            "2023-00-10",
            "20230405",
            "12023-04-05",
            "2023/04/05",
            "2023-04-05T00:00:00",
            " 2023-04-05",
            "",
        ] {
            let chrono = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            assert_eq!(parse_date(s), chrono, "{s}");
        }
    }

    fn dates() -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for (y, m, d) in [
            (2024, 1, 1),
            (2024, 2, 29),
            (1999, 12, 31),
            (2021, 8, 3),
            (2023, 10, 10),
            (5, 5, 9),
            (0, 1, 1),
            (9999, 12, 31),
            (10000, 1, 1),
            (-1, 3, 4),
        ] {
            out.push(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }
        // every day of a year, so every month name and day width occurs
        let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        out.extend((0..365).map(|k| start + chrono::Duration::days(k)));
        out
    }

    #[test]
    fn dates_and_times_read_as_chrono_writes_them() {
        for d in dates() {
            let chrono_json = serde_json::to_string(&d).unwrap();
            let mut ours = Vec::new();
            serialize_date(&d, &mut serde_json::Serializer::new(&mut ours)).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), chrono_json);
            for style in DateStyle::ALL {
                let expected = d.format(style.pattern()).to_string();
                let fast = date_style_text(d, style);
                if (0..=9999).contains(&d.year()) {
                    assert_eq!(fast.as_deref(), Some(expected.as_str()), "{d} {style:?}");
                } else {
                    assert_eq!(fast, None, "{d} {style:?}");
                }
            }
            for (h, m, s, nano) in [
                (0, 0, 0, 0),
                (9, 5, 7, 0),
                (23, 59, 59, 0),
                (12, 30, 0, 500_000_000),
                (23, 59, 59, 1_000_000_000),
            ] {
                let t = d.and_hms_nano_opt(h, m, s, nano).unwrap();
                assert_eq!(
                    format_datetime(&t),
                    t.format("%Y-%m-%dT%H:%M:%S").to_string()
                );
                let mut ours = Vec::new();
                serialize_datetime(&t, &mut serde_json::Serializer::new(&mut ours)).unwrap();
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    serde_json::to_string(&t).unwrap()
                );
            }
        }
        let t = NaiveDate::from_ymd_opt(2023, 4, 5)
            .unwrap()
            .and_hms_opt(14, 30, 0)
            .unwrap();
        assert_eq!(format_datetime(&t), "2023-04-05T14:30:00");
    }

    #[test]
    fn an_optional_date_serializes_as_serde_would() {
        for d in [None, NaiveDate::from_ymd_opt(2020, 2, 2)] {
            let mut ours = Vec::new();
            serialize_opt_date(&d, &mut serde_json::Serializer::new(&mut ours)).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&d).unwrap()
            );
        }
    }
}
