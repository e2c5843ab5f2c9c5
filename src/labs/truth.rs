//! A table the learner made, judged against the generator's truth.
//!
//! A count of quarantined rows says that a rule fired, not that what was
//! kept is right: a unit conversion that divides where it should multiply,
//! or a local code mapped to the wrong LOINC code, leaves nothing in the
//! quarantine and every value wrong. The generator knows every true value,
//! so each row the learner's pipeline kept is joined to its true record by
//! id and must carry the true code and the true value within the rounding
//! of the source. A wrong map can also lose a record instead (a factor that
//! divides pushes a value out of range, and it is quarantined): a record
//! the truth holds, set aside for a reason that judges what the map made,
//! counts against the map unless the generator made that record bad. What is found wrong is grouped by what the records
//! really are (the truth's label: the analyte), so a failure says which
//! analyte to look at; the true values stay here.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

use super::spec::{MadeBadFields, QuarantineFields, TableFields};

/// Where to find the records a pipeline set aside, and the generator's
/// list of the records it made bad.
pub struct SetAside<'a> {
    pub quarantine: &'a Path,
    pub fields: &'a QuarantineFields,
    pub made_bad: &'a Path,
    pub bad_fields: &'a MadeBadFields,
}

/// One record: its code, its value (absent when the cell is empty or the
/// record has none) and, for the truth, its label.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    key: String,
    code: String,
    value: Option<f64>,
    label: String,
}

/// Rows of one kind (one label of the truth) that disagree with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    pub label: String,
    /// Rows with the true code and a value that is not the true one.
    pub values: usize,
    /// Rows under another code than the true one.
    pub codes: usize,
    /// Records set aside that the generator did not make bad.
    pub dropped: usize,
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Rows of the table joined to a true record.
    pub compared: usize,
    /// Rows whose id the truth does not hold.
    pub unknown: usize,
    pub misses: Vec<Miss>,
}

/// Join `table` (CSV) to `truth` (CSV or NDJSON) and judge every row.
pub fn judge(
    table: &Path,
    fields: &TableFields,
    truth: &Path,
    truth_fields: &TableFields,
    relative_tolerance: f64,
    set_aside: Option<SetAside>,
) -> Result<Verdict> {
    let truth: HashMap<String, Record> = read(truth, truth_fields)?
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    let mut verdict = Verdict {
        compared: 0,
        unknown: 0,
        misses: Vec::new(),
    };
    let mut misses: BTreeMap<String, Miss> = BTreeMap::new();
    for row in read(table, fields)? {
        let Some(true_row) = truth.get(&row.key) else {
            verdict.unknown += 1;
            continue;
        };
        verdict.compared += 1;
        let miss = || Miss {
            label: true_row.label.clone(),
            values: 0,
            codes: 0,
            dropped: 0,
        };
        if row.code.trim() != true_row.code.trim() {
            misses
                .entry(true_row.label.clone())
                .or_insert_with(miss)
                .codes += 1;
        } else if let (Some(found), Some(real)) = (row.value, true_row.value) {
            // A floor for true values at zero, where a relative margin is none.
            let margin = (relative_tolerance * real.abs()).max(1e-9);
            if (found - real).abs() > margin {
                misses
                    .entry(true_row.label.clone())
                    .or_insert_with(miss)
                    .values += 1;
            }
        }
    }
    if let Some(a) = set_aside {
        let bad = made_bad(a.made_bad, a.bad_fields)?;
        for id in set_aside_ids(a.quarantine, a.fields)? {
            let Some(true_row) = truth.get(&id) else {
                continue;
            };
            if true_row.value.is_none() || bad.contains(&id) {
                continue;
            }
            misses
                .entry(true_row.label.clone())
                .or_insert_with(|| Miss {
                    label: true_row.label.clone(),
                    values: 0,
                    codes: 0,
                    dropped: 0,
                })
                .dropped += 1;
        }
    }
    verdict.misses = misses.into_values().collect();
    Ok(verdict)
}

fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord)> {
    let file = std::fs::File::open(path).at(path)?;
    let mut reader = csv::Reader::from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?
        .clone();
    Ok((reader, headers))
}

fn column(path: &Path, headers: &csv::StringRecord, name: &str) -> Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        Error::bad_input(
            path.display(),
            Some("header".to_string()),
            format!("a column {name}"),
            headers.iter().collect::<Vec<_>>().join(","),
        )
    })
}

/// Ids of the records set aside for one of the listed reasons.
fn set_aside_ids(path: &Path, f: &QuarantineFields) -> Result<Vec<String>> {
    let (mut reader, headers) = open_csv(path)?;
    let (reason, record) = (
        column(path, &headers, &f.reason)?,
        column(path, &headers, &f.record)?,
    );
    let mut out = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
        if !f.reasons.iter().any(|x| Some(x.as_str()) == r.get(reason)) {
            continue;
        }
        // The record as read is itself a CSV line; its first field is the id.
        let raw = r.get(record).unwrap_or_default();
        let id = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(raw.as_bytes())
            .records()
            .next()
            .and_then(|x| x.ok())
            .and_then(|x| x.get(0).map(String::from))
            .unwrap_or_default();
        out.push(id);
    }
    Ok(out)
}

/// Ids of the records the generator made bad in one of the listed ways.
fn made_bad(path: &Path, f: &MadeBadFields) -> Result<std::collections::HashSet<String>> {
    let (mut reader, headers) = open_csv(path)?;
    let (key, kind) = (
        column(path, &headers, &f.key)?,
        column(path, &headers, &f.kind)?,
    );
    let mut out = std::collections::HashSet::new();
    for r in reader.records() {
        let r = r.map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
        if f.kinds.iter().any(|k| Some(k.as_str()) == r.get(kind)) {
            out.insert(r.get(key).unwrap_or_default().to_string());
        }
    }
    Ok(out)
}

/// The records of a CSV file (fields are column names) or of an NDJSON
/// file (`.ndjson`/`.jsonl`; fields are JSON pointers).
fn read(path: &Path, f: &TableFields) -> Result<Vec<Record>> {
    let name = path.to_string_lossy();
    if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        read_ndjson(path, f)
    } else {
        read_csv(path, f)
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn read_csv(path: &Path, f: &TableFields) -> Result<Vec<Record>> {
    let bad = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
    let (mut reader, headers) = open_csv(path)?;
    let column = |name: &str| column(path, &headers, name);
    let (key, code, value) = (column(&f.key)?, column(&f.code)?, column(&f.value)?);
    let label = f.label.as_deref().map(column).transpose()?;
    let mut out = Vec::new();
    for record in reader.records() {
        let r = record.map_err(bad)?;
        let cell = |i: usize| r.get(i).unwrap_or_default().to_string();
        out.push(Record {
            key: cell(key),
            code: cell(code),
            value: number(&cell(value)),
            label: label.map(cell).unwrap_or_default(),
        });
    }
    Ok(out)
}

fn read_ndjson(path: &Path, f: &TableFields) -> Result<Vec<Record>> {
    let text = std::fs::read_to_string(path).at(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let doc: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::bad_input(
                path.display(),
                Some(format!("line {}", i + 1)),
                "one JSON document a line",
                e.to_string(),
            )
        })?;
        let text_at = |pointer: &str| match doc.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        out.push(Record {
            key: text_at(&f.key),
            code: text_at(&f.code),
            value: number(&text_at(&f.value)),
            label: f.label.as_deref().map(text_at).unwrap_or_default(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(key: &str, code: &str, value: &str, label: Option<&str>) -> TableFields {
        TableFields {
            path: String::new(),
            key: key.into(),
            code: code.into(),
            value: value.into(),
            label: label.map(String::from),
        }
    }

    #[test]
    fn wrong_values_and_codes_are_named_by_the_truths_label() {
        let dir = tempfile::tempdir().unwrap();
        let truth = dir.path().join("truth.ndjson");
        std::fs::write(
            &truth,
            concat!(
                r#"{"id":"O1","code":{"coding":[{"code":"2345-7","display":"Glucose"}]},"valueQuantity":{"value":99.1}}"#,
                "\n",
                r#"{"id":"O2","code":{"coding":[{"code":"2160-0","display":"Creatinine"}]},"valueQuantity":{"value":1.1}}"#,
                "\n",
                r#"{"id":"O3","code":{"coding":[{"code":"2345-7","display":"Glucose"}]},"valueQuantity":{"value":140}}"#,
                "\n",
            ),
        )
        .unwrap();
        let truth_fields = fields(
            "/id",
            "/code/coding/0/code",
            "/valueQuantity/value",
            Some("/code/coding/0/display"),
        );
        let table = dir.path().join("m.csv");
        let cols = fields("id", "code", "value", None);
        let judge_rows = |rows: &str| {
            std::fs::write(&table, format!("id,code,value\n{rows}")).unwrap();
            judge(&table, &cols, &truth, &truth_fields, 0.02, None).unwrap()
        };
        // Within rounding (5.5 mmol/L x 18.016), an empty value, an id the
        // truth lacks: all right, the last one counted apart.
        let right = judge_rows("O1,2345-7,99.088\nO2,2160-0,\nO9,2345-7,5\n");
        assert_eq!((right.compared, right.unknown), (2, 1));
        assert!(right.misses.is_empty());
        // Divided instead of multiplied, and creatinine under glucose's code.
        let wrong = judge_rows("O1,2345-7,0.305\nO2,2345-7,1.1\nO3,2345-7,140\n");
        assert_eq!(
            wrong.misses,
            vec![
                Miss {
                    label: "Creatinine".into(),
                    values: 0,
                    codes: 1,
                    dropped: 0
                },
                Miss {
                    label: "Glucose".into(),
                    values: 1,
                    codes: 0,
                    dropped: 0
                },
            ]
        );
        // A column the table lacks is named.
        std::fs::write(&table, "id,value\nO1,1\n").unwrap();
        let e = judge(&table, &cols, &truth, &truth_fields, 0.02, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a column code"), "{e}");

        // Set aside: O1 out of range though the generator sent it right
        // (a map that divides), O3 rightly (the generator made it
        // impossible), O2 for a reason that does not judge the map.
        std::fs::write(&table, "id,code,value\n").unwrap();
        let quarantine = dir.path().join("q.csv");
        std::fs::write(
            &quarantine,
            "reason,raw\nrange,\"O1,L1,0.3\"\nrange,\"O3,L1,1400\"\nreferential,\"O2,L9,1.1\"\n",
        )
        .unwrap();
        let defects = dir.path().join("d.csv");
        std::fs::write(
            &defects,
            "record_id,kind\nO3,impossible_value\nO1,mixed_unit\n",
        )
        .unwrap();
        let q = QuarantineFields {
            path: String::new(),
            reason: "reason".into(),
            reasons: vec!["range".into(), "unit".into()],
            record: "raw".into(),
        };
        let b = MadeBadFields {
            path: String::new(),
            key: "record_id".into(),
            kind: "kind".into(),
            kinds: vec!["impossible_value".into()],
        };
        let v = judge(
            &table,
            &cols,
            &truth,
            &truth_fields,
            0.02,
            Some(SetAside {
                quarantine: &quarantine,
                fields: &q,
                made_bad: &defects,
                bad_fields: &b,
            }),
        )
        .unwrap();
        assert_eq!(
            v.misses,
            vec![Miss {
                label: "Glucose".into(),
                values: 0,
                codes: 0,
                dropped: 1
            }]
        );
    }
}
