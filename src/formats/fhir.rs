//! FHIR R4 (4.0.1) JSON: transaction Bundles and Bulk Data NDJSON, both
//! directions.
//!
//! The writers turn a `PatientBundle` into the resources an EHR's FHIR API
//! would expose; the readers turn Bundles or NDJSON back into the clinical
//! records, naming the file, line or entry, the element path, what was
//! expected and what was found for every resource they cannot use.
//!
//! FHIR requires a time zone on every `dateTime` that has a time. CareLab's
//! records are local hospital time without a zone, so the writers state the
//! synthetic hospital's offset (`+00:00`) and the readers keep the wall-clock
//! time as written, whatever the offset.

mod base64;
mod json;
mod read;
mod write;

pub use base64::{decode as base64_decode, encode as base64_encode};
pub use json::Json;
pub use read::{
    read_bundle, read_bundle_json, read_entries, read_ndjson, read_resource, Entry, FhirRead,
    FhirRecords, Resource,
};
pub use write::{bundle, full_url, resources, HOSPITAL_OFFSET, MRN_SYSTEM, PAYER_EXTENSION};
