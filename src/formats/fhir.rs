//! FHIR R4 (4.0.1) JSON: transaction Bundles and Bulk Data NDJSON.
use crate::clinical::PatientBundle;

/// One transaction Bundle holding all of a patient's resources.
pub fn bundle(_b: &PatientBundle) -> serde_json::Value {
    serde_json::Value::Null
}

/// The patient's resources as (resourceType, resource), in a stable order,
/// for Bulk Data NDJSON (one file per resource type).
pub fn resources(_b: &PatientBundle) -> Vec<(&'static str, serde_json::Value)> {
    Vec::new()
}
