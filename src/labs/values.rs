//! Reading one value out of a learner's file: a JSON pointer, a TOML key, a
//! statistic of a CSV column, a row count. Checks and expected values both
//! read through here.

use std::fs;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

use super::spec::Stat;

/// A value found in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl Found {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Found::Number(n) => Some(*n),
            Found::Text(t) => t.trim().parse().ok(),
            Found::Bool(_) => None,
        }
    }

    /// Text for messages and the answer key; numbers without float noise.
    pub fn display(&self) -> String {
        match self {
            Found::Number(n) => format_number(*n),
            Found::Text(t) => t.clone(),
            Found::Bool(b) => b.to_string(),
        }
    }
}

/// A number as people write it: integers without ".0", others with at most
/// six decimals and no trailing zeros.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let s = format!("{n:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn round(n: f64, places: u32) -> f64 {
    let f = 10f64.powi(places as i32);
    (n * f).round() / f
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).at(path)
}

/// The value at an RFC 6901 pointer in a JSON file.
pub fn json_value(path: &Path, pointer: &str) -> Result<Found> {
    let text = read_text(path)?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::bad_input(
            path.display(),
            Some(format!("line {}", e.line())),
            "valid JSON",
            e.to_string(),
        )
    })?;
    let v = doc.pointer(pointer).ok_or_else(|| {
        Error::bad_input(
            path.display(),
            None,
            format!("a value at {pointer}"),
            "nothing",
        )
    })?;
    from_json(path, pointer, v)
}

fn from_json(path: &Path, at: &str, v: &serde_json::Value) -> Result<Found> {
    match v {
        serde_json::Value::Number(n) => Ok(Found::Number(n.as_f64().unwrap_or(f64::NAN))),
        serde_json::Value::String(s) => Ok(Found::Text(s.clone())),
        serde_json::Value::Bool(b) => Ok(Found::Bool(*b)),
        other => Err(Error::bad_input(
            path.display(),
            Some(at.to_string()),
            "a number, text or true/false",
            short_kind(other),
        )),
    }
}

fn short_kind(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a table",
        _ => "a scalar",
    }
    .to_string()
}

/// The value of a dotted key (`section.name`) in a TOML file.
pub fn toml_value(path: &Path, key: &str) -> Result<Found> {
    let text = read_text(path)?;
    let doc: toml::Table =
        toml::from_str(&text).map_err(|e| crate::error::toml_error(path, &text, &e))?;
    let mut parts = key.split('.');
    let first = parts.next().unwrap_or_default();
    let mut v = doc.get(first);
    for part in parts {
        v = v.and_then(|t| t.get(part));
    }
    match v {
        Some(toml::Value::Integer(i)) => Ok(Found::Number(*i as f64)),
        Some(toml::Value::Float(f)) => Ok(Found::Number(*f)),
        Some(toml::Value::String(s)) => Ok(Found::Text(s.clone())),
        Some(toml::Value::Boolean(b)) => Ok(Found::Bool(*b)),
        Some(other) => Err(Error::bad_input(
            path.display(),
            Some(format!("key {key}")),
            "a number, text or true/false",
            other.type_str(),
        )),
        None => Err(Error::bad_input(
            path.display(),
            Some(format!("key {key}")),
            "a value",
            "no such key",
        )),
    }
}

/// Data rows (records after the header) of a CSV file.
pub fn csv_rows(path: &Path) -> Result<u64> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let mut n = 0;
    for record in reader.records() {
        record.map_err(|e| csv_error(path, e))?;
        n += 1;
    }
    Ok(n)
}

/// A statistic of one column of a CSV file; empty cells count as missing.
pub fn csv_stat(path: &Path, column: &str, stat: Stat) -> Result<Found> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let idx = headers.iter().position(|h| h == column).ok_or_else(|| {
        Error::bad_input(
            path.display(),
            Some("header".to_string()),
            format!("a column named {column}"),
            headers.iter().collect::<Vec<_>>().join(","),
        )
    })?;
    let (mut count, mut missing, mut sum) = (0u64, 0u64, 0f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let cell = record.get(idx).unwrap_or("").trim();
        if cell.is_empty() {
            missing += 1;
            continue;
        }
        count += 1;
        if matches!(stat, Stat::Count | Stat::Missing) {
            continue;
        }
        let x: f64 = cell.parse().map_err(|_| {
            Error::bad_input(
                path.display(),
                Some(format!("line {} column {column}", i + 2)),
                "a number",
                cell.to_string(),
            )
        })?;
        sum += x;
        min = min.min(x);
        max = max.max(x);
    }
    let none = || {
        Error::bad_input(
            path.display(),
            Some(format!("column {column}")),
            "at least one value",
            "none",
        )
    };
    Ok(Found::Number(match stat {
        Stat::Count => count as f64,
        Stat::Missing => missing as f64,
        Stat::Sum => sum,
        Stat::Mean if count > 0 => sum / count as f64,
        Stat::Min if count > 0 => min,
        Stat::Max if count > 0 => max,
        _ => return Err(none()),
    }))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let location = e.position().map(|p| format!("line {}", p.line()));
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::bad_input(
            path.display(),
            location,
            "well-formed CSV",
            format!("{other:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_from_json_toml_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("m.json"), r#"{"details":{"p":0.125,"s":"x"}}"#).unwrap();
        fs::write(d.join("a.toml"), "p = 0.13\n[sec]\nn = 3\n").unwrap();
        fs::write(d.join("t.csv"), "id,y\n1,1\n2,0\n3,\n4,1\n").unwrap();
        assert_eq!(
            json_value(&d.join("m.json"), "/details/p").unwrap(),
            Found::Number(0.125)
        );
        assert_eq!(
            toml_value(&d.join("a.toml"), "sec.n").unwrap(),
            Found::Number(3.0)
        );
        assert_eq!(csv_rows(&d.join("t.csv")).unwrap(), 4);
        let mean = csv_stat(&d.join("t.csv"), "y", Stat::Mean).unwrap();
        assert!((mean.as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            csv_stat(&d.join("t.csv"), "y", Stat::Missing).unwrap(),
            Found::Number(1.0)
        );
        let err = csv_stat(&d.join("t.csv"), "z", Stat::Mean)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.csv") && err.contains("column named z"),
            "{err}"
        );
        let err = toml_value(&d.join("a.toml"), "q").unwrap_err().to_string();
        assert!(err.contains("key q"), "{err}");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(round(0.123456789, 3)), "0.123");
    }
}
