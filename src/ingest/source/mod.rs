//! Source adapters: each turns one kind of input into `RawRecord`s named
//! like the records schema, so one validator and one quarantine serve all.

use serde::{Deserialize, Serialize};

use super::quality::SourceQuality;
use super::raw::RawRecord;
use crate::error::Result;

pub mod csv;
pub mod fhir;
pub mod hl7v2;
pub mod legacy;
pub mod parquet;

pub use super::pipeline::SourceConfig;

/// What kind of input a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder of records-schema CSV tables (patients.csv, encounters.csv, ...).
    Csv,
    /// A fixed-width export read through its layout file (`layout = ...`).
    FixedWidth,
    /// A pharmacy dispensing CSV: one row per drug, patient columns repeated.
    PharmacyCsv,
    /// A folder of records-schema Parquet tables (patients.parquet, ...).
    Parquet,
    /// An HL7 v2 feed file (or a folder of `.hl7` files).
    Hl7v2,
    /// FHIR R4: a Bundle `.json`, an `.ndjson` of Bundles or of resources
    /// (Bulk Data), or a folder of them.
    Fhir,
}

/// Read one source into raw records, noting what it found (encodings, ...)
/// in the source's quality entry.
pub fn read_source(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    match s.kind {
        SourceKind::Csv => csv::read(s, q),
        SourceKind::FixedWidth => legacy::read_fixed_width(s, q),
        SourceKind::PharmacyCsv => legacy::read_pharmacy(s, q),
        SourceKind::Parquet => parquet::read(s, q),
        SourceKind::Hl7v2 => hl7v2::read(s, q),
        SourceKind::Fhir => fhir::read(s, q),
    }
}
