//! Turning a request's JSON into an `AnalysisRow`, or into a list of
//! problems that names every bad field.
//!
//! A prediction request carries the analysis-table features by name (the
//! `FEATURES` of the data dictionary) and an optional `patient_id` and
//! `stay_id`, which are only ever logged as pseudonyms. Every field is
//! checked, not just the first bad one, so a client fixes a request in one
//! round. Problems never echo string values: a client that put a name where
//! a category belongs must not see it copied into error logs downstream.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clinical::analysis::{AnalysisRow, FeatureKind, FEATURES};
use crate::clinical::codes::Measure;

use super::scorer::ModelInfo;

/// One thing wrong with one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: &'static str,
    pub expected: String,
    /// What was there: a JSON type, or a number; never a string's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// A valid request: the row to score and the identifiers to pseudonymise.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictInput {
    pub row: AnalysisRow,
    pub patient_id: Option<String>,
    pub stay_id: Option<String>,
}

/// Age range the model accepts (adults; the analysis table has no children).
pub const AGE_RANGE: (f64, f64) = (18.0, 120.0);

/// Features computed from others; a request may send them, but they must agree.
const DERIVED: [&str; 2] = ["age_over_75", "polypharmacy"];

/// Fields that may be absent or null (measured only sometimes).
fn optional(name: &str) -> bool {
    name == "days_since_last_discharge" || Measure::ALL.iter().any(|m| m.feature() == name)
}

/// The accepted range of a numeric feature.
fn numeric_range(name: &str) -> (f64, f64) {
    if name == "age" {
        return AGE_RANGE;
    }
    if let Some(m) = Measure::ALL.iter().find(|m| m.feature() == name) {
        return m.plausible();
    }
    match name {
        "los_days" | "days_since_last_discharge" => (0.0, 3650.0),
        "prior_admissions_365d" => (0.0, 365.0),
        "n_medications" => (0.0, 100.0),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    }
}

fn json_type(v: &Value) -> String {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
    .into()
}

/// Check one request object against the data dictionary and the model's
/// known levels.
pub fn parse_predict(
    value: &Value,
    model: &ModelInfo,
) -> std::result::Result<PredictInput, Vec<FieldProblem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldProblem {
            field: "$".into(),
            problem: "wrong_type",
            expected: "a JSON object of named features".into(),
            found: Some(json_type(value)),
        }]);
    };
    let mut problems = Vec::new();
    let mut row = AnalysisRow::default();

    let patient_id = id_field(obj, "patient_id", &mut problems);
    let stay_id = id_field(obj, "stay_id", &mut problems);

    for key in obj.keys() {
        let known =
            key == "patient_id" || key == "stay_id" || FEATURES.iter().any(|(name, _)| name == key);
        if !known {
            problems.push(FieldProblem {
                field: key.clone(),
                problem: "unknown",
                expected: "a feature named in the data dictionary".into(),
                found: None,
            });
        }
    }

    for (name, kind) in FEATURES {
        if DERIVED.contains(&name) {
            continue;
        }
        let v = obj.get(name);
        match kind {
            FeatureKind::Categorical => {
                if let Some(s) = categorical(name, v, model, &mut problems) {
                    set_category(&mut row, name, s);
                }
            }
            FeatureKind::Binary => {
                if let Some(x) = binary(name, v, &mut problems) {
                    set_number(&mut row, name, Some(x));
                }
            }
            FeatureKind::Numeric => {
                if let Some(x) = numeric(name, v, &mut problems) {
                    set_number(&mut row, name, x);
                }
            }
        }
    }

    // Derived features may be sent, but only with the value the row implies.
    for name in DERIVED {
        let Some(v) = obj.get(name) else { continue };
        let Some(sent) = binary(name, Some(v), &mut problems) else {
            continue;
        };
        let implied = row.feature(name).and_then(|f| match f {
            crate::clinical::analysis::FeatureValue::Num(x) => x,
            crate::clinical::analysis::FeatureValue::Cat(_) => None,
        });
        if implied != Some(sent) {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "inconsistent",
                expected: "the value implied by age / n_medications (or leave it out)".into(),
                found: Some(sent.to_string()),
            });
        }
    }

    if problems.is_empty() {
        Ok(PredictInput {
            row,
            patient_id,
            stay_id,
        })
    } else {
        Err(problems)
    }
}

fn id_field(
    obj: &Map<String, Value>,
    name: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected: "a non-empty string of at most 128 characters".into(),
                found: Some(json_type(other)),
            });
            None
        }
    }
}

fn missing(name: &str, expected: String, problems: &mut Vec<FieldProblem>) {
    problems.push(FieldProblem {
        field: name.into(),
        problem: "missing",
        expected,
        found: None,
    });
}

fn categorical(
    name: &str,
    v: Option<&Value>,
    model: &ModelInfo,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    let levels = model.levels.get(name);
    let expected = match levels {
        Some(l) => format!("one of {}", l.join(", ")),
        None => "a non-empty string".into(),
    };
    match v {
        None | Some(Value::Null) => {
            missing(name, expected, problems);
            None
        }
        Some(Value::String(s)) => {
            let ok = match levels {
                Some(l) => l.iter().any(|x| x == s),
                None => !s.trim().is_empty(),
            };
            if ok {
                Some(s.clone())
            } else {
                problems.push(FieldProblem {
                    field: name.into(),
                    problem: "unknown_level",
                    expected,
                    found: Some(format!("a string of {} characters", s.chars().count())),
                });
                None
            }
        }
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected,
                found: Some(json_type(other)),
            });
            None
        }
    }
}

fn binary(name: &str, v: Option<&Value>, problems: &mut Vec<FieldProblem>) -> Option<f64> {
    let expected = || "0 or 1 (or true/false)".to_string();
    match v {
        None | Some(Value::Null) => {
            missing(name, expected(), problems);
            None
        }
        Some(Value::Bool(b)) => Some(f64::from(u8::from(*b))),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x == 0.0 || x == 1.0 => Some(x),
            _ => {
                problems.push(FieldProblem {
                    field: name.into(),
                    problem: "out_of_range",
                    expected: expected(),
                    found: Some(n.to_string()),
                });
                None
            }
        },
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected: expected(),
                found: Some(json_type(other)),
            });
            None
        }
    }
}

/// `Some(None)` is a valid missing value; `None` means a problem was recorded.
fn numeric(name: &str, v: Option<&Value>, problems: &mut Vec<FieldProblem>) -> Option<Option<f64>> {
    let (lo, hi) = numeric_range(name);
    let expected = || format!("a number in {lo}..{hi}");
    match v {
        None | Some(Value::Null) if optional(name) => Some(None),
        None | Some(Value::Null) => {
            missing(name, expected(), problems);
            None
        }
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() && x >= lo && x <= hi => Some(Some(x)),
            _ => {
                problems.push(FieldProblem {
                    field: name.into(),
                    problem: "out_of_range",
                    expected: expected(),
                    found: Some(n.to_string()),
                });
                None
            }
        },
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected: expected(),
                found: Some(json_type(other)),
            });
            None
        }
    }
}

fn set_category(row: &mut AnalysisRow, name: &str, value: String) {
    match name {
        "sex" => row.sex = value,
        "race_ethnicity" => row.race_ethnicity = value,
        "payer" => row.payer = value,
        "disposition" => row.disposition = value,
        _ => {}
    }
}

fn set_number(row: &mut AnalysisRow, name: &str, value: Option<f64>) {
    let v = value.unwrap_or(0.0);
    match name {
        "age" => row.age = v,
        "los_days" => row.los_days = v,
        "prior_admissions_365d" => row.prior_admissions_365d = v,
        "days_since_last_discharge" => row.days_since_last_discharge = value,
        "htn" => row.htn = v,
        "t2dm" => row.t2dm = v,
        "chf" => row.chf = v,
        "copd" => row.copd = v,
        "ckd" => row.ckd = v,
        "afib" => row.afib = v,
        "depression" => row.depression = v,
        "n_medications" => row.n_medications = v,
        "hr" => row.hr = value,
        "sbp" => row.sbp = value,
        "dbp" => row.dbp = value,
        "rr" => row.rr = value,
        "temp_c" => row.temp_c = value,
        "spo2" => row.spo2 = value,
        "weight_kg" => row.weight_kg = value,
        "hba1c" => row.hba1c = value,
        "glucose" => row.glucose = value,
        "creatinine" => row.creatinine = value,
        "sodium" => row.sodium = value,
        "potassium" => row.potassium = value,
        "hemoglobin" => row.hemoglobin = value,
        "wbc" => row.wbc = value,
        "bnp" => row.bnp = value,
        _ => {}
    }
}

/// The features of a row as a JSON object, in data-dictionary order (the
/// prediction log's `features`, and the request body a client would send).
pub fn row_to_json(row: &AnalysisRow) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, _) in FEATURES {
        if DERIVED.contains(&name) {
            continue;
        }
        let v = match row.feature(name) {
            Some(crate::clinical::analysis::FeatureValue::Num(Some(x))) => {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            Some(crate::clinical::analysis::FeatureValue::Cat(s)) => Value::String(s),
            _ => Value::Null,
        };
        out.insert(name.into(), v);
    }
    out
}

/// A valid request for a made-up stay (a 74-year-old with heart failure,
/// discharged to a nursing facility): what `bench serve` sends and what
/// the guide's examples show.
pub fn example_request() -> Value {
    let row = AnalysisRow {
        age: 74.0,
        sex: "F".into(),
        race_ethnicity: "White".into(),
        payer: "Medicare".into(),
        los_days: 5.2,
        disposition: "skilled_nursing".into(),
        prior_admissions_365d: 1.0,
        days_since_last_discharge: Some(48.0),
        htn: 1.0,
        chf: 1.0,
        ckd: 1.0,
        n_medications: 7.0,
        hr: Some(88.0),
        sbp: Some(128.0),
        creatinine: Some(1.6),
        sodium: Some(136.0),
        hemoglobin: Some(11.2),
        bnp: Some(420.0),
        ..Default::default()
    };
    Value::Object(row_to_json(&row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> ModelInfo {
        ModelInfo {
            name: "m".into(),
            version: "1".into(),
            features: vec![],
            levels: [("sex".to_string(), vec!["F".to_string(), "M".to_string()])]
                .into_iter()
                .collect(),
            card: None,
        }
    }

    pub(crate) fn good() -> Value {
        let row = AnalysisRow {
            age: 70.0,
            sex: "F".into(),
            race_ethnicity: "White".into(),
            payer: "Medicare".into(),
            los_days: 4.0,
            disposition: "home".into(),
            creatinine: Some(1.2),
            n_medications: 6.0,
            ..Default::default()
        };
        Value::Object(row_to_json(&row))
    }

    #[test]
    fn a_good_request_round_trips() {
        let mut v = good();
        v["patient_id"] = json!("P123");
        v["polypharmacy"] = json!(1);
        let got = parse_predict(&v, &model()).unwrap();
        assert_eq!(got.row.age, 70.0);
        assert_eq!(got.row.creatinine, Some(1.2));
        assert_eq!(got.row.hr, None);
        assert_eq!(got.patient_id.as_deref(), Some("P123"));
        assert_eq!(Value::Object(row_to_json(&got.row)), good());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut v = good();
        let o = v.as_object_mut().unwrap();
        o.remove("los_days");
        o.insert("sex".into(), json!("Jane Doe"));
        o.insert("age".into(), json!(7));
        o.insert("chf".into(), json!("yes"));
        o.insert("creatinine".into(), json!(99.0));
        o.insert("favourite_colour".into(), json!("blue"));
        o.insert("age_over_75".into(), json!(1));
        let problems = parse_predict(&v, &model()).unwrap_err();
        let mut got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.problem))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("age", "out_of_range"),
                ("age_over_75", "inconsistent"),
                ("chf", "wrong_type"),
                ("creatinine", "out_of_range"),
                ("favourite_colour", "unknown"),
                ("los_days", "missing"),
                ("sex", "unknown_level"),
            ]
        );
        let text = serde_json::to_string(&problems).unwrap();
        assert!(!text.contains("Jane"), "string values are never echoed");
    }

    #[test]
    fn the_example_request_is_valid() {
        let got = parse_predict(&example_request(), &model()).unwrap();
        assert_eq!(got.row.age, 74.0);
        assert_eq!(got.row.bnp, Some(420.0));
        assert_eq!(
            got.row.feature("polypharmacy"),
            Some(crate::clinical::analysis::FeatureValue::Num(Some(1.0)))
        );
    }

    #[test]
    fn non_objects_are_rejected() {
        let p = parse_predict(&json!([1, 2]), &model()).unwrap_err();
        assert_eq!(p[0].field, "$");
        assert_eq!(p[0].found.as_deref(), Some("an array"));
    }
}
