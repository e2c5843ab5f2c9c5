//! Reading the two sides: an analysis table (CSV or Parquet), a folder
//! holding one (a generated dataset, an ingest output, a training run), a
//! serving prediction log (JSON Lines), or a saved profile; and a labels
//! file to join onto a prediction log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::profile::{CodeSample, Column, Profile, Sample, PROFILE_FORMAT};
use crate::clinical::analysis::{FeatureKind, FeatureValue, FEATURES};
use crate::clinical::{parse_datetime, AnalysisRow, Condition, Observation};
use crate::error::{Error, IoContext, Result};
use crate::formats::table::read_table;

/// What a path given as a side turned out to be.
pub enum Input {
    /// An analysis table, with its rows kept for scoring.
    Data {
        sample: Sample,
        rows: Vec<AnalysisRow>,
    },
    /// A prediction log: features and scores as served.
    Log(Sample),
    /// A saved reference profile.
    Profile(Box<Profile>),
}

/// Read a side, deciding what it is from the path.
pub fn read_input(path: &Path) -> Result<Input> {
    if path.is_dir() {
        return read_folder(path);
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        return Ok(Input::Log(read_log(path)?));
    }
    if name.ends_with(".json") {
        return Ok(Input::Profile(Box::new(read_profile(path)?)));
    }
    if name.ends_with(".csv") || name.ends_with(".parquet") {
        let rows = read_table::<AnalysisRow>(path)?;
        let sample = sample_from_rows(&path.display().to_string(), &rows, None);
        return Ok(Input::Data { sample, rows });
    }
    if !path.exists() {
        return Err(Error::bad_input(
            path.display(),
            None,
            "an analysis table, a data folder, a prediction log or a profile",
            "nothing at that path",
        ));
    }
    Err(Error::bad_input(
        path.display(),
        None,
        "a .csv or .parquet analysis table, a .jsonl prediction log, a .json profile or a folder",
        "a file of another kind",
    ))
}

/// A folder: its analysis table (Parquet preferred, it keeps types), and
/// the clean-model observation and condition tables when both are there;
/// a training run's folder points at the table it trained on.
fn read_folder(dir: &Path) -> Result<Input> {
    let table = ["analysis.parquet", "analysis.csv"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    let table = match table {
        Some(t) => t,
        None if dir.join("model.json").is_file() => {
            PathBuf::from(crate::train::Model::load(dir)?.info().data_path.clone())
        }
        None => {
            return Err(Error::bad_input(
                dir.display(),
                None,
                "a folder holding analysis.csv or analysis.parquet (a dataset, an ingest output or a run)",
                "no analysis table in it",
            ))
        }
    };
    let rows = read_table::<AnalysisRow>(&table)?;
    let codes = read_codes(dir)?;
    let sample = sample_from_rows(&dir.display().to_string(), &rows, codes);
    Ok(Input::Data { sample, rows })
}

fn find_table(dir: &Path, name: &str) -> Option<PathBuf> {
    ["parquet", "csv"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// Observation values by (code, unit) and condition counts by code.
fn read_codes(dir: &Path) -> Result<Option<CodeSample>> {
    let (Some(obs), Some(cond)) = (
        find_table(dir, "observations"),
        find_table(dir, "conditions"),
    ) else {
        return Ok(None);
    };
    let mut codes = CodeSample::default();
    for o in read_table::<Observation>(&obs)? {
        let entry = codes
            .observations
            .entry((o.code.into_owned(), o.unit.into_owned()))
            .or_insert_with(|| (o.display.into_owned(), Vec::new()));
        entry.1.push(o.value);
    }
    for c in read_table::<Condition>(&cond)? {
        codes
            .conditions
            .entry(c.code)
            .or_insert_with(|| (c.display, 0))
            .1 += 1;
    }
    Ok(Some(codes))
}

/// Feature columns of analysis rows, with labels and discharge times.
pub fn sample_from_rows(source: &str, rows: &[AnalysisRow], codes: Option<CodeSample>) -> Sample {
    let mut columns = BTreeMap::new();
    for (name, kind) in FEATURES {
        let values = rows.iter().map(|r| r.feature(name));
        let column = match kind {
            FeatureKind::Numeric => Column::Numeric(
                values
                    .map(|v| match v {
                        Some(FeatureValue::Num(x)) => x,
                        _ => None,
                    })
                    .collect(),
            ),
            FeatureKind::Binary | FeatureKind::Categorical => {
                Column::Categorical(values.map(|v| v.and_then(category)).collect())
            }
        };
        columns.insert(name.to_string(), (kind, column));
    }
    Sample {
        source: source.into(),
        rows: rows.len(),
        columns,
        scores: None,
        labels: Some(rows.iter().map(|r| Some(r.readmit_30d == 1)).collect()),
        times: rows
            .iter()
            .map(|r| parse_datetime(&r.discharge_time))
            .collect(),
        stays: rows.iter().map(|r| Some(r.stay_id.clone())).collect(),
        codes,
    }
}

/// A categorical or binary value as a category name ("0"/"1" for binary).
fn category(v: FeatureValue) -> Option<String> {
    match v {
        FeatureValue::Cat(s) if s.is_empty() => None,
        FeatureValue::Cat(s) => Some(s),
        FeatureValue::Num(Some(x)) if x.fract() == 0.0 => Some(format!("{x:.0}")),
        FeatureValue::Num(Some(x)) => Some(x.to_string()),
        FeatureValue::Num(None) => None,
    }
}

/// Read a prediction log into a sample: features by name (a feature the
/// log lacks is missing), the served score, the scoring time, the stay
/// pseudonym (kept in `stays` for joining labels). The log is read a line
/// at a time into the columns, never held whole.
pub fn read_log(path: &Path) -> Result<Sample> {
    let mut numeric: Vec<(&str, Vec<Option<f64>>)> = Vec::new();
    let mut categorical: Vec<(&str, FeatureKind, Vec<Option<String>>)> = Vec::new();
    for (name, kind) in FEATURES {
        match kind {
            FeatureKind::Numeric => numeric.push((name, Vec::new())),
            FeatureKind::Binary | FeatureKind::Categorical => {
                categorical.push((name, kind, Vec::new()))
            }
        }
    }
    let (mut scores, mut times, mut stays) = (Vec::new(), Vec::new(), Vec::new());
    let rows = crate::serve::recorder::for_each_prediction(path, |r| {
        for (name, values) in &mut numeric {
            values.push(r.features.get(*name).and_then(|v| v.as_f64()));
        }
        for (name, _, values) in &mut categorical {
            values.push(match r.features.get(*name) {
                Some(serde_json::Value::String(s)) => category(FeatureValue::Cat(s.clone())),
                Some(serde_json::Value::Number(n)) => category(FeatureValue::Num(n.as_f64())),
                Some(serde_json::Value::Bool(b)) => Some(u8::from(*b).to_string()),
                _ => None,
            });
        }
        scores.push(r.score);
        times.push(
            chrono::DateTime::parse_from_rfc3339(&r.time)
                .ok()
                .map(|t| t.naive_utc()),
        );
        stays.push(r.stay);
        Ok(())
    })?;
    let mut columns = BTreeMap::new();
    for (name, values) in numeric {
        columns.insert(
            name.to_string(),
            (FeatureKind::Numeric, Column::Numeric(values)),
        );
    }
    for (name, kind, values) in categorical {
        columns.insert(name.to_string(), (kind, Column::Categorical(values)));
    }
    Ok(Sample {
        source: path.display().to_string(),
        rows: rows as usize,
        columns,
        scores: Some(scores),
        labels: None,
        times,
        codes: None,
        stays,
    })
}

fn read_profile(path: &Path) -> Result<Profile> {
    let profile: Profile = crate::artifact::read_json(path)?;
    if profile.format != PROFILE_FORMAT {
        return Err(Error::bad_input(
            path.display(),
            Some("format".into()),
            PROFILE_FORMAT,
            profile.format,
        ));
    }
    Ok(profile)
}

/// Read a labels file: CSV with a stay column (`stay`, `stay_id` or
/// `stay_pseudonym`) and `readmit_30d` (0/1 or true/false).
pub fn read_labels(path: &Path) -> Result<BTreeMap<String, bool>> {
    let file = std::fs::File::open(path).at(path)?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let bad = |line: String, expected: &str, found: String| {
        Error::bad_input(path.display(), Some(line), expected, found)
    };
    let headers = reader
        .headers()
        .map_err(|e| bad("line 1".into(), "a CSV header", e.to_string()))?
        .clone();
    let stay_col = headers
        .iter()
        .position(|h| matches!(h, "stay" | "stay_id" | "stay_pseudonym"))
        .ok_or_else(|| {
            bad(
                "line 1".into(),
                "a column stay, stay_id or stay_pseudonym",
                headers.iter().collect::<Vec<_>>().join(","),
            )
        })?;
    let label_col = headers
        .iter()
        .position(|h| h == "readmit_30d")
        .ok_or_else(|| {
            bad(
                "line 1".into(),
                "a column readmit_30d",
                headers.iter().collect::<Vec<_>>().join(","),
            )
        })?;
    let mut labels = BTreeMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = format!("line {}", i + 2);
        let rec = rec.map_err(|e| bad(line.clone(), "a CSV record", e.to_string()))?;
        let stay = rec.get(stay_col).unwrap_or("").trim().to_string();
        let label = match rec.get(label_col).unwrap_or("").trim() {
            "1" | "true" | "True" => true,
            "0" | "false" | "False" => false,
            other => {
                return Err(bad(
                    format!("{line}, column readmit_30d"),
                    "0 or 1",
                    format!("{other:?}"),
                ))
            }
        };
        if stay.is_empty() {
            return Err(bad(line, "a stay identifier", "an empty field".into()));
        }
        labels.insert(stay, label);
    }
    Ok(labels)
}
