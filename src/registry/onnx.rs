//! A trained model as an ONNX graph (opset 17), written with `prost`.
//!
//! The messages below are the part of `onnx.proto` the export needs,
//! derived by hand with the field numbers the ONNX project publishes (a
//! build script and protoc would buy nothing for nine small messages).
//!
//! The graph takes the same tensor as the Open Inference Protocol route
//! (`serve::oip`): `features`, FP32 `[batch, n]`, the transform's input
//! columns with NaN for a missing number. It does what `Transform::apply`
//! and `Mlp::predict` do, with the fitted numbers as initialisers:
//!
//! ```text
//! IsNaN -> Where(nan, median, x) -> Sub(mean) -> Div(sd)       standardised
//!          Greater(0.5) -> Cast -> Where(binary columns, ., .)  yes/no as 0/1
//!       -> Cast(float) -> Gather(indicator columns)            missing flags
//! Concat -> Gemm -> Relu -> ... -> Gemm -> Sigmoid -> probability [batch, 1]
//! ```
//!
//! The first layer's weight columns are reordered to the concatenation's
//! order (inputs, then missing flags), so the product is the one training
//! computed.

use prost::Message;

use crate::features::transform::{Step, Transform};
use crate::train::net::Mlp;

/// ONNX's IR version for opset 17 (ONNX 1.12).
pub const IR_VERSION: i64 = 8;
pub const OPSET: i64 = 17;

#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(string, tag = "4")]
    pub domain: String,
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(string, tag = "10")]
    pub doc_string: String,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// AttributeProto.AttributeType: INT = 2.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// TensorProto.DataType: FLOAT = 1, INT64 = 7.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// Also holds BOOL tensors, one 0/1 a value.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    pub name: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(oneof = "DimensionValue", tags = "1, 2")]
    pub value: Option<DimensionValue>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimensionValue {
    #[prost(int64, tag = "1")]
    DimValue(i64),
    #[prost(string, tag = "2")]
    DimParam(String),
}

const FLOAT: i32 = 1;
const INT64: i32 = 7;
const BOOL: i32 = 9;
const ATTRIBUTE_INT: i32 = 2;

/// What the export writes into the model's `metadata_props`.
#[derive(Debug, Clone)]
pub struct Facts {
    pub name: String,
    /// The registry version (`3`), or the weights' digest for a run
    /// directory outside the registry.
    pub version: String,
    pub data_sha256: String,
    pub extra: Vec<(String, String)>,
}

fn float_tensor(name: &str, dims: &[usize], data: Vec<f32>) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: FLOAT,
        float_data: data,
        int32_data: vec![],
        int64_data: vec![],
        name: name.into(),
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: &[(&str, i64)]) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: format!("{op}_{output}"),
        op_type: op.into(),
        attribute: attrs
            .iter()
            .map(|(n, i)| AttributeProto {
                name: n.to_string(),
                i: *i,
                r#type: ATTRIBUTE_INT,
            })
            .collect(),
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Some(n) => DimensionValue::DimValue(*n),
                                None => DimensionValue::DimParam("batch".into()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// The ONNX model of a transform and network, as protobuf bytes.
pub fn model_bytes(transform: &Transform, mlp: &Mlp, facts: &Facts) -> Vec<u8> {
    build(transform, mlp, facts).encode_to_vec()
}

/// The ONNX model of a transform and network.
pub fn build(transform: &Transform, mlp: &Mlp, facts: &Facts) -> ModelProto {
    let inputs = transform.input_columns();
    let n = inputs.len();
    // Per input column: the number a missing value becomes, and the centre
    // and scale; binary and one-hot columns pass through (0, 0, 1).
    let (mut median, mut mean, mut sd) = (Vec::new(), Vec::new(), Vec::new());
    // Binary columns: 1 above 0.5, else 0 (missing counts as 0), as the
    // transform encodes them.
    let mut binary: Vec<i32> = Vec::new();
    // Input columns whose missing flag the network reads, and the flags' names.
    let mut flagged: Vec<i64> = Vec::new();
    let mut flag_names: Vec<String> = Vec::new();
    for step in &transform.steps {
        match step {
            Step::Numeric {
                feature,
                median: m,
                mean: mu,
                sd: s,
                indicator,
            } => {
                if *indicator {
                    flagged.push(median.len() as i64);
                    flag_names.push(format!("{feature}_missing"));
                }
                median.push(*m as f32);
                mean.push(*mu as f32);
                sd.push(*s as f32);
                binary.push(0);
            }
            Step::Binary { .. } => {
                median.push(0.0);
                mean.push(0.0);
                sd.push(1.0);
                binary.push(1);
            }
            Step::OneHot { levels, .. } => {
                for _ in levels {
                    median.push(0.0);
                    mean.push(0.0);
                    sd.push(1.0);
                    binary.push(0);
                }
            }
        }
    }
    let mut nodes = vec![
        node("IsNaN", &["features"], "missing", &[]),
        node("Where", &["missing", "median", "features"], "imputed", &[]),
        node("Sub", &["imputed", "mean"], "centred", &[]),
        node("Div", &["centred", "sd"], "standardised", &[]),
    ];
    let mut initializer = vec![
        float_tensor("median", &[n], median),
        float_tensor("mean", &[n], mean),
        float_tensor("sd", &[n], sd),
    ];
    let mut x = "standardised".to_string();
    if binary.contains(&1) {
        initializer.push(TensorProto {
            dims: vec![n as i64],
            data_type: BOOL,
            float_data: vec![],
            int32_data: binary,
            int64_data: vec![],
            name: "binary_columns".into(),
        });
        initializer.push(float_tensor("half", &[], vec![0.5]));
        nodes.push(node("Greater", &["imputed", "half"], "above_half", &[]));
        nodes.push(node("Cast", &["above_half"], "yes_no", &[("to", 1)]));
        nodes.push(node(
            "Where",
            &["binary_columns", "yes_no", "standardised"],
            "encoded",
            &[],
        ));
        x = "encoded".into();
    }
    // The concatenation's column order, as the transform names columns.
    let mut order: Vec<String> = inputs.clone();
    if !flagged.is_empty() {
        initializer.push(TensorProto {
            dims: vec![flagged.len() as i64],
            data_type: INT64,
            float_data: vec![],
            int32_data: vec![],
            int64_data: flagged,
            name: "flagged_columns".into(),
        });
        nodes.push(node("Cast", &["missing"], "missing_f", &[("to", 1)]));
        nodes.push(node(
            "Gather",
            &["missing_f", "flagged_columns"],
            "flags",
            &[("axis", 1)],
        ));
        nodes.push(node("Concat", &[&x, "flags"], "x0", &[("axis", 1)]));
        x = "x0".into();
        order.extend(flag_names);
    }
    // Where each concatenated column sits among the transform's columns.
    let position: Vec<usize> = order
        .iter()
        .map(|c| transform.columns.iter().position(|t| t == c).unwrap_or(0))
        .collect();
    let last = mlp.layers.len().saturating_sub(1);
    for (i, layer) in mlp.layers.iter().enumerate() {
        let w = &mlp.params[layer.weight_at..layer.weight_at + layer.weight_len()];
        let weight: Vec<f32> = if i == 0 {
            (0..layer.outputs)
                .flat_map(|o| position.iter().map(move |&c| w[o * layer.inputs + c]))
                .collect()
        } else {
            w.to_vec()
        };
        let bias = mlp.params[layer.bias_at..layer.bias_at + layer.outputs].to_vec();
        let (wn, bn) = (format!("layers.{i}.weight"), format!("layers.{i}.bias"));
        initializer.push(float_tensor(&wn, &[layer.outputs, layer.inputs], weight));
        initializer.push(float_tensor(&bn, &[layer.outputs], bias));
        let out = if i == last {
            "logit".to_string()
        } else {
            format!("linear{i}")
        };
        nodes.push(node("Gemm", &[&x, &wn, &bn], &out, &[("transB", 1)]));
        x = if i == last {
            out
        } else {
            let relu = format!("relu{i}");
            nodes.push(node("Relu", &[&out], &relu, &[]));
            relu
        };
    }
    nodes.push(node("Sigmoid", &[&x], "probability", &[]));
    let mut metadata = vec![
        ("model_name".to_string(), facts.name.clone()),
        ("model_version".to_string(), facts.version.clone()),
        (
            "feature_order".to_string(),
            serde_json::to_string(&inputs).unwrap_or_default(),
        ),
        (
            "training_data_sha256".to_string(),
            facts.data_sha256.clone(),
        ),
    ];
    metadata.extend(facts.extra.iter().cloned());
    ModelProto {
        ir_version: IR_VERSION,
        producer_name: "carelab".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "org.carelab".into(),
        model_version: facts.version.parse().unwrap_or(0),
        doc_string: format!(
            "{} version {}: 30-day readmission risk. Input `features` [batch, {n}] in the order of metadata feature_order (NaN for a missing number, binary 0/1, one column a category level); output `probability` [batch, 1].",
            facts.name, facts.version
        ),
        graph: Some(GraphProto {
            node: nodes,
            name: facts.name.clone(),
            initializer,
            doc_string: String::new(),
            input: vec![value_info("features", &[None, Some(n as i64)])],
            output: vec![value_info("probability", &[None, Some(1)])],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: metadata
            .into_iter()
            .map(|(key, value)| StringStringEntryProto { key, value })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_decodes_back_with_its_facts_and_shapes() {
        let transform = Transform {
            steps: vec![
                Step::Numeric {
                    feature: "age".into(),
                    median: 60.0,
                    mean: 61.0,
                    sd: 10.0,
                    indicator: false,
                },
                Step::Numeric {
                    feature: "hr".into(),
                    median: 80.0,
                    mean: 81.0,
                    sd: 12.0,
                    indicator: true,
                },
                Step::Binary {
                    feature: "chf".into(),
                },
                Step::OneHot {
                    feature: "sex".into(),
                    levels: vec!["F".into(), "M".into()],
                },
            ],
            columns: ["age", "hr", "hr_missing", "chf", "sex=F", "sex=M"]
                .map(String::from)
                .to_vec(),
        };
        let mut mlp = Mlp::zeros(6, &[3]);
        for (i, p) in mlp.params.iter_mut().enumerate() {
            *p = i as f32;
        }
        let facts = Facts {
            name: "readmission".into(),
            version: "3".into(),
            data_sha256: "ab".into(),
            extra: vec![],
        };
        let bytes = model_bytes(&transform, &mlp, &facts);
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.model_version, 3);
        assert_eq!(back.opset_import[0].version, 17);
        let meta: Vec<(&str, &str)> = back
            .metadata_props
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert!(meta.contains(&("feature_order", r#"["age","hr","chf","sex=F","sex=M"]"#)));
        let graph = back.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(
            ops,
            [
                "IsNaN", "Where", "Sub", "Div", "Greater", "Cast", "Where", "Cast", "Gather",
                "Concat", "Gemm", "Relu", "Gemm", "Sigmoid"
            ]
        );
        // Yes/no columns are encoded before the concatenation.
        let concat = graph.node.iter().find(|n| n.op_type == "Concat").unwrap();
        assert_eq!(concat.input, ["encoded", "flags"]);
        // The first layer's columns follow the concatenation: age, hr, chf,
        // sex=F, sex=M, then hr_missing (transform column 2).
        let w0 = graph
            .initializer
            .iter()
            .find(|t| t.name == "layers.0.weight")
            .unwrap();
        assert_eq!(&w0.float_data[..6], &[0.0, 1.0, 3.0, 4.0, 5.0, 2.0]);
        let shape = graph.input[0]
            .r#type
            .clone()
            .unwrap()
            .tensor_type
            .unwrap()
            .shape
            .unwrap();
        assert_eq!(
            shape.dim[0].value,
            Some(DimensionValue::DimParam("batch".into()))
        );
        assert_eq!(shape.dim[1].value, Some(DimensionValue::DimValue(5)));
    }
}
