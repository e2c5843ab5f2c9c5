//! The Open Inference Protocol (KServe V2, as Triton and KServe speak it):
//! metadata, and an infer request's tensor turned into the named-feature
//! objects `/v1/predict/batch` takes, so the server validates, scores, logs
//! and audits them on the one path every predict route shares.
//!
//! The model takes one input, `features`: FP32, shape `[-1, n]`, one row a
//! stay, its `n` columns `ModelInfo::columns` (a numeric feature in its own
//! units, NaN when missing; a binary one 0/1; a categorical one one-hot, a
//! column a level). It answers one output, `probability`: FP32 `[batch, 1]`.
//! The same tensor goes into the ONNX export (`registry::onnx`), so a client
//! moves between `carelab serve` and Triton without a change.
//!
//! Tensors come as JSON `data` (flat or nested, row-major) or in the binary
//! tensor extension Triton's clients use by default: the JSON header's
//! length in `Inference-Header-Content-Length`, the raw little-endian
//! values after it.

use serde_json::{json, Map, Value};

use crate::clinical::analysis::{FeatureKind, FEATURES};

use super::scorer::ModelInfo;

/// The input tensor's name.
pub const INPUT: &str = "features";
/// The output tensor's name.
pub const OUTPUT: &str = "probability";
/// The header that says where a binary request's JSON ends.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// A refused request: the status and the message of `{"error": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OipError {
    pub status: u16,
    pub message: String,
}

fn bad(message: impl Into<String>) -> OipError {
    OipError {
        status: 400,
        message: message.into(),
    }
}

/// One column of the input tensor.
#[derive(Debug, Clone, PartialEq)]
enum Column<'a> {
    /// A numeric or binary feature, in its own units.
    Value(&'a str),
    /// One level of a categorical feature: 1 when the row has it.
    Level(&'a str, &'a str),
}

/// The model's columns, checked: each names a feature of the data
/// dictionary, and each categorical feature has at least one level (a row
/// must name one). Otherwise why the model cannot take a tensor.
fn columns(info: &ModelInfo) -> Result<Vec<Column<'_>>, String> {
    let mut out = Vec::with_capacity(info.columns.len());
    for c in &info.columns {
        let column = match c.split_once('=') {
            Some((f, level)) => Column::Level(f, level),
            None => Column::Value(c),
        };
        let (Column::Value(f) | Column::Level(f, _)) = column;
        let kind = FEATURES.iter().find(|(n, _)| *n == f).map(|(_, k)| *k);
        let fits = matches!(
            (&column, kind),
            (Column::Level(..), Some(FeatureKind::Categorical))
                | (
                    Column::Value(_),
                    Some(FeatureKind::Numeric | FeatureKind::Binary)
                )
        );
        if !fits {
            return Err(format!(
                "model {} has an input column {c:?} that is no feature of the data dictionary",
                info.name
            ));
        }
        out.push(column);
    }
    for (name, kind) in FEATURES {
        if kind == FeatureKind::Categorical
            && !out
                .iter()
                .any(|c| matches!(c, Column::Level(f, _) if *f == name))
        {
            return Err(format!(
                "model {} knows no levels of {name}, so a tensor cannot say one; give the model its levels",
                info.name
            ));
        }
    }
    Ok(out)
}

/// `GET /v2/models/{name}`: the model's metadata.
pub fn metadata(info: &ModelInfo) -> Result<Value, OipError> {
    columns(info).map_err(bad)?;
    Ok(json!({
        "name": info.name,
        "versions": [info.version],
        "platform": "carelab",
        "inputs": [{
            "name": INPUT,
            "datatype": "FP32",
            "shape": [-1, info.columns.len()],
        }],
        "outputs": [{
            "name": OUTPUT,
            "datatype": "FP32",
            "shape": [-1, 1],
        }],
        "parameters": {"columns": info.columns},
    }))
}

/// Whether the route's model (and version, when named) is the one served.
pub fn check_model(info: &ModelInfo, name: &str, version: Option<&str>) -> Result<(), OipError> {
    if name != info.name {
        return Err(OipError {
            status: 404,
            message: format!("no model {name:?}; this service serves {:?}", info.name),
        });
    }
    if let Some(v) = version.filter(|v| *v != info.version) {
        return Err(OipError {
            status: 404,
            message: format!(
                "model {name:?} has no version {v:?}; it serves version {:?}",
                info.version
            ),
        });
    }
    Ok(())
}

/// A parsed infer request: the rows as named-feature objects, the
/// request's `id` to echo, and whether to answer the output in binary.
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    pub id: Option<Value>,
    pub rows: Vec<Value>,
    pub binary_output: bool,
}

/// Read an infer request's body: JSON, or JSON then binary tensors when
/// `header_length` (the `Inference-Header-Content-Length` header) is given.
pub fn parse_infer(
    body: &[u8],
    header_length: Option<&str>,
    info: &ModelInfo,
    max_batch: usize,
) -> Result<InferRequest, OipError> {
    let (head, mut binary) = match header_length {
        None => (body, &body[body.len()..]),
        Some(h) => {
            let n: usize = h.trim().parse().map_err(|_| {
                bad(format!(
                    "Inference-Header-Content-Length must be a byte count; found {h:?}"
                ))
            })?;
            if n > body.len() {
                return Err(bad(format!(
                    "Inference-Header-Content-Length is {n} but the body has {} bytes",
                    body.len()
                )));
            }
            body.split_at(n)
        }
    };
    let request: Value = serde_json::from_slice(head).map_err(|e| {
        bad(format!(
            "the request is not valid JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(request) = request.as_object() else {
        return Err(bad("the request must be a JSON object with \"inputs\""));
    };
    let layout = columns(info).map_err(bad)?;
    let Some(inputs) = request.get("inputs").and_then(Value::as_array) else {
        return Err(bad("the request has no \"inputs\" array"));
    };
    let [input] = inputs.as_slice() else {
        return Err(bad(format!(
            "the model takes one input, {INPUT:?}; the request has {}",
            inputs.len()
        )));
    };
    let name = input.get("name").and_then(Value::as_str).unwrap_or("");
    if name != INPUT {
        return Err(bad(format!(
            "unexpected input {name:?}; the model's input is {INPUT:?}"
        )));
    }
    let datatype = input.get("datatype").and_then(Value::as_str).unwrap_or("");
    if datatype != "FP32" {
        return Err(bad(format!(
            "input {INPUT:?} has datatype {datatype:?}; the model takes FP32"
        )));
    }
    let shape: Vec<i64> = match input.get("shape").and_then(Value::as_array) {
        Some(s) => s.iter().map(|d| d.as_i64().unwrap_or(-2)).collect(),
        None => vec![],
    };
    let width = layout.len();
    let rows = match shape.as_slice() {
        [n, w] if *n >= 1 && *w == width as i64 => *n as usize,
        _ => {
            return Err(bad(format!(
                "input {INPUT:?} has shape {shape:?}; the model takes [batch, {width}] with batch at least 1"
            )))
        }
    };
    if rows > max_batch {
        return Err(bad(format!(
            "a batch of {rows} rows; at most {max_batch} a request"
        )));
    }
    let size = input
        .pointer("/parameters/binary_data_size")
        .and_then(Value::as_u64);
    let values = match (input.get("data"), size) {
        (Some(data), None) => {
            let mut out = Vec::with_capacity(rows * width);
            flatten(data, &mut out)?;
            out
        }
        (None, Some(size)) => {
            let size = size as usize;
            if size != rows * width * 4 || binary.len() < size {
                return Err(bad(format!(
                    "input {INPUT:?}'s binary_data_size is {size} bytes; shape {shape:?} in FP32 needs {} and the body has {} after the header",
                    rows * width * 4,
                    binary.len()
                )));
            }
            let (mine, rest) = binary.split_at(size);
            binary = rest;
            mine.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        _ => {
            return Err(bad(format!(
                "input {INPUT:?} needs either \"data\" or parameters.binary_data_size"
            )))
        }
    };
    if !binary.is_empty() {
        return Err(bad(format!(
            "{} bytes after the tensors that no input claims",
            binary.len()
        )));
    }
    if values.len() != rows * width {
        return Err(bad(format!(
            "input {INPUT:?} has {} values; shape {shape:?} needs {}",
            values.len(),
            rows * width
        )));
    }
    let binary_default = request
        .get("parameters")
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let binary_output = match request.get("outputs").and_then(Value::as_array) {
        None => binary_default,
        Some(outputs) => {
            let mut binary = binary_default;
            for o in outputs {
                let name = o.get("name").and_then(Value::as_str).unwrap_or("");
                if name != OUTPUT {
                    return Err(bad(format!(
                        "unexpected output {name:?}; the model's output is {OUTPUT:?}"
                    )));
                }
                if let Some(b) = o
                    .pointer("/parameters/binary_data")
                    .and_then(Value::as_bool)
                {
                    binary = b;
                }
            }
            binary
        }
    };
    let rows = values
        .chunks_exact(width)
        .enumerate()
        .map(|(i, row)| to_object(i, row, &layout))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InferRequest {
        id: request.get("id").cloned(),
        rows,
        binary_output,
    })
}

/// Row-major values of a flat or nested JSON array of numbers.
fn flatten(data: &Value, out: &mut Vec<f32>) -> Result<(), OipError> {
    match data {
        Value::Array(items) => items.iter().try_for_each(|v| flatten(v, out)),
        Value::Number(n) => {
            out.push(n.as_f64().unwrap_or(f64::NAN) as f32);
            Ok(())
        }
        other => Err(bad(format!(
            "input {INPUT:?}'s data holds {}; FP32 data are numbers",
            super::input::json_type(other)
        ))),
    }
}

/// One tensor row as the named-feature object `/v1/predict` takes: NaN is a
/// missing number (null), and each categorical feature's level is the one
/// column of it that holds 1.
fn to_object(i: usize, row: &[f32], layout: &[Column<'_>]) -> Result<Value, OipError> {
    let mut object = Map::new();
    for (x, column) in row.iter().zip(layout) {
        match *column {
            Column::Value(f) => {
                let v = if x.is_nan() {
                    Value::Null
                } else {
                    serde_json::Number::from_f64(f64::from(*x)).map_or(Value::Null, Value::Number)
                };
                object.insert(f.to_string(), v);
            }
            Column::Level(f, level) => {
                if *x == 1.0 {
                    if object.contains_key(f) {
                        return Err(bad(format!(
                            "row {i}: more than one column of {f} holds 1; one-hot columns hold one 1"
                        )));
                    }
                    object.insert(f.to_string(), Value::String(level.to_string()));
                } else if *x != 0.0 {
                    return Err(bad(format!(
                        "row {i}: column {f}={level} holds {x}; one-hot columns hold 0 or 1"
                    )));
                }
            }
        }
    }
    for c in layout {
        if let Column::Level(f, _) = c {
            if !object.contains_key(*f) {
                return Err(bad(format!(
                    "row {i}: no column of {f} holds 1; one-hot columns hold one 1"
                )));
            }
        }
    }
    Ok(Value::Object(object))
}

/// The infer response's JSON and, when asked for binary output, the bytes
/// after it.
pub fn infer_response(
    info: &ModelInfo,
    id: Option<&Value>,
    risks: &[f64],
    binary: bool,
) -> (Value, Option<Vec<u8>>) {
    let mut output = json!({
        "name": OUTPUT,
        "datatype": "FP32",
        "shape": [risks.len(), 1],
    });
    let bytes = if binary {
        let bytes: Vec<u8> = risks
            .iter()
            .flat_map(|r| (*r as f32).to_le_bytes())
            .collect();
        output["parameters"] = json!({"binary_data_size": bytes.len()});
        Some(bytes)
    } else {
        output["data"] = json!(risks.iter().map(|r| *r as f32).collect::<Vec<f32>>());
        None
    };
    let mut body = json!({
        "model_name": info.name,
        "model_version": info.version,
        "outputs": [output],
    });
    if let Some(id) = id {
        body["id"] = id.clone();
    }
    (body, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ModelInfo {
        let mut columns: Vec<String> = Vec::new();
        for (name, kind) in FEATURES {
            match kind {
                FeatureKind::Categorical => {
                    columns.push(format!("{name}=a"));
                    columns.push(format!("{name}=b"));
                }
                _ => columns.push(name.to_string()),
            }
        }
        ModelInfo {
            name: "m".into(),
            version: "1".into(),
            features: vec![],
            levels: Default::default(),
            card: None,
            operating_point: None,
            columns,
        }
    }

    fn row(info: &ModelInfo) -> Vec<f32> {
        info.columns
            .iter()
            .map(|c| if c.ends_with("=b") { 1.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn a_row_becomes_named_features() {
        let info = info();
        let mut r = row(&info);
        let hr = info.columns.iter().position(|c| c == "hr").unwrap();
        r[hr] = f32::NAN;
        let age = info.columns.iter().position(|c| c == "age").unwrap();
        r[age] = 70.5;
        let body = json!({"inputs": [{"name": "features", "datatype": "FP32",
            "shape": [1, info.columns.len()], "data": [r.iter().map(|x| if x.is_nan() { 0.0 } else { *x }).collect::<Vec<_>>()]}]});
        let parsed = parse_infer(&serde_json::to_vec(&body).unwrap(), None, &info, 8).unwrap();
        assert_eq!(parsed.rows[0]["age"], 70.5);
        assert_eq!(parsed.rows[0]["sex"], "b");
        assert!(!parsed.binary_output);
        // The same row in binary, NaN and all.
        let head = serde_json::to_vec(&json!({"inputs": [{"name": "features", "datatype": "FP32",
            "shape": [1, info.columns.len()], "parameters": {"binary_data_size": r.len() * 4}}],
            "parameters": {"binary_data_output": true}}))
        .unwrap();
        let mut body = head.clone();
        body.extend(r.iter().flat_map(|x| x.to_le_bytes()));
        let parsed = parse_infer(&body, Some(&head.len().to_string()), &info, 8).unwrap();
        assert_eq!(parsed.rows[0]["hr"], Value::Null);
        assert_eq!(parsed.rows[0]["payer"], "b");
        assert!(parsed.binary_output);
    }

    #[test]
    fn bad_tensors_are_refused_saying_why() {
        let info = info();
        let w = info.columns.len();
        let refuse = |body: Value| {
            parse_infer(&serde_json::to_vec(&body).unwrap(), None, &info, 2)
                .unwrap_err()
                .message
        };
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, w], "data": []}]}),
        );
        assert!(m.contains("FP32"), "{m}");
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, w - 1], "data": []}]}),
        );
        assert!(m.contains(&format!("[batch, {w}]")), "{m}");
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [3, w], "data": []}]}),
        );
        assert!(m.contains("at most 2"), "{m}");
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, w], "data": [1.0]}]}),
        );
        assert!(m.contains(&format!("needs {w}")), "{m}");
        let m = refuse(
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, w], "data": []}]}),
        );
        assert!(m.contains("\"features\""), "{m}");
        let zeros = vec![0.0f32; w];
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, w], "data": zeros}]}),
        );
        assert!(m.contains("no column of sex holds 1"), "{m}");
        let mut r = row(&info);
        r[info.columns.iter().position(|c| c == "sex=a").unwrap()] = 1.0;
        let m = refuse(
            json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, w], "data": r}]}),
        );
        assert!(m.contains("more than one column of sex"), "{m}");
    }

    #[test]
    fn a_model_without_levels_cannot_take_a_tensor() {
        let mut info = info();
        info.columns.retain(|c| !c.starts_with("payer="));
        let e = metadata(&info).unwrap_err();
        assert!(e.message.contains("no levels of payer"), "{}", e.message);
        assert_eq!(check_model(&info, "m", Some("2")).unwrap_err().status, 404);
        assert_eq!(check_model(&info, "n", None).unwrap_err().status, 404);
        assert!(check_model(&info, "m", Some("1")).is_ok());
    }
}
