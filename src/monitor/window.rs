//! Time windows for performance over time: calendar months, ISO weeks, or
//! blocks of N days counted from the first day in the data.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How rows are grouped in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSpec {
    Month,
    Week,
    Days(u32),
}

impl WindowSpec {
    /// Parse `month`, `week` or `N-days` (N >= 1).
    pub fn parse(text: &str) -> Result<WindowSpec> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "month" => return Ok(WindowSpec::Month),
            "week" => return Ok(WindowSpec::Week),
            _ => {}
        }
        t.strip_suffix("-days")
            .or_else(|| t.strip_suffix("-day"))
            .or_else(|| t.strip_suffix('d'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n >= 1)
            .map(WindowSpec::Days)
            .ok_or_else(|| {
                Error::usage(format!(
                    "--window must be month, week or N-days (e.g. 30-days), got {text:?}"
                ))
            })
    }
}

/// One window: a label and its first and last day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).map_or(d, |n| n - Duration::days(1))
}

/// The window a day falls in; `first` is the earliest day (for N-days).
fn window_of(day: NaiveDate, first: NaiveDate, spec: WindowSpec) -> Window {
    match spec {
        WindowSpec::Month => {
            let start = day.with_day(1).unwrap_or(day);
            Window {
                label: start.format("%Y-%m").to_string(),
                start,
                end: month_end(start),
            }
        }
        WindowSpec::Week => {
            let start = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            let w = day.iso_week();
            Window {
                label: format!("{}-W{:02}", w.year(), w.week()),
                start,
                end: start + Duration::days(6),
            }
        }
        WindowSpec::Days(n) => {
            let n = i64::from(n);
            let k = (day - first).num_days().div_euclid(n);
            let start = first + Duration::days(k * n);
            Window {
                label: start.format("%Y-%m-%d").to_string(),
                start,
                end: start + Duration::days(n - 1),
            }
        }
    }
}

/// Row indices grouped by window, windows in time order; undated rows are
/// left out (the caller counts them).
pub fn windows(times: &[Option<NaiveDateTime>], spec: WindowSpec) -> Vec<(Window, Vec<usize>)> {
    let Some(first) = times.iter().flatten().map(|t| t.date()).min() else {
        return Vec::new();
    };
    let mut groups: BTreeMap<Window, Vec<usize>> = BTreeMap::new();
    for (i, t) in times.iter().enumerate() {
        if let Some(t) = t {
            groups
                .entry(window_of(t.date(), first, spec))
                .or_default()
                .push(i);
        }
    }
    groups.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<NaiveDateTime> {
        crate::clinical::parse_datetime(s)
    }

    #[test]
    fn specs_parse_and_bad_ones_are_usage_errors() {
        assert_eq!(WindowSpec::parse("month").unwrap(), WindowSpec::Month);
        assert_eq!(WindowSpec::parse("Week").unwrap(), WindowSpec::Week);
        assert_eq!(WindowSpec::parse("30-days").unwrap(), WindowSpec::Days(30));
        assert!(WindowSpec::parse("0-days").is_err());
        assert!(WindowSpec::parse("fortnight").is_err());
    }

    #[test]
    fn rows_group_by_month_week_and_day_blocks() {
        let t = [
            at("2024-01-31T10:00:00"),
            None,
            at("2024-02-01T00:00:00"),
            at("2024-01-02T00:00:00"),
        ];
        let m = windows(&t, WindowSpec::Month);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0.label, "2024-01");
        assert_eq!(m[0].0.end, NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
        assert_eq!(m[0].1, vec![0, 3]);
        assert_eq!(m[1].1, vec![2]);
        let w = windows(&t, WindowSpec::Week);
        assert_eq!(w[0].0.label, "2024-W01");
        assert_eq!(w.iter().map(|x| x.1.len()).sum::<usize>(), 3);
        let d = windows(&t, WindowSpec::Days(30));
        assert_eq!(d[0].0.label, "2024-01-02");
        assert_eq!(d[0].1, vec![0, 3]);
        assert_eq!(d[1].0.label, "2024-02-01");
    }
}
