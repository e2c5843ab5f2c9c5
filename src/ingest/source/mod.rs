//! Source adapters: each turns one kind of input into `RawRecord`s named
//! like the records schema, so one validator and one quarantine serve all.

use serde::{Deserialize, Serialize};

use super::quality::SourceQuality;
use super::raw::RawRecord;
use crate::error::Result;

pub mod csv;

pub use super::pipeline::SourceConfig;

/// What kind of input a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder of records-schema CSV tables (patients.csv, encounters.csv, ...).
    Csv,
}

/// Read one source into raw records, noting what it found (encodings, ...)
/// in the source's quality entry.
pub fn read_source(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    match s.kind {
        SourceKind::Csv => csv::read(s, q),
    }
}
