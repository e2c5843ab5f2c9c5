//! Turning a request's JSON into an `AnalysisRow`, or into a list of
//! problems that names every bad field.
//!
//! A prediction request carries the analysis-table features by name (the
//! `FEATURES` of the data dictionary) and an optional `patient_id` and
//! `stay_id`, which are only ever logged as pseudonyms. Every field is
//! checked, not just the first bad one, so a client fixes a request in one
//! round. Problems never echo string values: a client that put a name where
//! a category belongs must not see it copied into error logs downstream.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

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

/// What a numeric feature accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct NumericRule {
    range: (f64, f64),
    /// May be absent or null.
    optional: bool,
}

impl NumericRule {
    fn of(name: &str) -> Self {
        NumericRule {
            range: numeric_range(name),
            optional: optional(name),
        }
    }
}

/// The rule of the numeric feature in `slot`, worked out once per feature
/// rather than by comparing its name with every measure's on every request.
fn numeric_rule(slot: usize, name: &str) -> NumericRule {
    static RULES: OnceLock<Vec<NumericRule>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        FEATURES
            .iter()
            .map(|(name, _)| NumericRule::of(name))
            .collect()
    });
    rules
        .get(slot)
        .copied()
        .unwrap_or_else(|| NumericRule::of(name))
}

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

/// What a JSON value is, as an error message names it ("a number").
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as validation sees it: strings borrowed from the request
/// body where they can be, numbers as serde_json reads them, and only the
/// type of arrays and objects (no field takes one).
#[derive(Debug, Clone, PartialEq)]
enum Field<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl<'a> Field<'a> {
    fn of(value: &'a Value) -> Field<'a> {
        match value {
            Value::Null => Field::Null,
            Value::Bool(b) => Field::Bool(*b),
            Value::Number(n) => Field::Number(n.clone()),
            Value::String(s) => Field::Str(Cow::Borrowed(s)),
            Value::Array(_) => Field::Array,
            Value::Object(_) => Field::Object,
        }
    }

    /// The JSON type, as problems name it.
    fn type_name(&self) -> &'static str {
        match self {
            Field::Null => "null",
            Field::Bool(_) => "a boolean",
            Field::Number(_) => "a number",
            Field::Str(_) => "a string",
            Field::Array => "an array",
            Field::Object => "an object",
        }
    }
}

/// Slots of the two identifiers, after the features' (which are the
/// indices of `FEATURES`).
const PATIENT_ID: usize = FEATURES.len();
const STAY_ID: usize = FEATURES.len() + 1;
const SLOTS: usize = FEATURES.len() + 2;

/// The slot of a name a request may carry: one hash and one comparison
/// (a scan of the data dictionary, or a binary search over it, compared
/// strings a dozen times a key).
fn slot_of(name: &str) -> Option<usize> {
    /// Open addressing over a power of two comfortably above `SLOTS`.
    const TABLE: usize = 128;
    fn hash(name: &str) -> usize {
        // FNV-1a: names are short ASCII; anything spreads them well enough.
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        h as usize
    }
    static SLOTS_BY_HASH: OnceLock<Vec<Option<(&'static str, usize)>>> = OnceLock::new();
    let table = SLOTS_BY_HASH.get_or_init(|| {
        let mut table = vec![None; TABLE];
        let names = FEATURES
            .iter()
            .map(|(name, _)| *name)
            .chain(["patient_id", "stay_id"]);
        for (slot, name) in names.enumerate() {
            let mut i = hash(name) % TABLE;
            while table[i].is_some() {
                i = (i + 1) % TABLE;
            }
            table[i] = Some((name, slot));
        }
        table
    });
    let mut i = hash(name) % TABLE;
    loop {
        match table.get(i)? {
            Some((known, slot)) if *known == name => return Some(*slot),
            Some(_) => i = (i + 1) % TABLE,
            None => return None,
        }
    }
}

/// One request object's fields, each in the slot of its name, and the
/// names that are not known. Duplicate keys keep the last value, as a
/// parsed JSON object does.
struct Fields<'a> {
    slots: [Option<Field<'a>>; SLOTS],
    unknown: Vec<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    fn new() -> Fields<'a> {
        Fields {
            slots: std::array::from_fn(|_| None),
            unknown: Vec::new(),
        }
    }

    fn insert(&mut self, key: Cow<'a, str>, value: Field<'a>) {
        match slot_of(&key).and_then(|i| self.slots.get_mut(i)) {
            Some(slot) => *slot = Some(value),
            None => self.unknown.push(key),
        }
    }

    fn of_object(obj: &'a Map<String, Value>) -> Fields<'a> {
        let mut fields = Fields::new();
        for (key, value) in obj {
            fields.insert(Cow::Borrowed(key), Field::of(value));
        }
        fields
    }

    fn take(&mut self, slot: usize) -> Option<Field<'a>> {
        self.slots.get_mut(slot).and_then(Option::take)
    }
}

/// A request body read straight from its bytes: the object's fields, or
/// the JSON type found instead of an object.
// It lives on the stack for one parse; a box would be one more allocation
// per request.
#[allow(clippy::large_enum_variant)]
enum Body<'a> {
    Object(Fields<'a>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut fields = Fields::new();
        while let Some(Key(key)) = map.next_key()? {
            let value: Field = map.next_value()?;
            fields.insert(key, value);
        }
        Ok(Body::Object(fields))
    }

    // Anything else is named by its type; `Field` reads (and skips) it.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        FieldVisitor
            .visit_seq(seq)
            .map(|f| Body::Other(f.type_name()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Body::Other("null"))
    }
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(Key)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(Field::Bool(v))
    }
    // Numbers become the `Number` a parsed `Value` would hold, so problems
    // print them the same way.
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Field::Null, Field::Number))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Array)
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Object)
    }
}

/// Check one request object against the data dictionary and the model's
/// known levels.
pub fn parse_predict(
    value: &Value,
    model: &ModelInfo,
) -> std::result::Result<PredictInput, Vec<FieldProblem>> {
    let Some(obj) = value.as_object() else {
        return Err(not_an_object(json_type(value)));
    };
    validate(Fields::of_object(obj), model)
}

/// `parse_predict` on a request body as it arrived, without building a
/// JSON tree first (the tree's keys and nodes were most of the allocations
/// of a `/v1/predict` request). The outer error is the body's JSON syntax
/// error; the inner result is exactly `parse_predict`'s on the parsed body.
#[allow(clippy::type_complexity)]
pub fn parse_predict_json(
    body: &[u8],
    model: &ModelInfo,
) -> std::result::Result<std::result::Result<PredictInput, Vec<FieldProblem>>, serde_json::Error> {
    Ok(match serde_json::from_slice::<Body>(body)? {
        Body::Object(fields) => validate(fields, model),
        Body::Other(found) => Err(not_an_object(found)),
    })
}

fn not_an_object(found: &str) -> Vec<FieldProblem> {
    vec![FieldProblem {
        field: "$".into(),
        problem: "wrong_type",
        expected: "a JSON object of named features".into(),
        found: Some(found.into()),
    }]
}

/// Every check of one request: identifiers, unknown names (sorted, as a
/// parsed object lists them), each feature in data-dictionary order, then
/// the derived features against the row.
fn validate(
    mut fields: Fields<'_>,
    model: &ModelInfo,
) -> std::result::Result<PredictInput, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut row = AnalysisRow::default();

    let patient_id = id_field(fields.take(PATIENT_ID), "patient_id", &mut problems);
    let stay_id = id_field(fields.take(STAY_ID), "stay_id", &mut problems);

    let mut unknown = std::mem::take(&mut fields.unknown);
    unknown.sort_unstable();
    unknown.dedup();
    for key in unknown {
        problems.push(FieldProblem {
            field: key.into_owned(),
            problem: "unknown",
            expected: "a feature named in the data dictionary".into(),
            found: None,
        });
    }

    for (slot, (name, kind)) in FEATURES.iter().enumerate() {
        if DERIVED.contains(name) {
            continue;
        }
        let v = fields.take(slot);
        match kind {
            FeatureKind::Categorical => {
                if let Some(s) = categorical(name, v, model, &mut problems) {
                    set_category(&mut row, name, s);
                }
            }
            FeatureKind::Binary => {
                if let Some(x) = binary(name, v.as_ref(), &mut problems) {
                    set_number(&mut row, name, Some(x));
                }
            }
            FeatureKind::Numeric => {
                if let Some(x) = numeric(slot, name, v.as_ref(), &mut problems) {
                    set_number(&mut row, name, x);
                }
            }
        }
    }

    // Derived features may be sent, but only with the value the row implies.
    for name in DERIVED {
        let Some(v) = slot_of(name).and_then(|i| fields.take(i)) else {
            continue;
        };
        let Some(sent) = binary(name, Some(&v), &mut problems) else {
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

fn id_field(v: Option<Field<'_>>, name: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    match v {
        None | Some(Field::Null) => None,
        Some(Field::Str(s)) if !s.trim().is_empty() && s.len() <= 128 => Some(s.into_owned()),
        Some(Field::Number(n)) => Some(n.to_string()),
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected: "a non-empty string of at most 128 characters".into(),
                found: Some(other.type_name().into()),
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
    v: Option<Field<'_>>,
    model: &ModelInfo,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    let levels = model.levels.get(name);
    // Built only for a problem: a valid request allocates nothing here.
    let expected = || match levels {
        Some(l) => format!("one of {}", l.join(", ")),
        None => "a non-empty string".into(),
    };
    match v {
        None | Some(Field::Null) => {
            missing(name, expected(), problems);
            None
        }
        Some(Field::Str(s)) => {
            let ok = match levels {
                Some(l) => l.iter().any(|x| *x == *s),
                None => !s.trim().is_empty(),
            };
            if ok {
                Some(s.into_owned())
            } else {
                problems.push(FieldProblem {
                    field: name.into(),
                    problem: "unknown_level",
                    expected: expected(),
                    found: Some(format!("a string of {} characters", s.chars().count())),
                });
                None
            }
        }
        Some(other) => {
            problems.push(FieldProblem {
                field: name.into(),
                problem: "wrong_type",
                expected: expected(),
                found: Some(other.type_name().into()),
            });
            None
        }
    }
}

fn binary(name: &str, v: Option<&Field<'_>>, problems: &mut Vec<FieldProblem>) -> Option<f64> {
    let expected = || "0 or 1 (or true/false)".to_string();
    match v {
        None | Some(Field::Null) => {
            missing(name, expected(), problems);
            None
        }
        Some(Field::Bool(b)) => Some(f64::from(u8::from(*b))),
        Some(Field::Number(n)) => match n.as_f64() {
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
                found: Some(other.type_name().into()),
            });
            None
        }
    }
}

/// `Some(None)` is a valid missing value; `None` means a problem was recorded.
fn numeric(
    slot: usize,
    name: &str,
    v: Option<&Field<'_>>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Option<f64>> {
    let NumericRule {
        range: (lo, hi),
        optional,
    } = numeric_rule(slot, name);
    let expected = || format!("a number in {lo}..{hi}");
    match v {
        None | Some(Field::Null) if optional => Some(None),
        None | Some(Field::Null) => {
            missing(name, expected(), problems);
            None
        }
        Some(Field::Number(n)) => match n.as_f64() {
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
                found: Some(other.type_name().into()),
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

/// Write `row_to_json(row)` as serde_json serialises it (keys in the map's
/// sorted order, numbers formatted by serde_json, missing values as null),
/// without building the map or escaping the constant keys: the prediction
/// log writes this for every request.
pub fn write_features(out: &mut impl std::io::Write, row: &AnalysisRow) -> std::io::Result<()> {
    use serde_json::ser::{CompactFormatter, Formatter};
    static KEYS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut names: Vec<&'static str> = FEATURES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !DERIVED.contains(name))
            .collect();
        names.sort_unstable();
        // Feature names are plain identifiers: quoting needs no escapes.
        names
            .into_iter()
            .map(|name| (name, format!("\"{name}\":")))
            .collect()
    });
    out.write_all(b"{")?;
    for (i, (name, key)) in keys.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(key.as_bytes())?;
        match category(row, name) {
            Some(level) => serde_json::to_writer(&mut *out, level)?,
            None => match row.feature(name) {
                Some(crate::clinical::analysis::FeatureValue::Num(Some(x))) if x.is_finite() => {
                    CompactFormatter.write_f64(&mut *out, x)?
                }
                _ => out.write_all(b"null")?,
            },
        }
    }
    out.write_all(b"}")
}

/// The level of a categorical feature, borrowed (`feature` clones it).
fn category<'a>(row: &'a AnalysisRow, name: &str) -> Option<&'a str> {
    match name {
        "sex" => Some(&row.sex),
        "race_ethnicity" => Some(&row.race_ethnicity),
        "payer" => Some(&row.payer),
        "disposition" => Some(&row.disposition),
        _ => None,
    }
}

/// A valid request for a made-up stay (a 74-year-old with heart failure,
/// discharged to a nursing facility): what `bench serve` sends and what
/// the guide's examples show.
pub fn example_request() -> Value {
    Value::Object(row_to_json(&example_row()))
}

/// The stay of `example_request` as a row (the model export's input
/// example too).
pub fn example_row() -> AnalysisRow {
    AnalysisRow {
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
    }
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
            operating_point: None,
            columns: vec![],
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

    /// Every way `parse_predict_json` can answer, against `parse_predict`
    /// on the parsed body.
    #[test]
    fn reading_bytes_answers_as_the_parsed_value_does() {
        let mut bad = good();
        let o = bad.as_object_mut().unwrap();
        o.remove("los_days");
        o.insert("sex".into(), json!("Jane Doe"));
        o.insert("age".into(), json!(-7));
        o.insert("chf".into(), json!([1, {"a": 2}]));
        o.insert("htn".into(), json!({"x": [1]}));
        o.insert("creatinine".into(), json!(99.5));
        o.insert("bnp".into(), json!(1e5));
        o.insert("zeta".into(), json!(1));
        o.insert("alpha".into(), json!(null));
        o.insert("patient_id".into(), json!(true));
        o.insert("age_over_75".into(), json!(1));
        let mut ok = good();
        ok["patient_id"] = json!("P\u{e9} \"1\"");
        ok["stay_id"] = json!(17);
        ok["polypharmacy"] = json!(true);
        let bodies = [
            serde_json::to_string(&bad).unwrap(),
            serde_json::to_string(&ok).unwrap(),
            // an escaped key, duplicate keys (the last wins), nulls
            r#"{"a\u0067e": 70, "age": 71, "sex": "F", "sex": "M", "race_ethnicity": "White",
                "payer": "Medicare", "los_days": 4, "disposition": "home", "htn": 0,
                "t2dm": false, "chf": 0, "copd": 0, "ckd": 0, "afib": 0, "depression": 0,
                "n_medications": 2, "hr": null, "zz": 1, "zz": 2}"#
                .to_string(),
            "[1, 2]".into(),
            "\"text\"".into(),
            "null".into(),
            "3.5".into(),
            "true".into(),
            "{}".into(),
        ];
        for body in bodies {
            let value: Value = serde_json::from_str(&body).unwrap();
            let expected = parse_predict(&value, &model());
            let got = parse_predict_json(body.as_bytes(), &model()).unwrap();
            assert_eq!(got, expected, "{body}");
        }
        let problems =
            parse_predict_json(serde_json::to_string(&bad).unwrap().as_bytes(), &model())
                .unwrap()
                .unwrap_err();
        assert_eq!(problems.len(), 11, "{problems:?}");
        assert_eq!(problems[0].field, "patient_id");
        assert_eq!(
            (problems[1].field.as_str(), problems[2].field.as_str()),
            ("alpha", "zeta")
        );
        let ok = parse_predict_json(serde_json::to_string(&ok).unwrap().as_bytes(), &model())
            .unwrap()
            .unwrap();
        assert_eq!(ok.patient_id.as_deref(), Some("P\u{e9} \"1\""));
        assert_eq!(ok.stay_id.as_deref(), Some("17"));
        for broken in ["", "{", "{\"age\": }", "[1, 2", "{} x", "{\"age\": 1e999}"] {
            let a = parse_predict_json(broken.as_bytes(), &model()).unwrap_err();
            let b = serde_json::from_str::<Value>(broken).unwrap_err();
            assert_eq!(
                (a.line(), a.column(), a.classify()),
                (b.line(), b.column(), b.classify())
            );
        }
    }

    #[test]
    fn written_features_are_the_maps_serialisation() {
        let rows = [
            parse_predict(&example_request(), &model()).unwrap().row,
            parse_predict(&good(), &model()).unwrap().row,
            AnalysisRow {
                hr: Some(f64::NAN),
                sex: "\"quoted\" \u{e9}".into(),
                ..Default::default()
            },
        ];
        for row in rows {
            let mut out = Vec::new();
            write_features(&mut out, &row).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&row_to_json(&row)).unwrap()
            );
        }
    }

    #[test]
    fn every_name_finds_its_slot() {
        for (i, (name, _)) in FEATURES.iter().enumerate() {
            assert_eq!(slot_of(name), Some(i), "{name}");
        }
        assert_eq!(slot_of("patient_id"), Some(PATIENT_ID));
        assert_eq!(slot_of("stay_id"), Some(STAY_ID));
        for stranger in [
            "",
            "ag",
            "agee",
            "Age",
            "patient",
            "bnp ",
            "favourite_colour",
        ] {
            assert_eq!(slot_of(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn non_objects_are_rejected() {
        let p = parse_predict(&json!([1, 2]), &model()).unwrap_err();
        assert_eq!(p[0].field, "$");
        assert_eq!(p[0].found.as_deref(), Some("an array"));
    }
}
